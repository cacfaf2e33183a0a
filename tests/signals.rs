//! The viewer's receiver takes metrics and logs as well as spans: what the SDK's own OTLP
//! exporters send (as protobuf, and passed on as JSON by a relay) arrives decoded, with
//! names, units, kinds, attributes, histogram buckets, severities and the span a record was
//! written in; a body that is not an export is a 400, never a panic.

#![allow(clippy::unwrap_used)]

#[path = "common/json_relay.rs"]
mod json_relay;

use opentelemetry::{
    KeyValue,
    logs::{AnyValue, LogRecord as _, Logger as _, LoggerProvider as _, Severity},
    metrics::MeterProvider as _,
    trace::{SpanId, TraceFlags, TraceId},
};
use opentelemetry_otlp::{LogExporter, MetricExporter, WithExportConfig};
use opentelemetry_sdk::{
    Resource,
    logs::SdkLoggerProvider,
    metrics::{PeriodicReader, SdkMeterProvider},
};
use trace_viewer::{
    receiver::Receiver,
    signals::{MetricKind, PointValue},
};

/// The HTTP semantic conventions' boundaries for request durations, in seconds.
const DURATION_BOUNDARIES: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/// Where an exporter sends `signal` (`metrics`, `logs`): to `receiver`, or through a relay that
/// passes the export on as JSON.
async fn endpoint(receiver: &Receiver, signal: &str, as_json: bool) -> String {
    let base = match as_json {
        false => receiver.endpoint(),
        true => json_relay::start(receiver.endpoint()).await,
    };
    format!("{base}/v1/{signal}")
}

fn resource() -> Resource {
    Resource::builder().with_service_name("frontend").build()
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_arrive_with_their_names_units_kinds_attributes_and_buckets() {
    for as_json in [false, true] {
        let receiver = Receiver::bind("127.0.0.1:0").await.unwrap();
        let exporter = MetricExporter::builder()
            .with_http()
            .with_endpoint(endpoint(&receiver, "metrics", as_json).await)
            .build()
            .unwrap();
        let provider = SdkMeterProvider::builder()
            .with_resource(resource())
            .with_reader(PeriodicReader::builder(exporter).build())
            .build();
        let meter = provider.meter("signals-test");
        let durations = meter
            .f64_histogram("http.server.request.duration")
            .with_unit("s")
            .with_boundaries(DURATION_BOUNDARIES.to_vec())
            .build();
        let ok = [
            KeyValue::new("http.request.method", "GET"),
            KeyValue::new("http.response.status_code", 200),
        ];
        for seconds in [0.003, 0.004, 0.02, 0.3] {
            durations.record(seconds, &ok);
        }
        let calls = meter
            .u64_counter("demo.backend.calls")
            .with_unit("{call}")
            .build();
        calls.add(3, &[KeyValue::new("outcome", "ok")]);
        let in_flight = meter
            .i64_up_down_counter("http.server.active_requests")
            .with_unit("{request}")
            .build();
        in_flight.add(2, &[]);
        in_flight.add(-1, &[]);
        // The reader exports from a thread of its own, and `force_flush` waits for it.
        tokio::task::spawn_blocking(move || {
            provider.force_flush().unwrap();
            provider.shutdown().unwrap();
        })
        .await
        .unwrap();

        let metrics = receiver.inbox().metrics();
        let named = |name: &str| {
            metrics
                .iter()
                .find(|metric| metric.name == name)
                .unwrap_or_else(|| panic!("no {name} in {metrics:#?}"))
        };
        let histogram = named("http.server.request.duration");
        assert_eq!(histogram.service, "frontend");
        assert_eq!(histogram.unit, "s");
        assert_eq!(histogram.kind, MetricKind::Histogram { cumulative: true });
        let [point] = histogram.points.as_slice() else {
            panic!("one set of attributes: {histogram:#?}");
        };
        assert_eq!(point.attributes["http.request.method"], "GET");
        assert_eq!(point.attributes["http.response.status_code"], "200");
        let PointValue::Histogram(buckets) = &point.value else {
            panic!("a histogram's point: {point:#?}");
        };
        assert_eq!(buckets.bounds, DURATION_BOUNDARIES);
        assert_eq!(buckets.count, 4);
        assert_eq!(buckets.bucket_counts[..4], [2, 0, 1, 0], "{buckets:?}");
        assert_eq!(buckets.bucket_counts.iter().sum::<u64>(), 4);
        assert_eq!((buckets.min, buckets.max), (Some(0.003), Some(0.3)));

        let counter = named("demo.backend.calls");
        assert_eq!(
            counter.kind,
            MetricKind::Sum {
                monotonic: true,
                cumulative: true
            }
        );
        assert_eq!(counter.points[0].value, PointValue::Number(3.0));
        assert_eq!(counter.points[0].attributes["outcome"], "ok");
        let gauge = named("http.server.active_requests");
        assert_eq!(gauge.unit, "{request}");
        assert!(matches!(
            gauge.kind,
            MetricKind::Sum {
                monotonic: false,
                ..
            }
        ));
        assert_eq!(gauge.points[0].value, PointValue::Number(1.0));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn log_records_arrive_with_their_severity_body_and_span() {
    for as_json in [false, true] {
        let receiver = Receiver::bind("127.0.0.1:0").await.unwrap();
        let exporter = LogExporter::builder()
            .with_http()
            .with_endpoint(endpoint(&receiver, "logs", as_json).await)
            .build()
            .unwrap();
        let provider = SdkLoggerProvider::builder()
            .with_resource(resource())
            .with_batch_exporter(exporter)
            .build();
        let trace_id = TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736").unwrap();
        let span_id = SpanId::from_hex("00f067aa0ba902b7").unwrap();
        tokio::task::spawn_blocking(move || {
            let logger = provider.logger("frontend::handler");
            let mut in_a_span = logger.create_log_record();
            in_a_span.set_severity_number(Severity::Warn);
            in_a_span.set_severity_text("WARN");
            in_a_span.set_body(AnyValue::from("backend call failed"));
            in_a_span.add_attribute("http.response.status_code", 503);
            in_a_span.set_trace_context(trace_id, span_id, Some(TraceFlags::SAMPLED));
            logger.emit(in_a_span);
            let mut outside = logger.create_log_record();
            outside.set_severity_number(Severity::Info);
            outside.set_body(AnyValue::from("listening"));
            logger.emit(outside);
            provider.force_flush().unwrap();
            provider.shutdown().unwrap();
        })
        .await
        .unwrap();

        let logs = receiver.inbox().logs();
        let [in_a_span, outside] = logs.as_slice() else {
            panic!("two records: {logs:#?}");
        };
        assert_eq!(in_a_span.service, "frontend");
        assert_eq!(in_a_span.scope, "frontend::handler");
        assert_eq!(in_a_span.body, "backend call failed");
        assert_eq!(
            (in_a_span.severity_number, in_a_span.severity_text.as_str()),
            (13, "WARN")
        );
        assert_eq!(in_a_span.attributes["http.response.status_code"], "503");
        assert_eq!(
            (in_a_span.trace_id, in_a_span.span_id),
            (Some(trace_id), Some(span_id))
        );
        assert_eq!(outside.body, "listening");
        assert_eq!(outside.severity_number, 9);
        assert_eq!((outside.trace_id, outside.span_id), (None, None));
    }
}

#[tokio::test]
async fn a_body_that_is_no_export_is_a_400_for_each_signal() {
    let receiver = Receiver::bind("127.0.0.1:0").await.unwrap();
    let client = reqwest::Client::new();
    for path in ["/v1/traces", "/v1/metrics", "/v1/logs"] {
        let url = format!("{}{path}", receiver.endpoint());
        for (content_type, body, status) in [
            ("application/x-protobuf", &b"\xff\xff\xff"[..], 400),
            ("application/json", &b"{\"resourceMetrics\": 7"[..], 400),
            ("text/plain", &b"hello"[..], 415),
            ("application/x-protobuf", &b""[..], 200),
        ] {
            let answer = client
                .post(&url)
                .header("content-type", content_type)
                .body(body.to_vec())
                .send()
                .await
                .unwrap();
            assert_eq!(
                answer.status().as_u16(),
                status,
                "{path} {content_type} {body:?}"
            );
        }
    }
    assert!(receiver.inbox().spans().is_empty());
    assert!(receiver.inbox().metrics().is_empty());
    assert!(receiver.inbox().logs().is_empty());
}
