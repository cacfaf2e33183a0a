//! What tracing costs, one operation at a time, with the SDK set up as step 07 sets it up
//! (always-on sampler, batch processor) unless a benchmark's name says what it changes: one
//! lever at a time.
//!
//! - On the request's path (`per_request`): a span started and ended with an event; the same
//!   span not sampled (sampler off, or parent-based 10% as a trace's root or under a parent
//!   that was not sampled), with ten more attributes (copied from the request, or constants),
//!   or handed to the simple processor instead of the batch processor; and the context
//!   injected and extracted, with and without the baggage, by the SDK's propagator (the steps')
//!   and by the hardening chapter's strict one. The exporter drops each
//!   batch, so that what is timed is the operation, not the export; but for one row, where the
//!   simple processor sends each span over OTLP as it ends, as it would in a service.
//! - Off the request's path (`export`): what the batch processor's thread and the runtime do
//!   with a batch of step 07's spans: step 07's OTLP exporter converts it, encodes it and posts
//!   it to a receiver on this machine that reads the body and answers `200 OK`. In posts of
//!   512 spans (the default) and of 64, as protobuf and as JSON, and with ten more attributes
//!   on each span.
//!
//! A whole request's cost is measured on step 07's own programs, under load, by `--bin cost`:
//! never on a copy of their handlers.
//!
//! `cargo bench -p workshop --bench per_request`; `cargo run --release -p workshop --bin cost`
//! runs it and reads back the estimates criterion writes under `target/criterion/`.

use std::{
    hint::black_box,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{Router, body::Bytes, http::HeaderMap, routing::post};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use hardening::{W3cHeaderExtractor, W3cTraceContextPropagator};
use opentelemetry::{
    Context, KeyValue,
    baggage::BaggageExt,
    propagation::{TextMapCompositePropagator, TextMapPropagator},
    trace::{
        SpanContext, SpanId, SpanKind, TraceContextExt, TraceFlags, TraceId, TraceState, Tracer,
        TracerProvider,
    },
};
use opentelemetry_http::{HeaderExtractor, HeaderInjector};
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::{
    Resource,
    error::OTelSdkResult,
    propagation::{BaggagePropagator, TraceContextPropagator},
    trace::{Sampler, SdkTracer, SdkTracerProvider, SpanData, SpanExporter},
};
use tokio::runtime::Runtime;

/// An exporter that drops every batch at once.
#[derive(Debug)]
struct Discard;

impl SpanExporter for Discard {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        drop(black_box(batch));
        Ok(())
    }
}

/// An exporter that keeps every span, to make the batches the export benchmarks send.
#[derive(Debug, Clone, Default)]
struct Keep(Arc<Mutex<Vec<SpanData>>>);

impl SpanExporter for Keep {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        self.0.lock().expect("no panic while keeping").extend(batch);
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

/// The propagators step 07 sends and reads with: the SDK's.
fn propagator() -> TextMapCompositePropagator {
    TextMapCompositePropagator::new(vec![
        Box::new(TraceContextPropagator::new()),
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

/// Step 07's `backend call` span: started as a child of `parent`, an event, ended.
fn backend_call(tracer: &SdkTracer, parent: &Context) {
    let span = tracer
        .span_builder("backend call")
        .with_kind(SpanKind::Client)
        .start_with_context(tracer, parent);
    let cx = parent.with_span(span);
    cx.span().add_event("making backend call", vec![]);
    cx.span().end();
}

/// What a request's values would be, read from its headers and its connection.
struct Request {
    path: String,
    host: String,
    user_agent: String,
    peer: String,
}

impl Request {
    fn example() -> Request {
        Request {
            path: "/".to_owned(),
            host: "127.0.0.1".to_owned(),
            user_agent: "curl/8.5.0".to_owned(),
            peer: "127.0.0.1".to_owned(),
        }
    }

    /// Ten attributes of OpenTelemetry's HTTP semantic conventions, as a handler sets them:
    /// four values copied from the request, the others constants.
    fn attributes(&self) -> Vec<KeyValue> {
        vec![
            KeyValue::new("http.request.method", "GET"),
            KeyValue::new("http.route", "/"),
            KeyValue::new("url.scheme", "http"),
            KeyValue::new("url.path", self.path.clone()),
            KeyValue::new("server.address", self.host.clone()),
            KeyValue::new("server.port", 8080_i64),
            KeyValue::new("network.protocol.version", "1.1"),
            KeyValue::new("user_agent.original", self.user_agent.clone()),
            KeyValue::new("client.address", self.peer.clone()),
            KeyValue::new("http.response.status_code", 200_i64),
        ]
    }

    /// The same ten, every value a constant, as a handler that knows them ahead would set
    /// them: `&'static str` values are kept as they are, not copied.
    fn constant_attributes() -> Vec<KeyValue> {
        vec![
            KeyValue::new("http.request.method", "GET"),
            KeyValue::new("http.route", "/"),
            KeyValue::new("url.scheme", "http"),
            KeyValue::new("url.path", "/"),
            KeyValue::new("server.address", "127.0.0.1"),
            KeyValue::new("server.port", 8080_i64),
            KeyValue::new("network.protocol.version", "1.1"),
            KeyValue::new("user_agent.original", "curl/8.5.0"),
            KeyValue::new("client.address", "127.0.0.1"),
            KeyValue::new("http.response.status_code", 200_i64),
        ]
    }
}

fn spans(c: &mut Criterion) {
    let sampled = provider(Sampler::AlwaysOn);
    let tracer = sampled.tracer("bench");
    let parent = Context::current_with_span(tracer.start("incoming call"));
    c.bench_function("span: start and end, with an event", |b| {
        b.iter(|| backend_call(&tracer, &parent))
    });

    // The same span with ten more attributes: each is a key and a value to make and keep.
    let request = Request::example();
    c.bench_function(
        "span: start and end, with an event and 10 attributes",
        |b| {
            b.iter(|| {
                let span = tracer
                    .span_builder("backend call")
                    .with_kind(SpanKind::Client)
                    .with_attributes(request.attributes())
                    .start_with_context(&tracer, &parent);
                let cx = parent.with_span(span);
                cx.span().add_event("making backend call", vec![]);
                cx.span().end();
            })
        },
    );
    c.bench_function(
        "span: start and end, with an event and 10 attributes, all constants",
        |b| {
            b.iter(|| {
                let span = tracer
                    .span_builder("backend call")
                    .with_kind(SpanKind::Client)
                    .with_attributes(Request::constant_attributes())
                    .start_with_context(&tracer, &parent);
                let cx = parent.with_span(span);
                cx.span().add_event("making backend call", vec![]);
                cx.span().end();
            })
        },
    );
    let _ = sampled.shutdown();
}

fn sampling(c: &mut Criterion) {
    let sampled = provider(Sampler::AlwaysOn);
    let parent = Context::current_with_span(sampled.tracer("bench").start("incoming call"));

    // What a trace the sampler leaves out costs (the production set-up keeps a fraction).
    let unsampled = provider(Sampler::AlwaysOff);
    let unsampled_tracer = unsampled.tracer("bench");
    c.bench_function("span: start and end, with an event, not sampled", |b| {
        b.iter(|| backend_call(&unsampled_tracer, &parent))
    });

    // The production set-up the steps' comments show: keep 10% of new traces, and follow the
    // caller's decision. As a trace's root, one span in ten on average is recorded.
    let ratio = provider(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
        0.1,
    ))));
    let ratio_tracer = ratio.tracer("bench");
    let root = Context::new();
    c.bench_function(
        "span: start and end, with an event, parent-based 10%, as a root",
        |b| b.iter(|| backend_call(&ratio_tracer, &root)),
    );
    // What the backend does when the frontend's `traceparent` says "not sampled".
    let not_sampled = Context::new().with_remote_span_context(SpanContext::new(
        TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").expect("a trace id"),
        SpanId::from_hex("00f067aa0ba902b7").expect("a span id"),
        TraceFlags::default(),
        true,
        TraceState::default(),
    ));
    c.bench_function(
        "span: start and end, with an event, parent-based 10%, parent not sampled",
        |b| b.iter(|| backend_call(&ratio_tracer, &not_sampled)),
    );
    for provider in [sampled, unsampled, ratio] {
        let _ = provider.shutdown();
    }
}

fn processors(c: &mut Criterion) {
    // The simple processor hands each span to the exporter as it ends, on the request's path:
    // with an exporter that drops it, what is left is the hand-over.
    let simple = SdkTracerProvider::builder()
        .with_sampler(Sampler::AlwaysOn)
        .with_simple_exporter(Discard)
        .build();
    let tracer = simple.tracer("bench");
    let parent = Context::current_with_span(tracer.start("incoming call"));
    c.bench_function(
        "span: start and end, with an event, simple processor, exporter dropping it",
        |b| b.iter(|| backend_call(&tracer, &parent)),
    );
    let _ = simple.shutdown();

    // With step 07's exporter, the request waits for each span's post to be answered.
    let runtime = runtime();
    let address = receiver(&runtime);
    let simple = SdkTracerProvider::builder()
        .with_resource(resource())
        .with_sampler(Sampler::AlwaysOn)
        .with_simple_exporter(otlp_exporter(address))
        .build();
    let tracer = simple.tracer("bench");
    let parent = Context::current_with_span(tracer.start("incoming call"));
    c.bench_function(
        "span: start and end, with an event, simple processor, OTLP",
        |b| b.iter(|| backend_call(&tracer, &parent)),
    );
    let _ = simple.shutdown();
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
        b.iter(|| propagator.extract(&HeaderExtractor(black_box(&headers))))
    });

    // The trace context alone, without the baggage: with the SDK's propagator and the stock
    // extractor (steps 04 on), then with the hardening chapter's strict propagator and its
    // extractor.
    let stock = TraceContextPropagator::new();
    c.bench_function("context: inject traceparent", |b| {
        b.iter(|| {
            let mut headers = HeaderMap::new();
            stock.inject_context(black_box(&cx), &mut HeaderInjector(&mut headers));
            headers
        })
    });
    c.bench_function("context: extract traceparent", |b| {
        b.iter(|| stock.extract(&HeaderExtractor(black_box(&headers))))
    });
    let strict = W3cTraceContextPropagator::new();
    c.bench_function("context: inject traceparent, the strict propagator", |b| {
        b.iter(|| {
            let mut headers = HeaderMap::new();
            strict.inject_context(black_box(&cx), &mut HeaderInjector(&mut headers));
            headers
        })
    });
    c.bench_function("context: extract traceparent, the strict propagator", |b| {
        b.iter(|| strict.extract(&W3cHeaderExtractor::new(black_box(&headers))))
    });
    let _ = provider.shutdown();
}

/// A runtime for step 07's exporter's HTTP client, and for the receiver, as in the services.
fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// A receiver of OTLP over HTTP on this machine, in `runtime`: it reads each post's body and
/// answers `200 OK`, decoding nothing.
fn receiver(runtime: &Runtime) -> SocketAddr {
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port on 127.0.0.1");
        let address = listener.local_addr().expect("the receiver's address");
        let app = Router::new().route(
            "/v1/traces",
            post(|body: Bytes| async move {
                black_box(body.len());
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        address
    })
}

/// Step 07's exporter (its `otlp.rs`: the crate's builder and its blocking HTTP client), to
/// `address`.
fn otlp_exporter(address: SocketAddr) -> opentelemetry_otlp::SpanExporter {
    let mut exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(format!("http://{address}/v1/traces"))
        .build()
        .expect("an OTLP exporter");
    exporter.set_resource(&resource());
    exporter
}

/// Who the spans come from, as the steps say it.
fn resource() -> Resource {
    Resource::builder().with_service_name("frontend").build()
}

/// `count` spans as step 07's two services make them, request after request (`incoming call`,
/// `backend call` with its event, `backend call received` with the baggage's attribute and its
/// event), with `attributes` more on each.
fn step_07_spans(count: usize, attributes: &[KeyValue]) -> Vec<SpanData> {
    let kept = Keep::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(kept.clone())
        .build();
    let tracer = provider.tracer("OT-tracing-demo");
    for _ in 0..count.div_ceil(3) {
        let incoming = tracer
            .span_builder("incoming call")
            .with_kind(SpanKind::Server)
            .with_attributes(attributes.to_vec())
            .start_with_context(&tracer, &Context::new());
        let cx = Context::new().with_span(incoming);
        let call = tracer
            .span_builder("backend call")
            .with_kind(SpanKind::Client)
            .with_attributes(attributes.to_vec())
            .start_with_context(&tracer, &cx);
        let call_cx = cx.with_span(call);
        call_cx.span().add_event("making backend call", vec![]);
        let mut received = attributes.to_vec();
        received.push(KeyValue::new("demo.origin", "frontend"));
        let received = tracer
            .span_builder("backend call received")
            .with_kind(SpanKind::Server)
            .with_attributes(received)
            .start_with_context(&tracer, &call_cx);
        let received_cx = call_cx.with_span(received);
        received_cx
            .span()
            .add_event("handling backend call", vec![]);
        received_cx.span().end();
        call_cx.span().end();
        cx.span().end();
    }
    let _ = provider.shutdown();
    let mut spans = std::mem::take(&mut *kept.0.lock().expect("no panic while keeping"));
    spans.truncate(count);
    spans
}

fn export(c: &mut Criterion) {
    let runtime = runtime();
    let address = receiver(&runtime);

    // A batch as the batch processor's thread exports it.
    let ten_more = Request::example().attributes();
    let ten_constants = Request::constant_attributes();
    let cases = [
        ("512 spans a post, protobuf", 512, &[][..]),
        ("64 spans a post, protobuf", 64, &[][..]),
        (
            "512 spans a post, protobuf, 10 more attributes each",
            512,
            &ten_more[..],
        ),
        (
            "512 spans a post, protobuf, 10 more attributes each, constants",
            512,
            &ten_constants[..],
        ),
    ];
    let mut group = c.benchmark_group("export");
    // A post takes a millisecond or so: ten samples are plenty.
    group.sample_size(10);
    for (name, spans, attributes) in cases {
        let exporter = otlp_exporter(address);
        let batch = step_07_spans(spans, attributes);
        group.throughput(Throughput::Elements(spans as u64));
        group.bench_function(name, |b| {
            b.iter_batched(
                || batch.clone(),
                // As the batch processor's thread does: off the runtime, for the blocking client.
                |batch| futures_executor::block_on(exporter.export(batch)),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

fn config() -> Criterion {
    // Short enough for the whole set to take about a minute; `--bin cost --short` asks for
    // shorter still on the command line, which overrides this.
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = per_request;
    config = config();
    targets = spans, sampling, processors, context, export
}
criterion_main!(per_request);
