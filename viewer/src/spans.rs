//! Spans as the viewer receives them, and a trace drawn for people: a tree of spans with a
//! waterfall of their timings. (The workshop's tests read spans into the same records.)

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    fmt::Write,
    time::{Duration, SystemTime},
};

use opentelemetry::trace::{SpanId, SpanKind, Status, TraceId};

use crate::{
    signals::{LogRecord, map_bytes},
    terminal::{clip, pad, printable},
};

/// One finished span, with the service that exported it.
#[derive(Debug, Clone, PartialEq)]
pub struct SpanRecord {
    /// The `service.name` of the program that exported the span.
    pub service: String,
    /// The tracer's name (the instrumentation scope).
    pub scope: String,
    pub name: String,
    pub kind: SpanKind,
    pub trace_id: TraceId,
    pub span_id: SpanId,
    /// `None` for a root span.
    pub parent_span_id: Option<SpanId>,
    pub status: Status,
    pub start: SystemTime,
    pub end: SystemTime,
    pub attributes: BTreeMap<String, String>,
    pub events: Vec<EventRecord>,
    /// The spans this one is linked to, of its own trace or of others: a job's span links to
    /// the span of the request that queued it.
    pub links: Vec<LinkRecord>,
}

/// A link from a span to another span, which may be in another trace.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkRecord {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub attributes: BTreeMap<String, String>,
}

/// An event on a span.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRecord {
    pub name: String,
    pub time: SystemTime,
    pub attributes: BTreeMap<String, String>,
}

impl SpanRecord {
    pub fn duration(&self) -> Duration {
        self.end.duration_since(self.start).unwrap_or_default()
    }

    /// The first event called `name`.
    pub fn event(&self, name: &str) -> Option<&EventRecord> {
        self.events.iter().find(|event| event.name == name)
    }

    /// About how many bytes of memory the record takes, with what it owns: for the trace
    /// viewer's memory budget. An estimate on the high side: each string's allocation, each
    /// map entry's share of its tree's nodes.
    pub fn held_bytes(&self) -> usize {
        let description = self.error_description().map_or(0, str::len);
        size_of::<SpanRecord>()
            + self.service.capacity()
            + self.scope.capacity()
            + self.name.capacity()
            + description
            + map_bytes(&self.attributes)
            + self.events.capacity() * size_of::<EventRecord>()
            + self
                .events
                .iter()
                .map(|event| event.name.capacity() + map_bytes(&event.attributes))
                .sum::<usize>()
            + self.links.capacity() * size_of::<LinkRecord>()
            + self
                .links
                .iter()
                .map(|link| map_bytes(&link.attributes))
                .sum::<usize>()
    }

    /// The status's description when it is an error.
    pub fn error_description(&self) -> Option<&str> {
        match &self.status {
            Status::Error { description } => Some(description),
            _ => None,
        }
    }
}

/// Groups spans by trace, traces in the order they started, spans in the order they started.
pub fn traces(spans: &[SpanRecord]) -> Vec<Vec<SpanRecord>> {
    let mut by_trace: Vec<Vec<SpanRecord>> = Vec::new();
    for span in spans {
        match by_trace.iter_mut().find(|t| t[0].trace_id == span.trace_id) {
            Some(trace) => trace.push(span.clone()),
            None => by_trace.push(vec![span.clone()]),
        }
    }
    for trace in &mut by_trace {
        trace.sort_by_key(|span| span.start);
    }
    by_trace.sort_by_key(|trace| trace[0].start);
    by_trace
}

/// The deepest indentation [`render`] draws (and the tests' outlines).
pub const MAX_DRAWN_DEPTH: usize = 8;

/// One trace drawn for a person: a tree of spans with their services, kinds and durations, a
/// waterfall bar per span on the trace's time line, and the events and attributes under each
/// span. Fits in 80 columns.
pub fn render(spans: &[SpanRecord]) -> String {
    render_with_logs(spans, &[])
}

/// As [`render`], with the log records among `logs` that were written in a span of the trace
/// drawn under that span, after its events: `▸ INFO making backend call (+0.06 ms)`. Records of
/// other traces, or of none, are left out.
pub fn render_with_logs(spans: &[SpanRecord], logs: &[LogRecord]) -> String {
    // service 10 + span 30 + kind 9 + duration 9 + 2 + bar 19 + error mark 1 = 80 columns
    // (`internal` and `999.99 ms` fill their columns: the kind column has room for a space)
    const BAR_WIDTH: usize = 19;
    let Some((trace_start, trace_end)) = bounds(spans) else {
        return String::from("(no spans)\n");
    };
    let total = trace_end.duration_since(trace_start).unwrap_or_default();
    let services = services(spans);

    let mut text = String::new();
    let _ = writeln!(text, "trace {}", spans[0].trace_id);
    let _ = writeln!(
        text,
        "{} span{} from {}, {}",
        spans.len(),
        if spans.len() == 1 { "" } else { "s" },
        services
            .iter()
            .map(|service| printable(service))
            .collect::<Vec<_>>()
            .join(" and "),
        millis(total)
    );
    let _ = writeln!(
        text,
        "{:<10}{:<30}{:<9}{:>9}  waterfall",
        "service", "span", "kind", "duration"
    );
    for (span, depth, _) in tree(spans) {
        // Deeper spans are drawn at the deepest indentation shown: the columns stay put, and
        // a chain of thousands of spans does not make lines of thousands of spaces.
        let depth = depth.min(MAX_DRAWN_DEPTH);
        let branch = if depth == 0 {
            String::new()
        } else {
            format!("{}└─ ", "   ".repeat(depth - 1))
        };
        let offset = span.start.duration_since(trace_start).unwrap_or_default();
        let bar = waterfall(offset, span.duration(), total, BAR_WIDTH);
        let marker = if span.error_description().is_some() {
            "✗"
        } else {
            ""
        };
        // Names come from the network: `pad` shows them printable, clipped and padded by
        // terminal columns (a column of its own between each).
        let _ = writeln!(
            text,
            "{} {} {:<9}{:>9}  {bar}{marker}",
            pad(&span.service, 9),
            pad(&format!("{branch}{}", span.name), 29),
            kind_name(&span.kind),
            millis(span.duration()),
        );
        let detail_indent = " ".repeat(10 + 3 * depth + 2);
        for event in &span.events {
            let at = event.time.duration_since(span.start).unwrap_or_default();
            let name = printable(&event.name);
            let _ = writeln!(text, "{detail_indent}· {name} (+{})", millis(at));
            for (key, value) in &event.attributes {
                let (key, value) = (printable(key), printable(value));
                let _ = writeln!(text, "{detail_indent}    {key} = {value}");
            }
        }
        // A link names a span that may be in another trace, drawn elsewhere or not at all.
        for link in &span.links {
            let line = format!(
                "{detail_indent}↗ linked to {}/{}",
                link.trace_id, link.span_id
            );
            let _ = writeln!(text, "{}", clip(&line, 80));
        }
        let written_in_it = logs.iter().filter(|record| {
            record.trace_id == Some(span.trace_id) && record.span_id == Some(span.span_id)
        });
        for record in written_in_it {
            let at = record.time.duration_since(span.start).unwrap_or_default();
            let severity = match record.severity_text.as_str() {
                "" => format!("severity {}", record.severity_number),
                text => printable(text).into_owned(),
            };
            // An event without a message (`error!(error = %error)`) has an empty body.
            let body = match record.body.as_str() {
                "" => String::new(),
                body => format!(" {}", printable(body)),
            };
            let line = format!("{detail_indent}▸ {severity}{body} (+{})", millis(at));
            let _ = writeln!(text, "{}", clip(&line, 80));
            for (key, value) in &record.attributes {
                let (key, value) = (printable(key), printable(value));
                let _ = writeln!(text, "{detail_indent}    {key} = {value}");
            }
        }
        for (key, value) in &span.attributes {
            let (key, value) = (printable(key), printable(value));
            let _ = writeln!(text, "{detail_indent}{key} = {value}");
        }
        if let Some(description) = span.error_description() {
            let description = printable(description);
            let _ = writeln!(text, "{detail_indent}✗ error: {description}");
        }
    }
    text
}

/// When the first of `spans` started and when the last ended; `None` for no spans.
pub fn bounds(spans: &[SpanRecord]) -> Option<(SystemTime, SystemTime)> {
    let start = spans.iter().map(|span| span.start).min()?;
    let end = spans.iter().map(|span| span.end).max()?;
    Some((start, end.max(start)))
}

/// The services that exported `spans`, each once, in the order of their first span.
pub fn services(spans: &[SpanRecord]) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for span in spans {
        if !names.contains(&span.service.as_str()) {
            names.push(&span.service);
        }
    }
    names
}

/// The spans of one trace in display order, each with its depth and whether its parent is
/// missing from `spans`. Children follow their parent, earliest first.
pub fn tree(spans: &[SpanRecord]) -> Vec<(&SpanRecord, usize, bool)> {
    // Spans come from the network: no recursion (a chain of thousands of spans would overflow
    // the stack), no quadratic searches, and no loop on spans that name each other as parent.
    let ids: HashSet<SpanId> = spans.iter().map(|span| span.span_id).collect();
    let mut children: HashMap<SpanId, Vec<usize>> = HashMap::new();
    let mut roots: Vec<usize> = Vec::new();
    for (index, span) in spans.iter().enumerate() {
        match span.parent_span_id {
            Some(parent) if ids.contains(&parent) && parent != span.span_id => {
                children.entry(parent).or_default().push(index);
            }
            _ => roots.push(index),
        }
    }
    let by_start = |a: &usize, b: &usize| spans[*a].start.cmp(&spans[*b].start);
    roots.sort_by(by_start);
    for list in children.values_mut() {
        list.sort_by(by_start);
    }

    let mut ordered = Vec::with_capacity(spans.len());
    let mut visited = vec![false; spans.len()];
    // Spans that name each other as parents are reached from no root: drawn as roots too.
    let unreached = |visited: &[bool]| (0..spans.len()).find(|&index| !visited[index]);
    let mut next_root = roots.into_iter();
    while let Some(root) = next_root.next().or_else(|| unreached(&visited)) {
        if visited[root] {
            continue;
        }
        let mut stack = vec![(root, 0)];
        while let Some((index, depth)) = stack.pop() {
            if std::mem::replace(&mut visited[index], true) {
                continue;
            }
            let span = &spans[index];
            let parent_elsewhere = depth == 0 && span.parent_span_id.is_some();
            ordered.push((span, depth, parent_elsewhere));
            if let Some(kids) = children.get(&span.span_id) {
                // Pushed last first, so that the earliest child is drawn first.
                stack.extend(kids.iter().rev().map(|&kid| (kid, depth + 1)));
            }
        }
    }
    ordered
}

pub fn kind_name(kind: &SpanKind) -> &'static str {
    match kind {
        SpanKind::Client => "client",
        SpanKind::Server => "server",
        SpanKind::Producer => "producer",
        SpanKind::Consumer => "consumer",
        SpanKind::Internal => "internal",
    }
}

fn millis(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1000.0)
}

/// A bar of `width` cells: blank until the span starts, full while it runs. Every span gets
/// at least one cell, so a very short one is still visible.
fn waterfall(offset: Duration, length: Duration, total: Duration, width: usize) -> String {
    let total = total.as_secs_f64().max(f64::EPSILON);
    let cell = |at: f64| ((at / total) * width as f64).round() as usize;
    let start = cell(offset.as_secs_f64()).min(width - 1);
    let end = cell((offset + length).as_secs_f64()).clamp(start + 1, width);
    format!("{}{}", " ".repeat(start), "█".repeat(end - start))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_chain_of_a_hundred_thousand_spans_is_drawn_in_80_columns() {
        let start = SystemTime::UNIX_EPOCH;
        let spans: Vec<SpanRecord> = (1..=100_000u64)
            .map(|id| SpanRecord {
                service: "frontend".into(),
                scope: String::new(),
                name: format!("span {id}"),
                kind: SpanKind::Internal,
                trace_id: TraceId::from(1u128),
                span_id: SpanId::from(id),
                // Each the child of the one before.
                parent_span_id: (id > 1).then(|| SpanId::from(id - 1)),
                status: Status::Unset,
                start: start + Duration::from_micros(id),
                end: start + Duration::from_millis(20),
                links: Vec::new(),
                attributes: BTreeMap::new(),
                events: Vec::new(),
            })
            .collect();
        // Drawn without recursion: a recursive walk overflows the stack long before this.
        let drawing = render(&spans);
        assert_eq!(tree(&spans).len(), 100_000);
        assert!(drawing.lines().all(|line| line.chars().count() <= 80));

        // Spans that name each other as parents are still drawn, once each.
        let mut cycle = spans[..3].to_vec();
        cycle[0].parent_span_id = Some(SpanId::from(3));
        assert_eq!(tree(&cycle).len(), 3);
    }

    #[test]
    fn hostile_and_wide_names_keep_the_columns_and_reach_the_terminal_written_out() {
        let start = SystemTime::UNIX_EPOCH;
        let span = |id: u64, service: &str, name: &str| SpanRecord {
            service: service.into(),
            scope: String::new(),
            name: name.into(),
            kind: SpanKind::Server,
            trace_id: TraceId::from(1u128),
            span_id: SpanId::from(id),
            parent_span_id: (id > 1).then(|| SpanId::from(1)),
            status: Status::error("\u{1b}[31mred\u{9b}"),
            start,
            end: start + Duration::from_millis(1),
            links: Vec::new(),
            attributes: BTreeMap::from([("k\u{7}".into(), "v\r\u{202e}".into())]),
            events: vec![EventRecord {
                name: "\u{1b}]0;title\u{7}".into(),
                time: start,
                attributes: BTreeMap::new(),
            }],
        };
        let spans = [
            span(
                1,
                "日本語のサービス",
                "日本語の名前がとても長いスパンの名前です",
            ),
            span(2, "\u{1b}[2J", "e\u{301}e\u{301}e\u{301} combining"),
        ];
        let drawing = render(&spans);
        assert!(
            !drawing.contains(|c: char| c.is_control() && c != '\n'),
            "{drawing:?}"
        );
        assert!(drawing.contains(r"\x1b]0;title\x07"), "{drawing}");
        assert!(drawing.contains(r"k\x07 = v\r\u{202e}"), "{drawing}");
        assert!(drawing.contains(r"error: \x1b[31mred\u{9b}"), "{drawing}");
        // The span lines' kind column starts at column 40 whatever the names hold.
        for line in drawing.lines().filter(|line| line.contains("server ")) {
            let before_kind = &line[..line.find("server ").unwrap()];
            assert_eq!(crate::terminal::width(before_kind), 40, "{line}");
            assert!(crate::terminal::width(line) <= 80, "{line}");
        }
    }

    #[test]
    fn log_records_are_drawn_under_the_span_they_were_written_in() {
        let start = SystemTime::UNIX_EPOCH;
        let span = |id: u64, name: &str| SpanRecord {
            service: "frontend".into(),
            scope: String::new(),
            name: name.into(),
            kind: SpanKind::Internal,
            trace_id: TraceId::from(1u128),
            span_id: SpanId::from(id),
            parent_span_id: (id > 1).then(|| SpanId::from(1)),
            status: Status::Unset,
            start,
            end: start + Duration::from_millis(4),
            links: Vec::new(),
            attributes: BTreeMap::new(),
            events: Vec::new(),
        };
        let record = |trace: u128, span: u64, severity: &str, body: &str| LogRecord {
            service: "frontend".into(),
            scope: "step_12_frontend".into(),
            time: start + Duration::from_millis(2),
            severity_number: 9,
            severity_text: severity.into(),
            body: body.into(),
            attributes: BTreeMap::new(),
            trace_id: Some(TraceId::from(trace)),
            span_id: Some(SpanId::from(span)),
        };
        let mut failed = record(1, 2, "ERROR", "");
        failed
            .attributes
            .insert("error".into(), "refused\u{1b}[2J".into());
        let logs = [
            record(1, 2, "INFO", "in the child"),
            failed,
            // Another trace's record, with the same span id: not this trace's.
            record(9, 2, "INFO", "elsewhere"),
        ];
        let drawing = render_with_logs(&[span(1, "root"), span(2, "child")], &logs);
        let child = drawing.split("└─ child").nth(1).unwrap();
        assert!(
            child.contains("   ▸ INFO in the child (+2.00 ms)\n"),
            "{drawing}"
        );
        assert!(child.contains("   ▸ ERROR (+2.00 ms)\n"), "{drawing}");
        assert!(
            child.contains("       error = refused\\x1b[2J\n"),
            "{drawing}"
        );
        assert!(!drawing.contains("elsewhere"), "{drawing}");
        assert!(!drawing.split("└─ child").next().unwrap().contains('▸'));
    }

    #[test]
    fn a_link_is_drawn_with_the_trace_and_span_it_names() {
        let start = SystemTime::UNIX_EPOCH;
        let job = SpanRecord {
            service: "backend".into(),
            scope: String::new(),
            name: "process jobs".into(),
            kind: SpanKind::Consumer,
            trace_id: TraceId::from(2u128),
            span_id: SpanId::from(7u64),
            parent_span_id: None,
            status: Status::Unset,
            start,
            end: start + Duration::from_millis(3),
            attributes: BTreeMap::new(),
            events: Vec::new(),
            links: vec![LinkRecord {
                trace_id: TraceId::from(1u128),
                span_id: SpanId::from(5u64),
                attributes: BTreeMap::new(),
            }],
        };
        let drawing = render(std::slice::from_ref(&job));
        assert!(
            drawing.contains(
                "\n            ↗ linked to 00000000000000000000000000000001/0000000000000005\n"
            ),
            "{drawing}"
        );
        assert!(job.held_bytes() > size_of::<SpanRecord>() + size_of::<LinkRecord>());
    }
}
