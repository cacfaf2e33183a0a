//! Step 07's exporter: OTLP over HTTP, the protocol most tracing back ends now accept, built as
//! opentelemetry-otlp's documentation builds it. The exporter reads the standard variables
//! itself: `OTEL_EXPORTER_OTLP_ENDPOINT` (by default `http://localhost:4318`, where
//! `cargo run -p trace-viewer`, Jaeger or an OpenTelemetry Collector listens; the spans go to
//! its `/v1/traces`), `..._TRACES_ENDPOINT` (used as it is), `..._HEADERS`, `..._TIMEOUT`. The
//! backend uses this file too.
//!
//! Metrics go the same way, each signal to its own path (`/v1/metrics`), through an exporter of
//! their own, which reads the same variables or their `METRICS_` variants (step 11); and so
//! do log records (`/v1/logs`, the `LOGS_` variants).

use std::{
    process::ExitCode,
    time::{Duration, Instant},
};

use opentelemetry_otlp::{ExporterBuildError, LogExporter, MetricExporter, SpanExporter};
use opentelemetry_sdk::{
    logs::SdkLoggerProvider, metrics::SdkMeterProvider, trace::SdkTracerProvider,
};

// ANCHOR: exporter
/// The OTLP exporter: protobuf over HTTP, sent by the crate's own HTTP client (a blocking
/// reqwest client, which suits the batch processor: it exports from a thread of its own).
pub fn exporter() -> Result<SpanExporter, ExporterBuildError> {
    SpanExporter::builder().with_http().build()
}
// ANCHOR_END: exporter

// ANCHOR: metric_exporter
/// The metrics' exporter, built the same way (`cumulative` or `delta`:
/// `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`, which it reads too).
pub fn metric_exporter() -> Result<MetricExporter, ExporterBuildError> {
    MetricExporter::builder().with_http().build()
}
// ANCHOR_END: metric_exporter

// ANCHOR: log_exporter
/// The log records' exporter, built the same way.
pub fn log_exporter() -> Result<LogExporter, ExporterBuildError> {
    LogExporter::builder().with_http().build()
}
// ANCHOR_END: log_exporter

/// Ends the program at start-up when the exporter cannot be built (an endpoint that is not a
/// URL): exit code 2, with the exporter's message, which names the variable to fix.
pub fn exit_unusable(error: ExporterBuildError) -> ! {
    eprintln!("error: cannot set up the OTLP exporter: {error}");
    std::process::exit(2)
}

// ANCHOR: shut_down
/// Sends the last spans, the last metrics, and the last log records, before the program
/// exits: each provider's shutdown hands what it holds to its exporter and waits until it is
/// sent, or its time is up.
/// An error says what may be lost: the spans' and the log records' when their shutdown ran out
/// of time (a last batch the endpoint refused is only a warning in the log), the metrics' also
/// when the endpoint refused the last export. The meter provider's waits up to 5 s whatever it
/// is given.
pub fn shut_down(
    provider: SdkTracerProvider,
    meter_provider: SdkMeterProvider,
    logger_provider: SdkLoggerProvider,
    time_left: Duration,
) -> ExitCode {
    let deadline = Instant::now() + time_left;
    let time_left = || deadline.saturating_duration_since(Instant::now());
    let results = [
        ("spans", provider.shutdown_with_timeout(time_left())),
        ("metrics", meter_provider.shutdown_with_timeout(time_left())),
        (
            "log records",
            logger_provider.shutdown_with_timeout(time_left()),
        ),
    ];
    let mut exit_code = ExitCode::SUCCESS;
    for (signal, result) in results {
        if let Err(error) = result {
            eprintln!("error: the last {signal} may be lost: {error}");
            exit_code = ExitCode::FAILURE;
        }
    }
    exit_code
}
// ANCHOR_END: shut_down
