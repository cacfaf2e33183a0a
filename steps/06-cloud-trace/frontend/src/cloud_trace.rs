//! Step 06's way to Google Cloud Trace, with the checks a reader needs when it fails: the
//! credentials are found and tried (`step_exporting::google`), and the exporter is connected,
//! before the program says it is listening, within [`CONNECT_TIMEOUT`]. And the shutdown that
//! sends the last spans before the program exits. The backend uses this file too.
//!
//! The Stackdriver exporter is deprecated and will get no more releases. Its successor is OTLP:
//! straight to Google Cloud's Telemetry API (`telemetry.googleapis.com`), or through an
//! OpenTelemetry Collector (step 07). Its uses here are allowed one by one, with
//! `#[allow(deprecated)]`. Its last release is built on OpenTelemetry 0.32, and so is this step:
//! the 0.32 crates are named `*_0_32` here, for the one step that needs them.

use std::{future::Future, process::ExitCode};

use opentelemetry_sdk_0_32::trace::SdkTracerProvider;
#[allow(deprecated)] // the exporter's crate; see the module's documentation
use opentelemetry_stackdriver::{GcpAuthorizer, StackDriverExporter};
pub use step_exporting::print_exporter_errors;
use step_exporting::{
    google::{self, CONNECT_TIMEOUT, timed_out, with_causes},
    shut_down_provider,
};
use step_support::StartupError;
use tokio::{
    task::JoinHandle,
    time::{Instant, timeout_at},
};

/// Finds credentials as Google's client libraries do, gets a first access token with them
/// ([`google::credentials`]), and connects the exporter to `cloudtrace.googleapis.com:443`.
///
/// Returns the exporter and its background task, which does the sending: spawn it, and give it
/// to [`shut_down`] at the end, or the last spans are lost.
#[allow(deprecated)] // the Stackdriver exporter (see the module's documentation)
pub async fn connect() -> Result<
    (
        StackDriverExporter,
        impl Future<Output = ()> + Send + 'static,
    ),
    StartupError,
> {
    let deadline = Instant::now() + CONNECT_TIMEOUT;
    let google::Credentials { tokens, project_id } = google::credentials(deadline).await?;
    let authorizer = GcpAuthorizer::from_gcp_auth(tokens, project_id);
    timeout_at(deadline, StackDriverExporter::builder().build(authorizer))
        .await
        .map_err(|_| timed_out("connecting to cloudtrace.googleapis.com"))?
        .map_err(|error| {
            StartupError(format!(
                "cannot connect to cloudtrace.googleapis.com:443: {}",
                with_causes(&error)
            ))
        })
}

/// Sends the last spans, then returns the exit code. The provider's shutdown ends the batch
/// processor, which hands its last batch to the exporter; but the exporter's own shutdown only
/// waits until `sending` has taken the batches, not sent them. So wait for `sending` too: it
/// ends once it has sent everything, when the last clone of the exporter is gone (the batch
/// processor drops its own at shutdown; keep no other).
pub async fn shut_down(provider: SdkTracerProvider, sending: JoinHandle<()>) -> ExitCode {
    let exit_code =
        shut_down_provider(move |time_left| provider.shutdown_with_timeout(time_left)).await;
    // Bounded, by what is left of the shutdown's budget: the exporter sets no timeout of its
    // own, and a stopped network would hang here.
    let time_left = step_support::shutdown_time_left();
    match tokio::time::timeout(time_left, sending).await {
        Ok(Ok(())) => exit_code,
        Ok(Err(panicked)) => {
            eprintln!("error: spans may have been lost: the exporter failed: {panicked}");
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!(
                "error: spans not sent to Cloud Trace within the shutdown's {} s were dropped",
                step_support::SHUTDOWN_BUDGET.as_secs()
            );
            ExitCode::FAILURE
        }
    }
}
