//! Instructions per request, counted by callgrind: exact, so that each lever's effect shows on a
//! noisy machine.

use std::{
    fmt::Write as _,
    sync::atomic::AtomicUsize,
    time::{Duration, Instant},
};

use workshop::harness::{
    load,
    process::{self, Pair, Service},
};

use crate::{
    CONCURRENCY, Size,
    callgrind::{self, Instructions},
    thousands,
    under_load::{Kept, Setup, spans_per_request},
};

/// How long the span count must hold still before a set-up whose count cannot be known ahead
/// (a sampled one, or one whose client spans depend on connections) counts as flushed: longer
/// than the batch processor's 5 s between exports.
const STILL_FOR: Duration = Duration::from_secs(6);

/// Each set-up's instructions per request, frontend's and backend's, in `setups`' order; `None`
/// where Valgrind is not installed (outside CI, which installs it).
pub(crate) async fn count_all(
    size: Size,
    setups: &[&'static Setup],
) -> Result<Option<Vec<[Instructions; 2]>>, String> {
    if !callgrind::installed() {
        let why = "Valgrind is not installed (Debian: apt-get install valgrind)";
        if std::env::var_os("CI").is_some() {
            return Err(format!("cannot count instructions: {why}"));
        }
        eprintln!("note: instructions not counted: {why}");
        return Ok(None);
    }
    let mut counted = Vec::new();
    for setup in setups {
        eprintln!("counting {}", setup.name);
        counted.push(count(size, setup).await?);
    }
    Ok(Some(counted))
}

/// The instructions one request costs each program of `setup`, on the request's path and on
/// the export path, counted by callgrind over `size.counted_requests` requests (after
/// `size.counted_warm_up`), the whole of each: the counting starts once the warm-up's spans
/// have all arrived, and ends once the counted requests' spans have.
async fn count(size: Size, setup: &'static Setup) -> Result<[Instructions; 2], String> {
    let step = setup.step()?;
    let counts = callgrind::Counts::new()?;
    let backend =
        Service::start_wrapped(&counts.wrapper("backend"), &step.backend(), setup.env).await?;
    let backend_url = backend.url();
    let mut env = setup.env.to_vec();
    env.push(("BACKEND_URL", backend_url.as_str()));
    let frontend =
        Service::start_wrapped(&counts.wrapper("frontend"), &step.frontend(), &env).await?;
    let pair = Pair { backend, frontend };
    let pid = |service: &Service| service.pid().ok_or("a program under callgrind exited");
    let pids = [pid(&pair.frontend)?, pid(&pair.backend)?];
    let client = load::client()?;
    let url = pair.frontend.url();
    let mut sent = 0;
    let mut counted = [Instructions::default(); 2];
    for (requests, dump) in [(size.counted_warm_up, 1), (size.counted_requests, 2)] {
        let answers = load::send(&client, &url, requests, CONCURRENCY, &AtomicUsize::new(0)).await;
        if answers.ok() != requests {
            return Err(format!(
                "{} under callgrind: not every request was answered 200: {}",
                setup.name,
                answers.describe()
            ));
        }
        sent += requests;
        all_spans_arrived(setup, &pair, sent).await?;
        for pid in pids {
            callgrind::dump(pid)?;
        }
        if dump == 2 {
            for (index, (name, pid)) in ["frontend", "backend"].into_iter().zip(pids).enumerate() {
                counted[index] = counts.read(name, pid, dump)?;
            }
        }
    }
    let (frontend, backend) = pair.stop().await?;
    for exited in [&frontend, &backend] {
        if !exited.status.success() {
            return Err(format!(
                "{}: a program exited under callgrind with {}; stderr:\n{}",
                setup.name, exited.status, exited.stderr
            ));
        }
    }
    let requests = size.counted_requests as u64;
    Ok(counted.map(|counted| Instructions {
        request_path: counted.request_path / requests,
        export_path: counted.export_path / requests,
    }))
}

/// Waits until the programs of `setup` exported every span of `sent` requests: at once for an
/// untraced one; for a traced one, the batch processor sends what it holds every 5 s.
async fn all_spans_arrived(setup: &Setup, pair: &Pair, sent: usize) -> Result<(), String> {
    let step = setup.step()?;
    let received =
        || pair.frontend.spans_received().unwrap_or(0) + pair.backend.spans_received().unwrap_or(0);
    let known = setup.kept == Kept::Every && !step.trace.contains(": connect (");
    let deadline = Instant::now() + process::PATIENCE;
    let (mut last, mut still_since) = (received(), Instant::now());
    loop {
        let now = received();
        let done = match (step.otlp, setup.kept, known) {
            (false, _, _) | (_, Kept::None, _) => true,
            (true, _, true) => now >= spans_per_request(step) * sent,
            (true, _, false) => now == last && still_since.elapsed() >= STILL_FOR,
        };
        if done {
            return Ok(());
        }
        if now != last {
            (last, still_since) = (now, Instant::now());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "{} under callgrind: the spans did not all arrive within {:?} ({now} so far)",
                setup.name,
                process::PATIENCE
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The untraced pair's instructions per request against the traced pair's.
pub(crate) fn report(
    size: Size,
    [untraced, traced]: [(&Setup, Option<[Instructions; 2]>); 2],
) -> Result<String, String> {
    let mut text = String::from("### Instructions per request\n\n");
    let (Some(before), Some(after)) = (untraced.1, traced.1) else {
        text.push_str("Not counted: Valgrind is not installed.\n\n");
        return Ok(text);
    };
    let _ = write!(
        text,
        "Counted by Valgrind's callgrind: every instruction the programs ran in user space (the \
         kernel's work, sending and receiving, is not in them), exact, whatever else the machine \
         does. Each set-up got {warm_up} requests, then {requests} counted, {CONCURRENCY} at a \
         time, each under callgrind; a thread's instructions go to the export path if it is \
         the SDK's batch processor thread (it converts the spans and encodes them) or the \
         exporter's `{export_thread}` thread (it sends them), and to the request's path \
         otherwise.\n\n\
         | Instructions per request | Step {u}, untraced | Step {t}, traced | Added |\n\
         |---|--:|--:|--:|\n",
        warm_up = thousands(size.counted_warm_up as f64),
        requests = thousands(size.counted_requests as f64),
        export_thread = crate::EXPORT_THREAD,
        u = untraced.0.step()?.number,
        t = traced.0.step()?.number,
    );
    let mut row = |label: String, before: u64, after: u64| {
        let _ = writeln!(
            text,
            "| {label} | {} | {} | {} |",
            thousands(before as f64),
            thousands(after as f64),
            signed_thousands(after as i64 - before as i64)
        );
    };
    for (index, service) in ["Frontend", "Backend"].into_iter().enumerate() {
        let (before, after) = (before[index], after[index]);
        row(
            format!("{service}, request's path"),
            before.request_path,
            after.request_path,
        );
        row(
            format!("{service}, export path"),
            before.export_path,
            after.export_path,
        );
    }
    row("Both, in all".to_owned(), total(&before), total(&after));
    text.push('\n');
    Ok(text)
}

/// Both programs' instructions per request, on both paths.
pub(crate) fn total(counted: &[Instructions; 2]) -> u64 {
    counted.iter().map(Instructions::total).sum()
}

/// The request's path's and the export path's instructions per request, both programs'.
pub(crate) fn by_path(counted: &[Instructions; 2]) -> (u64, u64) {
    let request_path = counted.iter().map(|counted| counted.request_path).sum();
    let export_path = counted.iter().map(|counted| counted.export_path).sum();
    (request_path, export_path)
}

/// A whole number with its sign and thousands separated: `+21,345`, `−1,020`.
pub(crate) fn signed_thousands(value: i64) -> String {
    let sign = if value < 0 { "−" } else { "+" };
    format!("{sign}{}", thousands(value.unsigned_abs() as f64))
}
