//! Step 09, backend: the trace header formats it reads and the sampler that decides which
//! traces it keeps come from `OTEL_PROPAGATORS` and `OTEL_TRACES_SAMPLER`, as in the frontend
//! (see there). Its default sampler, `parentbased_always_on`, follows the frontend's decision.

use std::{process::ExitCode, time::Duration};

use axum::{Router, extract::State, http::HeaderMap, routing::get};
use opentelemetry::{
    KeyValue,
    baggage::BaggageExt,
    global,
    trace::{Span, SpanKind, TraceContextExt, Tracer, TracerProvider},
};
use opentelemetry_http::HeaderExtractor;
use opentelemetry_sdk::{
    Resource,
    trace::{SdkTracer, SdkTracerProvider, SpanExporter},
};
use otel_env::Propagators;
use step_support::BackendConfig;

// NEW: OTEL_PROPAGATORS, read as in the frontend: one file.
#[path = "../../frontend/src/otel_env.rs"]
mod otel_env;
// The frontend's OTLP exporter, as in step 07.
#[path = "../../frontend/src/otlp.rs"]
mod otlp;

#[tokio::main]
async fn main() -> ExitCode {
    // Plumbing (step-support): bad configuration ends the program here, with exit code 2.
    let config = BackendConfig::from_env().unwrap_or_else(|error| error.exit());
    // NEW: the propagators OTEL_PROPAGATORS names (the sampler: `init_tracer`).
    let propagators = Propagators::from_env().unwrap_or_else(|error| error.exit());
    // How long each request's simulated work takes; 0 (unset) is none.
    let work = step_support::milliseconds("BACKEND_WORK_MS").unwrap_or_else(|error| error.exit());
    let listener = step_support::bind(&config.listen_addr)
        .await
        .unwrap_or_else(|error| error.exit());

    // Spans go out over OTLP, as in the frontend (see there).
    otlp::print_opentelemetry_warnings();
    let exporter = otlp::exporter().unwrap_or_else(|error| otlp::exit_unusable(error));
    let provider = init_tracer(exporter);
    // NEW: the propagators OTEL_PROPAGATORS names, installed globally.
    global::set_text_map_propagator(propagators.build());
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
        // ANCHOR: todo_sampler
        // NEW: no sampler set here: the SDK reads OTEL_TRACES_SAMPLER (and
        // OTEL_TRACES_SAMPLER_ARG) itself, `parentbased_always_on` when unset. In production: keep
        // a fraction of new traces, and follow the caller's decision when there is one, so that
        // a trace is kept whole or not at all (`parentbased_traceidratio`).
        // ANCHOR_END: todo_sampler
        // Batched, off the request's path, as in the frontend.
        .with_batch_exporter(exporter)
        .build()
}

/// What every request handler needs.
#[derive(Clone)]
struct Backend {
    tracer: SdkTracer,
    /// The simulated work of each request (`BACKEND_WORK_MS`).
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
    // Work of a set duration, when asked for. It is a sleep, not real work, and its span
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
    cx.span().end();
    "OK"
}
