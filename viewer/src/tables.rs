//! The metrics programs sent, drawn as compact tables: each metric's last export, a line per
//! point. A histogram shows its count, its sum and its p50, p90 and p99, each with the bucket it
//! fell in, which is all the error bound buckets allow; a counter or a gauge shows its value.
//! Under a server's duration histogram come the slowest requests the viewer holds spans of, with
//! their trace ids: what exemplars would link, and the Rust SDK does not record yet.

use std::fmt::Write as _;

use crate::{
    signals::{HistogramPoint, MetricKind, MetricRecord, Point, PointValue, last_exports},
    spans::SpanRecord,
    terminal::{clip, printable, width},
};

/// The widest line drawn, as the traces are.
const WIDTH: usize = 80;
/// How many of the slowest requests are listed under a server's duration histogram.
const SLOWEST: usize = 3;
/// The histogram whose points the slowest server spans are listed under.
const SERVER_DURATION: &str = "http.server.request.duration";

/// Each metric's last export, by service and name, drawn. `spans` are the spans received in the
/// same time, searched for the slowest requests.
pub fn render_metrics(metrics: &[MetricRecord], spans: &[SpanRecord]) -> String {
    let mut text = String::new();
    let mut service_drawn = None;
    for metric in last_exports(metrics) {
        let service = metric.service.as_str();
        if service_drawn != Some(service) {
            line(&mut text, format!("metrics from {}", printable(service)));
            service_drawn = Some(service);
        }
        let kind = match metric.kind {
            MetricKind::Histogram { cumulative }
            | MetricKind::Sum {
                cumulative,
                monotonic: true,
            } => {
                format!("{}{}", metric.kind.name(), since(cumulative))
            }
            MetricKind::Other => "not drawn here".to_owned(),
            kind => kind.name().to_owned(),
        };
        let unit = match metric.unit.as_str() {
            "" => String::new(),
            unit => format!(", unit {}", printable(unit)),
        };
        line(
            &mut text,
            format!("  {} ({kind}{unit})", printable(&metric.name)),
        );
        for point in &metric.points {
            wrapped(&mut text, 4, &labels(point));
            match &point.value {
                PointValue::Number(value) => {
                    line(&mut text, format!("      {}", number(*value)));
                }
                PointValue::Histogram(histogram) => {
                    let in_ms = metric.unit == "s";
                    draw_histogram(&mut text, histogram, in_ms);
                    if metric.name == SERVER_DURATION {
                        draw_slowest(&mut text, metric, point, spans);
                    }
                }
            }
        }
    }
    text
}

fn since(cumulative: bool) -> &'static str {
    match cumulative {
        true => ", since start",
        false => ", last interval",
    }
}

/// A point's attributes, `key=value` each, or `(no attributes)`.
fn labels(point: &Point) -> Vec<String> {
    if point.attributes.is_empty() {
        return vec!["(no attributes)".to_owned()];
    }
    point
        .attributes
        .iter()
        .map(|(key, value)| format!("{}={}", printable(key), printable(value)))
        .collect()
}

fn draw_histogram(text: &mut String, histogram: &HistogramPoint, in_ms: bool) {
    let value = |seconds_or_units: f64| match in_ms {
        true => format!("{} ms", number(seconds_or_units * 1000.0)),
        false => number(seconds_or_units),
    };
    let sum = histogram.sum.map_or_else(|| "-".to_owned(), value);
    line(text, format!("      count {}, sum {sum}", histogram.count));
    let mut quantiles = Vec::new();
    for (name, quantile) in [("p50", 0.5), ("p90", 0.9), ("p99", 0.99)] {
        if let Some(found) = histogram.quantile(quantile) {
            let bound = |at: f64| match in_ms {
                true => number(at * 1000.0),
                false => number(at),
            };
            // Between the minimum and the maximum, or a single value: exact.
            let within = match found.low == found.high {
                true => "exact".to_owned(),
                false => format!("{}–{}", bound(found.low), bound(found.high)),
            };
            quantiles.push(format!("{name} {} ({within})", value(found.estimate)));
        }
    }
    if !quantiles.is_empty() {
        wrapped(text, 6, &quantiles);
    }
}

/// The slowest server spans of the metric's service that match the point's route, method and
/// status code and started within its time window, each with its trace id.
fn draw_slowest(text: &mut String, metric: &MetricRecord, point: &Point, spans: &[SpanRecord]) {
    let slowest = slowest_requests(metric, point, spans);
    if slowest.is_empty() {
        return;
    }
    line(text, "      slowest, with their traces:".to_owned());
    for span in slowest {
        line(
            text,
            format!(
                "        {} ms  trace {}",
                number(span.duration().as_secs_f64() * 1000.0),
                span.trace_id
            ),
        );
    }
}

/// The point's requests the viewer holds a server span of, slowest first, at most
/// [`SLOWEST`]: the service's server spans whose route, method and status code are the point's,
/// started within its window.
pub fn slowest_requests<'a>(
    metric: &MetricRecord,
    point: &Point,
    spans: &'a [SpanRecord],
) -> Vec<&'a SpanRecord> {
    let same = |span: &SpanRecord, key: &str| {
        point
            .attributes
            .get(key)
            .is_none_or(|wanted| span.attributes.get(key) == Some(wanted))
    };
    let mut matching: Vec<&SpanRecord> = spans
        .iter()
        .filter(|span| {
            span.service == metric.service
                && span.kind == opentelemetry::trace::SpanKind::Server
                && span.start >= point.start
                && span.start <= point.time
                && [
                    "http.route",
                    "http.request.method",
                    "http.response.status_code",
                ]
                .iter()
                .all(|key| same(span, key))
        })
        .collect();
    matching.sort_by_key(|span| std::cmp::Reverse(span.duration()));
    matching.truncate(SLOWEST);
    matching
}

/// A number with three significant digits, without a needless fraction: `3`, `0.125`, `12.4`.
fn number(value: f64) -> String {
    if value == value.trunc() && value.abs() < 1e15 {
        return format!("{value:.0}");
    }
    let digits = (2 - value.abs().log10().floor() as i32).clamp(0, 6) as usize;
    let rounded = format!("{value:.digits$}");
    match rounded.contains('.') {
        true => rounded
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_owned(),
        false => rounded,
    }
}

fn line(text: &mut String, content: String) {
    let _ = writeln!(text, "{}", clip(&content, WIDTH));
}

/// `items` on lines indented by `indent`, two spaces apart, as many on a line as fit; further
/// lines are indented two more. An item wider than a line is clipped.
fn wrapped(text: &mut String, indent: usize, items: &[String]) {
    let mut current = " ".repeat(indent);
    let mut on_line = 0;
    for item in items {
        let separator = if on_line == 0 { "" } else { "  " };
        if on_line > 0 && width(&current) + separator.len() + width(item) > WIDTH {
            line(
                text,
                std::mem::replace(&mut current, " ".repeat(indent + 2)),
            );
            on_line = 0;
        }
        let separator = if on_line == 0 { "" } else { "  " };
        current.push_str(separator);
        current.push_str(item);
        on_line += 1;
    }
    line(text, current);
}

#[cfg(test)]
mod tests {
    use std::{
        collections::BTreeMap,
        time::{Duration, SystemTime},
    };

    use opentelemetry::trace::{SpanId, SpanKind, Status, TraceId};

    use super::*;

    fn histogram_metric(service: &str, points: Vec<Point>) -> MetricRecord {
        MetricRecord {
            service: service.to_owned(),
            scope: "demo".to_owned(),
            name: SERVER_DURATION.to_owned(),
            unit: "s".to_owned(),
            description: String::new(),
            kind: MetricKind::Histogram { cumulative: true },
            points,
        }
    }

    fn point(start: SystemTime, status: &str, values: &[f64]) -> Point {
        let bounds = vec![0.005, 0.01, 0.025];
        let mut bucket_counts = vec![0; bounds.len() + 1];
        for value in values {
            let bucket = bounds.iter().position(|bound| value <= bound);
            bucket_counts[bucket.unwrap_or(bounds.len())] += 1;
        }
        Point {
            attributes: [
                ("http.request.method", "GET"),
                ("http.response.status_code", status),
                ("http.route", "/"),
            ]
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect(),
            start,
            time: start + Duration::from_secs(60),
            value: PointValue::Histogram(HistogramPoint {
                count: values.len() as u64,
                sum: Some(values.iter().sum()),
                bounds,
                bucket_counts,
                min: values.iter().copied().reduce(f64::min),
                max: values.iter().copied().reduce(f64::max),
            }),
        }
    }

    fn server_span(id: u8, start: SystemTime, millis: u64, status: &str) -> SpanRecord {
        SpanRecord {
            service: "frontend".to_owned(),
            name: "incoming call".to_owned(),
            kind: SpanKind::Server,
            trace_id: TraceId::from_bytes([id; 16]),
            span_id: SpanId::from_bytes([id; 8]),
            parent_span_id: None,
            start,
            end: start + Duration::from_millis(millis),
            links: Vec::new(),
            attributes: [
                ("http.request.method", "GET"),
                ("http.response.status_code", status),
                ("http.route", "/"),
            ]
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect(),
            scope: "demo".to_owned(),
            status: Status::Unset,
            events: Vec::new(),
        }
    }

    #[test]
    fn a_histogram_shows_its_quantiles_with_their_buckets() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let metric = histogram_metric("frontend", vec![point(start, "200", &[0.002, 0.004, 0.02])]);
        let drawn = render_metrics(&[metric], &[]);
        assert!(drawn.starts_with("metrics from frontend\n"), "{drawn}");
        assert!(
            drawn.contains("  http.server.request.duration (histogram, since start, unit s)\n"),
            "{drawn}"
        );
        assert!(
            drawn.contains(
                "    http.request.method=GET  http.response.status_code=200  http.route=/\n"
            ),
            "{drawn}"
        );
        assert!(drawn.contains("      count 3, sum 26 ms\n"), "{drawn}");
        // p50: the 2nd of 3, the last of the first bucket's two, narrowed below by the
        // minimum (2 ms): its upper edge; p90 and p99: the 3rd, in (10, 25] ms, narrowed by the
        // maximum, 20 ms.
        assert!(
            drawn.contains("      p50 5 ms (2–5)  p90 20 ms (10–20)  p99 20 ms (10–20)\n"),
            "{drawn}"
        );
        for line in drawn.lines() {
            assert!(crate::terminal::width(line) <= WIDTH, "{line}");
        }
    }

    #[test]
    fn the_slowest_requests_of_a_point_are_listed_with_their_traces() {
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let later = start + Duration::from_secs(1);
        let metric = histogram_metric(
            "frontend",
            vec![
                point(start, "200", &[0.003, 0.004, 0.02, 0.001]),
                point(start, "502", &[0.009]),
            ],
        );
        let spans = [
            server_span(1, later, 3, "200"),
            server_span(2, later, 20, "200"),
            server_span(3, later, 4, "200"),
            server_span(4, later, 1, "200"),
            // Another status: the other point's.
            server_span(5, later, 9, "502"),
            // Before the point's window.
            server_span(6, start - Duration::from_secs(5), 50, "200"),
        ];
        let slowest = slowest_requests(&metric, &metric.points[0], &spans);
        let ids: Vec<u8> = slowest
            .iter()
            .map(|span| span.trace_id.to_bytes()[0])
            .collect();
        assert_eq!(ids, [2, 3, 1]);

        let drawn = render_metrics(&[metric], &spans);
        let expected = format!(
            "      slowest, with their traces:\n        20 ms  trace {}\n",
            TraceId::from_bytes([2; 16])
        );
        assert!(drawn.contains(&expected), "{drawn}");
        assert!(
            drawn.contains(&format!(
                "        9 ms  trace {}\n",
                TraceId::from_bytes([5; 16])
            )),
            "{drawn}"
        );
    }

    #[test]
    fn only_the_last_export_of_each_metric_is_drawn() {
        let counter = |value: f64| MetricRecord {
            service: "backend".to_owned(),
            scope: "demo".to_owned(),
            name: "demo.backend.calls".to_owned(),
            unit: "{call}".to_owned(),
            description: String::new(),
            kind: MetricKind::Sum {
                monotonic: true,
                cumulative: true,
            },
            points: vec![Point {
                attributes: BTreeMap::new(),
                start: SystemTime::UNIX_EPOCH,
                time: SystemTime::UNIX_EPOCH,
                value: PointValue::Number(value),
            }],
        };
        let drawn = render_metrics(&[counter(1.0), counter(7.0)], &[]);
        assert_eq!(
            drawn,
            "metrics from backend\n  demo.backend.calls (counter, since start, unit {call})\n    \
             (no attributes)\n      7\n"
        );
    }
}
