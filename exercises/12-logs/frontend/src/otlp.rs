//! Step 07's exporter: OTLP over HTTP, the protocol every tracing back end now accepts, set up
//! from the standard `OTEL_EXPORTER_OTLP_*` variables before the program says it is listening.
//! By default it sends to `http://localhost:4318`, where `cargo run -p trace-viewer`, Jaeger or
//! an OpenTelemetry Collector listens. With `GOOGLE_CLOUD_OTLP=true` it sends to Google Cloud's
//! OTLP endpoint instead, the successor of step 06's exporter: each request carries an access
//! token from Application Default Credentials (renewed before it expires) and the project, and
//! no collector is needed. The backend uses this file too.
//!
//! Metrics go the same way, each signal to its own path (`/v1/metrics`), through an exporter of
//! their own, set up from the same variables or their `METRICS_` variants (step 11); NEW: and so
//! do log records (`/v1/logs`, the `LOGS_` variants).
//!
//! Plumbing no chapter teaches comes from `step_exporting`: the variables read strictly (a value
//! that cannot be used stops the program, naming it), the HTTP client with its TLS, the
//! credentials found and tried.

use std::{process::ExitCode, sync::Arc};

use async_trait::async_trait;
use http::{HeaderMap, HeaderValue, header::AUTHORIZATION};
use opentelemetry::KeyValue;
use opentelemetry_http::HttpError;
use opentelemetry_otlp::{
    LogExporter, MetricExporter, RetryPolicy, SpanExporter, WithExportConfig, WithHttpConfig,
};
use opentelemetry_sdk::{
    logs::SdkLoggerProvider, metrics::SdkMeterProvider, trace::SdkTracerProvider,
};
use step_exporting::{
    google::{
        self, CONNECT_TIMEOUT, LOGGING_WRITE_SCOPE, MONITORING_WRITE_SCOPE, TRACE_APPEND_SCOPE,
    },
    otlp::{
        Authorize, Delivery, OtlpSettings, OtlpTransport, Shutdown, Signal, shut_down_providers,
    },
};
use step_support::StartupError;

use crate::metrics::MetricsSettings;
use tokio::time::Instant;

/// Google Cloud's OTLP endpoint (the Telemetry API).
pub const GOOGLE_ENDPOINT: &str = "https://telemetry.googleapis.com";

/// A configured exporter, and what the resource must say for its destination.
pub struct Otlp {
    /// The exporter, counting what it delivers, for the shutdown to report.
    pub exporter: Delivery<SpanExporter>,
    /// The metrics' exporter, unless `OTEL_METRICS_EXPORTER=none`.
    pub metric_exporter: Option<Delivery<MetricExporter>>,
    /// NEW: the log records' exporter, unless `OTEL_LOGS_EXPORTER=none`.
    pub log_exporter: Option<Delivery<LogExporter>>,
    /// Attributes the destination needs on the resource: Google Cloud's `gcp.project_id`.
    pub resource_attributes: Vec<KeyValue>,
    /// Where the spans go, and how: for the program's log.
    pub destination: String,
    /// Where the metrics go.
    pub metrics_destination: Option<String>,
    /// NEW: where the log records go.
    pub logs_destination: Option<String>,
}

// ANCHOR: exporter
/// Builds the exporter from the `OTEL_EXPORTER_OTLP_*` variables: the endpoint, the protocol
/// (`http/protobuf` or `http/json`), the timeout of one export, the headers (which the exporter
/// reads itself). With `GOOGLE_CLOUD_OTLP=true`, credentials are found and tried first. The
/// metrics' exporter too, as `metrics` says; NEW: and the log records', when `send_logs`.
pub async fn connect(metrics: &MetricsSettings, send_logs: bool) -> Result<Otlp, StartupError> {
    let settings = OtlpSettings::from_env(GOOGLE_ENDPOINT)?;
    let metric_settings = match metrics.send {
        true => Some(OtlpSettings::for_signal(Signal::Metrics, GOOGLE_ENDPOINT)?),
        false => None,
    };
    let log_settings = match send_logs {
        true => Some(OtlpSettings::for_signal(Signal::Logs, GOOGLE_ENDPOINT)?),
        false => None,
    };
    let google = match settings.to_google {
        true => Some(Arc::new(
            google::credentials(Instant::now() + CONNECT_TIMEOUT).await?,
        )),
        false => None,
    };
    let resource_attributes = match &google {
        Some(google) => vec![KeyValue::new(
            "gcp.project_id",
            google.project_id.to_string(),
        )],
        None => Vec::new(),
    };
    // Each signal asks Google for its own permission.
    let authorize = |scope: &'static str| {
        google
            .clone()
            .map(|google| Arc::new(GoogleAuth(google, scope)) as Arc<dyn Authorize>)
    };
    let exporter = SpanExporter::builder()
        .with_http()
        .with_http_client(OtlpTransport::new(
            &settings,
            authorize(TRACE_APPEND_SCOPE),
        )?)
        .with_endpoint(settings.endpoint.as_str())
        .with_protocol(settings.protocol)
        .with_timeout(settings.timeout)
        // The default since 0.33, spelled out: an export the endpoint answers 429, 502, 503 or
        // 504, or that fails on the network, is sent again up to 3 times, after 0.1 s, 0.2 s,
        // 0.4 s and a little jitter (a `Retry-After` is honoured), all within the timeout.
        .with_retry_policy(RetryPolicy::recommended())
        .build()
        .map_err(|error| StartupError(format!("cannot set up the OTLP exporter: {error}")))?;
    // The metrics' exporter, built as the spans' is, from its own settings.
    let metric_exporter = match &metric_settings {
        Some(metric_settings) => Some(
            MetricExporter::builder()
                .with_http()
                .with_http_client(OtlpTransport::new(
                    metric_settings,
                    authorize(MONITORING_WRITE_SCOPE),
                )?)
                .with_endpoint(metric_settings.endpoint.as_str())
                .with_protocol(metric_settings.protocol)
                .with_timeout(metric_settings.timeout)
                .with_retry_policy(RetryPolicy::recommended())
                .with_temporality(metrics.temporality)
                .build()
                .map(Delivery)
                .map_err(|error| {
                    StartupError(format!("cannot set up the OTLP metric exporter: {error}"))
                })?,
        ),
        None => None,
    };
    // ANCHOR: log_exporter
    // NEW: the log records' exporter, built the same way.
    let log_exporter = match &log_settings {
        Some(log_settings) => Some(
            LogExporter::builder()
                .with_http()
                .with_http_client(OtlpTransport::new(
                    log_settings,
                    authorize(LOGGING_WRITE_SCOPE),
                )?)
                .with_endpoint(log_settings.endpoint.as_str())
                .with_protocol(log_settings.protocol)
                .with_timeout(log_settings.timeout)
                .with_retry_policy(RetryPolicy::recommended())
                .build()
                .map(Delivery)
                .map_err(|error| {
                    StartupError(format!("cannot set up the OTLP log exporter: {error}"))
                })?,
        ),
        None => None,
    };
    // ANCHOR_END: log_exporter
    Ok(Otlp {
        exporter: Delivery(exporter),
        metric_exporter,
        log_exporter,
        resource_attributes,
        destination: settings.destination(),
        metrics_destination: metric_settings.map(|settings| settings.destination()),
        logs_destination: log_settings.map(|settings| settings.destination()),
    })
}
// ANCHOR_END: exporter

/// Google Cloud's OTLP endpoint takes an OAuth access token, for the signal's permission (its
/// scope), and the project to bill.
struct GoogleAuth(Arc<google::Credentials>, &'static str);

#[async_trait]
impl Authorize for GoogleAuth {
    // ANCHOR: google_auth
    async fn authorize(&self, headers: &mut HeaderMap) -> Result<(), HttpError> {
        // gcp_auth hands out the token it holds, and a new one before that one expires.
        let token = self.0.tokens.token(&[self.1]).await?;
        let mut bearer = HeaderValue::try_from(format!("Bearer {}", token.as_str()))?;
        bearer.set_sensitive(true);
        headers.insert(AUTHORIZATION, bearer);
        headers.insert(
            "x-goog-user-project",
            HeaderValue::try_from(self.0.project_id.as_ref())?,
        );
        Ok(())
    }
    // ANCHOR_END: google_auth
}

// ANCHOR: shut_down
/// Shuts the providers down, at once: the batch processor exports its last batch, the meter
/// provider's reader the last interval's metrics, and NEW: the logger provider's batch
/// processor its last records; all are sent (or given up on) when this returns, within what is
/// left of the shutdown's budget (9 s from the signal, whatever `OTEL_EXPORTER_OTLP_TIMEOUT`
/// says). Exit code 1 if any span, metric export or log record was not delivered.
pub async fn shut_down(
    provider: SdkTracerProvider,
    meter_provider: SdkMeterProvider,
    logger_provider: SdkLoggerProvider,
) -> ExitCode {
    shut_down_providers(vec![
        Shutdown::new(Signal::Traces, move |time_left| {
            provider.shutdown_with_timeout(time_left)
        }),
        // It waits up to 5 s for its last export, whatever time limit it is given.
        Shutdown::new(Signal::Metrics, move |_time_left| meter_provider.shutdown()),
        Shutdown::new(Signal::Logs, move |time_left| {
            logger_provider.shutdown_with_timeout(time_left)
        }),
    ])
    .await
}
// ANCHOR_END: shut_down
