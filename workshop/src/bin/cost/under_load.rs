//! Under load: the untraced pair, the traced one, and the traced one with one lever changed, side
//! by side in alternating rounds; then the untraced and the traced pair again, at a higher
//! concurrency, for their memory.

use std::{collections::HashMap, fmt::Write as _, sync::atomic::AtomicUsize, time::Duration};

use workshop::{
    harness::load::{self, Answers},
    harness::process::{Exited, Pair},
    spans,
    steps::{self, Step},
};

use crate::{
    BATCH_THREAD, CONCURRENCY, EXPORT_THREAD, HIGH_CONCURRENCY, OTHER_SIGNAL_THREADS, Size,
    added_microseconds, added_milliseconds, mebibytes, microseconds, milliseconds, thousands,
    unknown,
};

/// One set-up measured: a step's programs, and the variables that change them.
#[derive(Debug)]
pub(crate) struct Setup {
    /// The step's number.
    pub(crate) step: &'static str,
    /// What it is, for the tables.
    pub(crate) name: &'static str,
    /// Variables both programs get: the lever.
    pub(crate) env: &'static [(&'static str, &'static str)],
    /// Which requests it traces: what the spans received are checked against.
    pub(crate) kept: Kept,
}

/// Which requests a set-up traces.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Kept {
    None,
    Every,
    /// About this fraction of them, as a ratio sampler keeps them.
    Fraction(f64),
}

impl Setup {
    pub(crate) fn step(&self) -> Result<&'static Step, String> {
        steps::find(self.step).ok_or_else(|| format!("there is no step {}", self.step))
    }

    /// The variables it sets, as a reader would type them.
    pub(crate) fn changes(&self) -> String {
        let set: Vec<String> = self
            .env
            .iter()
            .map(|(name, value)| format!("`{name}={value}`"))
            .collect();
        match set.is_empty() {
            true => "–".to_owned(),
            false => set.join(", "),
        }
    }
}

/// Step 01: no tracing at all.
pub(crate) const UNTRACED: Setup = Setup {
    step: "01",
    name: "Step 01, untraced",
    env: &[],
    kept: Kept::None,
};

/// Step 07 as its chapter builds it: the post's three spans per request, always on, batched,
/// over OTLP/HTTP with protobuf (later steps add the HTTP client's own spans).
pub(crate) const TRACED: Setup = Setup {
    step: "07",
    name: "Step 07, as its chapter builds it",
    env: &[],
    kept: Kept::Every,
};

/// The levers: each changes one thing, by the variable that changes it. The batch processor's
/// sizes and the protocol on step 07; the sampler on step 09, the step that reads
/// `OTEL_TRACES_SAMPLER` (it also traces the HTTP client: up to three more spans a request).
pub(crate) const LEVERS: [Setup; 5] = [
    Setup {
        step: "07",
        name: "Step 07, batches of 2,048 spans",
        env: &[
            ("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "2048"),
            ("OTEL_BSP_MAX_QUEUE_SIZE", "8192"),
        ],
        kept: Kept::Every,
    },
    Setup {
        step: "07",
        name: "Step 07, batches of 64 spans",
        env: &[("OTEL_BSP_MAX_EXPORT_BATCH_SIZE", "64")],
        kept: Kept::Every,
    },
    Setup {
        step: "09",
        name: "Step 09, always on",
        env: &[("OTEL_TRACES_SAMPLER", "always_on")],
        kept: Kept::Every,
    },
    Setup {
        step: "09",
        name: "Step 09, parent-based 10%",
        env: &[
            ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
            ("OTEL_TRACES_SAMPLER_ARG", "0.1"),
        ],
        kept: Kept::Fraction(0.1),
    },
    Setup {
        step: "09",
        name: "Step 09, always off",
        env: &[("OTEL_TRACES_SAMPLER", "always_off")],
        kept: Kept::None,
    },
];

/// The signals, one added at a time, on the step that adds it: step 10 (the `tracing` crate,
/// traces only, the base of the next two), step 11 (and metrics), step 12 (and log records).
/// The metrics are exported every minute, so within a round only their recording counts.
pub(crate) const SIGNALS: [Setup; 3] = [
    Setup {
        step: "10",
        name: "Step 10, traces",
        env: &[],
        kept: Kept::Every,
    },
    Setup {
        step: "11",
        name: "Step 11, traces and metrics",
        env: &[],
        kept: Kept::Every,
    },
    Setup {
        step: "12",
        name: "Step 12, traces, metrics and log records",
        env: &[],
        kept: Kept::Every,
    },
];

/// A span only a request on a new connection makes (steps 08 on trace the HTTP client's
/// connecting): a trace without it is whole too.
const ONLY_ON_A_NEW_CONNECTION: &str = "connect";

/// One pair under load, and what it got so far.
struct Running {
    setup: &'static Setup,
    pair: Pair,
    client: reqwest::Client,
    concurrency: usize,
    figures: Figures,
}

/// What one pair got under load.
pub(crate) struct Figures {
    pub(crate) setup: &'static Setup,
    /// The measured rounds' answers, as if they had been one burst.
    pub(crate) answers: Answers,
    /// Each measured round's requests per second.
    round_rates: Vec<f64>,
    /// CPU time the frontend and the backend used during the measured rounds.
    cpu: [Duration; 2],
    /// The part of it used by the export path's threads: the batch span processor's and the
    /// OTLP transport's.
    export_cpu: [Duration; 2],
    /// Every request sent, warm-up included: every traced one's spans must arrive.
    pub(crate) sent: usize,
    /// Peak resident memory of the frontend and the backend, in KiB.
    pub(crate) peak_kib: [Option<u64>; 2],
    /// Resident memory of the frontend and the backend after each measured round, in KiB.
    resident_by_round: Vec<[Option<u64>; 2]>,
    /// The spans the two programs exported (for a traced pair), and the traces they make.
    pub(crate) spans_received: usize,
    pub(crate) traces_received: usize,
    /// The spans the two programs' SDKs dropped, their queue full.
    pub(crate) dropped: u64,
}

impl Running {
    async fn start(setup: &'static Setup, concurrency: usize) -> Result<Self, String> {
        Ok(Self {
            setup,
            pair: Pair::start_with(setup.step()?, setup.env, &[]).await?,
            client: load::client()?,
            concurrency,
            figures: Figures {
                setup,
                answers: Answers::default(),
                round_rates: Vec::new(),
                cpu: [Duration::ZERO; 2],
                export_cpu: [Duration::ZERO; 2],
                sent: 0,
                peak_kib: [None; 2],
                resident_by_round: Vec::new(),
                spans_received: 0,
                traces_received: 0,
                dropped: 0,
            },
        })
    }

    async fn send(&mut self, count: usize) -> Result<Answers, String> {
        let url = self.pair.frontend.url();
        self.figures.sent += count;
        let answers = load::send(
            &self.client,
            &url,
            count,
            self.concurrency,
            &AtomicUsize::new(0),
        )
        .await;
        match answers.ok() == count {
            true => Ok(answers),
            false => Err(format!(
                "{}: not every request was answered 200: {}",
                self.setup.name,
                answers.describe()
            )),
        }
    }

    /// The CPU time the frontend and the backend have used so far: all their threads, then
    /// their export path's threads.
    fn cpu_now(&self) -> Result<[[Duration; 2]; 2], String> {
        let services = [&self.pair.frontend, &self.pair.backend];
        let unreadable = "cannot read a program's CPU time from /proc (Linux only)";
        let mut now = [[Duration::ZERO; 2]; 2];
        for (index, service) in services.into_iter().enumerate() {
            now[0][index] = service.cpu_time().ok_or(unreadable)?;
            let [metrics, logs] = OTHER_SIGNAL_THREADS;
            for thread in [BATCH_THREAD, metrics, logs, EXPORT_THREAD] {
                now[1][index] += service.cpu_time_of_threads(thread).ok_or(unreadable)?;
            }
        }
        Ok(now)
    }

    async fn round(&mut self, requests: usize) -> Result<(), String> {
        let [before, export_before] = self.cpu_now()?;
        let answers = self.send(requests).await?;
        let [after, export_after] = self.cpu_now()?;
        let figures = &mut self.figures;
        for service in 0..2 {
            figures.cpu[service] += after[service].saturating_sub(before[service]);
            figures.export_cpu[service] +=
                export_after[service].saturating_sub(export_before[service]);
        }
        figures.round_rates.push(answers.per_second());
        figures.answers.add(&answers);
        figures.resident_by_round.push([
            self.pair.frontend.resident_kib(),
            self.pair.backend.resident_kib(),
        ]);
        Ok(())
    }

    /// Stops both programs with SIGTERM, so that a traced pair exports its last spans, and
    /// checks that every span the set-up keeps arrived, in whole traces.
    async fn stop(self) -> Result<Figures, String> {
        let mut figures = self.figures;
        let setup = self.setup;
        figures.peak_kib = [
            self.pair.frontend.peak_resident_kib(),
            self.pair.backend.peak_resident_kib(),
        ];
        let step = setup.step()?;
        let (frontend, backend) = self.pair.stop().await?;
        for exited in [&frontend, &backend] {
            if !exited.status.success() {
                return Err(format!(
                    "{}: a program exited with {}; stderr:\n{}",
                    setup.name, exited.status, exited.stderr
                ));
            }
        }
        figures.dropped = frontend.spans_dropped() + backend.spans_dropped();
        let (spans, traces) = whole_traces(step, setup, frontend, backend)?;
        figures.spans_received = spans;
        figures.traces_received = traces;
        let expected_traces = match setup.kept {
            Kept::None => Some(0),
            Kept::Every => Some(figures.sent),
            Kept::Fraction(_) => None,
        };
        if let Some(expected) = expected_traces {
            if traces != expected {
                return Err(format!(
                    "{}: {traces} traces received for {} requests; expected {expected}",
                    setup.name, figures.sent
                ));
            }
        }
        if let Kept::Fraction(fraction) = setup.kept {
            // A ratio sampler keeps each trace by its random id: the count is binomial.
            let mean = fraction * figures.sent as f64;
            let deviation = (mean * (1.0 - fraction)).sqrt();
            if (traces as f64 - mean).abs() > 5.0 * deviation + 1.0 {
                return Err(format!(
                    "{}: {traces} traces of {} requests; expected about {mean:.0}",
                    setup.name, figures.sent
                ));
            }
        }
        // Every span of every kept request: a set-up that dropped some would look cheaper.
        if step.otlp && setup.kept == Kept::Every && !step.trace.contains(ONLY_ON_A_NEW_CONNECTION)
        {
            let expected = spans_per_request(step) * figures.sent;
            if spans != expected {
                return Err(format!(
                    "{}: {spans} spans for {} requests; expected {expected}",
                    setup.name, figures.sent
                ));
            }
        }
        if figures.dropped > 0 {
            return Err(format!(
                "{}: the SDK dropped {} spans, its queue full",
                setup.name, figures.dropped
            ));
        }
        Ok(figures)
    }
}

/// The spans the two programs exported and the traces they make, each trace checked whole:
/// the step's outline, but for a span only a new connection makes.
fn whole_traces(
    step: &Step,
    setup: &Setup,
    frontend: Exited,
    backend: Exited,
) -> Result<(usize, usize), String> {
    let (Some(frontend_spans), Some(backend_spans)) = (frontend.sent, backend.sent) else {
        return Ok((0, 0));
    };
    let spans = frontend_spans.len() + backend_spans.len();
    let mut by_trace: HashMap<_, Vec<_>> = HashMap::new();
    for span in frontend_spans.into_iter().chain(backend_spans) {
        by_trace.entry(span.trace_id).or_default().push(span);
    }
    let without_connecting: String = step
        .trace
        .lines()
        .filter(|line| !line.contains(&format!(": {ONLY_ON_A_NEW_CONNECTION} (")))
        .map(|line| format!("{line}\n"))
        .collect();
    for trace in by_trace.values() {
        let outline = spans::outline(trace);
        if outline != step.trace && outline != without_connecting {
            return Err(format!(
                "{}: a trace is not whole; it has\n{outline}\nexpected\n{}",
                setup.name, step.trace
            ));
        }
    }
    Ok((spans, by_trace.len()))
}

impl Figures {
    fn per_request(&self, total: Duration) -> Duration {
        let requests = u32::try_from(self.answers.sent().max(1)).unwrap_or(u32::MAX);
        total / requests
    }

    pub(crate) fn cpu_per_request(&self, service: usize) -> Duration {
        self.per_request(self.cpu[service])
    }

    pub(crate) fn export_cpu_per_request(&self, service: usize) -> Duration {
        self.per_request(self.export_cpu[service])
    }

    pub(crate) fn cpu_per_request_total(&self) -> Duration {
        self.cpu_per_request(0) + self.cpu_per_request(1)
    }

    pub(crate) fn largest_peak_kib(&self) -> Option<u64> {
        self.peak_kib.iter().flatten().copied().max()
    }

    /// How much more resident memory each program held after the last measured round than
    /// after the first, in KiB.
    pub(crate) fn growth_kib(&self) -> [Option<i64>; 2] {
        let (Some(first), Some(last)) = (
            self.resident_by_round.first(),
            self.resident_by_round.last(),
        ) else {
            return [None; 2];
        };
        [0, 1].map(|service| match (first[service], last[service]) {
            (Some(first), Some(last)) => Some(last as i64 - first as i64),
            _ => None,
        })
    }
}

/// Every set-up, measured.
pub(crate) struct UnderLoad {
    pub(crate) untraced: Figures,
    pub(crate) traced: Figures,
    pub(crate) levers: Vec<Figures>,
    /// The untraced and the traced pair at [`HIGH_CONCURRENCY`].
    pub(crate) crowded: [Figures; 2],
}

/// Measures `setups` in alternating rounds at [`CONCURRENCY`]; their figures in that order.
async fn alternating(size: Size, setups: &[&'static Setup]) -> Result<Vec<Figures>, String> {
    let mut pairs = Vec::new();
    for setup in setups {
        pairs.push(Running::start(setup, CONCURRENCY).await?);
    }
    for pair in &mut pairs {
        pair.send(size.warm_up).await?;
    }
    let mut order: Vec<usize> = (0..pairs.len()).collect();
    for round in 0..size.rounds {
        // Forwards in even rounds, backwards in odd ones: none always goes first into
        // whatever the machine is doing.
        order.reverse();
        for &index in &order {
            let pair = &mut pairs[index];
            pair.round(size.requests_per_round).await?;
            eprintln!(
                "round {} of {}, {}: {:.0} requests/s",
                round + 1,
                size.rounds,
                pair.setup.name,
                pair.figures.round_rates.last().copied().unwrap_or_default()
            );
        }
    }
    let mut figures = Vec::new();
    for pair in pairs {
        figures.push(pair.stop().await?);
    }
    Ok(figures)
}

/// The untraced and the traced pair at [`HIGH_CONCURRENCY`], fresh, so that their peak memory
/// is this load's: the heaviest the benchmark makes.
async fn crowded(size: Size) -> Result<[Figures; 2], String> {
    let mut pairs = [
        Running::start(&UNTRACED, HIGH_CONCURRENCY).await?,
        Running::start(&TRACED, HIGH_CONCURRENCY).await?,
    ];
    for round in 0..size.crowded_rounds {
        for pair in pairs.iter_mut() {
            pair.round(size.requests_per_round).await?;
            eprintln!(
                "round {} of {} at {HIGH_CONCURRENCY}, {}: {:.0} requests/s",
                round + 1,
                size.crowded_rounds,
                pair.setup.name,
                pair.figures.round_rates.last().copied().unwrap_or_default()
            );
        }
    }
    let [untraced, traced] = pairs;
    Ok([untraced.stop().await?, traced.stop().await?])
}

pub(crate) async fn measure_load(size: Size) -> Result<UnderLoad, String> {
    let mut setups: Vec<&'static Setup> = vec![&UNTRACED, &TRACED];
    setups.extend(LEVERS.iter());
    setups.extend(SIGNALS.iter());
    let mut figures = alternating(size, &setups).await?.into_iter();
    let (Some(untraced), Some(traced)) = (figures.next(), figures.next()) else {
        return Err("no figures for the untraced and the traced pair".to_owned());
    };
    Ok(UnderLoad {
        untraced,
        traced,
        levers: figures.collect(),
        crowded: crowded(size).await?,
    })
}

/// How many spans one request's trace has (the lines of the step's outline that are not
/// events).
pub(crate) fn spans_per_request(step: &Step) -> usize {
    step.trace
        .lines()
        .filter(|line| !line.trim_start().starts_with("event:"))
        .count()
}

impl UnderLoad {
    /// The untraced pair against the traced one.
    pub(crate) fn report(&self, size: Size) -> Result<String, String> {
        let (untraced, traced) = (&self.untraced, &self.traced);
        let [crowded_untraced, crowded_traced] = &self.crowded;
        let (u, t) = (UNTRACED.step()?.number, TRACED.step()?.number);
        let mut text = format!(
            "### Under load\n\n\
             Step {u} (untraced) and step {t} (traced: batch processor, OTLP to a local \
             receiver), side by side with the set-ups of \"What each lever buys\" and \"What each \
             signal costs\" below. Each \
             got {warm_up} requests to warm up, then {rounds} rounds of {requests} requests, \
             {CONCURRENCY} at a time, in turn with the others. Then both again, fresh, for \
             {crowded_rounds} rounds at {HIGH_CONCURRENCY} at a time: the heaviest load here. \
             The load and the receiver run in the benchmark's own process, on the same cores \
             as the services.\n\n\
             | | Step {u}, untraced | Step {t}, traced | Traced against untraced |\n\
             |---|--:|--:|--:|\n",
            warm_up = thousands(size.warm_up as f64),
            rounds = size.rounds,
            requests = thousands(size.requests_per_round as f64),
            crowded_rounds = size.crowded_rounds,
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
            ratio(untraced, traced)
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
        let mut row = |label: String, before: String, after: String, added: String| {
            let _ = writeln!(text, "| {label} | {before} | {after} | {added} |");
        };
        for (label, service) in [("frontend", Some(0)), ("backend", Some(1)), ("both", None)] {
            let per_request = |figures: &Figures| match service {
                Some(service) => figures.cpu_per_request(service),
                None => figures.cpu_per_request_total(),
            };
            let (before, after) = (per_request(untraced), per_request(traced));
            row(
                format!("CPU per request, {label}"),
                microseconds(before),
                microseconds(after),
                added_microseconds(before, after),
            );
        }
        for (label, service) in [("frontend", 0), ("backend", 1)] {
            let (before, after) = (
                untraced.export_cpu_per_request(service),
                traced.export_cpu_per_request(service),
            );
            row(
                format!("Of which the {label}'s export path"),
                microseconds(before),
                microseconds(after),
                added_microseconds(before, after),
            );
        }
        for (figures, at) in [
            ([untraced, traced], CONCURRENCY),
            ([crowded_untraced, crowded_traced], HIGH_CONCURRENCY),
        ] {
            for (label, service) in [("frontend", 0), ("backend", 1)] {
                let (before, after) = (figures[0].peak_kib[service], figures[1].peak_kib[service]);
                row(
                    format!("Peak resident memory at {at} at a time, {label}"),
                    mebibytes(before),
                    mebibytes(after),
                    added_mebibytes(before, after),
                );
            }
        }
        for (label, service) in [("frontend", 0), ("backend", 1)] {
            let growth = |figures: &Figures| {
                figures.growth_kib()[service]
                    .map_or_else(unknown, |kib| format!("{:+.1} MiB", kib as f64 / 1024.0))
            };
            row(
                format!("Resident memory, last round against the first, {label}"),
                growth(untraced),
                growth(traced),
                "".to_owned(),
            );
        }
        let _ = writeln!(
            text,
            "\nEvery request was answered `200 OK`. The receiver got all {} spans of the traced \
             pair's {} requests, and all {} spans of its {} requests at {HIGH_CONCURRENCY} at \
             a time, each request's trace whole, and the SDKs dropped none ({} and {} \
             dropped). CPU time is read from \
             `/proc`, in 10 ms ticks, over each round; a service's export path is its batch \
             processor thread (`{BATCH_THREAD}`), which converts the spans to OTLP and \
             encodes them, and its `{EXPORT_THREAD}` thread, which sends them.\n",
            thousands(traced.spans_received as f64),
            thousands(traced.sent as f64),
            thousands(crowded_traced.spans_received as f64),
            thousands(crowded_traced.sent as f64),
            traced.dropped,
            crowded_traced.dropped,
        );
        Ok(text)
    }

    pub(crate) fn throughput_ratio(&self) -> f64 {
        ratio(&self.untraced, &self.traced)
    }

    pub(crate) fn p99_added(&self) -> f64 {
        p99_added(&self.untraced, &self.traced)
    }

    /// The largest peak resident memory of the programs at either concurrency, in KiB.
    pub(crate) fn largest_peak_kib(&self) -> Option<u64> {
        let all = [
            &self.untraced,
            &self.traced,
            &self.crowded[0],
            &self.crowded[1],
        ];
        all.iter()
            .filter_map(|figures| figures.largest_peak_kib())
            .max()
    }

    /// The most either traced program's resident memory grew from the first round to the last,
    /// in KiB.
    pub(crate) fn largest_growth_kib(&self) -> Option<i64> {
        self.traced.growth_kib().into_iter().flatten().max()
    }

    /// Every traced set-up measured: the traced pair, the levers, then the signals.
    pub(crate) fn traced_setups(&self) -> impl Iterator<Item = &Figures> {
        std::iter::once(&self.traced).chain(&self.levers)
    }

    /// The traced pair, then the levers.
    pub(crate) fn lever_setups(&self) -> impl Iterator<Item = &Figures> {
        self.traced_setups().take(1 + LEVERS.len())
    }

    /// The signals, one added at a time.
    pub(crate) fn signal_setups(&self) -> impl Iterator<Item = &Figures> {
        self.levers.iter().skip(LEVERS.len())
    }
}

/// Requests per second of `traced` against `untraced`'s, over the same rounds.
pub(crate) fn ratio(untraced: &Figures, traced: &Figures) -> f64 {
    traced.answers.per_second() / untraced.answers.per_second().max(f64::MIN_POSITIVE)
}

/// The p99 latency `traced` added to `untraced`'s, in seconds.
pub(crate) fn p99_added(untraced: &Figures, traced: &Figures) -> f64 {
    traced.answers.latency(0.99).as_secs_f64() - untraced.answers.latency(0.99).as_secs_f64()
}

fn added_mebibytes(before: Option<u64>, after: Option<u64>) -> String {
    match (before, after) {
        (Some(before), Some(after)) => {
            format!("{:+.1} MiB", (after as f64 - before as f64) / 1024.0)
        }
        _ => unknown(),
    }
}
