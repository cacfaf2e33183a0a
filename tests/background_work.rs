//! Step 13's real programs, work off the request's path: the backend's spawned task stays in
//! the request's trace; each request's job is processed in a `consumer` span that starts a trace
//! of its own, linked to the `producer` span that sent it, with the messaging conventions'
//! attributes and its log record under it; a job still running at SIGTERM is finished and
//! exported; one that outlasts the shutdown's budget is a warning, not a hang; `JOB_WORK_MS` is
//! held to the programs' rules.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use opentelemetry::trace::SpanKind;
use reqwest::StatusCode;
use workshop::{
    harness::process::{Pair, assert_refused_at_start, http_get},
    spans::{self, SpanRecord, the_span},
    steps::{self, Step},
};

fn step_13() -> &'static Step {
    steps::find("13").unwrap()
}

/// Runs step 13 with the backend's variables `backend_env`, sends `count` requests, stops both
/// programs with SIGTERM right after the last answer, and returns what the backend exported
/// and its stderr, once both exited 0.
// ANCHOR: real_programs
async fn requests_then_sigterm(
    backend_env: &[(&str, &str)],
    count: usize,
) -> (Vec<SpanRecord>, String) {
    let pair = Pair::start_with(step_13(), backend_env, &[]).await.unwrap();
    for _ in 0..count {
        let answer = http_get(&pair.frontend.url()).await.unwrap();
        assert_eq!(answer, (StatusCode::OK, "OK".into()));
    }
    let (frontend, backend) = pair.stop().await.unwrap();
    frontend.assert_success();
    backend.assert_success();
    let mut spans = frontend.spans();
    spans.extend(backend.spans());
    (spans, backend.stderr)
}
// ANCHOR_END: real_programs

fn messaging(operation: &str) -> Vec<(String, String)> {
    [
        ("messaging.destination.name", "jobs"),
        ("messaging.operation.name", operation),
        ("messaging.operation.type", operation),
        ("messaging.system", "tokio"),
    ]
    .map(|(key, value)| (key.to_owned(), value.to_owned()))
    .to_vec()
}

fn attributes(span: &SpanRecord) -> Vec<(String, String)> {
    span.attributes
        .iter()
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

#[tokio::test]
async fn the_spawned_task_stays_in_the_request_and_the_job_links_to_its_sender() {
    // ANCHOR: end_to_end
    let (spans, _) = requests_then_sigterm(&[], 1).await;

    let received = the_span(&spans, "backend call received");
    let computed = the_span(&spans, "compute answer");
    assert_eq!(computed.trace_id, received.trace_id);
    assert_eq!(computed.parent_span_id, Some(received.span_id));
    assert_eq!(computed.kind, SpanKind::Internal);

    let sent = the_span(&spans, "send jobs");
    assert_eq!(sent.kind, SpanKind::Producer);
    assert_eq!(
        (sent.trace_id, sent.parent_span_id),
        (received.trace_id, Some(received.span_id))
    );
    assert_eq!(attributes(sent), messaging("send"));

    // The job's span: a trace of its own, no parent, one link, to exactly the span that sent it.
    let processed = the_span(&spans, "process jobs");
    assert_eq!(processed.kind, SpanKind::Consumer);
    assert_ne!(processed.trace_id, sent.trace_id);
    assert_eq!(processed.parent_span_id, None);
    assert_eq!(attributes(processed), messaging("process"));
    let links: Vec<_> = processed
        .links
        .iter()
        .map(|link| (link.trace_id, link.span_id))
        .collect();
    assert_eq!(links, [(sent.trace_id, sent.span_id)]);
    // ANCHOR_END: end_to_end
    assert!(processed.event("job processed").is_some(), "{processed:#?}");

    // Two traces, which the request groups as one: what trace.txt draws.
    assert_eq!(spans::traces(&spans).len(), 2);
    let requests = spans::requests(&spans);
    assert_eq!(requests.len(), 1);
    assert!(
        step_13().is_its_trace(&spans::outline(&requests[0])),
        "{}",
        spans::outline(&requests[0])
    );
}

#[tokio::test]
async fn each_request_has_its_own_job_linked_to_its_own_sender() {
    let (spans, _) = requests_then_sigterm(&[], 3).await;
    let senders: Vec<&SpanRecord> = spans.iter().filter(|s| s.name == "send jobs").collect();
    let jobs: Vec<&SpanRecord> = spans.iter().filter(|s| s.name == "process jobs").collect();
    assert_eq!((senders.len(), jobs.len()), (3, 3));
    for sender in senders {
        let linked: Vec<_> = jobs
            .iter()
            .filter(|job| {
                job.links
                    .iter()
                    .any(|link| (link.trace_id, link.span_id) == (sender.trace_id, sender.span_id))
            })
            .collect();
        assert_eq!(
            linked.len(),
            1,
            "one job for the request {}",
            sender.trace_id
        );
    }
    assert_eq!(spans::requests(&spans).len(), 3);
}

#[tokio::test]
async fn a_job_still_running_at_sigterm_is_finished_and_its_span_exported() {
    // Each job takes 1 s; the programs are stopped right after the answer, while it runs.
    let (spans, stderr) = requests_then_sigterm(&[("JOB_WORK_MS", "1000")], 1).await;
    let processed = the_span(&spans, "process jobs");
    let took = processed.end.duration_since(processed.start).unwrap();
    assert!(took >= Duration::from_millis(1000), "{took:?}");
    assert!(processed.event("job processed").is_some());
    // It ended after the request's answer: the backend stopped, then finished the job.
    let received = the_span(&spans, "backend call received");
    assert!(processed.end > received.end);
    assert!(!stderr.contains("WARN"), "{stderr}");
}

#[tokio::test]
async fn a_job_that_outlasts_the_shutdown_budget_is_a_warning_not_a_hang() {
    // A job of 60 s cannot finish in the 9 s the shutdown has: the backend waits what is left
    // of them, says the job is lost, and still shuts down in its budget with the request's spans.
    let pair = Pair::start_with(step_13(), &[("JOB_WORK_MS", "60000")], &[])
        .await
        .unwrap();
    let answer = http_get(&pair.frontend.url()).await.unwrap();
    assert_eq!(answer, (StatusCode::OK, "OK".into()));
    let stopping = Instant::now();
    let (frontend, backend) = pair.stop().await.unwrap();
    let took = stopping.elapsed();
    frontend.assert_success();
    backend.assert_success();
    assert!(took < Duration::from_secs(11), "{took:?}");
    assert!(
        backend
            .stderr
            .contains("the job worker did not finish in time: jobs still queued are lost"),
        "{}",
        backend.stderr
    );
    let spans = backend.spans();
    the_span(&spans, "send jobs");
    assert!(spans.iter().all(|span| span.name != "process jobs"));
}

#[tokio::test]
async fn a_bad_job_work_ms_exits_2_naming_it() {
    for value in ["soon", "-1", "1.5"] {
        assert_refused_at_start(&step_13().backend(), "JOB_WORK_MS", value).await;
    }
}
