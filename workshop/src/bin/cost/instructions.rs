//! Instructions per request, counted by callgrind.

use std::{
    fmt::Write as _,
    sync::atomic::AtomicUsize,
    time::{Duration, Instant},
};

use workshop::{
    callgrind::{self, Instructions},
    load,
    process::{self, Pair},
    steps::Step,
};

use crate::{CONCURRENCY, Size, thousands, under_load::spans_per_request};

/// The instructions one request costs each program of `step`, on the request's path and on the
/// export path, counted by callgrind over `size.counted_requests` requests (after
/// `size.counted_warm_up`), the whole of each: the counting starts once the warm-up's spans have
/// all arrived, and ends once the counted requests' spans have.
pub(crate) async fn count_instructions(
    size: Size,
    step: &'static Step,
) -> Result<[Instructions; 2], String> {
    let counts = callgrind::Counts::new()?;
    let backend =
        process::Service::start_wrapped(&counts.wrapper("backend"), &step.backend(), &[]).await?;
    let backend_url = backend.url();
    let frontend = process::Service::start_wrapped(
        &counts.wrapper("frontend"),
        &step.frontend(),
        &[("BACKEND_URL", backend_url.as_str())],
    )
    .await?;
    let pair = Pair { backend, frontend };
    let pid = |service: &process::Service| service.pid().ok_or("a program under callgrind exited");
    let pids = [pid(&pair.frontend)?, pid(&pair.backend)?];
    let client = load::client()?;
    let url = pair.frontend.url();
    let mut sent = 0;
    let mut counted = [Instructions::default(); 2];
    for (requests, dump) in [(size.counted_warm_up, 1), (size.counted_requests, 2)] {
        let answers = load::send(&client, &url, requests, CONCURRENCY, &AtomicUsize::new(0)).await;
        if answers.ok() != requests {
            return Err(format!(
                "step {} under callgrind: not every request was answered 200: {}",
                step.number,
                answers.describe()
            ));
        }
        sent += requests;
        all_spans_arrived(step, &pair, sent).await?;
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
                "a program of step {} exited under callgrind with {}; stderr:\n{}",
                step.number, exited.status, exited.stderr
            ));
        }
    }
    let requests = size.counted_requests as u64;
    Ok(counted.map(|counted| Instructions {
        request_path: counted.request_path / requests,
        export_path: counted.export_path / requests,
    }))
}

/// Waits until the programs of `step` exported every span of `sent` requests: at once for an
/// untraced step; for a traced one, the batch processor sends what it holds every 5 s.
pub(crate) async fn all_spans_arrived(step: &Step, pair: &Pair, sent: usize) -> Result<(), String> {
    let expected = spans_per_request(step) * sent;
    let received =
        || pair.frontend.spans_received().unwrap_or(0) + pair.backend.spans_received().unwrap_or(0);
    let deadline = Instant::now() + process::PATIENCE;
    while step.otlp && received() < expected {
        if Instant::now() > deadline {
            return Err(format!(
                "step {} under callgrind: {} of {expected} spans arrived within {:?}",
                step.number,
                received(),
                process::PATIENCE
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(())
}

/// Both pairs' instructions per request, counted.
pub(crate) async fn instructions_per_request(
    size: Size,
    untraced_step: &'static Step,
    traced_step: &'static Step,
) -> Result<String, String> {
    if !callgrind::installed() {
        let why = "Valgrind is not installed (Debian: apt-get install valgrind)";
        if std::env::var_os("CI").is_some() {
            return Err(format!("cannot count instructions: {why}"));
        }
        eprintln!("note: instructions not counted: {why}");
        return Ok(format!(
            "### Instructions per request\n\nNot counted: {why}.\n\n"
        ));
    }
    let untraced = count_instructions(size, untraced_step).await?;
    let traced = count_instructions(size, traced_step).await?;
    let mut text = format!(
        "### Instructions per request\n\n\
         Counted by Valgrind's callgrind: every instruction the programs ran in user space (the \
         kernel's work, sending and receiving, is not in them), exact, whatever else the machine \
         does. Each pair got {warm_up} requests, then {requests} counted, {CONCURRENCY} at a \
         time; a thread's instructions go to the export path if it is the SDK's batch processor \
         thread (it converts the spans and encodes them) or the exporter's `{export_thread}` \
         thread (it sends them), and to the request's path otherwise.\n\n\
         | Instructions per request | Step {u}, untraced | Step {t}, traced | Added |\n\
         |---|--:|--:|--:|\n",
        warm_up = thousands(size.counted_warm_up as f64),
        requests = thousands(size.counted_requests as f64),
        export_thread = step_exporting::otlp::EXPORT_THREAD,
        u = untraced_step.number,
        t = traced_step.number,
    );
    let row = |text: &mut String, label: &str, before: u64, after: u64| {
        let _ = writeln!(
            text,
            "| {label} | {} | {} | {} |",
            thousands(before as f64),
            thousands(after as f64),
            SignedThousands(after as i64 - before as i64)
        );
    };
    for (index, service) in ["Frontend", "Backend"].into_iter().enumerate() {
        let (before, after) = (untraced[index], traced[index]);
        row(
            &mut text,
            &format!("{service}, request's path"),
            before.request_path,
            after.request_path,
        );
        row(
            &mut text,
            &format!("{service}, export path"),
            before.export_path,
            after.export_path,
        );
    }
    let total = |counted: &[Instructions; 2]| counted.iter().map(Instructions::total).sum::<u64>();
    row(&mut text, "Both, in all", total(&untraced), total(&traced));
    text.push('\n');
    Ok(text)
}

/// A whole number with its sign and thousands separated: `+21,345`.
pub(crate) struct SignedThousands(i64);

impl std::fmt::Display for SignedThousands {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sign = if self.0 < 0 { "−" } else { "+" };
        write!(f, "{sign}{}", thousands(self.0.unsigned_abs() as f64))
    }
}
