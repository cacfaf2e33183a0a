//! The frontend, checked in memory: the request's span continues the trace its caller sent in
//! `traceparent`, and ignores a malformed one. (The OTLP export itself is checked with the real
//! programs, by `tests/otlp.rs`.)

use std::time::Duration;

use axum::http::StatusCode;
use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_sdk::trace::InMemorySpanExporter;
use step_support::FrontendConfig;
use workshop::{
    harness::fake_backend::FakeBackend,
    harness::in_process,
    spans::{SpanRecord, all_from_memory, the_span},
};

use super::*;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";

/// This step's router with the real `init_tracer`, batching to memory, and the real (global)
/// `init_propagator`. The test keeps the provider: dropping it shuts it down, and the in-memory
/// exporter forgets its spans then.
fn frontend(backend_url: &str) -> (Router, InMemorySpanExporter, SdkTracerProvider) {
    let config = FrontendConfig {
        listen_addr: String::new(),
        backend_url: backend_url.parse().unwrap(),
        backend_timeout: Duration::from_secs(5),
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

/// Sends one request with `headers` and returns the frontend's spans. The batch processor holds
/// them until it is flushed.
async fn spans_of_one_request(headers: &[(&str, &[u8])]) -> Vec<SpanRecord> {
    let backend = FakeBackend::answering(StatusCode::OK).await;
    let (frontend, exporter, provider) = frontend(backend.url());
    assert_eq!(
        in_process::get(frontend, headers).await,
        (StatusCode::OK, "OK".into())
    );
    provider.force_flush().unwrap();
    all_from_memory(&exporter.get_finished_spans().unwrap(), "frontend")
}

#[tokio::test]
async fn continues_a_trace_sent_in_traceparent_and_passes_it_on_to_the_backend() {
    let backend = FakeBackend::answering(StatusCode::OK).await;
    let (frontend, exporter, provider) = frontend(backend.url());
    let traceparent = format!("00-{TRACE_ID}-{PARENT_ID}-01");

    in_process::get(frontend, &[("traceparent", traceparent.as_bytes())]).await;

    provider.force_flush().unwrap();
    let spans = all_from_memory(&exporter.get_finished_spans().unwrap(), "frontend");
    let incoming = the_span(&spans, "incoming call");
    assert_eq!(incoming.trace_id, TraceId::from_hex(TRACE_ID).unwrap());
    assert_eq!(
        incoming.parent_span_id,
        Some(SpanId::from_hex(PARENT_ID).unwrap())
    );
    let call = the_span(&spans, "backend call");
    // Sampled, as the caller said.
    let forwarded = format!("00-{TRACE_ID}-{}-01", call.span_id);
    assert_eq!(backend.received()[0]["traceparent"], forwarded.as_str());
}

#[tokio::test]
async fn malformed_or_unread_trace_headers_start_a_new_trace() {
    let malformed: &[(&str, &[u8])] = &[
        (
            "traceparent",
            b"00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        ),
        ("traceparent", b"\xff\xfe"),
        // Step 06 read Google's header; this step no longer does.
        (
            "x-cloud-trace-context",
            b"4bf92f3577b34da6a3ce929d0e0e4736/1;o=1",
        ),
    ];
    for header in malformed {
        let spans = spans_of_one_request(&[*header]).await;

        let shown = String::from_utf8_lossy(header.1);
        let incoming = the_span(&spans, "incoming call");
        assert_eq!(incoming.parent_span_id, None, "{}: {shown}", header.0);
    }
}
