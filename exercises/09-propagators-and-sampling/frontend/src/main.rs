// Exercise 09: made from steps/09-propagators-and-sampling by `cargo run -p workshop starters`.
// Write what each TODO asks for, then `cargo run -p workshop check 09` says what the trace
// still lacks. `cargo run -p workshop reset 09` gives you this starter back.
//! Step 09, frontend: which trace headers it reads and sends, and which traces it keeps, are
//! chosen the standard way, by `OTEL_PROPAGATORS` and `OTEL_TRACES_SAMPLER` (with
//! `OTEL_TRACES_SAMPLER_ARG`), as every OpenTelemetry SDK reads them. Otherwise as step 08: the
//! HTTP client's own spans, OTLP export.

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
    trace::{SpanKind, Status, TraceContextExt, Tracer, TracerProvider},
};
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use opentelemetry_sdk::{
    Resource,
    trace::{SdkTracer, SdkTracerProvider, SpanExporter},
};
use otel_env::Propagators;
use step_support::{BackendError, FrontendConfig};

mod client_spans;
// NEW: OTEL_PROPAGATORS, read as the specification says (the backend uses this file too).
mod otel_env;
// The OTLP exporter, as in step 07 (the backend uses this file too).
mod otlp;

#[tokio::main]
async fn main() -> ExitCode {
    // Plumbing (step-support): bad configuration ends the program here, with exit code 2.
    let config = FrontendConfig::from_env().unwrap_or_else(|error| error.exit());
    // ANCHOR: from_env
    // NEW: the trace header formats (OTEL_PROPAGATORS, default `tracecontext,baggage`), read as
    // the specification says: no Rust OpenTelemetry crate reads this variable. An unknown
    // propagator is reported once. (The sampler, OTEL_TRACES_SAMPLER: see `init_tracer`.)
    let propagators = Propagators::from_env().unwrap_or_else(|error| error.exit());
    // ANCHOR_END: from_env
    let listener = step_support::bind(&config.listen_addr)
        .await
        .unwrap_or_else(|error| error.exit());

    // Spans go out over OTLP, as in step 07.
    otlp::print_opentelemetry_warnings();
    let exporter = otlp::exporter().unwrap_or_else(|error| otlp::exit_unusable(error));
    let provider = init_tracer(exporter);
    // ANCHOR: todo_install
    // TODO: Install the propagators `OTEL_PROPAGATORS` names (`propagators.build()`) as the
    // global propagator, which the handlers read. (The backend's is written already.)
    // ANCHOR_END: todo_install

    // The HTTP client reports its own work, under a tracer of its own (client_spans.rs).
    let client_tracer = provider.tracer("http-client");
    let client_builder =
        client_spans::instrument(config.backend_client_builder(), client_tracer.clone());
    let client = step_support::build_client(client_builder).unwrap_or_else(|error| error.exit());
    let app = Frontend {
        client,
        backend_url: config.backend_url,
        tracer: provider.tracer("OT-tracing-demo"),
        client_tracer,
    };
    step_support::serve(listener, router(app)).await;

    // Send the last spans before exiting.
    otlp::shut_down(provider, step_support::shutdown_time_left())
}

// ANCHOR: init_tracer
/// The tracer provider: who this service is, which traces to keep, where spans go.
fn init_tracer(exporter: impl SpanExporter + 'static) -> SdkTracerProvider {
    let resource = Resource::builder()
        .with_service_name(step_support::service_name("frontend"))
        .build();
    SdkTracerProvider::builder()
        .with_resource(resource)
        // ANCHOR: todo_sampler
        // TODO: Let the operator choose the sampler: the SDK reads `OTEL_TRACES_SAMPLER` (and
        // `OTEL_TRACES_SAMPLER_ARG`) itself, but only when the program sets no sampler of its
        // own.
        // Always on, as steps 02 to 08 set it, whatever the variable says: replace it.
        .with_sampler(opentelemetry_sdk::trace::Sampler::AlwaysOn)
        // ANCHOR_END: todo_sampler
        // Spans are collected and sent in batches, off the request's path (every 5 s, or
        // sooner when 512 are waiting; `OTEL_BSP_*` variables change that).
        .with_batch_exporter(exporter)
        .build()
}
// ANCHOR_END: init_tracer

/// What every request handler needs.
#[derive(Clone)]
struct Frontend {
    client: reqwest::Client,
    backend_url: reqwest::Url,
    tracer: SdkTracer,
    /// The tracer of the HTTP client's own spans.
    client_tracer: SdkTracer,
}

fn router(app: Frontend) -> Router {
    Router::new()
        .route("/", get(handle_request))
        .with_state(app)
}

async fn handle_request(
    State(app): State<Frontend>,
    incoming_headers: HeaderMap,
) -> Result<&'static str, BackendError> {
    // The caller's trace, if it sent one. Missing or unreadable headers give an empty
    // context, and `incoming call` is then the root of a new trace, as before. The caller's
    // baggage is not taken in: it comes from the internet, and would go on to every service.
    let caller_cx = global::get_text_map_propagator(|propagator| {
        propagator.extract(&HeaderExtractor(&incoming_headers))
    })
    .with_cleared_baggage();
    let tracer = &app.tracer;
    // The request's span is the server side of the user's call: a child of the caller's span,
    // or the root.
    let span = tracer
        .span_builder("incoming call")
        .with_kind(SpanKind::Server)
        .start_with_context(tracer, &caller_cx);
    // The request's context holds its root span; spans started from it are its children.
    // It also holds baggage, entries that travel with the trace to every service called.
    let cx = caller_cx
        .with_span(span)
        .with_baggage([KeyValue::new("demo.origin", "frontend")]);

    // The backend call as a child span: how long the backend took, as the frontend saw it.
    // With the HTTP semantic-convention attributes of the request (method, server).
    let backend_span = tracer
        .span_builder("backend call")
        .with_kind(SpanKind::Client)
        .with_attributes(client_spans::request_attributes("GET", &app.backend_url))
        .start_with_context(tracer, &cx);
    // Put the backend call's span context and the baggage into the request's headers.
    let backend_cx = cx.with_span(backend_span);
    let mut headers = HeaderMap::new();
    global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&backend_cx, &mut HeaderInjector(&mut headers));
    });
    let backend_span = backend_cx.span();
    backend_span.add_event("making backend call", vec![]);

    eprintln!("Sending request...");
    let result = call_backend(&app, &backend_cx, headers).await;
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

/// Sends the request and reads the whole answer, so the call is over when this returns.
/// Sending and reading are spans of their own, children of `backend call` (in `backend_cx`),
/// and the answer's attributes go on `backend call`.
async fn call_backend(
    app: &Frontend,
    backend_cx: &Context,
    headers: HeaderMap,
) -> Result<StatusCode, BackendError> {
    let request = app.client.get(app.backend_url.clone()).headers(headers);
    let response = client_spans::send(&app.client_tracer, backend_cx, request).await?;
    backend_cx
        .span()
        .set_attributes(client_spans::response_attributes(&response));
    let status = response.status();
    // Read the body even from an error answer: the connection can then be reused.
    client_spans::read_body(&app.client_tracer, backend_cx, response).await?;
    if !status.is_success() {
        return Err(BackendError::BadStatus(status));
    }
    Ok(status)
}
