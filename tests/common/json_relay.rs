//! A relay that takes OTLP exports as protobuf and passes them on as OTLP/JSON: the steps'
//! exporter sends protobuf only (its `http-json` feature is off in this workspace, since with it
//! on JSON becomes every exporter's default), and the viewer must still read JSON, which other
//! SDKs send (the browser's, for one).

use axum::{
    Router,
    body::Bytes,
    extract::{Path, State},
    http::StatusCode,
    routing::post,
};
use opentelemetry_proto::tonic::collector::{
    logs::v1::ExportLogsServiceRequest, metrics::v1::ExportMetricsServiceRequest,
    trace::v1::ExportTraceServiceRequest,
};
use prost::Message;

/// Starts a relay to `target` (an OTLP/HTTP base URL), and returns its own base URL.
pub async fn start(target: String) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let app = Router::new()
        .route("/v1/{signal}", post(relay))
        .with_state(target);
    tokio::spawn(async move { axum::serve(listener, app).await });
    endpoint
}

async fn relay(
    State(target): State<String>,
    Path(signal): Path<String>,
    body: Bytes,
) -> StatusCode {
    let json = match signal.as_str() {
        "traces" => ExportTraceServiceRequest::decode(body).map(|r| serde_json::to_vec(&r)),
        "metrics" => ExportMetricsServiceRequest::decode(body).map(|r| serde_json::to_vec(&r)),
        "logs" => ExportLogsServiceRequest::decode(body).map(|r| serde_json::to_vec(&r)),
        _ => return StatusCode::NOT_FOUND,
    };
    let Ok(Ok(json)) = json else {
        return StatusCode::BAD_REQUEST;
    };
    let answer = reqwest::Client::new()
        .post(format!("{target}/v1/{signal}"))
        .header("content-type", "application/json")
        .body(json)
        .send()
        .await;
    match answer {
        Ok(answer) => answer.status(),
        Err(_) => StatusCode::BAD_GATEWAY,
    }
}
