//! A trace compared with the step's: `trace.txt` read back, and what differs between it and
//! the spans an attendee's programs exported, told in plain words: which span is missing, in
//! which trace a span landed, what its parent, kind, events and attributes should be.

use std::time::Duration;

use crate::{
    exercises::check::compare::{
        attribute_differences, distinct, other_services, parse_attributes,
    },
    spans::{SpanRecord, kind_name},
    steps::exercise::Received,
};

/// One span of a step's trace, as `trace.txt` draws it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedSpan {
    pub service: String,
    pub name: String,
    /// `server`, `client`, `internal`, ...
    pub kind: String,
    /// Whether the span records an error.
    pub error: bool,
    /// Attributes by key; `None` where the value varies from run to run (`key=…`).
    pub attributes: Vec<(String, Option<String>)>,
    pub events: Vec<String>,
    /// The spans it links to, as `service: name`, or `elsewhere` for a span not exported.
    pub links: Vec<String>,
    /// The index of its parent in the trace.
    pub parent: Option<usize>,
}

/// A step's trace (`trace.txt`, as [`spans::outline`](crate::spans::outline) draws it) read
/// back, parents first.
pub fn parse_trace(text: &str) -> Result<Vec<ExpectedSpan>, String> {
    let mut spans: Vec<ExpectedSpan> = Vec::new();
    // The index of the last span seen at each depth: a span's parent is the last one above it.
    let mut open: Vec<usize> = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let problem = |what: &str| format!("line {}: {what}: {line:?}", number + 1);
        let indent = line.len() - line.trim_start_matches(' ').len();
        let depth = indent / 2;
        let content = line.trim_start_matches(' ');
        if let Some(event) = content.strip_prefix("event: ") {
            let owner = depth
                .checked_sub(1)
                .and_then(|depth| open.get(depth))
                .ok_or_else(|| problem("an event outside a span"))?;
            spans[*owner].events.push(event.to_owned());
            continue;
        }
        if let Some(link) = content.strip_prefix("link: ") {
            let owner = depth
                .checked_sub(1)
                .and_then(|depth| open.get(depth))
                .ok_or_else(|| problem("a link outside a span"))?;
            spans[*owner].links.push(link.to_owned());
            continue;
        }
        let (service, rest) = content
            .split_once(": ")
            .ok_or_else(|| problem("no `service: name`"))?;
        let (name, rest) = rest
            .split_once(" (")
            .ok_or_else(|| problem("no `(kind)`"))?;
        let (notes, attributes) = rest
            .split_once(')')
            .ok_or_else(|| problem("no `)` after the kind"))?;
        let mut notes = notes.split(", ");
        let kind = notes.next().unwrap_or_default().to_owned();
        let error = notes.any(|note| note == "error");
        let attributes = parse_attributes(attributes.split_whitespace());
        if depth > open.len() {
            return Err(problem("indented deeper than a child"));
        }
        open.truncate(depth);
        let parent = open.last().copied();
        open.push(spans.len());
        spans.push(ExpectedSpan {
            service: service.to_owned(),
            name: name.to_owned(),
            kind,
            error,
            attributes,
            events: Vec::new(),
            links: Vec::new(),
            parent,
        });
    }
    Ok(spans)
}

/// What differs between the trace a step expects and the spans the programs exported, as
/// sentences for the attendee, the most basic first; none when the trace is the step's.
/// `why_no_span` says, in the step's terms, what a program that exports nothing may lack.
/// With `tracing_crate`, the advice names the `tracing` crate's ways (step 10).
pub fn diagnose(
    expected: &[ExpectedSpan],
    exported: &[SpanRecord],
    why_no_span: &str,
    tracing_crate: bool,
) -> Vec<String> {
    let mut problems = Vec::new();
    if exported.is_empty() {
        let services: Vec<String> = distinct(expected.iter().map(|span| span.service.clone()));
        problems.push(format!(
            "Your programs exported no span at all; the step expects spans from the {}. {}",
            services.join(" and the "),
            why_no_span
        ));
    }
    for service in distinct(expected.iter().map(|span| span.service.clone())) {
        let exported_any = exported.iter().any(|span| span.service == service);
        if !exported.is_empty() && !exported_any {
            let first = expected
                .iter()
                .find(|span| span.service == service)
                .map(|span| describe(span, expected))
                .unwrap_or_default();
            problems.push(format!(
                "Your {service} exported no span; the step expects {first}. {why_no_span}"
            ));
        }
    }

    // Each expected span, matched with the exported span of its service and name.
    let mut matched: Vec<Option<&SpanRecord>> = Vec::new();
    // The services whose exported spans a sentence has listed already.
    let mut listed: Vec<&str> = Vec::new();
    for span in expected {
        let same: Vec<&SpanRecord> = exported
            .iter()
            .filter(|found| found.service == span.service && found.name == span.name)
            .collect();
        matched.push(same.first().copied());
        match same.len() {
            0 if exported.iter().any(|found| found.service == span.service) => {
                let first = !listed.contains(&span.service.as_str());
                listed.push(&span.service);
                problems.push(missing(span, expected, exported, first));
            }
            0 | 1 => {}
            count => problems.push(format!(
                "Your {} exported {count} spans called `{}` for one request; the step expects \
                 one: start it once, and end it once.",
                span.service, span.name
            )),
        }
    }

    for (index, span) in expected.iter().enumerate() {
        let Some(found) = matched[index] else {
            continue;
        };
        let name = &span.name;
        let kind = kind_name(&found.kind);
        if kind != span.kind {
            problems.push(format!(
                "`{name}` is a span of kind {kind}; the step expects {}: {}.",
                span.kind,
                match tracing_crate {
                    true => format!("give the span the field `otel.kind = \"{}\"`", span.kind),
                    false => format!(
                        "set it with `with_kind(SpanKind::{})` when you build the span",
                        capitalised(&span.kind)
                    ),
                }
            ));
        }
        if let Some(parent_index) = span.parent {
            let parent = &expected[parent_index];
            if let Some(parent_found) = matched[parent_index] {
                problems.extend(wrong_parent(
                    span,
                    found,
                    parent,
                    parent_found,
                    exported,
                    tracing_crate,
                ));
            }
        } else if !span.links.is_empty() {
            // A root of the step's trace that links to what it came from (a job's span), which
            // the programs made a child of one of their spans instead.
            let parent_found = exported.iter().find(|other| {
                Some(other.span_id) == found.parent_span_id && other.trace_id == found.trace_id
            });
            if let Some(parent_found) = parent_found {
                problems.push(format!(
                    "`{name}` is a child of `{}`; the step expects it to start a trace of its \
                     own, linked to `{}`: {}.",
                    parent_found.name,
                    span.links.join("`, `"),
                    match tracing_crate {
                        true => {
                            "link to the context that came with the job (`span.add_link`) \
                             instead of making it the parent (`set_parent`), and start the span \
                             with no parent (`parent: None`)"
                        }
                        false => {
                            "link to the context that came with the job (`with_links`) instead \
                             of starting the span in it, and start the span in an empty \
                             `Context`"
                        }
                    }
                ));
            }
        }
        for event in &span.events {
            if !found.events.iter().any(|seen| &seen.name == event) {
                let seen: Vec<String> = found
                    .events
                    .iter()
                    .map(|seen| format!("`{}`", seen.name))
                    .collect();
                let instead = match seen.as_slice() {
                    [] => String::from("it has no event"),
                    _ => format!("it has {}", seen.join(", ")),
                };
                let how = match tracing_crate {
                    true => "write it with `info!` while the span is current",
                    false => "add it to the span with `add_event`",
                };
                problems.push(format!(
                    "`{name}` has no event `{event}` ({instead}): {how}."
                ));
            }
        }
        let links: Vec<String> = found
            .links
            .iter()
            .map(|link| {
                exported
                    .iter()
                    .find(|other| other.trace_id == link.trace_id && other.span_id == link.span_id)
                    .map_or_else(
                        || "elsewhere".to_owned(),
                        |other| format!("{}: {}", other.service, other.name),
                    )
            })
            .collect();
        for link in &span.links {
            if !links.contains(link) {
                let linked_name = link
                    .split_once(": ")
                    .map_or(link.as_str(), |(_, name)| name);
                let how = match (links.as_slice(), tracing_crate) {
                    // No link: the consumer made none, or the producer sent no context.
                    ([], true) => format!(
                        "link to the span context that came with the job (`add_link`, from \
                         `OpenTelemetrySpanExt`); or the producer put no context in the job's \
                         headers: inject that of `{linked_name}`"
                    ),
                    ([], false) => format!(
                        "link to the span context that came with the job (`with_links` and \
                         `Link::with_context`, when you build the span); or the producer put \
                         no context in the job's headers: inject that of `{linked_name}`"
                    ),
                    // Linked, but to the wrong span: the producer sent another span's context.
                    (_, true) => format!(
                        "the job's headers carry the wrong span's context: the producer must \
                         inject the context of `{linked_name}` itself (its `span.context()`), \
                         not the current span's"
                    ),
                    (_, false) => format!(
                        "the job's headers carry the wrong span's context: the producer must \
                         inject a context that holds `{linked_name}` \
                         (`Context::current_with_span`, or `cx.with_span`), not the current one"
                    ),
                };
                let instead = match links.as_slice() {
                    [] => String::from("it has no link"),
                    seen => format!("it links to `{}`", seen.join("`, `")),
                };
                problems.push(format!(
                    "`{name}` has no link to `{link}` ({instead}): {how}."
                ));
            }
        }
        // A span the step gives no link: any it has is one too many.
        for link in links.iter().filter(|_| span.links.is_empty()) {
            {
                problems.push(format!(
                    "`{name}` links to `{link}`, which the step's trace does not."
                ));
            }
        }
        let differences = attribute_differences(&span.attributes, &found.attributes);
        match differences.absent.as_slice() {
            [] => {}
            [one] => problems.push(format!(
                "`{name}` has no attribute {one}, which the step expects."
            )),
            many => problems.push(format!(
                "`{name}` lacks {} attributes the step expects: {}.",
                many.len(),
                many.join(", ")
            )),
        }
        let extra: Vec<String> = differences
            .extra
            .iter()
            .map(|key| format!("`{key}`"))
            .collect();
        if !extra.is_empty() {
            problems.push(format!(
                "`{name}` has attributes the step's trace does not: {}.",
                extra.join(", ")
            ));
        }
        for (key, seen, value) in &differences.differing {
            problems.push(format!(
                "`{name}` has `{key}={seen}`; the step expects `{key}={value}`."
            ));
        }
        let failed = matches!(found.status, opentelemetry::trace::Status::Error { .. });
        if failed && !span.error {
            problems.push(format!(
                "`{name}` records an error ({}), though the request succeeded.",
                found.error_description().unwrap_or("no description")
            ));
        }
    }

    for found in exported {
        let expected_here = expected
            .iter()
            .any(|span| span.service == found.service && span.name == found.name);
        if !expected_here && !looks_like_a_misnamed(found, expected, exported) {
            problems.push(format!(
                "Your {} exported a span the step does not expect: `{}` ({}).",
                found.service,
                found.name,
                kind_name(&found.kind)
            ));
        }
    }
    problems
}

/// The sentence for an expected span its service did not export.
/// With `first`, the sentence lists what the service did export; after that, it does not again.
fn missing(
    span: &ExpectedSpan,
    expected: &[ExpectedSpan],
    exported: &[SpanRecord],
    first: bool,
) -> String {
    let service = &span.service;
    let wanted = describe(span, expected);
    let unexpected: Vec<&SpanRecord> = exported
        .iter()
        .filter(|found| found.service == *service && !expects(expected, found))
        .collect();
    let close = unexpected
        .iter()
        .find(|found| same_words(&found.name, &span.name));
    match close {
        Some(found) => format!(
            "Your {service} exported `{}`; the step expects it named `{}`, exactly: the name is \
             how a trace is searched. The step expects {wanted}.",
            found.name, span.name
        ),
        None if !first => format!("The step also expects {wanted}."),
        None => {
            let seen: Vec<String> = exported
                .iter()
                .filter(|found| found.service == *service)
                .map(|found| format!("`{}` ({})", found.name, kind_name(&found.kind)))
                .collect();
            let count = match seen.len() {
                1 => "one span".to_owned(),
                n => format!("{n} spans"),
            };
            format!(
                "Your {service} exported {count}, {}; the step expects {wanted}.",
                seen.join(", ")
            )
        }
    }
}

/// What is wrong with where `found` sits, if anything: `parent` is the span the step expects
/// above it, `parent_found` what was exported for that.
fn wrong_parent(
    span: &ExpectedSpan,
    found: &SpanRecord,
    parent: &ExpectedSpan,
    parent_found: &SpanRecord,
    exported: &[SpanRecord],
    tracing_crate: bool,
) -> Option<String> {
    let name = &span.name;
    let parent_name = &parent.name;
    let crosses = span.service != parent.service;
    if found.trace_id != parent_found.trace_id {
        let how = match (crosses, found.parent_span_id) {
            // With `tracing`, a span gets its parent from the span current where it starts,
            // and a spawned task starts with none.
            (false, None) if tracing_crate => format!(
                "it has no parent, so it began a trace of its own. A span takes the span current \
                 where it starts as its parent: start it inside `{parent_name}` (the future that \
                 runs in it `.instrument(span)`ed, or `#[instrument]`). Where it starts in a \
                 spawned task (`tokio::spawn`), which begins with no current span, spawn the \
                 future with `.in_current_span()`, so that the task carries `{parent_name}` \
                 along."
            ),
            (false, None) => format!(
                "it has no parent, so it began a trace of its own. Start it with the context \
                 that holds `{parent_name}`; where a library starts it in the current context, \
                 make that context current while the library's future runs \
                 (`future.with_context(cx)`)."
            ),
            (false, Some(_)) => format!(
                "its parent is not `{parent_name}`. Start it with the context that holds \
                 `{parent_name}`."
            ),
            (true, None) => format!(
                "it has no parent, so it began a trace of its own: no trace context that the \
                 {} could read came with the {}'s request. The {} writes it into the \
                 request's headers with the propagator installed globally \
                 (`global::set_text_map_propagator`). Extract the caller's context from the \
                 request's headers, and start the span with it.",
                span.service, parent.service, parent.service
            ),
            (true, Some(_)) => format!(
                "its parent is a span the {} did not export. The trace context the {} sends \
                 must be that of `{parent_name}`: inject the context that holds it.",
                parent.service, parent.service
            ),
        };
        return Some(format!(
            "`{name}` is not in the same trace as `{parent_name}`: {how}"
        ));
    }
    if found.parent_span_id != Some(parent_found.span_id) {
        let actual = found
            .parent_span_id
            .and_then(|id| exported.iter().find(|other| other.span_id == id))
            .map(|other| format!("a child of `{}`", other.name))
            .unwrap_or_else(|| "a child of a span nobody exported".to_owned());
        return Some(format!(
            "`{name}` is {actual}; the step expects it to be a child of `{parent_name}`."
        ));
    }
    if !crosses && found.end > parent_found.end {
        let later = found
            .end
            .duration_since(parent_found.end)
            .unwrap_or(Duration::ZERO);
        return Some(format!(
            "`{name}` ended {:.2} ms after its parent `{parent_name}`: a child span ends \
             within its parent. End it explicitly, where its work is done, not when it is \
             dropped.",
            later.as_secs_f64() * 1000.0
        ));
    }
    None
}

/// `spans`, which the program `program` exported, told apart by the service name the steps
/// give it (`frontend`, `backend`). Spans that name another service (a provider built without
/// the resource: `unknown_service`) are reported once, and then taken as the program's, so that
/// the rest of the check can still compare them.
pub(crate) fn named_for(
    program: &str,
    spans: Vec<SpanRecord>,
    problems: &mut Vec<String>,
) -> Vec<SpanRecord> {
    for other in other_services(program, spans.iter().map(|span| span.service.as_str())) {
        problems.push(format!(
            "Your {program}'s spans say they come from the service `{other}`; the step names it \
             `{program}`: build the provider with a resource that has the service name \
             (`Resource::builder().with_service_name(step_support::service_name(\"{program}\"))`)."
        ));
    }
    spans
        .into_iter()
        .map(|span| SpanRecord {
            service: program.to_owned(),
            ..span
        })
        .collect()
}

/// What is wrong with the trace headers an untraced backend logged that it received, held to
/// what the frontend exported (step 04).
pub fn headers_problems(
    wanted: &Received,
    exported: &[SpanRecord],
    backend_log: &str,
) -> Vec<String> {
    let received = |header: &str| -> Vec<String> {
        let prefix = format!("received {header}: ");
        backend_log
            .lines()
            .filter_map(|line| line.strip_prefix(&prefix))
            .map(|value| value.trim_matches('"').to_owned())
            .collect()
    };
    let mut problems = Vec::new();
    let span_name = &wanted.traceparent_of;
    let span = exported.iter().find(|span| &span.name == span_name);
    match received("traceparent").as_slice() {
        [] => problems.push(format!(
            "The backend received no `traceparent` header: the request must carry the trace \
             context of `{span_name}`. Inject the context that holds `{span_name}` into the \
             request's headers with the propagator, and send those headers."
        )),
        [traceparent] => {
            let fields: Vec<&str> = traceparent.split('-').collect();
            if let (Some(span), [_, trace_id, span_id, _]) = (span, fields.as_slice()) {
                let named = exported
                    .iter()
                    .find(|other| other.span_id.to_string() == *span_id)
                    .map(|other| format!("`{}`", other.name))
                    .unwrap_or_else(|| format!("the span {span_id}, which nobody exported"));
                if *trace_id != span.trace_id.to_string() {
                    problems.push(format!(
                        "The `traceparent` the backend received carries the trace {trace_id}, \
                         not the trace of `{span_name}` ({}): inject the context that holds \
                         `{span_name}`.",
                        span.trace_id
                    ));
                } else if *span_id != span.span_id.to_string() {
                    problems.push(format!(
                        "The `traceparent` the backend received names {named} as the caller, \
                         not `{span_name}`: inject the context that holds `{span_name}`, so \
                         that the backend's work is its child."
                    ));
                }
            }
        }
        many => problems.push(format!(
            "The backend received {} `traceparent` headers; a request carries one: inject once.",
            many.len()
        )),
    }
    let baggage = received("baggage");
    let has_entry = baggage.iter().any(|header| {
        header
            .split(',')
            .any(|entry| entry.trim() == wanted.baggage)
    });
    if !has_entry {
        let got = match baggage.as_slice() {
            [] => "no `baggage` header".to_owned(),
            values => format!("`baggage: {}`", values.join(", ")),
        };
        problems.push(format!(
            "The backend received {got}; the step sends the baggage entry `{}`. Put it in the \
             context you inject (`with_baggage`), and the baggage propagator among the \
             propagators.",
            wanted.baggage
        ));
    }
    problems
}

/// An expected span in words: "`backend call` (client), a child of `incoming call`, with the
/// event `making backend call`".
fn describe(span: &ExpectedSpan, expected: &[ExpectedSpan]) -> String {
    let mut text = format!("`{}` ({})", span.name, span.kind);
    if let Some(parent) = span.parent.map(|index| &expected[index]) {
        match parent.service == span.service {
            true => text.push_str(&format!(", a child of `{}`", parent.name)),
            false => text.push_str(&format!(
                ", a child of the {}'s `{}`",
                parent.service, parent.name
            )),
        }
    } else if span.links.is_empty() {
        text.push_str(", the root of the trace");
    } else {
        text.push_str(&format!(
            ", the root of a trace of its own that links to `{}`",
            span.links.join("`, `")
        ));
    }
    if !span.events.is_empty() {
        let events: Vec<String> = span.events.iter().map(|e| format!("`{e}`")).collect();
        let word = if events.len() == 1 { "event" } else { "events" };
        text.push_str(&format!(", with the {word} {}", events.join(" and ")));
    }
    let fixed: Vec<String> = span
        .attributes
        .iter()
        .filter_map(|(key, value)| value.as_ref().map(|value| format!("`{key}={value}`")))
        .collect();
    let joiner = match span.events.is_empty() {
        true => ", with",
        false => " and",
    };
    match fixed.len() {
        1 => text.push_str(&format!("{joiner} the attribute {}", fixed[0])),
        2 => text.push_str(&format!("{joiner} the attributes {}", fixed.join(" and "))),
        // A long list is for the step's trace, shown below, to give.
        _ => {}
    }
    text
}

/// Whether `found` is a span of `expected`.
fn expects(expected: &[ExpectedSpan], found: &SpanRecord) -> bool {
    expected
        .iter()
        .any(|span| span.service == found.service && span.name == found.name)
}

/// Whether `found`, which the step does not expect, is an expected span under a name that
/// differs only in case or spacing (already reported as such).
fn looks_like_a_misnamed(
    found: &SpanRecord,
    expected: &[ExpectedSpan],
    exported: &[SpanRecord],
) -> bool {
    expected.iter().any(|span| {
        span.service == found.service
            && same_words(&found.name, &span.name)
            && !exported
                .iter()
                .any(|other| other.service == span.service && other.name == span.name)
    })
}

/// Whether two names are the same words, case, spaces, `-` and `_` aside.
fn same_words(a: &str, b: &str) -> bool {
    let words = |name: &str| -> String {
        name.chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect()
    };
    words(a) == words(b)
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::steps::STEPS;

    #[test]
    fn every_steps_trace_reads_back_as_it_is_drawn() {
        for step in STEPS.iter().filter(|step| !step.trace.is_empty()) {
            let spans = parse_trace(step.trace).unwrap();
            assert_eq!(spans[0].name, "incoming call", "step {}", step.number);
            assert_eq!(spans[0].parent, None);
            // Every other span has its parent in the trace, or starts a trace of its own that
            // links to a span of the request's (step 13's job).
            assert!(
                spans[1..]
                    .iter()
                    .all(|span| span.parent.is_some() || !span.links.is_empty()),
                "step {}",
                step.number
            );
        }
        let step_05 = parse_trace(crate::steps::find("05").unwrap().trace).unwrap();
        assert_eq!(
            step_05[2],
            ExpectedSpan {
                service: "backend".into(),
                name: "backend call received".into(),
                kind: "server".into(),
                error: false,
                attributes: vec![("demo.origin".into(), Some("frontend".into()))],
                events: vec!["handling backend call".into()],
                links: Vec::new(),
                parent: Some(1),
            }
        );
        let step_08 = parse_trace(crate::steps::find("08").unwrap().trace).unwrap();
        let connect = step_08.iter().find(|span| span.name == "connect").unwrap();
        assert_eq!(step_08[connect.parent.unwrap()].name, "send request");
        assert!(
            connect
                .attributes
                .contains(&("network.peer.port".into(), None))
        );
    }

    fn job_spans(parent: Option<u64>, links: &[u64]) -> Vec<SpanRecord> {
        use std::time::{Duration, SystemTime};

        use opentelemetry::trace::{SpanId, SpanKind, Status, TraceId};

        use crate::spans::LinkRecord;
        let span = |trace: u128, id: u64, name: &str, kind: SpanKind| SpanRecord {
            service: "backend".into(),
            scope: String::new(),
            name: name.into(),
            kind,
            trace_id: TraceId::from(trace),
            span_id: SpanId::from(id),
            parent_span_id: None,
            status: Status::Unset,
            start: SystemTime::UNIX_EPOCH + Duration::from_millis(id),
            end: SystemTime::UNIX_EPOCH + Duration::from_millis(id + 1),
            attributes: Default::default(),
            events: Vec::new(),
            links: Vec::new(),
        };
        let mut job = span(2, 3, "process jobs", SpanKind::Consumer);
        if let Some(parent) = parent {
            job.trace_id = TraceId::from(1u128);
            job.parent_span_id = Some(SpanId::from(parent));
        }
        job.links = links
            .iter()
            .map(|&id| LinkRecord {
                trace_id: TraceId::from(1u128),
                span_id: SpanId::from(id),
                attributes: Default::default(),
            })
            .collect();
        vec![
            SpanRecord {
                end: SystemTime::UNIX_EPOCH + Duration::from_millis(10),
                ..span(1, 1, "incoming call", SpanKind::Server)
            },
            SpanRecord {
                parent_span_id: Some(SpanId::from(1)),
                ..span(1, 2, "send jobs", SpanKind::Producer)
            },
            job,
        ]
    }

    #[test]
    fn a_link_is_read_back_and_a_missing_wrong_or_child_link_is_told() {
        let trace = "backend: incoming call (server)\n  backend: send jobs (producer)\n\
                     backend: process jobs (consumer)\n  link: backend: send jobs\n";
        let expected = parse_trace(trace).unwrap();
        assert_eq!(expected[2].links, ["backend: send jobs"]);
        assert_eq!(expected[2].parent, None);
        let diagnose = |spans: &[SpanRecord]| diagnose(&expected, spans, "", true);
        assert_eq!(diagnose(&job_spans(None, &[2])), Vec::<String>::new());
        let no_link = diagnose(&job_spans(None, &[])).join("\n");
        assert!(
            no_link.contains("`process jobs` has no link to `backend: send jobs` (it has no link)"),
            "{no_link}"
        );
        let wrong_link = diagnose(&job_spans(None, &[1])).join("\n");
        assert!(
            wrong_link.contains("(it links to `backend: incoming call`)"),
            "{wrong_link}"
        );
        let child = diagnose(&job_spans(Some(2), &[])).join("\n");
        assert!(
            child.contains(
                "`process jobs` is a child of `send jobs`; the step expects it to start a trace \
                 of its own, linked to `backend: send jobs`"
            ),
            "{child}"
        );
    }
}
