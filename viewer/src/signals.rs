//! What an OTLP exporter sends besides spans, as the viewer keeps it: log records, and the data
//! points of metrics ([`crate::otlp`] decodes them). Also what a map of attributes takes in
//! memory, for these records and the spans' alike.

use std::{collections::BTreeMap, time::SystemTime};

use opentelemetry::trace::{SpanId, TraceId};

/// A log record, with the span it was written in when it came with one.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRecord {
    /// The `service.name` of the program that sent it.
    pub service: String,
    /// The instrumentation scope: for the `tracing` bridge, the event's target (its module).
    pub scope: String,
    /// When it happened, or else when the SDK saw it.
    pub time: SystemTime,
    /// 1 to 24, as the OpenTelemetry log data model numbers severities (9 is INFO, 13 WARN, 17
    /// ERROR); 0 when unset.
    pub severity_number: i32,
    pub severity_text: String,
    pub body: String,
    pub attributes: BTreeMap<String, String>,
    /// The trace and span it was written in, if any.
    pub trace_id: Option<TraceId>,
    pub span_id: Option<SpanId>,
}

/// A metric's data points, from one export.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricRecord {
    pub service: String,
    pub scope: String,
    pub name: String,
    pub unit: String,
    pub description: String,
    pub kind: MetricKind,
    pub points: Vec<Point>,
}

/// What kind of metric it is, as OTLP says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricKind {
    /// A value as it was when read (a gauge).
    Gauge,
    /// A sum: `monotonic` for a counter, not for an up-down counter; `cumulative` when each
    /// point counts from the start, not from the previous export.
    Sum { monotonic: bool, cumulative: bool },
    /// An explicit-bucket histogram.
    Histogram { cumulative: bool },
    /// A kind the viewer does not draw (exponential histogram, summary).
    Other,
}

/// One data point: a set of attributes, the time span it covers, and its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub attributes: BTreeMap<String, String>,
    pub start: SystemTime,
    pub time: SystemTime,
    pub value: PointValue,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PointValue {
    Number(f64),
    Histogram(HistogramPoint),
}

/// An explicit-bucket histogram's point: `bucket_counts[i]` values fell in
/// `(bounds[i - 1], bounds[i]]`, the first bucket from minus infinity, the last to infinity.
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramPoint {
    pub count: u64,
    pub sum: Option<f64>,
    pub bounds: Vec<f64>,
    pub bucket_counts: Vec<u64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// What a map of attributes takes: each entry's strings, and its share of the tree's nodes
/// (a B-tree node holds up to 11 entries, with room for their keys, values and links).
pub(crate) fn map_bytes(map: &BTreeMap<String, String>) -> usize {
    map.iter()
        .map(|(key, value)| key.capacity() + value.capacity() + 2 * size_of::<String>() + 16)
        .sum()
}

impl LogRecord {
    /// About how many bytes of memory it takes, counted as a span record's `held_bytes` counts.
    pub fn held_bytes(&self) -> usize {
        size_of::<LogRecord>()
            + self.service.capacity()
            + self.scope.capacity()
            + self.severity_text.capacity()
            + self.body.capacity()
            + map_bytes(&self.attributes)
    }
}

impl MetricKind {
    /// The kind in words: `histogram`, `counter`, `up-down counter`, `gauge`, `other`.
    pub fn name(self) -> &'static str {
        match self {
            MetricKind::Histogram { .. } => "histogram",
            MetricKind::Sum {
                monotonic: true, ..
            } => "counter",
            MetricKind::Sum {
                monotonic: false, ..
            } => "up-down counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Other => "other",
        }
    }
}

/// The last export of each metric of each service: a cumulative export holds all that was
/// measured since the start, a delta one the last interval. Services in the order they first
/// sent, then metrics by name.
pub fn last_exports(metrics: &[MetricRecord]) -> Vec<&MetricRecord> {
    let mut services: Vec<&str> = Vec::new();
    let mut last: BTreeMap<(usize, &str), &MetricRecord> = BTreeMap::new();
    for metric in metrics {
        let order = match services
            .iter()
            .position(|service| *service == metric.service)
        {
            Some(order) => order,
            None => {
                services.push(&metric.service);
                services.len() - 1
            }
        };
        last.insert((order, &metric.name), metric);
    }
    last.into_values().collect()
}

impl MetricRecord {
    /// About how many bytes of memory it takes.
    pub fn held_bytes(&self) -> usize {
        let points: usize = self
            .points
            .iter()
            .map(|point| {
                size_of::<Point>()
                    + map_bytes(&point.attributes)
                    + match &point.value {
                        PointValue::Number(_) => 0,
                        PointValue::Histogram(histogram) => {
                            histogram.bounds.capacity() * size_of::<f64>()
                                + histogram.bucket_counts.capacity() * size_of::<u64>()
                        }
                    }
            })
            .sum();
        size_of::<MetricRecord>()
            + self.service.capacity()
            + self.scope.capacity()
            + self.name.capacity()
            + self.unit.capacity()
            + self.description.capacity()
            + points
    }
}

/// A quantile read from a histogram's buckets: the value is somewhere in `low..=high` (the
/// bucket it fell in, narrowed by the point's minimum and maximum), and `estimate` assumes the
/// values spread evenly across that bucket. The bucket's width is the error bound: buckets
/// cannot say more.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Quantile {
    pub estimate: f64,
    pub low: f64,
    pub high: f64,
}

impl HistogramPoint {
    /// The `quantile` (0.99 for p99) of the values this point counted, or `None` if it counted
    /// none, or its buckets do not match its bounds.
    pub fn quantile(&self, quantile: f64) -> Option<Quantile> {
        let total: u64 = self.bucket_counts.iter().sum();
        if total == 0 || self.bucket_counts.len() != self.bounds.len() + 1 {
            return None;
        }
        // The rank of the value asked for, from 1 (the smallest) to `total`.
        let rank = ((quantile.clamp(0.0, 1.0) * total as f64).ceil() as u64).clamp(1, total);
        let mut below = 0;
        for (index, &count) in self.bucket_counts.iter().enumerate() {
            if below + count < rank {
                below += count;
                continue;
            }
            let lower = match index {
                0 => f64::NEG_INFINITY,
                _ => self.bounds[index - 1],
            };
            let upper = self.bounds.get(index).copied().unwrap_or(f64::INFINITY);
            let low = self.min.map_or(lower, |min| lower.max(min));
            let high = self.max.map_or(upper, |max| upper.min(max));
            let share = (rank - below) as f64 / count as f64;
            let estimate = match (low.is_finite(), high.is_finite()) {
                (true, true) => low + (high - low) * share,
                (true, false) => low,
                (false, true) => high,
                (false, false) => return None,
            };
            return Some(Quantile {
                estimate,
                low,
                high,
            });
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn histogram(bounds: &[f64], bucket_counts: &[u64], min: f64, max: f64) -> HistogramPoint {
        HistogramPoint {
            count: bucket_counts.iter().sum(),
            sum: None,
            bounds: bounds.to_vec(),
            bucket_counts: bucket_counts.to_vec(),
            min: Some(min),
            max: Some(max),
        }
    }

    #[test]
    fn a_quantile_is_the_bucket_it_fell_in_narrowed_by_min_and_max() {
        // 100 values: 50 in (0, 0.005], 40 in (0.005, 0.01], 9 in (0.01, 0.025], 1 above 0.1.
        let point = histogram(
            &[0.005, 0.01, 0.025, 0.05, 0.1],
            &[50, 40, 9, 0, 0, 1],
            0.002,
            0.4,
        );
        let p50 = point.quantile(0.5).unwrap();
        assert_eq!((p50.low, p50.high), (0.002, 0.005));
        assert!((p50.estimate - 0.005).abs() < 1e-12, "{p50:?}");
        let p90 = point.quantile(0.9).unwrap();
        assert_eq!((p90.low, p90.high), (0.005, 0.01));
        let p99 = point.quantile(0.99).unwrap();
        assert_eq!((p99.low, p99.high), (0.01, 0.025));
        // The slowest value is alone above the last bound: only the maximum bounds it.
        let p100 = point.quantile(1.0).unwrap();
        assert_eq!((p100.low, p100.high, p100.estimate), (0.1, 0.4, 0.4));
    }

    #[test]
    fn no_values_or_buckets_that_do_not_match_their_bounds_give_no_quantile() {
        assert_eq!(histogram(&[1.0], &[0, 0], 0.0, 0.0).quantile(0.5), None);
        assert_eq!(
            histogram(&[1.0, 2.0], &[3, 4], 0.5, 1.5).quantile(0.5),
            None
        );
        // Without min and max, an open-ended bucket gives its one finite side.
        let open = HistogramPoint {
            min: None,
            max: None,
            ..histogram(&[1.0], &[1, 1], 0.0, 0.0)
        };
        assert_eq!(open.quantile(0.1).unwrap().estimate, 1.0);
        assert_eq!(open.quantile(0.9).unwrap().estimate, 1.0);
    }
}
