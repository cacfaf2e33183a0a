//! The trace viewer (`cargo run -p trace-viewer`) as a reader runs it: step 07's real programs
//! send it their spans, as protobuf, and passed on as JSON by a relay, each program its own
//! batches, children before their parents; it draws each trace whole, once.

#![allow(clippy::unwrap_used)]

#[path = "common/json_relay.rs"]
mod json_relay;

use std::time::Duration;

use axum::http::StatusCode;
use workshop::{
    harness::drawing::blurred,
    harness::process::{self, Pair, Service, StopSignal, TRACE_VIEWER, http_get},
    steps,
};

const ONE_TRACE: &str = "\
trace <id>
3 spans from frontend and backend, 9.9 ms
service span kind duration waterfall
frontend incoming call server 9.9 ms
frontend └─ backend call client 9.9 ms
· making backend call (+9.9 ms)
backend └─ backend call received server 9.9 ms
· handling backend call (+9.9 ms)
demo.origin = frontend
";

#[tokio::test]
async fn draws_each_trace_whole_from_protobuf_and_json_exports() {
    let viewer = Service::start(TRACE_VIEWER, &[]).await.unwrap();
    let endpoint = viewer.url().trim_end_matches('/').to_owned();
    let step = steps::find("07").unwrap();

    for (drawn, as_json) in [false, true].into_iter().enumerate() {
        let endpoint = match as_json {
            false => endpoint.clone(),
            true => json_relay::start(endpoint.clone()).await,
        };
        let env = [("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str())];
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

/// The web page's address, asked for with `VIEWER_PAGE_ADDR`, must be an address and free: if
/// not, one line names the variable and what to do, and the viewer exits 2 before it takes any
/// trace.
#[tokio::test]
async fn a_bad_or_taken_page_address_exits_2_naming_the_variable() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = taken.local_addr().unwrap().to_string();
    for (value, advice) in [
        ("nowhere", "expected HOST:PORT"),
        (taken.as_str(), "another program is using this port"),
    ] {
        let exited = process::run_to_exit(TRACE_VIEWER, &[("VIEWER_PAGE_ADDR", value)])
            .await
            .unwrap();
        assert_eq!(exited.status.code(), Some(2), "{exited:?}");
        let stderr = exited.stderr.trim_end();
        assert!(
            stderr.starts_with(&format!("error: VIEWER_PAGE_ADDR={value:?}: ")),
            "{stderr}"
        );
        assert!(stderr.contains(advice), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert_eq!(exited.stdout, "");
    }
}

/// Anyone who can reach a backend chooses what its span holds: the baggage it copies onto its
/// span comes from the caller, percent-decoded. The viewer must show it, never pass it on to the
/// terminal: here an escape that would set the window's title and clear the screen.
#[tokio::test]
async fn what_a_caller_puts_in_a_span_reaches_the_terminal_written_out_never_raw() {
    let viewer = Service::start(TRACE_VIEWER, &[]).await.unwrap();
    let endpoint = viewer.url().trim_end_matches('/').to_owned();
    let backend = Service::start(
        &steps::find("07").unwrap().backend(),
        &[("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str())],
    )
    .await
    .unwrap();
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let answer = client
        .get(backend.url())
        .header(
            "baggage",
            "evil=%1B%5D0%3BOWNED%07%1B%5B2J,bidi=%E2%80%AEdrow",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
    backend.stop().await.unwrap().assert_success();
    viewer.wait_for_output("1 span from backend", 1).await;
    let exited = viewer.stop().await.unwrap();
    exited.assert_success();

    let drawn = &exited.stdout;
    assert!(drawn.contains(r"evil = \x1b]0;OWNED\x07\x1b[2J"), "{drawn}");
    assert!(drawn.contains(r"bidi = \u{202e}drow"), "{drawn}");
    // Not one byte a terminal acts on but the line ends.
    let acted_on = |c: char| (c.is_control() && c != '\n') || c == '\u{202e}';
    assert!(!drawn.contains(acted_on), "{drawn:?}");
}
