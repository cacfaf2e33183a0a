//! Step 06's unmodified programs, sending their spans to Google Cloud Trace, proven without a
//! Google account or the internet: each test runs in its own network namespace where Google's
//! host names lead to a stand-in on loopback (`fake_google`), trusted through `SSL_CERT_FILE`,
//! with a service-account key the test made, handed over in `GOOGLE_APPLICATION_CREDENTIALS`.

// In a test, an unwrap is an assertion: a failure panics with the error, which fails the test.
#![allow(clippy::unwrap_used)]

mod fake_google;
mod isolation;
#[path = "../common/service_account.rs"]
mod service_account;

use std::time::{Duration, Instant};

use fake_google::{Behaviour, FakeGoogle, PROJECT_ID};
use isolation::run_isolated;
use reqwest::StatusCode;
use workshop::{
    harness::fake_backend::{self, ClosedPort, FakeBackend},
    harness::hostile_headers,
    harness::process::{Pair, Service, http_get, run_to_exit},
    spans::{self, outline, the_span},
    steps,
};

/// How many requests the main test sends: each is one trace of three spans.
const REQUESTS: usize = 5;

/// What the README promises: start-up without credentials or without a network ends within
/// this, with exit code 2.
const STARTUP_LIMIT: Duration = Duration::from_secs(10);

#[test]
fn every_span_reaches_cloud_trace_by_the_time_the_programs_exit() {
    run_isolated(
        "every_span_reaches_cloud_trace_by_the_time_the_programs_exit",
        || async {
            let google = FakeGoogle::start(Behaviour::Answering).await;
            let mut env = google.env();
            // Batches wait a minute, not 5 s: every span must go out because of SIGTERM.
            env.push(("OTEL_BSP_SCHEDULE_DELAY", "60000"));
            let step = steps::find("06").unwrap();
            let pair = Pair::start_with(step, &env, &[])
                .await
                .unwrap_or_else(|error| panic!("{error}\n{:#?}", google.received()));

            let url = pair.frontend.url();
            let answers =
                futures_util::future::join_all((0..REQUESTS).map(|_| http_get(&url))).await;
            let sent_before_stopping = google.received().batches.len();
            let (frontend, backend) = pair.stop().await.unwrap();

            for answer in answers {
                assert_eq!(answer.unwrap(), (StatusCode::OK, "OK".into()));
            }
            frontend.assert_success();
            backend.assert_success();
            assert_eq!(sent_before_stopping, 0, "the test must prove the shutdown");
            // The programs log to stderr; nothing went wrong, so the exporter said nothing.
            for exited in [&frontend, &backend] {
                assert!(
                    !exited.stderr.contains("ERROR") && !exited.stderr.contains("WARN"),
                    "{}",
                    exited.stderr
                );
            }

            let received = google.received();
            // Each program asked for one token, signed with the key it was given, for the
            // Cloud Trace scope, and presented it on every call.
            assert_eq!(received.refused, Vec::<String>::new());
            assert_eq!(
                received.tokens_issued.len(),
                2,
                "{:?}",
                received.tokens_issued
            );
            for claims in &received.token_claims {
                assert_eq!(
                    claims["iss"],
                    "tracer@workshop-test-project.iam.gserviceaccount.com"
                );
                assert_eq!(claims["aud"], "https://oauth2.googleapis.com/token");
                assert_eq!(
                    claims["scope"],
                    "https://www.googleapis.com/auth/trace.append"
                );
            }
            assert!(!received.batches.is_empty());
            for batch in &received.batches {
                let token = batch
                    .authorization
                    .as_deref()
                    .and_then(|value| value.strip_prefix("Bearer "))
                    .unwrap_or_else(|| panic!("no bearer token: {:?}", batch.authorization));
                assert!(
                    received.tokens_issued.iter().any(|issued| issued == token),
                    "{token} was not issued here"
                );
                assert_eq!(batch.project, format!("projects/{PROJECT_ID}"));
                for (resource_name, span) in &batch.spans {
                    let expected = format!(
                        "projects/{PROJECT_ID}/traces/{}/spans/{}",
                        span.trace_id, span.span_id
                    );
                    assert_eq!(*resource_name, expected);
                }
            }
            drop(received);

            let spans = google.spans();
            assert_eq!(spans.len(), REQUESTS * 3, "every span of every request");
            let traces = spans::traces(&spans);
            assert_eq!(traces.len(), REQUESTS, "one trace per request");
            for trace in &traces {
                // One trace id, the backend's span a child of the frontend's `backend call`,
                // the post's names and events: the same trace as step 05's on stdout.
                assert_eq!(outline(trace), step.trace);
                let call = the_span(trace, "backend call");
                let received = the_span(trace, "backend call received");
                assert_eq!(received.parent_span_id, Some(call.span_id));
            }
        },
    );
}

#[test]
fn without_credentials_it_exits_2_saying_how_to_set_them_up() {
    run_isolated(
        "without_credentials_it_exits_2_saying_how_to_set_them_up",
        || async {
            // Google answers, but the program has no key file, no gcloud configuration in its
            // home, no metadata server (this is no Google Cloud machine) and no gcloud.
            let google = FakeGoogle::start(Behaviour::Answering).await;
            let home = google.empty_home().display().to_string();
            for package in ["step-06-frontend", "step-06-backend"] {
                let started = Instant::now();
                let exited = run_to_exit(package, &[("HOME", &home), ("PATH", "/nonexistent")])
                    .await
                    .unwrap();
                let took = started.elapsed();

                assert_eq!(exited.status.code(), Some(2), "{}", exited.stderr);
                let lines: Vec<&str> = exited.stderr.lines().collect();
                assert_eq!(lines.len(), 1, "{}", exited.stderr);
                assert!(
                    lines[0].starts_with("error: no usable Google Cloud credentials (")
                        && lines[0].ends_with(
                            "): run `gcloud auth application-default login`, or set \
                             GOOGLE_APPLICATION_CREDENTIALS to a service-account key file"
                        ),
                    "{}",
                    lines[0]
                );
                assert!(took < STARTUP_LIMIT, "{package} took {took:?}");
                assert_eq!(google.received().tokens_issued.len(), 0);
            }
        },
    );
}

#[test]
fn a_network_that_swallows_everything_is_an_exit_2_within_10_seconds() {
    run_isolated(
        "a_network_that_swallows_everything_is_an_exit_2_within_10_seconds",
        || async {
            // Connections to Google are taken and never answered, as on a network that drops
            // every packet: neither gcp_auth nor the exporter bounds its own wait.
            let google = FakeGoogle::start(Behaviour::Silent).await;
            let env = google.env();
            let started = Instant::now();
            let exited = run_to_exit("step-06-frontend", &env).await.unwrap();
            let took = started.elapsed();

            assert_eq!(exited.status.code(), Some(2), "{}", exited.stderr);
            assert_eq!(
                exited.stderr,
                "error: no answer from Google within 8 s: check the network (and that it \
                 reaches *.googleapis.com on port 443)\n"
            );
            assert!(took < STARTUP_LIMIT, "took {took:?}");
        },
    );
}

#[test]
fn an_export_google_refuses_is_reported_on_stderr() {
    run_isolated("an_export_google_refuses_is_reported_on_stderr", || async {
        // The credentials are good, but the project has not enabled the Cloud Trace API: the
        // classic "my spans never showed up".
        let google = FakeGoogle::start(Behaviour::RefusingSpans).await;
        let env = google.env();
        let pair = Pair::start_with(steps::find("06").unwrap(), &env, &[])
            .await
            .unwrap();

        let answer = http_get(&pair.frontend.url()).await.unwrap();
        let (frontend, backend) = pair.stop().await.unwrap();

        // The service itself is unharmed: it answered, and stopped as it should.
        assert_eq!(answer, (StatusCode::OK, "OK".into()));
        for exited in [&frontend, &backend] {
            exited.assert_success();
            let reported = exited
                .stderr
                .lines()
                .find(|line| line.contains("ERROR") && line.contains("PermissionDenied"));
            assert!(
                reported.is_some_and(|line| line.contains(fake_google::API_DISABLED)),
                "no error naming the refusal on stderr:\n{}",
                exited.stderr
            );
        }
        assert!(!google.received().batches.is_empty());
    });
}

#[test]
fn google_cloud_project_names_the_project_when_the_key_does_not() {
    run_isolated(
        "google_cloud_project_names_the_project_when_the_key_does_not",
        || async {
            let google = FakeGoogle::start(Behaviour::Answering).await;
            google.remove_project_from_key();
            let env = google.env();

            let exited = run_to_exit("step-06-backend", &env).await.unwrap();
            assert_eq!(exited.status.code(), Some(2), "{}", exited.stderr);
            assert_eq!(
                exited.stderr,
                "error: the credentials name no Google Cloud project: set GOOGLE_CLOUD_PROJECT \
                 to the project's id\n"
            );

            let mut env = env;
            env.push(("GOOGLE_CLOUD_PROJECT", "another-project"));
            let pair = Pair::start_with(steps::find("06").unwrap(), &env, &[])
                .await
                .unwrap();
            let answer = http_get(&pair.frontend.url()).await.unwrap();
            let (frontend, backend) = pair.stop().await.unwrap();

            assert_eq!(answer, (StatusCode::OK, "OK".into()));
            frontend.assert_success();
            backend.assert_success();
            let received = google.received();
            assert_eq!(received.batches.len(), 2, "one batch from each program");
            for batch in &received.batches {
                assert_eq!(batch.project, "projects/another-project");
                for (resource_name, _) in &batch.spans {
                    assert!(
                        resource_name.starts_with("projects/another-project/traces/"),
                        "{resource_name}"
                    );
                }
            }
        },
    );
}

/// The exporter asks for a token at its first export, not at start-up: credentials Google
/// refuses are an error on stderr for each export, and the program keeps answering.
#[test]
fn credentials_google_refuses_are_reported_on_stderr() {
    run_isolated(
        "credentials_google_refuses_are_reported_on_stderr",
        || async {
            let google = FakeGoogle::start(Behaviour::RefusingTokens).await;
            let backend = Service::start("step-06-backend", &google.env())
                .await
                .unwrap();
            let answer = http_get(&backend.url()).await.unwrap();
            let exited = backend.stop().await.unwrap();

            assert_eq!(answer.0, StatusCode::OK);
            exited.assert_success();
            assert!(
                exited
                    .stderr
                    .lines()
                    .any(|line| line.contains("ERROR") && line.contains("ExportAuthorizeError")),
                "no error naming the refusal on stderr:\n{}",
                exited.stderr
            );
            assert!(!google.received().refused.is_empty(), "Google was asked");
        },
    );
}

/// Contract tests run steps 01 to 07 but this one through a failing backend; step 06's
/// frontend is held to the same script here, its spans read from the stand-in.
#[test]
fn a_failing_backend_is_an_error_answer_and_the_frontend_recovers_at_once() {
    run_isolated(
        "a_failing_backend_is_an_error_answer_and_the_frontend_recovers_at_once",
        || async {
            let google = FakeGoogle::start(Behaviour::Answering).await;
            let port = ClosedPort::new();
            let mut env = google.env();
            env.extend([("BACKEND_URL", port.url()), ("BACKEND_TIMEOUT_MS", "1000")]);
            let frontend = Service::start("step-06-frontend", &env).await.unwrap();

            let answered = fake_backend::play_recovery_script(port, &frontend.url()).await;

            frontend.stop().await.unwrap().assert_success();
            let expected = fake_backend::recovery_statuses();
            assert_eq!(answered, expected);
            fake_backend::assert_requests_failed_as_answered(&google.spans(), &expected);
        },
    );
}

/// The table of hostile trace headers (`workshop::harness::hostile_headers`), at both of step 06's
/// services, as `tests/hostile_headers.rs` runs it at steps 05 and 07: each header read as the
/// 0.32 SDK's propagator reads it.
#[test]
fn hostile_trace_headers_are_answered_and_only_valid_context_continues() {
    run_isolated(
        "hostile_trace_headers_are_answered_and_only_valid_context_continues",
        || async {
            let cases: Vec<_> = hostile_headers::cases()
                .iter()
                .map(|case| case.as_read_by(read_by_sdk_0_32))
                .collect();
            let google = FakeGoogle::start(Behaviour::Answering).await;
            let fake_backend = FakeBackend::answering(StatusCode::OK).await;
            let mut env = google.env();
            env.push(("BACKEND_URL", fake_backend.url()));
            let frontend = Service::start("step-06-frontend", &env).await.unwrap();
            let backend = Service::start("step-06-backend", &google.env())
                .await
                .unwrap();

            let to_frontend = hostile_headers::send(&frontend.url(), &cases).await;
            let to_backend = hostile_headers::send(&backend.url(), &cases).await;

            frontend.stop().await.unwrap().assert_success();
            backend.stop().await.unwrap().assert_success();
            hostile_headers::assert_all_ok(&cases, &to_frontend);
            hostile_headers::assert_all_ok(&cases, &to_backend);
            let spans = google.spans();
            let (frontend_spans, backend_spans): (Vec<_>, Vec<_>) = spans
                .into_iter()
                .partition(|span| span.service == "frontend");
            hostile_headers::check_frontend(
                &cases,
                &fake_backend.received(),
                &frontend_spans,
                true,
                hostile_headers::Level::Stock,
            );
            // Cloud Trace keeps at most 32 attributes a span: 65 members of baggage cannot all
            // arrive.
            hostile_headers::check_backend(&cases, &backend_spans, false);
        },
    );
}

/// What the 0.32 SDK's W3C propagator, reading through the 0.32 `HeaderExtractor`, makes of
/// `headers`: how step 06 reads its callers (`hostile_headers::read_by_sdk`, on 0.32).
fn read_by_sdk_0_32(headers: &axum::http::HeaderMap) -> hostile_headers::Read {
    use opentelemetry_0_32::{propagation::TextMapPropagator, trace::TraceContextExt};
    let cx = opentelemetry_sdk_0_32::propagation::TraceContextPropagator::new()
        .extract(&opentelemetry_http_0_32::HeaderExtractor(headers));
    let span = cx.span();
    let read = span.span_context();
    read.is_valid().then(|| {
        let tracestate = read.trace_state().header();
        (
            read.trace_id().to_string(),
            read.span_id().to_string(),
            (!tracestate.is_empty()).then_some(tracestate),
        )
    })
}
