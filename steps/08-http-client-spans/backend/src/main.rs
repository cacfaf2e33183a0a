//! Step 08, backend: as in step 07, and it can be given work of a set duration
//! (`BACKEND_WORK_MS`), shown as a span of its own, so that a trace has a known backend share
//! to find (the chapter "Where does the latency go?").

use std::{process::ExitCode, time::Duration};

use axum::{Router, extract::State, http::HeaderMap, routing::get};
use opentelemetry::{
    KeyValue,
    baggage::BaggageExt,
    global,
    propagation::TextMapCompositePropagator,
    trace::{Span, SpanKind, TraceContextExt, Tracer, TracerProvider},
};
use opentelemetry_http::HeaderExtractor;
use opentelemetry_sdk::{
    Resource,
    propagation::{BaggagePropagator, TraceContextPropagator},
    trace::{Sampler, SdkTracer, SdkTracerProvider, SpanExporter},
};
use step_support::BackendConfig;

// The frontend's OTLP exporter, as in step 07.
#[path = "../../frontend/src/otlp.rs"]
mod otlp;

#[tokio::main]
async fn main() -> ExitCode {
    // Plumbing (step-support): bad configuration ends the program here, with exit code 2.
    let config = BackendConfig::from_env().unwrap_or_else(|error| error.exit());
    // NEW: how long each request's simulated work takes; 0 (unset) is none.
    let work = step_support::milliseconds("BACKEND_WORK_MS").unwrap_or_else(|error| error.exit());
    let listener = step_support::bind(&config.listen_addr)
        .await
        .unwrap_or_else(|error| error.exit());

    // Spans go out over OTLP, as in the frontend (see there).
    otlp::print_opentelemetry_warnings();
    let exporter = otlp::exporter().unwrap_or_else(|error| otlp::exit_unusable(error));
    let provider = init_tracer(exporter);
    init_propagator();
    let app = Backend {
        tracer: provider.tracer("backend"),
        work,
    };
    step_support::serve(listener, router(app)).await;

    // Send the last spans before exiting.
    otlp::shut_down(provider, step_support::shutdown_time_left())
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
        // Batched, off the request's path, as in the frontend.
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
    /// NEW: the simulated work of each request (`BACKEND_WORK_MS`).
    work: Duration,
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
    let span = tracer
        .span_builder("backend call received")
        .with_kind(SpanKind::Server)
        .start_with_context(tracer, &parent_cx);
    // NEW: the span goes into a context, so that the simulated work's span can be its child.
    let cx = parent_cx.with_span(span);
    // Record the baggage that came with the request on the span, key for key, as the
    // OpenTelemetry baggage span processors of other languages do. Baggage comes from whoever
    // called: a production service would copy only the keys it expects.
    for (key, (value, _metadata)) in parent_cx.baggage() {
        cx.span()
            .set_attribute(KeyValue::new(key.clone(), value.clone()));
    }
    cx.span().add_event("handling backend call", vec![]);

    eprintln!("backend call received");
    // ANCHOR: work
    // NEW: work of a set duration, when asked for. It is a sleep, not real work, and its span
    // says so: a trace then has a backend share of known size.
    if !app.work.is_zero() {
        let milliseconds = i64::try_from(app.work.as_millis()).unwrap_or(i64::MAX);
        let mut work_span = tracer
            .span_builder("simulated work")
            .with_attributes([KeyValue::new("demo.simulated_work_ms", milliseconds)])
            .start_with_context(tracer, &cx);
        tokio::time::sleep(app.work).await;
        work_span.end();
    }
    // ANCHOR_END: work
    cx.span().end();
    "OK"
}
