//! Step 01, frontend: answers `GET /` by calling the backend, and says `OK` when the backend
//! did. No tracing yet: this is the program the next steps instrument.

use axum::{Router, extract::State, http::StatusCode, routing::get};
use step_support::{BackendError, FrontendConfig};

#[tokio::main]
async fn main() {
    // Plumbing (step-support): bad configuration ends the program here, with exit code 2.
    let config = FrontendConfig::from_env().unwrap_or_else(|error| error.exit());
    let client = config.backend_client().unwrap_or_else(|error| error.exit());
    let listener = step_support::bind(&config.listen_addr)
        .await
        .unwrap_or_else(|error| error.exit());

    let app = Frontend {
        client,
        backend_url: config.backend_url,
    };
    step_support::serve(listener, router(app)).await;
}

/// What every request handler needs.
#[derive(Clone)]
struct Frontend {
    client: reqwest::Client,
    backend_url: reqwest::Url,
}

fn router(app: Frontend) -> Router {
    Router::new()
        .route("/", get(handle_request))
        .with_state(app)
}

async fn handle_request(State(app): State<Frontend>) -> Result<&'static str, BackendError> {
    eprintln!("Sending request...");
    let result = call_backend(&app).await;
    match &result {
        Ok(status) => eprintln!("backend answered {status}"),
        Err(error) => eprintln!("backend call failed: {error}"),
    }
    result.map(|_| "OK")
}

/// Sends the request and reads the whole answer, so the call is over when this returns.
async fn call_backend(app: &Frontend) -> Result<StatusCode, BackendError> {
    let response = app.client.get(app.backend_url.clone()).send().await?;
    let status = response.status();
    // Read the body even from an error answer: the connection can then be reused.
    response.bytes().await?;
    if !status.is_success() {
        return Err(BackendError::BadStatus(status));
    }
    Ok(status)
}
