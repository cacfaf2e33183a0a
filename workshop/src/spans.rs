//! Spans as the workshop compares them: the trace viewer's records (what the viewer receives),
//! spans the SDK captured in memory as records, a trace's structure as an outline (what each
//! step's `trace.txt` draws, and the check, the book and the tests compare), and the checks on
//! a span that records a failure.

use std::{
    collections::{BTreeMap, HashMap},
    fmt::Write,
};

use opentelemetry::trace::{SpanId, Status, TraceId};
use opentelemetry_sdk::trace::SpanData;
pub use trace_viewer::spans::*;

/// A span captured in memory (by the SDK's `InMemorySpanExporter`), exported by `service`.
pub fn from_memory(span: &SpanData, service: &str) -> SpanRecord {
    let parent = span.parent_span_id;
    SpanRecord {
        service: service.to_owned(),
        scope: span.instrumentation_scope.name().to_owned(),
        name: span.name.to_string(),
        kind: span.span_kind.clone(),
        trace_id: span.span_context.trace_id(),
        span_id: span.span_context.span_id(),
        parent_span_id: (parent != SpanId::INVALID).then_some(parent),
        status: span.status.clone(),
        start: span.start_time,
        end: span.end_time,
        attributes: span
            .attributes
            .iter()
            .map(|kv| (kv.key.to_string(), kv.value.to_string()))
            .collect(),
        events: span
            .events
            .iter()
            .map(|event| EventRecord {
                name: event.name.to_string(),
                time: event.timestamp,
                attributes: event
                    .attributes
                    .iter()
                    .map(|kv| (kv.key.to_string(), kv.value.to_string()))
                    .collect(),
            })
            .collect(),
        links: span
            .links
            .iter()
            .map(|link| LinkRecord {
                trace_id: link.span_context.trace_id(),
                span_id: link.span_context.span_id(),
                attributes: link
                    .attributes
                    .iter()
                    .map(|kv| (kv.key.to_string(), kv.value.to_string()))
                    .collect(),
            })
            .collect(),
    }
}

/// Every span in `spans`, captured in memory, exported by `service`.
pub fn all_from_memory(spans: &[SpanData], service: &str) -> Vec<SpanRecord> {
    spans
        .iter()
        .map(|span| from_memory(span, service))
        .collect()
}

/// The spans of each request: each trace, with the traces whose spans link to one of its spans
/// (the work it handed off, step 13's job), and the traces those link to, and so on; in the
/// order of their first spans. Where no span links to another trace, these are [`traces`].
pub fn requests(spans: &[SpanRecord]) -> Vec<Vec<SpanRecord>> {
    let traces = traces(spans);
    let index_of: HashMap<TraceId, usize> = traces
        .iter()
        .enumerate()
        .map(|(index, trace)| (trace[0].trace_id, index))
        .collect();
    // Union-find over the traces: each link joins two traces' sets.
    let mut leader: Vec<usize> = (0..traces.len()).collect();
    fn find(leader: &mut [usize], mut at: usize) -> usize {
        while leader[at] != at {
            leader[at] = leader[leader[at]];
            at = leader[at];
        }
        at
    }
    for (index, trace) in traces.iter().enumerate() {
        for link in trace.iter().flat_map(|span| &span.links) {
            if let Some(&other) = index_of.get(&link.trace_id) {
                let (a, b) = (find(&mut leader, index), find(&mut leader, other));
                // The earlier trace leads, so groups keep the order of their first traces.
                leader[a.max(b)] = a.min(b);
            }
        }
    }
    let mut grouped: Vec<Vec<SpanRecord>> = Vec::new();
    let mut group_of: HashMap<usize, usize> = HashMap::new();
    for (index, trace) in traces.into_iter().enumerate() {
        let head = find(&mut leader, index);
        let group = *group_of.entry(head).or_insert_with(|| {
            grouped.push(Vec::new());
            grouped.len() - 1
        });
        grouped[group].extend(trace);
    }
    grouped
}

/// The checks on a span that records a failure.
pub trait FailedSpan {
    /// Panics unless the span records the failure `message` the way the steps do: an
    /// `exception` event whose `exception.message` is `message`, and an error status saying
    /// the same.
    fn assert_failed_with(&self, message: &str);
}

impl FailedSpan for SpanRecord {
    fn assert_failed_with(&self, message: &str) {
        let exception = self
            .event("exception")
            .unwrap_or_else(|| panic!("no exception event on {:?}: {self:#?}", self.name));
        assert_eq!(
            exception
                .attributes
                .get("exception.message")
                .map(String::as_str),
            Some(message)
        );
        assert_eq!(
            self.error_description(),
            Some(message),
            "status of {:?}",
            self.name
        );
    }
}

/// Finds the one span called `name`; panics, showing every span, if there is not exactly one.
pub fn the_span<'a>(spans: &'a [SpanRecord], name: &str) -> &'a SpanRecord {
    let found: Vec<_> = spans.iter().filter(|span| span.name == name).collect();
    match found.as_slice() {
        [span] => span,
        _ => panic!(
            "expected exactly one span called {name:?}, found {}:\n{}",
            found.len(),
            outline(spans)
        ),
    }
}

/// The structure of a trace as indented text: per span its service, name, kind, error status
/// and attributes (but not the values of those that differ from run to run, such as ports),
/// then its events by name, then the spans it links to by service and name, then its children.
/// No ids, no timings, so two runs of the same program give the same outline. A span whose
/// parent is not among `spans` (the parent lives in another process, or was not exported) is
/// drawn as a root, marked `parent elsewhere`; a link to a span not among `spans` is drawn as
/// `link: elsewhere`.
///
/// ```text
/// frontend: incoming call (server)
///   frontend: backend call (client)
///     event: making backend call
///     backend: backend call received (server) demo.origin=frontend
///       event: handling backend call
/// backend: process jobs (consumer)
///   link: backend: send jobs
/// ```
pub fn outline(spans: &[SpanRecord]) -> String {
    let mut text = String::new();
    for (span, depth, parent_elsewhere) in tree(spans) {
        let indent = "  ".repeat(depth.min(MAX_DRAWN_DEPTH));
        let mut notes = vec![kind_name(&span.kind)];
        if let Status::Error { .. } = span.status {
            notes.push("error");
        }
        if let Status::Ok = span.status {
            notes.push("ok");
        }
        if parent_elsewhere {
            notes.push("parent elsewhere");
        }
        let _ = write!(
            text,
            "{indent}{}: {} ({})",
            span.service,
            span.name,
            notes.join(", ")
        );
        draw_attributes(&mut text, &span.attributes);
        text.push('\n');
        for event in &span.events {
            let _ = writeln!(text, "{indent}  event: {}", event.name);
        }
        for link in &span.links {
            let linked = spans
                .iter()
                .find(|other| other.trace_id == link.trace_id && other.span_id == link.span_id);
            match linked {
                Some(linked) => {
                    let _ = writeln!(text, "{indent}  link: {}: {}", linked.service, linked.name);
                }
                None => {
                    let _ = writeln!(text, "{indent}  link: elsewhere");
                }
            }
        }
    }
    text
}

/// Attributes whose values [`outline`] leaves out, showing `key=…`: ports the system picks, a
/// URL with one in it, and what a name resolves to on this machine.
/// Writes ` key=value` for each attribute, ` key=…` where the value varies from run to run: as
/// a step's drawings (`trace.txt`, `metrics.txt`) have them.
pub fn draw_attributes(text: &mut String, attributes: &BTreeMap<String, String>) {
    for (key, value) in attributes {
        match VARY_FROM_RUN_TO_RUN.contains(&key.as_str()) {
            true => {
                let _ = write!(text, " {key}=…");
            }
            false => {
                let _ = write!(text, " {key}={value}");
            }
        }
    }
}

const VARY_FROM_RUN_TO_RUN: &[&str] = &[
    "dns.answers",
    "network.peer.port",
    "server.port",
    "url.full",
];

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use opentelemetry::trace::{SpanKind, TraceId};

    use super::*;

    fn span(trace: u128, id: u64, name: &str, kind: SpanKind, links: &[(u128, u64)]) -> SpanRecord {
        let start = SystemTime::UNIX_EPOCH + Duration::from_millis(id);
        SpanRecord {
            service: "backend".into(),
            scope: String::new(),
            name: name.into(),
            kind,
            trace_id: TraceId::from(trace),
            span_id: SpanId::from(id),
            parent_span_id: None,
            status: Status::Unset,
            start,
            end: start + Duration::from_millis(1),
            attributes: BTreeMap::new(),
            events: Vec::new(),
            links: links
                .iter()
                .map(|&(trace, id)| LinkRecord {
                    trace_id: TraceId::from(trace),
                    span_id: SpanId::from(id),
                    attributes: BTreeMap::new(),
                })
                .collect(),
        }
    }

    #[test]
    fn a_link_is_outlined_by_the_linked_spans_service_and_name_or_as_elsewhere() {
        let spans = [
            span(1, 1, "send jobs", SpanKind::Producer, &[]),
            // Another trace's span, linked to the first, and to a span nobody exported.
            span(2, 2, "process jobs", SpanKind::Consumer, &[(1, 1), (1, 9)]),
        ];
        assert_eq!(
            outline(&spans),
            "backend: send jobs (producer)\n\
             backend: process jobs (consumer)\n  \
             link: backend: send jobs\n  \
             link: elsewhere\n"
        );
    }

    #[test]
    fn a_request_holds_its_trace_and_the_traces_linked_to_it_and_no_other() {
        let names = |request: &[SpanRecord]| -> Vec<String> {
            request.iter().map(|span| span.name.clone()).collect()
        };
        let spans = [
            span(1, 1, "send jobs", SpanKind::Producer, &[]),
            span(2, 2, "send jobs", SpanKind::Producer, &[]),
            // Request 1's job, and a job of that job's (a chain of links).
            span(3, 3, "process jobs", SpanKind::Consumer, &[(1, 1)]),
            span(4, 4, "process more", SpanKind::Consumer, &[(3, 3)]),
            // Linked to a trace nobody exported, and to itself: requests of their own.
            span(5, 5, "process jobs", SpanKind::Consumer, &[(9, 9)]),
            span(6, 6, "process jobs", SpanKind::Consumer, &[(6, 6)]),
        ];
        let found = requests(&spans);
        assert_eq!(
            found
                .iter()
                .map(|request| names(request))
                .collect::<Vec<_>>(),
            [
                vec!["send jobs", "process jobs", "process more"],
                vec!["send jobs"],
                vec!["process jobs"],
                vec!["process jobs"],
            ]
        );
        // Two traces that link to each other are one request.
        let circle = [
            span(1, 1, "a", SpanKind::Internal, &[(2, 2)]),
            span(2, 2, "b", SpanKind::Internal, &[(1, 1)]),
        ];
        assert_eq!(
            requests(&circle)
                .iter()
                .map(|request| names(request))
                .collect::<Vec<_>>(),
            [vec!["a", "b"]]
        );
    }
}
