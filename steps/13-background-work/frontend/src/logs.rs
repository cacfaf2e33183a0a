//! The outputs of the `tracing` crate, and what decides which spans and events reach each: the
//! **trace** (tracing-opentelemetry's layer), the **log lines** on stderr, where each line
//! carries the trace id and span id of the span it was written in, so that a reader can go from
//! a log line to its trace (step 10), and the same lines as OpenTelemetry **log records**,
//! sent over OTLP with those ids, so that a back end shows them under their spans.
//!
//! The trace and the log get separate filters on purpose. `RUST_LOG` is for people reading logs; were it the
//! subscriber's one filter, `RUST_LOG=warn` would turn off the INFO spans the trace is made of,
//! and the trace would lose them without a word.

use std::fmt;

use opentelemetry::{Context, trace::TraceContextExt};
use opentelemetry_sdk::{
    Resource,
    logs::{BatchLogProcessor, LogExporter, SdkLoggerProvider},
};
use tracing::{Event, Subscriber, level_filters::LevelFilter};
use tracing_subscriber::{
    filter::{EnvFilter, FilterExt, Targets},
    fmt::{
        FmtContext, FormatEvent, FormatFields,
        format::Writer,
        time::{FormatTime, SystemTime},
    },
    layer::Filter,
    registry::LookupSpan,
};

use step_support::{StartupError, variable as read};

// ANCHOR: trace_filter
/// The crates an exporter runs on: the OpenTelemetry crates themselves, and the HTTP, TLS and
/// credential crates that carry a batch of spans out. What they report must not become part of
/// the trace: an SDK warning written while a request's span is current would be an event of
/// that span, and spans written while exporting would be exported in turn.
const EXPORTER_CRATES: [&str; 4] = ["opentelemetry", "reqwest", "hyper", "h2"];

/// Which spans and events go into the trace: everything at INFO and above, whatever `RUST_LOG`
/// says, except from the crates the exporter runs on. (A prefix names every crate that starts
/// with it: `opentelemetry` is also `opentelemetry_sdk`, `hyper` also `hyper_util`.)
pub fn trace_filter() -> Targets {
    Targets::new()
        .with_default(LevelFilter::INFO)
        .with_targets(EXPORTER_CRATES.map(|target| (target, LevelFilter::OFF)))
}
// ANCHOR_END: trace_filter

// ANCHOR: log_filter
/// Which log lines are written: `RUST_LOG`, as `tracing` and `env_logger` read it (`warn`,
/// `info,step_12_backend=debug`); `info` when it is not set. Directives it cannot read are a
/// [`StartupError`], not a filter that quietly shows less. The directives, read once, for
/// the two outputs that follow them: the lines on stderr and the log records.
pub fn log_filter_from_env() -> Result<LogFilter, StartupError> {
    let directives = read("RUST_LOG")?.unwrap_or_else(|| "info".to_owned());
    EnvFilter::builder()
        .parse(&directives)
        .map_err(|error| StartupError::invalid("RUST_LOG", &directives, error))?;
    Ok(LogFilter { directives })
}

/// `RUST_LOG`'s directives, checked: a filter of them for each output that wants one (a filter
/// belongs to one layer).
#[derive(Debug, Clone)]
pub struct LogFilter {
    directives: String,
}

impl LogFilter {
    pub fn env_filter(&self) -> EnvFilter {
        // Read once already, without an error: nothing is lost.
        EnvFilter::builder().parse_lossy(&self.directives)
    }
}

// ANCHOR_END: log_filter

// ANCHOR: log_records
/// Whether log records are sent: `OTEL_LOGS_EXPORTER`, `otlp` (the default) or `none`.
/// The SDK does not read it.
pub fn send_log_records_from_env() -> Result<bool, StartupError> {
    match read("OTEL_LOGS_EXPORTER")?.as_deref() {
        None | Some("otlp") => Ok(true),
        Some("none") => Ok(false),
        Some(other) => Err(StartupError::invalid(
            "OTEL_LOGS_EXPORTER",
            other,
            "expected otlp or none: these programs send log records over OTLP only",
        )),
    }
}

/// The logger provider: the same resource as the traces and the metrics, and a batch
/// processor that sends the records from a thread of its own (every second, or every 512
/// records: `OTEL_BLRP_*`), as the spans' does. Without an exporter (`OTEL_LOGS_EXPORTER=none`),
/// records go nowhere.
pub fn init_logger_provider(
    exporter: Option<impl LogExporter + 'static>,
    resource: Resource,
) -> SdkLoggerProvider {
    // ANCHOR: todo_logger_provider
    let builder = SdkLoggerProvider::builder().with_resource(resource);
    match exporter {
        Some(exporter) => builder
            .with_log_processor(BatchLogProcessor::builder(exporter).build())
            .build(),
        None => builder.build(),
    }
    // ANCHOR_END: todo_logger_provider
}

/// Which events become log records: those `RUST_LOG` writes as lines, but never one from
/// the crates the exporter runs on: the records are sent by those crates, and a record of their
/// work would be sent in turn, and so on.
pub fn log_record_filter<S>(log_filter: &LogFilter) -> impl Filter<S> + use<S>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let exporter_crates = Targets::new()
        .with_default(LevelFilter::TRACE)
        .with_targets(EXPORTER_CRATES.map(|target| (target, LevelFilter::OFF)));
    log_filter.env_filter().and(exporter_crates)
}
// ANCHOR_END: log_records

// ANCHOR: with_trace_ids
/// Log lines with the trace id and span id of the span they were written in:
///
/// ```text
/// 2026-11-24T10:00:27.280862Z  INFO incoming call:backend call: step_12_frontend: making backend call trace_id=76185f… span_id=28b196…
/// ```
///
/// As tracing-subscriber's default format, but naming the spans around the event without their
/// fields (the trace has those), and with the ids at the end. They come from OpenTelemetry's
/// current context, which tracing-opentelemetry's layer sets whenever a span of the trace is
/// entered (its "context activation", on unless turned off): the line gets the innermost span
/// the trace has (one filtered out of it is skipped). A line written outside any, or in a trace
/// the sampler did not keep, gets no ids: there would be no trace to find. (An event given
/// another span with `parent:` still gets the entered span's ids.)
#[derive(Default)]
pub struct WithTraceIds;

impl<S, N> FormatEvent<S, N> for WithTraceIds
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        SystemTime.format_time(&mut writer)?;
        write!(writer, " {:>5} ", event.metadata().level())?;
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                write!(writer, "{}:", span.name())?;
            }
            write!(writer, " ")?;
        }
        write!(writer, "{}: ", event.metadata().target())?;
        ctx.format_fields(writer.by_ref(), event)?;
        let cx = Context::current();
        let span = cx.span().span_context().clone();
        if span.is_sampled() {
            write!(
                writer,
                " trace_id={} span_id={}",
                span.trace_id(),
                span.span_id()
            )?;
        }
        writeln!(writer)
    }
}
// ANCHOR_END: with_trace_ids

#[cfg(test)]
mod tests {
    use std::{
        io,
        sync::{Arc, Mutex},
    };

    use opentelemetry::trace::TracerProvider;
    use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
    use tracing::{info, info_span, warn};
    use tracing_subscriber::{Layer, fmt::MakeWriter, layer::SubscriberExt};

    use super::*;

    /// The log lines written, kept in memory.
    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Lines {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Lines {
        type Writer = Self;
        fn make_writer(&'a self) -> Self {
            self.clone()
        }
    }

    impl Lines {
        fn text(&self) -> String {
            String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
        }
    }

    /// Runs `work` under step 10's subscriber (with RUST_LOG `directives`), and returns the
    /// spans exported and the log lines written.
    fn run(
        directives: &str,
        work: impl FnOnce(),
    ) -> (Vec<opentelemetry_sdk::trace::SpanData>, String) {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_simple_exporter(exporter.clone())
            .build();
        let lines = Lines::default();
        let log_filter = LogFilter {
            directives: directives.to_owned(),
        }
        .env_filter();
        let subscriber = tracing_subscriber::registry()
            .with(
                tracing_opentelemetry::layer()
                    .with_tracer(provider.tracer("test"))
                    .with_filter(trace_filter()),
            )
            .with(
                tracing_subscriber::fmt::layer()
                    .event_format(WithTraceIds)
                    .with_writer(lines.clone())
                    .with_filter(log_filter),
            );
        tracing::subscriber::with_default(subscriber, work);
        (exporter.get_finished_spans().unwrap(), lines.text())
    }

    #[test]
    fn a_log_line_carries_the_ids_of_its_span() {
        let (spans, lines) = run("info", || {
            info_span!("outer").in_scope(|| info!("written inside"));
            info!("written outside");
        });
        let outer = &spans[0].span_context;
        // The target is this module's path (step_12_frontend::logs::tests, or the backend's).
        let target = module_path!();
        let inside = format!(
            " INFO outer: {target}: written inside trace_id={} span_id={}\n",
            outer.trace_id(),
            outer.span_id()
        );
        assert!(lines.contains(&inside), "{lines}");
        assert!(
            lines.ends_with(&format!(" INFO {target}: written outside\n")),
            "{lines}"
        );
    }

    #[test]
    fn rust_log_chooses_log_lines_and_leaves_the_trace_whole() {
        let (spans, lines) = run("warn", || {
            info_span!("outer").in_scope(|| {
                info_span!("inner").in_scope(|| info!("an event of the trace"));
            });
        });
        assert_eq!(lines, "");
        let names: Vec<&str> = spans.iter().map(|span| span.name.as_ref()).collect();
        assert_eq!(names, ["inner", "outer"]);
        assert_eq!(spans[0].parent_span_id, spans[1].span_context.span_id());
        assert_eq!(spans[0].events.events[0].name, "an event of the trace");
    }

    #[test]
    fn a_line_in_a_trace_the_sampler_drops_has_no_ids() {
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_sampler(opentelemetry_sdk::trace::Sampler::AlwaysOff)
            .with_simple_exporter(exporter.clone())
            .build();
        let lines = Lines::default();
        let subscriber = tracing_subscriber::registry()
            .with(tracing_opentelemetry::layer().with_tracer(provider.tracer("test")))
            .with(
                tracing_subscriber::fmt::layer()
                    .event_format(WithTraceIds)
                    .with_writer(lines.clone()),
            );
        tracing::subscriber::with_default(subscriber, || {
            info_span!("dropped").in_scope(|| info!("written inside"));
        });
        assert!(exporter.get_finished_spans().unwrap().is_empty());
        let target = module_path!();
        assert!(
            lines
                .text()
                .ends_with(&format!(" INFO dropped: {target}: written inside\n")),
            "{}",
            lines.text()
        );
    }

    #[test]
    fn the_exporters_own_diagnostics_are_logged_but_not_traced() {
        let (spans, lines) = run("info", || {
            info_span!("request").in_scope(|| {
                warn!(name: "BatchSpanProcessor.ExportError", target: "opentelemetry_sdk", "export failed");
                info_span!(target: "hyper_util::client", "pooled connection").in_scope(|| {});
            });
        });
        assert!(lines.contains("export failed trace_id="), "{lines}");
        assert_eq!(spans.len(), 1, "{spans:#?}");
        assert!(spans[0].events.events.is_empty(), "{spans:#?}");
    }

    #[test]
    fn a_log_record_carries_the_ids_of_its_span_and_the_severity_of_its_event() {
        use opentelemetry::logs::{AnyValue, Severity};
        use opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge;
        use opentelemetry_sdk::logs::InMemoryLogExporter;
        use tracing::debug;

        let spans = InMemorySpanExporter::default();
        let tracer_provider = SdkTracerProvider::builder()
            .with_simple_exporter(spans.clone())
            .build();
        let records = InMemoryLogExporter::default();
        let logger_provider = SdkLoggerProvider::builder()
            .with_simple_exporter(records.clone())
            .build();
        let log_filter = LogFilter {
            directives: "info".to_owned(),
        };
        let subscriber = tracing_subscriber::registry()
            .with(
                tracing_opentelemetry::layer()
                    .with_tracer(tracer_provider.tracer("test"))
                    .with_filter(trace_filter()),
            )
            .with(
                OpenTelemetryTracingBridge::new(&logger_provider)
                    .with_filter(log_record_filter(&log_filter)),
            );
        tracing::subscriber::with_default(subscriber, || {
            info_span!("outer").in_scope(|| {
                warn!("written inside");
                // What the exporter's HTTP client reports never becomes a record.
                info!(target: "hyper_util::client", "connecting");
            });
            debug!("below RUST_LOG");
        });

        let spans = spans.get_finished_spans().unwrap();
        let emitted = records.get_emitted_logs().unwrap();
        assert_eq!(emitted.len(), 1, "{emitted:#?}");
        let record = &emitted[0].record;
        let ids = record.trace_context().unwrap();
        assert_eq!(ids.trace_id, spans[0].span_context.trace_id());
        assert_eq!(ids.span_id, spans[0].span_context.span_id());
        // WARN is 13 in the log data model, as the specification maps it.
        assert_eq!(record.severity_number(), Some(Severity::Warn));
        assert_eq!(record.severity_text(), Some("WARN"));
        assert_eq!(record.body(), Some(&AnyValue::from("written inside")));
    }
}
