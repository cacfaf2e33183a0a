//! The latest local step under load, through both of its real programs, exporting to receivers
//! in the test: every request answered, every span received, and what SIGTERM does to the
//! requests in flight. The figures are printed (`cargo test --test load -- --nocapture`).

#![allow(clippy::unwrap_used)]

use std::{collections::BTreeMap, time::Instant};

use futures_util::{StreamExt, stream};
use workshop::{
    process::Pair,
    spans,
    steps::{self, Step},
};

const REQUESTS: usize = 10_000;
const CONCURRENCY: usize = 32;

fn latest() -> &'static Step {
    let step = steps::latest_local();
    assert!(step.otlp, "the latest local step exports with OTLP");
    step
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// Sends `count` requests to `url`, `CONCURRENCY` at a time; the answers by status (0: no
/// answer at all).
async fn send(url: &str, count: usize) -> BTreeMap<u16, usize> {
    let client = client();
    let answers: Vec<u16> = stream::iter(0..count)
        .map(|_| {
            let client = client.clone();
            async move {
                match client.get(url).send().await {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        // The whole answer, as a real client reads it.
                        let _ = response.bytes().await;
                        status
                    }
                    Err(_) => 0,
                }
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let mut by_status = BTreeMap::new();
    for status in answers {
        *by_status.entry(status).or_insert(0) += 1;
    }
    by_status
}

#[tokio::test(flavor = "multi_thread")]
async fn ten_thousand_requests_every_one_answered_and_every_span_received() {
    let step = latest();
    let pair = Pair::start(step, &[]).await.unwrap();
    let began = Instant::now();
    let answers = send(&pair.frontend.url(), REQUESTS).await;
    let elapsed = began.elapsed();
    let (frontend, backend) = pair.stop().await.unwrap();
    frontend.assert_success();
    backend.assert_success();

    let frontend_spans = frontend.parse_spans().unwrap();
    let backend_spans = backend.parse_spans().unwrap();
    let mut all = frontend_spans.clone();
    all.extend(backend_spans.iter().cloned());
    let traces = spans::traces(&all);
    println!(
        "load: {REQUESTS} requests at concurrency {CONCURRENCY} in {elapsed:.2?} ({:.0}/s); \
         answers by status: {answers:?}; spans expected {}, received {} (frontend {}, backend \
         {}); traces {}",
        REQUESTS as f64 / elapsed.as_secs_f64(),
        3 * REQUESTS,
        all.len(),
        frontend_spans.len(),
        backend_spans.len(),
        traces.len(),
    );
    assert_eq!(answers, BTreeMap::from([(200, REQUESTS)]));
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
}
