//! Step 06, frontend: the spans go to Google Cloud Trace, batched, and every one is sent before
//! the program exits. The frontend also continues a trace that its caller started, sent in the
//! W3C `traceparent` header or in Google's `X-Cloud-Trace-Context`, as a Google Cloud load
//! balancer sends it.
//!
//! The Stackdriver exporter (`opentelemetry-stackdriver`) is deprecated: 0.29.1 is its last
//! release. Its successor is OTLP, straight to Google Cloud's Telemetry API or through an
//! OpenTelemetry Collector. The post ended here, so the workshop does too, with the exporter
//! many services still run. That release is built on OpenTelemetry 0.32, so this step is too,
//! under the names `opentelemetry_0_32`, `opentelemetry_sdk_0_32`, `opentelemetry_http_0_32`:
//! the rest of the workshop is on 0.33.

use std::{process::ExitCode, sync::Arc};

use axum::{
    Router,
    extract::State,
    http::{HeaderMap, StatusCode},
    routing::get,
};
use opentelemetry_0_32::{
    KeyValue,
    baggage::BaggageExt,
    global,
    propagation::{TextMapCompositePropagator, TextMapPropagator},
    trace::{SpanKind, Status, TraceContextExt, Tracer, TracerProvider},
};
use opentelemetry_http_0_32::{HeaderExtractor, HeaderInjector};
use opentelemetry_sdk_0_32::{
    Resource,
    propagation::{BaggagePropagator, TraceContextPropagator},
    trace::{Sampler, SdkTracer, SdkTracerProvider, SpanExporter},
};
#[allow(deprecated)] // the exporter's crate (see the top of this file)
use opentelemetry_stackdriver::google_trace_context_propagator::GoogleTraceContextPropagator;
use step_support::{BackendError, FrontendConfig};

mod cloud_trace;

#[tokio::main]
async fn main() -> ExitCode {
    // Plumbing (step-support): bad configuration ends the program here, with exit code 2.
    let config = FrontendConfig::from_env().unwrap_or_else(|error| error.exit());
    let client = config.backend_client().unwrap_or_else(|error| error.exit());
    let mut listener = step_support::bind(&config.listen_addr)
        .await
        .unwrap_or_else(|error| error.exit());

    // ANCHOR: connect
    // NEW: spans go to Google Cloud Trace. `connect` finds the credentials and connects, or
    // the program ends here with a line that says what to fix; as that can take seconds,
    // Ctrl-C ends it too. The exporter reports failed exports only as `tracing` events: print
    // them, or they go unseen.
    cloud_trace::print_opentelemetry_warnings();
    let (exporter, sending) = listener
        .unless_stopped(cloud_trace::connect_in_time())
        .await
        .unwrap_or_else(|error| error.exit());
    // NEW: the exporter only queues spans; this background task sends them. Nothing reaches
    // Google unless it runs.
    let sending = tokio::spawn(sending);
    let provider = init_tracer(exporter);
    init_propagator();
    let app = Frontend {
        client,
        backend_url: config.backend_url,
        tracer: provider.tracer("OT-tracing-demo"),
        incoming_propagator: Arc::new(init_incoming_propagator()),
    };
    step_support::serve(listener, router(app)).await;

    // NEW: the provider's shutdown hands the last spans to the exporter; then wait until its
    // background task has sent them. Exiting before that loses them.
    cloud_trace::shut_down(provider, sending, step_support::shutdown_time_left()).await
    // ANCHOR_END: connect
}

// ANCHOR: init_tracer
/// The tracer provider: who this service is, which traces to keep, where spans go.
fn init_tracer(exporter: impl SpanExporter + 'static) -> SdkTracerProvider {
    let resource = Resource::builder()
        .with_service_name(step_support::service_name("frontend"))
        .build();
    SdkTracerProvider::builder()
        .with_resource(resource)
        // Keep every trace, for the demonstration. In production keep a fraction, and follow
        // the caller's decision when there is one:
        // Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(0.1))).
        .with_sampler(Sampler::AlwaysOn)
        // NEW: spans are collected and sent in batches, off the request's path (every 5 s, or
        // sooner when 512 are waiting; `OTEL_BSP_*` variables change that).
        .with_batch_exporter(exporter)
        .build()
}
// ANCHOR_END: init_tracer

// ANCHOR: incoming_propagator
/// NEW: how the frontend's caller may send its trace: in Google's `X-Cloud-Trace-Context`
/// header, or in the W3C `traceparent` (which wins when both are valid: the later propagator
/// overrides). Baggage from the internet is not taken in.
fn init_incoming_propagator() -> TextMapCompositePropagator {
    TextMapCompositePropagator::new(vec![
        // Deprecated with the rest of its crate. Google's load balancers now send
        // `traceparent` too; this header matters for older set-ups and Cloud Run.
        #[allow(deprecated)]
        Box::new(GoogleTraceContextPropagator::default()),
        Box::new(TraceContextPropagator::new()),
    ])
}
// ANCHOR_END: incoming_propagator

/// How context crosses the wire to the backend: the W3C Trace Context headers (`traceparent`,
/// `tracestate`) and the W3C Baggage header (`baggage`). Installed globally, as in step 04.
fn init_propagator() {
    global::set_text_map_propagator(TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ]));
}

/// What every request handler needs.
#[derive(Clone)]
struct Frontend {
    client: reqwest::Client,
    backend_url: reqwest::Url,
    tracer: SdkTracer,
    incoming_propagator: Arc<TextMapCompositePropagator>,
}

fn router(app: Frontend) -> Router {
    Router::new()
        .route("/", get(handle_request))
        .with_state(app)
}

async fn handle_request(
    State(app): State<Frontend>,
    incoming_headers: HeaderMap,
) -> Result<&'static str, BackendError> {
    // ANCHOR: caller_context
    // NEW: the caller's trace, if it sent one. Missing or unreadable headers give an empty
    // context, and `incoming call` is then the root of a new trace, as before.
    let caller_cx = app
        .incoming_propagator
        .extract(&HeaderExtractor(&incoming_headers));
    let tracer = &app.tracer;
    // The request's span is the server side of the user's call: a child of the caller's span,
    // or the root.
    let span = tracer
        .span_builder("incoming call")
        .with_kind(SpanKind::Server)
        .start_with_context(tracer, &caller_cx);
    // ANCHOR_END: caller_context
    // The request's context holds its root span; spans started from it are its children.
    // It also holds baggage, entries that travel with the trace to every service called. It
    // is the caller's context.
    let cx = caller_cx
        .with_span(span)
        .with_baggage([KeyValue::new("demo.origin", "frontend")]);

    // The backend call as a child span: how long the backend took, as the frontend saw it.
    let backend_span = tracer
        .span_builder("backend call")
        .with_kind(SpanKind::Client)
        .start_with_context(tracer, &cx);
    // Put the backend call's span context and the baggage into the request's headers.
    let backend_cx = cx.with_span(backend_span);
    let mut headers = HeaderMap::new();
    global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&backend_cx, &mut HeaderInjector(&mut headers));
    });
    let backend_span = backend_cx.span();
    backend_span.add_event("making backend call", vec![]);

    eprintln!("Sending request...");
    let result = call_backend(&app, headers).await;
    if let Err(error) = &result {
        // The failure happened here: the exception event and the error status go on this span.
        backend_span.record_error(error);
        backend_span.set_status(Status::error(error.to_string()));
    }
    // End the child span explicitly, now that the whole answer has been read, so that its
    // duration is the backend call's and nothing else's.
    backend_span.end();

    match &result {
        Ok(status) => eprintln!("backend answered {status}"),
        Err(error) => {
            eprintln!("backend call failed: {error}");
            // The user got an error answer, so the request's span is an error too.
            cx.span().set_status(Status::error(error.to_string()));
        }
    }
    cx.span().end();
    result.map(|_| "OK")
}

/// Sends the request and reads the whole answer, so the call is over when this returns.
async fn call_backend(app: &Frontend, headers: HeaderMap) -> Result<StatusCode, BackendError> {
    let response = app
        .client
        .get(app.backend_url.clone())
        .headers(headers)
        .send()
        .await?;
    let status = response.status();
    // Read the body even from an error answer: the connection can then be reused.
    response.bytes().await?;
    if !status.is_success() {
        return Err(BackendError::BadStatus(status));
    }
    Ok(status)
}

#[cfg(test)]
mod tests;
