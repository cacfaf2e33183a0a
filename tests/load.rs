//! Step 07 under load, through both of its real programs, exporting to receivers
//! in the test: every request answered, every span received, and what SIGTERM does to the
//! requests in flight. The figures are printed (`cargo test --test load -- --nocapture`).

#![allow(clippy::unwrap_used)]

use std::{
    collections::BTreeMap,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use tokio::net::TcpListener;
use workshop::{
    harness::load::{self, Answers},
    harness::process::Pair,
    spans,
    steps::{self, Step},
};

const REQUESTS: usize = 10_000;
const CONCURRENCY: usize = 32;

/// Step 07: the post's three spans per request, exported with OTLP, as the README and the cost
/// chapter describe the load (later steps add the HTTP client's own spans).
fn latest() -> &'static Step {
    let step = steps::find("07").unwrap();
    assert!(step.otlp, "step 07 exports with OTLP");
    step
}

/// Sends `count` requests to `url`, `CONCURRENCY` at a time, counting the answered ones in
/// `answered` as they come.
async fn send(url: &str, count: usize, answered: Arc<AtomicUsize>) -> Answers {
    load::send(&load::client().unwrap(), url, count, CONCURRENCY, &answered).await
}

#[tokio::test(flavor = "multi_thread")]
async fn ten_thousand_requests_every_one_answered_and_every_span_received() {
    let step = latest();
    let pair = Pair::start(step, &[]).await.unwrap();
    let answers = send(&pair.frontend.url(), REQUESTS, Arc::default()).await;
    let (frontend, backend) = pair.stop().await.unwrap();
    frontend.assert_success();
    backend.assert_success();

    let frontend_spans = frontend.parse_spans().unwrap();
    let backend_spans = backend.parse_spans().unwrap();
    let mut all = frontend_spans.clone();
    all.extend(backend_spans.iter().cloned());
    let traces = spans::traces(&all);
    println!(
        "load: {REQUESTS} requests at concurrency {CONCURRENCY} in {:.2?} ({:.0}/s); \
         {}; spans expected {}, received {} (frontend {}, backend {}); traces {}",
        answers.elapsed,
        answers.per_second(),
        answers.describe(),
        3 * REQUESTS,
        all.len(),
        frontend_spans.len(),
        backend_spans.len(),
        traces.len(),
    );
    assert_eq!(answers.by_status, BTreeMap::from([(200, REQUESTS)]));
    assert_eq!(
        frontend_spans.len(),
        2 * REQUESTS,
        "every frontend span received"
    );
    assert_eq!(backend_spans.len(), REQUESTS, "every backend span received");
    assert_eq!(traces.len(), REQUESTS);
    for trace in &traces {
        assert_eq!(spans::outline(trace), step.trace);
    }
    // The SDK's own count: its queue never overflowed.
    assert_eq!(frontend.spans_dropped() + backend.spans_dropped(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_queue_too_small_drops_spans_and_says_how_many() {
    // The count the benchmark reads, checked where it cannot be 0: a queue of 2 spans, under
    // load, overflows. Every span is then either received or counted as dropped.
    const SENT: usize = 2_000;
    let step = latest();
    let tiny_queue = [
        ("OTEL_BSP_MAX_QUEUE_SIZE", "2"),
        ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "2"),
    ];
    let pair = Pair::start_with(step, &tiny_queue, &[]).await.unwrap();
    let answers = send(&pair.frontend.url(), SENT, Arc::default()).await;
    let (frontend, backend) = pair.stop().await.unwrap();
    frontend.assert_success();
    backend.assert_success();
    assert_eq!(answers.by_status, BTreeMap::from([(200, SENT)]));
    let received = frontend.parse_spans().unwrap().len() + backend.parse_spans().unwrap().len();
    let dropped = frontend.spans_dropped() + backend.spans_dropped();
    println!("a queue of 2: {received} spans received, {dropped} dropped");
    assert!(dropped > 0, "{}", frontend.stderr);
    assert_eq!(received as u64 + dropped, 3 * SENT as u64);
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_under_load_exports_every_span_of_every_answered_request() {
    let step = latest();
    let pair = Pair::start(step, &[]).await.unwrap();
    let url = pair.frontend.url();
    let answered = Arc::new(AtomicUsize::new(0));
    let load = tokio::spawn({
        let answered = answered.clone();
        async move { send(&url, REQUESTS, answered).await }
    });
    // SIGTERM once the load is in full swing, as a deploy sends it.
    while answered.load(Ordering::Relaxed) < 1_000 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let frontend = pair.frontend.stop().await.unwrap();
    let answers = load.await.unwrap();
    let backend = pair.backend.stop().await.unwrap();
    frontend.assert_success();
    backend.assert_success();

    let ok = answers.by_status.get(&200).copied().unwrap_or(0);
    let frontend_spans = frontend.parse_spans().unwrap().len();
    let backend_spans = backend.parse_spans().unwrap().len();
    println!(
        "shutdown under load: {}; spans expected {} (for the {ok} answered), received {} \
         (frontend {frontend_spans}, backend {backend_spans}); lost {}",
        answers.describe(),
        3 * ok,
        frontend_spans + backend_spans,
        (3 * ok).saturating_sub(frontend_spans + backend_spans),
    );
    // Requests in flight finished with their answer; after that, new connections are refused
    // (no answer at all), never answered with an error.
    assert!(ok >= 1_000, "{answers:?}");
    assert_eq!(
        ok + answers.by_status.get(&0).copied().unwrap_or(0),
        REQUESTS
    );
    // Every answered request's spans, and no more.
    assert_eq!(frontend_spans, 2 * ok);
    assert_eq!(backend_spans, ok);
}

/// An OTLP endpoint that takes connections and never answers.
async fn black_hole() -> (String, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    let holding = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((connection, _)) = listener.accept().await {
            held.push(connection);
        }
    });
    (endpoint, holding)
}

/// An address where nothing listens.
async fn closed_port() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    format!("http://{}", listener.local_addr().unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn with_the_exporter_down_or_black_holed_every_request_is_answered_in_bounded_memory() {
    const OUTAGE_REQUESTS: usize = 5_000;
    let step = latest();
    let (black_hole, _holding) = black_hole().await;
    // First with the endpoint up (each program's own receiver), for figures to set beside the
    // outages' in the printed lines.
    let outages = [
        ("up", None),
        ("down", Some(closed_port().await)),
        ("black-holed", Some(black_hole)),
    ];
    for (outage, endpoint) in outages {
        // A short export timeout (the default is 10 s) keeps the black hole's shutdown short.
        let mut env = vec![("OTEL_EXPORTER_OTLP_TIMEOUT", "500")];
        if let Some(endpoint) = &endpoint {
            env.push(("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint));
        }
        let pair = Pair::start_with(step, &env, &[]).await.unwrap();
        let url = pair.frontend.url();
        // Warmed up: the connections made, the first exports done (or failed).
        let warm_up = send(&url, 500, Arc::default()).await;
        assert_eq!(warm_up.by_status, BTreeMap::from([(200, 500)]));
        let before = pair.frontend.resident_kib();
        let answers = send(&url, OUTAGE_REQUESTS, Arc::default()).await;
        let after = pair.frontend.resident_kib();
        let (frontend, backend) = pair.stop().await.unwrap();

        let warnings = frontend
            .stderr
            .lines()
            .filter(|line| line.contains(" WARN ") || line.contains(" ERROR "))
            .count();
        println!(
            "exporter {outage}: {OUTAGE_REQUESTS} requests in {:.2?}; {}; frontend \
             memory {before:?} KiB before, {after:?} KiB after; {warnings} warning lines on \
             its stderr; exit codes {:?} and {:?}",
            answers.elapsed,
            answers.describe(),
            frontend.status.code(),
            backend.status.code(),
        );
        assert_eq!(answers.by_status, BTreeMap::from([(200, OUTAGE_REQUESTS)]));
        // The exporter's queue holds at most 2048 spans: memory stays where it was, give or
        // take what the allocator keeps.
        if let (Some(before), Some(after)) = (before, after) {
            assert!(after < before + 32 * 1024, "{before} KiB, then {after} KiB");
        }
        if endpoint.is_none() {
            assert_eq!(warnings, 0, "{}", frontend.stderr);
            continue;
        }
        // Told, not shouted: the SDK writes a line or two per failed batch of up to 512 spans,
        // not one per request.
        assert!(warnings >= 1, "the loss is reported:\n{}", frontend.stderr);
        assert!(
            warnings <= OUTAGE_REQUESTS / 50,
            "a line per batch:\n{}",
            frontend.stderr
        );
    }
}
