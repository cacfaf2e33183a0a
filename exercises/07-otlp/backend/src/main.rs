// Exercise 07: made from steps/07-otlp by `cargo run -p workshop starters`.
// Write what each TODO asks for, then `cargo run -p workshop check 07` says what the trace
// still lacks. `cargo run -p workshop reset 07` gives you this starter back.
//! Step 07, backend: the spans go out over OTLP, as in the frontend (see there): to the trace
//! viewer, Jaeger or a Collector on `http://localhost:4318` by default.

// Until every TODO is done, some of what the code imports or holds is unused.
#![allow(dead_code, unused_imports, unused_mut, unused_variables)]

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

// NEW: the frontend's OTLP exporter, the same for both services: one file.
#[path = "../../frontend/src/otlp.rs"]
mod otlp;

#[tokio::main]
async fn main() -> ExitCode {
    // Plumbing (step-support): bad configuration ends the program here, with exit code 2.
    let config = BackendConfig::from_env().unwrap_or_else(|error| error.exit());
    let listener = step_support::bind(&config.listen_addr)
        .await
        .unwrap_or_else(|error| error.exit());

    // NEW: spans go out over OTLP, as in the frontend (see there).
    otlp::print_opentelemetry_warnings();
    let exporter = otlp::exporter().unwrap_or_else(|error| otlp::exit_unusable(error));
    let provider = init_tracer(exporter);
    init_propagator();
    let app = Backend {
        tracer: provider.tracer("backend"),
    };
    step_support::serve(listener, router(app)).await;

    // ANCHOR: todo_shutdown
    // TODO: As in the frontend: shut the provider down before the program exits, so that the
    // last batch is sent.
    // Exits without shutting the provider down, as when it is kept in a global: the last
    // batch is lost. Replace it.
    std::mem::forget(provider);
    ExitCode::SUCCESS
    // ANCHOR_END: todo_shutdown
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
        // ANCHOR: todo_batch
        // TODO: As in the frontend: install the OTLP exporter in the provider, behind a batch
        // processor.
        // ANCHOR_END: todo_batch
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
