//! Where the latency goes, checked with step 08's real programs and the delay proxy: the backend
//! given 200 ms of simulated work (`BACKEND_WORK_MS`), the network between the services given
//! 50 ms each way (`cargo run -p delay-proxy`). The spans must account for both, as the chapter
//! "Where does the latency go?" reads them: the backend's share is its server span, the network
//! out is from `send request` starting to the backend's span starting, the network back is
//! from the backend's span ending to `send request` ending (the answer's headers arriving).

#![allow(clippy::unwrap_used)]

use std::time::{Duration, SystemTime};

use reqwest::StatusCode;
use workshop::{
    harness::process::{self, DELAY_PROXY, Service, http_get},
    spans::{self, SpanRecord, the_span},
    steps,
};

const WORK: Duration = Duration::from_millis(200);
const DELAY: Duration = Duration::from_millis(50);
/// How far above what was injected a share may be, in the median over the requests: the
/// services' own work, the loopback network and the scheduler's wake-ups, on a busy machine.
const TOLERANCE: Duration = Duration::from_millis(20);
const REQUESTS: usize = 5;

/// The shares of one trace's time, as the chapter attributes them.
#[derive(Debug)]
struct Breakdown {
    total: Duration,
    frontend_before_and_after: Duration,
    network_out: Duration,
    backend: Duration,
    simulated_work: Duration,
    network_back: Duration,
    reading_the_body: Duration,
}

fn between(from: SystemTime, to: SystemTime) -> Duration {
    to.duration_since(from).unwrap_or_else(|_| {
        panic!("{to:?} is before {from:?}");
    })
}

fn breakdown(trace: &[SpanRecord]) -> Breakdown {
    let incoming = the_span(trace, "incoming call");
    let call = the_span(trace, "backend call");
    let send = the_span(trace, "send request");
    let received = the_span(trace, "backend call received");
    let work = the_span(trace, "simulated work");
    let read = the_span(trace, "read body");
    assert_eq!(work.parent_span_id, Some(received.span_id));
    Breakdown {
        total: incoming.duration(),
        frontend_before_and_after: incoming.duration() - call.duration(),
        network_out: between(send.start, received.start),
        backend: received.duration(),
        simulated_work: work.duration(),
        network_back: between(received.end, send.end),
        reading_the_body: read.duration(),
    }
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort();
    values[values.len() / 2]
}

#[tokio::test]
async fn the_spans_account_for_the_backends_work_and_the_networks_delay() {
    let step = steps::find("08").unwrap();
    let work_ms = WORK.as_millis().to_string();
    let backend = Service::start(&step.backend(), &[("BACKEND_WORK_MS", &work_ms)])
        .await
        .unwrap();
    let delay_ms = DELAY.as_millis().to_string();
    let upstream = backend.address().to_string();
    let proxy = Service::start(
        DELAY_PROXY,
        &[("UPSTREAM_ADDR", &upstream), ("DELAY_MS", &delay_ms)],
    )
    .await
    .unwrap();
    let frontend = Service::start(&step.frontend(), &[("BACKEND_URL", &proxy.url())])
        .await
        .unwrap();
    for _ in 0..REQUESTS {
        let answer = http_get(&frontend.url()).await.unwrap();
        assert_eq!(answer, (StatusCode::OK, "OK".into()));
    }
    let frontend = frontend.stop().await.unwrap();
    let proxy = proxy.stop().await.unwrap();
    let backend = backend.stop().await.unwrap();
    proxy.assert_success();
    let spans = process::exported_spans(step, &frontend, &backend).unwrap();
    let traces = spans::traces(&spans);
    assert_eq!(traces.len(), REQUESTS);
    println!("{}", spans::render(&traces[1]));

    let breakdowns: Vec<Breakdown> = traces.iter().map(|trace| breakdown(trace)).collect();
    for (request, shares) in breakdowns.iter().enumerate() {
        println!("request {request}: {shares:?}");
        // Each delay is a floor: nothing can come sooner than it was let through.
        assert!(shares.simulated_work >= WORK, "{shares:?}");
        assert!(shares.backend >= shares.simulated_work, "{shares:?}");
        assert!(shares.network_out >= DELAY, "{shares:?}");
        assert!(shares.network_back >= DELAY, "{shares:?}");
    }
    // And in the median over the requests, nothing much else: the shares are the delays.
    type Share = (&'static str, Duration, fn(&Breakdown) -> Duration);
    let shares: [Share; 7] = [
        // The frontend was given no work: its own share is next to nothing.
        ("frontend", Duration::ZERO, |b| b.frontend_before_and_after),
        ("reading the body", Duration::ZERO, |b| b.reading_the_body),
        ("simulated work", WORK, |b| b.simulated_work),
        ("backend", WORK, |b| b.backend),
        ("network out", DELAY, |b| b.network_out),
        ("network back", DELAY, |b| b.network_back),
        ("whole request", WORK + 2 * DELAY, |b| b.total),
    ];
    for (share, injected, pick) in shares {
        let median = median(breakdowns.iter().map(pick).collect());
        println!("{share}: median {median:?}, injected {injected:?}");
        assert!(
            median < injected + TOLERANCE,
            "{share}: median {median:?}, injected {injected:?}, tolerance {TOLERANCE:?}"
        );
    }
}

#[tokio::test]
async fn the_delay_proxy_refuses_an_upstream_without_a_port() {
    let exited = process::run_to_exit(DELAY_PROXY, &[("UPSTREAM_ADDR", "backend")])
        .await
        .unwrap();
    assert_eq!(exited.status.code(), Some(2), "{}", exited.stderr);
    assert_eq!(
        exited.stderr.trim(),
        "error: UPSTREAM_ADDR=\"backend\": expected HOST:PORT, for example 127.0.0.1:8081"
    );
}
