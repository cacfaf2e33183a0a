// Exercise 07: made from steps/07-otlp by `cargo run -p workshop starters`.
// Write what each TODO asks for, then `cargo run -p workshop check 07` says what the trace
// still lacks. `cargo run -p workshop reset 07` gives you this starter back.
//! Step 07, frontend: the spans go out over OTLP, the protocol that replaces step 06's
//! deprecated Stackdriver exporter and that most tracing back ends accept. By default to
//! `http://localhost:4318`, where `cargo run -p trace-viewer` draws each trace in the terminal,
//! or Jaeger or an OpenTelemetry Collector listens; the standard `OTEL_EXPORTER_OTLP_*`
//! variables send them elsewhere (to Google Cloud, through a Collector: `deploy/`). As in step
//! 06, the frontend continues a trace its caller started, now from the W3C `traceparent` only.

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
    KeyValue,
    baggage::BaggageExt,
    global,
    propagation::TextMapCompositePropagator,
    trace::{SpanKind, Status, TraceContextExt, Tracer, TracerProvider},
};
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use opentelemetry_sdk::{
    Resource,
    propagation::{BaggagePropagator, TraceContextPropagator},
    trace::{Sampler, SdkTracer, SdkTracerProvider, SpanExporter},
};
use step_support::{BackendError, FrontendConfig};

// NEW: the OTLP exporter, the warnings of the OpenTelemetry crates, and the shutdown that sends
// the last batch (the backend uses this file too).
mod otlp;

#[tokio::main]
async fn main() -> ExitCode {
    // Plumbing (step-support): bad configuration ends the program here, with exit code 2.
    let config = FrontendConfig::from_env().unwrap_or_else(|error| error.exit());
    let client = config.backend_client().unwrap_or_else(|error| error.exit());
    let listener = step_support::bind(&config.listen_addr)
        .await
        .unwrap_or_else(|error| error.exit());

    // ANCHOR: connect
    // NEW: spans go out over OTLP, to where the OTEL_EXPORTER_OTLP_* variables say. The
    // exporter reports failed exports only as `tracing` events: print them, or they go unseen.
    otlp::print_opentelemetry_warnings();
    let exporter = otlp::exporter().unwrap_or_else(|error| otlp::exit_unusable(error));
    let provider = init_tracer(exporter);
    init_propagator();
    let app = Frontend {
        client,
        backend_url: config.backend_url,
        tracer: provider.tracer("OT-tracing-demo"),
    };
    step_support::serve(listener, router(app)).await;

    // ANCHOR: todo_shutdown
    // TODO: Shut the provider down before the program exits, so that the last batch is sent:
    // the batch processor sends every 5 s, and a request's spans wait for it. `otlp` has the
    // shutdown, with its exit code.
    // Exits without shutting the provider down, as when it is kept in a global: the last
    // batch is lost. Replace it.
    std::mem::forget(provider);
    ExitCode::SUCCESS
    // ANCHOR_END: todo_shutdown
    // ANCHOR_END: connect
}

// ANCHOR: init_tracer
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
        // ANCHOR: todo_batch
        // TODO: Install the OTLP exporter in the provider, behind a batch processor: spans
        // are then collected and sent in batches, off the request's path.
        // ANCHOR_END: todo_batch
        .build()
}
// ANCHOR_END: init_tracer

/// How context crosses the wire: the W3C Trace Context headers (`traceparent`, `tracestate`)
/// and the W3C Baggage header (`baggage`), to the backend, and from the frontend's caller,
/// which may send its trace in `traceparent` (Google Cloud's load balancers do; step 06 also
/// read Google's own `X-Cloud-Trace-Context`). Installed globally.
fn init_propagator() {
    global::set_text_map_propagator(TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ]));
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
    // It also holds baggage, entries that travel with the trace to every service called. It
    // is the caller's context, which also remembers what the caller said of its trace.
    let cx = caller_cx
        .with_span(span)
        .with_baggage([KeyValue::new("demo.origin", "frontend")]);

    // The backend call as a child span: how long the backend took, as the frontend saw it.
    let backend_span = tracer
        .span_builder("backend call")
        .with_kind(SpanKind::Client)
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
