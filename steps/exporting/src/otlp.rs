//! The OTLP/HTTP plumbing under step 07's exporter (and every later step's): the standard
//! `OTEL_EXPORTER_OTLP_*` variables, read strictly, and the HTTP client the exporter sends
//! with. What the step teaches (building the exporter from these, and authenticating to
//! Google Cloud) is the step's own `otlp.rs`.

use std::{fmt, process::ExitCode, sync::Arc, time::Duration};

use async_trait::async_trait;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Request, Response};
use http_body_util::{BodyExt, Full};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use opentelemetry_http::{HttpClient, HttpError};
use opentelemetry_otlp::Protocol;
use opentelemetry_sdk::{
    Resource,
    error::OTelSdkResult,
    logs::{LogBatch, LogExporter},
    metrics::{Temporality, data::ResourceMetrics, exporter::PushMetricExporter},
    trace::{SpanData, SpanExporter},
};
use step_support::{StartupError, flag, variable as read};
use tokio::{runtime::Handle, sync::oneshot};

use crate::errors::{delivery, warn};

/// Where spans go when no variable says otherwise: the OTLP/HTTP default.
pub const DEFAULT_ENDPOINT: &str = "http://localhost:4318";
/// How long one export may take, unless `OTEL_EXPORTER_OTLP_TIMEOUT` says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The exporter's settings, from the environment, as the OpenTelemetry specification names the
/// variables: `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` (used as it is) or
/// `OTEL_EXPORTER_OTLP_ENDPOINT` (`/v1/traces` is added), `..._PROTOCOL` (`http/protobuf` or
/// `http/json`), `..._HEADERS`, `..._TIMEOUT` (milliseconds); each `TRACES_` one wins over the
/// general one. (The exporter reads these itself, but more leniently: it takes an endpoint
/// without a scheme and fails each export to it, and skips a protocol, a header or a
/// compression it cannot use with a warning at most. Here each is a [`StartupError`] naming
/// it.) The headers are left for the exporter to read, once checked.
#[derive(Debug, Clone)]
pub struct OtlpSettings {
    /// What is sent: spans, unless [`OtlpSettings::for_signal`] said otherwise.
    pub signal: Signal,
    /// `GOOGLE_CLOUD_OTLP=true`: to Google Cloud's OTLP endpoint, with Google's credentials.
    pub to_google: bool,
    pub endpoint: reqwest::Url,
    pub protocol: Protocol,
    pub timeout: Duration,
}

impl OtlpSettings {
    /// The settings, with `google_endpoint` as the default base URL when `GOOGLE_CLOUD_OTLP`
    /// is `true` (and [`DEFAULT_ENDPOINT`] otherwise).
    pub fn from_env(google_endpoint: &str) -> Result<OtlpSettings, StartupError> {
        Self::for_signal(Signal::Traces, google_endpoint)
    }

    /// As [`OtlpSettings::from_env`], for `signal`: its own variables
    /// (`OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`, say) win over the general ones, and its path
    /// (`/v1/metrics`) is added to `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub fn for_signal(signal: Signal, google_endpoint: &str) -> Result<OtlpSettings, StartupError> {
        let to_google = flag("GOOGLE_CLOUD_OTLP")?;
        let endpoint = endpoint(
            signal,
            if to_google {
                google_endpoint
            } else {
                DEFAULT_ENDPOINT
            },
        )?;
        let protocol = protocol(signal)?;
        check_headers(signal)?;
        check_compression(signal)?;
        Ok(OtlpSettings {
            signal,
            to_google,
            endpoint,
            protocol,
            timeout: timeout(signal)?,
        })
    }

    /// Where the signal goes, and how: for the program's log.
    pub fn destination(&self) -> String {
        format!("{} (OTLP, http/protobuf)", self.endpoint)
    }
}

/// What an OTLP exporter sends: each signal has its own variables and its own path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Traces,
    Metrics,
    Logs,
}

/// Names a setting of the exporter, for [`Signal::variables`].
macro_rules! setting_variables {
    ($signal:expr, $setting:literal) => {
        match $signal {
            Signal::Traces => [
                concat!("OTEL_EXPORTER_OTLP_TRACES_", $setting),
                concat!("OTEL_EXPORTER_OTLP_", $setting),
            ],
            Signal::Metrics => [
                concat!("OTEL_EXPORTER_OTLP_METRICS_", $setting),
                concat!("OTEL_EXPORTER_OTLP_", $setting),
            ],
            Signal::Logs => [
                concat!("OTEL_EXPORTER_OTLP_LOGS_", $setting),
                concat!("OTEL_EXPORTER_OTLP_", $setting),
            ],
        }
    };
}

impl Signal {
    /// The path OTLP/HTTP gives the signal: `/v1/traces`.
    pub fn path(self) -> &'static str {
        match self {
            Signal::Traces => "/v1/traces",
            Signal::Metrics => "/v1/metrics",
            Signal::Logs => "/v1/logs",
        }
    }

    /// What is sent, in the program's warnings: `spans`.
    pub fn what(self) -> &'static str {
        match self {
            Signal::Traces => "spans",
            Signal::Metrics => "metrics",
            Signal::Logs => "log records",
        }
    }

    /// The keys its warnings are held back by, one for each kind (failed to send, refused):
    /// one signal's failures do not hide another's.
    fn warning_keys(self) -> [&'static str; 2] {
        match self {
            Signal::Traces => ["otlp-send-traces", "otlp-status-traces"],
            Signal::Metrics => ["otlp-send-metrics", "otlp-status-metrics"],
            Signal::Logs => ["otlp-send-logs", "otlp-status-logs"],
        }
    }

    /// `count` of what its exporter is handed: `2 spans`, `1 export of metrics`.
    fn units(self, count: u64) -> String {
        let (one, many) = match self {
            Signal::Traces => ("span", "spans"),
            Signal::Metrics => ("export of metrics", "exports of metrics"),
            Signal::Logs => ("log record", "log records"),
        };
        format!("{count} {}", if count == 1 { one } else { many })
    }

    /// What was handed to its exporter, and what became of it.
    fn counts(self) -> &'static delivery::Counts {
        match self {
            Signal::Traces => &delivery::SPANS,
            Signal::Metrics => &delivery::METRIC_EXPORTS,
            Signal::Logs => &delivery::LOG_RECORDS,
        }
    }
}

/// The first of `variables` that is set, and its value.
fn read_first(
    variables: [&'static str; 2],
) -> Result<Option<(&'static str, String)>, StartupError> {
    for variable in variables {
        if let Some(value) = read(variable)? {
            return Ok(Some((variable, value)));
        }
    }
    Ok(None)
}

/// The URL the signal is sent to.
fn endpoint(signal: Signal, default_base: &str) -> Result<reqwest::Url, StartupError> {
    let [own, general] = setting_variables!(signal, "ENDPOINT");
    let (variable, url) = match (read(own)?, read(general)?) {
        (Some(url), _) => (own, url),
        (None, Some(base)) => (
            general,
            format!("{}{}", base.trim_end_matches('/'), signal.path()),
        ),
        (None, None) => ("", format!("{default_base}{}", signal.path())),
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

fn protocol(signal: Signal) -> Result<Protocol, StartupError> {
    let Some((variable, value)) = read_first(setting_variables!(signal, "PROTOCOL"))? else {
        return Ok(Protocol::HttpBinary);
    };
    match value.as_str() {
        "http/protobuf" => Ok(Protocol::HttpBinary),
        "grpc" | "http/json" => Err(StartupError::invalid(
            variable,
            &value,
            "these programs are built to send protobuf over HTTP only: use http/protobuf \
             (port 4318)",
        )),
        _ => Err(StartupError::invalid(
            variable,
            &value,
            "expected http/protobuf",
        )),
    }
}

/// `key=value` pairs separated by commas, as the specification defines them; the exporter
/// reads them itself, but would skip a malformed one without a word.
fn check_headers(signal: Signal) -> Result<(), StartupError> {
    for variable in setting_variables!(signal, "HEADERS") {
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
fn check_compression(signal: Signal) -> Result<(), StartupError> {
    for variable in setting_variables!(signal, "COMPRESSION") {
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

fn timeout(signal: Signal) -> Result<Duration, StartupError> {
    let Some((variable, value)) = read_first(setting_variables!(signal, "TIMEOUT"))? else {
        return Ok(DEFAULT_TIMEOUT);
    };
    match value.parse::<u64>() {
        Ok(milliseconds) if milliseconds > 0 => Ok(Duration::from_millis(milliseconds)),
        _ => Err(StartupError::invalid(
            variable,
            &value,
            "expected a whole number of milliseconds greater than 0, such as 10000",
        )),
    }
}

/// What a destination asks of each export's headers beyond OTLP's own: credentials, say.
#[async_trait]
pub trait Authorize: Send + Sync {
    /// Adds the headers; an error fails this export (the next one tries again).
    async fn authorize(&self, headers: &mut HeaderMap) -> Result<(), HttpError>;
}

type HyperClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// The thread each export's HTTP request runs on (see [`OtlpTransport`]).
pub const EXPORT_THREAD: &str = "otlp-export";

/// The exporter's HTTP client: HTTP/1.1 and HTTP/2, with TLS (ring, and the system's CA
/// certificates, which `SSL_CERT_FILE` can name) when the endpoint needs it. It goes straight
/// to the endpoint: the `*_proxy` variables are for the web, not for spans.
///
/// The batch processor exports from a thread of its own, outside any tokio runtime, and hyper
/// (and gcp_auth) need one. So each request runs on a small runtime of the transport's own, on
/// one more thread ([`EXPORT_THREAD`]), and the exporter waits for it, at most the export
/// timeout. Not on the program's runtime: its threads serve requests, and exporting spans
/// there would wake them and queue behind (or ahead of) the requests; the export path's cost
/// is then also the CPU time of two threads, the batch processor's and this one. A failure to
/// send, and an answer other than 2xx, are printed as warnings (at most one of each kind per
/// [`WARNING_INTERVAL`](crate::WARNING_INTERVAL)): the exporter would report only "network
/// error", or the status code.
pub struct OtlpTransport {
    http: HyperClient,
    timeout: Duration,
    runtime: Handle,
    authorize: Option<Arc<dyn Authorize>>,
    /// What it sends, for its warnings.
    signal: Signal,
    /// Dropped with the transport: the export thread then ends.
    _stop_export_thread: oneshot::Sender<()>,
}

impl OtlpTransport {
    /// A client for `settings`' endpoint, with its export thread, adding what `authorize` says
    /// to each export.
    pub fn new(
        settings: &OtlpSettings,
        authorize: Option<Arc<dyn Authorize>>,
    ) -> Result<OtlpTransport, StartupError> {
        let cannot_start =
            |error: std::io::Error| StartupError(format!("cannot start {EXPORT_THREAD}: {error}"));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(cannot_start)?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        std::thread::Builder::new()
            .name(EXPORT_THREAD.to_owned())
            .spawn(move || run_export_thread(runtime, stopped))
            .map_err(cannot_start)?;
        Ok(OtlpTransport {
            http: http_client(settings.endpoint.scheme() == "https")?,
            timeout: settings.timeout,
            runtime: handle,
            authorize,
            signal: settings.signal,
            _stop_export_thread: stop,
        })
    }
}

/// The export thread's whole work: the exports spawned on `runtime`, until the transport is
/// dropped. A function of its own, never inlined, so that a profile can tell the thread by it
/// (the cost benchmark counts its instructions as the export path's).
#[inline(never)]
fn run_export_thread(runtime: tokio::runtime::Runtime, stopped: oneshot::Receiver<()>) {
    let _ = runtime.block_on(stopped);
}

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

impl fmt::Debug for OtlpTransport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OtlpTransport")
            .field("authorized", &self.authorize.is_some())
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl HttpClient for OtlpTransport {
    async fn send_bytes(&self, request: Request<Bytes>) -> Result<Response<Bytes>, HttpError> {
        let (http, authorize, timeout) = (self.http.clone(), self.authorize.clone(), self.timeout);
        let (what, [send_key, status_key]) = (self.signal.what(), self.signal.warning_keys());
        let exporting = async move {
            let mut request = request.map(Full::new);
            if let Some(authorize) = authorize {
                authorize.authorize(request.headers_mut()).await?;
            }
            let response = http.request(request).await?;
            let status = response.status();
            let body = response.into_body().collect().await?.to_bytes();
            if !status.is_success() {
                // The exporter reports only the status code; the body says why (Google: which
                // permission or API is missing).
                let reason = String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned();
                let answer = format!("the OTLP endpoint answered {status}: {}", reason.trim());
                warn(status_key, answer);
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
                    send_key,
                    format!("{what} not sent to the OTLP endpoint: {error}"),
                );
            }
            sent
        });
        sending.await?
    }
}

/// An exporter that counts what it is handed and what became of it (spans, log records, metric
/// exports), so that the shutdown can say how much was not delivered ([`shut_down_provider`],
/// [`shut_down_providers`]): the SDK's shutdowns report success even when the last export
/// failed, and know nothing of the earlier ones.
///
/// [`shut_down_provider`]: crate::shut_down_provider
#[derive(Debug)]
pub struct Delivery<E>(pub E);

/// Counts `count` things handed to `signal`'s exporter, exports them, and counts the outcome.
async fn counted(
    signal: Signal,
    count: usize,
    export: impl Future<Output = OTelSdkResult>,
) -> OTelSdkResult {
    let counts = signal.counts();
    counts.handed(count);
    let exported = export.await;
    match &exported {
        Ok(()) => counts.delivered(count),
        Err(error) => counts.failed(count, error.to_string()),
    }
    exported
}

impl<E: SpanExporter> SpanExporter for Delivery<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        counted(Signal::Traces, batch.len(), self.0.export(batch)).await
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.0.set_resource(resource);
    }
}

impl<E: LogExporter> LogExporter for Delivery<E> {
    async fn export(&self, batch: LogBatch<'_>) -> OTelSdkResult {
        let records = batch.iter().count();
        counted(Signal::Logs, records, self.0.export(batch)).await
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.0.set_resource(resource);
    }
}

impl<E: PushMetricExporter> PushMetricExporter for Delivery<E> {
    async fn export(&self, metrics: &ResourceMetrics) -> OTelSdkResult {
        // One snapshot of every metric: counted as one.
        counted(Signal::Metrics, 1, self.0.export(metrics)).await
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn temporality(&self) -> Temporality {
        self.0.temporality()
    }
}

/// One provider's shutdown, for [`shut_down_providers`]: what it sends, and how to shut it
/// down given the time left.
pub struct Shutdown {
    signal: Signal,
    run: Box<dyn FnOnce(Duration) -> Result<(), String> + Send>,
}

impl Shutdown {
    /// `shutdown` is given what is left of the shutdown's budget: `move |time_left|
    /// provider.shutdown_with_timeout(time_left)`.
    pub fn new<E: fmt::Display>(
        signal: Signal,
        shutdown: impl FnOnce(Duration) -> Result<(), E> + Send + 'static,
    ) -> Shutdown {
        Shutdown {
            signal,
            run: Box::new(move |time_left| shutdown(time_left).map_err(|error| error.to_string())),
        }
    }
}

/// Runs the providers' shutdowns at once, each on a thread of its own (they block until their
/// last export is done, and some wait a fixed time whatever they are told: the meter
/// provider's reader waits up to 5 s), and waits for them no longer than what is left of the
/// shutdown's budget ([`step_support::SHUTDOWN_BUDGET`]). A shutdown still running then is left
/// behind: the program exits without it.
///
/// Exit code 1, and a line for each signal that says how much was not delivered and why, when
/// something was not: its shutdown failed or ran out of time, or an export failed (counted by
/// [`Delivery`]).
pub async fn shut_down_providers(shutdowns: Vec<Shutdown>) -> ExitCode {
    let time_left = step_support::shutdown_time_left();
    let deadline = tokio::time::Instant::now() + time_left;
    let mut running = Vec::new();
    for Shutdown { signal, run } in shutdowns {
        let (done, outcome) = oneshot::channel();
        // Not the runtime's blocking pool: the runtime waits for those as it ends, and a
        // shutdown that overruns the budget must not hold the program up.
        let started = std::thread::Builder::new()
            .name(format!("shutdown of {}", signal.what()))
            .spawn(move || {
                let _ = done.send(run(time_left));
            });
        running.push((signal, started.map(|_| outcome)));
    }
    let mut exit_code = ExitCode::SUCCESS;
    for (signal, started) in running {
        let outcome = match started {
            Err(error) => Err(format!("cannot start its shutdown: {error}")),
            Ok(outcome) => match tokio::time::timeout_at(deadline, outcome).await {
                Ok(Ok(outcome)) => outcome,
                Ok(Err(_)) => Err("its shutdown failed".to_owned()),
                Err(_) => Err(format!(
                    "its shutdown did not finish within the {} s left",
                    time_left.as_secs()
                )),
            },
        };
        let (failed, sending, why) = signal.counts().undelivered();
        let line = match (outcome, failed + sending) {
            (Ok(()), 0) => continue,
            (Ok(()), lost) => format!("{} not delivered: {why}", signal.units(lost)),
            (Err(error), 0) => format!("{} may have been lost: {error}", signal.what()),
            // Its shutdown failed because an export did (the meter provider's says so).
            (Err(error), lost) if sending == 0 => format!(
                "{} not delivered: {why} (its shutdown: {error})",
                signal.units(lost)
            ),
            (Err(error), lost) => format!(
                "at least {} not delivered ({} still being sent when the shutdown ended): \
                 {error}{}",
                signal.units(lost),
                signal.units(sending),
                match why.is_empty() {
                    true => String::new(),
                    false => format!("; the last failure: {why}"),
                }
            ),
        };
        eprintln!("error: {line}");
        exit_code = ExitCode::FAILURE;
    }
    exit_code
}
