//! Step 07's exporter: OTLP over HTTP, the protocol every tracing back end now accepts, set up
//! from the standard `OTEL_EXPORTER_OTLP_*` variables before the program says it is listening.
//! By default it sends to `http://localhost:4318`, where `cargo run -p trace-viewer`, Jaeger or
//! an OpenTelemetry Collector listens. With `GOOGLE_CLOUD_OTLP=true` it sends to Google Cloud's
//! OTLP endpoint instead, the successor of step 06's exporter: each request carries an access
//! token from Application Default Credentials (renewed before it expires) and the project, and
//! no collector is needed. The backend uses this file too.
//!
//! Plumbing no chapter teaches comes from `step_exporting`: the variables read strictly (a value
//! that cannot be used stops the program, naming it), the HTTP client with its TLS, the
//! credentials found and tried.

use std::{process::ExitCode, sync::Arc};

use async_trait::async_trait;
use http::{HeaderMap, HeaderValue, header::AUTHORIZATION};
use opentelemetry::KeyValue;
use opentelemetry_http::HttpError;
use opentelemetry_otlp::{RetryPolicy, SpanExporter, WithExportConfig, WithHttpConfig};
use opentelemetry_sdk::trace::SdkTracerProvider;
use step_exporting::{
    google::{self, CONNECT_TIMEOUT, TRACE_APPEND_SCOPE},
    otlp::{Authorize, Delivery, OtlpSettings, OtlpTransport},
    shut_down_provider,
};
use step_support::StartupError;
use tokio::time::Instant;

/// Google Cloud's OTLP endpoint (the Telemetry API).
pub const GOOGLE_ENDPOINT: &str = "https://telemetry.googleapis.com";

/// A configured exporter, and what the resource must say for its destination.
pub struct Otlp {
    /// The exporter, counting what it delivers, for the shutdown to report.
    pub exporter: Delivery<SpanExporter>,
    /// Attributes the destination needs on the resource: Google Cloud's `gcp.project_id`.
    pub resource_attributes: Vec<KeyValue>,
    /// Where the spans go, and how: for the program's log.
    pub destination: String,
}

// ANCHOR: exporter
/// Builds the exporter from the `OTEL_EXPORTER_OTLP_*` variables: the endpoint, the protocol
/// (`http/protobuf` or `http/json`), the timeout of one export, the headers (which the exporter
/// reads itself). With `GOOGLE_CLOUD_OTLP=true`, credentials are found and tried first.
pub async fn connect() -> Result<Otlp, StartupError> {
    let settings = OtlpSettings::from_env(GOOGLE_ENDPOINT)?;
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
    let authorize = google.map(|google| Arc::new(GoogleAuth(google)) as Arc<dyn Authorize>);
    let exporter = SpanExporter::builder()
        .with_http()
        .with_http_client(OtlpTransport::new(&settings, authorize)?)
        .with_endpoint(settings.endpoint.as_str())
        .with_protocol(settings.protocol)
        .with_timeout(settings.timeout)
        // The default since 0.33, spelled out: an export the endpoint answers 429, 502, 503 or
        // 504, or that fails on the network, is sent again up to 3 times, after 0.1 s, 0.2 s,
        // 0.4 s and a little jitter (a `Retry-After` is honoured), all within the timeout.
        .with_retry_policy(RetryPolicy::recommended())
        .build()
        .map_err(|error| StartupError(format!("cannot set up the OTLP exporter: {error}")))?;
    Ok(Otlp {
        exporter: Delivery(exporter),
        resource_attributes,
        destination: settings.destination(),
    })
}
// ANCHOR_END: exporter

/// Google Cloud's OTLP endpoint takes an OAuth access token, and the project to bill.
struct GoogleAuth(Arc<google::Credentials>);

#[async_trait]
impl Authorize for GoogleAuth {
    // ANCHOR: google_auth
    async fn authorize(&self, headers: &mut HeaderMap) -> Result<(), HttpError> {
        // gcp_auth hands out the token it holds, and a new one before that one expires.
        let token = self.0.tokens.token(&[TRACE_APPEND_SCOPE]).await?;
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

/// Shuts the provider down: the batch processor exports its last batch, and the exporter has
/// sent it (or given up) when this returns, within what is left of the shutdown's budget (9 s
/// from the signal, whatever `OTEL_EXPORTER_OTLP_TIMEOUT` says). Exit code 1 if any span was
/// not delivered.
pub async fn shut_down(provider: SdkTracerProvider) -> ExitCode {
    shut_down_provider(move |time_left| provider.shutdown_with_timeout(time_left)).await
}
