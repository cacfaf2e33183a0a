//! The web page's HTML, made on the server. Every text that came from the network goes through
//! [`escape`](crate::markup::escape): a span named `<script>` is shown as those eight characters.

use std::{
    borrow::Cow,
    collections::{BTreeMap, HashMap, HashSet},
    fmt::Write,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use opentelemetry::trace::{SpanId, Status};

use crate::{
    markup::escape,
    signals::{LogRecord, MetricRecord},
    spans::{self, SpanRecord},
    tables,
    waterfall::{self, Target},
};

/// The traces listed, at most: the newest.
const LISTED: usize = 200;
/// The spans a waterfall draws, at most: the earliest (the rest are counted).
const DRAWN: usize = 1000;
/// The services the list's filter offers, and names in a row, at most.
const SERVICES_OFFERED: usize = 100;
const SERVICES_IN_A_ROW: usize = 5;
/// The longest name shown (of a span, a service, an event, an attribute) and the longest value
/// (of an attribute, a log record's body, a status), in bytes; the rest is counted.
const NAME_BYTES: usize = 200;
const VALUE_BYTES: usize = 4096;
/// Once a trace's page holds this many bytes, its spans' details are left out: a page is made
/// in memory, and a sender chooses how much its spans hold.
const PAGE_BYTES: usize = 4 << 20;

/// `text` as the page shows it: at most `limit` bytes, cut between two characters, the rest
/// counted.
fn shown(text: &str, limit: usize) -> Cow<'_, str> {
    if text.len() <= limit {
        return Cow::Borrowed(text);
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    Cow::Owned(format!(
        "{}… ({} bytes more)",
        &text[..end],
        text.len() - end
    ))
}

/// A name, cut and escaped.
fn name(text: &str) -> String {
    escape(&shown(text, NAME_BYTES))
}

/// A value, cut and escaped.
fn value(text: &str) -> String {
    escape(&shown(text, VALUE_BYTES))
}

/// The list's filters, from its address's query: `?service=backend&min_ms=100`.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Filter {
    /// Only traces with a span of this service.
    pub service: Option<String>,
    /// Only traces that took at least this many milliseconds.
    pub min_ms: Option<f64>,
}

impl Filter {
    /// What the query asks for; what does not parse is left out.
    pub fn from_query(query: &str) -> Filter {
        let mut filter = Filter::default();
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            match &*key {
                "service" if !value.is_empty() => filter.service = Some(value.into_owned()),
                "min_ms" => {
                    filter.min_ms = value
                        .trim()
                        .parse::<f64>()
                        .ok()
                        .filter(|ms| ms.is_finite() && *ms > 0.0);
                }
                _ => {}
            }
        }
        filter
    }

    fn keeps(&self, trace: &Summary) -> bool {
        self.service
            .as_ref()
            .is_none_or(|service| trace.services.contains(&service.as_str()))
            && self
                .min_ms
                .is_none_or(|least| trace.duration.as_secs_f64() * 1000.0 >= least)
    }
}

/// What the list says of a trace.
struct Summary<'a> {
    spans: &'a [SpanRecord],
    root: &'a SpanRecord,
    services: Vec<&'a str>,
    start: SystemTime,
    duration: Duration,
    errors: usize,
}

impl<'a> Summary<'a> {
    fn of(spans: &'a [SpanRecord]) -> Option<Summary<'a>> {
        let (start, end) = spans::bounds(spans)?;
        // The root, or else (its root not received) the span that started first.
        let root = spans
            .iter()
            .min_by_key(|span| (span.parent_span_id.is_some(), span.start))?;
        // The services in the order they took part: of the earliest span first.
        let mut by_start: Vec<&SpanRecord> = spans.iter().collect();
        by_start.sort_by_key(|span| span.start);
        let mut seen = HashSet::new();
        let services: Vec<&str> = by_start
            .into_iter()
            .map(|span| span.service.as_str())
            .filter(|service| seen.insert(*service))
            .collect();
        Some(Summary {
            spans,
            root,
            services,
            start,
            duration: end.duration_since(start).unwrap_or_default(),
            errors: spans
                .iter()
                .filter(|span| span.error_description().is_some())
                .count(),
        })
    }
}

/// The page around `main`: the style sheet and script it loads, its navigation, and the
/// generation of what it shows, for the script to know when there is something new.
fn page(title: &str, main: &str, generation: u64) -> String {
    format!(
        r#"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · trace viewer</title>
<link rel="stylesheet" href="/viewer.css">
<script src="/viewer.js" defer></script>
</head>
<body data-generation="{generation}">
<header><nav><a href="/">Traces</a> <a href="/metrics">Metrics</a></nav><span class="live" id="live" title="The page shows new traces as they come">live</span></header>
<main>
{main}</main>
</body>
</html>
"#,
        title = name(title),
    )
}

/// A trace's services, the first few by name, the rest counted.
fn service_names(services: &[&str]) -> String {
    let mut names: Vec<String> = services
        .iter()
        .take(SERVICES_IN_A_ROW)
        .map(|service| name(service))
        .collect();
    if services.len() > SERVICES_IN_A_ROW {
        names.push(format!("{} more", services.len() - SERVICES_IN_A_ROW));
    }
    names.join(", ")
}

/// The list of `traces` (newest first, as received), with the filters' form.
pub fn trace_list(traces: &[Arc<[SpanRecord]>], filter: &Filter, generation: u64) -> String {
    let mut summaries: Vec<Summary> = traces
        .iter()
        .filter_map(|spans| Summary::of(spans))
        .collect();
    // Services whose name is longer than a name is shown are not offered: the option would
    // have to carry all of it.
    let mut services: Vec<&str> = summaries
        .iter()
        .flat_map(|trace| trace.services.iter().copied())
        .filter(|service| service.len() <= NAME_BYTES)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    services.sort_unstable();
    services.truncate(SERVICES_OFFERED);
    // The service filtered on is offered, even if it is not among those.
    if let Some(wanted) = filter.service.as_deref() {
        if !services.contains(&wanted) {
            services.insert(0, wanted);
        }
    }
    summaries.retain(|trace| filter.keeps(trace));

    let mut main = String::new();
    main.push_str(r#"<h1>Traces</h1>
<form class="filters" method="get" action="/"><label>Service <select name="service"><option value="">any</option>"#);
    for service in &services {
        let selected = if filter.service.as_deref() == Some(*service) {
            " selected"
        } else {
            ""
        };
        let _ = write!(
            main,
            r#"<option value="{}"{selected}>{}</option>"#,
            escape(service),
            name(service)
        );
    }
    let min_ms = filter.min_ms.map(|ms| ms.to_string()).unwrap_or_default();
    let _ = writeln!(
        main,
        r#"</select></label> <label>At least <input name="min_ms" type="number" min="0" step="any" value="{min_ms}" size="6"> ms</label> <button type="submit">Filter</button></form>"#
    );
    if summaries.is_empty() {
        main.push_str(if traces.is_empty() {
            "<p class=\"empty\">No trace yet: send the frontend a request, and its trace shows here once its spans are in.</p>\n"
        } else {
            "<p class=\"empty\">No trace matches these filters.</p>\n"
        });
        return page("Traces", &main, generation);
    }
    main.push_str(r#"<table class="traces"><thead><tr><th>Started (UTC)</th><th>Root span</th><th>Services</th><th class="number">Spans</th><th class="number">Duration</th><th class="number">Errors</th></tr></thead><tbody>"#);
    main.push('\n');
    for trace in summaries.iter().take(LISTED) {
        let error_class = if trace.errors > 0 {
            " class=\"error\""
        } else {
            ""
        };
        let _ = writeln!(
            main,
            r#"<tr{error_class}><td>{}</td><td><a href="/trace/{}">{}</a></td><td>{}</td><td class="number">{}</td><td class="number">{}</td><td class="number">{}</td></tr>"#,
            clock_time(trace.start),
            trace.root.trace_id,
            name(&trace.root.name),
            service_names(&trace.services),
            trace.spans.len(),
            millis(trace.duration),
            trace.errors
        );
    }
    main.push_str("</tbody></table>\n");
    if summaries.len() > LISTED {
        let _ = writeln!(
            main,
            "<p class=\"note\">and {} older traces, not listed</p>",
            summaries.len() - LISTED
        );
    }
    page("Traces", &main, generation)
}

/// A trace: its waterfall, and beside it what the page shows of the span clicked.
/// `linked_from` are spans of other traces linked to spans of this one.
pub fn trace_page(
    spans: &[SpanRecord],
    logs: &[LogRecord],
    linked_from: &[&SpanRecord],
    generation: u64,
) -> String {
    let Some(trace) = Summary::of(spans) else {
        return page("No spans", "<p>This trace has no spans.</p>\n", generation);
    };
    let trace_id = trace.root.trace_id;
    let mut main = String::new();
    let _ = writeln!(
        main,
        r#"<h1>{}</h1>
<p class="summary">trace <code>{trace_id}</code> · {} span{} · {} · {} ms · {} error{}</p>"#,
        name(&trace.root.name),
        spans.len(),
        plural(spans.len()),
        service_names(&trace.services),
        millis(trace.duration),
        trace.errors,
        plural(trace.errors),
    );
    let mut drawn: Vec<SpanRecord> = spans.to_vec();
    drawn.sort_by_key(|span| span.start);
    if drawn.len() > DRAWN {
        drawn.truncate(DRAWN);
        let _ = writeln!(
            main,
            r#"<p class="note">The waterfall draws the first {DRAWN} spans of {}.</p>"#,
            spans.len()
        );
    }
    let title = format!(
        "{}: {} span{}",
        shown(&trace.root.name, NAME_BYTES),
        spans.len(),
        plural(spans.len()),
    );
    let _ = writeln!(
        main,
        r#"<div class="trace"><div class="waterfall">{}</div>
<aside class="details"><p class="hint">Click a span to see its attributes, events, links and log records.</p>"#,
        waterfall::svg(&drawn, &title, "The trace's waterfall", Target::Page)
    );
    // Looked up once for all spans, not searched for each.
    let mut logs_by_span: HashMap<SpanId, Vec<&LogRecord>> = HashMap::new();
    for record in logs {
        if let Some(span_id) = record.span_id {
            logs_by_span.entry(span_id).or_default().push(record);
        }
    }
    let mut links_to: HashMap<SpanId, Vec<&SpanRecord>> = HashMap::new();
    for other in linked_from {
        for link in other.links.iter().filter(|link| link.trace_id == trace_id) {
            links_to.entry(link.span_id).or_default().push(other);
        }
    }
    for (span, _, _) in spans::tree(&drawn) {
        if main.len() > PAGE_BYTES {
            let _ = writeln!(
                main,
                r#"<section class="span-detail" id="span-{}"><h2>{}</h2><p class="note">Left out: this trace's details are more than one page holds.</p></section>"#,
                span.span_id,
                name(&span.name)
            );
            continue;
        }
        let logs = logs_by_span
            .get(&span.span_id)
            .map_or(&[][..], Vec::as_slice);
        let from = links_to.get(&span.span_id).map_or(&[][..], Vec::as_slice);
        span_details(&mut main, span, trace.start, logs, from);
    }
    main.push_str("</aside></div>\n");
    page(&trace.root.name, &main, generation)
}

/// What the page shows of a span once clicked (hidden until then).
fn span_details(
    main: &mut String,
    span: &SpanRecord,
    trace_start: SystemTime,
    logs: &[&LogRecord],
    linked_from: &[&SpanRecord],
) {
    let _ = writeln!(
        main,
        r#"<section class="span-detail" id="span-{}"><h2>{}</h2>"#,
        span.span_id,
        name(&span.name)
    );
    let status = match &span.status {
        Status::Unset => "unset".to_owned(),
        Status::Ok => "ok".to_owned(),
        Status::Error { description } => format!("error: {}", value(description)),
    };
    let parent = span
        .parent_span_id
        .map_or("none (the root)".to_owned(), |parent| {
            format!("<code>{parent}</code>")
        });
    let _ = writeln!(
        main,
        r#"<dl><dt>service</dt><dd>{}</dd><dt>kind</dt><dd>{}</dd><dt>span id</dt><dd><code>{}</code></dd><dt>parent</dt><dd>{parent}</dd><dt>start</dt><dd>+{} ms</dd><dt>duration</dt><dd>{} ms</dd><dt>status</dt><dd>{status}</dd><dt>scope</dt><dd>{}</dd></dl>"#,
        name(&span.service),
        spans::kind_name(&span.kind),
        span.span_id,
        millis(since(trace_start, span.start)),
        millis(span.duration()),
        name(&span.scope),
    );
    main.push_str("<h3>Attributes</h3>\n");
    attribute_table(main, &span.attributes);
    if !span.events.is_empty() {
        main.push_str("<h3>Events</h3>\n<ul class=\"events\">\n");
        for event in &span.events {
            let _ = write!(
                main,
                "<li><span class=\"name\">{}</span> <span class=\"note\">+{} ms</span>",
                name(&event.name),
                millis(since(span.start, event.time))
            );
            if !event.attributes.is_empty() {
                attribute_table(main, &event.attributes);
            }
            main.push_str("</li>\n");
        }
        main.push_str("</ul>\n");
    }
    if !span.links.is_empty() {
        main.push_str("<h3>Links</h3>\n<ul class=\"links\">\n");
        for link in &span.links {
            let _ = writeln!(
                main,
                r#"<li><a href="/trace/{0}#span-{1}">trace <code>{0}</code>, span <code>{1}</code></a></li>"#,
                link.trace_id, link.span_id
            );
        }
        main.push_str("</ul>\n");
    }
    if !linked_from.is_empty() {
        main.push_str("<h3>Linked from</h3>\n<ul class=\"links\">\n");
        for other in linked_from {
            let _ = writeln!(
                main,
                r#"<li><a href="/trace/{}#span-{}">{}: {}</a></li>"#,
                other.trace_id,
                other.span_id,
                name(&other.service),
                name(&other.name)
            );
        }
        main.push_str("</ul>\n");
    }
    if !logs.is_empty() {
        main.push_str("<h3>Log records</h3>\n<table class=\"logs\">\n");
        for record in logs {
            if main.len() > PAGE_BYTES {
                break;
            }
            let severity = match record.severity_text.as_str() {
                "" => record.severity_number.to_string(),
                text => name(text),
            };
            let _ = write!(
                main,
                r#"<tr><td class="note">+{} ms</td><td>{severity}</td><td>{}</td><td>"#,
                millis(since(span.start, record.time)),
                value(&record.body)
            );
            if !record.attributes.is_empty() {
                attribute_table(main, &record.attributes);
            }
            main.push_str("</td></tr>\n");
        }
        main.push_str("</table>\n");
    }
    main.push_str("</section>\n");
}

fn attribute_table(main: &mut String, attributes: &BTreeMap<String, String>) {
    if attributes.is_empty() {
        main.push_str("<p class=\"note\">none</p>\n");
        return;
    }
    main.push_str("<table class=\"attributes\">\n");
    for (key, text) in attributes {
        if main.len() > PAGE_BYTES {
            main.push_str("<tr><td>… more than one page holds</td></tr>\n");
            break;
        }
        let _ = writeln!(
            main,
            "<tr><th>{}</th><td>{}</td></tr>",
            name(key),
            value(text)
        );
    }
    main.push_str("</table>\n");
}

/// The page for a trace the viewer does not hold (any more).
pub fn missing_trace(trace_id: &str, generation: u64) -> String {
    let main = format!(
        "<h1>Not here</h1>\n<p>The viewer holds no trace <code>{}</code>: not received yet, or let go to stay within its memory budget. <a href=\"/\">All traces</a></p>\n",
        name(trace_id)
    );
    page("Not here", &main, generation)
}

/// The metric tables the terminal shows, with each slow request's trace id a link to its
/// trace when the viewer holds it (`shown`).
pub fn metrics_page(
    metrics: &[MetricRecord],
    server_spans: &[SpanRecord],
    shown: &dyn Fn(&str) -> bool,
    generation: u64,
) -> String {
    let mut main = String::from("<h1>Metrics</h1>\n");
    if metrics.is_empty() {
        main.push_str("<p class=\"empty\">No metrics yet: step 11's programs send theirs every few seconds.</p>\n");
        return page("Metrics", &main, generation);
    }
    main.push_str("<p class=\"hint\">Each metric's last export. Under a server's request durations, the slowest requests: click one to see its trace.</p>\n<pre class=\"metrics\">");
    let text = escape(&tables::render_metrics(metrics, server_spans));
    // Escaped first: a trace id is then made a link only where its 32 hex digits stand alone.
    for line in text.split_inclusive('\n') {
        for (index, word) in line.split(' ').enumerate() {
            if index > 0 {
                main.push(' ');
            }
            let id = word.trim_end_matches('\n');
            if id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit()) && shown(id) {
                let _ = write!(
                    main,
                    r#"<a href="/trace/{id}">{id}</a>{}"#,
                    &word[id.len()..]
                );
            } else {
                main.push_str(word);
            }
        }
    }
    main.push_str("</pre>\n");
    page("Metrics", &main, generation)
}

fn plural(count: usize) -> &'static str {
    if count == 1 { "" } else { "s" }
}

fn since(from: SystemTime, to: SystemTime) -> Duration {
    to.duration_since(from).unwrap_or_default()
}

/// Milliseconds with two decimals, as the drawings show them.
fn millis(duration: Duration) -> String {
    format!("{:.2}", duration.as_secs_f64() * 1000.0)
}

/// The time of day, UTC, to the millisecond: `14:03:07.512`.
fn clock_time(time: SystemTime) -> String {
    let since_epoch = time.duration_since(UNIX_EPOCH).unwrap_or_default();
    let seconds = since_epoch.as_secs();
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        seconds / 3600 % 24,
        seconds / 60 % 60,
        seconds % 60,
        since_epoch.subsec_millis()
    )
}
