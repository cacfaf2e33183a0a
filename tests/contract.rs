//! Every step's real programs, run as processes, keep `steps/CONTRACT.md`: they answer `OK` end to
//! end and export the step's trace; a failing backend is a 502 or a 504 with a one-line body
//! and an error span; bad configuration exits 2 with a one-line message; SIGTERM loses no span.

// In a test, an unwrap is an assertion: a failure panics with the error, which fails the test.
#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use workshop::{
    harness::fake_backend::{self, ClosedPort, FakeBackend},
    harness::process::{self, Exited, Pair, Service, StopSignal, http_get, run_to_exit},
    spans::{self, FailedSpan, SpanRecord, outline, the_span},
    steps::{self, Step},
};

macro_rules! contract_tests {
    ($($module:ident: $number:literal,)*) => {$(
        mod $module {
            fn step() -> &'static workshop::steps::Step {
                workshop::steps::find($number).expect("a listed step")
            }
            #[tokio::test]
            async fn answers_ok_end_to_end_and_exports_its_trace() {
                super::answers_ok_end_to_end_and_exports_its_trace(step()).await
            }
            #[tokio::test]
            async fn a_backend_that_is_down_is_a_502_and_an_error_span() {
                super::a_backend_that_is_down_is_a_502_and_an_error_span(step()).await
            }
            #[tokio::test]
            async fn an_error_answer_from_the_backend_is_a_502() {
                super::an_error_answer_from_the_backend_is_a_502(step()).await
            }
            #[tokio::test]
            async fn a_backend_slower_than_the_timeout_is_a_504() {
                super::a_backend_slower_than_the_timeout_is_a_504(step()).await
            }
            #[tokio::test]
            async fn a_backend_body_slower_than_the_timeout_is_a_504() {
                super::a_backend_body_slower_than_the_timeout_is_a_504(step()).await
            }
            #[tokio::test]
            async fn a_backend_dying_mid_answer_is_a_502() {
                super::a_backend_dying_mid_answer_is_a_502(step()).await
            }
            #[tokio::test]
            async fn the_frontend_recovers_as_soon_as_the_backend_does() {
                super::the_frontend_recovers_as_soon_as_the_backend_does(step()).await
            }
            #[tokio::test]
            async fn a_bad_listen_addr_exits_2_naming_it() {
                super::a_bad_listen_addr_exits_2_naming_it(step()).await
            }
            #[tokio::test]
            async fn a_port_in_use_exits_2_naming_it() {
                super::a_port_in_use_exits_2_naming_it(step()).await
            }
            #[tokio::test]
            async fn a_bad_backend_url_or_timeout_exits_2_naming_it() {
                super::a_bad_backend_url_or_timeout_exits_2_naming_it(step()).await
            }
            #[tokio::test]
            async fn sigterm_after_requests_loses_no_span() {
                super::sigterm_after_requests_loses_no_span(step()).await
            }
            #[tokio::test]
            async fn ctrl_c_stops_both_programs_gracefully_too() {
                super::ctrl_c_stops_both_programs_gracefully_too(step()).await
            }
            #[tokio::test]
            async fn a_second_signal_stops_at_once_even_with_a_request_in_flight() {
                super::a_second_signal_stops_at_once_even_with_a_request_in_flight(step()).await
            }
            #[tokio::test]
            async fn sigterm_lets_the_request_in_flight_finish() {
                super::sigterm_lets_the_request_in_flight_finish(step()).await
            }
        }
    )*};
}

contract_tests! {
    step_01: "01",
    step_02: "02",
    step_03: "03",
    step_04: "04",
    step_05: "05",
    step_07: "07",
    step_08: "08",
    step_09: "09",
    step_10: "10",
    step_11: "11",
    step_12: "12",
    step_13: "13",
}

/// The part of the contract a program keeps before it reaches any exporter: configuration is
/// checked first. For the steps whose spans go to a cloud service; their own tests run the
/// rest against a stand-in (step 06: `tests/cloud_trace`).
macro_rules! start_up_contract_tests {
    ($($module:ident: $number:literal,)*) => {$(
        mod $module {
            fn step() -> &'static workshop::steps::Step {
                workshop::steps::find($number).expect("a listed step")
            }
            #[tokio::test]
            async fn a_bad_listen_addr_exits_2_naming_it() {
                super::a_bad_listen_addr_exits_2_naming_it(step()).await
            }
            #[tokio::test]
            async fn a_port_in_use_exits_2_naming_it() {
                super::a_port_in_use_exits_2_naming_it(step()).await
            }
            #[tokio::test]
            async fn a_bad_backend_url_or_timeout_exits_2_naming_it() {
                super::a_bad_backend_url_or_timeout_exits_2_naming_it(step()).await
            }
        }
    )*};
}

start_up_contract_tests! {
    step_06: "06",
}

/// Each section of `steps/CONTRACT.md` ends with the tests that hold the programs to it, as
/// `path::test_name`: there is at least one for every section, and each names a test that exists
/// in that file.
#[test]
fn contract_md_names_only_tests_that_exist() {
    let repository = workshop::steps::repository();
    let contract = std::fs::read_to_string(repository.join("steps/CONTRACT.md")).unwrap();
    let sections: Vec<&str> = contract.split("\n## ").skip(1).collect();
    assert!(sections.len() >= 5, "{contract}");
    for section in sections {
        let title = section.lines().next().unwrap();
        let tested_by = section
            .split_once("Tested by:")
            .unwrap_or_else(|| panic!("section {title:?} names no test"))
            .1;
        let tests: Vec<&str> = tested_by
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|reference| reference.contains(".rs::"))
            .collect();
        assert!(!tests.is_empty(), "section {title:?} names no test");
        for reference in tests {
            let (path, name) = reference.split_once("::").unwrap();
            let source = std::fs::read_to_string(repository.join(path))
                .unwrap_or_else(|error| panic!("{title:?} names {reference}: {path}: {error}"));
            assert!(
                source.contains(&format!("fn {name}(")),
                "section {title:?} names {reference}, which {path} does not define"
            );
        }
    }
}

#[test]
fn every_step_is_tested_here() {
    let source = include_str!("contract.rs");
    for step in steps::STEPS {
        let line = format!("step_{0}: \"{0}\",", step.number);
        assert!(
            source.contains(&line),
            "step {} has no contract tests",
            step.number
        );
    }
}

async fn answers_ok_end_to_end_and_exports_its_trace(step: &Step) {
    let pair = Pair::start(step, &[]).await.unwrap();

    let answer = http_get(&pair.frontend.url()).await.unwrap();

    let (frontend, backend) = pair.stop().await.unwrap();
    assert_eq!(answer, (StatusCode::OK, "OK".into()));
    frontend.assert_success();
    backend.assert_success();
    let spans = process::exported_spans(step, &frontend, &backend).unwrap();
    assert_eq!(outline(&spans), step.trace);
}

/// Starts the step's frontend alone, calling `backend_url`.
async fn frontend(step: &Step, backend_url: &str, timeout_ms: &str) -> Service {
    let env = [
        ("BACKEND_URL", backend_url),
        ("BACKEND_TIMEOUT_MS", timeout_ms),
    ];
    Service::start(&step.frontend(), &env).await.unwrap()
}

/// Checks a failed request's answer, and, when the frontend is traced, its spans: the span
/// where the call failed carries the `exception` event and the error status, and the root
/// span (the request, as the user saw it) is an error.
fn assert_failed(
    step: &Step,
    answer: &(StatusCode, String),
    status: StatusCode,
    frontend: &Exited,
) {
    let (answered, body) = answer;
    assert_eq!(*answered, status, "{body}");
    assert!(
        body.ends_with('\n') && body.lines().count() == 1,
        "one line: {body:?}"
    );
    frontend.assert_success();
    if !step.frontend_traced {
        assert_eq!(frontend.stdout, "");
        return;
    }
    let spans = frontend.spans();
    let message = body.trim_end();
    let root = the_span(&spans, "incoming call");
    assert_eq!(
        root.error_description(),
        Some(message),
        "{}",
        outline(&spans)
    );
    let failed_call = spans
        .iter()
        .find(|span| span.name == "backend call")
        .unwrap_or(root);
    failed_call.assert_failed_with(message);
}

async fn a_backend_that_is_down_is_a_502_and_an_error_span(step: &Step) {
    let nobody = ClosedPort::new();
    let frontend = frontend(step, nobody.url(), "5000").await;

    let answer = http_get(&frontend.url()).await.unwrap();

    let exited = frontend.stop().await.unwrap();
    assert!(answer.1.starts_with("backend unreachable: "), "{answer:?}");
    assert_failed(step, &answer, StatusCode::BAD_GATEWAY, &exited);
}

async fn an_error_answer_from_the_backend_is_a_502(step: &Step) {
    let backend = FakeBackend::answering(StatusCode::SERVICE_UNAVAILABLE).await;
    let frontend = frontend(step, backend.url(), "5000").await;

    let answer = http_get(&frontend.url()).await.unwrap();

    let exited = frontend.stop().await.unwrap();
    assert_eq!(answer.1, "backend answered 503 Service Unavailable\n");
    assert_failed(step, &answer, StatusCode::BAD_GATEWAY, &exited);
}

async fn a_backend_slower_than_the_timeout_is_a_504(step: &Step) {
    let backend = FakeBackend::never_answering().await;
    answers_504_within_the_timeout(step, &backend, "waiting for the answer").await;
}

async fn a_backend_body_slower_than_the_timeout_is_a_504(step: &Step) {
    let backend = FakeBackend::slow_body(Duration::from_secs(60)).await;
    answers_504_within_the_timeout(step, &backend, "waiting for the body").await;
}

/// The most an answer may come after `BACKEND_TIMEOUT_MS`: time for a loaded test machine to
/// schedule the timer and send the answer. A frontend that waits for the backend anyway takes
/// the backend's whole delay (a minute, or for ever).
const TIMEOUT_MARGIN: Duration = Duration::from_secs(2);

/// Checks that `backend`, too slow, gets the caller a 504 after `BACKEND_TIMEOUT_MS` and not
/// much later, and prints how long it took.
async fn answers_504_within_the_timeout(step: &Step, backend: &FakeBackend, case: &str) {
    let timeout = Duration::from_millis(500);
    let frontend = frontend(step, backend.url(), "500").await;

    let asked = Instant::now();
    let answer = http_get(&frontend.url()).await.unwrap();
    let waited = asked.elapsed();

    let exited = frontend.stop().await.unwrap();
    println!(
        "step {}, {case}: 504 after {} ms (BACKEND_TIMEOUT_MS=500)",
        step.number,
        waited.as_millis()
    );
    assert_eq!(
        answer.1,
        "backend did not answer within BACKEND_TIMEOUT_MS\n"
    );
    assert_failed(step, &answer, StatusCode::GATEWAY_TIMEOUT, &exited);
    assert!(
        waited >= timeout && waited < timeout + TIMEOUT_MARGIN,
        "answered after {waited:?}"
    );
}

async fn a_backend_dying_mid_answer_is_a_502(step: &Step) {
    let backend = FakeBackend::cutting_off().await;
    let frontend = frontend(step, backend.url(), "5000").await;

    let answer = http_get(&frontend.url()).await.unwrap();

    let exited = frontend.stop().await.unwrap();
    // The answer's headers had come: it is the body that broke off.
    assert!(
        answer
            .1
            .starts_with("backend unreachable: error decoding response body: "),
        "{answer:?}"
    );
    assert_failed(step, &answer, StatusCode::BAD_GATEWAY, &exited);
}

/// The backend is down, comes back, fails in each way, and recovers: the frontend's answer
/// follows it request by request, with no retry, circuit breaker or stale connection in the way.
async fn the_frontend_recovers_as_soon_as_the_backend_does(step: &Step) {
    let port = ClosedPort::new();
    let frontend = frontend(step, port.url(), "1000").await;

    let answered = fake_backend::play_recovery_script(port, &frontend.url()).await;

    let exited = frontend.stop().await.unwrap();
    exited.assert_success();
    let expected = fake_backend::recovery_statuses();
    assert_eq!(answered, expected);
    if step.frontend_traced {
        fake_backend::assert_requests_failed_as_answered(&exited.spans(), &expected);
    }
}

/// Checks that a program refused its configuration as the contract says: exit code 2, one
/// line on stderr naming the variable and the value, nothing on stdout.
fn assert_refused(exited: &Exited, variable: &str, value: &str) {
    assert_eq!(exited.status.code(), Some(2), "stderr: {}", exited.stderr);
    let expected_start = format!("error: {variable}={value:?}: ");
    assert!(
        exited.stderr.starts_with(&expected_start) && exited.stderr.lines().count() == 1,
        "expected one line starting {expected_start:?}, got {:?}",
        exited.stderr
    );
    assert_eq!(exited.stdout, "");
}

async fn a_bad_listen_addr_exits_2_naming_it(step: &Step) {
    for package in [step.frontend(), step.backend()] {
        for value in ["nonsense", "127.0.0.1:99999", "127.0.0.1"] {
            let exited = run_to_exit(&package, &[("LISTEN_ADDR", value)])
                .await
                .unwrap();
            assert_refused(&exited, "LISTEN_ADDR", value);
        }
    }
}

async fn a_port_in_use_exits_2_naming_it(step: &Step) {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    for package in [step.frontend(), step.backend()] {
        let exited = run_to_exit(&package, &[("LISTEN_ADDR", &address)])
            .await
            .unwrap();
        assert_refused(&exited, "LISTEN_ADDR", &address);
        assert!(exited.stderr.contains("in use"), "{}", exited.stderr);
    }
}

async fn a_bad_backend_url_or_timeout_exits_2_naming_it(step: &Step) {
    for (variable, value) in [
        ("BACKEND_URL", "not a url"),
        ("BACKEND_URL", "https://127.0.0.1:8081/"),
        ("BACKEND_URL", "127.0.0.1:8081"),
        ("BACKEND_TIMEOUT_MS", "5s"),
        ("BACKEND_TIMEOUT_MS", "0"),
    ] {
        let exited = run_to_exit(&step.frontend(), &[(variable, value)])
            .await
            .unwrap();
        assert_refused(&exited, variable, value);
    }
}

async fn sigterm_after_requests_loses_no_span(step: &Step) {
    const REQUESTS: usize = 20;
    let pair = Pair::start(step, &[]).await.unwrap();
    let url = pair.frontend.url();
    let answers = futures_util::future::join_all((0..REQUESTS).map(|_| http_get(&url))).await;

    let (frontend, backend) = pair.stop().await.unwrap();
    for answer in answers {
        assert_eq!(answer.unwrap(), (StatusCode::OK, "OK".into()));
    }
    frontend.assert_success();
    backend.assert_success();
    let spans = process::exported_spans(step, &frontend, &backend).unwrap();
    // Each request's trace, with the traces of the work it handed off (step 13's job).
    let requests = spans::requests(&spans);
    if step.trace.is_empty() {
        assert!(requests.is_empty());
        return;
    }
    assert_eq!(requests.len(), REQUESTS, "one trace per request");
    for trace in requests {
        // From step 08 on, a request that reused a connection shows no `connect`.
        let outline = outline(&trace);
        assert!(step.is_its_trace(&outline), "{outline}");
    }
}

async fn ctrl_c_stops_both_programs_gracefully_too(step: &Step) {
    let pair = Pair::start(step, &[]).await.unwrap();
    let answer = http_get(&pair.frontend.url()).await.unwrap();

    let (frontend, backend) = pair.stop_with(StopSignal::Interrupt).await.unwrap();

    assert_eq!(answer, (StatusCode::OK, "OK".into()));
    frontend.assert_success();
    backend.assert_success();
    assert!(
        frontend.stderr.contains("SIGINT received"),
        "{}",
        frontend.stderr
    );
    let spans = process::exported_spans(step, &frontend, &backend).unwrap();
    assert_eq!(outline(&spans), step.trace);
}

async fn a_second_signal_stops_at_once_even_with_a_request_in_flight(step: &Step) {
    let backend = FakeBackend::never_answering().await;
    let mut frontend = frontend(step, backend.url(), "60000").await;
    let url = frontend.url();
    let request = tokio::spawn(async move { http_get(&url).await });
    backend.wait_for_requests(1).await;

    frontend.signal(StopSignal::Terminate);
    frontend.wait_for_log("SIGTERM received").await;
    // Ctrl-C once more: the request in flight would hold the program for the grace period.
    let exited = frontend.stop_with(StopSignal::Interrupt).await.unwrap();

    exited.assert_success();
    assert!(
        exited
            .stderr
            .contains("SIGINT received again: stopping now"),
        "{}",
        exited.stderr
    );
    assert!(request.await.unwrap().is_err(), "the request was cut off");
}

async fn sigterm_lets_the_request_in_flight_finish(step: &Step) {
    let backend = FakeBackend::never_answering().await;
    let frontend = frontend(step, backend.url(), "1000").await;
    let url = frontend.url();
    let request = tokio::spawn(async move { http_get(&url).await });
    backend.wait_for_requests(1).await;

    // The request is in flight, waiting for the backend: SIGTERM now.
    let exited = frontend.stop().await.unwrap();

    let answer = request.await.unwrap().unwrap();
    assert_failed(step, &answer, StatusCode::GATEWAY_TIMEOUT, &exited);
    if step.frontend_traced {
        let spans: Vec<SpanRecord> = exited.spans();
        assert_eq!(
            spans::traces(&spans).len(),
            1,
            "the request's spans were exported"
        );
    }
}
