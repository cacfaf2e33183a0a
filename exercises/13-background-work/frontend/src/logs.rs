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
