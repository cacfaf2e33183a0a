//! The test service the W3C Trace Context test suite drives
//! (<https://github.com/w3c/trace-context/tree/main/test>): with `W3C_TEST_SERVICE=true`, the
//! frontend also answers `POST /test`. The suite sends trace headers, good and malformed, with a
//! list of calls to make; the frontend makes each call with the context it propagates, and the
//! suite checks the headers that arrive. Off by default: an endpoint that posts to any URL it is
//! given has no place in a production service. Even on, what one request can cost is bounded:
//! at most [`MAX_CALLS`] calls, each within `BACKEND_TIMEOUT_MS`, reading at most
//! [`MAX_ANSWER_BYTES`] of each answer.

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, HeaderValue, StatusCode, header::CONTENT_TYPE},
    response::{IntoResponse, Response},
};
use opentelemetry::{
    Context, KeyValue,
    propagation::TextMapPropagator,
    trace::{SpanKind, Status, TraceContextExt, Tracer},
};
use opentelemetry_http::HeaderInjector;
use serde::Deserialize;
use step_support::{BackendError, W3cHeaderExtractor};

use crate::Frontend;

/// The variable that turns the test service on.
pub const VARIABLE: &str = "W3C_TEST_SERVICE";

/// The most calls one request may ask for (the suite asks for up to 3).
pub const MAX_CALLS: usize = 32;

/// The most of each call's answer that is read: the URL is the caller's choice, and so is what
/// answers there.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// One call the suite asks for: `POST` `arguments`, as JSON, to `url`.
#[derive(Debug, Deserialize)]
struct Call {
    url: String,
    arguments: serde_json::Value,
}

/// Why a test request failed: the suite's request itself, or one of the calls.
#[derive(Debug)]
pub enum TestError {
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

/// `POST /test`: a JSON array of `{"url", "arguments"}`. Continues the caller's trace as
/// `GET /` does, makes the calls in order, each from a client span of its own, and answers
/// `200 OK` when all are done, or with the first call's failure.
pub async fn run_test_calls(
    State(app): State<Frontend>,
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

    let caller_cx = app
        .incoming_propagator
        .extract(&W3cHeaderExtractor::new(&incoming_headers));
    let tracer = &app.tracer;
    let span = tracer
        .span_builder("conformance test")
        .with_kind(SpanKind::Server)
        .start_with_context(tracer, &caller_cx);
    let cx = caller_cx.with_span(span);

    for (url, arguments) in calls {
        if let Err(error) = make_call(&app, &cx, url, arguments).await {
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
    app: &Frontend,
    cx: &Context,
    url: reqwest::Url,
    arguments: serde_json::Value,
) -> Result<(), BackendError> {
    let tracer = &app.tracer;
    let span = tracer
        .span_builder("test callback")
        .with_kind(SpanKind::Client)
        .with_attributes([KeyValue::new("url.full", url.to_string())])
        .start_with_context(tracer, cx);
    let call_cx = cx.with_span(span);
    let mut headers = HeaderMap::new();
    app.propagator
        .inject_context(&call_cx, &mut HeaderInjector(&mut headers));
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));

    let result = async {
        let mut response = app
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
