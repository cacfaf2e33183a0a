//! Step 01, backend: answers `GET /` with `OK`. No tracing yet.

use axum::{Router, routing::get};
use step_support::BackendConfig;

#[tokio::main]
async fn main() {
    // Plumbing (step-support): bad configuration ends the program here, with exit code 2.
    let config = BackendConfig::from_env().unwrap_or_else(|error| error.exit());
    let listener = step_support::bind(&config.listen_addr)
        .await
        .unwrap_or_else(|error| error.exit());

    let router = Router::new().route("/", get(handle_request));
    step_support::serve(listener, router).await;
}

async fn handle_request() -> &'static str {
    eprintln!("backend call received");
    "OK"
}
