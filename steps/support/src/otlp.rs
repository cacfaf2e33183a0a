//! Step 07's exporter: OTLP over HTTP, the protocol every tracing back end now accepts, set up
//! from the standard `OTEL_EXPORTER_OTLP_*` variables, and checked before the program says it
//! is listening. By default it sends to `http://localhost:4318`, where `cargo run -p
//! trace-viewer`, Jaeger or an OpenTelemetry Collector listens. With `GOOGLE_CLOUD_OTLP=true` it
//! sends to Google Cloud's OTLP endpoint instead, the successor of step 06's exporter: each
//! request carries an access token from Application Default Credentials (renewed before it
//! expires) and the project, and no collector is needed.

use std::{fmt, process::ExitCode, sync::Arc, time::Duration};

use async_trait::async_trait;
use bytes::Bytes;
use http::{HeaderValue, Request, Response, header::AUTHORIZATION};
use http_body_util::{BodyExt, Full};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use opentelemetry::KeyValue;
use opentelemetry_http::{HttpClient, HttpError};
use opentelemetry_otlp::{Protocol, RetryPolicy, SpanExporter, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::trace::SdkTracerProvider;
use tokio::{runtime::Handle, time::Instant};

pub use crate::exporting::print_exporter_errors;
use crate::{
    StartupError,
    config::{flag, read},
    exporting::{shut_down_provider, warn},
    google::{self, CONNECT_TIMEOUT, TRACE_APPEND_SCOPE},
};

/// Where spans go when no variable says otherwise: the OTLP/HTTP default.
pub const DEFAULT_ENDPOINT: &str = "http://localhost:4318";
/// Google Cloud's OTLP endpoint (the Telemetry API).
pub const GOOGLE_ENDPOINT: &str = "https://telemetry.googleapis.com";
/// How long one export may take, unless `OTEL_EXPORTER_OTLP_TIMEOUT` says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the shutdown may take to export the last batch: one export at the default timeout,
/// and a little more. (The SDK's own default, 5 s, is shorter than one export may take.)
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(12);

/// Shuts the provider down: the batch processor exports its last batch, and the exporter has
/// sent it (or given up) when this returns, within [`SHUTDOWN_TIMEOUT`].
pub async fn shut_down(provider: SdkTracerProvider) -> ExitCode {
    shut_down_provider(move || provider.shutdown_with_timeout(SHUTDOWN_TIMEOUT)).await
}

/// A configured exporter, and what the resource must say for its destination.
pub struct Otlp {
    pub exporter: SpanExporter,
    /// Attributes the destination needs on the resource: Google Cloud's `gcp.project_id`.
    pub resource_attributes: Vec<KeyValue>,
    /// Where the spans go, and how: for the program's log.
    pub destination: String,
}

/// Builds the exporter from the environment, as the OpenTelemetry specification names the
/// variables: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (used as it is) or
/// `OTEL_EXPORTER_OTLP_ENDPOINT` (`/v1/traces` is added), `..._PROTOCOL` (`http/protobuf` or
/// `http/json`), `..._HEADERS`, `..._TIMEOUT` (milliseconds); each `TRACES_` one wins over the
/// general one. A value it cannot use is a [`StartupError`] naming it. (The crate reads these
/// itself, but more leniently: it takes an endpoint without a scheme and fails each export to
/// it, and skips a protocol, a header or a compression it cannot use with a warning at most.)
/// With `GOOGLE_CLOUD_OTLP=true`, credentials are found and tried first (see
/// [`google::credentials`]).
pub async fn connect() -> Result<Otlp, StartupError> {
    let to_google = flag("GOOGLE_CLOUD_OTLP")?;
    let endpoint = endpoint(if to_google {
        GOOGLE_ENDPOINT
    } else {
        DEFAULT_ENDPOINT
    })?;
    let protocol = protocol()?;
    check_headers()?;
    check_compression()?;
    let timeout = timeout()?;

    let google = if to_google {
        let deadline = Instant::now() + CONNECT_TIMEOUT;
        Some(google::credentials(deadline).await?)
    } else {
        None
    };
    let http = http_client(endpoint.scheme() == "https")?;
    let resource_attributes = match &google {
        Some(google) => vec![KeyValue::new(
            "gcp.project_id",
            google.project_id.to_string(),
        )],
        None => Vec::new(),
    };
    let client = OtlpHttpClient {
        http,
        timeout,
        runtime: Handle::current(),
        google: google.map(Arc::new),
    };
    let exporter = SpanExporter::builder()
        .with_http()
        .with_http_client(client)
        .with_endpoint(endpoint.as_str())
        .with_protocol(protocol)
        .with_timeout(timeout)
        // The default since 0.33, spelled out: an export the endpoint answers 429, 502, 503 or
        // 504, or that fails on the network, is sent again up to 3 times, after 0.1 s, 0.2 s,
        // 0.4 s and a little jitter (a `Retry-After` is honoured), all within the timeout.
        .with_retry_policy(RetryPolicy::recommended())
        .build()
        .map_err(|error| StartupError(format!("cannot set up the OTLP exporter: {error}")))?;
    let protocol_name = match protocol {
        Protocol::HttpJson => "http/json",
        _ => "http/protobuf",
    };
    Ok(Otlp {
        exporter,
        resource_attributes,
        destination: format!("{endpoint} (OTLP, {protocol_name})"),
    })
}

/// The URL the spans are sent to.
fn endpoint(default_base: &str) -> Result<reqwest::Url, StartupError> {
    let (variable, url) = match (
        read("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")?,
        read("OTEL_EXPORTER_OTLP_ENDPOINT")?,
    ) {
        (Some(url), _) => ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", url),
        (None, Some(base)) => (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("{}/v1/traces", base.trim_end_matches('/')),
        ),
        (None, None) => ("", format!("{default_base}/v1/traces")),
    };
    let value = std::env::var(variable).unwrap_or_default();
    let parsed = reqwest::Url::parse(&url).map_err(|error| {
        StartupError::invalid(
            variable,
            &value,
            format!("{error}; expected a URL such as {DEFAULT_ENDPOINT}"),
        )
    })?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host().is_none() {
        return Err(StartupError::invalid(
            variable,
            &value,
            format!("expected an http or https URL with a host, such as {DEFAULT_ENDPOINT}"),
        ));
    }
    Ok(parsed)
}

fn protocol() -> Result<Protocol, StartupError> {
    let (variable, value) = match (
        read("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")?,
        read("OTEL_EXPORTER_OTLP_PROTOCOL")?,
    ) {
        (Some(value), _) => ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", value),
        (None, Some(value)) => ("OTEL_EXPORTER_OTLP_PROTOCOL", value),
        (None, None) => return Ok(Protocol::HttpBinary),
    };
    match value.as_str() {
        "http/protobuf" => Ok(Protocol::HttpBinary),
        "http/json" => Ok(Protocol::HttpJson),
        "grpc" => Err(StartupError::invalid(
            variable,
            &value,
            "these programs send OTLP over HTTP only: use http/protobuf (port 4318)",
        )),
        _ => Err(StartupError::invalid(
            variable,
            &value,
            "expected http/protobuf or http/json",
        )),
    }
}

/// `key=value` pairs separated by commas, as the specification defines them; the exporter
/// reads them itself, but would skip a malformed one without a word.
fn check_headers() -> Result<(), StartupError> {
    for variable in [
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
        "OTEL_EXPORTER_OTLP_HEADERS",
    ] {
        if let Some(value) = read(variable)? {
            for pair in value.split(',').filter(|pair| !pair.trim().is_empty()) {
                let valid = pair.split_once('=').is_some_and(|(key, header_value)| {
                    http::HeaderName::try_from(key.trim()).is_ok()
                        && HeaderValue::try_from(header_value.trim()).is_ok()
                });
                if !valid {
                    return Err(StartupError::invalid(
                        variable,
                        &value,
                        format!(
                            "{pair:?} is not a header: expected key=value pairs separated by commas"
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// These programs send uncompressed: the crate's compression features are not built.
fn check_compression() -> Result<(), StartupError> {
    for variable in [
        "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
        "OTEL_EXPORTER_OTLP_COMPRESSION",
    ] {
        match read(variable)?.as_deref() {
            None | Some("none") => {}
            Some(other) => {
                return Err(StartupError::invalid(
                    variable,
                    other,
                    "these programs send uncompressed: use none, or unset it",
                ));
            }
        }
    }
    Ok(())
}

fn timeout() -> Result<Duration, StartupError> {
    for variable in [
        "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
        "OTEL_EXPORTER_OTLP_TIMEOUT",
    ] {
        if let Some(value) = read(variable)? {
            return match value.parse::<u64>() {
                Ok(milliseconds) if milliseconds > 0 => Ok(Duration::from_millis(milliseconds)),
                _ => Err(StartupError::invalid(
                    variable,
                    &value,
                    "expected a whole number of milliseconds greater than 0, such as 10000",
                )),
            };
        }
    }
    Ok(DEFAULT_TIMEOUT)
}

type HyperClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// An HTTP/1.1 and HTTP/2 client, with TLS (ring, and the system's CA certificates, which
/// `SSL_CERT_FILE` can name) when the endpoint needs it. It goes straight to the endpoint: the
/// `*_proxy` variables are for the web, not for spans.
fn http_client(with_tls: bool) -> Result<HyperClient, StartupError> {
    let mut roots = rustls::RootCertStore::empty();
    if with_tls {
        let found = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(found.certs);
        if roots.is_empty() {
            return Err(StartupError(
                "no CA certificates found for the https endpoint: install the system's CA \
                 certificates (Debian: ca-certificates), or name a file of them in SSL_CERT_FILE"
                    .to_owned(),
            ));
        }
    }
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|error| StartupError(format!("cannot set up TLS: {error}")))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let connector = HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_all_versions()
        .build();
    Ok(Client::builder(TokioExecutor::new()).build(connector))
}

/// The exporter's HTTP client. The batch processor exports from a thread of its own, outside
/// the tokio runtime that hyper and gcp_auth need, so each request runs on the runtime and
/// the exporter waits for it. For Google, each request gets a current access token (gcp_auth
/// renews it before it expires) and names the project.
struct OtlpHttpClient {
    http: HyperClient,
    /// The most one export may take, answer included.
    timeout: Duration,
    runtime: Handle,
    google: Option<Arc<google::Credentials>>,
}

impl fmt::Debug for OtlpHttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtlpHttpClient")
            .field("to_google", &self.google.is_some())
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl HttpClient for OtlpHttpClient {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let (http, google, timeout) = (self.http.clone(), self.google.clone(), self.timeout);
        let exporting = async move {
            let mut request = request.map(Full::new);
            // ANCHOR: google_auth
            if let Some(google) = google {
                let token = google.tokens.token(&[TRACE_APPEND_SCOPE]).await?;
                let mut bearer = HeaderValue::try_from(format!("Bearer {}", token.as_str()))?;
                bearer.set_sensitive(true);
                let headers = request.headers_mut();
                headers.insert(AUTHORIZATION, bearer);
                headers.insert(
                    "x-goog-user-project",
                    HeaderValue::try_from(google.project_id.as_ref())?,
                );
            }
            // ANCHOR_END: google_auth
            let response = http.request(request).await?;
            let status = response.status();
            let body = response.into_body().collect().await?.to_bytes();
            if !status.is_success() {
                // The exporter reports only the status code; the body says why (Google: which
                // permission or API is missing).
                let reason = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
                let answer = format!("the OTLP endpoint answered {status}: {}", reason.trim());
                warn("otlp-status", answer);
            }
            Ok::<_, HttpError>(Response::builder().status(status).body(body)?)
        };
        let sending = self.runtime.spawn(async move {
            let sent = match tokio::time::timeout(timeout, exporting).await {
                Ok(sent) => sent,
                Err(_) => Err(format!("no answer within {} ms", timeout.as_millis()).into()),
            };
            // The exporter reports any failure to send as a "network error" and nothing more.
            if let Err(error) = &sent {
                warn(
                    "otlp-send",
                    format!("spans not sent to the OTLP endpoint: {error}"),
                );
            }
            sent
        });
        sending.await?
    }
}
