//! The spans one request to this step's frontend exports, captured in memory.

use std::time::Duration;

use axum::http::StatusCode;
use opentelemetry_sdk::trace::InMemorySpanExporter;
use step_support::FrontendConfig;
use workshop::{
    harness::fake_backend::FakeBackend,
    harness::in_process,
    spans::{SpanRecord, all_from_memory, outline, the_span},
};

use super::*;

/// This step's router, calling the backend at `backend_url`, with the real `init_tracer`
/// exporting to memory, and the real `init_propagator`. Each test has its own provider; the
/// propagator is global, and every test installs the same one. The test
/// keeps the provider: dropping its last reference shuts it down, and the in-memory exporter
/// forgets its spans on shutdown.
fn frontend(
    backend_url: &str,
    timeout: Duration,
) -> (Router, InMemorySpanExporter, SdkTracerProvider) {
    let config = FrontendConfig {
        listen_addr: String::new(),
        backend_url: backend_url.parse().unwrap(),
        backend_timeout: timeout,
    };
    let exporter = InMemorySpanExporter::default();
    let provider = init_tracer(exporter.clone());
    init_propagator();
    let app = Frontend {
        client: config.backend_client().unwrap(),
        backend_url: config.backend_url,
        tracer: provider.tracer("OT-tracing-demo"),
    };
    (router(app), exporter, provider)
}

fn exported(exporter: &InMemorySpanExporter) -> Vec<SpanRecord> {
    all_from_memory(&exporter.get_finished_spans().unwrap(), "frontend")
}

#[tokio::test]
async fn the_backend_receives_the_backend_call_span_in_traceparent_and_the_baggage() {
    let backend = FakeBackend::answering(StatusCode::OK).await;
    let (frontend, exporter, _provider) = frontend(backend.url(), Duration::from_secs(5));

    assert_eq!(
        in_process::get(frontend, &[]).await,
        (StatusCode::OK, "OK".into())
    );

    let spans = exported(&exporter);
    // The step's trace (`trace.txt`, which the book draws and the process tests check too).
    assert_eq!(outline(&spans), include_str!("../../trace.txt"));
    let call = the_span(&spans, "backend call");
    let received = backend.received();
    let headers = &received[0];
    // version 00, the trace id, the id of the span the backend's span will be a child of,
    // and the flags: sampled (01), the only flag the SDK's propagator sends.
    let traceparent = format!("00-{}-{}-01", call.trace_id, call.span_id);
    assert_eq!(headers["traceparent"], traceparent.as_str());
    assert_eq!(headers["baggage"], "demo.origin=frontend");
    // No vendor has added to `tracestate`: the SDK's propagator sends it empty.
    assert_eq!(headers["tracestate"], "");
}

#[tokio::test]
async fn every_request_starts_a_new_trace() {
    let backend = FakeBackend::answering(StatusCode::OK).await;
    let (frontend, exporter, _provider) = frontend(backend.url(), Duration::from_secs(5));

    in_process::get(frontend.clone(), &[]).await;
    in_process::get(frontend, &[]).await;

    let spans = exported(&exporter);
    let roots: Vec<_> = spans
        .iter()
        .filter(|span| span.name == "incoming call")
        .collect();
    assert_eq!(roots.len(), 2);
    assert_ne!(roots[0].trace_id, roots[1].trace_id);
    let received = backend.received();
    assert_ne!(received[0]["traceparent"], received[1]["traceparent"]);
}
