// Exercise 02: made from steps/02-root-span by `cargo run -p workshop starters`.
// Write what each TODO asks for, then `cargo run -p workshop check 02` says what the trace
// still lacks. `cargo run -p workshop reset 02` gives you this starter back.
//! Step 02, frontend: the root span. A tracer provider exports every span to stdout, and each
//! request to the frontend is one span, `incoming call`: the latency the user saw.

// Until every TODO is done, some of what the code imports or holds is unused.
#![allow(dead_code, unused_imports, unused_mut, unused_variables)]

use std::process::ExitCode;

use axum::{Router, extract::State, http::StatusCode, routing::get};
use opentelemetry::trace::{Span, SpanKind, Status, Tracer, TracerProvider};
use opentelemetry_sdk::{
    Resource,
    trace::{Sampler, SdkTracer, SdkTracerProvider, SpanExporter},
};
use step_support::{BackendError, FrontendConfig};

#[tokio::main]
async fn main() -> ExitCode {
    // Plumbing (step-support): bad configuration ends the program here, with exit code 2.
    let config = FrontendConfig::from_env().unwrap_or_else(|error| error.exit());
    let client = config.backend_client().unwrap_or_else(|error| error.exit());
    let listener = step_support::bind(&config.listen_addr)
        .await
        .unwrap_or_else(|error| error.exit());

    // ANCHOR: provider
    // NEW: spans are printed to stdout; logs stay on stderr.
    let provider = init_tracer(opentelemetry_stdout::SpanExporter::default());
    let app = Frontend {
        client,
        backend_url: config.backend_url,
        tracer: provider.tracer("OT-tracing-demo"),
    };
    step_support::serve(listener, router(app)).await;
    // ANCHOR_END: provider

    // ANCHOR: shutdown
    // NEW: export what is left and close the exporter. The simple processor has nothing left,
    // but a batching one would: there is no global shutdown, whoever built the provider calls
    // it, or the spans still waiting are lost.
    if let Err(error) = provider.shutdown() {
        eprintln!("error: spans may have been lost: {error}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
    // ANCHOR_END: shutdown
}

// ANCHOR: init_tracer
/// NEW: the tracer provider: who this service is, which traces to keep, where spans go.
fn init_tracer(exporter: impl SpanExporter + 'static) -> SdkTracerProvider {
    // ANCHOR: todo_provider
    // TODO: Build the tracer provider: a resource that names the service `frontend`, the
    // sampler that keeps every trace, and the simple processor, which hands each span to
    // `exporter` the moment it ends.
    // A provider with no exporter, so that the code compiles: its spans go nowhere. Replace it.
    SdkTracerProvider::builder().build()
    // ANCHOR_END: todo_provider
}
// ANCHOR_END: init_tracer

/// What every request handler needs.
#[derive(Clone)]
struct Frontend {
    client: reqwest::Client,
    backend_url: reqwest::Url,
    tracer: SdkTracer,
}

fn router(app: Frontend) -> Router {
    Router::new()
        .route("/", get(handle_request))
        .with_state(app)
}

// ANCHOR: handle_request
async fn handle_request(State(app): State<Frontend>) -> Result<&'static str, BackendError> {
    // ANCHOR: todo_root_span
    // TODO: Start the root span, `incoming call`, of kind server: it covers the whole
    // request, the latency the user saw. Start it with the tracer in `app`.
    // A span that records nothing, so that the code below compiles: replace it.
    let mut span = opentelemetry::trace::noop::NoopSpan::DEFAULT;
    // ANCHOR_END: todo_root_span

    eprintln!("Sending request...");
    let result = call_backend(&app).await;
    match &result {
        Ok(status) => eprintln!("backend answered {status}"),
        Err(error) => {
            eprintln!("backend call failed: {error}");
            // NEW: a failed request is a failed span: an `exception` event, and an error status.
            span.record_error(error);
            span.set_status(Status::error(error.to_string()));
        }
    }
    span.end();
    result.map(|_| "OK")
}
// ANCHOR_END: handle_request

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
