//! Step 06's way to Google Cloud Trace, with the checks a reader needs when it fails: the
//! credentials are found and tried, and the exporter is connected, before the program says it
//! is listening; what goes wrong is said in one line that names what to fix, within
//! [`CONNECT_TIMEOUT`] even on a network that drops every packet. And the shutdown that sends
//! the last spans before the program exits.
//!
//! The Stackdriver exporter is deprecated and will get no more releases. Its successor is OTLP:
//! straight to Google Cloud's Telemetry API (`telemetry.googleapis.com`), or through an
//! OpenTelemetry Collector. Its uses here are allowed one by one, with `#[allow(deprecated)]`.

use std::{error::Error, future::Future, io, process::ExitCode, sync::Arc, time::Duration};

use gcp_auth::TokenProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;
#[allow(deprecated)] // the exporter's crate; see the module's documentation
use opentelemetry_stackdriver::{GcpAuthorizer, StackDriverExporter};
use tokio::{
    task::JoinHandle,
    time::{Instant, timeout_at},
};

use crate::{StartupError, config::read};

/// The permission the exporter asks for: append spans to the project's traces.
pub const TRACE_APPEND_SCOPE: &str = "https://www.googleapis.com/auth/trace.append";

/// The most start-up may spend finding credentials, getting a token and connecting. Neither
/// gcp_auth nor the exporter bounds its own connections.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(8);

/// How long the exporter may take, after the provider's shutdown, to send what it was handed.
pub const SENDING_TIMEOUT: Duration = Duration::from_secs(5);

/// Finds credentials as Google's client libraries do (Application Default Credentials:
/// `GOOGLE_APPLICATION_CREDENTIALS`, then `gcloud auth application-default login`'s file, then
/// the metadata server of a Google Cloud machine, then the `gcloud` command), gets a first access
/// token with them, and connects the exporter to `cloudtrace.googleapis.com:443`.
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
    let timed_out = |doing: &str| {
        StartupError(format!(
            "no answer from Google within {} s while {doing}: check the network (and that it \
             reaches *.googleapis.com on port 443)",
            CONNECT_TIMEOUT.as_secs()
        ))
    };

    // gcp_auth reads this variable itself, and would try to open "" as a file.
    if std::env::var_os("GOOGLE_APPLICATION_CREDENTIALS").is_some_and(|path| path.is_empty()) {
        return Err(StartupError::invalid(
            "GOOGLE_APPLICATION_CREDENTIALS",
            "",
            "empty: name a service-account key file, or unset it",
        ));
    }
    // Its last resort runs the `gcloud` command and waits for it, blocking the thread: so the
    // search runs on a thread of its own, and this one keeps the deadline.
    let runtime = tokio::runtime::Handle::current();
    let search = tokio::task::spawn_blocking(move || runtime.block_on(gcp_auth::provider()));
    let credentials = match timeout_at(deadline, search).await {
        Err(_) => {
            return Err(timed_out(
                "looking for credentials (at the metadata server, or with `gcloud`)",
            ));
        }
        Ok(Err(panicked)) => return Err(StartupError(format!("no credentials: {panicked}"))),
        Ok(Ok(found)) => found.map_err(credentials_error)?,
    };
    let project_id = project_id(credentials.as_ref(), deadline).await?;
    // Try the credentials now: a key Google refuses, or a network that does not reach Google,
    // is then reported here, rather than as spans that never arrive.
    timeout_at(deadline, credentials.token(&[TRACE_APPEND_SCOPE]))
        .await
        .map_err(|_| timed_out("getting an access token"))?
        .map_err(token_error)?;

    let authorizer = GcpAuthorizer::from_gcp_auth(credentials, project_id);
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
    // `shutdown` blocks until the exporter has taken the spans, which needs the runtime's
    // threads: block one set aside for it, not one that `sending` may be waiting for.
    let mut exit_code = ExitCode::SUCCESS;
    match tokio::task::spawn_blocking(move || provider.shutdown()).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => {
            eprintln!("error: spans may have been lost: {error}");
            exit_code = ExitCode::FAILURE;
        }
        Err(panicked) => {
            eprintln!("error: spans may have been lost: the shutdown failed: {panicked}");
            exit_code = ExitCode::FAILURE;
        }
    }
    // Bounded: the exporter sets no timeout of its own, and a stopped network would hang here.
    match tokio::time::timeout(SENDING_TIMEOUT, sending).await {
        Ok(Ok(())) => exit_code,
        Ok(Err(panicked)) => {
            eprintln!("error: spans may have been lost: the exporter failed: {panicked}");
            ExitCode::FAILURE
        }
        Err(_) => {
            eprintln!(
                "error: spans not sent to Cloud Trace within {} s were dropped",
                SENDING_TIMEOUT.as_secs()
            );
            ExitCode::FAILURE
        }
    }
}

/// The project the spans are written to: `GOOGLE_CLOUD_PROJECT` when set (it comes first for
/// Google's own client libraries too), otherwise the one the credentials name.
async fn project_id(
    credentials: &dyn TokenProvider,
    deadline: Instant,
) -> Result<Arc<str>, StartupError> {
    if let Some(project) = read("GOOGLE_CLOUD_PROJECT")? {
        return Ok(project.into());
    }
    match timeout_at(deadline, credentials.project_id()).await {
        Ok(Ok(project)) if !project.is_empty() => Ok(project),
        _ => Err(StartupError(
            "the credentials name no Google Cloud project: set GOOGLE_CLOUD_PROJECT to the \
             project's id"
                .to_owned(),
        )),
    }
}

/// What to do when no credentials could be used.
fn credentials_error(error: gcp_auth::Error) -> StartupError {
    if let gcp_auth::Error::Io(context, _) = &error {
        if context.contains("root certificates") {
            return StartupError(format!(
                "{}: install the system's CA certificates (Debian: ca-certificates), or name a \
                 file of them in SSL_CERT_FILE",
                with_causes(&error)
            ));
        }
    }
    if let Ok(path) = std::env::var("GOOGLE_APPLICATION_CREDENTIALS") {
        // gcp_auth stops at a key file it cannot use rather than trying the next source.
        return StartupError::invalid("GOOGLE_APPLICATION_CREDENTIALS", &path, with_causes(&error));
    }
    match error {
        // The file `gcloud auth application-default login` writes is there, but did not work
        // (gcp_auth then tries the next sources, and reports that none worked).
        gcp_auth::Error::NoAuthMethod(_, _, from_gcloud_login)
            if !is_not_found(&from_gcloud_login) =>
        {
            StartupError(format!(
                "the credentials of `gcloud auth application-default login` did not work: {}",
                with_causes(&from_gcloud_login)
            ))
        }
        gcp_auth::Error::NoAuthMethod(..) => StartupError(
            "no Google Cloud credentials found: run `gcloud auth application-default login`, or \
             set GOOGLE_APPLICATION_CREDENTIALS to a service-account key file"
                .to_owned(),
        ),
        other => StartupError(format!(
            "cannot look for Google Cloud credentials: {}",
            with_causes(&other)
        )),
    }
}

/// Why the first token did not come: Google said no, or Google could not be reached.
fn token_error(error: gcp_auth::Error) -> StartupError {
    match error {
        // gcp_auth keeps Google's answer to itself: this is all it says of a refusal.
        gcp_auth::Error::Str(_) => StartupError(format!(
            "Google refused the credentials ({error}): check GOOGLE_APPLICATION_CREDENTIALS, or \
             renew them with `gcloud auth application-default login`"
        )),
        other => StartupError(format!(
            "cannot get an access token from Google: {}: check the network",
            with_causes(&other)
        )),
    }
}

fn is_not_found(error: &gcp_auth::Error) -> bool {
    matches!(error, gcp_auth::Error::Io(_, io_error) if io_error.kind() == io::ErrorKind::NotFound)
}

/// An error and its causes, in one line: `HTTP request failed: client error (Connect): ...`.
fn with_causes(error: &dyn Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(error) = cause {
        let said = error.to_string();
        if !text.contains(&said) {
            text = format!("{text}: {said}");
        }
        cause = error.source();
    }
    text
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
