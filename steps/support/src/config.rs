//! Configuration from environment variables, as `steps/CONTRACT.md` lists them. A value that
//! cannot be used is a [`StartupError`] naming the variable and the value; unset and empty mean
//! the default, as the OpenTelemetry specification says of its own variables.

use std::{env, fmt, time::Duration};

use reqwest::Url;

const FRONTEND_LISTEN_ADDR: &str = "127.0.0.1:8080";
const BACKEND_LISTEN_ADDR: &str = "127.0.0.1:8081";
const BACKEND_URL: &str = "http://127.0.0.1:8081/";
const BACKEND_TIMEOUT_MS: u64 = 5000;

/// What the frontend reads from its environment.
#[derive(Debug, Clone)]
pub struct FrontendConfig {
    /// `LISTEN_ADDR`: where to accept requests, `HOST:PORT`.
    pub listen_addr: String,
    /// `BACKEND_URL`: where each request to the frontend sends its backend call.
    pub backend_url: Url,
    /// `BACKEND_TIMEOUT_MS`: the most the frontend waits for the backend's whole answer.
    pub backend_timeout: Duration,
}

/// What the backend reads from its environment.
#[derive(Debug, Clone)]
pub struct BackendConfig {
    /// `LISTEN_ADDR`: where to accept requests, `HOST:PORT`.
    pub listen_addr: String,
}

impl FrontendConfig {
    pub fn from_env() -> Result<Self, StartupError> {
        let listen_addr = read("LISTEN_ADDR")?.unwrap_or_else(|| FRONTEND_LISTEN_ADDR.into());
        let backend_url = match read("BACKEND_URL")? {
            Some(value) => parse_backend_url(&value)?,
            None => Url::parse(BACKEND_URL)
                .map_err(|error| StartupError::invalid("BACKEND_URL", BACKEND_URL, error))?,
        };
        let backend_timeout = match read("BACKEND_TIMEOUT_MS")? {
            Some(value) => parse_timeout(&value)?,
            None => Duration::from_millis(BACKEND_TIMEOUT_MS),
        };
        Ok(Self {
            listen_addr,
            backend_url,
            backend_timeout,
        })
    }

    /// The HTTP client for the backend call. Its timeout covers connecting, sending and reading
    /// the whole answer, so a stuck backend costs at most `BACKEND_TIMEOUT_MS`. The backend is
    /// one known service at `BACKEND_URL`: the client goes there directly, whatever
    /// `http_proxy` says (a company laptop's proxy cannot reach 127.0.0.1), and treats a
    /// redirect as an error to report, not a hop to a place nobody configured.
    pub fn backend_client(&self) -> Result<reqwest::Client, StartupError> {
        build_client(self.backend_client_builder())
    }

    /// The settings of [`Self::backend_client`], for a step that adds its own to them.
    pub fn backend_client_builder(&self) -> reqwest::ClientBuilder {
        reqwest::Client::builder()
            .timeout(self.backend_timeout)
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
    }
}

/// Builds the HTTP client `builder` describes, or says why it cannot.
pub fn build_client(builder: reqwest::ClientBuilder) -> Result<reqwest::Client, StartupError> {
    builder
        .build()
        .map_err(|error| StartupError(format!("cannot create the HTTP client: {error}")))
}

impl BackendConfig {
    pub fn from_env() -> Result<Self, StartupError> {
        Ok(Self {
            listen_addr: read("LISTEN_ADDR")?.unwrap_or_else(|| BACKEND_LISTEN_ADDR.into()),
        })
    }
}

/// The `service.name` to report: `OTEL_SERVICE_NAME` when it is set and not empty, as the
/// OpenTelemetry specification says, and `default` otherwise. A `service.name` inside
/// `OTEL_RESOURCE_ATTRIBUTES` does not replace `default`: the specification ranks what the
/// program sets above that variable (its other attributes still apply).
pub fn service_name(default: &str) -> String {
    env::var("OTEL_SERVICE_NAME")
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// `LISTEN_ADDR`, or `default` when it is unset: for programs other than the two services.
pub fn listen_addr(default: &str) -> Result<String, StartupError> {
    Ok(read("LISTEN_ADDR")?.unwrap_or_else(|| default.to_owned()))
}

/// A yes-or-no variable: `true` or `false`; unset or empty is `false`.
pub fn flag(variable: &'static str) -> Result<bool, StartupError> {
    match read(variable)?.as_deref() {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(StartupError::invalid(
            variable,
            other,
            "expected true or false",
        )),
    }
}

/// A number of milliseconds, such as `200`; unset or empty is 0.
pub fn milliseconds(variable: &'static str) -> Result<Duration, StartupError> {
    match read(variable)? {
        None => Ok(Duration::ZERO),
        Some(value) => value.parse().map(Duration::from_millis).map_err(|_| {
            StartupError::invalid(
                variable,
                &value,
                "expected a whole number of milliseconds, such as 200",
            )
        }),
    }
}

/// A variable's value, or `None` when it is unset or empty.
pub fn read(variable: &str) -> Result<Option<String>, StartupError> {
    match env::var(variable) {
        Ok(value) if value.is_empty() => Ok(None),
        Ok(value) => Ok(Some(value)),
        Err(env::VarError::NotPresent) => Ok(None),
        Err(env::VarError::NotUnicode(value)) => Err(StartupError::invalid(
            variable,
            &value.to_string_lossy(),
            "not valid UTF-8",
        )),
    }
}

fn parse_backend_url(value: &str) -> Result<Url, StartupError> {
    let url = Url::parse(value).map_err(|error| {
        StartupError::invalid(
            "BACKEND_URL",
            value,
            format!("{error}; expected a URL such as {BACKEND_URL}"),
        )
    })?;
    // The steps talk plain HTTP to a backend next to them; they are built without TLS.
    if url.scheme() != "http" {
        return Err(StartupError::invalid(
            "BACKEND_URL",
            value,
            "the scheme must be http (these programs are built without TLS)",
        ));
    }
    if url.host().is_none() {
        return Err(StartupError::invalid(
            "BACKEND_URL",
            value,
            "the URL names no host",
        ));
    }
    Ok(url)
}

fn parse_timeout(value: &str) -> Result<Duration, StartupError> {
    match value.parse::<u64>() {
        Ok(0) | Err(_) => Err(StartupError::invalid(
            "BACKEND_TIMEOUT_MS",
            value,
            "expected a whole number of milliseconds greater than 0, such as 5000",
        )),
        Ok(milliseconds) => Ok(Duration::from_millis(milliseconds)),
    }
}

/// Why the program cannot start: almost always configuration it cannot run with. The message is
/// one line and names the variable and the value, so the reader knows what to fix.
#[derive(Debug)]
pub struct StartupError(pub String);

impl StartupError {
    /// `VARIABLE="value": problem`.
    pub fn invalid(variable: &str, value: &str, problem: impl fmt::Display) -> Self {
        Self(format!("{variable}={value:?}: {problem}"))
    }

    /// Prints the message and ends the program with exit code 2, the usual code for a usage
    /// error. Only for start-up: nothing has been traced yet, so nothing is lost by exiting.
    pub fn exit(&self) -> ! {
        eprintln!("error: {self}");
        std::process::exit(2)
    }
}

impl fmt::Display for StartupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StartupError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_url_must_be_plain_http_with_a_host() {
        assert!(parse_backend_url("http://backend:8081/").is_ok());
        for (value, problem) in [
            ("backend:8081", "the scheme must be http"),
            ("https://backend/", "the scheme must be http"),
            ("not a url", "relative URL without a base"),
            ("http://", "empty host"),
        ] {
            let message = parse_backend_url(value).unwrap_err().to_string();
            assert!(
                message.starts_with(&format!("BACKEND_URL={value:?}: ")),
                "{message}"
            );
            assert!(message.contains(problem), "{message}");
        }
    }

    #[test]
    fn timeout_is_a_positive_number_of_milliseconds() {
        assert_eq!(parse_timeout("250").unwrap(), Duration::from_millis(250));
        for value in ["0", "-1", "5s", "1.5", "99999999999999999999"] {
            let message = parse_timeout(value).unwrap_err().to_string();
            assert!(
                message.starts_with(&format!("BACKEND_TIMEOUT_MS={value:?}: ")),
                "{message}"
            );
        }
    }
}
