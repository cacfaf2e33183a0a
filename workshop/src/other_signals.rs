//! The metrics and log records of one request, beside its trace: steps 11 and 12 send them, and
//! their `metrics.txt` and `logs.txt` draw what one request through the check's set-up makes,
//! as [`metrics_outline`] and [`logs_outline`] draw it. The tests hold each step's programs to
//! those files; the check reads them back ([`parse_metrics`], [`parse_logs`]) and says, in plain
//! words, what an attendee's programs sent differently ([`metric_problems`],
//! [`log_problems`]).

use std::{collections::BTreeMap, fmt::Write as _};

use trace_viewer::signals::{LogRecord, MetricKind, MetricRecord, Point, PointValue};

use crate::spans::{SpanRecord, VARY_FROM_RUN_TO_RUN, kind_name};

/// The bucket boundaries the SDK gives a histogram that is not told its own: made for
/// milliseconds.
pub const SDK_DEFAULT_BUCKETS: [f64; 15] = [
    0.0, 5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 750.0, 1000.0, 2500.0, 5000.0, 7500.0,
    10000.0,
];

/// The services in the order the outlines draw them: the caller first.
const SERVICES: [&str; 2] = ["frontend", "backend"];

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

/// The kind of a metric in words.
pub fn metric_kind_name(kind: MetricKind) -> &'static str {
    match kind {
        MetricKind::Gauge => "gauge",
        MetricKind::Sum {
            monotonic: true, ..
        } => "counter",
        MetricKind::Sum {
            monotonic: false, ..
        } => "up-down counter",
        MetricKind::Histogram { .. } => "histogram",
        MetricKind::Other => "other",
    }
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

/// The last export of each metric each service sent: a cumulative export holds everything
/// measured since the start. Frontend first, then by name.
pub fn last_exports(metrics: &[MetricRecord]) -> Vec<&MetricRecord> {
    let mut last: BTreeMap<(usize, &str, &str), &MetricRecord> = BTreeMap::new();
    for metric in metrics {
        let order = SERVICES
            .iter()
            .position(|service| *service == metric.service)
            .unwrap_or(SERVICES.len());
        last.insert((order, &metric.service, &metric.name), metric);
    }
    last.into_values().collect()
}

/// One line per point of the last export of each metric: service, name, kind, unit, buckets,
/// value (a histogram's count), attributes.
///
/// ```text
/// frontend: demo.backend.calls (counter, {call}) 1 demo.backend.outcome=ok
/// frontend: http.server.request.duration (histogram, s, buckets 0.005 0.01 … 10) 1 http.route=/ …
/// ```
pub fn metrics_outline(metrics: &[MetricRecord]) -> String {
    let mut text = String::new();
    for metric in last_exports(metrics) {
        let mut points: Vec<&Point> = metric.points.iter().collect();
        points.sort_by(|a, b| a.attributes.cmp(&b.attributes));
        for point in points {
            let mut notes = vec![
                metric_kind_name(metric.kind).to_owned(),
                unit_name(&metric.unit).to_owned(),
            ];
            let cumulative = match metric.kind {
                MetricKind::Sum { cumulative, .. } | MetricKind::Histogram { cumulative } => {
                    cumulative
                }
                _ => true,
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
                metric.service,
                metric.name,
                notes.join(", ")
            );
            for (key, value) in &point.attributes {
                match VARY_FROM_RUN_TO_RUN.contains(&key.as_str()) {
                    true => {
                        let _ = write!(text, " {key}=…");
                    }
                    false => {
                        let _ = write!(text, " {key}={value}");
                    }
                }
            }
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
        let attributes = words
            .map(|pair| {
                let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                (key.to_owned(), (value != "…").then(|| value.to_owned()))
            })
            .collect();
        points.push(ExpectedPoint {
            service: service.to_owned(),
            name: name.to_owned(),
            kind,
            unit,
            buckets,
            value,
            attributes,
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
    let mut others: Vec<&str> = Vec::new();
    for metric in metrics {
        if metric.service != program && !others.contains(&metric.service.as_str()) {
            others.push(&metric.service);
        }
    }
    for other in others {
        problems.push(format!(
            "Your {program}'s metrics say they come from the service `{other}`; the step's come \
             from `{program}`, as its spans do: build the meter provider with the resource the \
             tracer provider has (`with_resource(resource)`), so that a back end knows both \
             signals are one service's."
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
    let mut problems = Vec::new();
    let last = last_exports(exported);
    for service in SERVICES {
        let wanted: Vec<&ExpectedPoint> = expected
            .iter()
            .filter(|point| point.service == service)
            .collect();
        if wanted.is_empty() {
            continue;
        }
        let sent: Vec<&MetricRecord> = last
            .iter()
            .copied()
            .filter(|metric| metric.service == service)
            .collect();
        if sent.is_empty() {
            let names = distinct_names(&wanted);
            problems.push(format!(
                "Your {service} sent no metrics; the step's sends {}. A meter provider sends \
                 them when a periodic reader with the metric exporter is one of its readers \
                 (`PeriodicReader::builder(exporter)`): every interval, and once more when it \
                 is shut down, which is when the check, stopping your programs right after \
                 its request, gets them.",
                names.join(", ")
            ));
            continue;
        }
        for name in distinct_names(&wanted) {
            let name = name.trim_matches('`');
            let points: Vec<&ExpectedPoint> = wanted
                .iter()
                .copied()
                .filter(|point| point.name == name)
                .collect();
            let Some(metric) = sent.iter().find(|metric| metric.name == name) else {
                problems.push(missing_metric(service, points[0]));
                continue;
            };
            problems.extend(metric_differences(service, &points, metric, spans));
        }
        for metric in &sent {
            if !wanted.iter().any(|point| point.name == metric.name) {
                problems.push(format!(
                    "Your {service} sent the metric `{}` ({}), which the step's does not.",
                    metric.name,
                    metric_kind_name(metric.kind)
                ));
            }
        }
    }
    problems
}

/// The distinct metric names of `points`, in backticks, in order.
fn distinct_names(points: &[&ExpectedPoint]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for point in points {
        let name = format!("`{}`", point.name);
        if !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

/// The sentence for a metric a service sent no point of.
fn missing_metric(service: &str, point: &ExpectedPoint) -> String {
    let how = match point.kind.as_str() {
        "histogram" => "record each request's value in it once the request has ended",
        "up-down counter" => "add 1 when a request starts and -1 when it ends",
        _ => "add to it once per request",
    };
    format!(
        "Your {service} sent no `{}` ({}, {}); the step's does: {how}. An instrument that \
         measured nothing sends nothing.",
        point.name,
        point.kind,
        unit_name(&point.unit)
    )
}

/// What differs between a metric the step sends (its points) and the one a service sent.
fn metric_differences(
    service: &str,
    points: &[&ExpectedPoint],
    metric: &MetricRecord,
    spans: &[SpanRecord],
) -> Vec<String> {
    let mut problems = Vec::new();
    let name = &format!("The {service}'s `{}`", metric.name);
    let want = points[0];
    let kind = metric_kind_name(metric.kind);
    if kind != want.kind {
        problems.push(format!(
            "{name} is {} {kind}; the step's is {} {}.",
            article(kind),
            article(&want.kind),
            want.kind
        ));
        return problems;
    }
    if metric.unit != want.unit {
        problems.push(format!(
            "{name} has {}; the step's has the unit `{}`, as the semantic conventions say: \
             give the instrument `with_unit(\"{}\")`.",
            match metric.unit.as_str() {
                "" => "no unit".to_owned(),
                unit => format!("the unit `{unit}`"),
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
    match (points, metric.points.as_slice()) {
        ([want], [point]) => {
            problems.extend(attribute_differences(name, want, point));
            problems.extend(value_differences(service, &metric.name, want, point, spans));
        }
        (_, []) => problems.push(format!("{name} has no data point.")),
        (wanted, sent) if wanted.len() != sent.len() => {
            let sets: Vec<String> = sent
                .iter()
                .map(|point| format!("{{{}}}", attribute_list(&point.attributes)))
                .collect();
            problems.push(format!(
                "{name} has {} sets of attributes for one request ({}); the step's has {}: \
                 the same request is measured once, with one set.",
                sent.len(),
                sets.join(", "),
                wanted.len()
            ));
        }
        (wanted, sent) => {
            for (want, point) in wanted.iter().zip(sent) {
                problems.extend(attribute_differences(name, want, point));
            }
        }
    }
    problems
}

/// What differs between the attributes of a point the step sends and one that was sent; `name`
/// is the metric's, as a sentence begins with it.
fn attribute_differences(name: &str, want: &ExpectedPoint, point: &Point) -> Vec<String> {
    let mut problems = Vec::new();
    let absent: Vec<String> = want
        .attributes
        .iter()
        .filter(|(key, _)| !point.attributes.contains_key(key))
        .map(|(key, value)| match value {
            Some(value) => format!("`{key}={value}`"),
            None => format!("`{key}`"),
        })
        .collect();
    match absent.as_slice() {
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
    let extra: Vec<&String> = point
        .attributes
        .keys()
        .filter(|key| !want.attributes.iter().any(|(wanted, _)| wanted == *key))
        .collect();
    if !extra.is_empty() {
        let listed: Vec<String> = extra.iter().map(|key| format!("`{key}`")).collect();
        let per_url = extra
            .iter()
            .any(|key| ["url.path", "url.full", "url.query"].contains(&key.as_str()));
        let advice = match per_url {
            true => {
                " A metric keeps one series per set of attribute values, and a URL takes a new \
                 value for every user, id and query: the series grow without end. The route \
                 (`http.route`, `/users/{id}`) says where a request went in few values; the \
                 span keeps the URL."
            }
            false => "",
        };
        problems.push(format!(
            "{name} has attributes the step's does not: {}.{advice}",
            listed.join(", ")
        ));
    }
    for (key, value) in &want.attributes {
        if let (Some(sent), Some(value)) = (point.attributes.get(key), value)
            && sent != value
        {
            problems.push(format!(
                "{name} has `{key}={sent}`; the step's has `{key}={value}`."
            ));
        }
    }
    problems
}

/// What is wrong with a point's value: a count, a counter's sum, a histogram's unit.
fn value_differences(
    service: &str,
    name: &str,
    want: &ExpectedPoint,
    point: &Point,
    spans: &[SpanRecord],
) -> Vec<String> {
    let mut problems = Vec::new();
    let label = format!("The {service}'s `{name}`");
    match &point.value {
        PointValue::Histogram(histogram) => {
            let count = histogram.count as f64;
            if count != want.value {
                problems.push(format!(
                    "{label} counted {} for the check's one request; the step's counts {}: \
                     record once per request, when it has ended.",
                    histogram.count,
                    number(want.value)
                ));
            }
            if let (Some(sum), Some(span)) = (histogram.sum, measured_span(service, name, spans)) {
                let by_span = span.duration().as_secs_f64();
                if count > 0.0 && by_span > 0.0 && sum > 100.0 * by_span && sum > 0.1 {
                    let unit = match sum / by_span {
                        ratio if ratio > 100_000.0 => "microseconds",
                        _ => "milliseconds",
                    };
                    problems.push(format!(
                        "{label} says the check's request took {} s, but its span `{}` lasted \
                         {:.1} ms: the duration was recorded in {unit}. The unit is seconds, as \
                         the semantic conventions say: record `elapsed().as_secs_f64()`.",
                        number(sum),
                        span.name,
                        by_span * 1000.0
                    ));
                }
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
                number(want.value)
            ));
        }
        PointValue::Number(_) => {}
    }
    problems
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

fn article(word: &str) -> &'static str {
    match word.starts_with(['a', 'e', 'i', 'o', 'u']) {
        true => "an",
        false => "a",
    }
}

fn joined(bounds: &[f64]) -> String {
    let bounds: Vec<String> = bounds.iter().map(|bound| number(*bound)).collect();
    bounds.join(", ")
}

fn attribute_list(attributes: &BTreeMap<String, String>) -> String {
    let pairs: Vec<String> = attributes
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect();
    pairs.join(" ")
}

/// One log record, as `logs.txt` draws it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedRecord {
    pub service: String,
    /// The span it was written in, by name; `None` for a record written outside any span.
    pub span: Option<String>,
    pub severity_text: String,
    pub severity_number: i32,
    pub body: String,
}

/// Where a record was written, by the span its ids name: `backend call`, or why there is none.
fn span_of<'a>(
    record: &LogRecord,
    spans: &'a [SpanRecord],
) -> Result<&'a SpanRecord, &'static str> {
    let (Some(trace_id), Some(span_id)) = (record.trace_id, record.span_id) else {
        return Err("no span");
    };
    spans
        .iter()
        .find(|span| span.trace_id == trace_id && span.span_id == span_id)
        .ok_or("a span nobody exported")
}

/// One line per log record, each service's in the order they were written: the service, the
/// span it was written in, its severity (text and number) and its body.
///
/// ```text
/// frontend, in backend call: INFO(9) making backend call
/// ```
pub fn logs_outline(records: &[LogRecord], spans: &[SpanRecord]) -> String {
    let mut text = String::new();
    for record in ordered(records) {
        let place = match span_of(record, spans) {
            Ok(span) => span.name.clone(),
            Err(why) => why.to_owned(),
        };
        let _ = writeln!(
            text,
            "{}, in {place}: {}({}) {}",
            record.service,
            record.severity_text,
            record.severity_number,
            trace_viewer::terminal::printable(&record.body)
        );
    }
    text
}

/// `records`, frontend's first, each service's in the order they were written.
fn ordered(records: &[LogRecord]) -> Vec<&LogRecord> {
    let mut ordered: Vec<&LogRecord> = records.iter().collect();
    ordered.sort_by_key(|record| {
        let order = SERVICES
            .iter()
            .position(|service| *service == record.service)
            .unwrap_or(SERVICES.len());
        (order, record.time)
    });
    ordered
}

/// `logs.txt` read back.
pub fn parse_logs(text: &str) -> Result<Vec<ExpectedRecord>, String> {
    let mut records = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let problem = |what: &str| format!("line {}: {what}: {line:?}", number + 1);
        let (place, rest) = line
            .split_once(": ")
            .ok_or_else(|| problem("no `service, in span: `"))?;
        let (service, span) = place
            .split_once(", in ")
            .ok_or_else(|| problem("no `, in span`"))?;
        let (severity, body) = rest
            .split_once(' ')
            .ok_or_else(|| problem("no `SEVERITY(n) body`"))?;
        let (severity_text, severity_number) = severity
            .strip_suffix(')')
            .and_then(|severity| severity.split_once('('))
            .ok_or_else(|| problem("no `SEVERITY(n)`"))?;
        records.push(ExpectedRecord {
            service: service.to_owned(),
            span: (span != "no span").then(|| span.to_owned()),
            severity_text: severity_text.to_owned(),
            severity_number: severity_number
                .parse()
                .map_err(|_| problem("the severity number is not a number"))?,
            body: body.to_owned(),
        });
    }
    Ok(records)
}

/// `records`, which the program `program` sent, told apart by the service name the steps give
/// it, as [`metrics_named_for`] does for metrics.
pub fn logs_named_for(
    program: &str,
    records: &[LogRecord],
    problems: &mut Vec<String>,
) -> Vec<LogRecord> {
    if let Some(other) = records.iter().find(|record| record.service != program) {
        problems.push(format!(
            "Your {program}'s log records say they come from the service `{}`; the step's come \
             from `{program}`, as its spans do: build the logger provider with the resource the \
             tracer provider has (`with_resource(resource)`), so that a back end shows them \
             under the service's spans.",
            other.service
        ));
    }
    records
        .iter()
        .map(|record| LogRecord {
            service: program.to_owned(),
            ..record.clone()
        })
        .collect()
}

/// What differs between the log records a step's programs send for one request (`expected`,
/// from its `logs.txt`) and those they sent, as sentences for the attendee; `spans` are the
/// spans they exported, which the records' ids must name.
pub fn log_problems(
    expected: &[ExpectedRecord],
    records: &[LogRecord],
    spans: &[SpanRecord],
) -> Vec<String> {
    let mut problems = Vec::new();
    for service in SERVICES {
        let wanted: Vec<&ExpectedRecord> = expected
            .iter()
            .filter(|record| record.service == service)
            .collect();
        let sent: Vec<&LogRecord> = records
            .iter()
            .filter(|record| record.service == service)
            .collect();
        if sent.is_empty() && !wanted.is_empty() {
            let bodies: Vec<String> = wanted
                .iter()
                .map(|record| format!("`{}`", record.body))
                .collect();
            problems.push(format!(
                "Your {service} sent no log records; the step's sends {}. An event becomes a \
                 record through the logs bridge, a layer of the subscriber \
                 (`OpenTelemetryTracingBridge::new(&logger_provider)`), whose logger provider \
                 has a batch processor with the log exporter; and the provider must be shut down \
                 before the program exits: the check stops your programs right after its \
                 request, and only the shutdown sends what the processor holds then.",
                bodies.join(" and ")
            ));
            continue;
        }
        for want in &wanted {
            let body = &want.body;
            let found = sent.iter().find(|record| &record.body == body);
            let Some(record) = found else {
                problems.push(format!(
                    "Your {service} sent no log record `{body}`: the event `{body}` must become \
                     one."
                ));
                continue;
            };
            if record.severity_number != want.severity_number
                || record.severity_text != want.severity_text
            {
                problems.push(format!(
                    "The log record `{body}` has the severity {}({}); the step's has {}({}), \
                     as the specification maps its event's level.",
                    record.severity_text,
                    record.severity_number,
                    want.severity_text,
                    want.severity_number
                ));
            }
            match (span_of(record, spans), &want.span) {
                (Ok(span), Some(wanted)) if &span.name == wanted => {}
                (Ok(span), Some(wanted)) => problems.push(format!(
                    "The log record `{body}` is in `{}`; the step's is in `{wanted}`, where \
                     its event is written.",
                    span.name
                )),
                (Err("no span"), Some(wanted)) => problems.push(format!(
                    "The log record `{body}` has no trace id and span id; the step's carries \
                     those of `{wanted}`, the span its event is written in: the bridge takes \
                     them from the OpenTelemetry context current when the event is written, \
                     which the trace's layer makes the span's on entering it. Install the \
                     bridge in the same subscriber as the trace's layer."
                )),
                (Err(why), Some(wanted)) => problems.push(format!(
                    "The log record `{body}` names {why}; the step's names `{wanted}`."
                )),
                (Ok(span), None) => problems.push(format!(
                    "The log record `{body}` is in `{}`; the step's is written outside any span.",
                    span.name
                )),
                (Err(_), None) => {}
            }
        }
        let unexpected: Vec<&LogRecord> = sent
            .iter()
            .copied()
            .filter(|record| !wanted.iter().any(|want| want.body == record.body))
            .collect();
        if unexpected.is_empty() {
            continue;
        }
        let mut scopes: Vec<&str> = Vec::new();
        for record in &unexpected {
            if !scopes.contains(&record.scope.as_str()) {
                scopes.push(&record.scope);
            }
        }
        let from_libraries = scopes
            .iter()
            .any(|scope| EXPORTER_CRATES.iter().any(|name| scope.starts_with(name)));
        let listed: Vec<String> = scopes.iter().take(4).map(|s| format!("`{s}`")).collect();
        let more = match scopes.len() > 4 {
            true => ", …",
            false => "",
        };
        problems.push(match from_libraries {
            true => format!(
                "Your {service} sent {} log records the step's does not, from {}{more}: the \
                 crates its exporter runs on report their own work, and each record of it is \
                 sent by that work in turn. Keep them out of the bridge with a filter of its \
                 own (`logs::log_record_filter`), as the trace's layer keeps them out of the \
                 trace.",
                unexpected.len(),
                listed.join(", ")
            ),
            false => {
                let bodies: Vec<String> = unexpected
                    .iter()
                    .take(4)
                    .map(|record| format!("`{}`", trace_viewer::terminal::printable(&record.body)))
                    .collect();
                format!(
                    "Your {service} sent {} log records the step's does not: {}{more}.",
                    unexpected.len(),
                    bodies.join(", ")
                )
            }
        });
    }
    problems
}

/// The crates an exporter runs on, whose events a bridge without its filter turns into
/// records (the steps' `logs.rs` keeps them out by the same prefixes).
const EXPORTER_CRATES: [&str; 7] = [
    "opentelemetry",
    "hyper",
    "h2",
    "rustls",
    "tonic",
    "gcp_auth",
    "reqwest",
];

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn a_logs_outline_reads_back_as_it_is_drawn() {
        let records = parse_logs(
            "frontend, in backend call: INFO(9) making backend call\n\
             backend, in no span: WARN(13) shutting down now\n",
        )
        .unwrap();
        assert_eq!(
            records,
            [
                ExpectedRecord {
                    service: "frontend".into(),
                    span: Some("backend call".into()),
                    severity_text: "INFO".into(),
                    severity_number: 9,
                    body: "making backend call".into(),
                },
                ExpectedRecord {
                    service: "backend".into(),
                    span: None,
                    severity_text: "WARN".into(),
                    severity_number: 13,
                    body: "shutting down now".into(),
                }
            ]
        );
    }
}
