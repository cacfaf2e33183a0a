//! `cargo run -p workshop [STEP]`: starts one step's backend and frontend on free ports, sends
//! the frontend one request, stops both with SIGTERM so that they export every span, and shows
//! what they logged and the trace they exported. Without STEP, the latest local step.

use std::process::ExitCode;

use trace_viewer::terminal::printable;
use workshop::{
    process::{self, Exited, Pair},
    spans,
    steps::{self, Step},
};

const USAGE: &str =
    "usage: cargo run -p workshop [STEP]    (STEP: 01 to 10, but not 06; default: the latest)";

#[tokio::main]
async fn main() -> ExitCode {
    let step = match choose_step(std::env::args().skip(1).collect()) {
        Ok(step) => step,
        Err(Some(message)) => {
            eprintln!("error: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
        Err(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
    };
    match run(step).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The step named on the command line. `Err(None)` asks for the usage text.
fn choose_step(args: Vec<String>) -> Result<&'static Step, Option<String>> {
    match args.as_slice() {
        [] => Ok(steps::latest_local()),
        [flag] if flag == "-h" || flag == "--help" => Err(None),
        [number] => match steps::find(number) {
            None => Err(Some(format!("there is no step {number:?}"))),
            Some(step) if !step.local => Err(Some(format!(
                "step {} sends its spans to Google Cloud Trace, so it needs a Google Cloud \
                 project: run its two programs yourself, as the README shows",
                step.number
            ))),
            Some(step) => Ok(step),
        },
        _ => Err(Some("too many arguments".into())),
    }
}

async fn run(step: &'static Step) -> Result<(), String> {
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
    for trace in spans::traces(&spans) {
        println!("{}", spans::render(&trace));
    }
    if step.otlp {
        println!("To run them yourself, in three terminals:");
        println!("  cargo run -p trace-viewer");
    } else {
        println!("To run the two yourself, in two terminals:");
    }
    println!("  cargo run -p {}", step.backend());
    println!("  cargo run -p {}", step.frontend());
    println!("then, in another: curl http://127.0.0.1:8080/");

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

/// `line` cut at spaces into parts of at most `width` characters (a word longer than that stays
/// whole). Step 10's log lines, with their trace ids, are longer than a terminal is wide.
fn wrapped(line: &str, width: usize) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut rest = line;
    while rest.chars().count() > width {
        let limit = rest
            .char_indices()
            .nth(width)
            .map_or(rest.len(), |(at, _)| at);
        // The last space with at most `width` characters before it, or else the first.
        let cut = if rest[limit..].starts_with(' ') {
            Some(limit)
        } else {
            rest[..limit]
                .rfind(' ')
                .or_else(|| rest[limit..].find(' ').map(|at| limit + at))
        };
        let Some(cut) = cut.filter(|&at| at > 0) else {
            break;
        };
        parts.push(&rest[..cut]);
        rest = rest[cut..].trim_start_matches(' ');
    }
    parts.push(rest);
    parts
}

#[cfg(test)]
mod tests {
    use super::wrapped;

    #[test]
    fn long_log_lines_are_cut_at_spaces() {
        assert_eq!(wrapped("short line", 76), ["short line"]);
        assert_eq!(
            wrapped("aaaa bbbb cccc dddd", 9),
            ["aaaa bbbb", "cccc dddd"]
        );
        assert_eq!(wrapped("aaaaaaaaaaaa bb", 4), ["aaaaaaaaaaaa", "bb"]);
        assert_eq!(wrapped("", 4), [""]);
        assert_eq!(wrapped("é é é", 3), ["é é", "é"]);
    }
}
