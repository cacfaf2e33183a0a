//! The metrics of one request, beside its trace: steps 11 and 12 send them, and their
//! `metrics.txt` draws what one request through the check's set-up makes, as
//! [`metrics_outline`] draws it. The tests hold each step's programs to that file; the check
//! reads it back ([`parse_metrics`]) and says, in plain words, what an attendee's programs sent
//! differently ([`metric_problems`]).

use std::{collections::BTreeMap, fmt::Write as _};

use trace_viewer::{
    signals::{MetricKind, MetricRecord, Point, PointValue, last_exports},
    terminal::printable,
};

use crate::{
    exercises::check::compare::{
        SERVICES, Sentences, WHO, attribute_differences, distinct, other_services, parse_attributes,
    },
    spans::{SpanRecord, draw_attributes, kind_name},
};

/// The bucket boundaries the SDK gives a histogram that is not told its own: made for
/// milliseconds.
pub const SDK_DEFAULT_BUCKETS: [f64; 15] = [
    0.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0, 2500.0, 5000.0, 7500.0,
    10000.0,
];

/// One data point of one metric, as `metrics.txt` draws it.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpectedPoint {
    pub service: String,
    pub name: String,
    /// `counter`, `up-down counter`, `histogram`, `gauge`.
    pub kind: String,
    pub unit: String,
    /// A histogram's bucket boundaries.
    pub buckets: Option<Vec<f64>>,
    /// A histogram's count, or a sum's or a gauge's value.
    pub value: f64,
    /// Attributes by key; `None` where the value varies from run to run (`key=…`).
    pub attributes: Vec<(String, Option<String>)>,
}

fn unit_name(unit: &str) -> &str {
    match unit {
        "" => "no unit",
        unit => unit,
    }
}

/// `1`, `0.005`, `10`: a number as short as it reads back.
fn number(value: f64) -> String {
    format!("{value}")
}

/// A duration in seconds as a person reads it: `46.1 ms`, `2.3 s`, `120 µs`.
fn duration_for_people(seconds: f64) -> String {
    match seconds.abs() {
        0.0 => "0 s".to_owned(),
        s if s >= 1.0 => format!("{seconds:.1} s"),
        s if s >= 0.001 => format!("{:.1} ms", seconds * 1e3),
        _ => format!("{:.0} µs", seconds * 1e6),
    }
}

/// Metrics the HTTP semantic conventions once named otherwise, as (older name, current name):
/// before 1.23 the request durations were `http.*.duration`, in milliseconds.
const OLDER_METRIC_NAMES: [(&str, &str); 2] = [
    ("http.server.duration", "http.server.request.duration"),
    ("http.client.duration", "http.client.request.duration"),
];

/// A metric's points, in the order of their attributes.
fn sorted_points(metric: &MetricRecord) -> Vec<&Point> {
    let mut points: Vec<&Point> = metric.points.iter().collect();
    points.sort_by(|a, b| a.attributes.cmp(&b.attributes));
    points
}

/// One line per point of the last export of each metric: service, name, kind, unit, buckets,
/// value (a histogram's count), attributes. Services in the order they first sent.
///
/// ```text
/// frontend: demo.backend.calls (counter, {call}) 1 demo.backend.outcome=ok
/// frontend: http.server.request.duration (histogram, s, buckets 0.005 0.01 … 10) 1 http.route=/ …
/// ```
pub fn metrics_outline(metrics: &[MetricRecord]) -> String {
    let mut text = String::new();
    for metric in last_exports(metrics) {
        for point in sorted_points(metric) {
            let mut notes = vec![
                metric.kind.name().to_owned(),
                printable(unit_name(&metric.unit)).into_owned(),
            ];
            let cumulative = match metric.kind {
                MetricKind::Sum { cumulative, .. } | MetricKind::Histogram { cumulative } => {
                    cumulative
                }
                MetricKind::Gauge | MetricKind::Other => true,
            };
            if !cumulative {
                notes.push("delta".to_owned());
            }
            let value = match &point.value {
                PointValue::Number(value) => number(*value),
                PointValue::Histogram(histogram) => {
                    let bounds: Vec<String> = histogram.bounds.iter().map(|b| number(*b)).collect();
                    notes.push(format!("buckets {}", bounds.join(" ")));
                    histogram.count.to_string()
                }
            };
            let _ = write!(
                text,
                "{}: {} ({}) {value}",
                printable(&metric.service),
                printable(&metric.name),
                notes.join(", ")
            );
            draw_attributes(&mut text, &point.attributes);
            text.push('\n');
        }
    }
    text
}

/// `metrics.txt` read back.
pub fn parse_metrics(text: &str) -> Result<Vec<ExpectedPoint>, String> {
    let mut points = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let problem = |what: &str| format!("line {}: {what}: {line:?}", number + 1);
        let (service, rest) = line
            .split_once(": ")
            .ok_or_else(|| problem("no `service: name`"))?;
        let (name, rest) = rest
            .split_once(" (")
            .ok_or_else(|| problem("no `(kind, unit)`"))?;
        let (notes, rest) = rest
            .split_once(") ")
            .ok_or_else(|| problem("no `) value`"))?;
        let mut notes = notes.split(", ");
        let kind = notes.next().unwrap_or_default().to_owned();
        let unit = match notes.next() {
            Some("no unit") | None => String::new(),
            Some(unit) => unit.to_owned(),
        };
        let mut buckets = None;
        for note in notes {
            if let Some(bounds) = note.strip_prefix("buckets ") {
                let bounds: Result<Vec<f64>, _> = bounds.split(' ').map(str::parse).collect();
                buckets = Some(bounds.map_err(|_| problem("a bucket bound is not a number"))?);
            }
        }
        let mut words = rest.split_whitespace();
        let value = words
            .next()
            .and_then(|value| value.parse().ok())
            .ok_or_else(|| problem("no value after the `)`"))?;
        points.push(ExpectedPoint {
            service: service.to_owned(),
            name: name.to_owned(),
            kind,
            unit,
            buckets,
            value,
            attributes: parse_attributes(words),
        });
    }
    Ok(points)
}

/// `metrics`, which the program `program` sent, told apart by the service name the steps give
/// it: metrics that name another service are reported once, then taken as the program's.
pub fn metrics_named_for(
    program: &str,
    metrics: &[MetricRecord],
    problems: &mut Vec<String>,
) -> Vec<MetricRecord> {
    let services = metrics.iter().map(|metric| metric.service.as_str());
    for other in other_services(program, services) {
        problems.push(format!(
            "Your {program}'s metrics say they come from the service `{}`; the step's come \
             from `{program}`, as its spans do: build the meter provider with the resource the \
             tracer provider has (`with_resource(resource)`), so that a back end knows both \
             signals are one service's.",
            printable(&other)
        ));
    }
    metrics
        .iter()
        .map(|metric| MetricRecord {
            service: program.to_owned(),
            ..metric.clone()
        })
        .collect()
}

/// What differs between the metrics a step's programs send for one request (`expected`, from
/// its `metrics.txt`) and what they sent (`exported`, each service's, named for it), as
/// sentences for the attendee. `spans` are what they exported: how long the request took by
/// its spans tells a duration recorded in the wrong unit.
pub fn metric_problems(
    expected: &[ExpectedPoint],
    exported: &[MetricRecord],
    spans: &[SpanRecord],
) -> Vec<String> {
    let mut sentences = Sentences::default();
    let last = last_exports(exported);
    let mut advised_no_metrics = false;
    for service in SERVICES {
        let wanted: Vec<&ExpectedPoint> = expected
            .iter()
            .filter(|point| point.service == service)
            .collect();
        if wanted.is_empty() {
            continue;
        }
        let names = distinct(wanted.iter().map(|point| point.name.clone()));
        let sent: Vec<&MetricRecord> = last
            .iter()
            .copied()
            .filter(|metric| metric.service == service)
            .collect();
        if sent.is_empty() {
            let listed: Vec<String> = names.iter().map(|name| format!("`{name}`")).collect();
            let how = match std::mem::replace(&mut advised_no_metrics, true) {
                true => String::new(),
                false => " A meter provider sends them when a periodic reader with the metric \
                           exporter is one of its readers (`PeriodicReader::builder(exporter)`): \
                           every interval, and once more when it is shut down, which is when the \
                           check, stopping your programs right after its request, gets them."
                    .to_owned(),
            };
            sentences.push(
                service,
                format!(
                    "Your {service} sent no metrics; the step's sends {}.{how}",
                    listed.join(", ")
                ),
            );
            continue;
        }
        for name in &names {
            let points: Vec<&ExpectedPoint> = wanted
                .iter()
                .copied()
                .filter(|point| &point.name == name)
                .collect();
            match sent.iter().find(|metric| &metric.name == name) {
                Some(metric) => {
                    for sentence in metric_differences(service, &points, metric, spans) {
                        sentences.push(service, sentence);
                    }
                }
                None => sentences.push(service, missing_metric(points[0])),
            }
        }
        for metric in &sent {
            if names.contains(&metric.name) {
                continue;
            }
            let current = OLDER_METRIC_NAMES
                .iter()
                .find(|(older, _)| *older == metric.name)
                .map(|(_, current)| *current);
            let sentence = match current {
                Some(current) => format!(
                    "Your {WHO} sent the metric `{}` ({}), the semantic conventions' older name \
                     for `{current}` (renamed in 1.23, when its unit became seconds): name it \
                     `{current}`.",
                    metric.name,
                    metric.kind.name()
                ),
                None => format!(
                    "Your {WHO} sent the metric `{}` ({}), which the step's does not.",
                    printable(&metric.name),
                    metric.kind.name()
                ),
            };
            sentences.push(service, sentence);
        }
    }
    let mut advised_per_url = false;
    sentences
        .merged()
        .into_iter()
        .map(|sentence| match sentence.contains(PER_URL) {
            true => {
                let advice = match std::mem::replace(&mut advised_per_url, true) {
                    true => "",
                    false => PER_URL_ADVICE,
                };
                sentence.replace(PER_URL, advice)
            }
            false => sentence,
        })
        .collect()
}

/// Stands where a sentence about a metric's attributes names one of the URL's: the first such
/// sentence says why a URL does not belong on a metric, the others only name it.
const PER_URL: &str = "{per_url}";

const PER_URL_ADVICE: &str = " A metric keeps one series per set of attribute values, and a \
    URL takes a new value for every user, id and query: the series grow without end. The route \
    (`http.route`, `/users/{id}`) says where a request went in few values; the span keeps the \
    URL.";

/// The sentence for a metric a service sent no point of.
fn missing_metric(point: &ExpectedPoint) -> String {
    let how = match point.kind.as_str() {
        "histogram" => "record each request's value in it once the request has ended",
        "up-down counter" => "add 1 when a request starts and -1 when it ends",
        _ => "add to it once per request",
    };
    format!(
        "Your {WHO} sent no `{}` ({}, {}); the step's does: {how}. An instrument that measured \
         nothing sends nothing.",
        point.name,
        point.kind,
        unit_name(&point.unit)
    )
}

/// A metric's kind with its article: "a counter", "an up-down counter", "of another kind".
fn a_kind(kind: &str) -> String {
    match kind {
        "other" => "of a kind the check does not read".to_owned(),
        kind if kind.starts_with(['a', 'e', 'i', 'o', 'u']) => format!("an {kind}"),
        kind => format!("a {kind}"),
    }
}

/// What differs between a metric the step sends (its points) and the one a service sent.
fn metric_differences(
    service: &str,
    points: &[&ExpectedPoint],
    metric: &MetricRecord,
    spans: &[SpanRecord],
) -> Vec<String> {
    let mut problems = Vec::new();
    let name = format!("`{}` ({WHO})", metric.name);
    let want = points[0];
    let kind = metric.kind.name();
    if kind != want.kind {
        problems.push(format!(
            "{name} is {}; the step's is {}.",
            a_kind(kind),
            a_kind(&want.kind)
        ));
        return problems;
    }
    if metric.unit != want.unit {
        let why = match metric.name.starts_with("http.") {
            true => ", as the semantic conventions say",
            false => "",
        };
        problems.push(format!(
            "{name} has {}; the step's has the unit `{}`{why}: give the instrument \
             `with_unit(\"{}\")`.",
            match metric.unit.as_str() {
                "" => "no unit".to_owned(),
                unit => format!("the unit `{}`", printable(unit)),
            },
            want.unit,
            want.unit
        ));
    }
    if let Some(buckets) = &want.buckets {
        let sent = metric.points.iter().find_map(|point| match &point.value {
            PointValue::Histogram(histogram) => Some(&histogram.bounds),
            PointValue::Number(_) => None,
        });
        match sent {
            Some(sent) if sent == buckets => {}
            Some(sent) if sent.as_slice() == SDK_DEFAULT_BUCKETS => problems.push(format!(
                "{name} has the SDK's default buckets (0, 5, 10, 25, … 10000), which are made \
                 for milliseconds: in seconds, every request under 5 s falls in one bucket, and \
                 no percentile can be read from it. Give the instrument the boundaries the \
                 semantic conventions advise, 0.005 to 10 s: \
                 `with_boundaries(DURATION_BUCKETS.to_vec())`."
            )),
            Some(sent) => problems.push(format!(
                "{name} has the buckets {}; the step's are {}.",
                joined(sent),
                joined(buckets)
            )),
            None => {}
        }
    }
    let sent = sorted_points(metric);
    if sent.is_empty() {
        problems.push(format!("{name} has no data point."));
    } else if sent.len() != points.len() {
        let sets: Vec<String> = sent
            .iter()
            .map(|point| format!("{{{}}}", attribute_list(&point.attributes)))
            .collect();
        problems.push(format!(
            "{name} has {} sets of attributes for one request ({}); the step's has {}: the \
             same request is measured once, with one set.",
            sent.len(),
            sets.join(", "),
            points.len()
        ));
    } else {
        for (want, point) in points.iter().zip(sent) {
            problems.extend(point_attribute_problems(&name, want, point));
            problems.extend(value_problems(
                service,
                &name,
                &metric.name,
                want,
                point,
                spans,
            ));
        }
    }
    problems
}

/// What differs between the attributes of a point the step sends and one that was sent; `name`
/// is the metric's, as a sentence begins with it.
fn point_attribute_problems(name: &str, want: &ExpectedPoint, point: &Point) -> Vec<String> {
    let mut problems = Vec::new();
    let differences = attribute_differences(&want.attributes, &point.attributes);
    match differences.absent.as_slice() {
        [] => {}
        [one] => problems.push(format!(
            "{name} has no attribute {one}, which the step's has."
        )),
        many => problems.push(format!(
            "{name} lacks {} attributes the step's has: {}.",
            many.len(),
            many.join(", ")
        )),
    }
    if !differences.extra.is_empty() {
        let listed: Vec<String> = differences
            .extra
            .iter()
            .map(|key| format!("`{}`", printable(key)))
            .collect();
        let per_url = differences
            .extra
            .iter()
            .any(|key| ["url.path", "url.full", "url.query"].contains(&key.as_str()));
        let advice = match per_url {
            true => PER_URL,
            false => "",
        };
        problems.push(format!(
            "{name} has attributes the step's does not: {}.{advice}",
            listed.join(", ")
        ));
    }
    for (key, sent, value) in &differences.differing {
        problems.push(format!(
            "{name} has `{key}={}`; the step's has `{key}={value}`.",
            printable(sent)
        ));
    }
    problems
}

/// What is wrong with a point's value: a count, a counter's sum, a duration's unit. `label` is
/// the metric as a sentence begins with it, `metric_name` its name.
fn value_problems(
    service: &str,
    label: &str,
    metric_name: &str,
    want: &ExpectedPoint,
    point: &Point,
    spans: &[SpanRecord],
) -> Vec<String> {
    let mut problems = Vec::new();
    match &point.value {
        PointValue::Histogram(histogram) => {
            if histogram.count as f64 != want.value {
                problems.push(format!(
                    "{label} counted {} for the check's one request; the step's counts {}: \
                     record once per request, when it has ended.",
                    histogram.count,
                    number(want.value)
                ));
            }
            if let (Some(sum), Some(span), true) = (
                histogram.sum,
                measured_span(service, metric_name, spans),
                histogram.count > 0,
            ) {
                problems.extend(unit_of_duration(label, sum / histogram.count as f64, span));
            }
        }
        PointValue::Number(value) if *value != want.value => {
            let advice = match want.kind.as_str() {
                "up-down counter" => {
                    " once every request has been answered: each request adds 1 as it starts \
                     and must take it back as it ends, answered or dropped (a guard's `Drop` \
                     does both)."
                }
                _ => " for the check's one request.",
            };
            problems.push(format!(
                "{label} is {}; the step's is {}{advice}",
                number(*value),
                number(want.value),
            ));
        }
        PointValue::Number(_) => {}
    }
    problems
}

/// What a duration histogram's mean, in seconds, says of its unit, held to the span of the same
/// request: about a thousand times the span, milliseconds; a tenth of it or less, whole seconds
/// (or a measure of part of the request).
fn unit_of_duration(label: &str, mean: f64, span: &SpanRecord) -> Option<String> {
    let by_span = span.duration().as_secs_f64();
    let lasted = format!("its span `{}` lasted {:.1} ms", span.name, by_span * 1000.0);
    if by_span > 0.0 && mean > 100.0 * by_span && mean > 0.1 {
        let unit = match mean / by_span {
            ratio if ratio > 100_000.0 => "microseconds",
            _ => "milliseconds",
        };
        return Some(format!(
            "{label} says the check's request took {}, but {lasted}: the duration was recorded \
             in {unit}. The unit is seconds, as the semantic conventions say: record \
             `elapsed().as_secs_f64()`.",
            duration_for_people(mean)
        ));
    }
    // Only where the span is long enough to tell: the frontend's, which waits on the network.
    if by_span > 0.01 && mean < by_span / 10.0 {
        return Some(format!(
            "{label} says the check's request took {}, but {lasted}: whole seconds \
             (`as_secs()`) lose all of it, and a clock started late loses part. Record \
             `elapsed().as_secs_f64()` of an `Instant` taken as the request comes in.",
            duration_for_people(mean)
        ));
    }
    None
}

/// The span of `service` whose duration the duration histogram `name` measures: the server
/// span for a server's, the client span for a client's.
fn measured_span<'a>(service: &str, name: &str, spans: &'a [SpanRecord]) -> Option<&'a SpanRecord> {
    let kind = match name {
        "http.server.request.duration" => "server",
        "http.client.request.duration" => "client",
        _ => return None,
    };
    spans
        .iter()
        .find(|span| span.service == service && kind_name(&span.kind) == kind)
}

fn joined(bounds: &[f64]) -> String {
    let bounds: Vec<String> = bounds.iter().map(|bound| number(*bound)).collect();
    bounds.join(", ")
}

fn attribute_list(attributes: &BTreeMap<String, String>) -> String {
    let pairs: Vec<String> = attributes
        .iter()
        .map(|(key, value)| format!("{}={}", printable(key), printable(value)))
        .collect();
    pairs.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_duration_is_rounded_for_people() {
        assert_eq!(duration_for_people(46.109545000000004), "46.1 s");
        assert_eq!(duration_for_people(0.046109545), "46.1 ms");
        assert_eq!(duration_for_people(0.000_120_4), "120 µs");
        assert_eq!(duration_for_people(0.0), "0 s");
    }

    #[test]
    fn a_metrics_outline_reads_back_as_it_is_drawn() {
        let text = "frontend: demo.backend.calls (counter, {call}) 1 demo.backend.outcome=ok\n\
                    backend: http.server.request.duration (histogram, s, buckets 0.005 0.01 10) 1 \
                    http.route=/ server.port=…\n";
        let points = parse_metrics(text).unwrap();
        assert_eq!(
            points[0],
            ExpectedPoint {
                service: "frontend".into(),
                name: "demo.backend.calls".into(),
                kind: "counter".into(),
                unit: "{call}".into(),
                buckets: None,
                value: 1.0,
                attributes: vec![("demo.backend.outcome".into(), Some("ok".into()))],
            }
        );
        assert_eq!(points[1].buckets, Some(vec![0.005, 0.01, 10.0]));
        assert_eq!(
            points[1].attributes,
            [
                ("http.route".to_owned(), Some("/".to_owned())),
                ("server.port".to_owned(), None)
            ]
        );
        assert!(parse_metrics("frontend: x (counter, {call})\n").is_err());
    }
}
