// Exercise 10: made from steps/10-tracing-crate by `cargo run -p workshop starters`.
// Write what each TODO asks for, then `cargo run -p workshop check 10` says what the trace
// still lacks. `cargo run -p workshop reset 10` gives you this starter back.
//! Step 10, backend: step 09's backend written with the `tracing` crate, as the frontend is
//! (see there). Its server span comes from tower-http's `TraceLayer`; the handler adds the
//! baggage, the event (also a log line with the trace id) and the simulated work.

// Until every TODO is done, some of what the code imports or holds is unused.
#![allow(dead_code, unused_imports, unused_mut, unused_variables)]

use std::{process::ExitCode, time::Duration};

use axum::{
    Router,
    extract::{MatchedPath, Request, State},
    response::Response,
    routing::get,
};
use opentelemetry::{baggage::BaggageExt, global, trace::TracerProvider};
use opentelemetry_http::HeaderExtractor;
use opentelemetry_sdk::{
    Resource,
    trace::{SdkTracer, SdkTracerProvider, SpanExporter},
};
use otel_env::Propagators;
use step_support::BackendConfig;

// NEW: the log lines with trace ids, and the filters that keep RUST_LOG away from the trace,
// as in the frontend: one file.
#[path = "../../frontend/src/logs.rs"]
mod logs;
// The frontend's OTEL_PROPAGATORS, as in step 09.
#[path = "../../frontend/src/otel_env.rs"]
mod otel_env;
// The frontend's OTLP exporter, as in step 07.
#[path = "../../frontend/src/otlp.rs"]
mod otlp;
// The frontend's semantic conventions' values.
#[path = "../../frontend/src/semconv.rs"]
mod semconv;
use tower_http::trace::TraceLayer;
use tracing::{Instrument, Span, field, info, info_span};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::{EnvFilter, Layer, layer::SubscriberExt, util::SubscriberInitExt};

#[tokio::main]
async fn main() -> ExitCode {
    // Plumbing (step-support): bad configuration ends the program here, with exit code 2.
    let config = BackendConfig::from_env().unwrap_or_else(|error| error.exit());
    let propagators = Propagators::from_env().unwrap_or_else(|error| error.exit());
    // How long each request's simulated work takes; 0 (unset) is none.
    let work = step_support::milliseconds("BACKEND_WORK_MS").unwrap_or_else(|error| error.exit());
    // NEW: which log lines to write, from RUST_LOG (`info` when unset).
    let log_filter = logs::log_filter_from_env().unwrap_or_else(|error| error.exit());
    let listener = step_support::bind(&config.listen_addr)
        .await
        .unwrap_or_else(|error| error.exit());

    // Spans go out over OTLP, as in the frontend (see there).
    let exporter = otlp::exporter().unwrap_or_else(|error| otlp::exit_unusable(error));
    let provider = init_tracer(exporter);
    global::set_text_map_propagator(propagators.build());
    // NEW: as in the frontend: spans to the trace, log lines to stderr.
    init_subscriber(provider.tracer("backend"), log_filter);
    let app = Backend { work };
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
        // The sampler: the SDK's, from OTEL_TRACES_SAMPLER (step 09).
        // Batched, off the request's path, as in the frontend.
        .with_batch_exporter(exporter)
        .build()
}

/// Spans to OpenTelemetry whatever RUST_LOG says, log lines as it says: as in the frontend.
fn init_subscriber(tracer: SdkTracer, log_filter: EnvFilter) {
    // ANCHOR: todo_subscriber
    // TODO: As in the frontend: install the subscriber, a registry with a layer for the trace
    // and one for the log, each with its own filter.
    // Installs nothing, so that the code compiles: `tracing`'s spans go nowhere.
    let _ = (tracer, log_filter);
    // ANCHOR_END: todo_subscriber
}

/// What every request handler needs.
#[derive(Clone)]
struct Backend {
    /// The simulated work of each request (`BACKEND_WORK_MS`).
    work: Duration,
}

fn router(app: Backend) -> Router {
    Router::new()
        .route("/", get(handle_request))
        // NEW: the server span, from tower-http's TraceLayer, as in the frontend.
        .route_layer(
            TraceLayer::new_for_http()
                .make_span_with(move |request: &Request| backend_call_received_span(request))
                .on_response(record_status_code)
                .on_failure(()),
        )
        .with_state(app)
}

// ANCHOR: server_span
/// The server span of the backend call, a child of the frontend's `backend call` span, whose
/// context (and baggage) came in the headers.
fn backend_call_received_span(request: &Request) -> Span {
    let span = info_span!(
        "backend call received",
        otel.kind = "server",
        http.request.method = semconv::request_method(request.method()),
        url.path = request.uri().path(),
        url.scheme = "http",
        http.route = request
            .extensions()
            .get::<MatchedPath>()
            .map(MatchedPath::as_str),
        network.protocol.version = semconv::protocol_version(request.version()),
        http.response.status_code = field::Empty,
    );
    // Headers that are missing or unreadable give an empty context, and the span starts a new
    // trace.
    let parent_cx = global::get_text_map_propagator(|propagator| {
        propagator.extract(&HeaderExtractor(request.headers()))
    });
    // Only fails when the span has started already (it has not: it starts when the request
    // first enters it), when no layer enabled it, or when no OpenTelemetry layer is found.
    if let Err(error) = span.set_parent(parent_cx) {
        tracing::warn!(%error, "the caller's trace is not continued");
    }
    span
}
// ANCHOR_END: server_span

fn record_status_code(response: &Response, _latency: Duration, span: &Span) {
    span.record("http.response.status_code", response.status().as_u16());
}

// ANCHOR: handler
async fn handle_request(State(app): State<Backend>) -> &'static str {
    // The request's span, made by the TraceLayer, is current while the handler runs.
    let span = Span::current();
    // Record the baggage that came with the request on the span, key for key (step 05). It is
    // in the span's OpenTelemetry context, which holds what the parent's context held. Baggage
    // comes from whoever called: it never replaces what the span says of itself (a field such
    // as `http.route`), and a production service would copy only the keys it expects.
    let own_fields = span.metadata().map(|metadata| metadata.fields());
    for (key, (value, _metadata)) in span.context().baggage() {
        if own_fields.is_some_and(|fields| fields.field(key.as_str()).is_some()) {
            continue;
        }
        span.set_attribute(key.clone(), value.clone());
    }
    // ANCHOR: todo_event
    // TODO: Write the event `handling backend call`, in the request's span.
    // ANCHOR_END: todo_event

    // Work of a set duration, when asked for, in a span that says it is a sleep.
    if !app.work.is_zero() {
        let milliseconds = u64::try_from(app.work.as_millis()).unwrap_or(u64::MAX);
        tokio::time::sleep(app.work)
            .instrument(info_span!(
                "simulated work",
                demo.simulated_work_ms = milliseconds
            ))
            .await;
    }
    "OK"
}
// ANCHOR_END: handler
