//! Step 07's exporter: OTLP over HTTP, the protocol most tracing back ends now accept, built as
//! opentelemetry-otlp's documentation builds it. The exporter reads the standard variables
//! itself: `OTEL_EXPORTER_OTLP_ENDPOINT` (by default `http://localhost:4318`, where
//! `cargo run -p trace-viewer`, Jaeger or an OpenTelemetry Collector listens; the spans go to
//! its `/v1/traces`), `..._TRACES_ENDPOINT` (used as it is), `..._HEADERS`, `..._TIMEOUT`. The
//! backend uses this file too.

use std::{process::ExitCode, time::Duration};

use opentelemetry_otlp::{ExporterBuildError, SpanExporter};
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::{filter::Targets, layer::SubscriberExt, util::SubscriberInitExt};

// ANCHOR: exporter
/// The OTLP exporter: protobuf over HTTP, sent by the crate's own HTTP client (a blocking
/// reqwest client, which suits the batch processor: it exports from a thread of its own).
pub fn exporter() -> Result<SpanExporter, ExporterBuildError> {
    // ANCHOR: todo_exporter
    // TODO: Build the OTLP exporter, protobuf over HTTP, as opentelemetry-otlp documents it.
    // It reads where to send (`OTEL_EXPORTER_OTLP_ENDPOINT`, ...) itself. Both programs use
    // this function.
    // Stops the program at start-up, exit code 2, until you replace it.
    Err(ExporterBuildError::InvalidConfiguration(
        "TODO in frontend/src/otlp.rs: build the OTLP exporter".to_owned(),
    ))
    // ANCHOR_END: todo_exporter
}
// ANCHOR_END: exporter

/// Ends the program at start-up when the exporter cannot be built (an endpoint that is not a
/// URL): exit code 2, with the exporter's message, which names the variable to fix.
pub fn exit_unusable(error: ExporterBuildError) -> ! {
    eprintln!("error: cannot set up the OTLP exporter: {error}");
    std::process::exit(2)
}

// ANCHOR: internal_logs
/// The OpenTelemetry crates report what goes wrong (an export refused, an endpoint that does
/// not answer, spans dropped because the queue was full) only as `tracing` events: without a
/// subscriber nobody sees them, and the spans just never arrive. This one prints their warnings
/// and errors on stderr; the HTTP client's own chatter stays off.
pub fn print_opentelemetry_warnings() {
    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .with(Targets::new().with_target("opentelemetry", tracing::Level::WARN))
        // Not `init`, which panics where a subscriber is set already: a service that has one
        // gives it a layer with this filter instead.
        .try_init()
        .ok();
}
// ANCHOR_END: internal_logs

// ANCHOR: shut_down
/// Sends the last batch before the program exits: the provider's shutdown hands it to the
/// exporter and waits until it is sent, or `time_left` is over. An error says the last spans
/// may be lost; an export the endpoint refused is only a warning above.
pub fn shut_down(provider: SdkTracerProvider, time_left: Duration) -> ExitCode {
    match provider.shutdown_with_timeout(time_left) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: the last spans may be lost: {error}");
            ExitCode::FAILURE
        }
    }
}
// ANCHOR_END: shut_down
