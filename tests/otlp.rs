//! Step 07's real programs, exporting with opentelemetry-otlp's own exporter: to a receiver in
//! the test (the trace viewer's), configured by the standard variables as the exporter reads
//! them, and to endpoints that refuse or never answer. (The contract tests run step 07 too:
//! the trace, errors, signals.)

#![allow(clippy::unwrap_used)]

use std::{sync::Arc, time::Duration};

use axum::http::StatusCode;
use trace_viewer::{otlp::Encoding, receiver::Receiver};
use workshop::{
    harness::otlp_variables::{BAD_VALUES, Read},
    harness::process::{Pair, http_get, run_to_exit},
    spans::{self, outline},
    steps,
};

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

    run_pair(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)], 2).await;

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
    // A refusal the export then got past is no news: nothing is logged.
    let logs = format!("{frontend_log}{backend_log}");
    assert!(
        !logs.contains(" WARN ") && !logs.contains(" ERROR "),
        "{logs}"
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

/// Runs step 07's backend with `variable=value`, exporting to a receiver of the test's, sends
/// it one request if it starts, and says what became of the value.
async fn read_by_the_exporter(variable: &str, value: &str) -> (Read, String) {
    let receiver = Receiver::bind("127.0.0.1:0").await.unwrap();
    let endpoint = receiver.endpoint();
    let mut env = vec![("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str())];
    // The case's variable wins over the receiver's endpoint where it is the same.
    env.retain(|(name, _)| *name != variable);
    env.push((variable, value));
    let backend = match workshop::harness::process::Service::start(&step_07().backend(), &env).await
    {
        Ok(backend) => backend,
        Err(_) => {
            let exited = run_to_exit(&step_07().backend(), &env).await.unwrap();
            assert_eq!(exited.status.code(), Some(2), "{}", exited.stderr);
            let lines: Vec<&str> = exited.stderr.lines().collect();
            assert_eq!(lines.len(), 1, "one line: {}", exited.stderr);
            assert!(lines[0].contains(variable), "{}", lines[0]);
            return (Read::Refused, exited.stderr);
        }
    };
    let answer = http_get(&backend.url()).await.unwrap();
    assert_eq!(answer.0, StatusCode::OK);
    let exited = backend.stop().await.unwrap();
    let warnings: Vec<&str> = exited
        .stderr
        .lines()
        .filter(|line| line.contains(" WARN ") || line.contains(" ERROR "))
        .collect();
    let arrived = receiver.spans().len();
    let read = match (arrived, warnings.as_slice()) {
        (1, []) => Read::Ignored,
        (1, [warning]) if warning.contains(variable) => Read::Warned,
        (0, [_, ..]) => Read::ExportsFail,
        _ => panic!("{arrived} spans arrived: {}", exited.stderr),
    };
    (read, exited.stderr)
}

#[tokio::test]
async fn otlp_variables_are_read_as_the_exporter_reads_them() {
    for (variable, value, expected) in BAD_VALUES {
        let (read, stderr) = read_by_the_exporter(variable, value).await;
        assert_eq!(read, expected, "{variable}={value:?}: {stderr}");
    }
}
/// An OTLP endpoint that accepts connections, reads the exports and never answers: the
/// provider's shutdown times out within what is left of the budget, and says so.
#[tokio::test]
async fn spans_an_endpoint_never_answers_for_end_the_shutdown_in_its_budget_with_exit_1() {
    let silent = workshop::harness::fake_backend::Unanswering::new().await;
    let endpoint = silent.url();
    // The default timeout of one export (10 s), and one longer than any shutdown may take.
    for timeout in [None, Some("60000")] {
        let mut env = vec![("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)];
        env.extend(timeout.map(|timeout| ("OTEL_EXPORTER_OTLP_TIMEOUT", timeout)));
        let backend = workshop::harness::process::Service::start(&step_07().backend(), &env)
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
            last_line.starts_with("error: the last spans may be lost: ")
                && last_line.contains("Timeout"),
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
    let stuck = workshop::harness::fake_backend::Unanswering::new().await;
    let backend_url = format!("{}/", stuck.url());
    let frontend = workshop::harness::process::Service::start(
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
