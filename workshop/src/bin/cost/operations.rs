//! Per operation: the criterion micro-benchmarks of `benches/per_request.rs`, read back.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    path::{Path, PathBuf},
    time::Duration,
};

use workshop::harness::process;

use crate::{
    Size, command_output,
    under_load::{Figures, UnderLoad},
};

/// The micro-benchmarks `--bin cost` reads back, by the names `benches/per_request.rs` gives
/// them. On the request's path: step 07's span, then with one lever changed.
pub(crate) const SPAN: &str = "span: start and end, with an event";
pub(crate) const SPAN_ATTRIBUTES: &str = "span: start and end, with an event and 10 attributes";
pub(crate) const SPAN_OFF: &str = "span: start and end, with an event, not sampled";
pub(crate) const SPAN_RATIO_ROOT: &str =
    "span: start and end, with an event, parent-based 10%, as a root";
pub(crate) const SPAN_RATIO_UNSAMPLED: &str =
    "span: start and end, with an event, parent-based 10%, parent not sampled";
pub(crate) const SPAN_SIMPLE_DROPPED: &str =
    "span: start and end, with an event, simple processor, exporter dropping it";
pub(crate) const SPAN_SIMPLE_OTLP: &str =
    "span: start and end, with an event, simple processor, OTLP";
pub(crate) const SPAN_CONSTANT_ATTRIBUTES: &str =
    "span: start and end, with an event and 10 attributes, all constants";
pub(crate) const INJECT: &str = "context: inject traceparent and baggage";
pub(crate) const EXTRACT: &str = "context: extract traceparent and baggage";
pub(crate) const INJECT_TRACEPARENT: &str = "context: inject traceparent";
pub(crate) const EXTRACT_TRACEPARENT: &str = "context: extract traceparent";
pub(crate) const INJECT_STRICT: &str = "context: inject traceparent, the strict propagator";
pub(crate) const EXTRACT_STRICT: &str = "context: extract traceparent, the strict propagator";
/// Off the request's path: a batch of step 07's spans exported, as the batch processor does.
pub(crate) const EXPORT_GROUP: &str = "export/";
pub(crate) const EXPORT: &str = "export/512 spans a post, protobuf";
pub(crate) const EXPORT_SMALL_BATCH: &str = "export/64 spans a post, protobuf";
pub(crate) const EXPORT_ATTRIBUTES: &str =
    "export/512 spans a post, protobuf, 10 more attributes each";
pub(crate) const EXPORT_CONSTANT_ATTRIBUTES: &str =
    "export/512 spans a post, protobuf, 10 more attributes each, constants";

/// One micro-benchmark's result, from criterion's `estimates.json`.
pub(crate) struct Operation {
    name: String,
    /// The median time per iteration, and its 95% confidence interval, in nanoseconds.
    median: f64,
    interval: (f64, f64),
    /// The spans one iteration handles (criterion's throughput), for the export benchmarks.
    spans: Option<u64>,
}

impl Operation {
    /// The median time per span, in nanoseconds.
    pub(crate) fn per_span(&self) -> f64 {
        self.median / self.spans.unwrap_or(1).max(1) as f64
    }
}

/// Each operation by name; an error names one that `benches/per_request.rs` no longer has.
pub(crate) fn find<'a>(operations: &'a [Operation], name: &str) -> Result<&'a Operation, String> {
    operations
        .iter()
        .find(|operation| operation.name == name)
        .ok_or_else(|| format!("no micro-benchmark named {name:?} in benches/per_request.rs"))
}

/// Runs `benches/per_request.rs` with criterion, and reads back its estimates.
pub(crate) fn micro_benchmarks(size: Size) -> Result<Vec<Operation>, String> {
    let target = process::target_dir()?;
    // A folder of this run's own, so that only this run's estimates are read.
    let home = target.join("cost-criterion");
    let _ = std::fs::remove_dir_all(&home);
    let (warm_up, measurement) = size.bench_seconds;
    let mut command = process::cargo();
    command
        .args([
            "bench",
            "--quiet",
            "-p",
            "workshop",
            "--bench",
            "per_request",
        ])
        .arg("--target-dir")
        .arg(&target)
        .args([
            "--",
            "--warm-up-time",
            warm_up,
            "--measurement-time",
            measurement,
        ])
        .env("CRITERION_HOME", &home);
    let printed = command_output(&mut command)?;
    eprintln!("{printed}");
    // The order they ran in: each result's name is on the line before its `time:`, or at the
    // start of that line when it is short.
    let mut names = Vec::new();
    let mut previous = "";
    for line in printed.lines() {
        if let Some((before, _)) = line.split_once("time:") {
            let name = if before.trim().is_empty() {
                previous
            } else {
                before
            };
            names.push(name.trim().to_owned());
        }
        previous = line;
    }
    let mut estimates = read_estimates(&home)?;
    let operations: Vec<Operation> = names
        .iter()
        .filter_map(|name| estimates.remove(name))
        .collect();
    if operations.is_empty() || !estimates.is_empty() {
        return Err(format!(
            "criterion's output and its estimates in {} do not match",
            home.display()
        ));
    }
    let _ = std::fs::remove_dir_all(&home);
    Ok(operations)
}

/// Every estimate criterion wrote under `home`, by benchmark name: in a folder of its own, or,
/// for a benchmark of a group, in its group's folder.
pub(crate) fn read_estimates(home: &Path) -> Result<BTreeMap<String, Operation>, String> {
    let read = |path: PathBuf| -> Result<serde_json::Value, String> {
        let text = std::fs::read_to_string(&path)
            .map_err(|error| format!("reading {}: {error}", path.display()))?;
        serde_json::from_str(&text).map_err(|error| format!("reading {}: {error}", path.display()))
    };
    let mut estimates = BTreeMap::new();
    let mut folders = vec![home.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let entries = std::fs::read_dir(&folder)
            .map_err(|error| format!("reading {}: {error}", folder.display()))?;
        for folder in entries.filter_map(|entry| entry.ok().map(|entry| entry.path())) {
            let new = folder.join("new");
            if !new.join("benchmark.json").is_file() {
                if folder.is_dir() {
                    folders.push(folder);
                }
                continue;
            }
            let benchmark = read(new.join("benchmark.json"))?;
            let median = &read(new.join("estimates.json"))?["median"];
            let number = |value: &serde_json::Value| value.as_f64().unwrap_or(f64::NAN);
            let name = benchmark["full_id"].as_str().unwrap_or_default().to_owned();
            let operation = Operation {
                name: name.clone(),
                median: number(&median["point_estimate"]),
                interval: (
                    number(&median["confidence_interval"]["lower_bound"]),
                    number(&median["confidence_interval"]["upper_bound"]),
                ),
                spans: benchmark["throughput"]["Elements"].as_u64(),
            };
            estimates.insert(name, operation);
        }
    }
    Ok(estimates)
}

/// A time in nanoseconds, in the unit that suits it.
pub(crate) fn duration_text(nanoseconds: f64) -> String {
    if nanoseconds < 1_000.0 {
        format!("{nanoseconds:.0} ns")
    } else if nanoseconds < 10_000.0 {
        format!("{:.2} µs", nanoseconds / 1e3)
    } else if nanoseconds < 1e6 {
        format!("{:.0} µs", nanoseconds / 1e3)
    } else {
        format!("{:.2} ms", nanoseconds / 1e6)
    }
}

pub(crate) fn report_operations(operations: &[Operation]) -> String {
    let mut text = String::from(
        "### Per operation\n\n\
         The SDK's operations on a request's path, set up as step 07 sets it up (always-on \
         sampler, batch processor) but for what the name says, with an exporter that drops each \
         batch (or, in the last span row, step 07's OTLP exporter, to a receiver in the \
         benchmark): criterion's median time per operation, and its 95% confidence interval.\n\n\
         | Operation | Median | 95% interval |\n|---|--:|--:|\n",
    );
    let on_the_path = operations
        .iter()
        .filter(|operation| !operation.name.starts_with(EXPORT_GROUP));
    for operation in on_the_path {
        let _ = writeln!(
            text,
            "| {} | {} | {} – {} |",
            operation.name,
            duration_text(operation.median),
            duration_text(operation.interval.0),
            duration_text(operation.interval.1)
        );
    }
    text.push('\n');
    text
}

pub(crate) fn report_exports(operations: &[Operation]) -> String {
    let mut text = String::from(
        "### Exporting\n\n\
         What happens to a batch off the request's path: step 07's OTLP exporter converts a \
         batch of step 07's spans (each request's three, with their events and the baggage's \
         attribute), encodes it and posts it over HTTP to a receiver in the benchmark, which \
         reads the body and answers `200 OK`; timed until the answer is back. Criterion's \
         median per post and per span, and its 95% confidence interval per span.\n\n\
         | Batch | Per post | Per span | 95% interval, per span |\n|---|--:|--:|--:|\n",
    );
    let exports = operations
        .iter()
        .filter_map(|operation| Some((operation.name.strip_prefix(EXPORT_GROUP)?, operation)));
    for (batch, operation) in exports {
        let spans = operation.spans.unwrap_or(1).max(1) as f64;
        let _ = writeln!(
            text,
            "| {batch} | {} | {} | {} – {} |",
            duration_text(operation.median),
            duration_text(operation.per_span()),
            duration_text(operation.interval.0 / spans),
            duration_text(operation.interval.1 / spans)
        );
    }
    text.push('\n');
    text
}

/// A request of step 07 added up from the micro-benchmarks, beside what it added under load.
pub(crate) fn where_the_time_goes(
    operations: &[Operation],
    under_load: &UnderLoad,
) -> Result<String, String> {
    // Each request: `incoming call` and `backend call` in the frontend, `backend call received`
    // in the backend; the frontend injects the context, the backend extracts it.
    let on_the_path = 3.0 * find(operations, SPAN)?.median
        + find(operations, INJECT)?.median
        + find(operations, EXTRACT)?.median;
    let exporting = 3.0 * find(operations, EXPORT)?.per_span();
    let (untraced, traced) = (&under_load.untraced, &under_load.traced);
    let nanoseconds = |duration: Duration| duration.as_secs_f64() * 1e9;
    let cpu_added =
        nanoseconds(traced.cpu_per_request_total()) - nanoseconds(untraced.cpu_per_request_total());
    let export_threads = |figures: &Figures| {
        nanoseconds(figures.export_cpu_per_request(0) + figures.export_cpu_per_request(1))
    };
    let export_added = export_threads(traced) - export_threads(untraced);
    // Read from `/proc` in 10 ms ticks: whole microseconds, as under "Under load".
    let signed = |nanoseconds: f64| format!("{:+.0} µs", nanoseconds / 1e3);
    Ok(format!(
        "### Where the time goes\n\n\
         One request of step 07 makes three spans (two in the frontend, one in the backend), \
         injects the context once and extracts it once; then its three spans are exported. \
         Added up from the micro-benchmarks above, beside the CPU time the same requests added \
         under load:\n\n\
         | One request of step 07 | Time |\n|---|--:|\n\
         | On the request's path: three spans, one injection, one extraction | {} |\n\
         | Off the request's path: its three spans exported, 512 a post, protobuf | {} |\n\
         | Both, as the micro-benchmarks time them | {} |\n\
         | CPU time added per request under load, both services | {} |\n\
         | Of which on the two services' export path threads | {} |\n\n",
        duration_text(on_the_path),
        duration_text(exporting),
        duration_text(on_the_path + exporting),
        signed(cpu_added),
        signed(export_added),
    ))
}

/// What each lever changes, per span, on the request's path and off it.
pub(crate) fn levers(operations: &[Operation]) -> Result<String, String> {
    let on_path = |name: &str| find(operations, name).map(|operation| operation.median);
    let off_path = |name: &str| find(operations, name).map(Operation::per_span);
    let change = |from: f64, to: String| format!("{} → {to}", duration_text(from));
    let (span, export) = (on_path(SPAN)?, off_path(EXPORT)?);
    let unchanged = "same".to_owned();
    let rows = [
        (
            "Sampling (`OTEL_TRACES_SAMPLER`, step 09)",
            "always on",
            "always off",
            change(span, duration_text(on_path(SPAN_OFF)?)),
            change(export, "none".to_owned()),
        ),
        (
            "Sampling",
            "always on",
            "parent-based 10%, a trace's root",
            change(span, duration_text(on_path(SPAN_RATIO_ROOT)?)),
            change(export, "for one span in ten".to_owned()),
        ),
        (
            "Sampling",
            "always on",
            "parent-based 10%, the caller's trace not sampled",
            change(span, duration_text(on_path(SPAN_RATIO_UNSAMPLED)?)),
            change(export, "none".to_owned()),
        ),
        (
            "Processor",
            "batch",
            "simple, OTLP: each span posted as it ends",
            change(span, duration_text(on_path(SPAN_SIMPLE_OTLP)?)),
            change(export, "none: all on the request's path".to_owned()),
        ),
        (
            "Processor",
            "batch",
            "simple, with an exporter that drops the span",
            change(span, duration_text(on_path(SPAN_SIMPLE_DROPPED)?)),
            "–".to_owned(),
        ),
        (
            "Batch size (`OTEL_BSP_MAX_EXPORT_BATCH_SIZE`)",
            "512 spans a post",
            "64 spans a post",
            unchanged.clone(),
            change(export, duration_text(off_path(EXPORT_SMALL_BATCH)?)),
        ),
        (
            "Attributes",
            "as step 07 sets them",
            "10 more on each span",
            change(span, duration_text(on_path(SPAN_ATTRIBUTES)?)),
            change(export, duration_text(off_path(EXPORT_ATTRIBUTES)?)),
        ),
        (
            "Attributes",
            "10 more, 4 copied from the request",
            "the same 10, all constants (`&'static str`)",
            change(
                on_path(SPAN_ATTRIBUTES)?,
                duration_text(on_path(SPAN_CONSTANT_ATTRIBUTES)?),
            ),
            change(
                off_path(EXPORT_ATTRIBUTES)?,
                duration_text(off_path(EXPORT_CONSTANT_ATTRIBUTES)?),
            ),
        ),
        (
            "Baggage (steps 04 on)",
            "`traceparent` and `baggage`",
            "`traceparent` only",
            format!(
                "inject {}, extract {}, per request",
                change(
                    on_path(INJECT)?,
                    duration_text(on_path(INJECT_TRACEPARENT)?)
                ),
                change(
                    on_path(EXTRACT)?,
                    duration_text(on_path(EXTRACT_TRACEPARENT)?)
                ),
            ),
            "the baggage's attribute".to_owned(),
        ),
        (
            "Trace context propagator",
            "the SDK's `TraceContextPropagator` (steps 04 on)",
            "the strict one (Level 2, the hardening chapter)",
            format!(
                "inject {}, extract {}, per request",
                change(
                    on_path(INJECT_TRACEPARENT)?,
                    duration_text(on_path(INJECT_STRICT)?)
                ),
                change(
                    on_path(EXTRACT_TRACEPARENT)?,
                    duration_text(on_path(EXTRACT_STRICT)?)
                ),
            ),
            "same".to_owned(),
        ),
    ];
    let mut text = String::from(
        "### What each lever changes, per span\n\n\
         Each row changes one thing in step 07's set-up and keeps the rest: the time per span, \
         from the micro-benchmarks above, with step 07's set-up and then with the change.\n\n\
         | Lever | Step 07 | Changed to | On the request's path, per span | Off it, per span |\n\
         |---|---|---|--:|--:|\n",
    );
    for (lever, step, changed, on, off) in rows {
        let _ = writeln!(text, "| {lever} | {step} | {changed} | {on} | {off} |");
    }
    text.push('\n');
    Ok(text)
}
