//! The exercises, as an attendee meets them: `cargo run -p workshop check NN` fails on every
//! untouched starter, saying what is missing, and passes on every step's own code.

// In a test, an unwrap is an assertion: a failure panics with the error, which fails the test.
#![allow(clippy::unwrap_used)]

use std::process::Command;

use workshop::{
    check::{self, Verdict},
    exercises, process,
};

#[tokio::test]
async fn the_check_fails_on_every_untouched_starter_and_passes_on_every_step() {
    let all = exercises::all();
    assert!(!all.is_empty());
    for exercise in &all {
        let number = exercise.step.number;
        let starter = check::check(exercise, &check::exercise_programs(exercise)).await;
        assert_eq!(
            starter.verdict,
            Verdict::NotYet,
            "starter {number}:\n{}",
            starter.text
        );
        assert!(!starter.problems.is_empty(), "starter {number}");

        let solution = [exercise.step.frontend(), exercise.step.backend()];
        let solved = check::check(exercise, &solution).await;
        assert_eq!(
            solved.verdict,
            Verdict::Done,
            "step {number}:\n{}",
            solved.text
        );
    }
}

#[tokio::test]
async fn the_starter_of_step_03_is_told_which_span_is_missing() {
    let exercise = exercises::find("03").unwrap();
    let report = check::check(&exercise, &check::exercise_programs(&exercise)).await;
    assert_eq!(
        report.problems,
        [
            "Your frontend exported one span, `incoming call` (server); the step expects \
          `backend call` (client), a child of `incoming call`, with the event `making backend \
          call`."
        ]
    );
}

/// The runner as an attendee runs it: its exit code, and what it prints.
fn runner(args: &[&str]) -> (Option<i32>, String, String) {
    let output = Command::new(process::program(process::RUNNER).unwrap())
        .args(args)
        .output()
        .expect("running the workshop runner");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn check_exits_1_on_a_starter_and_0_on_the_solution_as_the_book_shows() {
    let (code, stdout, _) = runner(&["check", "03"]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("\nNot yet:\n"), "{stdout}");
    assert!(stdout.contains("check 03 --hint"), "{stdout}");

    let (code, stdout, _) = runner(&["check", "03", "--solution"]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(
        stdout.contains("\nDone: that is step 03's trace."),
        "{stdout}"
    );
}

#[test]
fn hints_come_one_at_a_time_and_a_step_without_an_exercise_exits_2() {
    let exercise = exercises::find("03").unwrap();
    let (code, stdout, _) = runner(&["check", "03", "--hint"]);
    assert_eq!(code, Some(0));
    assert!(stdout.starts_with(&format!(
        "Hint 1 of {} for exercise 03:\n\n{}\n",
        exercise.hints().len(),
        exercise.hints()[0]
    )));
    assert!(stdout.contains("check 03 --hint 2`"), "{stdout}");

    let last = exercise.hints().len().to_string();
    let (code, stdout, _) = runner(&["check", "03", "--hint", &last]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains(exercise.hints().last().unwrap()));
    assert!(!stdout.contains("Still stuck?"), "{stdout}");

    let (code, _, stderr) = runner(&["check", "03", "--hint", "99"]);
    assert_eq!(
        (code, stderr.as_str()),
        (Some(2), "error: exercise 03 has hints 1 to 3\n")
    );

    let (code, _, stderr) = runner(&["check", "01"]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.starts_with("error: step 01 has no exercise; these steps do: "),
        "{stderr}"
    );
}
