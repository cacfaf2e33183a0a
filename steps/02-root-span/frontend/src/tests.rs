//! The spans one request to this step's frontend exports, captured in memory.

use std::time::Duration;

use axum::http::StatusCode;
use opentelemetry_sdk::trace::InMemorySpanExporter;
use step_support::FrontendConfig;
use workshop::{
    harness::fake_backend::{ClosedPort, FakeBackend},
    harness::in_process,
    spans::{FailedSpan, SpanRecord, all_from_memory, outline},
};

use super::*;

/// This step's router, calling the backend at `backend_url`, with the real `init_tracer`
/// exporting to memory. Each test has its own provider: nothing global is shared. The test
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
async fn a_request_is_one_server_span_called_incoming_call() {
    let backend = FakeBackend::answering(StatusCode::OK).await;
    let (frontend, exporter, _provider) = frontend(backend.url(), Duration::from_secs(5));

    assert_eq!(
        in_process::get(frontend, &[]).await,
        (StatusCode::OK, "OK".into())
    );

    let spans = exported(&exporter);
    // The step's trace (`trace.txt`, which the book draws and the process tests check too).
    assert_eq!(outline(&spans), include_str!("../../trace.txt"));
    assert_eq!(spans[0].scope, "OT-tracing-demo");
    assert_eq!(spans[0].parent_span_id, None, "the root span has no parent");
    assert_eq!(backend.received().len(), 1);
}

#[tokio::test]
async fn an_unreachable_backend_is_a_502_and_an_error_span() {
    let nobody = ClosedPort::new();
    let (frontend, exporter, _provider) = frontend(nobody.url(), Duration::from_secs(5));

    let (status, body) = in_process::get(frontend, &[]).await;

    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(body.starts_with("backend unreachable: "), "{body}");
    let spans = exported(&exporter);
    assert_eq!(
        outline(&spans),
        "frontend: incoming call (server, error)\n  event: exception\n"
    );
    spans[0].assert_failed_with(body.trim_end());
}

#[tokio::test]
async fn an_error_answer_from_the_backend_is_a_502_and_an_error_span() {
    let backend = FakeBackend::answering(StatusCode::INTERNAL_SERVER_ERROR).await;
    let (frontend, exporter, _provider) = frontend(backend.url(), Duration::from_secs(5));

    let (status, body) = in_process::get(frontend, &[]).await;

    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert_eq!(body, "backend answered 500 Internal Server Error\n");
    exported(&exporter)[0].assert_failed_with("backend answered 500 Internal Server Error");
}

#[tokio::test]
async fn a_backend_slower_than_the_timeout_is_a_504_and_an_error_span() {
    let backend = FakeBackend::never_answering().await;
    let (frontend, exporter, _provider) = frontend(backend.url(), Duration::from_millis(100));

    let (status, body) = in_process::get(frontend, &[]).await;

    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(body, "backend did not answer within BACKEND_TIMEOUT_MS\n");
    exported(&exporter)[0].assert_failed_with(body.trim_end());
}
