//! What the SDK's operations on a request's path cost, one at a time, with the SDK set up as
//! step 07 sets it up (always-on sampler, batch processor): starting and ending a span with an
//! event, and injecting and extracting the context. Only the exporter differs: here it drops
//! each batch, so that what is measured is the operation, not the export. A whole request's
//! cost is measured on step 07's own programs, under load, by `--bin cost`: never on a copy of
//! their handlers.
//!
//! `cargo bench -p workshop --bench per_request`; `cargo run --release -p workshop --bin cost`
//! runs it and reads back the estimates criterion writes under `target/criterion/`.

use std::{hint::black_box, time::Duration};

use axum::http::HeaderMap;
use criterion::{Criterion, criterion_group, criterion_main};
use opentelemetry::{
    Context, KeyValue,
    baggage::BaggageExt,
    propagation::{TextMapCompositePropagator, TextMapPropagator},
    trace::{SpanKind, TraceContextExt, Tracer, TracerProvider},
};
use opentelemetry_http::HeaderInjector;
use opentelemetry_sdk::{
    error::OTelSdkResult,
    propagation::BaggagePropagator,
    trace::{Sampler, SdkTracer, SdkTracerProvider, SpanData, SpanExporter},
};
use step_support::{W3cHeaderExtractor, W3cTraceContextPropagator};

/// An exporter that drops every batch at once.
#[derive(Debug)]
struct Discard;

impl SpanExporter for Discard {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        drop(black_box(batch));
        Ok(())
    }
}

/// A provider as the steps build theirs, with `sampler`.
fn provider(sampler: Sampler) -> SdkTracerProvider {
    SdkTracerProvider::builder()
        .with_sampler(sampler)
        .with_batch_exporter(Discard)
        .build()
}

/// The propagators step 07 sends and reads with.
fn propagator() -> TextMapCompositePropagator {
    TextMapCompositePropagator::new(vec![
        Box::new(W3cTraceContextPropagator::new()),
        Box::new(BaggagePropagator::new()),
    ])
}

/// What the frontend sends the backend: a `traceparent`, and the demo's baggage.
fn headers_as_sent(tracer: &SdkTracer) -> HeaderMap {
    let span = tracer.start("backend call");
    let cx =
        Context::current_with_span(span).with_baggage([KeyValue::new("demo.origin", "frontend")]);
    let mut headers = HeaderMap::new();
    propagator().inject_context(&cx, &mut HeaderInjector(&mut headers));
    headers
}

fn spans(c: &mut Criterion) {
    let sampled = provider(Sampler::AlwaysOn);
    let tracer = sampled.tracer("bench");
    let parent = Context::current_with_span(tracer.start("incoming call"));
    c.bench_function("span: start and end, with an event", |b| {
        b.iter(|| {
            let span = tracer
                .span_builder("backend call")
                .with_kind(SpanKind::Client)
                .start_with_context(&tracer, &parent);
            let cx = parent.with_span(span);
            cx.span().add_event("making backend call", vec![]);
            cx.span().end();
        })
    });

    // What a trace the sampler leaves out costs (the production set-up keeps a fraction).
    let unsampled = provider(Sampler::AlwaysOff);
    let unsampled_tracer = unsampled.tracer("bench");
    c.bench_function("span: start and end, with an event, not sampled", |b| {
        b.iter(|| {
            let span = unsampled_tracer
                .span_builder("backend call")
                .with_kind(SpanKind::Client)
                .start_with_context(&unsampled_tracer, &parent);
            let cx = parent.with_span(span);
            cx.span().add_event("making backend call", vec![]);
            cx.span().end();
        })
    });
    let _ = sampled.shutdown();
    let _ = unsampled.shutdown();
}

fn context(c: &mut Criterion) {
    let provider = provider(Sampler::AlwaysOn);
    let tracer = provider.tracer("bench");
    let propagator = propagator();
    let cx = Context::current_with_span(tracer.start("backend call"))
        .with_baggage([KeyValue::new("demo.origin", "frontend")]);
    c.bench_function("context: inject traceparent and baggage", |b| {
        b.iter(|| {
            let mut headers = HeaderMap::new();
            propagator.inject_context(black_box(&cx), &mut HeaderInjector(&mut headers));
            headers
        })
    });

    let headers = headers_as_sent(&tracer);
    c.bench_function("context: extract traceparent and baggage", |b| {
        b.iter(|| propagator.extract(&W3cHeaderExtractor::new(black_box(&headers))))
    });
    let _ = provider.shutdown();
}

fn config() -> Criterion {
    // Short enough for the whole set to take well under a minute; `--bin cost --short` asks
    // for shorter still on the command line, which overrides this.
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = per_request;
    config = config();
    targets = spans, context
}
criterion_main!(per_request);
