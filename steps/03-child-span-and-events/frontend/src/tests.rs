//! The spans one request to this step's frontend exports, captured in memory.

use std::time::Duration;

use axum::http::StatusCode;
use opentelemetry_sdk::trace::InMemorySpanExporter;
use step_support::FrontendConfig;
use workshop::{
    harness::fake_backend::{ClosedPort, FakeBackend},
    harness::in_process,
    spans::{FailedSpan, SpanRecord, all_from_memory, outline, the_span},
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
async fn the_backend_call_is_a_client_span_inside_the_root_span() {
    let backend = FakeBackend::answering(StatusCode::OK).await;
    let (frontend, exporter, _provider) = frontend(backend.url(), Duration::from_secs(5));

    assert_eq!(
        in_process::get(frontend, &[]).await,
        (StatusCode::OK, "OK".into())
    );

    let spans = exported(&exporter);
    // The step's trace (`trace.txt`, which the book draws and the process tests check too).
    assert_eq!(outline(&spans), include_str!("../../trace.txt"));
    let root = the_span(&spans, "incoming call");
    let call = the_span(&spans, "backend call");
    assert_eq!(call.trace_id, root.trace_id);
    assert_eq!(call.parent_span_id, Some(root.span_id));
    assert_eq!(call.scope, "OT-tracing-demo");
    assert!(
        root.start <= call.start && call.end <= root.end,
        "the child lies inside its parent"
    );
    let event = call.event("making backend call").unwrap();
    assert!(call.start <= event.time && event.time <= call.end);
}

#[tokio::test]
async fn the_backend_call_span_ends_once_the_body_has_been_read() {
    // The backend sends its headers at once and its body 200 ms later: a span ended when the
    // headers arrived would be shorter than that.
    let body_delay = Duration::from_millis(200);
    let backend = FakeBackend::slow_body(body_delay).await;
    let (frontend, exporter, _provider) = frontend(backend.url(), Duration::from_secs(5));

    assert_eq!(
        in_process::get(frontend, &[]).await,
        (StatusCode::OK, "OK".into())
    );

    let spans = exported(&exporter);
    let call = the_span(&spans, "backend call");
    assert!(
        call.duration() >= body_delay,
        "backend call lasted {:?}",
        call.duration()
    );
    assert!(call.end <= the_span(&spans, "incoming call").end);
}

#[tokio::test]
async fn an_unreachable_backend_is_a_502_and_an_error_on_the_backend_call_span() {
    let nobody = ClosedPort::new();
    let (frontend, exporter, _provider) = frontend(nobody.url(), Duration::from_secs(5));

    let (status, body) = in_process::get(frontend, &[]).await;

    assert_eq!(status, StatusCode::BAD_GATEWAY);
    assert!(body.starts_with("backend unreachable: "), "{body}");
    let spans = exported(&exporter);
    assert_eq!(
        outline(&spans),
        "frontend: incoming call (server, error)\n\
         \x20 frontend: backend call (client, error)\n\
         \x20   event: making backend call\n\
         \x20   event: exception\n"
    );
    // The exception is recorded where it happened; the root span only says the request failed.
    the_span(&spans, "backend call").assert_failed_with(body.trim_end());
    let root = the_span(&spans, "incoming call");
    assert_eq!(root.error_description(), Some(body.trim_end()));
}

#[tokio::test]
async fn a_backend_slower_than_the_timeout_is_a_504_and_an_error_span() {
    let backend = FakeBackend::never_answering().await;
    let (frontend, exporter, _provider) = frontend(backend.url(), Duration::from_millis(100));

    let (status, body) = in_process::get(frontend, &[]).await;

    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    assert_eq!(body, "backend did not answer within BACKEND_TIMEOUT_MS\n");
    let spans = exported(&exporter);
    the_span(&spans, "backend call").assert_failed_with(body.trim_end());
    assert_eq!(
        the_span(&spans, "incoming call").error_description(),
        Some(body.trim_end())
    );
}

// What the book's chapter on span context and request context shows: the current context is
// a thread's, so it does not follow a future across `.await` or into a spawned task unless the
// future carries it.
// ANCHOR: with_context
#[tokio::test(flavor = "multi_thread")]
async fn the_current_context_follows_a_future_only_when_the_future_carries_it() {
    use opentelemetry::{context::FutureExt, trace::SpanId};

    /// The id of the span in the current context, as code deep inside a request sees it.
    async fn current_span_id() -> SpanId {
        tokio::task::yield_now().await;
        Context::current().span().span_context().span_id()
    }

    let provider = init_tracer(InMemorySpanExporter::default());
    let tracer = provider.tracer("OT-tracing-demo");
    let cx = Context::current_with_span(tracer.start("incoming call"));
    let request_span = cx.span().span_context().span_id();

    // Nothing made `cx` current: a future sees the empty context.
    assert_eq!(current_span_id().await, SpanId::INVALID);
    // `with_context` makes `cx` current each time the future runs, on whichever thread.
    assert_eq!(
        current_span_id().with_context(cx.clone()).await,
        request_span
    );
    // A spawned task starts from nothing either, unless it carries the context.
    let spawned = tokio::spawn(current_span_id()).await.unwrap();
    assert_eq!(spawned, SpanId::INVALID);
    let spawned = tokio::spawn(current_span_id().with_context(cx.clone()));
    assert_eq!(spawned.await.unwrap(), request_span);
}
// ANCHOR_END: with_context
