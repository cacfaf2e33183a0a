//! Trace headers from strangers, at both services of steps 05 and 07, each run as a real
//! process: the table in `workshop::harness::hostile_headers` (the W3C test suite's malformed
//! `traceparent` cases, `tracestate` over its limits or with bad keys,
//! oversized baggage, bytes that are not text). Every request is answered `200 OK`, and each
//! header is read as the SDK's own propagator reads it (`hostile_headers::read_by_sdk`): what it
//! continues is continued, and the rest starts a new trace. Step 06 runs the same table in
//! `tests/cloud_trace`, against its Google stand-in.

// In a test, an unwrap is an assertion: a failure panics with the error, which fails the test.
#![allow(clippy::unwrap_used)]

use reqwest::StatusCode;
use workshop::{
    harness::fake_backend::FakeBackend,
    harness::hostile_headers::{self, assert_all_ok},
    harness::process::Service,
    steps::{self, Step},
};

macro_rules! hostile_header_tests {
    ($($module:ident: $number:literal,)*) => {$(
        mod $module {
            fn step() -> &'static workshop::steps::Step {
                workshop::steps::find($number).expect("a listed step")
            }
            #[tokio::test]
            async fn the_frontend_answers_every_case_and_sends_on_only_valid_context() {
                super::the_frontend_answers_every_case_and_sends_on_only_valid_context(step())
                    .await
            }
            #[tokio::test]
            async fn the_backend_answers_every_case_and_continues_only_valid_context() {
                super::the_backend_answers_every_case_and_continues_only_valid_context(step())
                    .await
            }
        }
    )*};
}

hostile_header_tests! {
    step_05: "05",
    step_07: "07",
    step_08: "08",
    step_09: "09",
    step_10: "10",
    step_11: "11",
    step_12: "12",
    step_13: "13",
}

#[test]
fn every_local_step_with_a_traced_backend_is_tested_here() {
    let source = include_str!("hostile_headers.rs");
    for step in steps::STEPS
        .iter()
        .filter(|step| step.local && step.backend_traced)
    {
        let line = format!("step_{0}: \"{0}\",", step.number);
        assert!(source.contains(&line), "step {} is not tested", step.number);
    }
}

/// The checks need every case's spans, a caller's "not sampled" among them. From step 09 on
/// the sampler follows the caller unless told otherwise (`propagators_and_sampling.rs` checks
/// that); the steps before keep every trace anyway.
const KEEP_EVERY_TRACE: (&str, &str) = ("OTEL_TRACES_SAMPLER", "always_on");

/// The table, as the steps' propagator reads it.
fn cases() -> Vec<hostile_headers::Case> {
    let cases = hostile_headers::cases().into_iter();
    cases
        .map(|case| case.as_read_by(hostile_headers::read_by_sdk))
        .collect()
}

async fn the_frontend_answers_every_case_and_sends_on_only_valid_context(step: &Step) {
    let cases = cases();
    let backend = FakeBackend::answering(StatusCode::OK).await;
    let env = [("BACKEND_URL", backend.url()), KEEP_EVERY_TRACE];
    let frontend = Service::start(&step.frontend(), &env).await.unwrap();

    let answers = hostile_headers::send(&frontend.url(), &cases).await;

    let exited = frontend.stop().await.unwrap();
    exited.assert_success();
    assert_all_ok(&cases, &answers);
    let spans = exited.spans();
    hostile_headers::check_frontend(
        &cases,
        &backend.received(),
        &spans,
        step.frontend_continues_caller,
        hostile_headers::Level::Stock,
    );
    println!(
        "step {} frontend: {} cases, {} answered 200, {} spans exported",
        step.number,
        cases.len(),
        answers.len(),
        spans.len()
    );
}

async fn the_backend_answers_every_case_and_continues_only_valid_context(step: &Step) {
    let cases = cases();
    let backend = Service::start(&step.backend(), &[KEEP_EVERY_TRACE])
        .await
        .unwrap();

    let answers = hostile_headers::send(&backend.url(), &cases).await;

    let exited = backend.stop().await.unwrap();
    exited.assert_success();
    assert_all_ok(&cases, &answers);
    let spans = exited.spans();
    hostile_headers::check_backend(&cases, &spans, true);
    println!(
        "step {} backend: {} cases, {} answered 200, {} spans exported",
        step.number,
        cases.len(),
        answers.len(),
        spans.len()
    );
}

/// Where the SDK's propagator, as the steps use it, reads a header otherwise than the
/// specifications say. A change here (a new SDK release) is news: the hardening chapter's
/// table of these cases must change with it.
#[test]
fn the_sdks_propagator_departs_from_the_specifications_in_these_cases() {
    let differences = hostile_headers::stock_differences(hostile_headers::read_by_sdk);
    for (specified, stock) in &differences {
        println!(
            "{}: the specification: {}; the SDK: {}",
            specified.name,
            specified.outcome(),
            stock.outcome()
        );
    }
    let names: Vec<&str> = differences.iter().map(|(case, _)| case.name).collect();
    assert_eq!(
        names,
        [
            "version too long",
            "version too short",
            "trace id too short",
            "parent id too long",
            "parent id too short",
            "flags too long",
            "flags too short",
            "ids of one digit each",
            "two different traceparent headers",
            "the same traceparent twice",
            "tracestate in three headers",
            "33 tracestate members",
            "33 tracestate members in two headers",
            "tracestate key of 257 characters",
            "tracestate keys of 256 and 241@13 characters",
            "tracestate key with two @",
            "tracestate key with @@",
            "tracestate system id of 14 characters",
            "tracestate system id of 15 characters",
            "tracestate tenant id of 242 characters",
            "tracestate key twice, the same",
            "tracestate value empty",
            "tracestate not UTF-8",
        ]
    );
}
