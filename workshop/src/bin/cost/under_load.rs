//! Under load: the untraced pair and the traced ones side by side, in alternating rounds.

use std::{fmt::Write as _, sync::atomic::AtomicUsize, time::Duration};

use workshop::{
    load::{self, Answers},
    process::Pair,
    steps::Step,
};

use crate::{
    BATCH_THREAD, CONCURRENCY, Size, added_microseconds, added_milliseconds, mebibytes,
    microseconds, milliseconds, thousands, unknown,
};

/// One pair under load, and what it got so far.
pub(crate) struct Running {
    step: &'static Step,
    pair: Pair,
    client: reqwest::Client,
    figures: Figures,
}

/// What one pair got under load.
pub(crate) struct Figures {
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
    pub(crate) async fn start(step: &'static Step) -> Result<Self, String> {
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

    pub(crate) async fn send(&mut self, count: usize) -> Result<Answers, String> {
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
    pub(crate) fn cpu_now(&self) -> Result<[[Duration; 2]; 2], String> {
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

    pub(crate) async fn round(&mut self, requests: usize) -> Result<(), String> {
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
    pub(crate) async fn stop(self) -> Result<Figures, String> {
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
    pub(crate) fn cpu_per_request(&self, service: usize) -> Duration {
        self.per_request(self.cpu[service])
    }

    pub(crate) fn batch_cpu_per_request(&self, service: usize) -> Duration {
        self.per_request(self.batch_cpu[service])
    }

    pub(crate) fn per_request(&self, total: Duration) -> Duration {
        let requests = u32::try_from(self.answers.sent().max(1)).unwrap_or(u32::MAX);
        total / requests
    }

    pub(crate) fn cpu_per_request_total(&self) -> Duration {
        self.cpu_per_request(0) + self.cpu_per_request(1)
    }
}

/// Both pairs, measured.
pub(crate) struct UnderLoad {
    pub(crate) untraced: Figures,
    pub(crate) traced: Figures,
}

pub(crate) async fn measure_load(
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
pub(crate) fn spans_per_request(step: &Step) -> usize {
    step.trace
        .lines()
        .filter(|line| !line.trim_start().starts_with("event:"))
        .count()
}

impl UnderLoad {
    pub(crate) fn report(&self, size: Size, untraced_step: &Step, traced_step: &Step) -> String {
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

    pub(crate) fn throughput_ratio(&self) -> f64 {
        self.traced.answers.per_second() / self.untraced.answers.per_second().max(f64::MIN_POSITIVE)
    }

    pub(crate) fn p99_added(&self) -> f64 {
        let (before, after) = (
            self.untraced.answers.latency(0.99),
            self.traced.answers.latency(0.99),
        );
        after.as_secs_f64() - before.as_secs_f64()
    }

    /// The largest peak resident memory of the four programs, in KiB.
    pub(crate) fn largest_peak_kib(&self) -> Option<u64> {
        let peaks = self.untraced.peak_kib.iter().chain(&self.traced.peak_kib);
        peaks
            .copied()
            .collect::<Option<Vec<u64>>>()?
            .into_iter()
            .max()
    }
}
