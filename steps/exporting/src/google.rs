//! Google Cloud credentials, as Google's client libraries find them (Application Default
//! Credentials), tried before the program says it is listening: what goes wrong is said in one
//! line that names what to fix, within [`CONNECT_TIMEOUT`] even on a network that drops every
//! packet. Step 06 (Cloud Trace) and step 07 (Google Cloud's OTLP endpoint) both start here.

use std::{error::Error, io, sync::Arc, time::Duration};

use gcp_auth::TokenProvider;
use tokio::time::{Instant, timeout_at};

use step_support::{StartupError, variable as read};

/// The permission the spans need: append spans to the project's traces.
pub const TRACE_APPEND_SCOPE: &str = "https://www.googleapis.com/auth/trace.append";
/// The permission metrics need (step 11): write the project's time series.
pub const MONITORING_WRITE_SCOPE: &str = "https://www.googleapis.com/auth/monitoring.write";
/// The permission log records need (step 12): write the project's log entries.
pub const LOGGING_WRITE_SCOPE: &str = "https://www.googleapis.com/auth/logging.write";

/// The most start-up may spend finding credentials, getting a token and connecting. Neither
/// gcp_auth nor the exporters bound their own connections.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(8);

/// Credentials that worked, and the project the spans go to.
pub struct Credentials {
    /// Gives access tokens, renewing them before they expire.
    pub tokens: Arc<dyn TokenProvider>,
    pub project_id: Arc<str>,
}

/// The error for a step of start-up that did not finish by the deadline.
pub fn timed_out(doing: &str) -> StartupError {
    StartupError(format!(
        "no answer from Google within {} s while {doing}: check the network (and that it \
         reaches *.googleapis.com on port 443)",
        CONNECT_TIMEOUT.as_secs()
    ))
}

/// Finds credentials (`GOOGLE_APPLICATION_CREDENTIALS`, then `gcloud auth
/// application-default login`'s file, then the metadata server of a Google Cloud machine, then
/// the `gcloud` command), the project, and gets a first access token with them, by `deadline`.
pub async fn credentials(deadline: Instant) -> Result<Credentials, StartupError> {
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
    let tokens = match timeout_at(deadline, search).await {
        Err(_) => {
            return Err(timed_out(
                "looking for credentials (at the metadata server, or with `gcloud`)",
            ));
        }
        Ok(Err(panicked)) => return Err(StartupError(format!("no credentials: {panicked}"))),
        Ok(Ok(found)) => found.map_err(credentials_error)?,
    };
    let project_id = project_id(tokens.as_ref(), deadline).await?;
    // Try the credentials now: a key Google refuses, or a network that does not reach Google,
    // is then reported here, rather than as spans that never arrive.
    timeout_at(deadline, tokens.token(&[TRACE_APPEND_SCOPE]))
        .await
        .map_err(|_| timed_out("getting an access token"))?
        .map_err(token_error)?;
    Ok(Credentials { tokens, project_id })
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
pub fn with_causes(error: &dyn Error) -> String {
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
