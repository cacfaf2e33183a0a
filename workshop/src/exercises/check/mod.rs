//! The check behind `cargo run -p workshop check NN`: it runs an attendee's exercise programs
//! as the tests run a step's (free ports, one request, SIGTERM), and compares what they
//! exported with the step's trace, `steps/NN-*/trace.txt`, the expectation the step's own
//! tests hold ([`trace`]). For a step that sends metrics or log records, those are compared
//! too, with its `metrics.txt` ([`metrics`]) and `logs.txt` ([`logs`]). What differs is told
//! in plain words; [`compare`] holds what the three comparisons share.

pub mod compare;
pub mod logs;
pub mod metrics;
pub mod trace;

use std::{collections::BTreeMap, time::Duration};

use compare::bullet;
use trace::{ExpectedSpan, diagnose, headers_problems, named_for, parse_trace};

use crate::{
    exercises::StepExercise,
    harness::process::{self, BuildFailure, Exited, Service},
    spans::{self, SpanRecord},
    steps::{
        Step,
        exercise::{Exercise, Expect, Scenario},
    },
};

/// How a check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The programs exported the step's trace: exit code 0.
    Done,
    /// They ran, and something is missing or wrong: exit code 1.
    NotYet,
    /// They could not be run (they do not compile, never listened): exit code 2.
    CannotRun,
}

/// What a check found, and its words for the attendee.
#[derive(Debug)]
pub struct Report {
    pub verdict: Verdict,
    /// What to tell the attendee, line by line.
    pub text: String,
    /// The problems found, one sentence each (empty when done, or when it could not run).
    pub problems: Vec<String>,
}

/// The two programs a check runs, frontend first: an exercise's starter, or a step's own.
pub fn exercise_programs(exercise: &StepExercise) -> [String; 2] {
    [exercise.frontend(), exercise.backend()]
}

/// Builds `programs` (frontend, backend), runs them as the step's tests do and compares what
/// they exported with `exercise`'s step's trace.
pub async fn check(exercise: &StepExercise, programs: &[String; 2]) -> Report {
    check_request(exercise, programs, &[], &mut Vec::new()).await
}

/// As [`check`], with `headers` on the check's one request, and every span the programs
/// exported, as they exported it, in `exported_as_is`. An attribute whose value is one of
/// the headers' values is the attendee's own addition (the capstone's): the comparison with
/// the step's trace leaves it out.
pub async fn check_request(
    exercise: &StepExercise,
    programs: &[String; 2],
    headers: &[(&str, &str)],
    exported_as_is: &mut Vec<SpanRecord>,
) -> Report {
    let mut text = String::new();
    let mut packages = programs.to_vec();
    packages.push(process::DELAY_PROXY.to_owned());
    let built = tokio::task::spawn_blocking(move || process::build_capturing(&packages)).await;
    match built {
        Ok(Ok(())) => {}
        Ok(Err(BuildFailure::Rejected(printed))) => {
            text.push_str(&format!(
                "Your programs do not compile yet. The compiler's first error:\n\n{}\n",
                first_error(&printed)
            ));
            return cannot_run(text);
        }
        Ok(Err(BuildFailure::NoCargo(why))) => return cannot_run(format!("{why}\n")),
        Err(error) => return cannot_run(format!("the build stopped: {error}\n")),
    }
    let [frontend, backend] = programs;
    let step = exercise.step;
    let ran = process::one_request_through_proxy_with(
        [frontend, backend],
        environment(step),
        &[],
        NETWORK_DELAY,
        headers,
    )
    .await;
    let (answer, frontend_exited, backend_exited) = match ran {
        Ok(ran) => ran,
        // A starter's stand-in may stop the program at start-up, naming its TODO: that is
        // work still to do, not a program that cannot run.
        Err(error) if error.lines().any(|line| line.contains("TODO")) => {
            let todo = error
                .lines()
                .find(|line| line.contains("TODO"))
                .unwrap_or_default();
            let problem = format!(
                "Your programs stop at start-up, at a `TODO`: `{}`.",
                todo.trim()
            );
            text.push_str("Not yet:\n");
            text.push_str(&bullet(&problem));
            return Report {
                verdict: Verdict::NotYet,
                text,
                problems: vec![problem],
            };
        }
        Err(error) => {
            text.push_str(&format!(
                "Your programs did not start: a program must print `listening on <address>` \
                 once it listens (step-support's `bind` does).\n{error}\n"
            ));
            return cannot_run(text);
        }
    };

    // A program that did not exit on SIGTERM hung on a request or an export: nothing it
    // exported can be trusted to be all, so that is the one thing to say.
    let (frontend_exited, backend_exited) = match (frontend_exited, backend_exited) {
        (Ok(frontend), Ok(backend)) => (frontend, backend),
        (frontend, backend) => {
            let mut problems = Vec::new();
            if let Err(error) = &answer {
                problems.push(format!("The frontend did not answer `GET /`: {error}."));
            }
            for (name, stopped) in [("frontend", &frontend), ("backend", &backend)] {
                if stopped.is_err() {
                    problems.push(format!(
                        "Your {name} did not exit within {} s of SIGTERM: a request or an export \
                         hung in it.{}",
                        process::PATIENCE.as_secs(),
                        match exercise.step.otlp {
                            true => HANG_WITH_OTLP,
                            false => "",
                        }
                    ));
                }
            }
            let mut text = text;
            text.push_str("Not yet:\n");
            for problem in &problems {
                text.push_str(&bullet(problem));
            }
            for stopped in [frontend, backend] {
                if let Err(error) = stopped {
                    text.push_str(&format!("\n{error}\n"));
                }
            }
            return Report {
                verdict: Verdict::NotYet,
                text,
                problems,
            };
        }
    };

    let mut problems = Vec::new();
    match &answer {
        Ok((status, body)) if status.is_success() && body == "OK" => {}
        Ok((status, body)) => problems.push(format!(
            "The frontend answered {status} {body:?} to `GET /`; the step answers 200 \"OK\"."
        )),
        Err(error) => problems.push(format!("The frontend did not answer `GET /`: {error}.")),
    }
    for (name, exited) in [("frontend", &frontend_exited), ("backend", &backend_exited)] {
        if let Some(panic) = exited
            .stderr
            .lines()
            .find(|line| line.contains("panicked at"))
        {
            problems.push(format!("Your {name} panicked: {panic}"));
        }
        if !exited.status.success() {
            problems.push(format!(
                "Your {name} did not exit cleanly on SIGTERM ({}); the step exits 0 once its \
                 spans are exported.",
                exited.status
            ));
        }
    }
    let mut exported = Vec::new();
    for (name, exited) in [("frontend", &frontend_exited), ("backend", &backend_exited)] {
        match exited.parse_spans() {
            Ok(spans) => exported.extend(named_for(name, spans, &mut problems)),
            Err(error) => problems.push(format!(
                "Your {name} printed something to stdout that is not a span ({error}). Spans go \
                 to stdout; logs go to stderr (`eprintln!`)."
            )),
        }
    }
    exported_as_is.clone_from(&exported);
    for span in &mut exported {
        span.attributes
            .retain(|_, value| !headers.iter().any(|(_, sent)| value == sent));
    }
    let layer_defaults_kept =
        exercise.exercise.tracing_crate && without_layer_defaults(&mut exported);
    let expected = match parse_trace(exercise.step.trace) {
        Ok(expected) => expected,
        Err(error) => return cannot_run(format!("the step's trace.txt: {error}\n")),
    };
    problems.extend(diagnose(
        &expected,
        &exported,
        &why_no_span(exercise.exercise),
        exercise.exercise.tracing_crate,
    ));
    problems.extend(too_short(&expected, &exported));
    if let Some(received) = &exercise.exercise.backend_receives {
        problems.extend(headers_problems(
            received,
            &exported,
            &backend_exited.stderr,
        ));
    }
    text.push_str(&seen(&exported));
    // The metrics and log records of the steps that send them, beside the trace.
    if !step.metrics.is_empty() {
        let mut metrics = Vec::new();
        for (name, exited) in [("frontend", &frontend_exited), ("backend", &backend_exited)] {
            metrics.extend(metrics::metrics_named_for(
                name,
                &exited.metrics,
                &mut problems,
            ));
        }
        let expected = match metrics::parse_metrics(step.metrics) {
            Ok(expected) => expected,
            Err(error) => return cannot_run(format!("the step's metrics.txt: {error}\n")),
        };
        problems.extend(metrics::metric_problems(&expected, &metrics, &exported));
        text.push_str(&drawn_or_none(
            "metrics",
            &metrics::metrics_outline(&metrics),
        ));
    }
    if !step.logs.is_empty() {
        let mut records = Vec::new();
        for (name, exited) in [("frontend", &frontend_exited), ("backend", &backend_exited)] {
            records.extend(logs::logs_named_for(name, &exited.logs, &mut problems));
        }
        let expected = match logs::parse_logs(step.logs) {
            Ok(expected) => expected,
            Err(error) => return cannot_run(format!("the step's logs.txt: {error}\n")),
        };
        problems.extend(logs::log_problems(
            &expected,
            &records,
            &exported,
            [frontend, backend],
        ));
        text.push_str(&drawn_or_none(
            "log records",
            &logs::logs_outline(&records, &exported),
        ));
    }
    // The variables the step reads, tried once its plain run is right.
    if problems.is_empty() {
        for scenario in exercise.exercise.scenarios {
            match run_scenario(scenario, frontend, backend, &expected, exercise.exercise).await {
                Ok(None) => {}
                Ok(Some(problem)) => problems.push(problem),
                Err(error) => return cannot_run(format!("{text}\n{error}\n")),
            }
        }
    }
    if problems.is_empty() {
        let what = match (step.metrics.is_empty(), step.logs.is_empty()) {
            (true, _) => "trace",
            (false, true) => "trace and metrics",
            (false, false) => "trace, metrics and log records",
        };
        text.push_str(&format!(
            "\nDone: that is step {}'s {what}. The solution is the step's own code, in \
             steps/{}/.\n",
            step.number, step.folder
        ));
        for scenario in exercise.exercise.scenarios {
            text.push_str(&bullet(&format!(
                "Also right: with {}, {}.",
                settings_of(scenario),
                scenario.say
            )));
        }
        if layer_defaults_kept {
            text.push_str(LAYER_DEFAULTS_KEPT);
        }
        return Report {
            verdict: Verdict::Done,
            text,
            problems,
        };
    }
    text.push_str("\nNot yet:\n");
    for problem in &problems {
        text.push_str(&bullet(problem));
    }
    text.push_str(&format!(
        "\nThe step's trace (steps/{}/trace.txt):\n{}",
        step.folder,
        indented(step.trace)
    ));
    for (what, file, drawn) in [
        ("metrics", "metrics.txt", step.metrics),
        ("log records", "logs.txt", step.logs),
    ] {
        if !drawn.is_empty() {
            text.push_str(&format!(
                "\nThe step's {what} (steps/{}/{file}):\n{}",
                step.folder,
                indented(drawn)
            ));
        }
    }
    for (name, exited) in [("frontend", &frontend_exited), ("backend", &backend_exited)] {
        text.push_str(&log_of(name, exited));
    }
    Report {
        verdict: Verdict::NotYet,
        text,
        problems,
    }
}

/// What a program of the exercise's step that exports no span may lack, on one line.
fn why_no_span(exercise: &Exercise) -> String {
    let words: Vec<&str> = exercise.why_no_span.split_whitespace().collect();
    words.join(" ")
}

/// `scenario`'s variables, as the check names them: `` `NAME=value` `` joined by "and".
fn settings_of(scenario: &Scenario) -> String {
    let settings: Vec<String> = scenario
        .env
        .iter()
        .map(|(name, value)| format!("`{name}={value}`"))
        .collect();
    settings.join(" and ")
}

/// Runs the programs once more with `scenario`'s variables, and says what is wrong with what
/// they exported then, if anything.
async fn run_scenario(
    scenario: &Scenario,
    frontend: &str,
    backend: &str,
    expected: &[ExpectedSpan],
    exercise: &Exercise,
) -> Result<Option<String>, String> {
    let settings = settings_of(scenario);
    if scenario.expect == Expect::RefusedAtStart {
        // The harness's start says how a program that never listened ended.
        return Ok(match Service::start(frontend, scenario.env).await {
            Err(error) if error.contains("exited (exit status: 2) before listening") => None,
            Err(error) => Some(format!(
                "With {settings}, {}. Your frontend did not start, but not with exit code 2: \
                 {error}",
                scenario.say
            )),
            Ok(running) => {
                let _ = running.stop().await;
                Some(format!(
                    "With {settings}, {}. Your frontend started and listened.",
                    scenario.say
                ))
            }
        });
    }
    let (_, frontend_exited, backend_exited) =
        process::one_request_through_proxy([frontend, backend], scenario.env, &[], NETWORK_DELAY)
            .await?;
    let (frontend_exited, backend_exited) = (frontend_exited?, backend_exited?);
    let mut exported = Vec::new();
    for (name, exited) in [("frontend", &frontend_exited), ("backend", &backend_exited)] {
        let spans = exited.parse_spans()?;
        exported.extend(named_for(name, spans, &mut Vec::new()));
    }
    let (wrong, holding) = match scenario.expect {
        Expect::NoSpans => (!exported.is_empty(), Vec::new()),
        Expect::WithoutAttribute(key) => {
            let mut without = expected.to_vec();
            for span in &mut without {
                span.attributes.retain(|(name, _)| name != key);
            }
            let holding: Vec<String> = exported
                .iter()
                .filter_map(|span| {
                    let value = span.attributes.get(key)?;
                    Some(format!("`{}` with `{key}={value}`", span.name))
                })
                .collect();
            let wrong = !diagnose(&without, &exported, "", false).is_empty() || !holding.is_empty();
            (wrong, holding)
        }
        // What differs from the step's trace, in the plain run's words.
        Expect::TheTrace => {
            if exercise.tracing_crate {
                without_layer_defaults(&mut exported);
            }
            let problems = diagnose(
                expected,
                &exported,
                &why_no_span(exercise),
                exercise.tracing_crate,
            );
            (!problems.is_empty(), problems)
        }
        Expect::RefusedAtStart => (false, Vec::new()),
    };
    if !wrong {
        return Ok(None);
    }
    let count = match exported.len() {
        0 => "no span".to_owned(),
        1 => "one span".to_owned(),
        n => format!("{n} spans"),
    };
    let exported = format!(
        "With {settings} (both programs), {}. Your programs exported {count}",
        scenario.say
    );
    Ok(Some(match (holding.is_empty(), &scenario.expect) {
        (true, _) => format!("{exported}."),
        // The plain run's sentences, each ending in its own full stop.
        (false, Expect::TheTrace) => format!("{exported}. {}", holding.join(" ")),
        (false, _) => format!("{exported}, {}.", holding.join(", ")),
    }))
}

/// Why a program that exports with OTLP may hang on a request, for the attendee whose did.
const HANG_WITH_OTLP: &str = " The simple processor exports on the request's own thread and, \
    with the OTLP exporter, can block it there for good: the OTLP exporter goes with the batch \
    processor (`with_batch_exporter`).";

/// The variables a check gives both programs. For a step that exports with OTLP: a span batch
/// processor that sends at shutdown only (not every 5 s), so that a program that never shuts
/// its provider down loses its spans however slow the machine is. For a step that sends log
/// records: the records the step's default `RUST_LOG` chooses, whatever the attendee's terminal
/// has set, and a log batch processor that sends them at shutdown only (not every second).
pub fn environment(step: &Step) -> &'static [(&'static str, &'static str)] {
    match (step.otlp, step.logs.is_empty()) {
        (_, false) => &[
            ("RUST_LOG", "info"),
            ("OTEL_BLRP_SCHEDULE_DELAY", "60000"),
            ("OTEL_BSP_SCHEDULE_DELAY", "60000"),
        ],
        (true, true) => &[("OTEL_BSP_SCHEDULE_DELAY", "60000")],
        (false, true) => &[],
    }
}

/// Runs `programs` (frontend, backend) of `step` as a check does: one request through a delay
/// proxy, then SIGTERM. See [`process::one_request_through_proxy`].
pub async fn run_once(
    [frontend, backend]: [&str; 2],
    step: &Step,
) -> Result<
    (
        process::Answer,
        Result<Exited, String>,
        Result<Exited, String>,
    ),
    String,
> {
    process::one_request_through_proxy([frontend, backend], environment(step), &[], NETWORK_DELAY)
        .await
}

/// How long the network between the frontend and the backend holds the bytes of a check's
/// request, each way: the backend call takes at least twice this.
pub const NETWORK_DELAY: Duration = Duration::from_millis(20);

/// The frontend's client spans that are shorter than the call they measure: the network alone
/// takes twice [`NETWORK_DELAY`] (request and answer), so a span that lasted less ended before
/// the answer came, or started after the request went.
pub fn too_short(expected: &[ExpectedSpan], exported: &[SpanRecord]) -> Vec<String> {
    let round_trip = NETWORK_DELAY * 2;
    let mut problems = Vec::new();
    for span in expected.iter().filter(|span| span.kind == "client") {
        let found = exported
            .iter()
            .find(|found| found.service == span.service && found.name == span.name);
        let Some(found) = found else {
            continue;
        };
        let lasted = found
            .end
            .duration_since(found.start)
            .unwrap_or(Duration::ZERO);
        if lasted < round_trip {
            problems.push(format!(
                "`{}` lasted {:.2} ms, but the backend's answer takes at least {} ms to come \
                 back (the check puts {} ms of network each way between your frontend and the \
                 backend): start the span before the request is sent, and end it once the whole \
                 answer has been read.",
                span.name,
                lasted.as_secs_f64() * 1000.0,
                round_trip.as_millis(),
                NETWORK_DELAY.as_millis()
            ));
        }
    }
    problems
}

/// The attributes tracing-opentelemetry's layer adds to every span unless told not to
/// (`with_location`, `with_threads`, `with_tracked_inactivity`, `with_target`). They help in
/// production; the steps turn them off only to keep the post's trace, so a check of a step that
/// writes its spans with `tracing` accepts them.
const LAYER_DEFAULTS: [&str; 8] = [
    "code.file.path",
    "code.module.name",
    "code.line.number",
    "thread.id",
    "thread.name",
    "busy_ns",
    "idle_ns",
    "target",
];

const LAYER_DEFAULTS_KEPT: &str = "Your spans also carry what tracing-opentelemetry's layer adds \
    by default: the code's place, the thread, the busy and idle times, the target. Keep them in \
    a service, where they help; the step turns them off only so that its trace stays the post's, \
    span for span.\n";

/// Takes [`LAYER_DEFAULTS`] off every span; whether any span had one.
fn without_layer_defaults(exported: &mut [SpanRecord]) -> bool {
    let mut found = false;
    for span in exported {
        for key in LAYER_DEFAULTS {
            found |= span.attributes.remove(key).is_some();
        }
    }
    found
}

fn cannot_run(text: String) -> Report {
    Report {
        verdict: Verdict::CannotRun,
        text,
        problems: Vec::new(),
    }
}

/// What the programs exported, in the outline the step's trace is drawn in.
fn seen(exported: &[SpanRecord]) -> String {
    if exported.is_empty() {
        return "Your programs exported no span.\n".to_owned();
    }
    let mut by_service: BTreeMap<&str, usize> = BTreeMap::new();
    for span in exported {
        *by_service.entry(&span.service).or_default() += 1;
    }
    let counts: Vec<String> = by_service
        .iter()
        .map(|(service, count)| match count {
            1 => format!("one span from the {service}"),
            n => format!("{n} spans from the {service}"),
        })
        .collect();
    let traces = spans::traces(exported).len();
    let in_traces = match traces {
        1 => "in one trace".to_owned(),
        n => format!("in {n} traces"),
    };
    format!(
        "Your programs exported {} {in_traces}:\n{}",
        counts.join(" and "),
        indented(&spans::outline(exported))
    )
}

/// What the programs sent of another signal (`metrics`, `log records`), drawn as the step's
/// file draws it.
fn drawn_or_none(what: &str, drawn: &str) -> String {
    match drawn.is_empty() {
        true => format!("\nYour programs sent no {what}.\n"),
        false => format!("\nYour programs sent these {what}:\n{}", indented(drawn)),
    }
}

/// What a program wrote to stderr, when it holds more than the `listening on` line.
fn log_of(name: &str, exited: &Exited) -> String {
    let lines: Vec<&str> = exited
        .stderr
        .lines()
        .filter(|line| !line.starts_with("listening on "))
        .collect();
    if lines.is_empty() {
        return String::new();
    }
    let shown: Vec<String> = lines
        .iter()
        .take(20)
        .map(|line| format!("  | {}\n", trace_viewer::terminal::printable(line)))
        .collect();
    format!("\nYour {name} logged (stderr):\n{}", shown.concat())
}

/// The first error block cargo printed: from the first line that starts with `error` to the
/// blank line that ends it.
pub fn first_error(printed: &str) -> String {
    let mut lines = printed
        .lines()
        .skip_while(|line| !line.starts_with("error"));
    let mut block: Vec<&str> = Vec::new();
    for line in lines.by_ref() {
        if line.trim().is_empty() {
            break;
        }
        block.push(line);
    }
    match block.is_empty() {
        true => printed.trim_end().to_owned(),
        false => block.join("\n"),
    }
}

fn indented(text: &str) -> String {
    text.lines().map(|line| format!("  {line}\n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_error_is_the_block_it_starts() {
        let printed = "warning: unused\n --> a.rs:1:1\n\nerror[E0425]: cannot find value `cx`\n \
                       --> src/main.rs:9:5\n  |\n9 |     cx\n\nerror: could not compile\n";
        assert_eq!(
            first_error(printed),
            "error[E0425]: cannot find value `cx`\n --> src/main.rs:9:5\n  |\n9 |     cx"
        );
    }
}
