// The testing exercise: made from steps/05-backend-extraction/backend/src/tests.rs by
// `cargo run -p workshop starters`. Write the tests the TODO asks for, then run them
// with `cargo test -p exercise-testing-backend`; `cargo run -p workshop check testing` says
// which mistakes they still miss, and `cargo run -p workshop reset testing` gives this
// file back.
//! The span one request to this step's backend exports, captured in memory, for the headers a
//! caller may send.

// Until the TODO is done, some of what the file imports or holds is unused.
#![allow(dead_code, unused_imports)]

use axum::http::StatusCode;
use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_sdk::trace::InMemorySpanExporter;
use workshop::{
    harness::in_process,
    spans::{all_from_memory, outline},
};

use super::*;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";

/// This step's router with the real `init_tracer` exporting to memory, and the real
/// `init_propagator`. Each test has its own provider, kept alive by the test: the in-memory
/// exporter forgets its spans on shutdown. The propagator is global; every test installs the
/// same one.
// ANCHOR: in_memory
fn backend() -> (Router, InMemorySpanExporter, SdkTracerProvider) {
    let exporter = InMemorySpanExporter::default();
    let provider = init_tracer(exporter.clone());
    init_propagator();
    let app = Backend {
        tracer: provider.tracer("backend"),
    };
    (router(app), exporter, provider)
}
// ANCHOR_END: in_memory

// ANCHOR: example
#[tokio::test]
async fn without_trace_headers_starts_a_new_trace() {
    let (backend, exporter, _provider) = backend();

    assert_eq!(
        in_process::get(backend, &[]).await,
        (StatusCode::OK, "OK".into())
    );

    let spans = all_from_memory(&exporter.get_finished_spans().unwrap(), "backend");
    assert_eq!(
        outline(&spans),
        "backend: backend call received (server)\n\
         \x20 event: handling backend call\n"
    );
}
// ANCHOR_END: example

// ANCHOR: testing_todo
// TODO: The test above catches a server span of the wrong kind, or without its event: the
// outline shows both. It cannot catch a backend that ignores the caller's trace headers, for
// it sends none. Write tests that send `traceparent` and `baggage` (the constants `TRACE_ID`
// and `PARENT_ID` are ready) and assert what the span must then be: in the caller's trace, a
// child of the caller's span (remote), with each baggage entry as an attribute. Assert
// relations and values the test chose, never ids the SDK made up or timings.
// ANCHOR_END: testing_todo

#[tokio::test]
async fn a_malformed_traceparent_is_ignored_and_starts_a_new_trace() {
    let malformed: &[&[u8]] = &[
        b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
        b"00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        b"00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        b"ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        b"00-not-hex-at-all-01",
        b"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\xff",
        // What the SDK's propagator lets through (ids of the wrong length, a traceparent sent
        // twice), the hardening chapter's stricter one refuses: tested there.
    ];
    for traceparent in malformed {
        let (backend, exporter, _provider) = backend();

        let answer = in_process::get(backend, &[("traceparent", traceparent)]).await;

        let shown = String::from_utf8_lossy(traceparent);
        assert_eq!(answer, (StatusCode::OK, "OK".into()), "traceparent {shown}");
        let spans = all_from_memory(&exporter.get_finished_spans().unwrap(), "backend");
        assert_eq!(spans[0].parent_span_id, None, "traceparent {shown}");
    }
}
