//! `cargo run -p workshop [STEP]`: one step run once. Starts its backend and frontend on free
//! ports, sends the frontend one request, stops both with SIGTERM so that they export every
//! span, and shows what they logged and the trace they exported.

use trace_viewer::{
    tables,
    terminal::{printable, wrapped},
};

use crate::{
    harness::process::{self, Exited, Pair},
    spans,
    steps::Step,
};

/// Builds `step`'s programs, runs them, sends the frontend one request, stops both with SIGTERM,
/// and shows what they logged, the trace they exported, and their log records and metrics.
pub async fn run(step: &'static Step) -> Result<(), String> {
    println!("Step {}: {}", step.number, step.title);
    println!("Building its programs with cargo...");
    let programs = [step.frontend(), step.backend()];
    tokio::task::spawn_blocking(move || process::build(&programs, true))
        .await
        .map_err(|error| error.to_string())??;

    let pair = Pair::start(step, &[]).await?;
    let url = pair.frontend.url();
    println!("{} listens on {}", step.backend(), pair.backend.url());
    println!("{} listens on {url}", step.frontend());
    let answer = process::http_get(&url).await;
    match &answer {
        Ok((status, body)) => println!("GET {url} answered {status}: {body:?}"),
        Err(error) => println!("{error}"),
    }
    println!("Stopping both with SIGTERM, as a deploy would...");
    let (frontend, backend) = pair.stop().await?;
    show_log("frontend", &frontend);
    show_log("backend", &backend);

    let spans = process::exported_spans(step, &frontend, &backend)?;
    if step.otlp {
        println!("Both sent their spans over OTLP, to the trace viewer built into this");
        println!("runner (`cargo run -p trace-viewer` runs it on its own):");
    }
    println!();
    if spans.is_empty() {
        println!("No spans: step {} is not traced yet.", step.number);
    }
    let logs: Vec<_> = [&frontend, &backend]
        .into_iter()
        .flat_map(|exited| exited.logs.iter().cloned())
        .collect();
    if !logs.is_empty() {
        println!("Both sent their log lines as log records too: each is drawn (▸) under the");
        println!("span it was written in.");
    }
    for trace in spans::traces(&spans) {
        println!("{}", spans::render_with_logs(&trace, &logs));
    }
    let metrics: Vec<_> = [&frontend, &backend]
        .into_iter()
        .flat_map(|exited| exited.metrics.iter().cloned())
        .collect();
    if !metrics.is_empty() {
        println!("Both sent their metrics as they stopped (cumulative: each count is since the");
        println!("program started):");
        println!();
        println!("{}", tables::render_metrics(&metrics, &spans));
    }
    println!(
        "To keep them running and send your own requests: cargo run -p workshop up {}",
        step.number
    );

    match answer? {
        (status, _) if !status.is_success() => Err(format!("the frontend answered {status}")),
        _ if !frontend.status.success() => Err("the frontend did not exit cleanly".into()),
        _ if !backend.status.success() => Err("the backend did not exit cleanly".into()),
        _ => Ok(()),
    }
}

fn show_log(name: &str, exited: &Exited) {
    println!(
        "The {name} logged (stderr), then exited ({}):",
        exited.status
    );
    for line in exited.stderr.lines() {
        // What a program logs may hold what a caller sent it: shown, never acted on.
        let line = printable(line);
        let mut parts = wrapped(&line, LOG_WIDTH).into_iter();
        if let Some(first) = parts.next() {
            println!("  | {first}");
        }
        for rest in parts {
            println!("  |   {rest}");
        }
    }
}

/// How much of a log line goes on one line: after `  | `, or `  |   ` for what continues on the
/// next lines, it fits in an 80-column terminal.
const LOG_WIDTH: usize = 74;
