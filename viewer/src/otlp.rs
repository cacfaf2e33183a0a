//! What an OTLP exporter sends, decoded with the official OTLP types (`opentelemetry-proto`):
//! an `ExportTraceServiceRequest`, `ExportMetricsServiceRequest` or `ExportLogsServiceRequest`,
//! as protobuf or as OTLP's JSON.

use std::{
    collections::BTreeMap,
    time::{Duration, SystemTime},
};

use opentelemetry::trace::{SpanId, SpanKind, Status, TraceId};
use opentelemetry_proto::tonic::{
    collector::{
        logs::v1::ExportLogsServiceRequest, metrics::v1::ExportMetricsServiceRequest,
        trace::v1::ExportTraceServiceRequest,
    },
    common::v1::{AnyValue, KeyValue, any_value::Value},
    metrics::v1::{
        AggregationTemporality, NumberDataPoint, metric::Data, number_data_point::Value as Number,
    },
    resource::v1::Resource,
    trace::v1::{span::SpanKind as OtlpKind, status::StatusCode},
};
use prost::Message;

use crate::{
    signals::{HistogramPoint, LogRecord, MetricKind, MetricRecord, Point, PointValue},
    spans::{EventRecord, LinkRecord, SpanRecord},
};

/// The three signals OTLP/HTTP carries, each to its own path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Traces,
    Metrics,
    Logs,
}

impl Signal {
    /// The path an exporter posts it to.
    pub fn path(self) -> &'static str {
        match self {
            Signal::Traces => "/v1/traces",
            Signal::Metrics => "/v1/metrics",
            Signal::Logs => "/v1/logs",
        }
    }
}

/// How the request body is encoded, from its `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    /// The encoding a `Content-Type` names, if OTLP/HTTP defines it.
    pub fn from_content_type(content_type: &str) -> Option<Encoding> {
        let media_type = content_type.split(';').next().unwrap_or_default().trim();
        match media_type.to_ascii_lowercase().as_str() {
            "application/x-protobuf" => Some(Encoding::Protobuf),
            "application/json" => Some(Encoding::Json),
            _ => None,
        }
    }
}

/// One decoded export: the resources' attributes (of a trace export), and the spans, the log
/// records or the metrics it carried.
#[derive(Debug, Clone, Default)]
pub struct Export {
    /// The attributes of each resource in the request (`service.name`, `gcp.project_id`...).
    pub resources: Vec<BTreeMap<String, String>>,
    pub spans: Vec<SpanRecord>,
    pub logs: Vec<LogRecord>,
    pub metrics: Vec<MetricRecord>,
}

/// What a JSON export gets where the viewer is built without its `json` feature: in the runner
/// (`cargo run -p workshop up`), whose steps send protobuf, as the OTLP exporter's default
/// features make it, and which then resolves opentelemetry-proto as the steps do.
#[cfg(not(feature = "json"))]
const WITHOUT_JSON: &str =
    "this viewer is built without OTLP/JSON: run `cargo run -p trace-viewer`";

/// Decodes a request body of `signal`. A malformed body is an error, never a panic.
pub fn decode_signal(signal: Signal, body: &[u8], encoding: Encoding) -> Result<Export, String> {
    match signal {
        Signal::Traces => decode(body, encoding),
        Signal::Metrics => {
            let request: ExportMetricsServiceRequest = match encoding {
                Encoding::Protobuf => ExportMetricsServiceRequest::decode(body)
                    .map_err(|error| format!("not an OTLP protobuf metrics export: {error}"))?,
                #[cfg(feature = "json")]
                Encoding::Json => serde_json::from_slice(body)
                    .map_err(|error| format!("not an OTLP JSON metrics export: {error}"))?,
                #[cfg(not(feature = "json"))]
                Encoding::Json => return Err(WITHOUT_JSON.to_owned()),
            };
            Ok(Export {
                metrics: metrics_from_request(request),
                ..Export::default()
            })
        }
        Signal::Logs => {
            let request: ExportLogsServiceRequest = match encoding {
                Encoding::Protobuf => ExportLogsServiceRequest::decode(body)
                    .map_err(|error| format!("not an OTLP protobuf logs export: {error}"))?,
                #[cfg(feature = "json")]
                Encoding::Json => serde_json::from_slice(body)
                    .map_err(|error| format!("not an OTLP JSON logs export: {error}"))?,
                #[cfg(not(feature = "json"))]
                Encoding::Json => return Err(WITHOUT_JSON.to_owned()),
            };
            Ok(Export {
                logs: logs_from_request(request),
                ..Export::default()
            })
        }
    }
}

/// Decodes a request body. A malformed body is an error, never a panic; a span with ids of the
/// wrong length is left out.
pub fn decode(body: &[u8], encoding: Encoding) -> Result<Export, String> {
    let request = match encoding {
        Encoding::Protobuf => ExportTraceServiceRequest::decode(body)
            .map_err(|error| format!("not an OTLP protobuf trace export: {error}"))?,
        #[cfg(feature = "json")]
        Encoding::Json => serde_json::from_slice(body)
            .map_err(|error| format!("not an OTLP JSON trace export: {error}"))?,
        #[cfg(not(feature = "json"))]
        Encoding::Json => return Err(WITHOUT_JSON.to_owned()),
    };
    Ok(from_request(request))
}

/// The spans of a decoded request.
pub fn from_request(request: ExportTraceServiceRequest) -> Export {
    let mut export = Export::default();
    for resource_spans in request.resource_spans {
        let resource = resource_spans
            .resource
            .map(|resource| attributes(&resource.attributes))
            .unwrap_or_default();
        let service = service_of(&resource);
        for scope_spans in resource_spans.scope_spans {
            let scope = scope_spans
                .scope
                .map(|scope| scope.name)
                .unwrap_or_default();
            for span in scope_spans.spans {
                let (Some(trace_id), Some(span_id)) = (
                    <[u8; 16]>::try_from(span.trace_id.as_slice()).ok(),
                    <[u8; 8]>::try_from(span.span_id.as_slice()).ok(),
                ) else {
                    continue;
                };
                let parent_span_id = valid_span_id(&span.parent_span_id);
                let status = match span.status {
                    Some(status) if status.code == StatusCode::Error as i32 => Status::Error {
                        description: status.message.into(),
                    },
                    Some(status) if status.code == StatusCode::Ok as i32 => Status::Ok,
                    _ => Status::Unset,
                };
                export.spans.push(SpanRecord {
                    service: service.clone(),
                    scope: scope.clone(),
                    name: span.name,
                    kind: kind(span.kind),
                    trace_id: TraceId::from_bytes(trace_id),
                    span_id: SpanId::from_bytes(span_id),
                    parent_span_id,
                    status,
                    start: time(span.start_time_unix_nano),
                    end: time(span.end_time_unix_nano),
                    attributes: attributes(&span.attributes),
                    events: span
                        .events
                        .into_iter()
                        .map(|event| EventRecord {
                            name: event.name,
                            time: time(event.time_unix_nano),
                            attributes: attributes(&event.attributes),
                        })
                        .collect(),
                    // A link whose ids have the wrong length, or are all zeros, names no span:
                    // left out.
                    links: span
                        .links
                        .into_iter()
                        .filter_map(|link| {
                            Some(LinkRecord {
                                trace_id: valid_trace_id(&link.trace_id)?,
                                span_id: valid_span_id(&link.span_id)?,
                                attributes: attributes(&link.attributes),
                            })
                        })
                        .collect(),
                });
            }
        }
        export.resources.push(resource);
    }
    export
}

/// The log records of a decoded request. A record whose trace or span id has the wrong length
/// (or is all zeros) keeps its text, without the ids.
pub fn logs_from_request(request: ExportLogsServiceRequest) -> Vec<LogRecord> {
    let mut records = Vec::new();
    for resource_logs in request.resource_logs {
        let service = service_name(resource_logs.resource.as_ref());
        for scope_logs in resource_logs.scope_logs {
            let scope = scope_logs.scope.map(|scope| scope.name).unwrap_or_default();
            for record in scope_logs.log_records {
                let when = match record.time_unix_nano {
                    0 => record.observed_time_unix_nano,
                    at => at,
                };
                records.push(LogRecord {
                    service: service.clone(),
                    scope: scope.clone(),
                    time: time(when),
                    severity_number: record.severity_number,
                    severity_text: record.severity_text,
                    body: record.body.as_ref().map(text).unwrap_or_default(),
                    attributes: attributes(&record.attributes),
                    trace_id: valid_trace_id(&record.trace_id),
                    span_id: valid_span_id(&record.span_id),
                });
            }
        }
    }
    records
}

/// The metrics of a decoded request.
pub fn metrics_from_request(request: ExportMetricsServiceRequest) -> Vec<MetricRecord> {
    let mut records = Vec::new();
    for resource_metrics in request.resource_metrics {
        let service = service_name(resource_metrics.resource.as_ref());
        for scope_metrics in resource_metrics.scope_metrics {
            let scope = scope_metrics
                .scope
                .map(|scope| scope.name)
                .unwrap_or_default();
            for metric in scope_metrics.metrics {
                let cumulative =
                    |temporality: i32| temporality == AggregationTemporality::Cumulative as i32;
                let (kind, points) = match metric.data {
                    Some(Data::Gauge(gauge)) => (MetricKind::Gauge, numbers(gauge.data_points)),
                    Some(Data::Sum(sum)) => (
                        MetricKind::Sum {
                            monotonic: sum.is_monotonic,
                            cumulative: cumulative(sum.aggregation_temporality),
                        },
                        numbers(sum.data_points),
                    ),
                    Some(Data::Histogram(histogram)) => (
                        MetricKind::Histogram {
                            cumulative: cumulative(histogram.aggregation_temporality),
                        },
                        histogram
                            .data_points
                            .into_iter()
                            .map(|point| Point {
                                attributes: attributes(&point.attributes),
                                start: time(point.start_time_unix_nano),
                                time: time(point.time_unix_nano),
                                value: PointValue::Histogram(HistogramPoint {
                                    count: point.count,
                                    sum: point.sum,
                                    bounds: point.explicit_bounds,
                                    bucket_counts: point.bucket_counts,
                                    min: point.min,
                                    max: point.max,
                                }),
                            })
                            .collect(),
                    ),
                    _ => (MetricKind::Other, Vec::new()),
                };
                records.push(MetricRecord {
                    service: service.clone(),
                    scope: scope.clone(),
                    name: metric.name,
                    unit: metric.unit,
                    description: metric.description,
                    kind,
                    points,
                });
            }
        }
    }
    records
}

fn numbers(points: Vec<NumberDataPoint>) -> Vec<Point> {
    points
        .into_iter()
        .map(|point| Point {
            attributes: attributes(&point.attributes),
            start: time(point.start_time_unix_nano),
            time: time(point.time_unix_nano),
            value: PointValue::Number(match point.value {
                Some(Number::AsDouble(value)) => value,
                Some(Number::AsInt(value)) => value as f64,
                None => 0.0,
            }),
        })
        .collect()
}

fn service_name(resource: Option<&Resource>) -> String {
    let attributes = resource
        .map(|resource| attributes(&resource.attributes))
        .unwrap_or_default();
    service_of(&attributes)
}

/// The `service.name` among a resource's attributes, or the SDKs' name for a service without.
fn service_of(resource: &BTreeMap<String, String>) -> String {
    resource
        .get("service.name")
        .cloned()
        .unwrap_or_else(|| "unknown_service".to_owned())
}

/// The trace id in `bytes`, unless they are not 16 bytes or are all zeros (no trace).
fn valid_trace_id(bytes: &[u8]) -> Option<TraceId> {
    <[u8; 16]>::try_from(bytes)
        .ok()
        .map(TraceId::from_bytes)
        .filter(|id| *id != TraceId::INVALID)
}

/// The span id in `bytes`, unless they are not 8 bytes or are all zeros (no span).
fn valid_span_id(bytes: &[u8]) -> Option<SpanId> {
    <[u8; 8]>::try_from(bytes)
        .ok()
        .map(SpanId::from_bytes)
        .filter(|id| *id != SpanId::INVALID)
}

fn kind(kind: i32) -> SpanKind {
    match OtlpKind::try_from(kind) {
        Ok(OtlpKind::Server) => SpanKind::Server,
        Ok(OtlpKind::Client) => SpanKind::Client,
        Ok(OtlpKind::Producer) => SpanKind::Producer,
        Ok(OtlpKind::Consumer) => SpanKind::Consumer,
        _ => SpanKind::Internal,
    }
}

fn time(unix_nanos: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_nanos(unix_nanos)
}

fn attributes(attributes: &[KeyValue]) -> BTreeMap<String, String> {
    attributes
        .iter()
        .map(|kv| {
            (
                kv.key.clone(),
                kv.value.as_ref().map(text).unwrap_or_default(),
            )
        })
        .collect()
}

/// An attribute's value as the SDK's `Value` displays it, so that a span reads the same
/// whether it was printed or sent.
fn text(value: &AnyValue) -> String {
    match &value.value {
        Some(Value::StringValue(text)) => text.clone(),
        Some(Value::BoolValue(flag)) => flag.to_string(),
        Some(Value::IntValue(number)) => number.to_string(),
        Some(Value::DoubleValue(number)) => number.to_string(),
        Some(Value::ArrayValue(array)) => {
            let items: Vec<String> = array.values.iter().map(text).collect();
            format!("[{}]", items.join(","))
        }
        Some(Value::KvlistValue(list)) => {
            let items: Vec<String> = list
                .values
                .iter()
                .map(|kv| {
                    format!(
                        "{}={}",
                        kv.key,
                        kv.value.as_ref().map(text).unwrap_or_default()
                    )
                })
                .collect();
            format!("{{{}}}", items.join(","))
        }
        Some(Value::BytesValue(bytes)) => format!("{bytes:?}"),
        // A reference into a string table, which only the profiles signal has.
        Some(Value::StringValueStrindex(index)) => format!("(string #{index})"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, span::Link};

    use super::*;

    #[test]
    fn a_spans_links_are_decoded_and_those_with_ids_of_the_wrong_length_or_zeros_left_out() {
        let link = |trace_id: Vec<u8>, span_id: Vec<u8>| Link {
            trace_id,
            span_id,
            attributes: vec![KeyValue {
                key: "why".into(),
                value: Some(AnyValue {
                    value: Some(Value::StringValue("queued".into())),
                }),
                ..KeyValue::default()
            }],
            ..Link::default()
        };
        let request = ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans {
                    spans: vec![Span {
                        trace_id: vec![2; 16],
                        span_id: vec![7; 8],
                        name: "process jobs".into(),
                        kind: OtlpKind::Consumer as i32,
                        links: vec![
                            link(vec![1; 16], vec![5; 8]),
                            link(vec![1; 16], vec![5; 3]),
                            link(vec![0; 16], vec![0; 8]),
                        ],
                        ..Span::default()
                    }],
                    ..ScopeSpans::default()
                }],
                ..ResourceSpans::default()
            }],
        };
        let export = decode(&request.encode_to_vec(), Encoding::Protobuf).unwrap();
        let span = &export.spans[0];
        assert_eq!(span.kind, SpanKind::Consumer);
        assert_eq!(
            span.links,
            [LinkRecord {
                trace_id: TraceId::from_bytes([1; 16]),
                span_id: SpanId::from_bytes([5; 8]),
                attributes: BTreeMap::from([("why".to_owned(), "queued".to_owned())]),
            }]
        );
    }
}
