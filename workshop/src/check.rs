//! The check behind `cargo run -p workshop check NN`: it runs an attendee's exercise programs
//! as the tests run a step's (free ports, one request, SIGTERM), and compares what they
//! exported with the step's trace, `steps/NN-*/trace.txt`, the expectation the step's own
//! tests hold. What differs is told in plain words: which span is missing, in which trace a
//! span landed, what its parent, kind, events and attributes should be. For a step that sends
//! metrics or log records, those are compared too, with its `metrics.txt` and `logs.txt`
//! ([`crate::other_signals`]).

use std::{collections::BTreeMap, time::Duration};

use crate::{
    exercises::{Expect, Received, Scenario, StepExercise},
    other_signals,
    process::{self, BuildFailure, Exited, Service},
    spans::{self, SpanRecord, kind_name},
    steps::Step,
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
    /// The index of its parent in the trace.
    pub parent: Option<usize>,
}

/// A step's trace (`trace.txt`, as [`spans::outline`] draws it) read back, parents first.
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
            parent,
        });
    }
    Ok(spans)
}

/// Attributes as the drawings write them, `key=value` each, read back: `None` where the value
/// varies from run to run (`key=…`).
pub(crate) fn parse_attributes<'a>(
    pairs: impl Iterator<Item = &'a str>,
) -> Vec<(String, Option<String>)> {
    pairs
        .map(|pair| {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            (key.to_owned(), (value != "…").then(|| value.to_owned()))
        })
        .collect()
}

/// How the attributes something was exported with differ from those the step gives it.
pub(crate) struct AttributeDifferences {
    /// The step's that are missing, as `` `key=value` `` (`` `key` `` where any value does).
    pub absent: Vec<String>,
    /// The keys the step does not have.
    pub extra: Vec<String>,
    /// (key, value exported, value the step gives it).
    pub differing: Vec<(String, String, String)>,
}

pub(crate) fn attribute_differences(
    expected: &[(String, Option<String>)],
    found: &BTreeMap<String, String>,
) -> AttributeDifferences {
    let absent = expected
        .iter()
        .filter(|(key, _)| !found.contains_key(key))
        .map(|(key, value)| match value {
            Some(value) => format!("`{key}={value}`"),
            None => format!("`{key}`"),
        })
        .collect();
    let extra = found
        .keys()
        .filter(|key| !expected.iter().any(|(wanted, _)| wanted == *key))
        .cloned()
        .collect();
    let differing = expected
        .iter()
        .filter_map(|(key, value)| {
            let (seen, value) = (found.get(key)?, value.as_ref()?);
            (seen != value).then(|| (key.clone(), seen.clone(), value.clone()))
        })
        .collect();
    AttributeDifferences {
        absent,
        extra,
        differing,
    }
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
                problems.extend(wrong_parent(span, found, parent, parent_found, exported));
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
) -> Option<String> {
    let name = &span.name;
    let parent_name = &parent.name;
    let crosses = span.service != parent.service;
    if found.trace_id != parent_found.trace_id {
        let how = match (crosses, found.parent_span_id) {
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
fn named_for(program: &str, spans: Vec<SpanRecord>, problems: &mut Vec<String>) -> Vec<SpanRecord> {
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

/// The service names, among those what `program` sent says it comes from, that are not
/// `program`'s: each once, in their first order.
pub(crate) fn other_services<'a>(
    program: &str,
    services: impl Iterator<Item = &'a str>,
) -> Vec<String> {
    distinct(
        services
            .filter(|service| *service != program)
            .map(str::to_owned),
    )
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
    } else {
        text.push_str(", the root of the trace");
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

/// The distinct items of `items`, in their first order.
pub(crate) fn distinct(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut seen = Vec::new();
    for item in items {
        if !seen.contains(&item) {
            seen.push(item);
        }
    }
    seen
}

/// How a check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The programs exported the step's trace: exit code 0.
    Done,
    /// They ran, and something is missing or wrong: exit code 1.
    NotYet,
    /// They could not be run (they do not compile, never listened): exit code 2.
    CannotRun,
}

/// What a check found, and its words for the attendee.
#[derive(Debug)]
pub struct Report {
    pub verdict: Verdict,
    /// What to tell the attendee, line by line.
    pub text: String,
    /// The problems found, one sentence each (empty when done, or when it could not run).
    pub problems: Vec<String>,
}

/// The two programs a check runs, frontend first: an exercise's starter, or a step's own.
pub fn exercise_programs(exercise: &StepExercise) -> [String; 2] {
    [exercise.frontend(), exercise.backend()]
}

/// Builds `programs` (frontend, backend), runs them as the step's tests do and compares what
/// they exported with `exercise`'s step's trace.
pub async fn check(exercise: &StepExercise, programs: &[String; 2]) -> Report {
    check_request(exercise, programs, &[], &mut Vec::new()).await
}

/// As [`check`], with `headers` on the check's one request, and every span the programs
/// exported, as they exported it, in `exported_as_is`. An attribute whose value is one of
/// the headers' values is the attendee's own addition (the capstone's): the comparison with
/// the step's trace leaves it out.
pub async fn check_request(
    exercise: &StepExercise,
    programs: &[String; 2],
    headers: &[(&str, &str)],
    exported_as_is: &mut Vec<SpanRecord>,
) -> Report {
    let mut text = String::new();
    let mut packages = programs.to_vec();
    packages.push(process::DELAY_PROXY.to_owned());
    let built = tokio::task::spawn_blocking(move || process::build_capturing(&packages)).await;
    match built {
        Ok(Ok(())) => {}
        Ok(Err(BuildFailure::Rejected(printed))) => {
            text.push_str(&format!(
                "Your programs do not compile yet. The compiler's first error:\n\n{}\n",
                first_error(&printed)
            ));
            return cannot_run(text);
        }
        Ok(Err(BuildFailure::NoCargo(why))) => return cannot_run(format!("{why}\n")),
        Err(error) => return cannot_run(format!("the build stopped: {error}\n")),
    }
    let [frontend, backend] = programs;
    let step = exercise.step;
    let ran = process::one_request_through_proxy_with(
        [frontend, backend],
        environment(step),
        &[],
        NETWORK_DELAY,
        headers,
    )
    .await;
    let (answer, frontend_exited, backend_exited) = match ran {
        Ok(ran) => ran,
        // A starter's stand-in may stop the program at start-up, naming its TODO: that is
        // work still to do, not a program that cannot run.
        Err(error) if error.lines().any(|line| line.contains("TODO")) => {
            let todo = error
                .lines()
                .find(|line| line.contains("TODO"))
                .unwrap_or_default();
            let problem = format!(
                "Your programs stop at start-up, at a `TODO`: `{}`.",
                todo.trim()
            );
            text.push_str("Not yet:\n");
            text.push_str(&bullet(&problem));
            return Report {
                verdict: Verdict::NotYet,
                text,
                problems: vec![problem],
            };
        }
        Err(error) => {
            text.push_str(&format!(
                "Your programs did not start: a program must print `listening on <address>` \
                 once it listens (step-support's `bind` does).\n{error}\n"
            ));
            return cannot_run(text);
        }
    };

    // A program that did not exit on SIGTERM hung on a request or an export: nothing it
    // exported can be trusted to be all, so that is the one thing to say.
    let (frontend_exited, backend_exited) = match (frontend_exited, backend_exited) {
        (Ok(frontend), Ok(backend)) => (frontend, backend),
        (frontend, backend) => {
            let mut problems = Vec::new();
            if let Err(error) = &answer {
                problems.push(format!("The frontend did not answer `GET /`: {error}."));
            }
            for (name, stopped) in [("frontend", &frontend), ("backend", &backend)] {
                if stopped.is_err() {
                    problems.push(format!(
                        "Your {name} did not exit within {} s of SIGTERM: a request or an export \
                         hung in it.{}",
                        process::PATIENCE.as_secs(),
                        match exercise.step.otlp {
                            true => HANG_WITH_OTLP,
                            false => "",
                        }
                    ));
                }
            }
            let mut text = text;
            text.push_str("Not yet:\n");
            for problem in &problems {
                text.push_str(&bullet(problem));
            }
            for stopped in [frontend, backend] {
                if let Err(error) = stopped {
                    text.push_str(&format!("\n{error}\n"));
                }
            }
            return Report {
                verdict: Verdict::NotYet,
                text,
                problems,
            };
        }
    };

    let mut problems = Vec::new();
    match &answer {
        Ok((status, body)) if status.is_success() && body == "OK" => {}
        Ok((status, body)) => problems.push(format!(
            "The frontend answered {status} {body:?} to `GET /`; the step answers 200 \"OK\"."
        )),
        Err(error) => problems.push(format!("The frontend did not answer `GET /`: {error}.")),
    }
    for (name, exited) in [("frontend", &frontend_exited), ("backend", &backend_exited)] {
        if let Some(panic) = exited
            .stderr
            .lines()
            .find(|line| line.contains("panicked at"))
        {
            problems.push(format!("Your {name} panicked: {panic}"));
        }
        if !exited.status.success() {
            problems.push(format!(
                "Your {name} did not exit cleanly on SIGTERM ({}); the step exits 0 once its \
                 spans are exported.",
                exited.status
            ));
        }
    }
    let mut exported = Vec::new();
    for (name, exited) in [("frontend", &frontend_exited), ("backend", &backend_exited)] {
        match exited.parse_spans() {
            Ok(spans) => exported.extend(named_for(name, spans, &mut problems)),
            Err(error) => problems.push(format!(
                "Your {name} printed something to stdout that is not a span ({error}). Spans go \
                 to stdout; logs go to stderr (`eprintln!`)."
            )),
        }
    }
    exported_as_is.clone_from(&exported);
    for span in &mut exported {
        span.attributes
            .retain(|_, value| !headers.iter().any(|(_, sent)| value == sent));
    }
    let layer_defaults_kept =
        exercise.exercise.tracing_crate && without_layer_defaults(&mut exported);
    let expected = match parse_trace(exercise.step.trace) {
        Ok(expected) => expected,
        Err(error) => return cannot_run(format!("the step's trace.txt: {error}\n")),
    };
    let why_no_span: Vec<&str> = exercise.exercise.why_no_span.split_whitespace().collect();
    problems.extend(diagnose(
        &expected,
        &exported,
        &why_no_span.join(" "),
        exercise.exercise.tracing_crate,
    ));
    problems.extend(too_short(&expected, &exported));
    if let Some(received) = &exercise.exercise.backend_receives {
        problems.extend(headers_problems(
            received,
            &exported,
            &backend_exited.stderr,
        ));
    }
    text.push_str(&seen(&exported));
    // The metrics and log records of the steps that send them, beside the trace.
    if !step.metrics.is_empty() {
        let mut metrics = Vec::new();
        for (name, exited) in [("frontend", &frontend_exited), ("backend", &backend_exited)] {
            metrics.extend(other_signals::metrics_named_for(
                name,
                &exited.metrics,
                &mut problems,
            ));
        }
        let expected = match other_signals::parse_metrics(step.metrics) {
            Ok(expected) => expected,
            Err(error) => return cannot_run(format!("the step's metrics.txt: {error}\n")),
        };
        problems.extend(other_signals::metric_problems(
            &expected, &metrics, &exported,
        ));
        text.push_str(&drawn_or_none(
            "metrics",
            &other_signals::metrics_outline(&metrics),
        ));
    }
    if !step.logs.is_empty() {
        let mut records = Vec::new();
        for (name, exited) in [("frontend", &frontend_exited), ("backend", &backend_exited)] {
            records.extend(other_signals::logs_named_for(
                name,
                &exited.logs,
                &mut problems,
            ));
        }
        let expected = match other_signals::parse_logs(step.logs) {
            Ok(expected) => expected,
            Err(error) => return cannot_run(format!("the step's logs.txt: {error}\n")),
        };
        problems.extend(other_signals::log_problems(
            &expected,
            &records,
            &exported,
            [frontend, backend],
        ));
        text.push_str(&drawn_or_none(
            "log records",
            &other_signals::logs_outline(&records, &exported),
        ));
    }
    // The variables the step reads, tried once its plain run is right.
    if problems.is_empty() {
        for scenario in exercise.exercise.scenarios {
            match run_scenario(scenario, frontend, backend, &expected).await {
                Ok(None) => {}
                Ok(Some(problem)) => problems.push(problem),
                Err(error) => return cannot_run(format!("{text}\n{error}\n")),
            }
        }
    }
    if problems.is_empty() {
        let what = match (step.metrics.is_empty(), step.logs.is_empty()) {
            (true, _) => "trace",
            (false, true) => "trace and metrics",
            (false, false) => "trace, metrics and log records",
        };
        text.push_str(&format!(
            "\nDone: that is step {}'s {what}. The solution is the step's own code, in \
             steps/{}/.\n",
            step.number, step.folder
        ));
        if layer_defaults_kept {
            text.push_str(LAYER_DEFAULTS_KEPT);
        }
        return Report {
            verdict: Verdict::Done,
            text,
            problems,
        };
    }
    text.push_str("\nNot yet:\n");
    for problem in &problems {
        text.push_str(&bullet(problem));
    }
    text.push_str(&format!(
        "\nThe step's trace (steps/{}/trace.txt):\n{}",
        step.folder,
        indented(step.trace)
    ));
    for (what, file, drawn) in [
        ("metrics", "metrics.txt", step.metrics),
        ("log records", "logs.txt", step.logs),
    ] {
        if !drawn.is_empty() {
            text.push_str(&format!(
                "\nThe step's {what} (steps/{}/{file}):\n{}",
                step.folder,
                indented(drawn)
            ));
        }
    }
    for (name, exited) in [("frontend", &frontend_exited), ("backend", &backend_exited)] {
        text.push_str(&log_of(name, exited));
    }
    Report {
        verdict: Verdict::NotYet,
        text,
        problems,
    }
}

/// Runs the programs once more with `scenario`'s variables, and says what is wrong with what
/// they exported then, if anything.
async fn run_scenario(
    scenario: &Scenario,
    frontend: &str,
    backend: &str,
    expected: &[ExpectedSpan],
) -> Result<Option<String>, String> {
    let settings: Vec<String> = scenario
        .env
        .iter()
        .map(|(name, value)| format!("`{name}={value}`"))
        .collect();
    let settings = settings.join(" and ");
    if scenario.expect == Expect::RefusedAtStart {
        // The harness's start says how a program that never listened ended.
        return Ok(match Service::start(frontend, scenario.env).await {
            Err(error) if error.contains("exited (exit status: 2) before listening") => None,
            Err(error) => Some(format!(
                "With {settings}, {}. Your frontend did not start, but not with exit code 2: \
                 {error}",
                scenario.say
            )),
            Ok(running) => {
                let _ = running.stop().await;
                Some(format!(
                    "With {settings}, {}. Your frontend started and listened.",
                    scenario.say
                ))
            }
        });
    }
    let (_, frontend_exited, backend_exited) =
        process::one_request_through_proxy([frontend, backend], scenario.env, &[], NETWORK_DELAY)
            .await?;
    let (frontend_exited, backend_exited) = (frontend_exited?, backend_exited?);
    let mut exported = Vec::new();
    for (name, exited) in [("frontend", &frontend_exited), ("backend", &backend_exited)] {
        let spans = exited.parse_spans()?;
        exported.extend(named_for(name, spans, &mut Vec::new()));
    }
    let (wrong, holding) = match scenario.expect {
        Expect::NoSpans => (!exported.is_empty(), Vec::new()),
        Expect::WithoutAttribute(key) => {
            let mut without = expected.to_vec();
            for span in &mut without {
                span.attributes.retain(|(name, _)| name != key);
            }
            let holding: Vec<String> = exported
                .iter()
                .filter_map(|span| {
                    let value = span.attributes.get(key)?;
                    Some(format!("`{}` with `{key}={value}`", span.name))
                })
                .collect();
            let wrong = !diagnose(&without, &exported, "", false).is_empty() || !holding.is_empty();
            (wrong, holding)
        }
        Expect::RefusedAtStart => (false, Vec::new()),
    };
    if !wrong {
        return Ok(None);
    }
    let count = match exported.len() {
        0 => "no span".to_owned(),
        1 => "one span".to_owned(),
        n => format!("{n} spans"),
    };
    let among = match holding.is_empty() {
        true => String::new(),
        false => format!(", {}", holding.join(", ")),
    };
    Ok(Some(format!(
        "With {settings} (both programs), {}. Your programs exported {count}{among}.",
        scenario.say
    )))
}

/// Why a program that exports with OTLP may hang on a request, for the attendee whose did.
const HANG_WITH_OTLP: &str = " The simple processor exports on the request's own thread and, \
    with the OTLP exporter, can block it there for good: the OTLP exporter goes with the batch \
    processor (`with_batch_exporter`).";

/// The variables a check gives both programs. For a step that exports with OTLP: a span batch
/// processor that sends at shutdown only (not every 5 s), so that a program that never shuts
/// its provider down loses its spans however slow the machine is. For a step that sends log
/// records: the records the step's default `RUST_LOG` chooses, whatever the attendee's terminal
/// has set, and a log batch processor that sends them at shutdown only (not every second).
pub fn environment(step: &Step) -> &'static [(&'static str, &'static str)] {
    match (step.otlp, step.logs.is_empty()) {
        (_, false) => &[
            ("RUST_LOG", "info"),
            ("OTEL_BLRP_SCHEDULE_DELAY", "60000"),
            ("OTEL_BSP_SCHEDULE_DELAY", "60000"),
        ],
        (true, true) => &[("OTEL_BSP_SCHEDULE_DELAY", "60000")],
        (false, true) => &[],
    }
}

/// Runs `programs` (frontend, backend) of `step` as a check does: one request through a delay
/// proxy, then SIGTERM. See [`process::one_request_through_proxy`].
pub async fn run_once(
    [frontend, backend]: [&str; 2],
    step: &Step,
) -> Result<
    (
        process::Answer,
        Result<Exited, String>,
        Result<Exited, String>,
    ),
    String,
> {
    process::one_request_through_proxy([frontend, backend], environment(step), &[], NETWORK_DELAY)
        .await
}

/// How long the network between the frontend and the backend holds the bytes of a check's
/// request, each way: the backend call takes at least twice this.
pub const NETWORK_DELAY: Duration = Duration::from_millis(20);

/// The frontend's client spans that are shorter than the call they measure: the network alone
/// takes twice [`NETWORK_DELAY`] (request and answer), so a span that lasted less ended before
/// the answer came, or started after the request went.
pub fn too_short(expected: &[ExpectedSpan], exported: &[SpanRecord]) -> Vec<String> {
    let round_trip = NETWORK_DELAY * 2;
    let mut problems = Vec::new();
    for span in expected.iter().filter(|span| span.kind == "client") {
        let found = exported
            .iter()
            .find(|found| found.service == span.service && found.name == span.name);
        let Some(found) = found else {
            continue;
        };
        let lasted = found
            .end
            .duration_since(found.start)
            .unwrap_or(Duration::ZERO);
        if lasted < round_trip {
            problems.push(format!(
                "`{}` lasted {:.2} ms, but the backend's answer takes at least {} ms to come \
                 back (the check puts {} ms of network each way between your frontend and the \
                 backend): start the span before the request is sent, and end it once the whole \
                 answer has been read.",
                span.name,
                lasted.as_secs_f64() * 1000.0,
                round_trip.as_millis(),
                NETWORK_DELAY.as_millis()
            ));
        }
    }
    problems
}

/// The attributes tracing-opentelemetry's layer adds to every span unless told not to
/// (`with_location`, `with_threads`, `with_tracked_inactivity`, `with_target`). They help in
/// production; the steps turn them off only to keep the post's trace, so a check of a step that
/// writes its spans with `tracing` accepts them.
const LAYER_DEFAULTS: [&str; 8] = [
    "code.file.path",
    "code.module.name",
    "code.line.number",
    "thread.id",
    "thread.name",
    "busy_ns",
    "idle_ns",
    "target",
];

const LAYER_DEFAULTS_KEPT: &str = "Your spans also carry what tracing-opentelemetry's layer adds \
    by default: the code's place, the thread, the busy and idle times, the target. Keep them in \
    a service, where they help; the step turns them off only so that its trace stays the post's, \
    span for span.\n";

/// Takes [`LAYER_DEFAULTS`] off every span; whether any span had one.
fn without_layer_defaults(exported: &mut [SpanRecord]) -> bool {
    let mut found = false;
    for span in exported {
        for key in LAYER_DEFAULTS {
            found |= span.attributes.remove(key).is_some();
        }
    }
    found
}

fn cannot_run(text: String) -> Report {
    Report {
        verdict: Verdict::CannotRun,
        text,
        problems: Vec::new(),
    }
}

/// What the programs exported, in the outline the step's trace is drawn in.
fn seen(exported: &[SpanRecord]) -> String {
    if exported.is_empty() {
        return "Your programs exported no span.\n".to_owned();
    }
    let mut by_service: BTreeMap<&str, usize> = BTreeMap::new();
    for span in exported {
        *by_service.entry(&span.service).or_default() += 1;
    }
    let counts: Vec<String> = by_service
        .iter()
        .map(|(service, count)| match count {
            1 => format!("one span from the {service}"),
            n => format!("{n} spans from the {service}"),
        })
        .collect();
    let traces = spans::traces(exported).len();
    let in_traces = match traces {
        1 => "in one trace".to_owned(),
        n => format!("in {n} traces"),
    };
    format!(
        "Your programs exported {} {in_traces}:\n{}",
        counts.join(" and "),
        indented(&spans::outline(exported))
    )
}

/// What the programs sent of another signal (`metrics`, `log records`), drawn as the step's
/// file draws it.
fn drawn_or_none(what: &str, drawn: &str) -> String {
    match drawn.is_empty() {
        true => format!("\nYour programs sent no {what}.\n"),
        false => format!("\nYour programs sent these {what}:\n{}", indented(drawn)),
    }
}

/// What a program wrote to stderr, when it holds more than the `listening on` line.
fn log_of(name: &str, exited: &Exited) -> String {
    let lines: Vec<&str> = exited
        .stderr
        .lines()
        .filter(|line| !line.starts_with("listening on "))
        .collect();
    if lines.is_empty() {
        return String::new();
    }
    let shown: Vec<String> = lines
        .iter()
        .take(20)
        .map(|line| format!("  | {}\n", trace_viewer::terminal::printable(line)))
        .collect();
    format!("\nYour {name} logged (stderr):\n{}", shown.concat())
}

/// The first error block cargo printed: from the first line that starts with `error` to the
/// blank line that ends it.
pub fn first_error(printed: &str) -> String {
    let mut lines = printed
        .lines()
        .skip_while(|line| !line.starts_with("error"));
    let mut block: Vec<&str> = Vec::new();
    for line in lines.by_ref() {
        if line.trim().is_empty() {
            break;
        }
        block.push(line);
    }
    match block.is_empty() {
        true => printed.trim_end().to_owned(),
        false => block.join("\n"),
    }
}

fn indented(text: &str) -> String {
    text.lines().map(|line| format!("  {line}\n")).collect()
}

/// `text` as a bullet, wrapped to 96 columns.
pub(crate) fn bullet(text: &str) -> String {
    let mut out = String::new();
    let mut line = String::from("  -");
    for word in text.split_whitespace() {
        if line.chars().count() + 1 + word.chars().count() > 96 && line.len() > 4 {
            out.push_str(&line);
            out.push('\n');
            line = String::from("   ");
        }
        line.push(' ');
        line.push_str(word);
    }
    out.push_str(&line);
    out.push('\n');
    out
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
            assert!(spans[1..].iter().all(|span| span.parent.is_some()));
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

    #[test]
    fn the_first_error_is_the_block_it_starts() {
        let printed = "warning: unused\n --> a.rs:1:1\n\nerror[E0425]: cannot find value `cx`\n \
                       --> src/main.rs:9:5\n  |\n9 |     cx\n\nerror: could not compile\n";
        assert_eq!(
            first_error(printed),
            "error[E0425]: cannot find value `cx`\n --> src/main.rs:9:5\n  |\n9 |     cx"
        );
    }
}
