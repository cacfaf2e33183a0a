//! The testing exercise: an attendee writes the unit tests of step 05's backend trace, and the
//! check judges the tests, not the trace. It runs them on the step's own code, which they must
//! pass, and on each mistake of the step's corpus (`steps/05-*/exercise.rs`), each of which
//! some test must catch; a mistake no test caught is named, in the corpus's words.

use std::{
    fs,
    path::Path,
    sync::atomic::{AtomicUsize, Ordering},
};

use crate::{
    exercises::{self, StepExercise},
    harness::process::{self, TestRun},
    steps::exercise::Mistake,
};

/// The exercise's name.
pub const NAME: &str = "testing";

/// The step whose trace the tests are of.
pub const STEP: &str = "05";

/// The program whose unit tests they are: the one that extracts the caller's context.
pub const PROGRAM: &str = "backend";

/// What the tests made of: the verdict and the words for the attendee.
#[derive(Debug)]
pub struct Judged {
    /// Whether the tests pass on the step's own code.
    pub pass_on_the_step: bool,
    /// What cargo and the tests printed there, for an attendee whose tests fail on it.
    pub printed_on_the_step: String,
    /// The mistakes of the corpus that no test caught, by what they are.
    pub slipped: Vec<&'static str>,
    /// The mistakes with which the tests did not compile, by what they are, with what cargo
    /// said: neither caught nor missed (a test that no longer compiles catches nothing).
    pub not_built: Vec<(&'static str, String)>,
    /// How many mistakes the corpus holds.
    pub mistakes: usize,
}

impl Judged {
    /// Done: the tests pass on the step and catch every mistake.
    pub fn done(&self) -> bool {
        self.pass_on_the_step && self.slipped.is_empty() && self.not_built.is_empty()
    }

    /// The words for the attendee.
    pub fn text(&self) -> String {
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
        if self.slipped.is_empty() {
            return format!(
                "Your tests pass on step {STEP}'s {PROGRAM} and catch all {} mistakes of its \
                 corpus.\n",
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
/// mistake of its corpus, in a scratch workspace under `scratch`, which it leaves behind.
pub fn judge_in(tests: &str, scratch: &Path) -> Result<Judged, String> {
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
        not_built: Vec::new(),
        mistakes: mistakes.len(),
    };
    for (variant, mistake) in &variants {
        let package = format!("testing-{variant}-{PROGRAM}");
        match (process::test_in(scratch, &package)?, mistake) {
            (TestRun::Passed(printed), None) => {
                judged.pass_on_the_step = true;
                judged.printed_on_the_step = printed;
            }
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
    let judged = judge_in(tests, &scratch);
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
