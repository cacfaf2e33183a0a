//! `cargo run -p workshop [STEP]`: starts one step's backend and frontend on free ports, sends
//! the frontend one request, stops both with SIGTERM so that they export every span, and shows
//! what they logged and the trace they exported. Without STEP, the latest local step.
//!
//! `up NN` runs a step in one terminal until Ctrl-C, drawing each trace as it comes; `doctor`
//! checks the machine, and `prepare` downloads and builds everything before the day.
//!
//! The exercises: `check NN` runs exercise NN's programs the same way and says what their trace
//! still lacks (`--hint N` shows hint N instead); `reset NN` gives the starter back; `starters`
//! writes every starter from its step.
//!
//! This file is the command line, and what each command prints: the work behind the commands is
//! in the library's rooms, the runner's in `runner/` and the exercises' in `exercises/`.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use trace_viewer::terminal::wrapped;
use workshop::{
    exercises::capstone,
    exercises::check::{self, Verdict},
    exercises::diagnosis::{self, Diagnosis},
    exercises::testing,
    exercises::{self, StepExercise},
    runner::doctor::{self, Finding},
    runner::once,
    runner::up::{self, Failure, Port, Up},
    steps::{self, Step},
};

const USAGE: &str =
    "usage: cargo run -p workshop [STEP]    (STEP: 01 to 13, but not 06; default: the latest)";

/// The workshop's runner: runs a step, or checks your exercise.
#[derive(Parser)]
#[command(
    name = "cargo run -p workshop --",
    args_conflicts_with_subcommands = true
)]
struct Cli {
    /// The step to run: 01 to 13, but not 06 (default: the latest).
    step: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Runs your exercise's programs and says what their trace still lacks (exit code 0: done,
    /// 1: not yet, 2: they cannot run). Without STEP: every exercise, a line each.
    Check {
        /// The exercise: 03 checks exercises/03-*; latency-1 and latency-2 hide a fault in a
        /// request for you to find in its trace.
        step: Option<String>,
        /// Shows hint N of the exercise (1 when N is left out) instead of checking.
        #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "1")]
        hint: Option<usize>,
        /// Checks the step's own programs, the solution, instead of your exercise.
        #[arg(long)]
        solution: bool,
        /// Your answer to a diagnosis exercise: where the time goes, and how much of it
        /// (`--answer network=120`, or `--answer network=80 backend=50`).
        #[arg(long, value_name = "PLACE=MS", num_args = 1..)]
        answer: Vec<String>,
    },
    /// Gives you exercise STEP's starter back; your files are kept in target/exercise-backups/.
    Reset {
        /// The exercise: 03 resets exercises/03-*.
        step: String,
    },
    /// Writes every exercise's starter from its step (after a step's code or its exercise.rs
    /// changed).
    Starters,
    /// Runs step STEP in this terminal until Ctrl-C: its backend and frontend (your exercise's,
    /// if the step is one), the trace viewer, and the delay proxy when DELAY_MS is set. Shows
    /// their log lines and draws each trace as it comes; the variables the chapters teach
    /// (OTEL_*, RUST_LOG, BACKEND_WORK_MS) pass through.
    Up {
        /// The step: 01 to 13, but not 06.
        step: String,
        /// Runs the step's own programs, the solution, instead of your exercise.
        #[arg(long)]
        solution: bool,
        /// The frontend's port (default: 8080 if free, else any free port; 0: any free port).
        #[arg(long, value_name = "PORT")]
        port: Option<u16>,
        /// The backend's port (default: 8081 if free, else any free port; 0: any free port).
        #[arg(long, value_name = "PORT")]
        backend_port: Option<u16>,
        /// The trace viewer's web page's port (default: 8083 if free, else any free port; 0:
        /// any free port).
        #[arg(long, value_name = "PORT")]
        viewer_port: Option<u16>,
        /// Also shows what the programs print on stdout, as they print it: the spans of steps 02
        /// to 05, in the stdout exporter's own words.
        #[arg(long)]
        raw: bool,
    },
    /// Checks this machine for the workshop: Rust, curl, crates downloaded, programs built,
    /// ports, the book's tools; says what to fix (exit code 1 if anything must be).
    Doctor,
    /// Downloads every crate and builds every program the day runs, for a room without
    /// internet.
    Prepare,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        None => run_step(cli.step).await,
        Some(Command::Check {
            step: Some(name),
            hint,
            answer,
            ..
        }) if diagnosis::find(&name).is_some() => {
            let diagnosis = diagnosis::find(&name).expect("found above");
            match hint {
                Some(number) => show_diagnosis_hint(diagnosis, number),
                None => run_diagnosis(diagnosis, &answer).await,
            }
        }
        Some(Command::Check {
            step: Some(name),
            hint,
            solution,
            ..
        }) if name == capstone::NAME => check_capstone(hint.is_some(), solution).await,
        Some(Command::Check {
            step: Some(name),
            hint,
            solution,
            ..
        }) if name == testing::NAME => check_testing(hint, solution).await,
        Some(Command::Check {
            step,
            hint: Some(number),
            ..
        }) => show_hint(step.as_deref(), number),
        Some(Command::Check {
            step: Some(step),
            hint: None,
            solution,
            ..
        }) => check_one(&step, solution).await,
        Some(Command::Check {
            step: None,
            hint: None,
            solution,
            ..
        }) => check_all(solution).await,
        Some(Command::Reset { step }) if step == testing::NAME => reset_testing(),
        Some(Command::Reset { step }) => reset(&step),
        Some(Command::Starters) => write_starters(),
        Some(Command::Up {
            step,
            solution,
            port,
            backend_port,
            viewer_port,
            raw,
        }) => up(&step, solution, [port, backend_port, viewer_port], raw).await,
        Some(Command::Doctor) => doctor(),
        Some(Command::Prepare) => prepare().await,
    }
}

async fn up(
    step: &str,
    solution: bool,
    [port, backend_port, viewer_port]: [Option<u16>; 3],
    raw: bool,
) -> ExitCode {
    let step = match choose_step(Some(step.to_owned())) {
        Ok(step) => step,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let choose =
        |asked: Option<u16>, default| asked.map_or(Port::Preferably(default), Port::Exactly);
    let up = Up {
        step,
        solution,
        frontend_port: choose(port, up::FRONTEND_PORT),
        backend_port: choose(backend_port, up::BACKEND_PORT),
        viewer_port: choose(viewer_port, up::VIEWER_PAGE_PORT),
        raw,
    };
    match up.run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Setup(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
        Err(Failure::Run(message)) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn doctor() -> ExitCode {
    println!("Checking this machine for the workshop:\n");
    let mut to_fix = 0;
    for finding in doctor::examine() {
        let (mark, text) = match finding {
            Finding::Ready(text) => ("ok  ", text),
            Finding::Fix(text) => {
                to_fix += 1;
                ("FIX ", text)
            }
            Finding::Note(text) => ("note", text),
        };
        let mut lines = wrapped(&text, 88).into_iter();
        println!("  {mark}  {}", lines.next().unwrap_or_default());
        for line in lines {
            println!("        {line}");
        }
    }
    match to_fix {
        0 => {
            println!("\nReady for the workshop.");
            ExitCode::SUCCESS
        }
        count => {
            println!("\n{count} thing(s) to fix before the day: see FIX above.");
            ExitCode::FAILURE
        }
    }
}

async fn prepare() -> ExitCode {
    match tokio::task::spawn_blocking(doctor::prepare).await {
        Ok(Ok(())) => {
            println!(
                "\nEverything is downloaded and built: the day needs no network. \
                 `cargo run -p workshop doctor` checks the rest."
            );
            ExitCode::SUCCESS
        }
        Ok(Err(message)) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run_step(step: Option<String>) -> ExitCode {
    let step = match choose_step(step) {
        Ok(step) => step,
        Err(message) => {
            eprintln!("error: {message}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match once::run(step).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The step named on the command line, or the latest local one.
fn choose_step(number: Option<String>) -> Result<&'static Step, String> {
    let Some(number) = number else {
        return Ok(steps::latest_local());
    };
    match steps::find(&number) {
        None => Err(format!("there is no step {number:?}")),
        Some(step) if !step.local => Err(format!(
            "step {} sends its spans to Google Cloud Trace, so it needs a Google Cloud \
             project: run its two programs yourself, as the README shows",
            step.number
        )),
        Some(step) => Ok(step),
    }
}

/// The exercise named on the command line; a message and exit code 2 when there is none.
fn choose_exercise(number: &str) -> Result<StepExercise, ExitCode> {
    exercises::find(number).map_err(|message| {
        eprintln!("error: {message}");
        ExitCode::from(2)
    })
}

fn show_hint(step: Option<&str>, number: usize) -> ExitCode {
    let Some(step) = step else {
        eprintln!("error: which exercise? `cargo run -p workshop check 03 --hint`");
        return ExitCode::from(2);
    };
    let exercise = match choose_exercise(step) {
        Ok(exercise) => exercise,
        Err(code) => return code,
    };
    let hints = exercise.hints();
    let count = hints.len();
    let Some(hint) = number.checked_sub(1).and_then(|at| hints.get(at)) else {
        eprintln!(
            "error: exercise {} has hints 1 to {count}",
            exercise.step.number
        );
        return ExitCode::from(2);
    };
    println!(
        "Hint {number} of {count} for exercise {}:\n",
        exercise.step.number
    );
    println!("{hint}");
    if number < count {
        println!(
            "\nStill stuck? `cargo run -p workshop check {} --hint {}`",
            exercise.step.number,
            number + 1
        );
    }
    ExitCode::SUCCESS
}

async fn check_one(step: &str, solution: bool) -> ExitCode {
    let exercise = match choose_exercise(step) {
        Ok(exercise) => exercise,
        Err(code) => return code,
    };
    let programs = match solution {
        true => [exercise.step.frontend(), exercise.step.backend()],
        false => check::exercise_programs(&exercise),
    };
    println!(
        "Checking exercise {} ({}): {} and {}",
        exercise.step.number, exercise.step.title, programs[0], programs[1]
    );
    println!("Building them, running them on free ports, sending one request, stopping them...\n");
    let report = check::check(&exercise, &programs).await;
    print!("{}", report.text);
    match report.verdict {
        Verdict::Done => ExitCode::SUCCESS,
        Verdict::NotYet => {
            if !exercise.exercise.hints.is_empty() {
                println!(
                    "\nStuck? `cargo run -p workshop check {} --hint` shows a first hint.",
                    exercise.step.number
                );
            }
            ExitCode::FAILURE
        }
        Verdict::CannotRun => ExitCode::from(2),
    }
}

/// The testing exercise: the attendee's tests of step 05's backend (the step's own with
/// `--solution`), run on the step and on each mistake of its corpus; or hint `hint`.
async fn check_testing(hint: Option<usize>, solution: bool) -> ExitCode {
    if let Some(number) = hint {
        let count = testing::HINTS.len();
        let Some(text) = number.checked_sub(1).and_then(|at| testing::HINTS.get(at)) else {
            eprintln!("error: the testing exercise has hints 1 to {count}");
            return ExitCode::from(2);
        };
        println!(
            "Hint {number} of {count} for the testing exercise:\n\n{}",
            exercises::starters::dedent(text)
        );
        if number < count {
            println!(
                "\nStill stuck? `cargo run -p workshop check {} --hint {}`",
                testing::NAME,
                number + 1
            );
        }
        return ExitCode::SUCCESS;
    }
    let (tests, whose) = match solution {
        true => (testing::solution_tests(), "the step's own tests".to_owned()),
        false => {
            let file = testing::tests_file();
            let text = std::fs::read_to_string(&file)
                .map_err(|error| format!("cannot read {}: {error}", file.display()));
            (
                text,
                format!("your tests, {}/backend/src/tests.rs", testing::FOLDER),
            )
        }
    };
    let tests = match tests {
        Ok(tests) => tests,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    println!(
        "Checking {whose}: on step {}'s {}, where they must pass, then on each mistake of its \
         corpus, where some test must fail (a build of your tests each)...\n",
        testing::STEP,
        testing::PROGRAM
    );
    let judged = tokio::task::spawn_blocking(move || testing::judge(&tests)).await;
    match judged {
        Ok(Ok(judged)) => {
            print!("{}", judged.text());
            if judged.done() {
                return ExitCode::SUCCESS;
            }
            println!(
                "\nStuck? `cargo run -p workshop check {} --hint` shows a first hint.",
                testing::NAME
            );
            ExitCode::FAILURE
        }
        Ok(Err(error)) => {
            eprintln!("error: {error}");
            ExitCode::from(2)
        }
        Err(error) => {
            eprintln!("error: the check stopped: {error}");
            ExitCode::from(2)
        }
    }
}

fn reset_testing() -> ExitCode {
    match testing::reset_starter() {
        Ok(Some(backup)) => {
            println!(
                "{} is the starter again; your files are in {}",
                testing::FOLDER,
                backup.display()
            );
            ExitCode::SUCCESS
        }
        Ok(None) => {
            println!("{} is the starter again", testing::FOLDER);
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The capstone, on the attendee's exercise 12: no hints, and no solution of its own.
async fn check_capstone(hint: bool, solution: bool) -> ExitCode {
    if hint || solution {
        eprintln!(
            "error: the capstone has no {}: its check says what is still missing. \
             `cargo run -p workshop check capstone`",
            match hint {
                true => "hints",
                false => "solution program",
            }
        );
        return ExitCode::from(2);
    }
    let base = match capstone::base() {
        Ok(base) => base,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    let programs = check::exercise_programs(&base);
    let customer = capstone::made_up_customer();
    println!(
        "Checking the capstone on your exercise {}: {} and {}",
        base.step.number, programs[0], programs[1]
    );
    println!(
        "Building them, running them on free ports, sending one request with `{}: {customer}`, \
         stopping them...\n",
        capstone::HEADER
    );
    let report = capstone::check(&programs, &customer).await;
    print!("{}", report.text);
    match report.verdict {
        Verdict::Done => ExitCode::SUCCESS,
        Verdict::NotYet => ExitCode::FAILURE,
        Verdict::CannotRun => ExitCode::from(2),
    }
}

/// Every exercise's state, a line each, the capstone last (on exercise 12's programs; with
/// `solution`, left out: it has none).
async fn check_all(solution: bool) -> ExitCode {
    let all = exercises::all();
    let width = all
        .iter()
        .map(|each| each.step.title.len())
        .max()
        .unwrap_or(0);
    let mut done = 0;
    let mut checked = 0;
    for exercise in &all {
        let programs = match solution {
            true => [exercise.step.frontend(), exercise.step.backend()],
            false => check::exercise_programs(exercise),
        };
        let report = check::check(exercise, &programs).await;
        checked += 1;
        let state = match report.verdict {
            Verdict::Done => {
                done += 1;
                "done".to_owned()
            }
            Verdict::NotYet => match report.problems.len() {
                1 => "not yet: 1 thing to do".to_owned(),
                n => format!("not yet: {n} things to do"),
            },
            Verdict::CannotRun => "does not run yet".to_owned(),
        };
        println!(
            "{}  {:<width$}  {state}",
            exercise.step.number, exercise.step.title
        );
    }
    if let (false, Ok(base)) = (solution, capstone::base()) {
        let programs = check::exercise_programs(&base);
        let report = capstone::check(&programs, &capstone::made_up_customer()).await;
        checked += 1;
        let state = match report.verdict {
            Verdict::Done => {
                done += 1;
                "done"
            }
            Verdict::NotYet => "not yet",
            Verdict::CannotRun => "does not run yet",
        };
        println!("{}  {:<width$}  {state}", capstone::NAME, "on exercise 12");
    }
    // It builds the attendee's tests once per mistake: minutes, not seconds.
    println!(
        "{}  {:<width$}  not checked here: `cargo run -p workshop check {}`",
        testing::NAME,
        "your tests of step 05's backend",
        testing::NAME
    );
    println!(
        "\n{done} of {checked} done. `cargo run -p workshop check NN` says what one still lacks."
    );
    match done == checked {
        true => ExitCode::SUCCESS,
        false => ExitCode::FAILURE,
    }
}

/// Shows a request made slow by a hidden fault and asks where the time goes; with `answer`,
/// judges the answer to the fault last shown.
async fn run_diagnosis(diagnosis: &Diagnosis, answer: &[String]) -> ExitCode {
    let name = diagnosis.name;
    if !answer.is_empty() {
        let given: Result<Vec<_>, _> = answer.iter().map(|a| diagnosis::parse_share(a)).collect();
        let given = match given {
            Ok(given) => given,
            Err(message) => {
                eprintln!("error: {message}");
                return ExitCode::from(2);
            }
        };
        let fault = match diagnosis.kept() {
            Ok(Some(fault)) => fault,
            Ok(None) => {
                eprintln!(
                    "error: no request to answer for: `cargo run -p workshop check {name}` \
                     shows one first"
                );
                return ExitCode::from(2);
            }
            Err(message) => {
                eprintln!("error: {message}");
                return ExitCode::from(2);
            }
        };
        let hints = diagnosis::judge(&fault, &given);
        if hints.is_empty() {
            let fault: Vec<String> = fault.iter().map(ToString::to_string).collect();
            println!(
                "Right: the fault hidden in that request was {}. Run `cargo run -p workshop \
                 check {name}` again for another.",
                fault.join(" and ")
            );
            return ExitCode::SUCCESS;
        }
        println!("Not quite:");
        for hint in hints {
            println!("  - {hint}");
        }
        println!(
            "\nAnswer again: the request is the same until you answer it right (`check {name}` \
             without `--answer` draws a new one)."
        );
        return ExitCode::FAILURE;
    }
    println!("Diagnosis {name}: {}", diagnosis.title);
    println!(
        "Running step 08's programs with a fault hidden in them, and sending one request...\n"
    );
    let fault = diagnosis.draw();
    let spans = match diagnosis::run_with(&fault).await {
        Ok(spans) => spans,
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(2);
        }
    };
    if let Err(message) = diagnosis.keep(&fault) {
        eprintln!("error: {message}");
        return ExitCode::from(2);
    }
    println!("{}", diagnosis::drawn(&spans));
    for line in wrapped(diagnosis.question, 96) {
        println!("{line}");
    }
    println!();
    println!(
        "Answer with `cargo run -p workshop check {name} --answer network=120`, or \
         `--answer backend=60`, or both shares: `--answer network=80 backend=50`. Stuck? \
         `--hint`."
    );
    ExitCode::FAILURE
}

fn show_diagnosis_hint(diagnosis: &Diagnosis, number: usize) -> ExitCode {
    let count = diagnosis.hints.len();
    let Some(hint) = number.checked_sub(1).and_then(|at| diagnosis.hints.get(at)) else {
        eprintln!("error: {} has hints 1 to {count}", diagnosis.name);
        return ExitCode::from(2);
    };
    println!("Hint {number} of {count} for {}:\n\n{hint}", diagnosis.name);
    ExitCode::SUCCESS
}

fn reset(step: &str) -> ExitCode {
    let exercise = match choose_exercise(step) {
        Ok(exercise) => exercise,
        Err(code) => return code,
    };
    match exercise.reset() {
        Ok(Some(backup)) => {
            println!(
                "{} is the starter again; your files are in {}",
                exercise.folder(),
                backup.display()
            );
            ExitCode::SUCCESS
        }
        Ok(None) => {
            println!("{} is the starter again", exercise.folder());
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn write_starters() -> ExitCode {
    let result = exercises::all()
        .iter()
        .try_for_each(|exercise| {
            exercise.write()?;
            println!("wrote {}", exercise.folder());
            Ok::<(), String>(())
        })
        .and_then(|()| {
            testing::write_starter()?;
            println!("wrote {}", testing::FOLDER);
            Ok(())
        });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
