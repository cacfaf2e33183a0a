// Exercise 03: made from steps/03-child-span-and-events by `cargo run -p workshop starters`.
// Write what each TODO asks for, then `cargo run -p workshop check 03` says what the trace
// still lacks. `cargo run -p workshop reset 03` gives you this starter back.
//! Step 03, frontend: a child span and events. Inside the root span `incoming call`, the call to
//! the backend gets its own span, `backend call`, with the event `making backend call`; it ends
//! the moment the backend's answer has been read.

// Until every TODO is done, some of what the code imports or holds is unused.
#![allow(dead_code, unused_imports, unused_mut, unused_variables)]

use std::process::ExitCode;

use axum::{Router, extract::State, http::StatusCode, routing::get};
use opentelemetry::{
    Context,
    trace::{Span, SpanKind, Status, TraceContextExt, Tracer, TracerProvider},
};
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

    // Spans are printed to stdout; logs stay on stderr.
    let provider = init_tracer(opentelemetry_stdout::SpanExporter::default());
    let app = Frontend {
        client,
        backend_url: config.backend_url,
        tracer: provider.tracer("OT-tracing-demo"),
    };
    step_support::serve(listener, router(app)).await;

    // Export what is left and close the exporter. The simple processor has nothing left, but
    // a batching one would: there is no global shutdown, whoever built the provider calls it.
    if let Err(error) = provider.shutdown() {
        eprintln!("error: spans may have been lost: {error}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// The tracer provider: who this service is, which traces to keep, where spans go.
fn init_tracer(exporter: impl SpanExporter + 'static) -> SdkTracerProvider {
    let resource = Resource::builder()
        .with_service_name(step_support::service_name("frontend"))
        .build();
    SdkTracerProvider::builder()
        .with_resource(resource)
        // Keep every trace, for the demonstration. In production keep a fraction, and follow
        // the caller's decision when there is one:
        // Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(0.1))).
        .with_sampler(Sampler::AlwaysOn)
        // The simple processor exports each span the moment it ends, so you see it at once.
        // Production services batch their exports instead, off the request's path.
        .with_simple_exporter(exporter)
        .build()
}

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
    let tracer = &app.tracer;
    // The root span covers the whole request; it is the server side of the user's call.
    let span = tracer
        .span_builder("incoming call")
        .with_kind(SpanKind::Server)
        .start(tracer);
    // NEW: the request's context holds its root span; spans started from it are its children.
    let cx = Context::current_with_span(span);

    // ANCHOR: todo_child_span
    // TODO: Start the span `backend call`, of kind client, as a child of the request's root
    // span: the context `cx` holds the root span, so start the new span with it. Then add the
    // event `making backend call` to the new span.
    // A span that records nothing, so that the code below compiles: replace it.
    let mut backend_span = opentelemetry::trace::noop::NoopSpan::DEFAULT;
    // ANCHOR_END: todo_child_span

    eprintln!("Sending request...");
    let result = call_backend(&app).await;
    if let Err(error) = &result {
        // The failure happened here: the exception event and the error status go on this span.
        backend_span.record_error(error);
        backend_span.set_status(Status::error(error.to_string()));
    }
    // ANCHOR: todo_end_child
    // TODO: End `backend call` here, now that the backend's whole answer has been read. A
    // span lasts from its start to its end: ended here, it measures the backend call and
    // nothing else.
    // ANCHOR_END: todo_end_child

    match &result {
        Ok(status) => eprintln!("backend answered {status}"),
        Err(error) => {
            eprintln!("backend call failed: {error}");
            // The user got an error answer, so the request's span is an error too.
            cx.span().set_status(Status::error(error.to_string()));
        }
    }
    cx.span().end();
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
