//! Step 06, backend: step 05's backend, with its spans sent to Google Cloud Trace instead of
//! stdout, batched, and every one of them sent before the program exits. (The exporter is
//! deprecated; OTLP is its successor: see the frontend.)

use std::process::ExitCode;

use axum::{Router, extract::State, http::HeaderMap, routing::get};
use opentelemetry_0_32::{
    KeyValue,
    baggage::BaggageExt,
    global,
    propagation::TextMapCompositePropagator,
    trace::{Span, SpanKind, Tracer, TracerProvider},
};
use opentelemetry_http_0_32::HeaderExtractor;
use opentelemetry_sdk_0_32::{
    Resource,
    propagation::{BaggagePropagator, TraceContextPropagator},
    trace::{Sampler, SdkTracer, SdkTracerProvider, SpanExporter},
};
use step_support::BackendConfig;

// The frontend's connection to Cloud Trace, the same for both services: one file.
#[path = "../../frontend/src/cloud_trace.rs"]
mod cloud_trace;

#[tokio::main]
async fn main() -> ExitCode {
    // Plumbing (step-support): bad configuration ends the program here, with exit code 2.
    let config = BackendConfig::from_env().unwrap_or_else(|error| error.exit());
    let mut listener = step_support::bind(&config.listen_addr)
        .await
        .unwrap_or_else(|error| error.exit());

    // NEW: spans go to Google Cloud Trace, as in the frontend (see there).
    cloud_trace::print_opentelemetry_warnings();
    let (exporter, sending) = listener
        .unless_stopped(cloud_trace::connect_in_time())
        .await
        .unwrap_or_else(|error| error.exit());
    let sending = tokio::spawn(sending);
    let provider = init_tracer(exporter);
    init_propagator();
    let app = Backend {
        tracer: provider.tracer("backend"),
    };
    step_support::serve(listener, router(app)).await;

    // NEW: send the last spans before exiting (see the frontend).
    cloud_trace::shut_down(provider, sending, step_support::shutdown_time_left()).await
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
        // NEW: batched, off the request's path, as in the frontend.
        .with_batch_exporter(exporter)
        .build()
}

/// The same propagators as the frontend's, to read what it sent: the W3C Trace Context headers
/// and the W3C Baggage header.
fn init_propagator() {
    global::set_text_map_propagator(TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ]));
}

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

async fn handle_request(State(app): State<Backend>, headers: HeaderMap) -> &'static str {
    // The caller's span context and baggage, from the headers. Headers that are missing
    // or unreadable give an empty context, and the span below starts a new trace.
    let parent_cx = global::get_text_map_propagator(|propagator| {
        propagator.extract(&HeaderExtractor(&headers))
    });

    // The server span of the backend call, a child of the frontend's `backend call` span.
    let tracer = &app.tracer;
    let mut span = tracer
        .span_builder("backend call received")
        .with_kind(SpanKind::Server)
        .start_with_context(tracer, &parent_cx);
    // Record the baggage that came with the request on the span, key for key, as the
    // OpenTelemetry baggage span processors of other languages do. Baggage comes from whoever
    // called: a production service would copy only the keys it expects.
    for (key, (value, _metadata)) in parent_cx.baggage() {
        span.set_attribute(KeyValue::new(key.clone(), value.clone()));
    }
    span.add_event("handling backend call", vec![]);

    eprintln!("backend call received");
    span.end();
    "OK"
}
