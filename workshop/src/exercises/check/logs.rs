//! The log records of one request, beside its trace: step 12 sends them, and its `logs.txt`
//! draws what one request through the check's set-up makes, as [`logs_outline`] draws it. The
//! tests hold the step's programs to that file; the check reads it back ([`parse_logs`]) and
//! says, in plain words, what an attendee's programs sent differently ([`log_problems`]).

use std::fmt::Write;

use trace_viewer::{signals::LogRecord, terminal::printable};

use crate::{
    exercises::check::compare::{SERVICES, distinct, other_services},
    spans::SpanRecord,
};

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

/// Where a record was written, by the ids it carries.
enum WrittenIn<'a> {
    Span(&'a SpanRecord),
    /// It carries no ids.
    NoSpan,
    /// Its ids name a span nobody exported.
    Unexported,
}

fn written_in<'a>(record: &LogRecord, spans: &'a [SpanRecord]) -> WrittenIn<'a> {
    let (Some(trace_id), Some(span_id)) = (record.trace_id, record.span_id) else {
        return WrittenIn::NoSpan;
    };
    spans
        .iter()
        .find(|span| span.trace_id == trace_id && span.span_id == span_id)
        .map_or(WrittenIn::Unexported, WrittenIn::Span)
}

/// The place of `service` in [`SERVICES`], the services unknown to it last.
fn service_order(service: &str) -> usize {
    SERVICES
        .iter()
        .position(|known| *known == service)
        .unwrap_or(SERVICES.len())
}

/// One line per log record, each service's in the order they were written: the service, the
/// span it was written in, its severity (text and number) and its body.
///
/// ```text
/// frontend, in backend call: INFO(9) making backend call
/// ```
pub fn logs_outline(records: &[LogRecord], spans: &[SpanRecord]) -> String {
    let mut ordered: Vec<&LogRecord> = records.iter().collect();
    ordered.sort_by_key(|record| (service_order(&record.service), record.time));
    let mut text = String::new();
    for record in ordered {
        let place = match written_in(record, spans) {
            WrittenIn::Span(span) => span.name.clone(),
            WrittenIn::NoSpan => "no span".to_owned(),
            WrittenIn::Unexported => "a span nobody exported".to_owned(),
        };
        let _ = writeln!(
            text,
            "{}, in {place}: {}({}) {}",
            printable(&record.service),
            printable(&record.severity_text),
            record.severity_number,
            printable(&record.body)
        );
    }
    text
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
/// it, as [`metrics_named_for`](super::metrics::metrics_named_for) does for metrics.
pub fn logs_named_for(
    program: &str,
    records: &[LogRecord],
    problems: &mut Vec<String>,
) -> Vec<LogRecord> {
    let services = records.iter().map(|record| record.service.as_str());
    for other in other_services(program, services) {
        problems.push(format!(
            "Your {program}'s log records say they come from the service `{}`; the step's come \
             from `{program}`, as its spans do: build the logger provider with the resource the \
             tracer provider has (`with_resource(resource)`), so that a back end shows them \
             under the service's spans.",
            printable(&other)
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
/// spans they exported, which the records' ids must name. `packages` are the programs'
/// packages, frontend first: what their own code writes has their crate's name as its scope.
pub fn log_problems(
    expected: &[ExpectedRecord],
    records: &[LogRecord],
    spans: &[SpanRecord],
    packages: [&str; 2],
) -> Vec<String> {
    let mut problems = Vec::new();
    let sent_by = |service: &str| -> Vec<&LogRecord> {
        records
            .iter()
            .filter(|record| record.service == service)
            .collect()
    };
    for (service, package) in SERVICES.into_iter().zip(packages) {
        let wanted: Vec<&ExpectedRecord> = expected
            .iter()
            .filter(|record| record.service == service)
            .collect();
        let sent = sent_by(service);
        if sent.is_empty() && !wanted.is_empty() {
            problems.push(no_records(service, &wanted, sent_by));
            continue;
        }
        for body in distinct(wanted.iter().map(|record| record.body.clone())) {
            let times = wanted.iter().filter(|record| record.body == body).count();
            let found: Vec<&&LogRecord> =
                sent.iter().filter(|record| record.body == body).collect();
            match found.len() {
                0 => problems.push(format!(
                    "Your {service} sent no log record `{body}`: the event `{body}` must become \
                     one."
                )),
                count if count != times => problems.push(format!(
                    "Your {service} sent the log record `{body}` {count} times for one event; \
                     the step's sends it once: one bridge, one layer of the subscriber, makes \
                     one record of each event."
                )),
                _ => {}
            }
        }
        for want in &wanted {
            let body = &want.body;
            if let Some(record) = sent.iter().find(|record| &record.body == body) {
                problems.extend(record_problems(want, record, spans));
            }
        }
        let unexpected: Vec<&LogRecord> = sent
            .iter()
            .copied()
            .filter(|record| !wanted.iter().any(|want| want.body == record.body))
            .collect();
        if !unexpected.is_empty() {
            problems.push(unexpected_records(service, package, &unexpected));
        }
    }
    problems
}

/// The sentence for a service that sent no record, though the step's does. `sent_by` gives the
/// records each service sent.
fn no_records<'a>(
    service: &str,
    wanted: &[&ExpectedRecord],
    sent_by: impl Fn(&str) -> Vec<&'a LogRecord>,
) -> String {
    let bodies: Vec<String> = wanted
        .iter()
        .map(|record| format!("`{}`", record.body))
        .collect();
    let bodies = bodies.join(" and ");
    let other = SERVICES
        .into_iter()
        .find(|other| *other != service && !sent_by(other).is_empty());
    match other {
        // The provider and the shutdown, which both programs share, work: the bridge is this
        // program's own.
        Some(other) => format!(
            "Your {service} sent no log records, though your {other} did; the step's {service} \
             sends {bodies}. The logger provider works, then: your {service}'s subscriber lacks \
             the bridge (`to_log_records` in {service}/src/main.rs)."
        ),
        None => format!(
            "Your {service} sent no log records; the step's sends {bodies}. An event becomes a \
             record through the logs bridge, a layer of the subscriber \
             (`OpenTelemetryTracingBridge::new(&logger_provider)`), whose logger provider has a \
             batch processor with the log exporter; and the provider must be shut down before \
             the program exits: the check stops your programs right after its request, and \
             only the shutdown sends what the processor holds then."
        ),
    }
}

/// What differs between a record the step sends and the one sent with the same body.
fn record_problems(want: &ExpectedRecord, record: &LogRecord, spans: &[SpanRecord]) -> Vec<String> {
    let mut problems = Vec::new();
    let body = &want.body;
    if record.severity_number != want.severity_number || record.severity_text != want.severity_text
    {
        problems.push(format!(
            "The log record `{body}` has the severity {}({}); the step's has {}({}), as the \
             specification maps its event's level.",
            printable(&record.severity_text),
            record.severity_number,
            want.severity_text,
            want.severity_number
        ));
    }
    let problem = match (written_in(record, spans), &want.span) {
        (WrittenIn::Span(span), Some(wanted)) if &span.name == wanted => None,
        (WrittenIn::Span(span), Some(wanted)) => Some(format!(
            "The log record `{body}` is in `{}`; the step's is in `{wanted}`, where its event is \
             written.",
            span.name
        )),
        (WrittenIn::NoSpan, Some(wanted)) => Some(format!(
            "The log record `{body}` has no trace id and span id; the step's carries those of \
             `{wanted}`, the span its event is written in: the bridge takes them from the \
             OpenTelemetry context current when the event is written, which the trace's layer \
             makes the span's on entering it. Install the bridge in the same subscriber as the \
             trace's layer."
        )),
        (WrittenIn::Unexported, Some(wanted)) => Some(format!(
            "The log record `{body}` names a span nobody exported; the step's names `{wanted}`."
        )),
        (WrittenIn::Span(span), None) => Some(format!(
            "The log record `{body}` is in `{}`; the step's is written outside any span.",
            span.name
        )),
        (WrittenIn::NoSpan | WrittenIn::Unexported, None) => None,
    };
    problems.extend(problem);
    problems
}

/// The sentence for records the step does not send: from the crates under the program (its
/// exporter's among them, whose work each record would make more of), or from its own code.
fn unexpected_records(service: &str, package: &str, unexpected: &[&LogRecord]) -> String {
    let own_crate = package.replace('-', "_");
    let scopes = distinct(unexpected.iter().map(|record| record.scope.clone()));
    let foreign: Vec<&String> = scopes
        .iter()
        .filter(|scope| !scope.starts_with(&own_crate))
        .collect();
    let more = |count: usize| match count > 4 {
        true => " and others",
        false => "",
    };
    match foreign.is_empty() {
        false => {
            let listed: Vec<String> = foreign
                .iter()
                .take(4)
                .map(|scope| format!("`{}`", printable(scope)))
                .collect();
            format!(
                "Your {service} sent {} log records the step's does not, from the crates under \
                 it: {}{}. The crates its exporter runs on report their own work, and each \
                 record of it is sent by that work in turn. Keep them out of the bridge with a \
                 filter of its own (`logs::log_record_filter`), as the trace's layer keeps them \
                 out of the trace.",
                unexpected.len(),
                listed.join(", "),
                more(foreign.len())
            )
        }
        true => {
            let bodies: Vec<String> = unexpected
                .iter()
                .take(4)
                .map(|record| format!("`{}`", printable(&record.body)))
                .collect();
            format!(
                "Your {service} sent {} log records the step's does not: {}{}.",
                unexpected.len(),
                bodies.join(", "),
                more(unexpected.len())
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
