//! Step 07's real programs, exporting with OTLP: to a receiver in the test (the trace viewer's),
//! over each protocol and configuration the standard variables choose, and to a stand-in for
//! Google Cloud's OTLP endpoint, with tokens from a token endpoint of the test's own for a
//! service-account key the test made. (The contract tests run step 07 too: the trace, errors,
//! signals.)

#![allow(clippy::unwrap_used)]

#[path = "common/service_account.rs"]
mod service_account;

use std::{
    sync::{Arc, Mutex},
    time::{Duration, SystemTime},
};

use axum::{Router, body::Bytes, extract::State, http::StatusCode, routing::post};
use serde_json::{Value, json};
use trace_viewer::{otlp::Encoding, receiver::Receiver};
use workshop::{
    process::{Pair, assert_refused_at_start, http_get},
    spans::{self, outline},
    steps,
};

use service_account::{ServiceAccount, check_token_request};

fn step_07() -> &'static steps::Step {
    steps::find("07").unwrap()
}

/// Runs step 07's pair with `env` given to both, sends `requests` requests, stops both, and
/// returns what `receiver` got.
async fn run_pair(env: &[(&str, &str)], requests: usize) -> (String, String) {
    let pair = Pair::start_with(step_07(), env, &[]).await.unwrap();
    for _ in 0..requests {
        let answer = http_get(&pair.frontend.url()).await.unwrap();
        assert_eq!(answer, (StatusCode::OK, "OK".into()));
    }
    let (frontend, backend) = pair.stop().await.unwrap();
    frontend.assert_success();
    backend.assert_success();
    (frontend.stderr, backend.stderr)
}

fn one_trace_per_request(receiver: &Receiver, requests: usize) {
    let spans = receiver.spans();
    let traces = spans::traces(&spans);
    assert_eq!(traces.len(), requests, "{}", outline(&spans));
    for trace in traces {
        assert_eq!(outline(&trace), step_07().trace);
    }
}

#[tokio::test]
async fn sends_protobuf_to_the_endpoint_in_otel_exporter_otlp_endpoint() {
    let receiver = Receiver::bind("127.0.0.1:0").await.unwrap();
    let endpoint = receiver.endpoint();

    let (frontend_log, _) = run_pair(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)], 2).await;

    one_trace_per_request(&receiver, 2);
    let received = receiver.inbox().received();
    assert!(received.iter().all(|r| r.encoding == Encoding::Protobuf));
    // Both services say who they are on their resource.
    let services: Vec<&str> = received
        .iter()
        .flat_map(|r| r.export.resources.iter())
        .filter_map(|resource| resource.get("service.name").map(String::as_str))
        .collect();
    assert!(
        services.contains(&"frontend") && services.contains(&"backend"),
        "{services:?}"
    );
    assert!(
        frontend_log.contains(&format!(
            "sending spans to {endpoint}/v1/traces (OTLP, http/protobuf)"
        )),
        "{frontend_log}"
    );
}

/// OpenTelemetry 0.33's exporter tries an export again when the endpoint answers 429, 502, 503
/// or 504 (as the OTLP specification says), within the export's timeout: a collector that is
/// restarting loses no spans. (0.32 dropped the batch.)
#[tokio::test]
async fn an_export_answered_503_is_sent_again_and_no_span_is_lost() {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use axum::{extract::Request, middleware::Next, response::IntoResponse};
    use trace_viewer::receiver::{Inbox, router};

    let inbox = Inbox::default();
    let refused = Arc::new(AtomicUsize::new(0));
    let refusing = refused.clone();
    // The first export is answered 503; the others reach the receiver.
    let app = router(inbox.clone()).layer(axum::middleware::from_fn(
        move |request: Request, next: Next| {
            let refusing = refusing.clone();
            async move {
                match refusing.fetch_add(1, Ordering::SeqCst) {
                    0 => StatusCode::SERVICE_UNAVAILABLE.into_response(),
                    _ => next.run(request).await,
                }
            }
        },
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let (frontend_log, backend_log) =
        run_pair(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)], 3).await;

    // The first export was refused, and sent again: every span arrived.
    assert!(refused.load(Ordering::SeqCst) >= 3, "{refused:?}");
    let spans = inbox.spans();
    let traces = spans::traces(&spans);
    assert_eq!(traces.len(), 3, "{}", outline(&spans));
    for trace in traces {
        assert_eq!(outline(&trace), step_07().trace);
    }
    // The refusal is reported, once, by whoever got it; no span was lost.
    let logs = format!("{frontend_log}{backend_log}");
    let refusals: Vec<&str> = logs
        .lines()
        .filter(|line| line.starts_with("warning: the OTLP endpoint answered 503"))
        .collect();
    assert_eq!(refusals.len(), 1, "{logs}");
    assert!(!logs.contains("spans may have been lost"), "{logs}");
}

#[tokio::test]
async fn sends_json_when_the_protocol_says_http_json() {
    let receiver = Receiver::bind("127.0.0.1:0").await.unwrap();
    let endpoint = receiver.endpoint();

    run_pair(
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"),
        ],
        1,
    )
    .await;

    one_trace_per_request(&receiver, 1);
    let received = receiver.inbox().received();
    assert!(received.iter().all(|r| r.encoding == Encoding::Json));
    assert!(
        received
            .iter()
            .all(|r| r.headers["content-type"] == "application/json")
    );
}

#[tokio::test]
async fn the_traces_endpoint_is_used_as_it_is_and_headers_go_along() {
    let receiver = Receiver::bind("127.0.0.1:0").await.unwrap();
    let traces_endpoint = format!("{}/v1/traces", receiver.endpoint());

    run_pair(
        &[
            // The general endpoint points nowhere: the traces one wins.
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9"),
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", &traces_endpoint),
            (
                "OTEL_EXPORTER_OTLP_HEADERS",
                "x-workshop=hello,x-team=tracing",
            ),
        ],
        1,
    )
    .await;

    one_trace_per_request(&receiver, 1);
    for received in receiver.inbox().received() {
        assert_eq!(received.headers["x-workshop"], "hello");
        assert_eq!(received.headers["x-team"], "tracing");
    }
}

#[tokio::test]
async fn otlp_settings_it_cannot_use_exit_2_naming_them() {
    let cases = [
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "localhost:4318"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "not a url"),
        (
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "ftp://127.0.0.1/v1/traces",
        ),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/xml"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "x-workshop"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "0"),
        ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "soon"),
        ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "=nameless"),
        ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip"),
        ("GOOGLE_CLOUD_OTLP", "yes"),
    ];
    for program in [step_07().frontend(), step_07().backend()] {
        for (variable, value) in cases {
            assert_refused_at_start(&program, variable, value).await;
        }
    }
}

/// A token endpoint standing in for Google's: it checks each request's signature against the
/// service account's key, and gives tokens valid for 21 seconds. gcp_auth counts a token as
/// expired 20 seconds before it expires, so each token is due for renewal after 1 second.
#[derive(Clone)]
struct TokenEndpoint {
    public_key: Arc<Vec<u8>>,
    /// Every token given out: when, and the claims of the JWT it was given for.
    issued: Arc<Mutex<Vec<(String, SystemTime, Value)>>>,
}

const TOKEN_LIFETIME_S: u64 = 21;

async fn token(State(endpoint): State<TokenEndpoint>, body: Bytes) -> (StatusCode, String) {
    match check_token_request(&body, &endpoint.public_key) {
        Ok(claims) => {
            let mut issued = endpoint.issued.lock().unwrap();
            let token = format!("ya29.otlp-{}", issued.len() + 1);
            issued.push((token.clone(), SystemTime::now(), claims));
            let answer = json!({
                "access_token": token,
                "expires_in": TOKEN_LIFETIME_S,
                "token_type": "Bearer",
            });
            (StatusCode::OK, answer.to_string())
        }
        Err(why) => (StatusCode::BAD_REQUEST, why),
    }
}

#[tokio::test]
async fn to_google_cloud_each_export_carries_a_fresh_token_and_the_project() {
    const PROJECT: &str = "workshop-otlp-project";
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let token_uri = format!("http://{}/token", listener.local_addr().unwrap());
    let account = ServiceAccount::create(PROJECT, &token_uri);
    let endpoint = TokenEndpoint {
        public_key: Arc::new(account.public_key.clone()),
        issued: Arc::default(),
    };
    let app = Router::new()
        .route("/token", post(token))
        .with_state(endpoint.clone());
    let token_server = tokio::spawn(async move { axum::serve(listener, app).await });
    // Google's OTLP endpoint, played by the trace viewer's receiver.
    let google = Receiver::bind("127.0.0.1:0").await.unwrap();
    let home = account.folder.path().join("home");
    std::fs::create_dir(&home).unwrap();
    let key_file = account.key_file.display().to_string();
    let google_endpoint = google.endpoint();
    let env = [
        ("GOOGLE_CLOUD_OTLP", "true"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", google_endpoint.as_str()),
        ("GOOGLE_APPLICATION_CREDENTIALS", key_file.as_str()),
        // No gcloud configuration to find instead.
        ("HOME", home.to_str().unwrap()),
        // Export each batch within 100 ms, not 5 s.
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
    ];

    let pair = Pair::start_with(step_07(), &env, &[]).await.unwrap();
    let mut arrivals = google.inbox().arrivals();
    assert_eq!(
        http_get(&pair.frontend.url()).await.unwrap(),
        (StatusCode::OK, "OK".into())
    );
    // Both services' first batches (each program exports its own).
    tokio::time::timeout(
        Duration::from_secs(10),
        arrivals.wait_for(|count| *count >= 2),
    )
    .await
    .unwrap()
    .unwrap();
    // Wait until the tokens are due for renewal: each export after that must bring a new one.
    // (Time is what this test is about; there is no event to wait for instead.)
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        http_get(&pair.frontend.url()).await.unwrap(),
        (StatusCode::OK, "OK".into())
    );
    let (frontend, backend) = pair.stop().await.unwrap();
    frontend.assert_success();
    backend.assert_success();
    token_server.abort();

    one_trace_per_request(&google, 2);
    let issued = endpoint.issued.lock().unwrap().clone();
    for (_, _, claims) in &issued {
        assert_eq!(claims["iss"], service_account::CLIENT_EMAIL);
        assert!(
            claims["scope"].as_str().unwrap().contains("trace.append"),
            "{claims}"
        );
    }
    for export in google.inbox().received() {
        let bearer = export.headers["authorization"]
            .strip_prefix("Bearer ")
            .unwrap();
        let (_, issued_at, _) = issued
            .iter()
            .find(|(token, _, _)| token == bearer)
            .unwrap_or_else(|| panic!("{bearer} was not issued here"));
        // gcp_auth renews a token 1 s after it is issued here; 2 s allows for a slow machine
        // between the check and the send, and still catches a token kept past its renewal.
        let age = export.at.duration_since(*issued_at).unwrap();
        assert!(age < Duration::from_secs(2), "{bearer} was {age:?} old");
        assert_eq!(export.headers["x-goog-user-project"], PROJECT);
        for resource in &export.export.resources {
            assert_eq!(resource["gcp.project_id"], PROJECT);
        }
    }
    // Each program got a token at start-up and a new one for its later export.
    assert!(issued.len() >= 4, "{} tokens issued", issued.len());
}

/// An OTLP endpoint that accepts connections, reads the exports and never answers: the
/// shutdown must neither wait past its budget nor report success.
#[tokio::test]
async fn spans_an_endpoint_never_answers_for_end_the_shutdown_in_its_budget_with_exit_1() {
    let silent = workshop::fake_backend::Unanswering::new().await;
    let endpoint = silent.url();
    // The default timeout of one export (10 s), and one longer than any shutdown may take.
    for timeout in [None, Some("60000")] {
        let mut env = vec![("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)];
        env.extend(timeout.map(|timeout| ("OTEL_EXPORTER_OTLP_TIMEOUT", timeout)));
        let backend = workshop::process::Service::start(&step_07().backend(), &env)
            .await
            .unwrap();
        let answer = http_get(&backend.url()).await.unwrap();
        assert_eq!(answer.0, StatusCode::OK);
        let signalled = std::time::Instant::now();
        let exited = backend.stop().await.unwrap();
        let took = signalled.elapsed();
        assert_eq!(
            exited.status.code(),
            Some(1),
            "{timeout:?}: {}",
            exited.stderr
        );
        assert!(took < Duration::from_secs(10), "{timeout:?}: {took:?}");
        let last_line = exited.stderr.lines().last().unwrap_or_default();
        assert!(
            last_line.starts_with("error: at least 1 span not delivered (1 span still being sent"),
            "{timeout:?}: {}",
            exited.stderr
        );
        println!("{timeout:?}: exit 1 after {took:?}: {last_line}");
    }
}

/// A request still waiting for its backend when the grace is over is cut, without an answer;
/// its spans still reach the exporter, ended where they were cut, and the stop stays within
/// its budget.
#[tokio::test]
async fn a_request_cut_after_the_grace_still_has_its_spans_exported() {
    let stuck = workshop::fake_backend::Unanswering::new().await;
    let backend_url = format!("{}/", stuck.url());
    let frontend = workshop::process::Service::start(
        &step_07().frontend(),
        &[
            ("BACKEND_URL", &backend_url),
            ("BACKEND_TIMEOUT_MS", "60000"),
        ],
    )
    .await
    .unwrap();
    let url = frontend.url();
    let request = tokio::spawn(async move { http_get(&url).await });
    frontend.wait_for_log("Sending request...").await;
    let signalled = std::time::Instant::now();
    let exited = frontend.stop().await.unwrap();
    let took = signalled.elapsed();
    exited.assert_success();
    assert!(request.await.unwrap().is_err(), "cut, without an answer");
    assert!(took < Duration::from_secs(10), "{took:?}");
    let spans = exited.sent.unwrap();
    let names: Vec<&str> = spans.iter().map(|span| span.name.as_str()).collect();
    assert!(names.contains(&"incoming call"), "{names:?}");
    assert!(names.contains(&"backend call"), "{names:?}");
}
