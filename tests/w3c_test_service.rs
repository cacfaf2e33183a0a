//! The W3C Trace Context test suite's test service (`cargo run -p w3c-test-service`, step 07's
//! propagators), run as a real process and driven here as the suite drives it: `POST /test`
//! with trace headers and a JSON array of `{"url", "arguments"}`; the service posts each
//! `arguments` to its `url`, in order, with the context it propagates, one client span per
//! call, and answers `200` when all are done. The calls come back to a recorder here, which
//! checks what the suite checks (written from the specification and the suite's README; the
//! suite itself is not vendored), and the whole table of hostile headers goes through it too.

// In a test, an unwrap is an assertion: a failure panics with the error, which fails the test.
#![allow(clippy::unwrap_used)]

use std::{
    collections::HashSet,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, Method, Uri},
};
use opentelemetry::trace::SpanKind;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use workshop::{
    harness::fake_backend::ClosedPort,
    harness::hostile_headers::{self, CALLER_SPAN_ID, CALLER_TRACE_ID, Trace, VALID},
    harness::process::{Exited, Service, W3C_TEST_SERVICE, run_to_exit},
    spans::{FailedSpan, SpanRecord},
    steps,
};

/// A call that reached the recorder.
#[derive(Debug, Clone)]
struct Callback {
    method: Method,
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

/// Where the frontend's calls go: records each, answers `200 OK`.
struct Recorder {
    base_url: String,
    received: Arc<Mutex<Vec<Callback>>>,
}

impl Recorder {
    async fn start() -> Self {
        let received = Arc::new(Mutex::new(Vec::new()));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let router = Router::new().fallback(record).with_state(received.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        Self { base_url, received }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.base_url)
    }

    /// Every call received so far, taken out.
    fn take(&self) -> Vec<Callback> {
        std::mem::take(&mut *self.received.lock().unwrap())
    }
}

async fn record(
    State(received): State<Arc<Mutex<Vec<Callback>>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> &'static str {
    received.lock().unwrap().push(Callback {
        method,
        path: uri.path().to_owned(),
        headers,
        body,
    });
    "OK"
}

async fn test_service() -> Service {
    Service::start(W3C_TEST_SERVICE, &[]).await.unwrap()
}

/// `POST /test` with `headers` and `body`: the status and the answer's body.
async fn post_test(service: &Service, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .no_proxy()
        .build()
        .unwrap();
    let mut request = client
        .post(format!("{}test", service.url()))
        .header("content-type", "application/json")
        .body(body.to_owned());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// The calls the suite asks for: `count` of them, to the recorder's `/0`, `/1`, ...
fn calls(recorder: &Recorder, count: usize) -> Value {
    let calls: Vec<Value> = (0..count)
        .map(|i| json!({"url": recorder.url(&i.to_string()), "arguments": [i, {"n": i}]}))
        .collect();
    Value::Array(calls)
}

fn traceparent_fields(callback: &Callback) -> (String, String) {
    let all: Vec<_> = callback.headers.get_all("traceparent").iter().collect();
    assert_eq!(all.len(), 1, "{callback:?}");
    let fields: Vec<String> = all[0]
        .to_str()
        .unwrap()
        .split('-')
        .map(String::from)
        .collect();
    assert_eq!(fields.len(), 4, "{fields:?}");
    (fields[1].clone(), fields[2].clone())
}

fn spans_named<'a>(spans: &'a [SpanRecord], name: &str) -> Vec<&'a SpanRecord> {
    let mut named: Vec<&SpanRecord> = spans.iter().filter(|span| span.name == name).collect();
    named.sort_by_key(|span| span.start);
    named
}

#[tokio::test]
async fn makes_every_call_in_order_with_the_callers_context_then_answers_200() {
    let recorder = Recorder::start().await;
    let service = test_service().await;
    let body = calls(&recorder, 3);
    let headers = [("traceparent", VALID), ("tracestate", "foo=1,bar=2")];

    let answer = post_test(&service, &headers, &body.to_string()).await;

    let exited = service.stop().await.unwrap();
    exited.assert_success();
    assert_eq!(answer, (200, "OK".into()));
    let callbacks = recorder.take();
    let paths: Vec<&str> = callbacks.iter().map(|call| call.path.as_str()).collect();
    assert_eq!(paths, ["/0", "/1", "/2"], "in order");
    let spans = exited.spans();
    let request = spans_named(&spans, "conformance test");
    assert_eq!(request.len(), 1);
    let request = request[0];
    assert_eq!(request.kind, SpanKind::Server);
    assert_eq!(request.trace_id.to_string(), CALLER_TRACE_ID);
    assert_eq!(
        request.parent_span_id.map(|id| id.to_string()).as_deref(),
        Some(CALLER_SPAN_ID)
    );
    let call_spans = spans_named(&spans, "test callback");
    assert_eq!(call_spans.len(), 3, "one client span per call");
    for (i, (callback, span)) in callbacks.iter().zip(call_spans).enumerate() {
        // Each call: a POST of its arguments as JSON, with the caller's trace and tracestate,
        // sent from its own client span, a child of the request's.
        assert_eq!(callback.method, Method::POST);
        assert_eq!(callback.headers["content-type"], "application/json");
        let arguments: Value = serde_json::from_slice(&callback.body).unwrap();
        assert_eq!(arguments, body[i]["arguments"]);
        let (trace_id, parent_id) = traceparent_fields(callback);
        assert_eq!(trace_id, CALLER_TRACE_ID);
        assert_eq!(parent_id, span.span_id.to_string());
        assert_eq!(callback.headers["tracestate"], "foo=1,bar=2");
        assert_eq!(span.kind, SpanKind::Client);
        assert_eq!(span.parent_span_id, Some(request.span_id));
        assert_eq!(span.attributes["url.full"], recorder.url(&i.to_string()));
    }
}

#[tokio::test]
async fn without_a_valid_traceparent_the_calls_share_one_new_trace() {
    let recorder = Recorder::start().await;
    let service = test_service().await;
    let body = calls(&recorder, 3).to_string();
    let all_zeros = "00-00000000000000000000000000000000-00f067aa0ba902b7-01";

    let none = post_test(&service, &[], &body).await;
    let from_none = recorder.take();
    let illegal = post_test(&service, &[("traceparent", all_zeros)], &body).await;
    let from_illegal = recorder.take();

    service.stop().await.unwrap().assert_success();
    assert_eq!((none, illegal), ((200, "OK".into()), (200, "OK".into())));
    for callbacks in [from_none, from_illegal] {
        let fields: Vec<(String, String)> = callbacks.iter().map(traceparent_fields).collect();
        let trace_ids: Vec<&str> = fields.iter().map(|(trace, _)| trace.as_str()).collect();
        assert_eq!(trace_ids.len(), 3);
        assert!(trace_ids.iter().all(|id| *id == trace_ids[0]), "one trace");
        assert_ne!(trace_ids[0], "0".repeat(32));
        assert_ne!(trace_ids[0], CALLER_TRACE_ID);
        let parent_ids: HashSet<&str> = fields.iter().map(|(_, parent)| parent.as_str()).collect();
        assert_eq!(parent_ids.len(), 3, "a parent id per call");
    }
}

/// The table every service is held to, through the test service: each case continues or
/// starts the trace of the call it makes, as `GET /` does.
#[tokio::test]
async fn every_hostile_header_case_is_answered_200_and_propagated_as_the_specification_says() {
    let cases = hostile_headers::cases();
    let recorder = Recorder::start().await;
    let service = test_service().await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .no_proxy()
        .build()
        .unwrap();
    let body = calls(&recorder, 1).to_string();

    let mut answers = Vec::new();
    let mut callbacks = Vec::new();
    for case in &cases {
        let response = client
            .post(format!("{}test", service.url()))
            .headers(case.request_headers())
            .body(body.clone())
            .send()
            .await
            .unwrap();
        answers.push(Ok((response.status(), response.text().await.unwrap())));
        let called = recorder.take();
        assert_eq!(called.len(), 1, "{}: one call", case.name);
        callbacks.extend(called);
    }

    let exited = service.stop().await.unwrap();
    exited.assert_success();
    hostile_headers::assert_all_ok(&cases, &answers);
    for (case, callback) in cases.iter().zip(&callbacks) {
        let continued = case.trace == Trace::Continued;
        hostile_headers::check_sent_on(
            case,
            &callback.headers,
            continued,
            hostile_headers::Level::Level2,
        );
        // The test service takes in no baggage and sends none.
        assert_eq!(callback.headers.get("baggage"), None, "{}", case.name);
    }
    let spans = exited.spans();
    assert_eq!(spans_named(&spans, "conformance test").len(), cases.len());
    assert_eq!(spans_named(&spans, "test callback").len(), cases.len());
    println!(
        "POST /test: {} cases, {} answered 200, {} calls made, {} spans exported",
        cases.len(),
        answers.len(),
        callbacks.len(),
        spans.len()
    );
}

/// A bad request is a 400 with a one-line reason, and no call is made.
#[tokio::test]
async fn a_bad_request_is_a_400_and_makes_no_call() {
    let recorder = Recorder::start().await;
    let service = test_service().await;
    let good = json!({"url": recorder.url("0"), "arguments": []});
    let too_many = Value::Array(vec![good.clone(); 33]).to_string();
    let not_http = json!([good, {"url": "ftp://127.0.0.1/", "arguments": []}]).to_string();
    let bad_requests = [
        ("not JSON", "{", "expected a JSON array of"),
        ("not an array", "{}", "expected a JSON array of"),
        (
            "no url",
            r#"[{"arguments": []}]"#,
            "expected a JSON array of",
        ),
        (
            "33 calls",
            too_many.as_str(),
            "33 calls asked for; at most 32",
        ),
        (
            "not http",
            not_http.as_str(),
            "\"ftp://127.0.0.1/\": expected an http:// URL",
        ),
    ];

    let mut answers = Vec::new();
    for (_, body, _) in &bad_requests {
        answers.push(post_test(&service, &[("traceparent", VALID)], body).await);
    }
    let empty = post_test(&service, &[], "[]").await;

    service.stop().await.unwrap().assert_success();
    for ((case, _, reason), (status, body)) in bad_requests.iter().zip(&answers) {
        assert_eq!(*status, 400, "{case}: {body}");
        assert!(body.starts_with(reason), "{case}: {body}");
        assert!(
            body.ends_with('\n') && body.lines().count() == 1,
            "{case}: {body:?}"
        );
    }
    assert_eq!(recorder.take().len(), 0, "no call made");
    assert_eq!(empty, (200, "OK".into()), "nothing to call is done at once");
}

#[tokio::test]
async fn a_call_that_fails_is_a_502_and_an_error_span() {
    let nobody = ClosedPort::new();
    let service = test_service().await;
    let body = json!([{"url": nobody.url(), "arguments": []}]).to_string();

    let (status, answer) = post_test(&service, &[], &body).await;

    let exited = service.stop().await.unwrap();
    exited.assert_success();
    assert_eq!(status, 502);
    assert!(answer.starts_with("backend unreachable: "), "{answer}");
    let spans = exited.spans();
    let message = answer.trim_end();
    spans_named(&spans, "test callback")[0].assert_failed_with(message);
    assert_eq!(
        spans_named(&spans, "conformance test")[0].error_description(),
        Some(message)
    );
}

/// The service serves `POST /test` only: no step carries it, and its own configuration is
/// checked as a step's is.
#[tokio::test]
async fn no_step_serves_the_test_and_the_service_checks_its_configuration() {
    let step = steps::find("07").unwrap();
    let frontend = Service::start(&step.frontend(), &[]).await.unwrap();
    let (status, _) = post_test(&frontend, &[], "[]").await;
    frontend.stop().await.unwrap().assert_success();
    assert_eq!(status, 404, "step 07's frontend has no POST /test");

    let exited: Exited = run_to_exit(W3C_TEST_SERVICE, &[("BACKEND_TIMEOUT_MS", "soon")])
        .await
        .unwrap();
    assert_eq!(exited.status.code(), Some(2), "{}", exited.stderr);
    assert_eq!(exited.stderr.lines().count(), 1, "{}", exited.stderr);
    assert!(
        exited
            .stderr
            .starts_with("error: BACKEND_TIMEOUT_MS=\"soon\": "),
        "{}",
        exited.stderr
    );
}
