//! `cargo run --release -p workshop --bin cost`: what tracing costs, measured on this machine.
//!
//! 1. Under load: the untraced pair (step 01) and the traced pair of step 07
//!    (batch processor, OTLP to a receiver in this program) run side by side; the same load goes
//!    to each in turn, in alternating rounds, so that whatever else the machine does hits both
//!    alike. For each: requests per second, latency percentiles, CPU time per request and each
//!    service's peak resident memory; then traced against untraced.
//! 2. Per operation: the criterion micro-benchmarks in `workshop/benches/per_request.rs`, on
//!    the request's path (a span, the context) and off it (a batch exported over OTLP), each
//!    with step 07's set-up and with one lever changed: sampling, the processor, the batch
//!    size, the attributes, the protocol. Then where a request's time goes, added up, and what
//!    each lever buys.
//! 3. Building: the workspace's cold build, its warm test run, and `cargo tree -d`.
//!
//! Last, the project's own targets, each with what this run measured and whether it met it.
//!
//! It prints the figures as Markdown and writes them to `book/src/generated/cost.md`, which the
//! book's chapter "What does tracing cost?" includes. `--short` runs every part quickly, to
//! check that it works (CI), and leaves the book's figures alone.

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    path::{Path, PathBuf},
    process::{ExitCode, Stdio},
    sync::atomic::AtomicUsize,
    time::{Duration, Instant},
};

use workshop::{
    book,
    load::{self, Answers},
    process::{self, Pair},
    steps::{self, Step},
};

const USAGE: &str = "usage: cargo run --release -p workshop --bin cost [-- --short]";

/// The concurrency the targets are set at.
const CONCURRENCY: usize = 32;

/// The thread the SDK's batch span processor exports from: the export path's CPU time is
/// read from it, on the step's own programs.
const BATCH_THREAD: &str = "OpenTelemetry.Traces.BatchProcessor";

/// How much of everything to do.
#[derive(Debug, Clone, Copy)]
struct Size {
    short: bool,
    /// Requests to each pair before measuring: connections made, caches warm.
    warm_up: usize,
    /// Measured rounds per pair.
    rounds: usize,
    requests_per_round: usize,
    /// Criterion's warm-up and measurement time per micro-benchmark, in seconds.
    bench_seconds: (&'static str, &'static str),
}

const FULL: Size = Size {
    short: false,
    warm_up: 2_000,
    rounds: 10,
    requests_per_round: 30_000,
    bench_seconds: ("1", "3"),
};

const SHORT: Size = Size {
    short: true,
    warm_up: 200,
    rounds: 2,
    requests_per_round: 500,
    bench_seconds: ("0.1", "0.3"),
};

#[tokio::main]
async fn main() -> ExitCode {
    let size = match std::env::args().skip(1).collect::<Vec<_>>().as_slice() {
        [] => FULL,
        [flag] if flag == "--short" => SHORT,
        [flag] if flag == "-h" || flag == "--help" => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("error: unknown arguments\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    // Figures from unoptimised programs would say nothing about what tracing costs.
    if cfg!(debug_assertions) {
        eprintln!("error: build the benchmark optimised: {USAGE}");
        return ExitCode::from(2);
    }
    match run(size).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(size: Size) -> Result<(), String> {
    let untraced = steps::find("01").ok_or("there is no step 01")?;
    // Step 07: the post's three spans per request, batched, over OTLP (the chapter's subject;
    // later steps add the HTTP client's own spans).
    let traced = steps::find("07").ok_or("there is no step 07")?;
    let mut report = String::new();
    let began = Instant::now();

    eprintln!(
        "==> Building the programs of steps 01 and {}",
        traced.number
    );
    let programs = [
        untraced.frontend(),
        untraced.backend(),
        traced.frontend(),
        traced.backend(),
    ];
    blocking(move || process::build(&programs, true)).await?;

    // Each part is printed as soon as it is measured, so that a later failure loses nothing.
    let mut print = |section: String| {
        println!("{section}");
        report.push_str(&section);
    };
    print(machine());

    eprintln!("==> Under load");
    let under_load = measure_load(size, untraced, traced).await?;
    print(under_load.report(size, untraced, traced));

    eprintln!("==> Per operation (criterion)");
    // Cargo runs for a while in these two: on a thread set aside for blocking.
    let operations = blocking(move || micro_benchmarks(size)).await?;
    print(report_operations(&operations));
    print(report_exports(&operations));
    print(where_the_time_goes(&operations, &under_load)?);
    print(levers(&operations)?);

    eprintln!("==> Building");
    let building = blocking(measure_building).await?;
    print(building.report());

    print(targets(&under_load, &building));
    print(format!(
        "\nThe whole run took {:.0} s.\n",
        began.elapsed().as_secs_f64()
    ));

    if !size.short {
        let path = book::repository()
            .join(book::GENERATED)
            .join(book::COST_FIGURES);
        std::fs::write(&path, &report)
            .map_err(|error| format!("writing {}: {error}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    Ok(())
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| error.to_string())?
}

/// The machine and the build the figures come from.
fn machine() -> String {
    let cpu = read_field("/proc/cpuinfo", "model name", ':').unwrap_or_else(unknown);
    let cores = std::thread::available_parallelism().map_or(0, |cores| cores.get());
    let memory = read_field("/proc/meminfo", "MemTotal", ':')
        .and_then(|total| total.trim_end_matches(" kB").trim().parse::<u64>().ok())
        .map_or_else(unknown, |kib| {
            format!("{:.0} GiB", kib as f64 / 1024.0 / 1024.0)
        });
    let system = read_field("/etc/os-release", "PRETTY_NAME", '=')
        .map(|name| name.trim_matches('"').to_owned())
        .unwrap_or_else(|| std::env::consts::OS.to_owned());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map_or_else(|_| unknown(), |release| release.trim().to_owned());
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let rustc = command_output(std::process::Command::new(rustc).arg("--version"))
        .unwrap_or_else(|_| unknown());
    let commit = command_output(git().args(["rev-parse", "--short=10", "HEAD"]))
        .unwrap_or_else(|_| unknown());
    let changed = command_output(git().args(["status", "--porcelain"]))
        .is_ok_and(|changes| !changes.is_empty());
    format!(
        "### The machine\n\n\
         | | |\n|---|---|\n\
         | Processor | {cpu}, {cores} cores |\n\
         | Memory | {memory} |\n\
         | System | {system}, Linux {kernel} |\n\
         | Compiler | {rustc}, `--release` |\n\
         | Measured | {date}, at commit `{commit}`{changed} |\n\n",
        date = chrono::Utc::now().format("%Y-%m-%d"),
        changed = if changed {
            " with uncommitted changes"
        } else {
            ""
        },
    )
}

fn git() -> std::process::Command {
    let mut git = std::process::Command::new("git");
    git.current_dir(book::repository());
    git
}

fn unknown() -> String {
    "unknown".to_owned()
}

/// The value of the first `name<separator>value` line of a file such as `/proc/cpuinfo`.
fn read_field(path: &str, name: &str, separator: char) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    text.lines().find_map(|line| {
        let (key, value) = line.split_once(separator)?;
        (key.trim() == name).then(|| value.trim().to_owned())
    })
}

/// What a command printed to stdout, trimmed; an error if it failed.
fn command_output(command: &mut std::process::Command) -> Result<String, String> {
    let output = command
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|error| format!("cannot run {command:?}: {error}"))?;
    if !output.status.success() {
        return Err(format!("{command:?} failed ({})", output.status));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// One pair under load, and what it got so far.
struct Running {
    step: &'static Step,
    pair: Pair,
    client: reqwest::Client,
    figures: Figures,
}

/// What one pair got under load.
struct Figures {
    /// The measured rounds' answers, as if they had been one burst.
    answers: Answers,
    /// Each measured round's requests per second.
    round_rates: Vec<f64>,
    /// CPU time the frontend and the backend used during the measured rounds.
    cpu: [Duration; 2],
    /// The part of it used by each one's batch span processor thread.
    batch_cpu: [Duration; 2],
    /// Every request sent, warm-up included: every traced one's spans must arrive.
    sent: usize,
    /// Peak resident memory of the frontend and the backend, in KiB.
    peak_kib: [Option<u64>; 2],
    /// The spans the two programs exported, for a traced pair.
    spans_received: usize,
}

impl Running {
    async fn start(step: &'static Step) -> Result<Self, String> {
        Ok(Self {
            step,
            pair: Pair::start(step, &[]).await?,
            client: load::client()?,
            figures: Figures {
                answers: Answers::default(),
                round_rates: Vec::new(),
                cpu: [Duration::ZERO; 2],
                batch_cpu: [Duration::ZERO; 2],
                sent: 0,
                peak_kib: [None; 2],
                spans_received: 0,
            },
        })
    }

    async fn send(&mut self, count: usize) -> Result<Answers, String> {
        let url = self.pair.frontend.url();
        self.figures.sent += count;
        let answers =
            load::send(&self.client, &url, count, CONCURRENCY, &AtomicUsize::new(0)).await;
        match answers.ok() == count {
            true => Ok(answers),
            false => Err(format!(
                "step {}: not every request was answered 200: {}",
                self.step.number,
                answers.describe()
            )),
        }
    }

    /// The CPU time the frontend and the backend have used so far: all their threads, then
    /// their batch span processor's thread.
    fn cpu_now(&self) -> Result<[[Duration; 2]; 2], String> {
        let services = [&self.pair.frontend, &self.pair.backend];
        let unreadable = "cannot read a program's CPU time from /proc (Linux only)";
        let mut now = [[Duration::ZERO; 2]; 2];
        for (index, service) in services.into_iter().enumerate() {
            now[0][index] = service.cpu_time().ok_or(unreadable)?;
            now[1][index] = service
                .cpu_time_of_threads(BATCH_THREAD)
                .ok_or(unreadable)?;
        }
        Ok(now)
    }

    async fn round(&mut self, requests: usize) -> Result<(), String> {
        let [before, batch_before] = self.cpu_now()?;
        let answers = self.send(requests).await?;
        let [after, batch_after] = self.cpu_now()?;
        let figures = &mut self.figures;
        for service in 0..2 {
            figures.cpu[service] += after[service].saturating_sub(before[service]);
            figures.batch_cpu[service] +=
                batch_after[service].saturating_sub(batch_before[service]);
        }
        figures.round_rates.push(answers.per_second());
        figures.answers.add(&answers);
        Ok(())
    }

    /// Stops both programs with SIGTERM, so that a traced pair exports its last spans.
    async fn stop(self) -> Result<Figures, String> {
        let mut figures = self.figures;
        figures.peak_kib = [
            self.pair.frontend.peak_resident_kib(),
            self.pair.backend.peak_resident_kib(),
        ];
        let (frontend, backend) = self.pair.stop().await?;
        for exited in [&frontend, &backend] {
            if !exited.status.success() {
                return Err(format!(
                    "a program of step {} exited with {}; stderr:\n{}",
                    self.step.number, exited.status, exited.stderr
                ));
            }
        }
        if let (Some(frontend), Some(backend)) = (frontend.sent, backend.sent) {
            figures.spans_received = frontend.len() + backend.len();
        }
        Ok(figures)
    }
}

impl Figures {
    fn cpu_per_request(&self, service: usize) -> Duration {
        self.per_request(self.cpu[service])
    }

    fn batch_cpu_per_request(&self, service: usize) -> Duration {
        self.per_request(self.batch_cpu[service])
    }

    fn per_request(&self, total: Duration) -> Duration {
        let requests = u32::try_from(self.answers.sent().max(1)).unwrap_or(u32::MAX);
        total / requests
    }

    fn cpu_per_request_total(&self) -> Duration {
        self.cpu_per_request(0) + self.cpu_per_request(1)
    }
}

/// Both pairs, measured.
struct UnderLoad {
    untraced: Figures,
    traced: Figures,
}

async fn measure_load(
    size: Size,
    untraced_step: &'static Step,
    traced_step: &'static Step,
) -> Result<UnderLoad, String> {
    let mut pairs = [
        Running::start(untraced_step).await?,
        Running::start(traced_step).await?,
    ];
    for pair in &mut pairs {
        pair.send(size.warm_up).await?;
    }
    for round in 0..size.rounds {
        // Untraced first in even rounds, traced first in odd ones: neither always goes first
        // into whatever the machine is doing.
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for index in order {
            let pair = &mut pairs[index];
            pair.round(size.requests_per_round).await?;
            eprintln!(
                "round {} of {}, step {}: {:.0} requests/s",
                round + 1,
                size.rounds,
                pair.step.number,
                pair.figures.round_rates.last().copied().unwrap_or_default()
            );
        }
    }
    let [untraced_pair, traced_pair] = pairs;
    let untraced = untraced_pair.stop().await?;
    let traced = traced_pair.stop().await?;
    // Every span of every request: a traced pair that dropped some would look cheaper.
    let expected = spans_per_request(traced_step) * traced.sent;
    if traced.spans_received != expected {
        return Err(format!(
            "step {} exported {} spans for {} requests; expected {expected}",
            traced_step.number, traced.spans_received, traced.sent
        ));
    }
    Ok(UnderLoad { untraced, traced })
}

/// How many spans one request's trace has (the lines of the step's outline that are not
/// events).
fn spans_per_request(step: &Step) -> usize {
    step.trace
        .lines()
        .filter(|line| !line.trim_start().starts_with("event:"))
        .count()
}

impl UnderLoad {
    fn report(&self, size: Size, untraced_step: &Step, traced_step: &Step) -> String {
        let (untraced, traced) = (&self.untraced, &self.traced);
        let mut text = format!(
            "### Under load\n\n\
             Step {u} (untraced) and step {t} (traced: batch processor, OTLP to a local \
             receiver), side by side. Each got {warm_up} requests to warm up, then \
             {rounds} rounds of {requests} requests, {CONCURRENCY} at a time, in turn with the \
             other. The load and the receiver run in the benchmark's own process, on the same \
             cores as the services.\n\n\
             | | Step {u}, untraced | Step {t}, traced | Traced against untraced |\n\
             |---|--:|--:|--:|\n",
            u = untraced_step.number,
            t = traced_step.number,
            warm_up = thousands(size.warm_up as f64),
            rounds = size.rounds,
            requests = thousands(size.requests_per_round as f64),
        );
        let rate = |figures: &Figures| {
            let (low, high) = figures
                .round_rates
                .iter()
                .fold((f64::MAX, 0.0_f64), |(low, high), rate| {
                    (low.min(*rate), high.max(*rate))
                });
            format!(
                "{} ({}–{} by round)",
                thousands(figures.answers.per_second()),
                thousands(low),
                thousands(high)
            )
        };
        let _ = writeln!(
            text,
            "| Requests per second | {} | {} | {:.3} × |",
            rate(untraced),
            rate(traced),
            self.throughput_ratio()
        );
        for (label, quantile) in [("p50", 0.5), ("p99", 0.99), ("p99.9", 0.999)] {
            let (before, after) = (
                untraced.answers.latency(quantile),
                traced.answers.latency(quantile),
            );
            let _ = writeln!(
                text,
                "| Latency {label} | {} | {} | {} |",
                milliseconds(before),
                milliseconds(after),
                added_milliseconds(before, after)
            );
        }
        for (label, service) in [("frontend", Some(0)), ("backend", Some(1)), ("both", None)] {
            let per_request = |figures: &Figures| match service {
                Some(service) => figures.cpu_per_request(service),
                None => figures.cpu_per_request_total(),
            };
            let (before, after) = (per_request(untraced), per_request(traced));
            let _ = writeln!(
                text,
                "| CPU per request, {label} | {} | {} | {} |",
                microseconds(before),
                microseconds(after),
                added_microseconds(before, after)
            );
        }
        for (label, service) in [("frontend", 0), ("backend", 1)] {
            let (before, after) = (
                untraced.batch_cpu_per_request(service),
                traced.batch_cpu_per_request(service),
            );
            let _ = writeln!(
                text,
                "| CPU per request, {label}'s batch processor thread | {} | {} | {} |",
                microseconds(before),
                microseconds(after),
                added_microseconds(before, after)
            );
        }
        for (label, service) in [("frontend", 0), ("backend", 1)] {
            let (before, after) = (untraced.peak_kib[service], traced.peak_kib[service]);
            let added = match (before, after) {
                (Some(before), Some(after)) => {
                    format!("{:+.1} MiB", (after as f64 - before as f64) / 1024.0)
                }
                _ => unknown(),
            };
            let _ = writeln!(
                text,
                "| Peak resident memory, {label} | {} | {} | {added} |",
                mebibytes(before),
                mebibytes(after)
            );
        }
        let _ = writeln!(
            text,
            "\nEvery request was answered `200 OK`, and the receiver got all {} spans of the \
             traced pair's {} requests. CPU time is read from `/proc`, in 10 ms ticks, over \
             each round; a service's batch processor thread (`{BATCH_THREAD}`) converts its \
             spans to OTLP and encodes them, and the runtime's threads, which serve the \
             requests, also send the encoded batches.\n",
            thousands(traced.spans_received as f64),
            thousands(traced.sent as f64),
        );
        text
    }

    fn throughput_ratio(&self) -> f64 {
        self.traced.answers.per_second() / self.untraced.answers.per_second().max(f64::MIN_POSITIVE)
    }

    fn p99_added(&self) -> f64 {
        let (before, after) = (
            self.untraced.answers.latency(0.99),
            self.traced.answers.latency(0.99),
        );
        after.as_secs_f64() - before.as_secs_f64()
    }

    /// The largest peak resident memory of the four programs, in KiB.
    fn largest_peak_kib(&self) -> Option<u64> {
        let peaks = self.untraced.peak_kib.iter().chain(&self.traced.peak_kib);
        peaks
            .copied()
            .collect::<Option<Vec<u64>>>()?
            .into_iter()
            .max()
    }
}

fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.max(0.0));
    let mut grouped = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

fn milliseconds(duration: Duration) -> String {
    format!("{:.2} ms", duration.as_secs_f64() * 1e3)
}

fn added_milliseconds(before: Duration, after: Duration) -> String {
    format!(
        "{:+.2} ms",
        (after.as_secs_f64() - before.as_secs_f64()) * 1e3
    )
}

fn microseconds(duration: Duration) -> String {
    format!("{:.0} µs", duration.as_secs_f64() * 1e6)
}

fn added_microseconds(before: Duration, after: Duration) -> String {
    format!(
        "{:+.0} µs",
        (after.as_secs_f64() - before.as_secs_f64()) * 1e6
    )
}

fn mebibytes(kib: Option<u64>) -> String {
    kib.map_or_else(unknown, |kib| format!("{:.1} MiB", kib as f64 / 1024.0))
}

/// The micro-benchmarks `--bin cost` reads back, by the names `benches/per_request.rs` gives
/// them. On the request's path: step 07's span, then with one lever changed.
const SPAN: &str = "span: start and end, with an event";
const SPAN_ATTRIBUTES: &str = "span: start and end, with an event and 10 attributes";
const SPAN_OFF: &str = "span: start and end, with an event, not sampled";
const SPAN_RATIO_ROOT: &str = "span: start and end, with an event, parent-based 10%, as a root";
const SPAN_RATIO_UNSAMPLED: &str =
    "span: start and end, with an event, parent-based 10%, parent not sampled";
const SPAN_SIMPLE_DROPPED: &str =
    "span: start and end, with an event, simple processor, exporter dropping it";
const SPAN_SIMPLE_OTLP: &str = "span: start and end, with an event, simple processor, OTLP";
const INJECT: &str = "context: inject traceparent and baggage";
const EXTRACT: &str = "context: extract traceparent and baggage";
/// Off the request's path: a batch of step 07's spans exported, as the batch processor does.
const EXPORT_GROUP: &str = "export/";
const EXPORT: &str = "export/512 spans a post, protobuf";
const EXPORT_SMALL_BATCH: &str = "export/64 spans a post, protobuf";
const EXPORT_JSON: &str = "export/512 spans a post, JSON";
const EXPORT_ATTRIBUTES: &str = "export/512 spans a post, protobuf, 10 more attributes each";

/// One micro-benchmark's result, from criterion's `estimates.json`.
struct Operation {
    name: String,
    /// The median time per iteration, and its 95% confidence interval, in nanoseconds.
    median: f64,
    interval: (f64, f64),
    /// The spans one iteration handles (criterion's throughput), for the export benchmarks.
    spans: Option<u64>,
}

impl Operation {
    /// The median time per span, in nanoseconds.
    fn per_span(&self) -> f64 {
        self.median / self.spans.unwrap_or(1).max(1) as f64
    }
}

/// Each operation by name; an error names one that `benches/per_request.rs` no longer has.
fn find<'a>(operations: &'a [Operation], name: &str) -> Result<&'a Operation, String> {
    operations
        .iter()
        .find(|operation| operation.name == name)
        .ok_or_else(|| format!("no micro-benchmark named {name:?} in benches/per_request.rs"))
}

/// Runs `benches/per_request.rs` with criterion, and reads back its estimates.
fn micro_benchmarks(size: Size) -> Result<Vec<Operation>, String> {
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
fn read_estimates(home: &Path) -> Result<BTreeMap<String, Operation>, String> {
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
fn duration_text(nanoseconds: f64) -> String {
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

fn report_operations(operations: &[Operation]) -> String {
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

fn report_exports(operations: &[Operation]) -> String {
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
fn where_the_time_goes(operations: &[Operation], under_load: &UnderLoad) -> Result<String, String> {
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
    let batch_threads = |figures: &Figures| {
        nanoseconds(figures.batch_cpu_per_request(0) + figures.batch_cpu_per_request(1))
    };
    let batch_added = batch_threads(traced) - batch_threads(untraced);
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
         | Of which on the two services' batch processor threads | {} |\n\n",
        duration_text(on_the_path),
        duration_text(exporting),
        duration_text(on_the_path + exporting),
        signed(cpu_added),
        signed(batch_added),
    ))
}

/// What each lever changes, per span, on the request's path and off it.
fn levers(operations: &[Operation]) -> Result<String, String> {
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
            "Protocol (`OTEL_EXPORTER_OTLP_PROTOCOL`)",
            "`http/protobuf`",
            "`http/json`",
            unchanged,
            change(export, duration_text(off_path(EXPORT_JSON)?)),
        ),
    ];
    let mut text = String::from(
        "### What each lever buys\n\n\
         Each row changes one thing in step 07's set-up and keeps the rest: the time per span, \
         from the tables above, with step 07's set-up and then with the change.\n\n\
         | Lever | Step 07 | Changed to | On the request's path, per span | Off it, per span |\n\
         |---|---|---|--:|--:|\n",
    );
    for (lever, step, changed, on, off) in rows {
        let _ = writeln!(text, "| {lever} | {step} | {changed} | {on} | {off} |");
    }
    text.push('\n');
    Ok(text)
}

/// What building and testing the workspace takes.
struct Building {
    cold_build: Duration,
    /// The size of the cold build's target folder, in bytes.
    cold_build_bytes: u64,
    warm_tests: Duration,
    tests_passed: usize,
    /// Each crate compiled in more than one version, with its versions.
    duplicates: BTreeMap<String, Vec<String>>,
}

fn measure_building() -> Result<Building, String> {
    let target = process::target_dir()?;

    eprintln!("cargo tree -d");
    let tree = command_output(process::cargo().args([
        "tree",
        "--workspace",
        "--duplicates",
        "--depth",
        "0",
        "--prefix",
        "none",
    ]))?;
    let mut duplicates: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in tree.lines() {
        let mut words = line.split_whitespace();
        if let (Some(name), Some(version)) = (words.next(), words.next()) {
            let versions = duplicates.entry(name.to_owned()).or_default();
            if !versions.iter().any(|known| known == version) {
                versions.push(version.to_owned());
            }
        }
    }

    eprintln!("cargo test --workspace, built first, then timed");
    command_output(process::cargo().args(["test", "--workspace", "--no-run", "--quiet"]))?;
    let began = Instant::now();
    let output = process::cargo()
        .args(["test", "--workspace"])
        .stdin(Stdio::null())
        .output()
        .map_err(|error| format!("cannot run cargo test: {error}"))?;
    let warm_tests = began.elapsed();
    let printed = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "cargo test --workspace failed:\n{printed}\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let tests_passed = printed
        .lines()
        .filter_map(|line| line.strip_prefix("test result: ok. "))
        .filter_map(|rest| rest.split_whitespace().next()?.parse::<usize>().ok())
        .sum();

    eprintln!("cargo build --workspace, cold, into a target folder of its own");
    let folder = target.join("cost-cold-build");
    let _ = std::fs::remove_dir_all(&folder);
    let began = Instant::now();
    command_output(
        process::cargo()
            .args(["build", "--workspace", "--quiet", "--target-dir"])
            .arg(&folder),
    )?;
    let cold_build = began.elapsed();
    let cold_build_bytes = folder_size(&folder);
    let _ = std::fs::remove_dir_all(&folder);

    Ok(Building {
        cold_build,
        cold_build_bytes,
        warm_tests,
        tests_passed,
        duplicates,
    })
}

/// The bytes of every file under `folder`, each counted once however many names it has (cargo
/// links each program into two folders), as `du` counts them.
fn folder_size(folder: &Path) -> u64 {
    let mut seen = std::collections::HashSet::new();
    let mut folders = vec![folder.to_path_buf()];
    let mut bytes = 0;
    while let Some(folder) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let Ok(metadata) = entry.metadata() else {
                continue;
            };
            if metadata.is_dir() {
                folders.push(entry.path());
            } else if metadata.is_file() && seen.insert(file_identity(&metadata, &entry.path())) {
                bytes += metadata.len();
            }
        }
    }
    bytes
}

/// What tells two names of one file apart from two files: the inode where there is one.
#[cfg(unix)]
fn file_identity(metadata: &std::fs::Metadata, _path: &Path) -> (u64, u64, PathBuf) {
    use std::os::unix::fs::MetadataExt;
    (metadata.dev(), metadata.ino(), PathBuf::new())
}

#[cfg(not(unix))]
fn file_identity(_metadata: &std::fs::Metadata, path: &Path) -> (u64, u64, PathBuf) {
    (0, 0, path.to_path_buf())
}

impl Building {
    fn report(&self) -> String {
        let twice: Vec<String> = self
            .duplicates
            .iter()
            .map(|(name, versions)| format!("{name} ({})", versions.join(", ")))
            .collect();
        format!(
            "### Building\n\n\
             | | |\n|---|---|\n\
             | Cold `cargo build --workspace`, crates already downloaded | {:.0} s; the target \
             folder then holds {:.1} GB |\n\
             | Warm `cargo test --workspace` | {:.0} s, {} tests passed |\n\
             | `cargo tree -d`: crates built in two versions | {}: {} |\n\n",
            self.cold_build.as_secs_f64(),
            self.cold_build_bytes as f64 / 1e9,
            self.warm_tests.as_secs_f64(),
            self.tests_passed,
            self.duplicates.len(),
            twice.join(", "),
        )
    }
}

fn targets(under_load: &UnderLoad, building: &Building) -> String {
    let met = |met: bool| if met { "yes" } else { "no" };
    let ratio = under_load.throughput_ratio();
    let p99_added = under_load.p99_added() * 1e3;
    let largest = under_load.largest_peak_kib();
    let largest_mib = largest.map_or(f64::NAN, |kib| kib as f64 / 1024.0);
    let rows = [
        (
            format!("Traced throughput at least 0.95 of untraced, at concurrency {CONCURRENCY}"),
            format!("{ratio:.3}"),
            ratio >= 0.95,
        ),
        (
            "p99 latency added at most 0.25 ms".to_owned(),
            format!("{p99_added:+.2} ms"),
            p99_added <= 0.25,
        ),
        (
            "Each service under load below 30 MiB resident".to_owned(),
            format!("largest: {largest_mib:.1} MiB"),
            largest_mib < 30.0,
        ),
        (
            "Cold `cargo build --workspace` at most 100 s".to_owned(),
            format!("{:.0} s", building.cold_build.as_secs_f64()),
            building.cold_build <= Duration::from_secs(100),
        ),
        (
            "Warm `cargo test --workspace` at most 60 s".to_owned(),
            format!("{:.0} s", building.warm_tests.as_secs_f64()),
            building.warm_tests <= Duration::from_secs(60),
        ),
    ];
    let mut text = String::from(
        "### Targets\n\n\
         The workshop's own targets for this benchmark, set by its maintainers: what this run \
         measured against each.\n\n\
         | Target | Measured | Met |\n|---|--:|---|\n",
    );
    for (target, measured, reached) in rows {
        let _ = writeln!(text, "| {target} | {measured} | {} |", met(reached));
    }
    text
}
