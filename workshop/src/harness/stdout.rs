//! Reads back what `opentelemetry-stdout` 0.33 prints, so that tests can check the spans a real
//! program exported. The parser is strict: a line it does not recognise is an error, which
//! also proves the contract's "stdout carries only span output".

use std::{collections::BTreeMap, time::SystemTime};

use chrono::{NaiveDateTime, TimeZone, Utc};
use opentelemetry::trace::{SpanId, SpanKind, Status, TraceId};

use crate::spans::{EventRecord, SpanRecord};

/// Every span in `output`, in the order they were printed, each with the `service.name` of the
/// resource printed before it.
pub fn parse(output: &str) -> Result<Vec<SpanRecord>, String> {
    let mut parser = Parser::default();
    for (index, line) in output.lines().enumerate() {
        parser
            .line(line)
            .map_err(|problem| format!("stdout line {}: {problem}: {line:?}", index + 1))?;
    }
    parser
        .finish_span()
        .map_err(|problem| format!("at the end of stdout: {problem}"))?;
    Ok(parser.spans)
}

#[derive(Default)]
struct Parser {
    spans: Vec<SpanRecord>,
    service: Option<String>,
    section: Section,
    span: Option<PartialSpan>,
}

#[derive(Default, PartialEq)]
enum Section {
    #[default]
    Outside,
    Resource,
    Scope,
    Span,
    Event,
    Link,
}

#[derive(Default)]
struct PartialSpan {
    scope: Option<String>,
    name: Option<String>,
    trace_id: Option<TraceId>,
    span_id: Option<SpanId>,
    parent_span_id: Option<Option<SpanId>>,
    kind: Option<SpanKind>,
    start: Option<SystemTime>,
    end: Option<SystemTime>,
    status: Option<Status>,
    attributes: BTreeMap<String, String>,
    events: Vec<PartialEvent>,
}

struct PartialEvent {
    name: Option<String>,
    time: Option<SystemTime>,
    attributes: BTreeMap<String, String>,
}

impl Parser {
    fn line(&mut self, line: &str) -> Result<(), String> {
        if line.is_empty() {
            return Ok(());
        }
        if line == "Spans" {
            self.finish_span()?;
            self.section = Section::Outside;
            return Ok(());
        }
        if line == "Resource" {
            self.finish_span()?;
            self.section = Section::Resource;
            self.service = None;
            return Ok(());
        }
        if let Some(number) = line.strip_prefix("Span #") {
            number.parse::<usize>().map_err(|_| "bad span number")?;
            self.finish_span()?;
            self.span = Some(PartialSpan::default());
            self.section = Section::Span;
            return Ok(());
        }
        match self.section {
            Section::Outside => Err("not span output".into()),
            Section::Resource => self.resource_line(line),
            Section::Scope | Section::Span | Section::Event | Section::Link => self.span_line(line),
        }
    }

    fn resource_line(&mut self, line: &str) -> Result<(), String> {
        if line.starts_with("\tResource SchemaUrl: ") {
            return Ok(());
        }
        let entry = line
            .strip_prefix("\t ->  ")
            .ok_or("not a resource attribute")?;
        let (key, value) = entry
            .split_once('=')
            .ok_or("resource attribute without '='")?;
        if key == "service.name" {
            self.service = Some(value_text(value)?);
        }
        Ok(())
    }

    fn span_line(&mut self, line: &str) -> Result<(), String> {
        let span = self.span.as_mut().ok_or("span field outside a span")?;
        if line == "\tInstrumentation Scope" {
            self.section = Section::Scope;
            return Ok(());
        }
        if self.section == Section::Scope {
            if let Some(name) = line.strip_prefix("\t\tName         : ") {
                span.scope = Some(debug_string(name)?);
                return Ok(());
            }
            if line.starts_with("\t\tVersion  : ")
                || line.starts_with("\t\tSchemaUrl: ")
                || line == "\t\tScope Attributes:"
                || line.starts_with("\t\t\t ->  ")
            {
                return Ok(());
            }
            self.section = Section::Span;
        }
        if let Some(attribute) = line.strip_prefix("\t\t ->  ") {
            let (key, value) = attribute.split_once(": ").ok_or("attribute without ': '")?;
            let value = value_text(value)?;
            match self.section {
                Section::Span => span.attributes.insert(key.to_owned(), value),
                Section::Event => span
                    .events
                    .last_mut()
                    .ok_or("event attribute before any event")?
                    .attributes
                    .insert(key.to_owned(), value),
                // Link attributes: no step that prints its spans links them (step 13, whose
                // job spans do, sends them with OTLP).
                _ => None,
            };
            return Ok(());
        }
        if line == "\tAttributes:" || line == "\tEvents:" || line == "\tLinks:" {
            return Ok(());
        }
        if line.starts_with("\tEvent #") {
            self.section = Section::Event;
            span.events.push(PartialEvent {
                name: None,
                time: None,
                attributes: BTreeMap::new(),
            });
            return Ok(());
        }
        if line.starts_with("\tLink #") {
            self.section = Section::Link;
            return Ok(());
        }
        if self.section == Section::Event {
            let event = span
                .events
                .last_mut()
                .ok_or("event field before any event")?;
            if let Some(name) = line.strip_prefix("\tName      : ") {
                event.name = Some(name.to_owned());
                return Ok(());
            }
            if let Some(time) = line.strip_prefix("\tTimestamp : ") {
                event.time = Some(timestamp(time)?);
                return Ok(());
            }
        }
        if self.section == Section::Link
            && (line.starts_with("\tTraceId: ") || line.starts_with("\tSpanId : "))
        {
            return Ok(());
        }
        let (field, value) = line
            .strip_prefix('\t')
            .and_then(|field| field.split_once(" : "))
            .ok_or("unknown line in a span")?;
        match field.trim_end() {
            "Name" => span.name = Some(value.to_owned()),
            "TraceId" => {
                span.trace_id = Some(TraceId::from_hex(value).map_err(|_| "bad trace id")?)
            }
            "SpanId" => span.span_id = Some(SpanId::from_hex(value).map_err(|_| "bad span id")?),
            "TraceFlags" => {}
            "ParentSpanId" => {
                span.parent_span_id = Some(if value == "None (root span)" {
                    None
                } else {
                    Some(SpanId::from_hex(value).map_err(|_| "bad parent span id")?)
                })
            }
            "Kind" => span.kind = Some(kind(value)?),
            "Start time" => span.start = Some(timestamp(value)?),
            "End time" => span.end = Some(timestamp(value)?),
            "Status" => span.status = Some(status(value)?),
            _ => return Err("unknown span field".into()),
        }
        Ok(())
    }

    fn finish_span(&mut self) -> Result<(), String> {
        let Some(span) = self.span.take() else {
            return Ok(());
        };
        let missing = |field: &str| format!("a span without {field}");
        let name = span.name.ok_or_else(|| missing("a name"))?;
        let events = span
            .events
            .into_iter()
            .map(|event| {
                Ok(EventRecord {
                    name: event.name.ok_or_else(|| missing("an event name"))?,
                    time: event.time.ok_or_else(|| missing("an event timestamp"))?,
                    attributes: event.attributes,
                })
            })
            .collect::<Result<_, String>>()?;
        self.spans.push(SpanRecord {
            service: self.service.clone().unwrap_or_else(|| "unknown".into()),
            scope: span
                .scope
                .ok_or_else(|| missing("an instrumentation scope"))?,
            trace_id: span.trace_id.ok_or_else(|| missing("a trace id"))?,
            span_id: span.span_id.ok_or_else(|| missing("a span id"))?,
            parent_span_id: span
                .parent_span_id
                .ok_or_else(|| missing("a parent span id"))?,
            kind: span.kind.ok_or_else(|| missing("a kind"))?,
            start: span.start.ok_or_else(|| missing("a start time"))?,
            end: span.end.ok_or_else(|| missing("an end time"))?,
            links: Vec::new(),
            status: span.status.ok_or_else(|| missing("a status"))?,
            attributes: span.attributes,
            events,
            name,
        });
        Ok(())
    }
}

fn kind(text: &str) -> Result<SpanKind, String> {
    Ok(match text {
        "Client" => SpanKind::Client,
        "Server" => SpanKind::Server,
        "Producer" => SpanKind::Producer,
        "Consumer" => SpanKind::Consumer,
        "Internal" => SpanKind::Internal,
        _ => return Err("unknown span kind".into()),
    })
}

fn status(text: &str) -> Result<Status, String> {
    match text {
        "Unset" => Ok(Status::Unset),
        "Ok" => Ok(Status::Ok),
        _ => {
            let description = text
                .strip_prefix("Error { description: ")
                .and_then(|rest| rest.strip_suffix(" }"))
                .ok_or("unknown status")?;
            Ok(Status::error(debug_string(description)?))
        }
    }
}

fn timestamp(text: &str) -> Result<SystemTime, String> {
    let time = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.6f")
        .map_err(|error| format!("bad timestamp: {error}"))?;
    Ok(Utc.from_utc_datetime(&time).into())
}

/// The text of an attribute value as `Value`'s `Debug` prints it: `String(Owned("x"))` is `x`,
/// `I64(3)` is `3`, and so on.
fn value_text(text: &str) -> Result<String, String> {
    for prefix in ["String(Owned(", "String(Static(", "String(RefCounted("] {
        if let Some(quoted) = text
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix("))"))
        {
            return debug_string(quoted);
        }
    }
    for prefix in ["I64(", "F64(", "Bool(", "Array("] {
        if let Some(inner) = text
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix(')'))
        {
            return Ok(inner.to_owned());
        }
    }
    Err("unknown attribute value".into())
}

/// Undoes `{:?}` on a string: strips the quotes and resolves the escapes.
fn debug_string(text: &str) -> Result<String, String> {
    let inner = text
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
        .ok_or("expected a quoted string")?;
    let mut result = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            result.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => result.push('\n'),
            Some('r') => result.push('\r'),
            Some('t') => result.push('\t'),
            Some('0') => result.push('\0'),
            Some(c @ ('\\' | '"' | '\'')) => result.push(c),
            Some('u') => {
                let code: String = chars.by_ref().skip(1).take_while(|&c| c != '}').collect();
                let c = u32::from_str_radix(&code, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or("bad \\u escape")?;
                result.push(c);
            }
            _ => return Err("bad escape in a quoted string".into()),
        }
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO_BATCHES: &str = "Spans
Resource
\t ->  telemetry.sdk.language=String(Static(\"rust\"))
\t ->  service.name=String(Owned(\"frontend\"))
Span #0
\tInstrumentation Scope
\t\tName         : \"OT-tracing-demo\"

\tName         : backend call
\tTraceId      : 4bf92f3577b34da6a3ce929d0e0e4736
\tSpanId       : 00f067aa0ba902b7
\tTraceFlags   : TraceFlags(1)
\tParentSpanId : 53995c3f42cd8ad8
\tKind         : Client
\tStart time   : 2026-11-24 02:03:23.100000
\tEnd time     : 2026-11-24 02:03:23.102500
\tStatus       : Error { description: \"backend answered 500 \\\"Internal\\\"\" }
\tAttributes:
\t\t ->  demo.origin: String(Owned(\"frontend\"))
\tEvents:
\tEvent #0
\tName      : exception
\tTimestamp : 2026-11-24 02:03:23.102000
\tAttributes:
\t\t ->  exception.message: String(Owned(\"backend answered 500\"))
Spans
Span #0
\tInstrumentation Scope
\t\tName         : \"OT-tracing-demo\"

\tName         : incoming call
\tTraceId      : 4bf92f3577b34da6a3ce929d0e0e4736
\tSpanId       : 53995c3f42cd8ad8
\tTraceFlags   : TraceFlags(1)
\tParentSpanId : None (root span)
\tKind         : Server
\tStart time   : 2026-11-24 02:03:23.099000
\tEnd time     : 2026-11-24 02:03:23.103000
\tStatus       : Unset
";

    #[test]
    fn reads_spans_events_attributes_and_the_service() {
        let spans = parse(TWO_BATCHES).unwrap();
        assert_eq!(spans.len(), 2);
        let call = &spans[0];
        assert_eq!(call.service, "frontend");
        assert_eq!(call.scope, "OT-tracing-demo");
        assert_eq!(call.kind, SpanKind::Client);
        assert_eq!(call.parent_span_id, Some(spans[1].span_id));
        assert_eq!(
            call.error_description(),
            Some("backend answered 500 \"Internal\"")
        );
        assert_eq!(call.attributes["demo.origin"], "frontend");
        assert_eq!(
            call.events[0].attributes["exception.message"],
            "backend answered 500"
        );
        assert_eq!(call.duration().as_micros(), 2500);
        // The resource is printed once; later batches belong to the same service.
        assert_eq!(spans[1].service, "frontend");
        assert_eq!(spans[1].parent_span_id, None);
    }

    #[test]
    fn rejects_anything_that_is_not_span_output() {
        let error = parse("listening on http://127.0.0.1:8080\n").unwrap_err();
        assert!(error.contains("line 1: not span output"), "{error}");
        let stray = TWO_BATCHES.replace(
            "\tStatus       : Unset\n",
            "\tStatus       : Unset\nhello\n",
        );
        assert!(
            parse(&stray)
                .unwrap_err()
                .contains("unknown line in a span")
        );
        let truncated = TWO_BATCHES.replace("\tKind         : Server\n", "");
        assert!(
            parse(&truncated)
                .unwrap_err()
                .contains("a span without a kind")
        );
    }

    #[test]
    fn undoes_debug_escapes() {
        assert_eq!(debug_string(r#""a\"b\\c\n\u{e9}""#).unwrap(), "a\"b\\c\né");
    }
}
