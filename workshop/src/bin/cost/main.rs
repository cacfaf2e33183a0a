//! `cargo run --release -p workshop --bin cost`: what tracing costs, measured on this machine.
//!
//! 1. Under load (`under_load.rs`): the untraced pair (step 01), the traced pair of step 07
//!    (batch processor, OTLP to a receiver in this program) and the levers' set-ups (step 07 or
//!    step 09 with one variable changed) run side by side; the same load goes to each in turn,
//!    in alternating rounds, so that whatever else the machine does hits all alike. For each:
//!    requests per second, latency percentiles, CPU time per request (and its export path's
//!    part), peak resident memory, and every kept request's trace received whole, with no span
//!    dropped. Then the untraced and the traced pair at a higher concurrency, for memory.
//! 2. Instructions (`instructions.rs`): each set-up again, under Valgrind's callgrind, for the
//!    exact instructions a request costs each program, on the request's path and on the export
//!    path. With part 1, what each lever buys (`levers.rs`).
//! 3. Per operation (`operations.rs`): the criterion micro-benchmarks in
//!    `workshop/benches/per_request.rs`, on the request's path (a span, the context) and off
//!    it (a batch exported over OTLP), each with step 07's set-up and with one lever changed.
//! 4. Building (`building.rs`): the workspace's cold build, its warm test run, and
//!    `cargo tree -d`.
//!
//! Last, the project's own targets, each with what this run measured and whether it met it.
//!
//! It prints the figures as Markdown and writes them to `book/src/generated/cost.md`, which the
//! book's chapter "What does tracing cost?" includes. `--short` runs every part quickly, to
//! check that it works (CI), and leaves the book's figures alone.

mod building;
mod callgrind;
mod instructions;
mod levers;
mod operations;
mod under_load;

use std::{
    fmt::Write as _,
    process::{ExitCode, Stdio},
    time::{Duration, Instant},
};

use workshop::{book, harness::process, steps};

use building::{Building, measure_building};
use operations::{
    levers, micro_benchmarks, report_exports, report_operations, where_the_time_goes,
};
use under_load::{LEVERS, SIGNALS, Setup, TRACED, UNTRACED, UnderLoad, measure_load};

const USAGE: &str = "usage: cargo run --release -p workshop --bin cost [-- --short]";

/// The concurrency the targets are set at.
const CONCURRENCY: usize = 32;
/// The heaviest load: for the programs' memory, and whether the SDK's queue holds.
const HIGH_CONCURRENCY: usize = 256;

/// The thread the SDK's batch span processor exports from: the export path's CPU time is
/// read from it, on the step's own programs.
const BATCH_THREAD: &str = "OpenTelemetry.Traces.BatchProcessor";
/// The thread of the OTLP exporter's blocking reqwest client, which sends what the batch
/// thread encoded: the export path's too.
const EXPORT_THREAD: &str = "reqwest-internal-sync-runtime";
/// The threads the SDK exports the other signals from (steps 11 and 12): the metrics' periodic
/// reader and the log records' batch processor. Their CPU time is the export path's too.
const OTHER_SIGNAL_THREADS: [&str; 2] = [
    "OpenTelemetry.Metrics.PeriodicReader",
    "OpenTelemetry.Logs.BatchProcessor",
];

/// How much of everything to do.
#[derive(Debug, Clone, Copy)]
struct Size {
    short: bool,
    /// Requests to each pair before measuring: connections made, caches warm.
    warm_up: usize,
    /// Measured rounds per pair.
    rounds: usize,
    requests_per_round: usize,
    /// Rounds for the untraced and the traced pair at [`HIGH_CONCURRENCY`].
    crowded_rounds: usize,
    /// Criterion's warm-up and measurement time per micro-benchmark, in seconds.
    bench_seconds: (&'static str, &'static str),
    /// Requests to each pair under callgrind before counting, and then counted.
    counted_warm_up: usize,
    counted_requests: usize,
}

const FULL: Size = Size {
    short: false,
    warm_up: 2_000,
    rounds: 10,
    requests_per_round: 30_000,
    crowded_rounds: 3,
    bench_seconds: ("1", "3"),
    counted_warm_up: 500,
    counted_requests: 2_000,
};

const SHORT: Size = Size {
    short: true,
    warm_up: 200,
    rounds: 2,
    requests_per_round: 500,
    crowded_rounds: 1,
    bench_seconds: ("0.1", "0.3"),
    counted_warm_up: 50,
    counted_requests: 200,
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
    // Step 07: the post's three spans per request, batched, over OTLP (the chapter's subject;
    // later steps add the HTTP client's own spans).
    let mut setups: Vec<&'static Setup> = vec![&UNTRACED, &TRACED];
    setups.extend(LEVERS.iter());
    setups.extend(SIGNALS.iter());
    let mut report = String::new();
    let began = Instant::now();

    eprintln!("==> Building the programs of every set-up");
    let mut programs = Vec::new();
    for setup in &setups {
        let step = setup.step()?;
        for program in [step.frontend(), step.backend()] {
            if !programs.contains(&program) {
                programs.push(program);
            }
        }
    }
    blocking(move || process::build(&programs, true)).await?;

    // Each part is printed as soon as it is measured, so that a later failure loses nothing.
    let mut print = |section: String| {
        println!("{section}");
        report.push_str(&section);
    };
    print(machine());

    eprintln!("==> Under load");
    let under_load = measure_load(size).await?;
    print(under_load.report(size)?);

    eprintln!("==> Instructions per request (callgrind)");
    let counted = instructions::count_all(size, &setups).await?;
    let of = |index: usize| counted.as_ref().map(|counted| counted[index]);
    print(instructions::report(
        size,
        [(&UNTRACED, of(0)), (&TRACED, of(1))],
    )?);
    print(levers::report(&under_load, counted.as_deref())?);
    print(levers::signals_report(&under_load, counted.as_deref())?);

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
        let path = steps::repository()
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
    git.current_dir(steps::repository());
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

fn targets(under_load: &UnderLoad, building: &Building) -> String {
    let met = |met: bool| if met { "yes" } else { "no" };
    let ratio = under_load.throughput_ratio();
    let p99_added = under_load.p99_added() * 1e3;
    let (untraced, traced) = (&under_load.untraced, &under_load.traced);
    let cpu_added = (traced.cpu_per_request_total().as_secs_f64()
        - untraced.cpu_per_request_total().as_secs_f64())
        * 1e6;
    let largest = under_load.largest_peak_kib();
    let largest_mib = largest.map_or(f64::NAN, |kib| kib as f64 / 1024.0);
    let growth_mib = under_load
        .largest_growth_kib()
        .map_or(f64::NAN, |kib| kib as f64 / 1024.0);
    let rows = [
        (
            format!("Traced throughput at least 0.90 of untraced, at {CONCURRENCY} at a time"),
            format!("{ratio:.3}"),
            ratio >= 0.90,
        ),
        (
            "The same, stretched: at least 0.95".to_owned(),
            format!("{ratio:.3}"),
            ratio >= 0.95,
        ),
        (
            "p99 latency added at most 0.25 ms".to_owned(),
            format!("{p99_added:+.2} ms"),
            p99_added <= 0.25,
        ),
        (
            "CPU added per request at most 6 µs, both programs".to_owned(),
            format!("{cpu_added:+.0} µs"),
            cpu_added <= 6.0,
        ),
        (
            format!("Each program below 30 MiB resident, up to {HIGH_CONCURRENCY} at a time"),
            format!("largest: {largest_mib:.1} MiB"),
            largest_mib < 30.0,
        ),
        (
            "A traced program's memory grows at most 1 MiB from the first round to the last"
                .to_owned(),
            format!("{growth_mib:+.1} MiB"),
            growth_mib <= 1.0,
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
