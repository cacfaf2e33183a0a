//! The hardening chapter's claims, each measured in one run against the stock crates: step 07's
//! backend (the exporter, its variables and its shutdown as opentelemetry-otlp and the SDK
//! make them) beside the hardened backend (the same, with `hardening`'s additions), given the
//! same endpoint or the same variable.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use workshop::{
    harness::fake_backend::{ClosedPort, Unanswering},
    harness::otlp_variables::BAD_VALUES,
    harness::process::{Exited, HARDENED_BACKEND as HARDENED, Service, http_get, run_to_exit},
    steps,
};

fn stock() -> String {
    steps::find("07").unwrap().backend()
}

/// Runs `program` with `env`, sends it one request, stops it, and says how long it took to
/// stop.
async fn one_request(program: &str, env: &[(&str, &str)]) -> (Exited, Duration) {
    let backend = Service::start(program, env).await.unwrap();
    let answer = http_get(&backend.url()).await.unwrap();
    assert_eq!(answer.0, StatusCode::OK);
    let signalled = Instant::now();
    let exited = backend.stop().await.unwrap();
    (exited, signalled.elapsed())
}

fn last_line(exited: &Exited) -> &str {
    exited.stderr.lines().last().unwrap_or_default()
}

/// The program's own `error:` line. (At a shutdown that ran out of time, the SDK's thread may
/// still write its own line after it.)
fn error_line(exited: &Exited) -> &str {
    exited
        .stderr
        .lines()
        .rfind(|line| line.starts_with("error: "))
        .unwrap_or_default()
}

#[tokio::test]
async fn an_endpoint_that_is_not_there_is_exit_0_stock_and_exit_1_counted_hardened() {
    let nobody = ClosedPort::new();
    let env = [(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        nobody.url().trim_end_matches('/'),
    )];

    let (stock, _) = one_request(&stock(), &env).await;
    let (hardened, took) = one_request(HARDENED, &env).await;

    println!(
        "stock: exit {:?}, {:?}",
        stock.status.code(),
        last_line(&stock)
    );
    println!(
        "hardened: exit {:?} after {took:?}, {:?}",
        hardened.status.code(),
        last_line(&hardened)
    );
    // The stock shutdown says nothing of the lost span: only the export's warning tells.
    assert_eq!(stock.status.code(), Some(0), "{}", stock.stderr);
    assert!(
        stock.stderr.contains("BatchSpanProcessor.ExportError"),
        "{}",
        stock.stderr
    );
    assert_eq!(hardened.status.code(), Some(1), "{}", hardened.stderr);
    assert!(
        last_line(&hardened).starts_with("error: 1 span not delivered: "),
        "{}",
        hardened.stderr
    );
    assert!(took < Duration::from_secs(9), "{took:?}");
}

#[tokio::test]
async fn an_endpoint_that_never_answers_is_exit_1_both_ways_and_counted_hardened() {
    let silent = Unanswering::new().await;
    let env = [("OTEL_EXPORTER_OTLP_ENDPOINT", silent.url())];

    let stock_backend = stock();
    let ((stock, stock_took), (hardened, hardened_took)) = tokio::join!(
        one_request(&stock_backend, &env),
        one_request(HARDENED, &env)
    );

    println!(
        "stock: exit {:?} after {stock_took:?}, {:?}",
        stock.status.code(),
        error_line(&stock)
    );
    println!(
        "hardened: exit {:?} after {hardened_took:?}, {:?}",
        hardened.status.code(),
        error_line(&hardened)
    );
    assert_eq!(stock.status.code(), Some(1), "{}", stock.stderr);
    assert!(
        error_line(&stock).starts_with("error: the last spans may be lost: "),
        "{}",
        stock.stderr
    );
    assert_eq!(hardened.status.code(), Some(1), "{}", hardened.stderr);
    assert!(
        error_line(&hardened)
            .starts_with("error: at least 1 span not delivered (1 span still being sent"),
        "{}",
        hardened.stderr
    );
    for took in [stock_took, hardened_took] {
        assert!(took < Duration::from_secs(10), "{took:?}");
    }
}

/// Each value of the table that `tests/otlp.rs` holds the stock backend to: the hardened
/// backend refuses every one at start-up, with one line naming the variable.
#[tokio::test]
async fn every_value_the_exporter_cannot_use_is_refused_at_start_up_hardened() {
    for (variable, value, _) in BAD_VALUES {
        let exited = run_to_exit(HARDENED, &[(variable, value)]).await.unwrap();
        assert_eq!(
            exited.status.code(),
            Some(2),
            "{variable}={value:?}: {}",
            exited.stderr
        );
        let lines: Vec<&str> = exited.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "{variable}={value:?}: {}", exited.stderr);
        assert!(lines[0].starts_with("error: "), "{}", lines[0]);
        assert!(lines[0].contains(variable), "{}", lines[0]);
        println!("{}", lines[0]);
    }
    // And what the exporter can use starts as before.
    let receiver = trace_viewer::receiver::Receiver::bind("127.0.0.1:0")
        .await
        .unwrap();
    let endpoint = receiver.endpoint();
    let (exited, _) = one_request(
        HARDENED,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
            ("OTEL_EXPORTER_OTLP_HEADERS", "x-workshop=hello"),
            ("OTEL_EXPORTER_OTLP_TIMEOUT", "5000"),
        ],
    )
    .await;
    exited.assert_success();
    assert_eq!(receiver.spans().len(), 1);
}
