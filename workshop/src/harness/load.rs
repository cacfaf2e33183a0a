//! Load for the steps' programs: a burst of `GET` requests, so many at a time, every answer's
//! status counted and its latency recorded in a histogram (the `histogram` crate, of the
//! HdrHistogram kind: every value to within 0.2%, in a few hundred kilobytes).
//! `tests/load.rs` and the cost benchmark (`--bin cost`) send their load with it.

use std::{
    collections::BTreeMap,
    sync::atomic::{AtomicUsize, Ordering},
    time::{Duration, Instant},
};

use futures_util::{StreamExt, stream};
use histogram::Histogram;

/// The longest latency recorded as itself; longer ones are recorded as this.
const LONGEST: Duration = Duration::from_secs(60);

/// What a burst of requests got.
#[derive(Debug, Clone)]
pub struct Answers {
    /// How many got each status; 0 counts the requests that got no answer at all.
    pub by_status: BTreeMap<u16, usize>,
    /// The latency of every answered request, in nanoseconds.
    pub latencies: Histogram,
    /// How many requests were answered (with any status).
    pub answered: usize,
    /// From the first request sent to the last answer read.
    pub elapsed: Duration,
}

impl Default for Answers {
    fn default() -> Self {
        Self {
            by_status: BTreeMap::new(),
            latencies: empty_histogram(),
            answered: 0,
            elapsed: Duration::ZERO,
        }
    }
}

fn empty_histogram() -> Histogram {
    // Buckets 2^-9 (0.2%) wide, for values up to 2^36 ns (68 s, above `LONGEST`).
    Histogram::new(9, 36).expect("9 and 36 are a valid grouping power and largest power")
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

impl Answers {
    /// How many requests were sent.
    pub fn sent(&self) -> usize {
        self.by_status.values().sum()
    }

    /// How many were answered `200 OK`.
    pub fn ok(&self) -> usize {
        self.by_status.get(&200).copied().unwrap_or(0)
    }

    /// Answered requests per second.
    pub fn per_second(&self) -> f64 {
        self.answered as f64 / self.elapsed.as_secs_f64().max(f64::MIN_POSITIVE)
    }

    /// The latency `quantile` (0.99 for p99) of the answered requests: the top of the 0.2%
    /// wide bucket it falls in. Zero when none was answered.
    pub fn latency(&self, quantile: f64) -> Duration {
        let bucket = self.latencies.quantile_bucket(quantile).ok().flatten();
        Duration::from_nanos(bucket.map_or(0, |bucket| bucket.end()))
    }

    /// Adds another burst's answers to these, as if they had been one burst.
    pub fn add(&mut self, other: &Answers) {
        for (status, count) in &other.by_status {
            *self.by_status.entry(*status).or_insert(0) += count;
        }
        // Both histograms have the same configuration, so their buckets match.
        let _ = self.latencies.checked_add_assign(&other.latencies);
        self.answered += other.answered;
        self.elapsed += other.elapsed;
    }

    pub fn describe(&self) -> String {
        format!(
            "answers by status {:?}; latency p50 {:.2?}, p99 {:.2?}",
            self.by_status,
            self.latency(0.50),
            self.latency(0.99)
        )
    }
}

/// A client for load: no proxy from the environment, connections kept and reused.
pub fn client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .no_proxy()
        .build()
        .map_err(|error| format!("cannot build an HTTP client: {error}"))
}

/// Sends `count` requests to `url` with `client`, `concurrency` at a time, reading each whole
/// answer as a real client does, and counting the answered ones in `answered` as they come.
pub async fn send(
    client: &reqwest::Client,
    url: &str,
    count: usize,
    concurrency: usize,
    answered: &AtomicUsize,
) -> Answers {
    let began = Instant::now();
    let results: Vec<(u16, Duration)> = stream::iter(0..count)
        .map(|_| async move {
            let sent = Instant::now();
            match client.get(url).send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let _ = response.bytes().await;
                    answered.fetch_add(1, Ordering::Relaxed);
                    (status, sent.elapsed())
                }
                Err(_) => (0, sent.elapsed()),
            }
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let mut answers = Answers {
        elapsed: began.elapsed(),
        ..Answers::default()
    };
    for (status, latency) in results {
        *answers.by_status.entry(status).or_insert(0) += 1;
        if status != 0 {
            // Below the histogram's largest value, so it is recorded.
            let _ = answers.latencies.increment(nanos(latency.min(LONGEST)));
            answers.answered += 1;
        }
    }
    answers
}
