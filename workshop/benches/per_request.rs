//! The tracing work one request does in step 07's programs, operation by operation,
//! with the SDK set up as they set it up (always-on sampler, batch processor): starting and
//! ending a span with an event, injecting and extracting the context, and each service's whole
//! share. Only the exporter differs: here it drops each batch, so that what is measured is the
//! request's own path, not the network. The steps are programs, not libraries, so their calls
//! are repeated here as step 07 makes them: keep the two alike.
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
    trace::{Span, SpanKind, TraceContextExt, Tracer, TracerProvider},
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

/// The frontend's tracing work for one request, as `handle_request` does it in step 07.
fn frontend_request(
    tracer: &SdkTracer,
    incoming: &W3cTraceContextPropagator,
    outgoing: &TextMapCompositePropagator,
    caller_headers: &HeaderMap,
) -> HeaderMap {
    let caller_cx = incoming.extract(&W3cHeaderExtractor::new(caller_headers));
    let span = tracer
        .span_builder("incoming call")
        .with_kind(SpanKind::Server)
        .start_with_context(tracer, &caller_cx);
    let cx = caller_cx
        .with_span(span)
        .with_baggage([KeyValue::new("demo.origin", "frontend")]);
    let backend_span = tracer
        .span_builder("backend call")
        .with_kind(SpanKind::Client)
        .start_with_context(tracer, &cx);
    let backend_cx = cx.with_span(backend_span);
    let mut headers = HeaderMap::new();
    outgoing.inject_context(&backend_cx, &mut HeaderInjector(&mut headers));
    backend_cx.span().add_event("making backend call", vec![]);
    backend_cx.span().end();
    cx.span().end();
    headers
}

/// The backend's tracing work for one request, as `handle_request` does it in step 07.
fn backend_request(
    tracer: &SdkTracer,
    propagator: &TextMapCompositePropagator,
    headers: &HeaderMap,
) {
    let parent_cx = propagator.extract(&W3cHeaderExtractor::new(headers));
    let mut span = tracer
        .span_builder("backend call received")
        .with_kind(SpanKind::Server)
        .start_with_context(tracer, &parent_cx);
    for (key, (value, _metadata)) in parent_cx.baggage() {
        span.set_attribute(KeyValue::new(key.clone(), value.clone()));
    }
    span.add_event("handling backend call", vec![]);
    span.end();
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

fn requests(c: &mut Criterion) {
    let provider = provider(Sampler::AlwaysOn);
    let tracer = provider.tracer("bench");
    let (incoming, outgoing) = (W3cTraceContextPropagator::new(), propagator());
    // A caller that sends no trace, as `curl` and the load do.
    let no_headers = HeaderMap::new();
    c.bench_function("request: the frontend's tracing work", |b| {
        b.iter(|| frontend_request(&tracer, &incoming, &outgoing, black_box(&no_headers)))
    });
    let headers = headers_as_sent(&tracer);
    c.bench_function("request: the backend's tracing work", |b| {
        b.iter(|| backend_request(&tracer, &outgoing, black_box(&headers)))
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
    targets = spans, context, requests
}
criterion_main!(per_request);
