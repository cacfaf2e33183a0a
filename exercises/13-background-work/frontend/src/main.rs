// Exercise 13: made from steps/13-background-work by `cargo run -p workshop starters`.
// Write what each TODO asks for, then `cargo run -p workshop check 13` says what the trace
// still lacks. `cargo run -p workshop reset 13` gives you this starter back.
//! Step 13, frontend: step 12's frontend, unchanged. What this step adds is in the backend:
//! work off the request's path (backend/src/main.rs, backend/src/jobs.rs).

// Until every TODO is done, some of what the code imports or holds is unused.
#![allow(dead_code, unused_imports, unused_mut, unused_variables)]

use std::{
    process::ExitCode,
    time::{Duration, Instant},
};

use axum::{
    Router,
    extract::{MatchedPath, Request, State},
    http::{HeaderMap, StatusCode},
    middleware,
    response::Response,
    routing::get,
};
use metrics::{BackendCallMetrics, ServerMetrics};
use opentelemetry::{
    KeyValue, baggage::BaggageExt, global, metrics::MeterProvider, trace::TracerProvider,
};
use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use opentelemetry_sdk::{
    Resource,
    logs::SdkLoggerProvider,
    trace::{SdkTracer, SdkTracerProvider, SpanExporter},
};
use otel_env::Propagators;
use step_support::{BackendError, FrontendConfig};
use tower_http::trace::TraceLayer;
use tracing::{Span, error, field, info, info_span, instrument};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::{Layer, layer::SubscriberExt, util::SubscriberInitExt};

mod client_spans;
// The log lines with trace ids, and the filters that keep RUST_LOG away from the trace, as in
// step 10; the log records and their provider (the backend uses this file too).
mod logs;
// The metrics, their instruments and their provider, as in step 11 (the backend uses this file
// too).
mod metrics;
// OTEL_PROPAGATORS, as in step 09 (the backend uses this file too).
mod otel_env;
// The OTLP exporter, as in step 07 (the backend uses this file too).
mod otlp;
// The HTTP semantic conventions' values: the method, the HTTP version (the backend
// uses this file too).
mod semconv;

#[tokio::main]
async fn main() -> ExitCode {
    // Plumbing (step-support): bad configuration ends the program here, with exit code 2.
    let config = FrontendConfig::from_env().unwrap_or_else(|error| error.exit());
    // Trace header formats, from OTEL_PROPAGATORS (step 09).
    let propagators = Propagators::from_env().unwrap_or_else(|error| error.exit());
    // Which log lines to write, from RUST_LOG (`info` when unset).
    let log_filter = logs::log_filter_from_env().unwrap_or_else(|error| error.exit());
    // Whether to send metrics, from OTEL_METRICS_EXPORTER (step 11).
    let send_metrics = metrics::send_metrics_from_env().unwrap_or_else(|error| error.exit());
    // Whether to send log records, from OTEL_LOGS_EXPORTER.
    let send_log_records = logs::send_log_records_from_env().unwrap_or_else(|error| error.exit());
    let listener = step_support::bind(&config.listen_addr)
        .await
        .unwrap_or_else(|error| error.exit());

    // Spans go out over OTLP, as in step 07, and metrics, as in step 11; log records too.
    let exporter = otlp::exporter().unwrap_or_else(|error| otlp::exit_unusable(error));
    let metric_exporter = send_metrics
        .then(|| otlp::metric_exporter().unwrap_or_else(|error| otlp::exit_unusable(error)));
    let log_exporter = send_log_records
        .then(|| otlp::log_exporter().unwrap_or_else(|error| otlp::exit_unusable(error)));
    // ANCHOR: providers
    // One resource for every signal: the same service, whichever a back end shows.
    let resource = service_resource("frontend");
    let provider = init_tracer(exporter, resource.clone());
    global::set_text_map_propagator(propagators.build());
    let meter_provider = metrics::init_meter_provider(metric_exporter, resource.clone());
    let meter = meter_provider.meter("OT-tracing-demo");
    // And a logger provider.
    let logger_provider = logs::init_logger_provider(log_exporter, resource);
    // ANCHOR_END: providers
    init_subscriber(
        provider.tracer("OT-tracing-demo"),
        &logger_provider,
        &log_filter,
    );

    // The HTTP client reports its own work (client_spans.rs).
    let client_builder = client_spans::instrument(config.backend_client_builder());
    let client = step_support::build_client(client_builder).unwrap_or_else(|error| error.exit());
    let backend_calls = BackendCallMetrics::new(
        &meter,
        config.backend_url.host_str().unwrap_or_default(),
        config
            .backend_url
            .port_or_known_default()
            .unwrap_or_default(),
    );
    let app = Frontend {
        client,
        backend_url: config.backend_url,
        backend_calls,
    };
    let server_metrics = ServerMetrics::new(&meter);
    step_support::serve(listener, router(app, server_metrics)).await;

    // Send the last spans, the last metrics, and the last log records, before exiting.
    otlp::shut_down(
        provider,
        meter_provider,
        logger_provider,
        step_support::shutdown_time_left(),
    )
}

/// Who this service is, for its spans, metrics and log records alike: its name and version.
fn service_resource(service: &str) -> Resource {
    Resource::builder()
        .with_service_name(step_support::service_name(service))
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build()
}

/// The tracer provider, as in step 09: which traces to keep, where spans go; who this service
/// is comes from `resource`, which the other signals share (step 11).
fn init_tracer(exporter: impl SpanExporter + 'static, resource: Resource) -> SdkTracerProvider {
    SdkTracerProvider::builder()
        .with_resource(resource)
        // The sampler: the SDK's, from OTEL_TRACES_SAMPLER (step 09).
        // Batched, off the request's path.
        .with_batch_exporter(exporter)
        .build()
}

// ANCHOR: init_subscriber
/// Where `tracing`'s spans and events go: layers on one registry, each with its own filter.
/// Spans, and the events written in them, go to OpenTelemetry, at INFO and above whatever
/// RUST_LOG says, so that the trace stays whole; log lines go to stderr, as RUST_LOG chooses,
/// each with its trace id and span id (step 10); the same events, as RUST_LOG chooses them,
/// go to the logger provider as log records, each with the ids of its span.
fn init_subscriber(
    tracer: SdkTracer,
    logger_provider: &SdkLoggerProvider,
    log_filter: &logs::LogFilter,
) {
    // ANCHOR: todo_subscriber
    let to_the_trace = tracing_opentelemetry::layer()
        .with_tracer(tracer)
        // The attributes the post's spans have, and no more: no source file and line, thread,
        // busy and idle time or module for each span. A service keeps these defaults: they
        // lead from a span to its code.
        .with_location(false)
        .with_threads(false)
        .with_tracked_inactivity(false)
        .with_target(false)
        .with_filter(logs::trace_filter());
    let to_the_log = tracing_subscriber::fmt::layer()
        .event_format(logs::WithTraceIds)
        .with_writer(std::io::stderr)
        .with_filter(log_filter.env_filter());
    // ANCHOR: to_log_records
    // The logs bridge: each event it is given becomes a log record, its level the
    // record's severity, its message the body, its other fields attributes, and the
    // OpenTelemetry context current when it was written (the span's, which the trace's layer
    // makes current on entering it) its trace id and span id.
    let to_log_records = OpenTelemetryTracingBridge::new(logger_provider)
        .with_filter(logs::log_record_filter(log_filter));
    // ANCHOR_END: to_log_records
    tracing_subscriber::registry()
        .with(to_the_trace)
        .with(to_the_log)
        .with(to_log_records)
        .init();
    // ANCHOR_END: todo_subscriber
}
// ANCHOR_END: init_subscriber

/// What every request handler needs.
#[derive(Clone)]
struct Frontend {
    client: reqwest::Client,
    backend_url: reqwest::Url,
    /// The backend calls' duration and outcome (step 11).
    backend_calls: BackendCallMetrics,
}

// ANCHOR: router
fn router(app: Frontend, server_metrics: ServerMetrics) -> Router {
    Router::new()
        .route("/", get(handle_request))
        // The server span of every request to a route, from tower-http's TraceLayer, as in
        // step 10: made before the handler runs, current while it runs, ended when the answer
        // has been sent.
        .route_layer(
            TraceLayer::new_for_http()
                .make_span_with(move |request: &Request| incoming_call_span(request))
                .on_response(record_status_code)
                // The handler says what failed; the layer's own `response failed` event would be
                // one more event on the span and one more log line.
                .on_failure(()),
        )
        // ANCHOR: measure_layer
        // The duration of every request to a route, and the requests in flight (step 11).
        .route_layer(middleware::from_fn_with_state(
            server_metrics,
            metrics::measure_request,
        ))
        // ANCHOR_END: measure_layer
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
#[instrument(
    name = "backend call",
    skip_all,
    fields(
        otel.kind = "client",
        http.request.method = "GET",
        url.full = %client_spans::url_without_credentials(&app.backend_url),
        server.address = app.backend_url.host_str(),
        server.port = app.backend_url.port_or_known_default(),
        // What the answer adds (client_spans::record_response).
        http.response.status_code = field::Empty,
        network.protocol.version = field::Empty,
        network.peer.address = field::Empty,
        network.peer.port = field::Empty,
    )
)]
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
    // An event in a span: a span event in the trace, and a log line with this span's ids.
    info!("making backend call");
    // ANCHOR_END: todo_event

    // ANCHOR: measure_call
    let started = Instant::now();
    let result = send_and_read(app, headers).await;
    // The call's duration and outcome, in the metrics (step 11).
    app.backend_calls.record(started.elapsed(), &result);
    // ANCHOR_END: measure_call
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
