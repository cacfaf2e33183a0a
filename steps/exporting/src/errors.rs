//! What every exporting step does around its exporter: show the exporter's own errors, and shut
//! the tracer provider down without blocking the runtime the exporter needs. Nothing here names
//! an SDK type: step 06 uses it with the 0.32 SDK, the other steps with 0.33.

use std::{
    collections::HashMap,
    fmt::Display,
    process::ExitCode,
    sync::{LazyLock, Mutex},
    time::{Duration, Instant},
};

use tracing::{Level, Metadata};
use tracing_subscriber::{
    filter::{DynFilterFn, dynamic_filter_fn},
    layer,
};

/// The same warning is printed at most once in this long: an exporter that is down fails every
/// batch, and a line per failure would bury the program's log.
pub const WARNING_INTERVAL: Duration = Duration::from_secs(10);

/// When each warning was last printed, by where it comes from, and how many were held back
/// since.
static LAST_WARNED: LazyLock<Mutex<HashMap<&'static str, (Instant, u64)>>> =
    LazyLock::new(Mutex::default);

/// Whether the warning from `source` may be printed now, and how many like it were held back
/// since it last was.
fn may_warn(source: &'static str) -> Option<u64> {
    let mut last = LAST_WARNED
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let now = Instant::now();
    match last.get_mut(source) {
        Some((at, held_back)) if now.duration_since(*at) < WARNING_INTERVAL => {
            *held_back += 1;
            None
        }
        Some((at, held_back)) => {
            *at = now;
            Some(std::mem::take(held_back))
        }
        None => {
            last.insert(source, (now, 0));
            Some(0)
        }
    }
}

/// Prints `warning: {message}` on stderr, at most once per [`WARNING_INTERVAL`] for one
/// `source`, saying how many were held back.
// Step 06 prints only the SDK's warnings, through `print_exporter_errors`.
#[cfg_attr(not(feature = "otlp"), allow(dead_code))]
pub(crate) fn warn(source: &'static str, message: impl Display) {
    match may_warn(source) {
        Some(0) => eprintln!("warning: {message}"),
        Some(held_back) => eprintln!(
            "warning: {message} ({held_back} more like it in the last {} s)",
            WARNING_INTERVAL.as_secs()
        ),
        None => {}
    }
}

/// Prints the OpenTelemetry crates' own warnings and errors to stderr, each kind at most once
/// per [`WARNING_INTERVAL`]. Exporters report a failed export (a token refused, an API not
/// enabled on the project, the network gone) only through `tracing`: without a subscriber
/// nobody sees it, and the spans just never arrive. Other crates' diagnostics (gcp_auth's
/// retries, hyper's) stay off.
pub fn print_exporter_errors() {
    use tracing_subscriber::util::SubscriberInitExt;
    // Fails only if a subscriber is set already, which then prints these too.
    let _ = exporter_errors_subscriber().try_init();
}

/// The subscriber [`print_exporter_errors`] sets.
fn exporter_errors_subscriber() -> impl tracing::Subscriber + Send + Sync + 'static {
    use tracing_subscriber::{
        Layer,
        filter::{FilterExt, LevelFilter, Targets},
        layer::SubscriberExt,
    };
    // ANCHOR: filter
    let opentelemetry_warnings = Targets::new().with_target("opentelemetry", LevelFilter::WARN);
    let not_repeated = not_repeated().with_max_level_hint(LevelFilter::WARN);
    // `and` asks the targets first, and the dynamic filter only about what they let through.
    // That order, and the level hint, keep tracing cheap: every other crate's events
    // (hyper-util writes some on each request) and the SDK's debug events are then off where
    // they are written, at the cost of one comparison. Asked of the dynamic filter first, each
    // took a lock and a lookup: in a profile, a seventh of the frontend's tracing work.
    let to_stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .without_time()
        .with_filter(opentelemetry_warnings.and(not_repeated));
    // ANCHOR_END: filter
    tracing_subscriber::registry().with(to_stderr)
}

/// A filter that holds back an OpenTelemetry crate's warning or error when the same one (the
/// SDK's "export failed", say: `name` says where it is written) went through less than
/// [`WARNING_INTERVAL`] ago. Spans, less severe events and other crates' events go through. A
/// dynamic filter, asked at every event: a plain one is asked once per site.
pub fn not_repeated<S>() -> DynFilterFn<S, impl Fn(&Metadata<'_>, &layer::Context<'_, S>) -> bool> {
    dynamic_filter_fn(|metadata: &Metadata<'_>, _: &layer::Context<'_, S>| {
        !metadata.is_event()
            || !metadata.target().starts_with("opentelemetry")
            // Less severe than a warning (in `tracing`, the more verbose level is the greater).
            || *metadata.level() > Level::WARN
            || may_warn(metadata.name()).is_some()
    })
}

/// What became of what was handed to the exporters, as the OTLP steps' exporters count it
/// (`otlp::Delivery`): one exporter per signal per program, so counted once for the process.
pub(crate) mod delivery {
    use std::sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    };

    /// The counts of one signal.
    pub(crate) struct Counts {
        handed: AtomicU64,
        delivered: AtomicU64,
        failed: AtomicU64,
        last_failure: Mutex<String>,
    }

    impl Counts {
        const fn new() -> Counts {
            Counts {
                handed: AtomicU64::new(0),
                delivered: AtomicU64::new(0),
                failed: AtomicU64::new(0),
                last_failure: Mutex::new(String::new()),
            }
        }

        // Step 06 exports with the 0.32 SDK, without the counting exporter.
        #[cfg_attr(not(feature = "otlp"), allow(dead_code))]
        pub(crate) fn handed(&self, count: usize) {
            self.handed.fetch_add(count as u64, Ordering::Relaxed);
        }

        #[cfg_attr(not(feature = "otlp"), allow(dead_code))]
        pub(crate) fn delivered(&self, count: usize) {
            self.delivered.fetch_add(count as u64, Ordering::Relaxed);
        }

        #[cfg_attr(not(feature = "otlp"), allow(dead_code))]
        pub(crate) fn failed(&self, count: usize, why: String) {
            self.failed.fetch_add(count as u64, Ordering::Relaxed);
            *self
                .last_failure
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()) = why;
        }

        /// How many failed, how many were handed over and not yet delivered or failed (still
        /// being sent), and why the last export failed.
        pub(crate) fn undelivered(&self) -> (u64, u64, String) {
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

    /// Spans.
    pub(crate) static SPANS: Counts = Counts::new();
    /// Metric exports: each a snapshot of every metric (steps 11 on).
    #[cfg_attr(not(feature = "otlp"), allow(dead_code))]
    pub(crate) static METRIC_EXPORTS: Counts = Counts::new();
    /// Log records (step 12).
    #[cfg_attr(not(feature = "otlp"), allow(dead_code))]
    pub(crate) static LOG_RECORDS: Counts = Counts::new();
}

/// Runs a tracer provider's `shutdown` (`move |time_left| provider.shutdown_with_timeout
/// (time_left)`), given what is left of the shutdown's budget
/// ([`step_support::SHUTDOWN_BUDGET`]): its batch processor exports what is waiting. `shutdown`
/// blocks until the exporter is done, and the exporter may need the runtime's threads
/// meanwhile: so it runs on a thread set aside for blocking.
///
/// Exit code 1, and a line that says how many spans and why, when spans were not delivered:
/// the shutdown failed or ran out of time, or an export failed (the SDK's shutdown reports
/// neither a failed last export nor earlier ones; the OTLP steps' exporter counts them).
pub async fn shut_down_provider<E: Display + Send + 'static>(
    shutdown: impl FnOnce(Duration) -> Result<(), E> + Send + 'static,
) -> ExitCode {
    let time_left = step_support::shutdown_time_left();
    let outcome = match tokio::task::spawn_blocking(move || shutdown(time_left)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(error.to_string()),
        Err(panicked) => Err(format!("the shutdown failed: {panicked}")),
    };
    let (failed, sending, why) = delivery::SPANS.undelivered();
    let spans = |count: u64| match count {
        1 => "1 span".to_owned(),
        _ => format!("{count} spans"),
    };
    match outcome {
        Ok(()) if failed + sending == 0 => return ExitCode::SUCCESS,
        Ok(()) => eprintln!("error: {} not delivered: {why}", spans(failed + sending)),
        Err(error) if failed + sending == 0 => {
            eprintln!("error: spans may have been lost: {error}")
        }
        Err(error) => eprintln!(
            "error: at least {} not delivered ({} still being sent when the shutdown ended): \
             {error}{}",
            spans(failed + sending),
            spans(sending),
            match why.is_empty() {
                true => String::new(),
                false => format!("; the last failure: {why}"),
            }
        ),
    }
    ExitCode::FAILURE
}

#[cfg(test)]
mod tests {
    use tracing::{Level, Subscriber};
    use tracing_subscriber::filter::LevelFilter;

    #[test]
    fn only_the_opentelemetry_crates_warnings_are_looked_at() {
        let subscriber = super::exporter_errors_subscriber();
        // What tracing's macros check first, before calling anything (`LevelFilter::current()`,
        // the most any subscriber alive wants): nothing below a warning is wanted from anyone,
        // so debug and trace events cost one comparison. Other tests in this binary run
        // subscribers of their own, so this one's own hint is what is checked.
        assert_eq!(subscriber.max_level_hint(), Some(LevelFilter::WARN));
        tracing::subscriber::with_default(subscriber, || {
            // Other crates' events are off at their call sites, whatever their level.
            assert!(!tracing::enabled!(target: "hyper_util::client::legacy::pool", Level::ERROR));
            assert!(!tracing::enabled!(target: "opentelemetry_sdk", Level::INFO));
            assert!(tracing::enabled!(target: "opentelemetry_sdk", Level::WARN));
            assert!(tracing::enabled!(target: "opentelemetry_otlp", Level::ERROR));
        });
    }
}
