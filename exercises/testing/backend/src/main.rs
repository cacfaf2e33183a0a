//! Step 05, backend: extraction. The backend reads the trace context and the baggage from the
//! request's headers and starts `backend call received` as a child of the frontend's
//! `backend call` span. One trace id now spans both services.

use std::process::ExitCode;

use axum::{Router, extract::State, http::HeaderMap, routing::get};
use opentelemetry::{
    KeyValue,
    baggage::BaggageExt,
    global,
    propagation::TextMapCompositePropagator,
    trace::{Span, SpanKind, Tracer, TracerProvider},
};
use opentelemetry_http::HeaderExtractor;
use opentelemetry_sdk::{
    Resource,
    propagation::{BaggagePropagator, TraceContextPropagator},
    trace::{Sampler, SdkTracer, SdkTracerProvider, SpanExporter},
};
use step_support::BackendConfig;

#[tokio::main]
async fn main() -> ExitCode {
    // Plumbing (step-support): bad configuration ends the program here, with exit code 2.
    let config = BackendConfig::from_env().unwrap_or_else(|error| error.exit());
    let listener = step_support::bind(&config.listen_addr)
        .await
        .unwrap_or_else(|error| error.exit());

    // ANCHOR: provider
    // NEW: the backend is traced too: spans to stdout, logs to stderr, as in the frontend.
    let provider = init_tracer(opentelemetry_stdout::SpanExporter::default());
    init_propagator();
    let app = Backend {
        tracer: provider.tracer("backend"),
    };
    step_support::serve(listener, router(app)).await;
    // ANCHOR_END: provider

    // Export what is left and close the exporter (see the frontend).
    if let Err(error) = provider.shutdown() {
        eprintln!("error: spans may have been lost: {error}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// The tracer provider, set up as the frontend's, under the service name `backend`.
fn init_tracer(exporter: impl SpanExporter + 'static) -> SdkTracerProvider {
    let resource = Resource::builder()
        .with_service_name(step_support::service_name("backend"))
        .build();
    SdkTracerProvider::builder()
        .with_resource(resource)
        // Keep every trace, for the demonstration. In production, follow the caller's decision
        // so that a trace is kept whole or not at all:
        // Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(0.1))).
        .with_sampler(Sampler::AlwaysOn)
        // Each span is exported the moment it ends; production services batch instead.
        .with_simple_exporter(exporter)
        .build()
}

// ANCHOR: init_propagator
/// NEW: the same propagators as the frontend's, to read what it sent: the W3C Trace Context
/// headers and the W3C Baggage header. Installed globally, as in the frontend.
fn init_propagator() {
    global::set_text_map_propagator(TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ]));
}
// ANCHOR_END: init_propagator

/// What every request handler needs.
#[derive(Clone)]
struct Backend {
    tracer: SdkTracer,
}

fn router(app: Backend) -> Router {
    Router::new()
        .route("/", get(handle_request))
        .with_state(app)
}

// ANCHOR: handle_request
async fn handle_request(State(app): State<Backend>, headers: HeaderMap) -> &'static str {
    // ANCHOR: todo_extract
    // NEW: the caller's span context and baggage, from the headers. Headers that are missing
    // or unreadable give an empty context, and the span below starts a new trace.
    let parent_cx = global::get_text_map_propagator(|propagator| {
        propagator.extract(&HeaderExtractor(&headers))
    });
    // ANCHOR_END: todo_extract

    // ANCHOR: todo_server_span
    // NEW: the server span of the backend call, a child of the frontend's `backend call` span.
    let tracer = &app.tracer;
    let mut span = tracer
        .span_builder("backend call received")
        .with_kind(SpanKind::Server)
        .start_with_context(tracer, &parent_cx);
    // ANCHOR_END: todo_server_span
    // ANCHOR: todo_baggage
    // NEW: record the baggage that came with the request on the span, key for key, as the
    // OpenTelemetry baggage span processors of other languages do. Baggage comes from whoever
    // called: a production service would copy only the keys it expects.
    for (key, (value, _metadata)) in parent_cx.baggage() {
        span.set_attribute(KeyValue::new(key.clone(), value.clone()));
    }
    // ANCHOR_END: todo_baggage
    // ANCHOR: todo_event
    span.add_event("handling backend call", vec![]);
    // ANCHOR_END: todo_event

    eprintln!("backend call received");
    span.end();
    "OK"
}
// ANCHOR_END: handle_request

#[cfg(test)]
mod tests;
