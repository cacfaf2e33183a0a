// Exercise 04: made from steps/04-w3c-propagation by `cargo run -p workshop starters`.
// Write what each TODO asks for, then `cargo run -p workshop check 04` says what the trace
// still lacks. `cargo run -p workshop reset 04` gives you this starter back.
//! Step 04, frontend: W3C propagation. The request to the backend carries the `backend call`
//! span's context in the W3C `traceparent` header, and the request's baggage in `baggage`, so
//! that the backend can join the trace.

// Until every TODO is done, some of what the code imports or holds is unused.
#![allow(dead_code, unused_imports, unused_mut, unused_variables)]

use std::process::ExitCode;

use axum::{
    Router,
    extract::State,
    http::{HeaderMap, StatusCode},
    routing::get,
};
use opentelemetry::{
    Context, KeyValue,
    baggage::BaggageExt,
    global,
    propagation::TextMapCompositePropagator,
    trace::{SpanKind, Status, TraceContextExt, Tracer, TracerProvider},
};
use opentelemetry_http::HeaderInjector;
use opentelemetry_sdk::{
    Resource,
    propagation::{BaggagePropagator, TraceContextPropagator},
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
    init_propagator();
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

// ANCHOR: init_propagator
/// NEW: how context crosses the wire: the W3C Trace Context headers (`traceparent`,
/// `tracestate`) and the W3C Baggage header (`baggage`). Installed once, globally: the handler
/// below reads it from there, and so do instrumentation crates (reqwest-tracing's middleware,
/// axum-tracing-opentelemetry's layer).
fn init_propagator() {
    // ANCHOR: todo_propagator
    // TODO: Install, globally, the two W3C propagators combined: Trace Context
    // (`traceparent`, `tracestate`), with the SDK's `TraceContextPropagator`, and Baggage
    // (`baggage`), with its `BaggagePropagator`. Until a program installs one, the global
    // propagator writes nothing.
    // ANCHOR_END: todo_propagator
}
// ANCHOR_END: init_propagator

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

async fn handle_request(State(app): State<Frontend>) -> Result<&'static str, BackendError> {
    let tracer = &app.tracer;
    // The root span covers the whole request; it is the server side of the user's call.
    let span = tracer
        .span_builder("incoming call")
        .with_kind(SpanKind::Server)
        .start(tracer);
    // ANCHOR: inject
    // The request's context holds its root span; spans started from it are its children.
    // ANCHOR: todo_baggage
    // TODO: The request's context holds its root span. Give it baggage too: the entry
    // `demo.origin=frontend`, which travels with the trace to every service called.
    let cx = Context::current_with_span(span);
    // ANCHOR_END: todo_baggage

    // The backend call as a child span: how long the backend took, as the frontend saw it.
    let backend_span = tracer
        .span_builder("backend call")
        .with_kind(SpanKind::Client)
        .start_with_context(tracer, &cx);
    // ANCHOR: todo_inject
    // TODO: Put the trace context and the baggage into the request's headers: `backend_cx`
    // holds the `backend call` span and the baggage; the global propagator writes what a
    // context holds into `headers`, which `call_backend` sends.
    let backend_cx = cx.with_span(backend_span);
    let mut headers = HeaderMap::new();
    let backend_span = backend_cx.span();
    // ANCHOR_END: todo_inject
    backend_span.add_event("making backend call", vec![]);
    // ANCHOR_END: inject

    eprintln!("Sending request...");
    let result = call_backend(&app, headers).await;
    if let Err(error) = &result {
        // The failure happened here: the exception event and the error status go on this span.
        backend_span.record_error(error);
        backend_span.set_status(Status::error(error.to_string()));
    }
    // End the child span explicitly, now that the whole answer has been read, so that its
    // duration is the backend call's and nothing else's.
    backend_span.end();

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

// ANCHOR: call_backend
/// Sends the request and reads the whole answer, so the call is over when this returns.
async fn call_backend(app: &Frontend, headers: HeaderMap) -> Result<StatusCode, BackendError> {
    let response = app
        .client
        .get(app.backend_url.clone())
        .headers(headers)
        .send()
        .await?;
    let status = response.status();
    // Read the body even from an error answer: the connection can then be reused.
    response.bytes().await?;
    if !status.is_success() {
        return Err(BackendError::BadStatus(status));
    }
    Ok(status)
}
// ANCHOR_END: call_backend
