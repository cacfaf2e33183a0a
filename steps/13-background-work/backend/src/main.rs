//! Step 13, backend: step 12's backend, doing work off the request's path. Part of each
//! request's work runs in a spawned task that stays in the request's trace, and each request
//! queues a job for a background worker, whose span starts a trace of its own linked to the
//! request's (jobs.rs). The worker finishes the queued jobs before the program exits.

use std::{process::ExitCode, time::Duration};

use axum::{
    Router,
    extract::{MatchedPath, Request, State},
    http::StatusCode,
    middleware,
    response::Response,
    routing::get,
};
use jobs::JobQueue;
use metrics::ServerMetrics;
use opentelemetry::{
    KeyValue, baggage::BaggageExt, global, metrics::MeterProvider, trace::TracerProvider,
};
use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
use opentelemetry_http::HeaderExtractor;
use opentelemetry_sdk::{
    Resource,
    logs::SdkLoggerProvider,
    trace::{SdkTracer, SdkTracerProvider, SpanExporter},
};
use otel_env::Propagators;
use step_support::BackendConfig;

// NEW: the job queue and its worker.
mod jobs;
// The log lines with trace ids, the filters that keep RUST_LOG away from the trace, and
// the log records, as in the frontend: one file.
#[path = "../../frontend/src/logs.rs"]
mod logs;
// The frontend's metrics, of which the backend has a server's (step 11).
#[path = "../../frontend/src/metrics.rs"]
// The backend calls' metrics are the frontend's: not used here.
#[allow(dead_code)]
mod metrics;
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
use tracing_subscriber::{Layer, layer::SubscriberExt, util::SubscriberInitExt};

#[tokio::main]
async fn main() -> ExitCode {
    // Plumbing (step-support): bad configuration ends the program here, with exit code 2.
    let config = BackendConfig::from_env().unwrap_or_else(|error| error.exit());
    let propagators = Propagators::from_env().unwrap_or_else(|error| error.exit());
    // How long each request's simulated work takes; 0 (unset) is none.
    let work = step_support::milliseconds("BACKEND_WORK_MS").unwrap_or_else(|error| error.exit());
    // Which log lines to write, from RUST_LOG (`info` when unset).
    let log_filter = logs::log_filter_from_env().unwrap_or_else(|error| error.exit());
    // Whether to send metrics, as in the frontend (step 11).
    let send_metrics = metrics::send_metrics_from_env().unwrap_or_else(|error| error.exit());
    // Whether to send log records, as in the frontend.
    let send_log_records = logs::send_log_records_from_env().unwrap_or_else(|error| error.exit());
    // NEW: how long each job's simulated work takes; 0 (unset) is none.
    let job_work = step_support::milliseconds("JOB_WORK_MS").unwrap_or_else(|error| error.exit());
    let listener = step_support::bind(&config.listen_addr)
        .await
        .unwrap_or_else(|error| error.exit());

    // Spans, metrics and log records go out over OTLP, as in the frontend (see there).
    let exporter = otlp::exporter().unwrap_or_else(|error| otlp::exit_unusable(error));
    let metric_exporter = send_metrics
        .then(|| otlp::metric_exporter().unwrap_or_else(|error| otlp::exit_unusable(error)));
    let log_exporter = send_log_records
        .then(|| otlp::log_exporter().unwrap_or_else(|error| otlp::exit_unusable(error)));
    // One resource for every signal, as in the frontend.
    let resource = service_resource("backend");
    let provider = init_tracer(exporter, resource.clone());
    global::set_text_map_propagator(propagators.build());
    let meter_provider = metrics::init_meter_provider(metric_exporter, resource.clone());
    // And a logger provider, as in the frontend.
    let logger_provider = logs::init_logger_provider(log_exporter, resource);
    init_subscriber(provider.tracer("backend"), &logger_provider, &log_filter);
    // NEW: the worker, and the queue the request handlers feed it through.
    let (jobs, worker) = jobs::start_worker(job_work);
    let app = Backend { work, jobs };
    let server_metrics = ServerMetrics::new(&meter_provider.meter("backend"));
    step_support::serve(listener, router(app, server_metrics)).await;
    // ANCHOR: todo_wait_for_worker
    // NEW: the server has stopped, and with it every sender of the queue: the worker processes
    // the jobs still queued, then ends. Their spans must end before the tracer provider shuts
    // down, or they are lost.
    jobs::wait_for_worker(worker).await;
    // ANCHOR_END: todo_wait_for_worker

    // Send the last spans, metrics and log records before exiting.
    otlp::shut_down(
        provider,
        meter_provider,
        logger_provider,
        step_support::shutdown_time_left(),
    )
}

/// Who this service is, for every signal, as in the frontend.
fn service_resource(service: &str) -> Resource {
    Resource::builder()
        .with_service_name(step_support::service_name(service))
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build()
}

/// The tracer provider, set up as the frontend's, under the service name `backend`.
fn init_tracer(exporter: impl SpanExporter + 'static, resource: Resource) -> SdkTracerProvider {
    SdkTracerProvider::builder()
        .with_resource(resource)
        // The sampler: the SDK's, from OTEL_TRACES_SAMPLER (step 09).
        // Batched, off the request's path, as in the frontend.
        .with_batch_exporter(exporter)
        .build()
}

/// Spans to OpenTelemetry whatever RUST_LOG says, log lines and log records as it says:
/// as in the frontend.
fn init_subscriber(
    tracer: SdkTracer,
    logger_provider: &SdkLoggerProvider,
    log_filter: &logs::LogFilter,
) {
    // ANCHOR: todo_subscriber
    let to_the_trace = tracing_opentelemetry::layer()
        .with_tracer(tracer)
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

/// What every request handler needs.
#[derive(Clone)]
struct Backend {
    /// The simulated work of each request (`BACKEND_WORK_MS`).
    work: Duration,
    /// NEW: the queue of jobs for the worker.
    jobs: JobQueue,
}

fn router(app: Backend, server_metrics: ServerMetrics) -> Router {
    Router::new()
        .route("/", get(handle_request))
        // The server span, from tower-http's TraceLayer, as in the frontend.
        .route_layer(
            TraceLayer::new_for_http()
                .make_span_with(move |request: &Request| backend_call_received_span(request))
                .on_response(record_status_code)
                .on_failure(()),
        )
        // The duration of every request to a route, and those in flight, as in the frontend
        // (step 11).
        .route_layer(middleware::from_fn_with_state(
            server_metrics,
            metrics::measure_request,
        ))
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
async fn handle_request(State(app): State<Backend>) -> Result<&'static str, StatusCode> {
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
    // A span event in the trace, and a log line with the trace id.
    info!("handling backend call");
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

    // ANCHOR: todo_spawn
    // NEW: the answer is worked out in a task of its own, which finishes even if the caller
    // hangs up and this handler is dropped. The task's span starts when the task first runs, on
    // whichever thread: `in_current_span` takes the request's span along, to be its parent.
    let answer = tokio::spawn(compute_answer().in_current_span()).await;
    // ANCHOR_END: todo_spawn
    // NEW: work the caller need not wait for, queued for the worker (jobs.rs).
    app.jobs.send().await;
    answer.map_err(|error| {
        // Only when the task panicked.
        tracing::error!(%error, "the answer could not be computed");
        StatusCode::INTERNAL_SERVER_ERROR
    })
}
// ANCHOR_END: handler

/// NEW: the answer, in a span of its own (`#[instrument]` starts it when the future first runs,
/// as a child of the span current then).
#[tracing::instrument(name = "compute answer")]
async fn compute_answer() -> &'static str {
    "OK"
}
