//! What this step adds to the frontend, checked in memory: the request's span continues the
//! trace its caller sent, in the W3C header or in Google's. (The export to Cloud Trace itself is
//! checked by `tests/cloud_trace`, against a stand-in for Google.)

use std::time::Duration;

use axum::http::StatusCode;
use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_sdk_0_32::trace::{InMemorySpanExporter, SpanData};
use step_support::FrontendConfig;
use workshop::{
    harness::fake_backend::FakeBackend,
    harness::in_process,
    spans::{EventRecord, SpanRecord, outline, the_span},
};

use super::*;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";

/// This step's router with the real `init_tracer`, batching to memory. The test keeps the
/// provider: dropping it shuts it down, and the in-memory exporter forgets its spans then.
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
        incoming_propagator: Arc::new(init_incoming_propagator()),
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
    records(&exporter.get_finished_spans().unwrap())
}

/// The frontend's spans, as the workshop's checks read spans: the 0.32 SDK's `SpanData` in the
/// 0.33 API's terms, which `SpanRecord` is written in (the workshop's other steps are on 0.33).
fn records(spans: &[SpanData]) -> Vec<SpanRecord> {
    use opentelemetry::trace::{SpanKind, Status};
    use opentelemetry_0_32::trace as v032;

    let strings = |attributes: &[KeyValue]| {
        attributes
            .iter()
            .map(|kv| (kv.key.to_string(), kv.value.to_string()))
            .collect()
    };
    spans
        .iter()
        .map(|span| SpanRecord {
            service: "frontend".to_owned(),
            scope: span.instrumentation_scope.name().to_owned(),
            name: span.name.to_string(),
            kind: match span.span_kind {
                v032::SpanKind::Client => SpanKind::Client,
                v032::SpanKind::Server => SpanKind::Server,
                v032::SpanKind::Producer => SpanKind::Producer,
                v032::SpanKind::Consumer => SpanKind::Consumer,
                v032::SpanKind::Internal => SpanKind::Internal,
            },
            trace_id: TraceId::from_bytes(span.span_context.trace_id().to_bytes()),
            span_id: SpanId::from_bytes(span.span_context.span_id().to_bytes()),
            parent_span_id: (span.parent_span_id != v032::SpanId::INVALID)
                .then(|| SpanId::from_bytes(span.parent_span_id.to_bytes())),
            status: match &span.status {
                v032::Status::Unset => Status::Unset,
                v032::Status::Ok => Status::Ok,
                v032::Status::Error { description } => Status::error(description.to_string()),
            },
            start: span.start_time,
            end: span.end_time,
            links: Vec::new(),
            attributes: strings(&span.attributes),
            events: span
                .events
                .iter()
                .map(|event| EventRecord {
                    name: event.name.to_string(),
                    time: event.timestamp,
                    attributes: strings(&event.attributes),
                })
                .collect(),
        })
        .collect()
}

#[tokio::test]
async fn continues_a_trace_sent_by_a_google_cloud_load_balancer() {
    // Google's format: the trace id in hex, the parent span id in decimal, `o=1` if sampled.
    let parent = u64::from_str_radix(PARENT_ID, 16).unwrap();
    let header = format!("{TRACE_ID}/{parent};o=1");

    let spans = spans_of_one_request(&[("x-cloud-trace-context", header.as_bytes())]).await;

    assert_eq!(
        outline(&spans),
        "frontend: incoming call (server, parent elsewhere)\n\
         \x20 frontend: backend call (client)\n\
         \x20   event: making backend call\n"
    );
    let incoming = the_span(&spans, "incoming call");
    assert_eq!(incoming.trace_id, TraceId::from_hex(TRACE_ID).unwrap());
    assert_eq!(
        incoming.parent_span_id,
        Some(SpanId::from_hex(PARENT_ID).unwrap())
    );
}

#[tokio::test]
async fn continues_a_trace_sent_in_traceparent_and_passes_it_on_to_the_backend() {
    let backend = FakeBackend::answering(StatusCode::OK).await;
    let (frontend, exporter, provider) = frontend(backend.url());
    let traceparent = format!("00-{TRACE_ID}-{PARENT_ID}-01");

    in_process::get(frontend, &[("traceparent", traceparent.as_bytes())]).await;

    provider.force_flush().unwrap();
    let spans = records(&exporter.get_finished_spans().unwrap());
    let incoming = the_span(&spans, "incoming call");
    assert_eq!(incoming.trace_id, TraceId::from_hex(TRACE_ID).unwrap());
    assert_eq!(
        incoming.parent_span_id,
        Some(SpanId::from_hex(PARENT_ID).unwrap())
    );
    let call = the_span(&spans, "backend call");
    let forwarded = format!("00-{TRACE_ID}-{}-01", call.span_id);
    assert_eq!(backend.received()[0]["traceparent"], forwarded.as_str());
}

#[tokio::test]
async fn traceparent_wins_when_both_headers_are_valid() {
    let other_trace = "0af7651916cd43dd8448eb211c80319c";
    let google = format!("{other_trace}/1;o=1");
    let traceparent = format!("00-{TRACE_ID}-{PARENT_ID}-01");

    let spans = spans_of_one_request(&[
        ("x-cloud-trace-context", google.as_bytes()),
        ("traceparent", traceparent.as_bytes()),
    ])
    .await;

    let incoming = the_span(&spans, "incoming call");
    assert_eq!(incoming.trace_id, TraceId::from_hex(TRACE_ID).unwrap());
}

#[tokio::test]
async fn malformed_trace_headers_start_a_new_trace() {
    let malformed: &[(&str, &[u8])] = &[
        ("x-cloud-trace-context", b"4bf92f3577b34da6a3ce929d0e0e4736"),
        (
            "x-cloud-trace-context",
            b"4bf92f3577b34da6a3ce929d0e0e4736/0;o=1",
        ),
        (
            "x-cloud-trace-context",
            b"00000000000000000000000000000000/1;o=1",
        ),
        ("x-cloud-trace-context", b"4bf92f3577b34da6/1;o=1"),
        (
            "x-cloud-trace-context",
            b"4bf92f3577b34da6a3ce929d0e0e4736/99999999999999999999999",
        ),
        (
            "x-cloud-trace-context",
            b"4bf92f3577b34da6a3ce929d0e0e4736/1;o=x",
        ),
        ("x-cloud-trace-context", b"\xff\xfe/1"),
    ];
    for header in malformed {
        let spans = spans_of_one_request(&[*header]).await;

        let shown = String::from_utf8_lossy(header.1);
        let incoming = the_span(&spans, "incoming call");
        assert_eq!(incoming.parent_span_id, None, "{}: {shown}", header.0);
    }
}
