//! The exercises, as an attendee meets them: `cargo run -p workshop check NN` fails on every
//! untouched starter, saying what is missing, and passes on every step's own code.

// In a test, an unwrap is an assertion: a failure panics with the error, which fails the test.
#![allow(clippy::unwrap_used)]

use std::{fs, path::Path, process::Command, time::Duration};

use futures_util::StreamExt;

use workshop::{
    exercises,
    exercises::capstone,
    exercises::check::{self, Verdict},
    exercises::diagnosis::{self, Place, Share},
    exercises::testing,
    harness::process,
    steps::{exercise, repository},
};

/// Whether `exercise`'s starter is as generated. Where an attendee has worked on it, the tests
/// of the starter skip it, saying so: the check on their work is theirs to run. In CI, where
/// every starter is as generated (a test holds them to it), they never skip.
fn untouched(exercise: &exercises::StepExercise) -> bool {
    let changed = exercise.changed_files().unwrap();
    if changed.is_empty() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "in CI every starter is as generated: {changed:?}"
    );
    println!(
        "skipped the starter of exercise {}: {changed:?} hold your own work",
        exercise.step.number
    );
    false
}

#[tokio::test]
async fn the_check_fails_on_every_untouched_starter_and_passes_on_every_step() {
    let all = exercises::all();
    assert!(!all.is_empty());
    // (exercise, its programs, whether the check must pass): the solutions, and the starters.
    let mut runs = Vec::new();
    for exercise in &all {
        runs.push((
            exercise,
            [exercise.step.frontend(), exercise.step.backend()],
            true,
        ));
        if untouched(exercise) {
            runs.push((exercise, check::exercise_programs(exercise), false));
        }
    }
    let reports: Vec<_> = futures_util::stream::iter(&runs)
        .map(|(exercise, programs, _)| check::check(exercise, programs))
        .buffered(4)
        .collect()
        .await;
    for ((exercise, programs, passes), report) in runs.iter().zip(reports) {
        let expected = match passes {
            true => Verdict::Done,
            false => Verdict::NotYet,
        };
        assert_eq!(report.verdict, expected, "{programs:?}:\n{}", report.text);
        assert_eq!(
            report.problems.is_empty(),
            *passes,
            "{}",
            exercise.step.number
        );
    }
}

#[tokio::test]
async fn the_starter_of_step_03_is_told_which_span_is_missing() {
    let exercise = exercises::find("03").unwrap();
    if !untouched(&exercise) {
        return;
    }
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
    if untouched(&exercises::find("03").unwrap()) {
        let (code, stdout, _) = runner(&["check", "03"]);
        assert_eq!(code, Some(1), "{stdout}");
        assert!(stdout.contains("\nNot yet:\n"), "{stdout}");
        assert!(stdout.contains("check 03 --hint"), "{stdout}");
    }

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

fn write(folder: &Path, relative: &str, contents: &str) {
    let path = folder.join(relative);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, contents).unwrap();
}

/// Changes to a step's own code that are no mistake, as (step, change): the check must say
/// `Done`, and the words in `diagnosis` (its note on them).
const ALSO_RIGHT: [(&str, exercise::Mistake); 1] = [(
    "10",
    exercise::Mistake {
        what: "tracing-opentelemetry's layer left with its defaults, as a service keeps it",
        file: "frontend/src/main.rs",
        replace: "        .with_location(false)\n        .with_threads(false)\n        \
                  .with_tracked_inactivity(false)\n        .with_target(false)\n",
        with: "",
        diagnosis: "Keep them in a service",
    },
)];

/// Each mistake of each exercise's corpus (`mistakes` in its step's `exercise.rs`) made in the
/// step's own code, built in a scratch workspace, and checked: the check must fail, with the
/// diagnosis meant for that mistake. Each change of [`ALSO_RIGHT`] must pass, with its note.
#[tokio::test]
async fn every_mistake_of_the_corpus_is_caught_with_its_own_diagnosis() {
    let scratch = process::target_dir()
        .unwrap()
        .join(format!("mistakes-{}", std::process::id()));
    let mut members = Vec::new();
    let mut built = Vec::new();
    let mut cases = Vec::new();
    for exercise in exercises::all() {
        let also_right = ALSO_RIGHT
            .iter()
            .filter(|(step, _)| *step == exercise.step.number)
            .map(|(_, change)| (change, true));
        let mistakes = exercise
            .exercise
            .mistakes
            .iter()
            .map(|mistake| (mistake, false));
        for (index, (mistake, right)) in mistakes.chain(also_right).enumerate() {
            let folder = format!("{}-{}", exercise.step.number, index + 1);
            let packages: Vec<(&str, String)> = exercise
                .mistaken_programs(mistake)
                .unwrap()
                .into_iter()
                .map(|program| (program, format!("mistake-{folder}-{program}")))
                .collect();
            for (relative, text) in exercise.with_mistake(mistake, &packages).unwrap() {
                write(&scratch.join(&folder), &relative, &text);
            }
            let package_of = |program: &str, step_package: String| {
                packages
                    .iter()
                    .find(|(each, _)| *each == program)
                    .map_or(step_package, |(_, package)| package.clone())
            };
            let programs = [
                package_of("frontend", exercise.step.frontend()),
                package_of("backend", exercise.step.backend()),
            ];
            for (program, package) in &packages {
                members.push(format!("{folder}/{program}"));
                built.push(package.clone());
            }
            cases.push((exercise, mistake, right, programs));
        }
    }
    assert!(cases.len() >= 20, "only {} mistakes", cases.len());
    write(
        &scratch,
        "Cargo.toml",
        &process::scratch_manifest(&members).unwrap(),
    );
    fs::copy(repository().join("Cargo.lock"), scratch.join("Cargo.lock")).unwrap();
    process::build_in(&scratch, &built).unwrap();

    // A few at a time: each runs three programs, and the checks' timings are lower bounds.
    let reports: Vec<_> = futures_util::stream::iter(&cases)
        .map(|(exercise, _, _, programs)| check::check(exercise, programs))
        .buffered(4)
        .collect()
        .await;
    let mut missed = Vec::new();
    for ((exercise, mistake, right, _), report) in cases.iter().zip(reports) {
        let caught = match right {
            true => report.verdict == Verdict::Done && report.text.contains(mistake.diagnosis),
            false => {
                report.verdict == Verdict::NotYet
                    && report
                        .problems
                        .iter()
                        .any(|problem| problem.contains(mistake.diagnosis))
            }
        };
        if !caught {
            missed.push(format!(
                "step {}, {}: expected {:?} among\n{}",
                exercise.step.number, mistake.what, mistake.diagnosis, report.text
            ));
        }
    }
    fs::remove_dir_all(&scratch).unwrap();
    assert!(missed.is_empty(), "{}", missed.join("\n\n"));
}

/// The capstone, on step 12's own programs and on two answers made from them: the step as it is
/// records no customer, half an answer (the frontend only) is told the backend still lacks it,
/// and `capstone::ONE_ANSWER` is done.
#[tokio::test]
async fn the_capstone_says_what_is_missing_until_both_services_record_the_customer() {
    let exercise = capstone::base().unwrap();
    let scratch = process::target_dir()
        .unwrap()
        .join(format!("capstone-{}", std::process::id()));
    let [(first, first_with), rest @ ..] = capstone::ONE_ANSWER;
    let mut members = Vec::new();
    let mut built = Vec::new();
    let mut frontends = Vec::new();
    for (answer, whole) in [("half", false), ("whole", true)] {
        let change = exercise::Mistake {
            what: "the capstone's answer",
            file: "frontend/src/main.rs",
            replace: first,
            with: first_with,
            diagnosis: "",
        };
        let package = format!("mistake-12-capstone-{answer}-frontend");
        let packages = [("frontend", package.clone())];
        for (relative, mut text) in exercise.with_mistake(&change, &packages).unwrap() {
            if whole && relative == change.file {
                for (replace, with) in rest {
                    assert_eq!(text.matches(replace).count(), 1, "{replace:?}");
                    text = text.replacen(replace, with, 1);
                }
            }
            write(&scratch.join(answer), &relative, &text);
        }
        members.push(format!("{answer}/frontend"));
        built.push(package.clone());
        frontends.push(package);
    }
    write(
        &scratch,
        "Cargo.toml",
        &process::scratch_manifest(&members).unwrap(),
    );
    fs::copy(repository().join("Cargo.lock"), scratch.join("Cargo.lock")).unwrap();
    process::build_in(&scratch, &built).unwrap();

    let backend = exercise.step.backend();
    let customer = capstone::made_up_customer();
    let cases = [
        (
            exercise.step.frontend(),
            None,
            "No span of your frontend records the customer",
        ),
        (
            frontends[0].clone(),
            None,
            "Your backend's `backend call received` does not record the customer",
        ),
        (frontends[1].clone(), Some(()), "Done: support finds"),
    ];
    let mut wrong = Vec::new();
    for (frontend, done, words) in cases {
        let report = capstone::check(&[frontend.clone(), backend.clone()], &customer).await;
        let verdict = match done {
            Some(()) => Verdict::Done,
            None => Verdict::NotYet,
        };
        if report.verdict != verdict || !report.text.contains(words) {
            wrong.push(format!(
                "{frontend}: expected {verdict:?} with {words:?}, got {:?}:\n{}",
                report.verdict, report.text
            ));
        }
    }
    fs::remove_dir_all(&scratch).unwrap();
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

/// A diagnosis exercise can be answered from the trace alone: the shares read off the exported
/// spans the way the latency chapter reads them (the larger one where one share is to blame)
/// are judged right, for each kind of fault, at the smallest sizes the exercises draw.
#[tokio::test]
async fn each_hidden_fault_is_found_from_the_trace_alone() {
    let faults = [
        vec![Share {
            place: Place::Network,
            ms: 80,
        }],
        vec![Share {
            place: Place::Backend,
            ms: 80,
        }],
        vec![
            Share {
                place: Place::Network,
                ms: 60,
            },
            Share {
                place: Place::Backend,
                ms: 50,
            },
        ],
    ];
    // A machine busy with other tests (this file runs checks four at a time, and CI runs the
    // suite again with eight threads on two cores) can add tens of milliseconds to a share:
    // load only ever adds time, so one request of three read right proves the trace carries
    // the answer, and a reading that is wrong each time is a real failure.
    const ATTEMPTS: usize = 3;
    for fault in faults {
        let mut misses = Vec::new();
        for _ in 0..ATTEMPTS {
            let spans = diagnosis::run_with(&fault).await.unwrap();
            let mut read = diagnosis::read_shares(&spans).unwrap();
            if fault.len() == 1 {
                read.sort_by_key(|share| std::cmp::Reverse(share.ms));
                read.truncate(1);
            }
            let hints = diagnosis::judge(&fault, &read);
            println!("hidden {fault:?}, read off the trace {read:?}");
            if hints.is_empty() {
                break;
            }
            misses.push(format!(
                "read {read:?}: {hints:?}\n{}",
                diagnosis::drawn(&spans)
            ));
        }
        assert!(
            misses.len() < ATTEMPTS,
            "fault {fault:?}, read wrong {ATTEMPTS} times:\n{}",
            misses.join("\n")
        );
    }
}

#[test]
fn a_diagnosis_is_shown_then_answered_wrongly_with_a_hint_then_rightly() {
    let (code, stdout, stderr) = runner(&["check", "latency-1"]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("backend call received"), "{stdout}");
    assert!(stdout.contains("--answer network=120"), "{stdout}");
    let kept = diagnosis::find("latency-1")
        .unwrap()
        .kept()
        .unwrap()
        .unwrap();
    let wrong = match kept[0].place {
        Place::Network => "backend=500",
        Place::Backend => "network=500",
    };
    let (code, stdout, _) = runner(&["check", "latency-1", "--answer", wrong]);
    assert_eq!(code, Some(1), "{stdout}");
    assert!(stdout.contains("Look again"), "{stdout}");
    let (code, stdout, _) = runner(&["check", "latency-1", "--answer", &kept[0].to_string()]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.starts_with("Right: "), "{stdout}");
}

/// The testing exercise's starter, as committed: its example test passes on the step and
/// catches the mistakes the outline shows, and misses the three that only a caller's trace
/// headers reveal, each named; and a test that waits forever is stopped at the time limit, and
/// said to be one.
#[test]
fn the_testing_starter_misses_what_needs_trace_headers_and_a_hanging_test_is_stopped() {
    let starter = fs::read_to_string(testing::tests_file()).unwrap();
    let judged = testing::judge(&starter).unwrap();
    assert!(judged.pass_on_the_step, "{}", judged.text());
    assert_eq!(
        judged.slipped,
        [
            "the server span started without the extracted context",
            "the context extracted from empty headers",
            "the baggage not recorded on the span",
        ],
        "{}",
        judged.text()
    );
    assert!(!judged.done());
    assert!(
        judged.text().contains("catch 2 of the 5 mistakes"),
        "{}",
        judged.text()
    );

    let hanging = format!(
        "{starter}\n#[tokio::test]\nasync fn waits_forever() {{\n    \
         std::future::pending::<()>().await;\n}}\n"
    );
    let scratch = workshop::harness::process::target_dir()
        .unwrap()
        .join(format!("testing-hangs-{}", std::process::id()));
    let judged = testing::judge_in(&hanging, &scratch, Duration::from_secs(5)).unwrap();
    let _ = fs::remove_dir_all(&scratch);
    assert!(judged.timed_out_on_the_step, "{}", judged.text());
    assert!(!judged.done());
    assert!(
        judged.text().contains("did not finish within 5 s"),
        "{}",
        judged.text()
    );
}

/// The testing exercise's check, on step 05's own unit tests of its backend (which catch every
/// mistake of its corpus), on those tests but one (which pass, and miss what the caller's
/// context and baggage show), and on a test that is wrong about the step's trace.
#[test]
fn the_testing_check_passes_the_steps_own_tests_and_names_the_mistakes_weaker_tests_miss() {
    let own =
        fs::read_to_string(repository().join("steps/05-backend-extraction/backend/src/tests.rs"))
            .unwrap();
    let judged = testing::judge(&own).unwrap();
    assert!(judged.done(), "{}", judged.text());
    assert_eq!(judged.mistakes, 5, "{}", judged.text());
    assert!(
        judged.text().contains("catch all 5 mistakes"),
        "{}",
        judged.text()
    );

    // The file's helpers and its test of a request without trace headers: the server span's
    // kind, name and event are tested, the caller's context and the baggage are not.
    let mut parts = own.split("\n#[tokio::test]\n");
    let helpers = parts.next().unwrap();
    let without_headers = parts
        .find(|test| test.contains("fn without_trace_headers_starts_a_new_trace()"))
        .unwrap();
    let weaker = format!("#![allow(unused_imports)]\n{helpers}\n#[tokio::test]\n{without_headers}");
    let judged = testing::judge(&weaker).unwrap();
    assert!(judged.pass_on_the_step, "{}", judged.text());
    assert_eq!(
        judged.slipped,
        [
            "the server span started without the extracted context",
            "the context extracted from empty headers",
            "the baggage not recorded on the span",
        ],
        "{}",
        judged.text()
    );
    assert!(!judged.done());
    assert!(
        judged
            .text()
            .contains("catch 2 of the 5 mistakes of its corpus. These slipped through"),
        "{}",
        judged.text()
    );

    // Tests that read the code instead of what it exports: with the first mistake made, they
    // do not compile (a `const` that holds only while main.rs has the line the mistake changes),
    // which is no catch.
    let reads_the_code = format!(
        "{weaker}\n\
         const MAIN: &[u8] = include_bytes!(\"main.rs\");\n\
         const LINE: &[u8] = b\".start_with_context(tracer, &parent_cx);\";\n\
         const fn has_line() -> bool {{\n\
         \x20   let mut at = 0;\n\
         \x20   while at + LINE.len() <= MAIN.len() {{\n\
         \x20       let mut same = 0;\n\
         \x20       while same < LINE.len() && MAIN[at + same] == LINE[same] {{\n\
         \x20           same += 1;\n\
         \x20       }}\n\
         \x20       if same == LINE.len() {{\n\
         \x20           return true;\n\
         \x20       }}\n\
         \x20       at += 1;\n\
         \x20   }}\n\
         \x20   false\n\
         }}\n\
         const _: () = assert!(has_line(), \"the line is gone\");\n"
    );
    let judged = testing::judge(&reads_the_code).unwrap();
    assert!(judged.pass_on_the_step, "{}", judged.text());
    assert_eq!(
        judged
            .not_built
            .iter()
            .map(|(what, _)| *what)
            .collect::<Vec<_>>(),
        ["the server span started without the extracted context"],
        "{}",
        judged.text()
    );
    assert!(!judged.done());
    assert!(
        judged.text().starts_with(
            "With the mistake \"the server span started without the extracted context\" made"
        ) && judged.text().contains("the line is gone"),
        "{}",
        judged.text()
    );

    // A test that expects the span under another name fails on the step: nothing more is said.
    let wrong = weaker.replace(
        "backend: backend call received (server)",
        "backend: backend call",
    );
    assert_ne!(wrong, weaker);
    let judged = testing::judge(&wrong).unwrap();
    assert!(!judged.pass_on_the_step);
    assert!(
        judged
            .text()
            .starts_with("Your tests fail on step 05's own backend")
            && judged
                .text()
                .contains("without_trace_headers_starts_a_new_trace"),
        "{}",
        judged.text()
    );
}
