//! Step 06's way to Google Cloud Trace, with the checks a reader needs when it fails: the
//! credentials are found and tried, and the exporter is connected, before the program says it
//! is listening; what goes wrong is said in one line that names what to fix, within
//! [`CONNECT_TIMEOUT`] even on a network that drops every packet.

use std::{future::Future, sync::Arc, time::Duration};

use gcp_auth::TokenProvider;
// The Stackdriver exporter is deprecated and will get no more releases; the book's step 06
// chapter names its successor, OTLP. Its uses are allowed one by one, here and in `connect`.
#[allow(deprecated)]
use opentelemetry_stackdriver::{GcpAuthorizer, StackDriverExporter};
use tokio::time::{Instant, timeout_at};

use crate::StartupError;

/// The permission the exporter asks for: append spans to the project's traces.
pub const TRACE_APPEND_SCOPE: &str = "https://www.googleapis.com/auth/trace.append";

/// The most start-up may spend finding credentials, getting a token and connecting. Neither
/// gcp_auth nor the exporter bounds its own connections.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(8);

/// Finds credentials as Google's client libraries do (Application Default Credentials:
/// `GOOGLE_APPLICATION_CREDENTIALS`, then `gcloud auth application-default login`'s file, then
/// the metadata server of a Google Cloud machine, then the `gcloud` command), gets a first access
/// token with them, and connects the exporter to `cloudtrace.googleapis.com:443`.
///
/// Returns the exporter and its background task, which does the sending: spawn it, and await
/// it after the tracer provider's shutdown, or the last spans are lost.
#[allow(deprecated)] // the Stackdriver exporter (see the `use` above)
pub async fn connect() -> Result<
    (
        StackDriverExporter,
        impl Future<Output = ()> + Send + 'static,
    ),
    StartupError,
> {
    let deadline = Instant::now() + CONNECT_TIMEOUT;
    let timed_out = |doing: &str| {
        StartupError(format!(
            "no answer from Google within {} s while {doing}: check the network (and that it \
             reaches *.googleapis.com on port 443)",
            CONNECT_TIMEOUT.as_secs()
        ))
    };

    let credentials = timeout_at(deadline, gcp_auth::provider())
        .await
        .map_err(|_| timed_out("looking for credentials"))?
        .map_err(credentials_error)?;
    let project_id = project_id(credentials.as_ref(), deadline).await?;
    // Try the credentials now: a key Google refuses, or a network that does not reach Google,
    // is then reported here, rather than as spans that never arrive.
    timeout_at(deadline, credentials.token(&[TRACE_APPEND_SCOPE]))
        .await
        .map_err(|_| timed_out("getting an access token"))?
        .map_err(|error| {
            StartupError(format!(
                "Google gave no access token for these credentials ({error}): renew them with \
                 `gcloud auth application-default login`, or check GOOGLE_APPLICATION_CREDENTIALS"
            ))
        })?;

    let authorizer = GcpAuthorizer::from_gcp_auth(credentials, project_id);
    timeout_at(deadline, StackDriverExporter::builder().build(authorizer))
        .await
        .map_err(|_| timed_out("connecting to cloudtrace.googleapis.com"))?
        .map_err(|error| {
            StartupError(format!(
                "cannot connect to cloudtrace.googleapis.com:443: {error}"
            ))
        })
}

/// The project the spans are written to: `GOOGLE_CLOUD_PROJECT` when set (as for Google's own
/// client libraries), otherwise the one the credentials name.
async fn project_id(
    credentials: &dyn TokenProvider,
    deadline: Instant,
) -> Result<Arc<str>, StartupError> {
    if let Some(project) = std::env::var("GOOGLE_CLOUD_PROJECT")
        .ok()
        .filter(|project| !project.is_empty())
    {
        return Ok(project.into());
    }
    match timeout_at(deadline, credentials.project_id()).await {
        Ok(Ok(project)) => Ok(project),
        Ok(Err(_)) | Err(_) => Err(StartupError(
            "the credentials name no Google Cloud project: set GOOGLE_CLOUD_PROJECT to the \
             project's id"
                .to_owned(),
        )),
    }
}

/// What to do when no credentials could be used.
fn credentials_error(error: gcp_auth::Error) -> StartupError {
    match std::env::var("GOOGLE_APPLICATION_CREDENTIALS") {
        // gcp_auth stops at a key file it cannot use rather than trying the next source.
        Ok(path) => StartupError::invalid("GOOGLE_APPLICATION_CREDENTIALS", &path, error),
        Err(_) => match error {
            gcp_auth::Error::NoAuthMethod(..) => StartupError(
                "no Google Cloud credentials found: run `gcloud auth application-default \
                 login`, or set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file"
                    .to_owned(),
            ),
            other => StartupError(format!("cannot look for Google Cloud credentials: {other}")),
        },
    }
}

/// Prints the OpenTelemetry crates' own warnings and errors to stderr. The exporter reports a
/// failed export (a token refused, the Cloud Trace API not enabled on the project, the network
/// gone) only through `tracing`: without a subscriber nobody sees it, and the spans just never
/// arrive. Other crates' diagnostics (gcp_auth's retries, hyper's) stay off.
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
