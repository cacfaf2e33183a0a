//! Step 10's real programs, written with the `tracing` crate: they export the trace step 09's
//! programs export, written with OpenTelemetry's API (the same spans, kinds, parents, events
//! and baggage, in one trace); a log line written in a handler names that request's trace; and
//! `RUST_LOG` chooses log lines without taking spans from the trace.

#![allow(clippy::unwrap_used)]

use reqwest::StatusCode;
use workshop::{
    harness::process::{self, Exited, Pair, http_get, run_to_exit},
    spans::{self, SpanRecord, outline, the_span},
    steps::{self, Step},
};

fn step_09() -> &'static Step {
    steps::find("09").unwrap()
}

fn step_10() -> &'static Step {
    steps::find("10").unwrap()
}

/// Runs `step`'s two programs with `env` given to both, sends one request, stops them, and
/// returns what they logged and exported.
async fn one_request(step: &Step, env: &[(&str, &str)]) -> (Exited, Exited, Vec<SpanRecord>) {
    let pair = Pair::start_with(step, env, &[]).await.unwrap();
    let answer = http_get(&pair.frontend.url()).await.unwrap();
    let (frontend, backend) = pair.stop().await.unwrap();
    assert_eq!(answer, (StatusCode::OK, "OK".into()));
    frontend.assert_success();
    backend.assert_success();
    let spans = process::exported_spans(step, &frontend, &backend).unwrap();
    (frontend, backend, spans)
}

/// The trace's structure: each span's service, name and kind, where it hangs, and its events,
/// as [`outline`] draws them, without the attributes.
fn structure(spans: &[SpanRecord]) -> String {
    outline(spans)
        .lines()
        .map(|line| match line.find(") ") {
            Some(end) => format!("{}\n", &line[..=end]),
            None => format!("{line}\n"),
        })
        .collect()
}

#[tokio::test]
async fn the_tracing_crate_exports_the_same_trace_as_the_opentelemetry_api() {
    let ((_, _, with_tracing), (_, _, with_the_api)) =
        tokio::join!(one_request(step_10(), &[]), one_request(step_09(), &[]));

    // One trace across both services, each time.
    assert_eq!(spans::traces(&with_tracing).len(), 1);
    assert_eq!(spans::traces(&with_the_api).len(), 1);
    assert_eq!(
        structure(&with_tracing),
        structure(&with_the_api),
        "step 10:\n{}\nstep 09:\n{}",
        outline(&with_tracing),
        outline(&with_the_api)
    );
    // Every attribute step 09's spans have, step 10's have too, with the same value, but for
    // the ports the system picked (the baggage the backend records among them).
    for theirs in &with_the_api {
        let ours = with_tracing
            .iter()
            .find(|span| span.service == theirs.service && span.name == theirs.name)
            .unwrap();
        for (key, value) in &theirs.attributes {
            let mine = ours.attributes.get(key);
            assert!(mine.is_some(), "{} has no {key}", ours.name);
            if !key.ends_with(".port") && key != "url.full" {
                assert_eq!(mine, Some(value), "{} {key}", ours.name);
            }
        }
    }
}

#[tokio::test]
async fn a_log_line_written_in_a_handler_names_its_trace_and_span() {
    let (frontend, backend, spans) = one_request(step_10(), &[]).await;

    let backend_call = the_span(&spans, "backend call");
    let received = the_span(&spans, "backend call received");
    let frontend_line = format!(
        "step_10_frontend: making backend call trace_id={} span_id={}",
        backend_call.trace_id, backend_call.span_id
    );
    let backend_line = format!(
        "step_10_backend: handling backend call trace_id={} span_id={}",
        received.trace_id, received.span_id
    );
    let logged = |exited: &Exited, line: &str| exited.stderr.lines().any(|l| l.ends_with(line));
    assert!(logged(&frontend, &frontend_line), "{}", frontend.stderr);
    assert!(logged(&backend, &backend_line), "{}", backend.stderr);
    // The frontend's line names the spans it was written in, from the request's down.
    assert!(
        frontend.stderr.contains(&format!(
            " INFO incoming call:backend call: {frontend_line}\n"
        )),
        "{}",
        frontend.stderr
    );
}

#[tokio::test]
async fn a_callers_baggage_never_replaces_the_server_spans_own_attributes() {
    let backend = process::Service::start(&step_10().backend(), &[])
        .await
        .unwrap();
    let baggage = "http.route=%2Fevil,url.path=%2Fevil,demo.origin=caller";
    let answer = process::http_get_with(&backend.url(), &[("baggage", baggage)])
        .await
        .unwrap();
    let exited = backend.stop().await.unwrap();
    assert_eq!(answer, (StatusCode::OK, "OK".into()));
    let spans = exited.spans();
    let received = the_span(&spans, "backend call received");
    assert_eq!(received.attributes["http.route"], "/");
    assert_eq!(received.attributes["url.path"], "/");
    assert_eq!(received.attributes["demo.origin"], "caller");
}

#[tokio::test]
async fn with_rust_log_at_warn_the_trace_is_still_whole() {
    let (frontend, backend, spans) = one_request(step_10(), &[("RUST_LOG", "warn")]).await;

    assert_eq!(outline(&spans), step_10().trace);
    // And the log has no INFO line: RUST_LOG did choose what was logged.
    for exited in [&frontend, &backend] {
        assert!(!exited.stderr.contains(" INFO "), "{}", exited.stderr);
        assert!(exited.stderr.contains("listening on http://"));
    }
}

#[tokio::test]
async fn a_rust_log_it_cannot_read_exits_2_naming_it() {
    let step = step_10();
    for package in [step.frontend(), step.backend()] {
        let exited = run_to_exit(&package, &[("RUST_LOG", "info,step_10=loud")])
            .await
            .unwrap();
        assert_eq!(exited.status.code(), Some(2), "{}", exited.stderr);
        assert!(
            exited
                .stderr
                .starts_with("error: RUST_LOG=\"info,step_10=loud\": ")
                && exited.stderr.lines().count() == 1,
            "{}",
            exited.stderr
        );
    }
}
