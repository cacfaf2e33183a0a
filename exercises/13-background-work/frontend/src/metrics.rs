//! The post's "stats", as OpenTelemetry metrics. Each service measures how long its HTTP
//! requests take and how many are in flight, with the names, units, buckets and attributes of
//! the HTTP semantic conventions (v1.42.0), so that any back end draws them as it draws every
//! other service's; the frontend also counts its backend calls by outcome, a metric of the demo's
//! own. A periodic reader sends what was measured every `OTEL_METRIC_EXPORT_INTERVAL`, and once
//! more at shutdown. The backend uses this file too.

use std::time::{Duration, Instant};

use axum::{
    extract::{MatchedPath, Request, State},
    http::StatusCode,
    middleware::Next,
    response::Response,
};
use opentelemetry::{
    KeyValue,
    metrics::{Counter, Histogram, Meter, UpDownCounter},
};
use opentelemetry_sdk::{
    Resource,
    metrics::{PeriodicReader, SdkMeterProvider, exporter::PushMetricExporter},
};
use opentelemetry_semantic_conventions::{attribute, metric};
use step_support::{BackendError, StartupError, variable};

use crate::semconv;

// ANCHOR: boundaries
/// The bucket boundaries, in seconds, the HTTP semantic conventions advise for request
/// durations: 5 ms to 10 s. (The SDK's default boundaries, 0 to 10000, suit milliseconds: in
/// seconds, every request under 5 s would fall in one bucket, (0, 5].)
pub const DURATION_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];
// ANCHOR_END: boundaries

// ANCHOR: settings
/// Whether metrics are sent: `OTEL_METRICS_EXPORTER`, `otlp` (the default) or `none`. No 0.33
/// crate reads it. (How often, `OTEL_METRIC_EXPORT_INTERVAL`, the SDK's periodic reader reads
/// itself: every minute by default.)
pub fn send_metrics_from_env() -> Result<bool, StartupError> {
    match variable("OTEL_METRICS_EXPORTER")?.as_deref() {
        None | Some("otlp") => Ok(true),
        Some("none") => Ok(false),
        Some(other) => Err(StartupError::invalid(
            "OTEL_METRICS_EXPORTER",
            other,
            "expected otlp or none: these programs send metrics over OTLP only",
        )),
    }
}
// ANCHOR_END: settings

// ANCHOR: meter_provider
/// The meter provider: the same resource as the traces (so that a back end knows both come
/// from one service), and a reader that exports periodically, from a thread of its own.
/// Without an exporter (`OTEL_METRICS_EXPORTER=none`), the instruments measure nothing.
pub fn init_meter_provider(
    exporter: Option<impl PushMetricExporter>,
    resource: Resource,
) -> SdkMeterProvider {
    // ANCHOR: todo_meter_provider
    let builder = SdkMeterProvider::builder().with_resource(resource);
    match exporter {
        Some(exporter) => builder
            .with_reader(PeriodicReader::builder(exporter).build())
            .build(),
        None => builder.build(),
    }
    // ANCHOR_END: todo_meter_provider
}
// ANCHOR_END: meter_provider

// ANCHOR: server_metrics
/// The two metrics of an HTTP server, as the semantic conventions name them: how long each
/// request took (`http.server.request.duration`, a histogram in seconds) and how many are being
/// handled (`http.server.active_requests`, an up-down counter).
#[derive(Clone)]
pub struct ServerMetrics {
    duration: Histogram<f64>,
    active_requests: UpDownCounter<i64>,
}

impl ServerMetrics {
    pub fn new(meter: &Meter) -> ServerMetrics {
        ServerMetrics {
            duration: meter
                .f64_histogram(metric::HTTP_SERVER_REQUEST_DURATION)
                .with_description("Duration of HTTP server requests.")
                // ANCHOR: todo_duration_unit_and_buckets
                .with_unit("s")
                .with_boundaries(DURATION_BUCKETS.to_vec())
                // ANCHOR_END: todo_duration_unit_and_buckets
                .build(),
            active_requests: meter
                .i64_up_down_counter(metric::HTTP_SERVER_ACTIVE_REQUESTS)
                .with_unit("{request}")
                .with_description("Number of active HTTP server requests.")
                .build(),
        }
    }
}

/// Axum middleware that measures every request to a route: one more in flight while it is
/// handled, and its duration, with the route, method and status code, once it is answered.
pub async fn measure_request(
    State(metrics): State<ServerMetrics>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let mut attributes = vec![
        KeyValue::new(
            attribute::HTTP_REQUEST_METHOD,
            semconv::request_method(request.method()),
        ),
        KeyValue::new(attribute::URL_SCHEME, "http"),
    ];
    // In flight until answered, or until the caller goes away and the request is dropped.
    let _in_flight = InFlight::start(&metrics.active_requests, attributes.clone());

    // ANCHOR: todo_record_duration
    let protocol_version = semconv::protocol_version(request.version());
    // The route, never the path: `/users/{id}`, not one value per user.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|route| route.as_str().to_owned());

    let response = next.run(request).await;

    attributes.push(KeyValue::new(
        attribute::NETWORK_PROTOCOL_VERSION,
        protocol_version,
    ));
    if let Some(route) = route {
        attributes.push(KeyValue::new(attribute::HTTP_ROUTE, route));
    }
    let status = response.status();
    attributes.push(KeyValue::new(
        attribute::HTTP_RESPONSE_STATUS_CODE,
        i64::from(status.as_u16()),
    ));
    // For a server, only a 5xx is its own failure; a 4xx is the caller's.
    if status.is_server_error() {
        attributes.push(KeyValue::new(attribute::ERROR_TYPE, status_code(status)));
    }
    metrics
        .duration
        .record(started.elapsed().as_secs_f64(), &attributes);
    // ANCHOR_END: todo_record_duration
    response
}

/// One request counted in `http.server.active_requests` for as long as this lives.
struct InFlight<'a> {
    counter: &'a UpDownCounter<i64>,
    attributes: Vec<KeyValue>,
}

impl<'a> InFlight<'a> {
    fn start(counter: &'a UpDownCounter<i64>, attributes: Vec<KeyValue>) -> InFlight<'a> {
        counter.add(1, &attributes);
        InFlight {
            counter,
            attributes,
        }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.counter.add(-1, &self.attributes);
    }
}
// ANCHOR_END: server_metrics

// ANCHOR: backend_call_metrics
/// The frontend's metrics of its calls to the backend: the semantic conventions' client
/// histogram, `http.client.request.duration`, and a counter of the demo's own,
/// `demo.backend.calls`, by outcome: what an on-call engineer asks first ("how many calls
/// failed, and how?"), in one word each.
#[derive(Clone)]
pub struct BackendCallMetrics {
    duration: Histogram<f64>,
    calls: Counter<u64>,
    /// Who is called: `server.address` and `server.port`, the same for every call.
    server: [KeyValue; 2],
}

impl BackendCallMetrics {
    /// The metrics of calls to the backend at `server_address`:`server_port`.
    pub fn new(meter: &Meter, server_address: &str, server_port: u16) -> BackendCallMetrics {
        BackendCallMetrics {
            server: [
                KeyValue::new(attribute::SERVER_ADDRESS, server_address.to_owned()),
                KeyValue::new(attribute::SERVER_PORT, i64::from(server_port)),
            ],
            duration: meter
                .f64_histogram(metric::HTTP_CLIENT_REQUEST_DURATION)
                .with_unit("s")
                .with_description("Duration of HTTP client requests.")
                .with_boundaries(DURATION_BUCKETS.to_vec())
                .build(),
            calls: meter
                .u64_counter("demo.backend.calls")
                .with_unit("{call}")
                .with_description("Calls to the backend, by outcome.")
                .build(),
        }
    }

    /// Records one call that took `duration` and ended with `outcome`.
    pub fn record(&self, duration: Duration, outcome: &Result<StatusCode, BackendError>) {
        let mut attributes = vec![KeyValue::new(attribute::HTTP_REQUEST_METHOD, "GET")];
        attributes.extend_from_slice(&self.server);
        let status = match outcome {
            Ok(status) | Err(BackendError::BadStatus(status)) => Some(*status),
            Err(_) => None,
        };
        if let Some(status) = status {
            attributes.push(KeyValue::new(
                attribute::HTTP_RESPONSE_STATUS_CODE,
                i64::from(status.as_u16()),
            ));
        }
        // For a client, a 4xx is a failure too; without an answer, the kind of failure.
        let error_type = match outcome {
            Ok(_) => None,
            Err(BackendError::BadStatus(status)) => Some(status_code(*status)),
            Err(BackendError::TimedOut) => Some("timeout".to_owned()),
            Err(BackendError::Unreachable(_)) => Some("unreachable".to_owned()),
        };
        if let Some(error_type) = error_type {
            attributes.push(KeyValue::new(attribute::ERROR_TYPE, error_type));
        }
        self.duration.record(duration.as_secs_f64(), &attributes);
        // ANCHOR: todo_count_call
        self.calls.add(
            1,
            &[KeyValue::new("demo.backend.outcome", call_outcome(outcome))],
        );
        // ANCHOR_END: todo_count_call
    }
}

/// The outcome of a backend call, in one word: `ok`, `bad_status`, `timeout`, `unreachable`.
pub fn call_outcome(outcome: &Result<StatusCode, BackendError>) -> &'static str {
    match outcome {
        Ok(_) => "ok",
        Err(BackendError::BadStatus(_)) => "bad_status",
        Err(BackendError::TimedOut) => "timeout",
        Err(BackendError::Unreachable(_)) => "unreachable",
    }
}
// ANCHOR_END: backend_call_metrics

/// A status code as `error.type` writes it: `502`.
fn status_code(status: StatusCode) -> String {
    status.as_u16().to_string()
}
