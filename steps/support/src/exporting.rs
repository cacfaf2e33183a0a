//! What every exporting step does around its exporter: show the exporter's own errors, and shut
//! the tracer provider down without blocking the runtime the exporter needs.

use std::{process::ExitCode, time::Duration};

use opentelemetry_sdk::trace::SdkTracerProvider;

/// Prints the OpenTelemetry crates' own warnings and errors to stderr. Exporters report a
/// failed export (a token refused, an API not enabled on the project, the network gone) only
/// through `tracing`: without a subscriber nobody sees it, and the spans just never arrive.
/// Other crates' diagnostics (gcp_auth's retries, hyper's) stay off.
pub fn print_exporter_errors() {
    use tracing_subscriber::{
        Layer, filter::LevelFilter, filter::Targets, layer::SubscriberExt, util::SubscriberInitExt,
    };
    let opentelemetry_warnings = Targets::new().with_target("opentelemetry", LevelFilter::WARN);
    let to_stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .without_time()
        .with_filter(opentelemetry_warnings);
    // Fails only if a subscriber is set already, which then prints these too.
    let _ = tracing_subscriber::registry().with(to_stderr).try_init();
}

/// Shuts `provider` down, within `timeout`: its batch processor exports what is waiting.
/// `shutdown` blocks until the exporter is done, and the exporter may need the runtime's threads
/// meanwhile: so it runs on a thread set aside for blocking. A failure is printed, and gives
/// exit code 1.
pub async fn shut_down_provider(provider: SdkTracerProvider, timeout: Duration) -> ExitCode {
    match tokio::task::spawn_blocking(move || provider.shutdown_with_timeout(timeout)).await {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(error)) => {
            eprintln!("error: spans may have been lost: {error}");
            ExitCode::FAILURE
        }
        Err(panicked) => {
            eprintln!("error: spans may have been lost: the shutdown failed: {panicked}");
            ExitCode::FAILURE
        }
    }
}
