//! A shutdown that says what was lost, within its time. The SDK's (0.33.1) reports `Ok` when
//! the endpoint refused the last batch or was not there at all, knows nothing of batches that
//! failed earlier, and the meter provider's waits 5 s for its last export whatever time it is
//! given. [`Delivery`] wraps an exporter and counts what it is handed and what became of it;
//! [`shut_down_providers`] runs each provider's shutdown on a thread of its own, stops waiting
//! when the time is up, and says how much of each signal was not delivered, with exit code 1.

use std::{
    fmt,
    process::ExitCode,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use opentelemetry_sdk::{
    Resource,
    error::OTelSdkResult,
    trace::{SpanData, SpanExporter},
};
use tokio::sync::oneshot;

use crate::Signal;

/// What was handed to one signal's exporter, and what became of it: one exporter per signal
/// per program, so counted once for the process.
struct Counts {
    handed: AtomicU64,
    delivered: AtomicU64,
    failed: AtomicU64,
    last_failure: Mutex<String>,
}

static SPANS: Counts = Counts::new();
/// Each a snapshot of every metric.
static METRIC_EXPORTS: Counts = Counts::new();
static LOG_RECORDS: Counts = Counts::new();

impl Counts {
    const fn new() -> Counts {
        Counts {
            handed: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            last_failure: Mutex::new(String::new()),
        }
    }

    fn of(signal: Signal) -> &'static Counts {
        match signal {
            Signal::Traces => &SPANS,
            Signal::Metrics => &METRIC_EXPORTS,
            Signal::Logs => &LOG_RECORDS,
        }
    }

    /// How many failed, how many were handed over and neither delivered nor failed (still
    /// being sent), and why the last export failed.
    fn undelivered(&self) -> (u64, u64, String) {
        let failed = self.failed.load(Ordering::Relaxed);
        let delivered = self.delivered.load(Ordering::Relaxed);
        let sending = self
            .handed
            .load(Ordering::Relaxed)
            .saturating_sub(delivered + failed);
        let why = self
            .last_failure
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        (failed, sending, why)
    }
}

/// `count` of what `signal`'s exporter is handed: `2 spans`, `1 export of metrics`.
fn units(signal: Signal, count: u64) -> String {
    let (one, many) = match signal {
        Signal::Traces => ("span", "spans"),
        Signal::Metrics => ("export of metrics", "exports of metrics"),
        Signal::Logs => ("log record", "log records"),
    };
    format!("{count} {}", if count == 1 { one } else { many })
}

// ANCHOR: delivery
/// A span exporter that counts what it is handed and what became of it, for
/// [`shut_down_providers`] to report: wrap the stock exporter,
/// `.with_batch_exporter(Delivery(exporter))`. (The same wrapper serves a log or metric
/// exporter, with its traits; the hardened backend sends spans only.)
#[derive(Debug)]
pub struct Delivery<E>(pub E);

/// Counts `count` things handed to `signal`'s exporter, exports them, and counts the outcome.
async fn counted(
    signal: Signal,
    count: usize,
    export: impl Future<Output = OTelSdkResult>,
) -> OTelSdkResult {
    let counts = Counts::of(signal);
    counts.handed.fetch_add(count as u64, Ordering::Relaxed);
    let exported = export.await;
    match &exported {
        Ok(()) => {
            counts.delivered.fetch_add(count as u64, Ordering::Relaxed);
        }
        Err(error) => {
            counts.failed.fetch_add(count as u64, Ordering::Relaxed);
            *counts
                .last_failure
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()) = error.to_string();
        }
    }
    exported
}
// ANCHOR_END: delivery

impl<E: SpanExporter> SpanExporter for Delivery<E> {
    async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
        counted(Signal::Traces, batch.len(), self.0.export(batch)).await
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.0.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.0.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.0.set_resource(resource);
    }
}

/// One provider's shutdown, for [`shut_down_providers`]: what it sends, and how to shut it
/// down given the time left.
pub struct Shutdown {
    signal: Signal,
    run: Box<dyn FnOnce(Duration) -> Result<(), String> + Send>,
}

impl Shutdown {
    /// `shutdown` is given the time left: `move |time_left|
    /// provider.shutdown_with_timeout(time_left)`.
    pub fn new<E: fmt::Display>(
        signal: Signal,
        shutdown: impl FnOnce(Duration) -> Result<(), E> + Send + 'static,
    ) -> Shutdown {
        Shutdown {
            signal,
            run: Box::new(move |time_left| shutdown(time_left).map_err(|error| error.to_string())),
        }
    }
}

// ANCHOR: shut_down_providers
/// Runs the providers' shutdowns at once, each on a thread of its own (they block until their
/// last export is done, and the meter provider's waits 5 s whatever it is told), and waits for
/// them no longer than `time_left`: a shutdown still running then is left behind.
///
/// Exit code 1, and a line for each signal that says how much was not delivered and why, when
/// something was not: its shutdown failed or ran out of time, or an export failed (counted by
/// [`Delivery`], whenever it was).
pub async fn shut_down_providers(shutdowns: Vec<Shutdown>, time_left: Duration) -> ExitCode {
    let deadline = tokio::time::Instant::now() + time_left;
    let mut running = Vec::new();
    for Shutdown { signal, run } in shutdowns {
        let (done, outcome) = oneshot::channel();
        // Not the runtime's blocking pool: the runtime waits for those as it ends, and a
        // shutdown that overruns must not hold the program up.
        let started = std::thread::Builder::new()
            .name(format!("shutdown of {}", signal.what()))
            .spawn(move || {
                let _ = done.send(run(time_left));
            });
        running.push((signal, started.map(|_| outcome)));
    }
    let mut exit_code = ExitCode::SUCCESS;
    for (signal, started) in running {
        let outcome = match started {
            Err(error) => Err(format!("cannot start its shutdown: {error}")),
            Ok(outcome) => match tokio::time::timeout_at(deadline, outcome).await {
                Ok(Ok(outcome)) => outcome,
                Ok(Err(_)) => Err("its shutdown failed".to_owned()),
                Err(_) => Err(format!(
                    "its shutdown did not finish within the {} s left",
                    time_left.as_secs()
                )),
            },
        };
        let (failed, sending, why) = Counts::of(signal).undelivered();
        let line = match (outcome, failed + sending) {
            (Ok(()), 0) => continue,
            (Ok(()), lost) => format!("{} not delivered: {why}", units(signal, lost)),
            (Err(error), 0) => format!("{} may have been lost: {error}", signal.what()),
            // Its shutdown failed because an export did (the meter provider's says so).
            (Err(error), lost) if sending == 0 => format!(
                "{} not delivered: {why} (its shutdown: {error})",
                units(signal, lost)
            ),
            (Err(error), lost) => format!(
                "at least {} not delivered ({} still being sent when the shutdown ended): \
                 {error}{}",
                units(signal, lost),
                units(signal, sending),
                match why.is_empty() {
                    true => String::new(),
                    false => format!("; the last failure: {why}"),
                }
            ),
        };
        eprintln!("error: {line}");
        exit_code = ExitCode::FAILURE;
    }
    exit_code
}
// ANCHOR_END: shut_down_providers
