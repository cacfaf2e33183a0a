//! Step 06's way to Google Cloud Trace, as opentelemetry-stackdriver builds it: Google's
//! credentials found by gcp_auth and handed to the crate's own `GcpAuthorizer`, the exporter
//! connected to `cloudtrace.googleapis.com:443`, and the shutdown that sends the last spans.
//! The backend uses this file too.
//!
//! The Stackdriver exporter is deprecated and will get no more releases. Its successor is OTLP:
//! to Google Cloud's Telemetry API through an OpenTelemetry Collector (step 07). Its uses here
//! are allowed one by one, with `#[allow(deprecated)]`. Its last release is built on
//! OpenTelemetry 0.32, and so is this step: the 0.32 crates are named `*_0_32` here, for the
//! one step that needs them.

use std::{future::Future, process::ExitCode, sync::Arc, time::Duration};

use opentelemetry_sdk_0_32::trace::SdkTracerProvider;
#[allow(deprecated)] // the exporter's crate; see the module's documentation
use opentelemetry_stackdriver::{GcpAuthorizer, StackDriverExporter};
use step_support::{StartupError, one_line};
use tokio::{task::JoinHandle, time::Instant};
use tracing_subscriber::{filter::Targets, layer::SubscriberExt, util::SubscriberInitExt};

/// The most start-up may spend finding credentials and connecting: neither gcp_auth nor the
/// exporter bounds its own wait, and a network that drops every packet would hang there.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(8);

// ANCHOR: connect
/// Finds credentials as Google's client libraries do (`GOOGLE_APPLICATION_CREDENTIALS`, then
/// `gcloud auth application-default login`'s file, then the metadata server of a Google Cloud
/// machine, then the `gcloud` command's own login), and the project (`GOOGLE_CLOUD_PROJECT`, or the one the credentials name), and
/// connects the exporter.
///
/// Returns the exporter and its background task, which does the sending: spawn it, or nothing
/// reaches Google, and give it to [`shut_down`] at the end.
#[allow(deprecated)] // the Stackdriver exporter (see the module's documentation)
pub async fn connect() -> Result<
    (
        StackDriverExporter,
        impl Future<Output = ()> + Send + 'static,
    ),
    StartupError,
> {
    let credentials = gcp_auth::provider().await.map_err(|error| {
        StartupError(format!(
            "no usable Google Cloud credentials ({}): run `gcloud auth application-default \
             login`, or set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file",
            one_line(&error)
        ))
    })?;
    let project_id: Arc<str> = match std::env::var("GOOGLE_CLOUD_PROJECT") {
        Ok(project) if !project.is_empty() => project.into(),
        _ => credentials.project_id().await.map_err(|_| {
            StartupError(
                "the credentials name no Google Cloud project: set GOOGLE_CLOUD_PROJECT to the \
                 project's id"
                    .to_owned(),
            )
        })?,
    };
    let authorizer = GcpAuthorizer::from_gcp_auth(credentials, project_id);
    StackDriverExporter::builder()
        .build(authorizer)
        .await
        .map_err(|error| {
            StartupError(format!(
                "cannot connect to cloudtrace.googleapis.com:443: {}",
                one_line(&error)
            ))
        })
}
// ANCHOR_END: connect

/// [`connect`], given [`CONNECT_TIMEOUT`].
#[allow(deprecated)] // the Stackdriver exporter (see the module's documentation)
pub async fn connect_in_time() -> Result<
    (
        StackDriverExporter,
        impl Future<Output = ()> + Send + 'static,
    ),
    StartupError,
> {
    tokio::time::timeout(CONNECT_TIMEOUT, connect())
        .await
        .unwrap_or_else(|_| {
            Err(StartupError(format!(
                "no answer from Google within {} s: check the network (and that it reaches \
                 *.googleapis.com on port 443)",
                CONNECT_TIMEOUT.as_secs()
            )))
        })
}

/// The exporter reports failed exports (a token refused, an API not enabled on the project)
/// only as `tracing` events: this prints the OpenTelemetry crates' warnings and errors on
/// stderr, or the spans just never arrive, without a word.
pub fn print_opentelemetry_warnings() {
    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .with(Targets::new().with_target("opentelemetry", tracing::Level::WARN))
        // Not `init`, which panics where a subscriber is set already: a service that has one
        // gives it a layer with this filter instead.
        .try_init()
        .ok();
}

// ANCHOR: shut_down
/// Sends the last spans before the program exits, within `time_left`. The provider's shutdown
/// ends the batch processor, which hands its last batch to the exporter and calls the
/// exporter's `shutdown`. That waits only until the exporter's task has taken every batch up
/// (it counts a batch done before uploading it), not until it is sent. So wait for the task
/// too: it ends once it has sent everything, when the last clone of the exporter is gone (the
/// batch processor drops its own at shutdown; keep no other).
pub async fn shut_down(
    provider: SdkTracerProvider,
    sending: JoinHandle<()>,
    time_left: Duration,
) -> ExitCode {
    let deadline = Instant::now() + time_left;
    if let Err(error) = provider.shutdown_with_timeout(time_left) {
        eprintln!("error: the last spans may be lost: {error}");
        return ExitCode::FAILURE;
    }
    match tokio::time::timeout_at(deadline, sending).await {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(panicked)) => {
            eprintln!("error: the last spans may be lost: the exporter failed: {panicked}");
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!("error: the last spans may be lost: not sent to Cloud Trace in time");
            ExitCode::FAILURE
        }
    }
}
// ANCHOR_END: shut_down
