//! Step 09's real programs, and step 10's (step 09 written with the `tracing` crate), configured
//! the standard way: `OTEL_PROPAGATORS` chooses the trace
//! header formats read and sent (a backend that reads `jaeger` continues a trace from a client
//! that sends only `uber-trace-id`), and `OTEL_TRACES_SAMPLER` which traces are kept (a ratio
//! holds over many traces, the backend follows the frontend's decision, an unknown name stops
//! the program at start-up). The ratio over 1,000 traces runs on step 09 alone: both steps
//! hand the same SDK sampler the same variables.

#![allow(clippy::unwrap_used)]

use std::sync::atomic::AtomicUsize;

use opentelemetry::trace::{SpanId, TraceId};
use reqwest::StatusCode;
use workshop::{
    harness::fake_backend::FakeBackend,
    harness::load,
    harness::process::{self, Pair, Service, http_get, http_get_with},
    spans::{self, SpanRecord, outline, the_span},
    steps,
};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID: &str = "00f067aa0ba902b7";

fn step_09() -> &'static steps::Step {
    steps::find("09").unwrap()
}

/// The steps that read `OTEL_PROPAGATORS` and `OTEL_TRACES_SAMPLER`: step 09, and step 10, which
/// is step 09 written with the `tracing` crate.
fn steps_reading_otel_env() -> [&'static steps::Step; 2] {
    [step_09(), steps::find("10").unwrap()]
}

/// Starts `step`'s backend with `env`, sends it one request with the header `name: value`,
/// stops it, and returns its spans.
async fn backend_spans_for(
    step: &steps::Step,
    env: &[(&str, &str)],
    name: &str,
    value: &str,
) -> Vec<SpanRecord> {
    let backend = Service::start(&step.backend(), env).await.unwrap();
    let answer = http_get_with(&backend.url(), &[(name, value)])
        .await
        .unwrap();
    assert_eq!(answer, (StatusCode::OK, "OK".into()));
    let exited = backend.stop().await.unwrap();
    exited.assert_success();
    exited.spans()
}

#[tokio::test]
async fn a_backend_reading_jaeger_continues_a_trace_sent_only_in_uber_trace_id() {
    for step in steps_reading_otel_env() {
        let uber_trace_id = format!("{TRACE_ID}:{PARENT_ID}:0:1");
        let env = [("OTEL_PROPAGATORS", "tracecontext,baggage,jaeger")];

        let spans = backend_spans_for(step, &env, "uber-trace-id", &uber_trace_id).await;

        let received = the_span(&spans, "backend call received");
        assert_eq!(received.trace_id, TraceId::from_hex(TRACE_ID).unwrap());
        assert_eq!(
            received.parent_span_id,
            Some(SpanId::from_hex(PARENT_ID).unwrap())
        );

        // By default it reads only the W3C headers: the same request starts a trace of its own.
        let spans = backend_spans_for(step, &[], "uber-trace-id", &uber_trace_id).await;
        let received = the_span(&spans, "backend call received");
        assert_ne!(received.trace_id, TraceId::from_hex(TRACE_ID).unwrap());
        assert_eq!(received.parent_span_id, None);
    }
}

#[tokio::test]
async fn the_frontend_sends_the_formats_otel_propagators_names_and_reports_unknown_ones_once() {
    for step in steps_reading_otel_env() {
        let backend = FakeBackend::answering(StatusCode::OK).await;
        let env = [
            ("BACKEND_URL", backend.url()),
            // `xcloudtrace` needs a cargo feature, off here as in the quick start (step 09's
            // frontend tests Google's propagator with it on).
            ("OTEL_PROPAGATORS", "jaeger, b3 ,xcloudtrace,b3"),
        ];
        let frontend = Service::start(&step.frontend(), &env).await.unwrap();
        for _ in 0..2 {
            assert_eq!(http_get(&frontend.url()).await.unwrap().0, StatusCode::OK);
        }
        let exited = frontend.stop().await.unwrap();
        exited.assert_success();

        let warnings: Vec<&str> = exited
            .stderr
            .lines()
            .filter(|line| line.contains("OTEL_PROPAGATORS"))
            .collect();
        assert_eq!(
            warnings,
            [
                "warning: OTEL_PROPAGATORS: b3, xcloudtrace not known here, left out \
              (known: tracecontext, baggage, jaeger, none); for xcloudtrace, build with \
              --features xcloudtrace"
            ]
        );
        let spans = exited.spans();
        let received = backend.received();
        for headers in &received {
            assert!(headers.get("traceparent").is_none(), "{headers:?}");
            assert!(headers.get("baggage").is_none(), "{headers:?}");
            // What Jaeger's own propagator (the 0.32 crate) reads from it: the span it was sent
            // from.
            let read = read_by_jaeger(headers);
            let call = spans
                .iter()
                .find(|span| span.name == "backend call" && span.span_id == read.span_id)
                .unwrap_or_else(|| panic!("no backend call span {read:?}: {}", outline(&spans)));
            assert_eq!(call.trace_id, read.trace_id);
            assert_eq!((read.sampled, read.debug), (true, false));
        }
        assert_eq!(received.len(), 2);
    }
}

/// A span context as Jaeger's propagator read it, in the 0.33 API's terms.
#[derive(Debug)]
struct ReadByJaeger {
    trace_id: TraceId,
    span_id: SpanId,
    sampled: bool,
    /// Jaeger's debug flag, which the propagator keeps as a trace flag of its own (0x04).
    debug: bool,
}

/// The `uber-trace-id` in `headers`, read by the card's Jaeger propagator (on the 0.32 API), as
/// a Jaeger service receiving the request would read it.
fn read_by_jaeger(headers: &reqwest::header::HeaderMap) -> ReadByJaeger {
    use opentelemetry_0_32::{propagation::TextMapPropagator, trace::TraceContextExt};

    let uber = headers["uber-trace-id"].to_str().unwrap();
    let carrier = std::collections::HashMap::from([("uber-trace-id".to_owned(), uber.to_owned())]);
    #[allow(deprecated)] // the Jaeger propagator, deprecated with its format
    let cx = opentelemetry_jaeger_propagator::Propagator::new().extract(&carrier);
    let span = cx.span();
    let read = span.span_context();
    assert!(read.is_valid(), "Jaeger's propagator refused {uber:?}");
    ReadByJaeger {
        trace_id: TraceId::from_bytes(read.trace_id().to_bytes()),
        span_id: SpanId::from_bytes(read.span_id().to_bytes()),
        sampled: read.is_sampled(),
        debug: read.trace_flags().to_u8() & 0x04 != 0,
    }
}

#[tokio::test]
async fn a_jaeger_callers_debug_flag_goes_on_to_the_backend() {
    for step in steps_reading_otel_env() {
        let backend = FakeBackend::answering(StatusCode::OK).await;
        let env = [
            ("BACKEND_URL", backend.url()),
            ("OTEL_PROPAGATORS", "jaeger"),
        ];
        let frontend = Service::start(&step.frontend(), &env).await.unwrap();
        // Flags 3: sampled, and debug (keep this trace whatever the sampling).
        let uber_trace_id = format!("{TRACE_ID}:{PARENT_ID}:0:3");

        let answer = http_get_with(&frontend.url(), &[("uber-trace-id", &uber_trace_id)])
            .await
            .unwrap();

        let exited = frontend.stop().await.unwrap();
        exited.assert_success();
        assert_eq!(answer, (StatusCode::OK, "OK".into()));
        let sent = &backend.received()[0];
        let read = read_by_jaeger(sent);
        assert_eq!(read.trace_id, TraceId::from_hex(TRACE_ID).unwrap());
        assert_eq!((read.sampled, read.debug), (true, true), "{sent:?}");
        let call = the_span(&exited.spans(), "backend call").clone();
        assert_eq!(call.span_id, read.span_id);
    }
}

#[tokio::test]
async fn the_frontend_continues_a_jaeger_callers_trace_but_sends_none_of_its_baggage_on() {
    for step in steps_reading_otel_env() {
        let backend = FakeBackend::answering(StatusCode::OK).await;
        let env = [
            ("BACKEND_URL", backend.url()),
            ("OTEL_PROPAGATORS", "tracecontext,baggage,jaeger"),
        ];
        let frontend = Service::start(&step.frontend(), &env).await.unwrap();
        // A caller on the internet, speaking Jaeger: its trace, and 40 entries of Jaeger baggage,
        // which Jaeger's propagator would put in the trace state and the W3C one send on.
        let uber_trace_id = format!("{TRACE_ID}:{PARENT_ID}:0:1");
        let names: Vec<String> = (0..40).map(|index| format!("uberctx-key{index}")).collect();
        let mut headers = vec![("uber-trace-id", uber_trace_id.as_str())];
        headers.extend(names.iter().map(|name| (name.as_str(), "value")));

        let answer = http_get_with(&frontend.url(), &headers).await.unwrap();

        let exited = frontend.stop().await.unwrap();
        exited.assert_success();
        assert_eq!(answer, (StatusCode::OK, "OK".into()));
        let incoming = the_span(&exited.spans(), "incoming call").clone();
        assert_eq!(incoming.trace_id, TraceId::from_hex(TRACE_ID).unwrap());
        assert_eq!(
            incoming.parent_span_id,
            Some(SpanId::from_hex(PARENT_ID).unwrap())
        );
        let sent = &backend.received()[0];
        let traceparent = sent["traceparent"].to_str().unwrap();
        // Sampled, and not random: a Jaeger header says nothing of how its trace id was made.
        assert!(
            traceparent.starts_with(&format!("00-{TRACE_ID}-")) && traceparent.ends_with("-01"),
            "{traceparent}"
        );
        assert!(
            sent.get("tracestate").is_none_or(|state| state.is_empty()),
            "{sent:?}"
        );
        assert_eq!(sent["baggage"], "demo.origin=frontend");
        assert!(
            sent.keys()
                .all(|name| !name.as_str().starts_with("uberctx-")),
            "{sent:?}"
        );
    }
}

#[tokio::test]
async fn a_ratio_keeps_about_that_fraction_of_traces_and_the_backend_follows() {
    const REQUESTS: usize = 1000;
    const RATIO: f64 = 0.25;
    let pair = Pair::start(
        step_09(),
        &[
            ("OTEL_TRACES_SAMPLER", "traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.25"),
        ],
    )
    .await
    .unwrap();
    let client = load::client().unwrap();
    let answers = load::send(
        &client,
        &pair.frontend.url(),
        REQUESTS,
        16,
        &AtomicUsize::new(0),
    )
    .await;
    let (frontend, backend) = pair.stop().await.unwrap();
    assert_eq!(answers.ok(), REQUESTS, "{}", answers.describe());
    frontend.assert_success();
    backend.assert_success();

    let spans = process::exported_spans(step_09(), &frontend, &backend).unwrap();
    let traces = spans::traces(&spans);
    // Each trace is kept with probability 0.25: the count is binomial, its standard deviation
    // sqrt(1000 * 0.25 * 0.75) = 13.7. Five of them either side fails a correct sampler once
    // in about 1.7 million runs, and a sampler that keeps 0.2 or 0.3 almost always.
    let expected = REQUESTS as f64 * RATIO;
    let spread = 5.0 * (expected * (1.0 - RATIO)).sqrt();
    let kept = traces.len() as f64;
    println!("kept {kept} of {REQUESTS} traces; expected {expected} ± {spread:.0}");
    assert!(
        (kept - expected).abs() <= spread,
        "kept {kept} of {REQUESTS}"
    );
    // The backend kept exactly the traces the frontend kept, whole.
    for trace in &traces {
        let outline = outline(trace);
        assert!(step_09().is_its_trace(&outline), "{outline}");
    }
}

#[tokio::test]
async fn a_sampled_out_parent_yields_no_backend_span() {
    for step in steps_reading_otel_env() {
        // The backend's default sampler follows the caller: flags 00, not sampled, keep nothing.
        let not_sampled = format!("00-{TRACE_ID}-{PARENT_ID}-00");
        let spans = backend_spans_for(step, &[], "traceparent", &not_sampled).await;
        assert!(spans.is_empty(), "{}", outline(&spans));
        // The same request, sampled: the span is there, in the caller's trace.
        let sampled = format!("00-{TRACE_ID}-{PARENT_ID}-01");
        let spans = backend_spans_for(step, &[], "traceparent", &sampled).await;
        assert_eq!(
            the_span(&spans, "backend call received").trace_id,
            TraceId::from_hex(TRACE_ID).unwrap()
        );

        // A frontend that keeps nothing: the backend, following it, keeps nothing either.
        let pair = Pair::start(step, &[("OTEL_TRACES_SAMPLER", "always_off")])
            .await
            .unwrap();
        for _ in 0..5 {
            assert_eq!(
                http_get(&pair.frontend.url()).await.unwrap().0,
                StatusCode::OK
            );
        }
        let (frontend, backend) = pair.stop().await.unwrap();
        frontend.assert_success();
        backend.assert_success();
        let spans = process::exported_spans(step, &frontend, &backend).unwrap();
        assert!(spans.is_empty(), "{}", outline(&spans));
    }
}

/// The SDK reads `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG` (the steps set no sampler):
/// a name it does not know, or a ratio that is not one, is a warning and the default,
/// `parentbased_always_on`, or a ratio of 1. The backend serves, and keeps a trace that starts
/// there. (Step 09 prints the SDK's warning: its exporter-error printer is on before the
/// provider is built. Step 10 sets up `tracing` after it, and the warning goes unseen.)
#[tokio::test]
async fn an_unknown_sampler_or_a_bad_ratio_is_read_as_the_sdk_reads_it() {
    for step in steps_reading_otel_env() {
        for (env, warning) in [
            (
                [
                    ("OTEL_TRACES_SAMPLER", "sometimes"),
                    ("OTEL_TRACES_SAMPLER_ARG", ""),
                ],
                "Unrecognized sampler type 'sometimes' in OTEL_TRACES_SAMPLER",
            ),
            (
                [
                    ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
                    ("OTEL_TRACES_SAMPLER_ARG", "10%"),
                ],
                "Falling back to default ratio: 1.0",
            ),
        ] {
            let backend = Service::start(&step.backend(), &env).await.unwrap();
            let answer = http_get(&backend.url()).await.unwrap();
            let exited = backend.stop().await.unwrap();
            exited.assert_success();
            assert_eq!(answer, (StatusCode::OK, "OK".into()));
            let spans = exited.spans();
            the_span(&spans, "backend call received");
            if step.number == "09" {
                assert!(exited.stderr.contains(warning), "{}", exited.stderr);
            }
        }
    }
}
