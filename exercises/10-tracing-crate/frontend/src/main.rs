// Exercise 10: made from steps/10-tracing-crate by `cargo run -p workshop starters`.
// Write what each TODO asks for, then `cargo run -p workshop check 10` says what the trace
// still lacks. `cargo run -p workshop reset 10` gives you this starter back.
//! Step 10, frontend: step 09's frontend written the way most Rust services are, with the
//! `tracing` crate. Spans and events come from its macros (`#[instrument]`, `info_span!`,
//! `info!`); tracing-opentelemetry's layer turns them into OpenTelemetry spans; the request's
//! server span comes from tower-http's `TraceLayer`; every log line carries the trace id and
//! span id of its span. The trace is step 09's, span for span.

// Until every TODO is done, some of what the code imports or holds is unused.
#![allow(dead_code, unused_imports, unused_mut, unused_variables)]

use std::{process::ExitCode, time::Duration};

use axum::{
    Router,
    extract::{MatchedPath, Request, State},
    http::{HeaderMap, StatusCode},
    response::Response,
    routing::get,
};
use opentelemetry::{KeyValue, baggage::BaggageExt, global, trace::TracerProvider};
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use opentelemetry_sdk::{
    Resource,
    trace::{SdkTracer, SdkTracerProvider, SpanExporter},
};
use otel_env::Propagators;
use step_support::{BackendError, FrontendConfig};
use tower_http::trace::TraceLayer;
use tracing::{Span, error, field, info, info_span, instrument};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::{EnvFilter, Layer, layer::SubscriberExt, util::SubscriberInitExt};

mod client_spans;
// NEW: the log lines with trace ids, and the filters that keep RUST_LOG away from the trace
// (the backend uses this file too).
mod logs;
// OTEL_PROPAGATORS, as in step 09 (the backend uses this file too).
mod otel_env;
// The OTLP exporter, as in step 07 (the backend uses this file too).
mod otlp;
// NEW: the HTTP semantic conventions' values: the method, the HTTP version (the backend
// uses this file too).
mod semconv;

#[tokio::main]
async fn main() -> ExitCode {
    // Plumbing (step-support): bad configuration ends the program here, with exit code 2.
    let config = FrontendConfig::from_env().unwrap_or_else(|error| error.exit());
    // Trace header formats, from OTEL_PROPAGATORS (step 09).
    let propagators = Propagators::from_env().unwrap_or_else(|error| error.exit());
    // NEW: which log lines to write, from RUST_LOG (`info` when unset).
    let log_filter = logs::log_filter_from_env().unwrap_or_else(|error| error.exit());
    let listener = step_support::bind(&config.listen_addr)
        .await
        .unwrap_or_else(|error| error.exit());

    // Spans go out over OTLP, as in step 07.
    let exporter = otlp::exporter().unwrap_or_else(|error| otlp::exit_unusable(error));
    let provider = init_tracer(exporter);
    global::set_text_map_propagator(propagators.build());
    // NEW: `tracing`'s spans and events now have somewhere to go.
    init_subscriber(provider.tracer("OT-tracing-demo"), log_filter);

    // The HTTP client reports its own work (client_spans.rs).
    let client_builder = client_spans::instrument(config.backend_client_builder());
    let client = step_support::build_client(client_builder).unwrap_or_else(|error| error.exit());
    let app = Frontend {
        client,
        backend_url: config.backend_url,
    };
    step_support::serve(listener, router(app)).await;

    // Send the last spans before exiting.
    otlp::shut_down(provider, step_support::shutdown_time_left())
}

/// The tracer provider, as in step 09: who this service is, which traces to keep, where spans
/// go.
fn init_tracer(exporter: impl SpanExporter + 'static) -> SdkTracerProvider {
    let resource = Resource::builder()
        .with_service_name(step_support::service_name("frontend"))
        .build();
    SdkTracerProvider::builder()
        .with_resource(resource)
        // The sampler: the SDK's, from OTEL_TRACES_SAMPLER (step 09).
        // Batched, off the request's path.
        .with_batch_exporter(exporter)
        .build()
}

// ANCHOR: init_subscriber
/// NEW: where `tracing`'s spans and events go: two layers on one registry, each with its own
/// filter. Spans, and the events written in them, go to OpenTelemetry, at INFO and above
/// whatever RUST_LOG says, so that the trace stays whole; log lines go to stderr, as RUST_LOG
/// chooses, each with its trace id and span id.
fn init_subscriber(tracer: SdkTracer, log_filter: EnvFilter) {
    // ANCHOR: todo_subscriber
    // TODO: Install the subscriber: a registry with two layers, each with its own filter. One
    // sends spans and the events in them to OpenTelemetry through `tracer`, filtered by
    // `logs::trace_filter()` so that RUST_LOG never takes spans from the trace; the other
    // writes log lines to stderr with their trace ids (`logs::WithTraceIds` as its event
    // format), filtered by `log_filter`.
    // Installs nothing, so that the code compiles: `tracing`'s spans go nowhere.
    let _ = (tracer, log_filter);
    // ANCHOR_END: todo_subscriber
}
// ANCHOR_END: init_subscriber

/// What every request handler needs.
#[derive(Clone)]
struct Frontend {
    client: reqwest::Client,
    backend_url: reqwest::Url,
}

// ANCHOR: router
fn router(app: Frontend) -> Router {
    Router::new()
        .route("/", get(handle_request))
        // NEW: the server span of every request to a route, from tower-http's TraceLayer: made
        // before the handler runs, current while it runs, ended when the answer has been sent.
        // (`layer` instead would trace the 404s of paths nobody serves too.)
        .route_layer(
            TraceLayer::new_for_http()
                .make_span_with(move |request: &Request| incoming_call_span(request))
                .on_response(record_status_code)
                // The handler says what failed; the layer's own `response failed` event would be
                // one more event on the span and one more log line.
                .on_failure(()),
        )
        .with_state(app)
}

/// The request's span, `incoming call`: the server side of the user's call, a child of the
/// caller's span, or the root. With the HTTP semantic conventions' attributes of a server span.
fn incoming_call_span(request: &Request) -> Span {
    let span = info_span!(
        "incoming call",
        otel.kind = "server",
        http.request.method = semconv::request_method(request.method()),
        url.path = request.uri().path(),
        url.scheme = "http",
        http.route = request
            .extensions()
            .get::<MatchedPath>()
            .map(MatchedPath::as_str),
        network.protocol.version = semconv::protocol_version(request.version()),
        // Known later: filled in with `record`.
        http.response.status_code = field::Empty,
        otel.status_code = field::Empty,
        otel.status_description = field::Empty,
    );
    // The caller's trace, if it sent one. Missing or unreadable headers give an empty context,
    // and the span is then the root of a new trace. The caller's baggage is not taken in: it
    // comes from the internet, and would go on to every service (step 07).
    let caller_cx = global::get_text_map_propagator(|propagator| {
        propagator.extract(&HeaderExtractor(request.headers()))
    })
    .with_cleared_baggage();
    // Only fails when the span has started already (it has not: it starts when the request
    // first enters it), when no layer enabled it, or when no OpenTelemetry layer is found.
    if let Err(error) = span.set_parent(caller_cx) {
        tracing::warn!(%error, "the caller's trace is not continued");
    }
    span
}
// ANCHOR_END: router

fn record_status_code(response: &Response, _latency: Duration, span: &Span) {
    span.record("http.response.status_code", response.status().as_u16());
}

// ANCHOR: handler
async fn handle_request(State(app): State<Frontend>) -> Result<&'static str, BackendError> {
    let result = call_backend(&app).await;
    if let Err(error) = &result {
        // The user got an error answer, so the request's span (current here: the TraceLayer
        // runs the handler inside it) is an error too.
        let request_span = Span::current();
        request_span.record("otel.status_code", "ERROR");
        request_span.record("otel.status_description", field::display(error));
    }
    result.map(|_| "OK")
}

/// The backend call: a client span, a child of the request's span, with the HTTP semantic
/// conventions' attributes, ended when the whole answer has been read (when this returns).
// ANCHOR: todo_backend_call
// TODO: Make each call of `call_backend` a span, `backend call`, of kind client (the field
// `otel.kind`), with the HTTP semantic conventions' attributes of the request, and empty
// fields for those of the answer, which `client_spans::record_response` fills in:
// `http.response.status_code`, `network.protocol.version`, `network.peer.address`,
// `network.peer.port`.
// ANCHOR_END: todo_backend_call
async fn call_backend(app: &Frontend) -> Result<StatusCode, BackendError> {
    // This span's context, and baggage, into the request's headers: `context()` is the
    // OpenTelemetry context tracing-opentelemetry keeps for the current span.
    let backend_cx = Span::current()
        .context()
        .with_baggage([KeyValue::new("demo.origin", "frontend")]);
    let mut headers = HeaderMap::new();
    global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&backend_cx, &mut HeaderInjector(&mut headers));
    });
    // ANCHOR: todo_event
    // TODO: Write the event `making backend call`: in the span, it is a span event in the
    // trace and a log line with the span's ids.
    // ANCHOR_END: todo_event

    let result = send_and_read(app, headers).await;
    if let Err(error) = &result {
        // An `error` field and no message: tracing-opentelemetry makes it an `exception` event
        // and sets the span's status to this error.
        error!(error = %error);
    }
    result
}
// ANCHOR_END: handler

/// Sends the request and reads the whole answer, in spans of their own (client_spans.rs); the
/// answer's attributes go on `backend call`.
async fn send_and_read(app: &Frontend, headers: HeaderMap) -> Result<StatusCode, BackendError> {
    let request = app.client.get(app.backend_url.clone()).headers(headers);
    let response = client_spans::send(request).await?;
    client_spans::record_response(&Span::current(), &response);
    let status = response.status();
    // Read the body even from an error answer: the connection can then be reused.
    client_spans::read_body(response).await?;
    if !status.is_success() {
        return Err(BackendError::BadStatus(status));
    }
    Ok(status)
}
