//! The trace viewer (`cargo run -p trace-viewer`) as a reader runs it: step 07's real programs
//! send it their spans, protobuf and JSON, each program its own batches, children before their
//! parents; it draws each trace whole, once.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use axum::http::StatusCode;
use workshop::{
    process::{self, Pair, Service, StopSignal, TRACE_VIEWER, http_get},
    steps,
};

/// The viewer's drawing with what changes from run to run blurred: ids, durations and the
/// waterfall's bars; runs of spaces made one.
fn blurred(drawing: &str) -> String {
    drawing
        .lines()
        .map(|line| {
            let words: Vec<String> = line
                .split_whitespace()
                .map(|word| {
                    if word.len() == 32 && word.chars().all(|c| c.is_ascii_hexdigit()) {
                        "<id>".to_owned()
                    } else if word
                        .trim_start_matches("(+")
                        .contains(|c: char| c.is_ascii_digit())
                        && word.contains('.')
                    {
                        word.chars()
                            .map(|c| if c.is_ascii_digit() { 'N' } else { c })
                            .collect::<String>()
                            .replace("NN", "N")
                            .replace("NN", "N")
                            .replace("N.N", "N")
                    } else {
                        word.replace('█', "")
                    }
                })
                .filter(|word| !word.is_empty())
                .collect();
            words.join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
        .trim_end()
        .to_owned()
}

const ONE_TRACE: &str = "\
trace <id>
3 spans from frontend and backend, N ms
service span kind duration waterfall
frontend incoming call server N ms
frontend └─ backend call client N ms
· making backend call (+N ms)
backend └─ backend call received server N ms
· handling backend call (+N ms)
demo.origin = frontend
";

#[tokio::test]
async fn draws_each_trace_whole_from_protobuf_and_json_exports() {
    let viewer = Service::start(TRACE_VIEWER, &[]).await.unwrap();
    let endpoint = viewer.url().trim_end_matches('/').to_owned();
    let step = steps::find("07").unwrap();

    for (drawn, protocol) in ["http/protobuf", "http/json"].into_iter().enumerate() {
        let env = [
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
        ];
        let pair = Pair::start_with(step, &env, &[]).await.unwrap();
        let answer = http_get(&pair.frontend.url()).await.unwrap();
        assert_eq!(answer, (StatusCode::OK, "OK".into()));
        // Each program sends its own batch when it stops. The frontend's comes first: a root
        // and a client span whose child, in the backend's batch, is still to come. Given time
        // enough to draw it (more than the viewer's settling time), the viewer must wait.
        pair.frontend.stop().await.unwrap().assert_success();
        tokio::time::sleep(Duration::from_millis(1200)).await;
        pair.backend.stop().await.unwrap().assert_success();
        // Drawn live, whole, before the viewer is stopped.
        viewer
            .wait_for_output("3 spans from frontend and backend", drawn + 1)
            .await;
    }
    let exited = viewer.stop_with(StopSignal::Interrupt).await.unwrap();
    exited.assert_success();

    let expected = format!("{ONE_TRACE}\n{ONE_TRACE}");
    assert_eq!(
        blurred(&exited.stdout),
        blurred(&expected),
        "the viewer drew:\n{}",
        exited.stdout
    );
    assert!(!exited.stdout.contains("again"), "{}", exited.stdout);
    assert!(
        exited.stdout.lines().all(|line| line.chars().count() <= 80),
        "80 columns:\n{}",
        exited.stdout
    );
}

#[tokio::test]
async fn a_bad_listen_addr_exits_2_and_a_malformed_export_is_a_400() {
    let exited = process::run_to_exit(TRACE_VIEWER, &[("LISTEN_ADDR", "nowhere")])
        .await
        .unwrap();
    assert_eq!(exited.status.code(), Some(2), "{exited:?}");
    assert!(
        exited
            .stderr
            .starts_with("error: LISTEN_ADDR=\"nowhere\": ")
    );

    let viewer = Service::start(TRACE_VIEWER, &[]).await.unwrap();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let traces = format!("{}v1/traces", viewer.url());
    for (content_type, body) in [
        ("application/x-protobuf", &b"\xff\xff\xff"[..]),
        ("application/json", &b"{\"resourceSpans\": 7}"[..]),
        ("text/plain", &b"spans"[..]),
    ] {
        let answer = client
            .post(&traces)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let expected = match content_type {
            "text/plain" => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            _ => StatusCode::BAD_REQUEST,
        };
        assert_eq!(answer.status(), expected, "{content_type}");
    }
    let exited = viewer.stop().await.unwrap();
    exited.assert_success();
    assert_eq!(exited.stdout, "", "nothing drawn from bad exports");
}
