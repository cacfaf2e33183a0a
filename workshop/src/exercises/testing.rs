//! The testing exercise: an attendee writes the unit tests of step 05's backend trace, and the
//! check judges the tests, not the trace. It runs them on the step's own code, which they must
//! pass, and on each mistake of the step's corpus (`steps/05-*/exercise.rs`), each of which
//! some test must catch; a mistake no test caught is named, in the corpus's words.

use std::{
    fs,
    path::{Path, PathBuf},
    sync::{
        Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use crate::{
    exercises::{self, StepExercise, starters},
    harness::process::{self, TestRun},
    steps::{
        exercise::{Mistake, Todo},
        repository,
    },
};

/// The exercise's name.
pub const NAME: &str = "testing";

/// The step whose trace the tests are of.
pub const STEP: &str = "05";

/// The program whose unit tests they are: the one that extracts the caller's context.
pub const PROGRAM: &str = "backend";

/// The starter's folder, under the repository, and its package: step 05's backend whose
/// `src/tests.rs` the attendee writes.
pub const FOLDER: &str = "exercises/testing";
pub const PACKAGE: &str = "exercise-testing-backend";

/// The file the attendee writes, under the repository.
pub fn tests_file() -> PathBuf {
    repository().join(FOLDER).join(PROGRAM).join("src/tests.rs")
}

/// The step's own tests, the solution: `steps/05-*/backend/src/tests.rs`.
pub fn solution_tests() -> Result<String, String> {
    let exercise = exercises::find(STEP)?;
    let path = repository()
        .join("steps")
        .join(exercise.step.folder)
        .join(PROGRAM)
        .join("src/tests.rs");
    fs::read_to_string(&path).map_err(|error| format!("cannot read {}: {error}", path.display()))
}

/// The region of the step's tests the starter leaves to the attendee: the tests that only a
/// caller's trace headers can tell right from wrong.
const TODO: Todo = Todo {
    file: "backend/src/tests.rs",
    region: "testing_todo",
    say: r#"
    The test above catches a server span of the wrong kind, or without its event: the
    outline shows both. It cannot catch a backend that ignores the caller's trace headers,
    for it sends none. Write tests that send `traceparent` and `baggage` (the constants
    `TRACE_ID` and `PARENT_ID` are ready) and assert what the span must then be: in the
    caller's trace, a child of the caller's span (remote), with each baggage entry as an
    attribute. Assert relations and values the test chose, never ids the SDK made up or
    timings.
    "#,
    stand_in: "",
};

/// The hints, from a first pointer to nearly the answer.
pub const HINTS: &[&str] = &[
    r#"
    Copy the example's shape: `backend()`, one `in_process::get` with headers, then the
    spans from `exporter.get_finished_spans()`. A header is `("traceparent",
    traceparent.as_bytes())`, where `traceparent` is `format!("00-{TRACE_ID}-{PARENT_ID}-01")`;
    baggage is `("baggage", b"demo.origin=frontend")`.
    "#,
    r#"
    The span must have the caller's trace id, `TraceId::from_hex(TRACE_ID)`, and the caller's
    span as parent, `Some(SpanId::from_hex(PARENT_ID))`; the SDK's `SpanData` says the parent
    is remote (`parent_span_is_remote`). The outline shows the baggage as an attribute:
    `demo.origin=frontend`, and `parent elsewhere` for a parent in another process.
    "#,
    r#"
    Nearly the answer: send both headers, then assert that `outline(&spans)` is
    `"backend: backend call received (server, parent elsewhere) demo.origin=frontend\n  event: handling backend call\n"`,
    that `spans[0].trace_id` and `spans[0].parent_span_id` are the caller's, and that the
    SDK's `exported[0].parent_span_is_remote`.
    "#,
];

/// How long the attendee's tests may run on one variant of the program, once built: a test that
/// waits forever (a span that never ends, a request never answered) must not hang the check.
pub const TEST_TIME_LIMIT: Duration = Duration::from_secs(60);

/// The starter's files, as (path relative to the repository, contents): the step's backend as
/// a package of its own, [`PACKAGE`], whose `src/tests.rs` keeps the step's tests but for the
/// region [`TODO`] asks for.
pub fn starter() -> Result<Vec<(String, String)>, String> {
    let exercise = exercises::find(STEP)?;
    let tests = starter_tests(&exercise, &solution_tests()?)?;
    let files = exercise.program_with_tests(PROGRAM, PACKAGE, None, &tests)?;
    Ok(files
        .into_iter()
        .map(|(relative, text)| {
            let text = match relative.ends_with("Cargo.toml") {
                true => text.replace(
                    "description = \"an attendee's tests\"",
                    &format!(
                        "description = \"The testing exercise: step {STEP}'s backend, whose \
                         unit tests you write\""
                    ),
                ),
                false => text,
            };
            (format!("{FOLDER}/{relative}"), text)
        })
        .collect())
}

/// The step's tests with the region [`TODO`] left to the attendee, under a header that says
/// what the file is.
fn starter_tests(exercise: &StepExercise, tests: &str) -> Result<String, String> {
    let header = format!(
        "// The testing exercise: made from steps/{}/{PROGRAM}/src/tests.rs by\n\
         // `cargo run -p workshop starters`. Write the tests the TODO asks for, then run them\n\
         // with `cargo test -p {PACKAGE}`; `cargo run -p workshop check {NAME}` says\n\
         // which mistakes they still miss, and `cargo run -p workshop reset {NAME}` gives this\n\
         // file back.\n",
        exercise.step.folder
    );
    Ok(starters::with_header(
        &TODO.replace_region(tests)?,
        &header,
        "// Until the TODO is done, some of what the file imports or holds is unused.\n\
         #![allow(dead_code, unused_imports)]\n",
    ))
}

/// Writes the starter, replacing what its folder held.
pub fn write_starter() -> Result<(), String> {
    starters::write_folder(&repository(), FOLDER, &starter()?)
}

/// Gives the attendee the starter back. What the folder held, if it differs from the starter,
/// is first copied to `target/exercise-backups/testing-<seconds since 1970>/`, whose path is
/// returned.
pub fn reset_starter() -> Result<Option<PathBuf>, String> {
    let backup = process::target_dir()?.join("exercise-backups").join(NAME);
    starters::reset_folder(&repository(), FOLDER, &starter()?, &backup)
}

/// What the tests made of: the verdict and the words for the attendee.
#[derive(Debug)]
pub struct Judged {
    /// Whether the tests pass on the step's own code.
    pub pass_on_the_step: bool,
    /// What cargo and the tests printed there, for an attendee whose tests fail on it.
    pub printed_on_the_step: String,
    /// The mistakes of the corpus that no test caught, by what they are.
    pub slipped: Vec<&'static str>,
    /// The mistakes with which the tests ran past the time limit, and were stopped: caught,
    /// since the tests did not pass, but slowly.
    pub hung: Vec<&'static str>,
    /// The mistakes with which the tests did not compile, by what they are, with what cargo
    /// said: neither caught nor missed (a test that no longer compiles catches nothing).
    pub not_built: Vec<(&'static str, String)>,
    /// How many mistakes the corpus holds.
    pub mistakes: usize,
    /// Whether the tests ran past `time_limit` on the step, and were stopped.
    pub timed_out_on_the_step: bool,
    /// How long the tests may run on each variant of the program, once built.
    pub time_limit: Duration,
}

impl Judged {
    /// Done: the tests pass on the step and catch every mistake.
    pub fn done(&self) -> bool {
        self.pass_on_the_step && self.slipped.is_empty() && self.not_built.is_empty()
    }

    /// The words for the attendee.
    pub fn text(&self) -> String {
        if self.timed_out_on_the_step {
            return format!(
                "Your tests did not finish within {} s on step {STEP}'s own {PROGRAM}, and were \
                 stopped: a test waits for something that never comes (a span that never ends, \
                 an answer never read). What they printed until then:\n\n{}",
                self.time_limit.as_secs(),
                self.printed_on_the_step.trim_end()
            );
        }
        if !self.pass_on_the_step {
            return format!(
                "Your tests fail on step {STEP}'s own {PROGRAM}, whose trace is right: a test \
                 must pass on right code before its failing means anything. What cargo said:\n\n\
                 {}",
                self.printed_on_the_step.trim_end()
            );
        }
        if let Some((what, printed)) = self.not_built.first() {
            return format!(
                "With the mistake \"{what}\" made in step {STEP}'s {PROGRAM}, your tests do not \
                 compile, so they cannot say whether they catch it. Test what the {PROGRAM} \
                 exports, not how its code is written. What cargo said:\n\n{}",
                printed.trim_end()
            );
        }
        let mut hung = String::new();
        if !self.hung.is_empty() {
            hung.push_str(&format!(
                "With these made, your tests ran past {} s and were stopped: caught, but a test \
                 that waits forever is slow to say so (wait with a time limit, \
                 `tokio::time::timeout`).\n",
                self.time_limit.as_secs()
            ));
            for what in &self.hung {
                hung.push_str(&super::check::compare::bullet(what));
            }
        }
        if self.slipped.is_empty() {
            return format!(
                "Your tests pass on step {STEP}'s {PROGRAM} and catch all {} mistakes of its \
                 corpus.\n{hung}",
                self.mistakes
            );
        }
        let mut text = format!(
            "Your tests pass on step {STEP}'s {PROGRAM}, and catch {} of the {} mistakes of its \
             corpus. These slipped through: the tests still pass with them made.\n",
            self.mistakes - self.slipped.len(),
            self.mistakes
        );
        for what in &self.slipped {
            text.push_str(&super::check::compare::bullet(what));
        }
        text.push_str(&hung);
        text
    }
}

/// The step as the exercise sees it, and the mistakes of its corpus made in [`PROGRAM`].
fn corpus() -> Result<(StepExercise, Vec<&'static Mistake>), String> {
    let exercise = exercises::find(STEP)?;
    let mistakes = exercise
        .exercise
        .mistakes
        .iter()
        .filter(|mistake| mistake.program() == PROGRAM)
        .collect();
    Ok((exercise, mistakes))
}

/// Runs `tests` (the text of a `tests.rs` for step 05's backend) on the step and on each
/// mistake of its corpus, for at most `time_limit` on each once built, in a scratch workspace
/// under `scratch`, which it leaves behind.
pub fn judge_in(tests: &str, scratch: &Path, time_limit: Duration) -> Result<Judged, String> {
    // One judgement at a time in a process: the variants' packages have the same names in every
    // scratch workspace, and cargo builds them into the same files of the one target folder.
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _turn = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let (exercise, mistakes) = corpus()?;
    let variants: Vec<(String, Option<&Mistake>)> = std::iter::once(("step".to_owned(), None))
        .chain(
            mistakes
                .iter()
                .enumerate()
                .map(|(index, mistake)| (format!("mistake-{}", index + 1), Some(*mistake))),
        )
        .collect();
    let mut members = Vec::new();
    for (variant, mistake) in &variants {
        let package = format!("testing-{variant}-{PROGRAM}");
        for (relative, text) in exercise.program_with_tests(PROGRAM, &package, *mistake, tests)? {
            write(&scratch.join(variant).join(relative), &text)?;
        }
        members.push(format!("{variant}/{PROGRAM}"));
    }
    write(
        &scratch.join("Cargo.toml"),
        &process::scratch_manifest(&members)?,
    )?;
    let lock = crate::steps::repository().join("Cargo.lock");
    fs::copy(&lock, scratch.join("Cargo.lock"))
        .map_err(|error| format!("cannot copy {}: {error}", lock.display()))?;

    let mut judged = Judged {
        pass_on_the_step: false,
        printed_on_the_step: String::new(),
        slipped: Vec::new(),
        hung: Vec::new(),
        not_built: Vec::new(),
        mistakes: mistakes.len(),
        timed_out_on_the_step: false,
        time_limit,
    };
    for (variant, mistake) in &variants {
        let package = format!("testing-{variant}-{PROGRAM}");
        match (process::test_in(scratch, &package, time_limit)?, mistake) {
            (TestRun::Passed(printed), None) => {
                judged.pass_on_the_step = true;
                judged.printed_on_the_step = printed;
            }
            (TestRun::TimedOut(printed), None) => {
                judged.timed_out_on_the_step = true;
                judged.printed_on_the_step = printed;
                return Ok(judged);
            }
            // Tests that hang with the mistake made do not pass: it is caught, slowly.
            (TestRun::TimedOut(_), Some(mistake)) => judged.hung.push(mistake.what),
            // Failing on right code, the tests say nothing of the mistakes.
            (TestRun::Failed(printed) | TestRun::DidNotBuild(printed), None) => {
                judged.printed_on_the_step = printed;
                return Ok(judged);
            }
            (TestRun::Passed(_), Some(mistake)) => judged.slipped.push(mistake.what),
            (TestRun::Failed(_), Some(_)) => {}
            (TestRun::DidNotBuild(printed), Some(mistake)) => {
                judged.not_built.push((mistake.what, printed));
            }
        }
    }
    Ok(judged)
}

/// As [`judge_in`], in a scratch folder of its own under the target folder, removed after.
pub fn judge(tests: &str) -> Result<Judged, String> {
    // One folder per call, though several run at once in one process.
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, Ordering::Relaxed);
    let scratch = process::target_dir()?.join(format!("testing-{}-{call}", std::process::id()));
    let judged = judge_in(tests, &scratch, TEST_TIME_LIMIT);
    // Left behind only if it cannot be removed; the next `cargo clean` takes it.
    let _ = fs::remove_dir_all(&scratch);
    judged
}

fn write(path: &Path, contents: &str) -> Result<(), String> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)
            .map_err(|error| format!("cannot create {}: {error}", parent.display()))?;
    }
    fs::write(path, contents).map_err(|error| format!("cannot write {}: {error}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_committed_starter_is_what_the_generator_makes_from_the_step() {
        for (path, contents) in starter().unwrap() {
            let committed = fs::read_to_string(repository().join(&path)).unwrap_or_default();
            assert!(
                committed == contents,
                "{path} is stale: run `cargo run -p workshop starters`"
            );
        }
    }

    /// In CI's fresh clone, `exercises/` holds the steps' starters and this one, and nothing else.
    #[test]
    fn exercises_holds_the_starters_and_nothing_else_in_ci() {
        if std::env::var_os("CI").is_none() {
            println!("not checked outside CI: an attendee's own files under exercises/ are theirs");
            return;
        }
        let mut expected: Vec<String> = starter()
            .unwrap()
            .into_iter()
            .map(|(path, _)| path)
            .collect();
        for exercise in exercises::all() {
            expected.extend(
                exercise
                    .starter()
                    .unwrap()
                    .into_iter()
                    .map(|(path, _)| path),
            );
        }
        expected.sort();
        assert_eq!(starters::committed_files(), expected);
    }

    #[test]
    fn the_starter_leaves_the_todo_region_to_the_attendee_and_keeps_the_example() {
        let tests =
            starter_tests(&exercises::find(STEP).unwrap(), &solution_tests().unwrap()).unwrap();
        assert!(tests.contains("async fn without_trace_headers_starts_a_new_trace()"));
        assert!(!tests.contains("async fn continues_the_callers_trace"));
        assert!(!tests.contains("async fn decodes_every_baggage_entry"));
        assert!(tests.contains("// TODO: The test above catches"));
        assert!(
            tests.lines().all(|line| line.chars().count() <= 100),
            "{tests}"
        );
    }
}
