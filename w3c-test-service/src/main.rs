//! The test service the W3C Trace Context test suite drives
//! (<https://github.com/w3c/trace-context/tree/main/test>), with the strict propagator of the
//! hardening chapter, at W3C Trace Context Level 2 in full (the `random` flag on the traces it
//! starts too): `W3cTraceContextPropagator` for what comes in, and it with the W3C Baggage
//! propagator for what goes out. The suite sends `POST /test` with trace headers, good and
//! malformed, and a list of calls to make; this service makes each call with the context it
//! propagates, and the suite checks the headers that arrive. Spans go out over OTLP, as step
//! 07's do, to the trace viewer by default.
//!
//! A tool for testing, not a step: an endpoint that posts to any URL it is given has no place
//! in a production service. It reads the frontend's variables (`LISTEN_ADDR`, by default
//! `127.0.0.1:8080`, and `BACKEND_TIMEOUT_MS`, the most each call may take; the suite names the
//! URLs, so `BACKEND_URL` goes unused) and the `OTEL_EXPORTER_OTLP_*` ones. What one request can
//! cost is bounded: at most [`MAX_CALLS`] calls, each within `BACKEND_TIMEOUT_MS`, reading at
//! most [`MAX_ANSWER_BYTES`] of each answer.

use std::process::ExitCode;

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header::CONTENT_TYPE},
    response::{IntoResponse, Response},
    routing::post,
};
use hardening::{W3cHeaderExtractor, W3cTraceContextPropagator};
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
    propagation::BaggagePropagator,
    trace::{Sampler, SdkTracer, SdkTracerProvider},
};
use serde::Deserialize;
use step_support::{BackendError, FrontendConfig};

// Step 07's OTLP exporter, the very file.
#[path = "../../steps/07-otlp/frontend/src/otlp.rs"]
mod otlp;

/// The most calls one request may ask for (the suite asks for up to 3).
const MAX_CALLS: usize = 32;

/// The most of each call's answer that is read: the URL is the caller's choice, and so is what
/// answers there.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

#[tokio::main]
async fn main() -> ExitCode {
    let config = FrontendConfig::from_env().unwrap_or_else(|error| error.exit());
    let client = config.backend_client().unwrap_or_else(|error| error.exit());
    let listener = step_support::bind(&config.listen_addr)
        .await
        .unwrap_or_else(|error| error.exit());

    otlp::print_opentelemetry_warnings();
    let exporter = otlp::exporter().unwrap_or_else(|error| otlp::exit_unusable(error));
    let resource = Resource::builder()
        .with_service_name(step_support::service_name("w3c-test-service"))
        .build();
    let provider = SdkTracerProvider::builder()
        .with_resource(resource)
        .with_sampler(Sampler::AlwaysOn)
        .with_batch_exporter(exporter)
        .build();
    init_propagator();
    let service = TestService {
        client,
        tracer: provider.tracer("w3c-test-service"),
    };
    let router = Router::new()
        .route("/test", post(run_test_calls))
        .with_state(service);
    step_support::serve(listener, router).await;

    otlp::shut_down(provider, step_support::shutdown_time_left())
}

// ANCHOR: strict_propagator
/// The steps' propagators, with the strict one in place of the SDK's `TraceContextPropagator`:
/// W3C Trace Context Level 2 in full, with the `random` flag on the traces this service starts
/// too (the hardening chapter says why a service should think twice before it does).
fn init_propagator() {
    global::set_text_map_propagator(TextMapCompositePropagator::new(vec![
        Box::new(W3cTraceContextPropagator::new().with_random_flag()),
        Box::new(BaggagePropagator::new()),
    ]));
}
// ANCHOR_END: strict_propagator

/// What every request handler needs.
#[derive(Clone)]
struct TestService {
    client: reqwest::Client,
    tracer: SdkTracer,
}

/// One call the suite asks for: `POST` `arguments`, as JSON, to `url`.
#[derive(Debug, Deserialize)]
struct Call {
    url: String,
    arguments: serde_json::Value,
}

/// Why a test request failed: the suite's request itself, or one of the calls.
#[derive(Debug)]
enum TestError {
    BadRequest(String),
    Call(BackendError),
}

impl IntoResponse for TestError {
    fn into_response(self) -> Response {
        match self {
            TestError::BadRequest(problem) => {
                (StatusCode::BAD_REQUEST, format!("{problem}\n")).into_response()
            }
            TestError::Call(error) => error.into_response(),
        }
    }
}

/// `POST /test`: a JSON array of `{"url", "arguments"}`. Continues the caller's trace as step
/// 07's `GET /` does, makes the calls in order, each from a client span of its own, and answers
/// `200 OK` when all are done, or with the first call's failure.
async fn run_test_calls(
    State(service): State<TestService>,
    incoming_headers: HeaderMap,
    body: Bytes,
) -> Result<&'static str, TestError> {
    let calls: Vec<Call> = serde_json::from_slice(&body).map_err(|error| {
        TestError::BadRequest(format!(
            "expected a JSON array of {{\"url\", \"arguments\"}}: {error}"
        ))
    })?;
    if calls.len() > MAX_CALLS {
        return Err(TestError::BadRequest(format!(
            "{} calls asked for; at most {MAX_CALLS}",
            calls.len()
        )));
    }
    // Every URL is checked before the first call is made.
    let calls = calls
        .into_iter()
        .map(|call| match reqwest::Url::parse(&call.url) {
            Ok(url) if url.scheme() == "http" => Ok((url, call.arguments)),
            _ => Err(TestError::BadRequest(format!(
                "{:?}: expected an http:// URL",
                call.url
            ))),
        })
        .collect::<Result<Vec<_>, _>>()?;

    // ANCHOR: strict_extract
    // The suite's trace, read through the strict extractor: one `traceparent` that follows the
    // grammar, and every `tracestate` header combined. No baggage is taken in.
    let caller_cx = global::get_text_map_propagator(|propagator| {
        propagator.extract(&W3cHeaderExtractor::new(&incoming_headers))
    })
    .with_cleared_baggage();
    // ANCHOR_END: strict_extract
    let tracer = &service.tracer;
    let span = tracer
        .span_builder("conformance test")
        .with_kind(SpanKind::Server)
        .start_with_context(tracer, &caller_cx);
    let cx = caller_cx.with_span(span);

    for (url, arguments) in calls {
        if let Err(error) = make_call(&service, &cx, url, arguments).await {
            cx.span().set_status(Status::error(error.to_string()));
            cx.span().end();
            return Err(TestError::Call(error));
        }
    }
    cx.span().end();
    Ok("OK")
}

/// One call, from a client span that is a child of the test request's span.
async fn make_call(
    service: &TestService,
    cx: &Context,
    url: reqwest::Url,
    arguments: serde_json::Value,
) -> Result<(), BackendError> {
    let tracer = &service.tracer;
    let span = tracer
        .span_builder("test callback")
        .with_kind(SpanKind::Client)
        .with_attributes([KeyValue::new("url.full", url.to_string())])
        .start_with_context(tracer, cx);
    let call_cx = cx.with_span(span);
    let mut headers = HeaderMap::new();
    global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&call_cx, &mut HeaderInjector(&mut headers));
    });
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));

    let result = async {
        let mut response = service
            .client
            .post(url)
            .headers(headers)
            .body(arguments.to_string())
            .send()
            .await?;
        let status = response.status();
        // Read the answer, so that the call is over when its span ends, but not all of a
        // huge one.
        let mut read = 0;
        while let Some(chunk) = response.chunk().await? {
            read += chunk.len();
            if read > MAX_ANSWER_BYTES {
                break;
            }
        }
        match status.is_success() {
            true => Ok(()),
            false => Err(BackendError::BadStatus(status)),
        }
    }
    .await;
    let span = call_cx.span();
    if let Err(error) = &result {
        span.record_error(error);
        span.set_status(Status::error(error.to_string()));
    }
    span.end();
    result
}
