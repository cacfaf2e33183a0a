//! Step 07's backend with the hardening chapter's two additions for exporting, each marked
//! `HARDENING`: the OTLP variables refused at start-up when the exporter could not use them,
//! and a shutdown that counts the spans not delivered. The rest is step 07's backend, line
//! for line, so that the difference is the hardening and nothing else.

use std::process::ExitCode;

use axum::{Router, extract::State, http::HeaderMap, routing::get};
use hardening::{
    Signal,
    delivery::{Delivery, Shutdown, shut_down_providers},
};
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

// Step 07's OTLP exporter, its file as it is (its stock shutdown replaced below).
#[path = "../../../steps/07-otlp/frontend/src/otlp.rs"]
#[allow(dead_code)]
mod otlp;

#[tokio::main]
async fn main() -> ExitCode {
    // Plumbing (step-support): bad configuration ends the program here, with exit code 2.
    let config = BackendConfig::from_env().unwrap_or_else(|error| error.exit());
    let listener = step_support::bind(&config.listen_addr)
        .await
        .unwrap_or_else(|error| error.exit());

    // Spans go out over OTLP, as in step 07.
    otlp::print_opentelemetry_warnings();
    // ANCHOR: hardened_start
    // HARDENING: a value of the OTLP variables the exporter would ignore, or could not use,
    // ends the program here, exit code 2, naming it.
    hardening::otlp_env::refuse_unusable_otlp_variables(&[Signal::Traces])
        .unwrap_or_else(|error| error.exit());
    let exporter = otlp::exporter().unwrap_or_else(|error| otlp::exit_unusable(error));
    // HARDENING: the exporter, counting what it is handed and what became of it.
    let provider = init_tracer(Delivery(exporter));
    // ANCHOR_END: hardened_start
    init_propagator();
    let app = Backend {
        tracer: provider.tracer("backend"),
    };
    step_support::serve(listener, router(app)).await;

    // ANCHOR: hardened_shutdown
    // HARDENING: the provider's shutdown, bounded, with exit code 1 and how many spans were
    // not delivered, and why, if any was not.
    let shutdown = Shutdown::new(Signal::Traces, move |time_left| {
        provider.shutdown_with_timeout(time_left)
    });
    shut_down_providers(vec![shutdown], step_support::shutdown_time_left()).await
    // ANCHOR_END: hardened_shutdown
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
        // Batched, off the request's path, as in the frontend.
        .with_batch_exporter(exporter)
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
