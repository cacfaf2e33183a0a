//! The book shows only what the code and the programs really are: its Rust is included from
//! the crates, its diffs and trace pictures are made from the steps and still match them, its
//! includes resolve, every chapter ends with experiments, and every command it shows is run by
//! CI. The instructor's plans add up to the totals they state, agree with the minutes each
//! chapter states under its title, and take in every exercise; every chapter has speaker notes.
//! (`.ci/run` builds the book, opens every page in a browser, and prints the handout.)

#![allow(clippy::unwrap_used)]

use std::{collections::BTreeSet, fs, path::Path};

use workshop::{
    book, exercises, spans,
    steps::{self, STEPS, repository},
};

/// The chapters `book/src/SUMMARY.md` lists, as (title, file name), in order.
fn chapters() -> Vec<(String, String)> {
    let summary = read("book/src/SUMMARY.md");
    summary
        .lines()
        .filter_map(|line| {
            let (title, rest) = line.split_once("](")?;
            let title = title.rsplit_once('[')?.1;
            Some((title.to_owned(), rest.trim_end_matches(')').to_owned()))
        })
        .collect()
}

fn read(path: &str) -> String {
    fs::read_to_string(repository().join(path)).unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

fn chapter(file: &str) -> String {
    read(&format!("book/src/{file}"))
}

/// Every fenced block in `markdown`, as (the fence's info string, the block's text).
fn fenced_blocks(markdown: &str) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut open: Option<(String, String, String)> = None; // (fence, info, text)
    for line in markdown.lines() {
        let trimmed = line.trim_start();
        match &mut open {
            None if trimmed.starts_with("```") => {
                let fence_len = trimmed.chars().take_while(|&c| c == '`').count();
                let info = trimmed[fence_len..].trim().to_owned();
                open = Some(("`".repeat(fence_len), info, String::new()));
            }
            Some((fence, _, _)) if trimmed == fence.as_str() => {
                let (_, info, text) = open.take().unwrap();
                blocks.push((info, text));
            }
            Some((_, _, text)) => {
                text.push_str(trimmed);
                text.push('\n');
            }
            None => {}
        }
    }
    assert!(open.is_none(), "a fenced block is never closed");
    blocks
}

#[test]
fn every_chapter_file_is_listed_and_every_listed_chapter_exists() {
    let listed: BTreeSet<String> = chapters().into_iter().map(|(_, file)| file).collect();
    let on_disk: BTreeSet<String> = fs::read_dir(repository().join("book/src"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".md") && name != "SUMMARY.md")
        .collect();
    assert_eq!(listed, on_disk);
    for step in STEPS {
        let file = format!("step-{}.md", step.number);
        assert!(
            listed.contains(&file),
            "no chapter for step {}",
            step.number
        );
    }
}

#[test]
fn no_rust_block_in_the_book_is_pasted() {
    // A Rust block holds only includes from the crates; anything else must say that it is not
    // from the crates (`rust,not-from-the-crates`), and it then gets no Rust highlighting
    // that would pass it off as the workshop's code.
    for (_, file) in chapters() {
        for (info, text) in fenced_blocks(&chapter(&file)) {
            let language = info.split(',').next().unwrap_or_default();
            if language != "rust" || info.contains("not-from-the-crates") {
                continue;
            }
            for line in text.lines().filter(|line| !line.trim().is_empty()) {
                assert!(
                    line.starts_with("{{#include ") || line.starts_with("{{#rustdoc_include "),
                    "{file} pastes Rust instead of including it: {line:?}"
                );
            }
        }
    }
}

#[test]
fn every_include_names_a_file_and_an_anchor_that_exist() {
    let mut includes = 0;
    for (_, file) in chapters() {
        let text = chapter(&file);
        for include in text.split("{{#include ").skip(1) {
            let target = include.split("}}").next().unwrap().trim();
            let (path, anchor) = match target.rsplit_once(':') {
                Some((path, anchor)) => (path, Some(anchor)),
                None => (target, None),
            };
            let full = repository().join("book/src").join(path);
            let source = fs::read_to_string(&full)
                .unwrap_or_else(|e| panic!("{file} includes {path}, which cannot be read: {e}"));
            if let Some(anchor) = anchor {
                let starts = source.matches(&format!("ANCHOR: {anchor}\n")).count();
                let ends = source.matches(&format!("ANCHOR_END: {anchor}\n")).count();
                assert_eq!(
                    (starts, ends),
                    (1, 1),
                    "{file}: anchor {anchor:?} in {path}"
                );
            }
            includes += 1;
        }
    }
    assert!(includes > 30, "only {includes} includes");
}

/// The heading of a section of depth a learner may skip: the day's minutes do not count it,
/// the desk's handout leaves it on the screen, and it comes after the chapter's experiments.
const GOING_DEEPER: &str = "## Going deeper";

#[test]
fn every_chapter_ends_with_experiments() {
    for (title, file) in chapters() {
        let text = chapter(&file);
        let last_heading = text
            .lines()
            .filter(|line| !line.starts_with(GOING_DEEPER))
            .rfind(|line| line.starts_with("## "))
            .unwrap_or_else(|| panic!("{file} has no sections"));
        assert_eq!(last_heading, "## Try this", "the last section of {title:?}");
        let after: Vec<&str> = text
            .split("\n## Try this\n")
            .nth(1)
            .unwrap_or_default()
            .lines()
            .filter(|line| line.starts_with("## "))
            .collect();
        assert!(
            after.iter().all(|line| line.starts_with(GOING_DEEPER)),
            "{file}: after \"Try this\" only \"{GOING_DEEPER}: ...\" sections: {after:?}"
        );
        assert!(
            text.starts_with(&format!("# {title}\n")),
            "{file} starts with its title as SUMMARY.md gives it, {title:?}"
        );
    }
}

#[test]
fn the_diffs_in_the_book_are_those_of_the_code() {
    let folder = repository().join(book::GENERATED);
    let fresh = book::diffs::step_diffs().unwrap();
    for (name, diff) in &fresh {
        let shown = fs::read_to_string(folder.join(name)).unwrap_or_default();
        assert!(
            shown == *diff,
            "{name} is stale: run `cargo run -p workshop --bin book-assets`"
        );
    }
    let fresh_names: BTreeSet<&str> = fresh.iter().map(|(name, _)| name.as_str()).collect();
    for entry in fs::read_dir(&folder).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".diff") {
            assert!(
                fresh_names.contains(name.as_str()),
                "{name} diffs files that no longer differ: run `cargo run -p workshop --bin book-assets`"
            );
        }
    }
}

#[test]
fn the_hints_in_the_book_are_those_the_check_gives() {
    let folder = repository().join(book::GENERATED);
    let fresh = book::exercise_hints();
    assert!(!fresh.is_empty());
    for (name, hints) in &fresh {
        let shown = fs::read_to_string(folder.join(name)).unwrap_or_default();
        assert!(
            shown == *hints,
            "{name} is stale: run `cargo run -p workshop --bin book-assets`"
        );
    }
}

#[test]
fn the_hardening_chapters_table_is_what_the_sdks_propagator_does() {
    let shown = fs::read_to_string(
        repository()
            .join(book::GENERATED)
            .join(book::TRACE_HEADER_TABLE),
    )
    .unwrap_or_default();
    assert!(
        shown == book::trace_header_table(),
        "{} is stale: run `cargo run -p workshop --bin book-assets`",
        book::TRACE_HEADER_TABLE
    );
    assert!(chapter("hardening.md").contains(&format!(
        "{{{{#include generated/{}}}}}",
        book::TRACE_HEADER_TABLE
    )));
}

#[test]
fn the_hardening_chapters_variable_table_is_the_one_the_tests_hold_the_programs_to() {
    use workshop::book::{OTLP_VARIABLES_TABLE as TABLE, otlp_variables_table as table};
    let shown =
        fs::read_to_string(repository().join(book::GENERATED).join(TABLE)).unwrap_or_default();
    assert!(
        shown == table(),
        "{TABLE} is stale: run `cargo run -p workshop --bin book-assets`"
    );
    assert!(chapter("hardening.md").contains(&format!("{{{{#include generated/{TABLE}}}}}")));
}

#[test]
fn every_exercise_has_its_turn_in_its_chapter_with_its_todos_and_hints() {
    for exercise in exercises::all() {
        let number = exercise.step.number;
        let text = chapter(&format!("step-{number}.md"));
        let turn = text
            .split("\n## ")
            .find(|section| section.starts_with("Your turn"))
            .unwrap_or_else(|| panic!("step-{number}.md has no \"Your turn\" section"));
        // What the exercise needs comes first, then the exercise, then the solution explained.
        let sections: Vec<&str> = text.split("\n## ").skip(1).take(2).collect();
        assert!(
            matches!(sections.as_slice(), [first, second]
                if first.starts_with("What you need\n") && second.starts_with("Your turn\n")),
            "step-{number}.md: \"What you need\" comes first, \"Your turn\" second"
        );
        // Each region, from one of the programs: the backend's may repeat the frontend's.
        for todo in exercise.exercise.todos {
            let include = |file: &str| {
                format!(
                    "{{{{#include ../../{}/{file}:{}}}}}",
                    exercise.folder(),
                    todo.region
                )
            };
            assert!(
                ["frontend/src/main.rs", "backend/src/main.rs", todo.file]
                    .iter()
                    .any(|file| turn.contains(&include(file))),
                "step-{number}.md lacks {}",
                include(todo.file)
            );
        }
        for command in [
            format!("cargo run -p workshop check {number}"),
            format!(
                "{{{{#include generated/{}}}}}",
                book::hints_name(exercise.step)
            ),
        ] {
            assert!(turn.contains(&command), "step-{number}.md lacks {command}");
        }
    }
}

#[test]
fn a_diff_ignores_anchors_and_lost_new_markers_but_shows_real_changes() {
    let old = "// NEW: spans go to stdout,\n// not to stderr.\nlet a = 1;\nlet b = 2;\n";
    let new = "// ANCHOR: x\n// Spans go to stdout, not to\n// stderr.\nlet a = 1;\nlet b = 3;\n// ANCHOR_END: x\n";
    let diff = book::diffs::unified_diff(old, new, "old", "new").unwrap();
    assert_eq!(
        diff,
        "--- old\n+++ new\n@@ -1 +2 @@\n // Spans go to stdout, not to\n // stderr.\n let a = 1;\n-let b = 2;\n+let b = 3;\n"
    );
    assert_eq!(book::diffs::unified_diff(old, old, "old", "new"), None);
}

#[tokio::test]
async fn each_trace_picture_shows_what_its_step_exports() {
    let folder = repository().join(book::GENERATED);
    for step in book::pictures::pictured_steps() {
        let name = book::pictures::picture_name(step);
        let picture = fs::read_to_string(folder.join(&name)).unwrap();
        let shown = book::pictures::picture_outline(&picture).unwrap();

        let exported = book::pictures::one_request(step).await.unwrap();
        // The request's trace, with the job's trace linked to it (step 13).
        let traces = spans::requests(&exported);
        assert_eq!(
            traces.len(),
            1,
            "one request, one trace, at step {}",
            step.number
        );
        assert_eq!(
            shown,
            spans::outline(&traces[0]),
            "{name} no longer shows what step {} exports: run `cargo run -p workshop --bin book-assets`",
            step.number
        );
        // What is drawn is what the outline says: a labelled row per span and event.
        for span in &traces[0] {
            assert!(
                picture.contains(&format!(">{}</text>", span.name)),
                "{name}"
            );
            for event in &span.events {
                assert!(
                    picture.contains(&format!(">{} <tspan", event.name)),
                    "{name}"
                );
            }
        }
        let chapter_text = chapter(&format!("step-{}.md", step.number));
        assert!(
            chapter_text.contains(&format!("(generated/{name})")),
            "step {}'s chapter shows its trace",
            step.number
        );
        // The viewer's page, photographed showing the same request's trace.
        if step.number == book::screenshot::STEP {
            let png = fs::read(folder.join(book::screenshot::NAME)).unwrap();
            assert_eq!(
                book::screenshot::outline(&png).as_deref(),
                Some(spans::outline(&traces[0]).as_str()),
                "{} no longer shows what step {} exports: run `cargo run -p workshop --bin book-assets`",
                book::screenshot::NAME,
                step.number
            );
            for shown_in in [format!("step-{}.md", step.number), "setup.md".to_owned()] {
                assert!(
                    chapter(&shown_in).contains(&format!("(generated/{})", book::screenshot::NAME)),
                    "{shown_in} shows the viewer's page"
                );
            }
        }
    }
}

#[test]
fn step_06s_chapter_shows_step_05s_picture_because_it_exports_the_same_trace() {
    // Step 06's spans go to Google; tests/cloud_trace checks that they arrive with
    // exactly this structure.
    let (step_05, step_06) = (steps::find("05").unwrap(), steps::find("06").unwrap());
    assert_eq!(step_05.trace, step_06.trace);
    assert!(chapter("step-06.md").contains(&format!(
        "(generated/{})",
        book::pictures::picture_name(step_05)
    )));
}

#[test]
fn every_command_the_book_shows_is_run_by_ci() {
    let ci = [
        read(".ci/run"),
        read(".ci/book-experiments"),
        read(".ci/offline-build"),
    ]
    .join("\n");
    let mut commands = Vec::new();
    for (_, file) in chapters() {
        let text = chapter(&file);
        for (info, block) in fenced_blocks(&text) {
            if info == "sh" {
                commands.extend(
                    block
                        .lines()
                        .map(str::trim)
                        .filter(|line| !line.is_empty() && !line.starts_with('#'))
                        .map(|line| (file.clone(), line.to_owned())),
                );
            }
        }
        // Inline commands in the prose, outside fenced blocks.
        let prose = text.split("```").step_by(2);
        for code in prose.flat_map(|part| part.split('`').skip(1).step_by(2).map(str::to_owned)) {
            if ["cargo ", "curl ", "mdbook ", "bash "]
                .iter()
                .any(|p| code.starts_with(p))
            {
                commands.push((file.clone(), code));
            }
        }
    }
    assert!(commands.len() > 20, "{commands:?}");
    for (file, command) in commands {
        // No Docker engine runs where CI does: the compose file and the Dockerfile are checked
        // without one (tests/compose.rs), and the same programs run there with the
        // compose file's variables.
        if command.starts_with("docker ") || command.contains(" docker compose ") {
            continue;
        }
        assert!(
            ci.lines().any(|line| line.contains(&command)),
            "{file} shows `{command}`, which no script in .ci runs"
        );
    }
}

#[test]
fn the_generated_folder_holds_only_what_the_generator_writes() {
    let pictures: BTreeSet<String> = book::pictures::pictured_steps()
        .map(book::pictures::picture_name)
        .collect();
    let hints: BTreeSet<String> = book::exercise_hints()
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    let folder = repository().join(book::GENERATED);
    for entry in fs::read_dir(&folder).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            name.ends_with(".diff")
                || pictures.contains(&name)
                || name == book::COST_FIGURES
                || name == book::TRACE_HEADER_TABLE
                || name == book::OTLP_VARIABLES_TABLE
                || name == book::screenshot::NAME
                || hints.contains(&name),
            "{} holds {name}, which neither book-assets nor the cost benchmark writes",
            Path::new(book::GENERATED).display()
        );
    }
    assert_eq!(pictures.len(), 11);
}

#[test]
fn the_cost_chapter_shows_a_full_run_of_the_cost_benchmark() {
    // Written by `cargo run --release -p workshop --bin cost`, never by hand: the sections
    // it writes, and no `--short` run (whose rounds are too small to mean anything).
    let figures = read(&format!("{}/{}", book::GENERATED, book::COST_FIGURES));
    for section in [
        "### The machine",
        "### Under load",
        "### Instructions per request",
        "### What each lever buys",
        "### What each signal costs",
        "### Per operation",
        "### Building",
        "### Targets",
    ] {
        assert!(figures.contains(section), "no {section:?} in the figures");
    }
    assert!(
        figures.contains("10 rounds of 30,000 requests"),
        "{figures}"
    );
    assert!(chapter("cost.md").contains(&format!(
        "{{{{#include generated/{}}}}}",
        book::COST_FIGURES
    )));
}

// The day's plans. Every chapter of the session says, in one line under its title, how long it
// takes: `*Time: 10 min reading + 15 min exercise + 5 min discussion = 30 min.*`. The instructor
// notes hold two plans, each a table with a row per chapter (and per break) and a stated total;
// the full day gives each chapter its own minutes, the 3-hour session cuts them part by part.

const INSTRUCTOR_NOTES: &str = "instructor-notes.md";
/// The plans' headings in the instructor notes: (heading, whether it gives every chapter its
/// full minutes).
const PLANS: [(&str, bool); 2] = [("A 3-hour session", false), ("A full day", true)];
const SPEAKER_NOTES: &str = "Speaker notes";
/// What each chapter's speaker notes hold.
const SPEAKER_NOTE_PARTS: [&str; 4] = [
    "**In two minutes.**",
    "**Ask the room.**",
    "**Stumbling block.**",
    "**Fix:**",
];

/// The chapters of the session, as (title, file name): those SUMMARY.md lists before its `---`
/// (after it come the hardening chapter, for after the workshop, and the instructor notes).
fn session_chapters() -> Vec<(String, String)> {
    let summary = read("book/src/SUMMARY.md");
    let session = summary.split("\n---\n").next().unwrap();
    let titles: BTreeSet<&str> = session
        .lines()
        .filter_map(|line| line.split_once("](")?.0.rsplit_once('[').map(|(_, t)| t))
        .collect();
    let listed: Vec<_> = chapters()
        .into_iter()
        .filter(|(title, _)| titles.contains(title.as_str()))
        .collect();
    assert!(listed.len() > 10, "{listed:?}");
    assert!(listed.iter().all(|(_, file)| file != INSTRUCTOR_NOTES));
    listed
}

/// A chapter's minutes, or a row's in a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Minutes {
    reading: u32,
    exercise: u32,
    discussion: u32,
}

impl Minutes {
    fn total(self) -> u32 {
        self.reading + self.exercise + self.discussion
    }

    /// Whether each part is at most `other`'s.
    fn fits_in(self, other: Minutes) -> bool {
        self.reading <= other.reading
            && self.exercise <= other.exercise
            && self.discussion <= other.discussion
    }
}

/// Reads `*Time: R min reading + E min exercise + D min discussion = T min.*`, where T must be
/// the sum.
fn time_line(line: &str) -> Result<Minutes, String> {
    let bad = |why: &str| {
        Err(format!(
            "{line:?} {why}: expected `*Time: R min reading + E min exercise + D min discussion = T min.*`"
        ))
    };
    let Some(body) = line
        .strip_prefix("*Time: ")
        .and_then(|l| l.strip_suffix(".*"))
    else {
        return bad("is not a time line");
    };
    let Some((parts, total)) = body.split_once(" = ") else {
        return bad("has no total");
    };
    if parts.split(" + ").count() != 3 {
        return bad("does not have three parts");
    }
    let mut values = [0; 3];
    for ((part, name), value) in parts
        .split(" + ")
        .zip(["reading", "exercise", "discussion"])
        .zip(&mut values)
    {
        match part
            .strip_suffix(&format!(" min {name}"))
            .and_then(|n| n.parse().ok())
        {
            Some(n) => *value = n,
            None => return bad(&format!("has no {name} minutes where expected")),
        }
    }
    let [reading, exercise, discussion] = values;
    let minutes = Minutes {
        reading,
        exercise,
        discussion,
    };
    match total
        .strip_suffix(" min")
        .and_then(|t| t.parse::<u32>().ok())
    {
        Some(t) if t == minutes.total() => Ok(minutes),
        Some(t) => bad(&format!(
            "says {t} min in all, its parts add up to {}",
            minutes.total()
        )),
        None => bad("has no total in minutes"),
    }
}

/// The chapter's minutes, from the line right under its title.
fn chapter_minutes(file: &str) -> Result<Minutes, String> {
    let text = chapter(file);
    let mut lines = text.lines();
    let (_title, blank, line) = (lines.next(), lines.next(), lines.next().unwrap_or_default());
    if blank != Some("") {
        return Err(format!("{file}: no blank line under the title"));
    }
    time_line(line).map_err(|e| format!("{file}: {e}"))
}

/// The text of the section under `## heading` (or `### heading`) of `markdown`, up to the next
/// heading of the same or a higher level.
fn section<'a>(markdown: &'a str, heading: &str) -> Option<&'a str> {
    for level in ["## ", "### "] {
        let marker = format!("\n{level}{heading}\n");
        if let Some(start) = markdown.find(&marker) {
            let body = &markdown[start + marker.len()..];
            let end = (2..level.len())
                .filter_map(|hashes| body.find(&format!("\n{} ", "#".repeat(hashes))))
                .min()
                .unwrap_or(body.len());
            return Some(&body[..end]);
        }
    }
    None
}

/// One row of a plan's table.
#[derive(Debug)]
struct PlanRow {
    /// Minutes from midnight, or from the session's start.
    start: u32,
    /// The chapter's file, for a chapter's row; `None` for a break.
    file: Option<String>,
    /// The row's text, every cell.
    text: String,
    /// The chapter's parts, as this plan uses them.
    parts: Option<Minutes>,
    minutes: u32,
}

/// A plan's rows and its stated total.
fn plan(heading: &str) -> (Vec<PlanRow>, u32) {
    let notes = chapter(INSTRUCTOR_NOTES);
    let text = section(&notes, heading)
        .unwrap_or_else(|| panic!("{INSTRUCTOR_NOTES} has no section {heading:?}"));
    let cells = |line: &str| -> Vec<String> {
        line.trim()
            .trim_matches('|')
            .split('|')
            .map(|cell| cell.trim().to_owned())
            .collect()
    };
    let mut table = text.lines().filter(|line| line.starts_with('|'));
    let header = cells(
        table
            .next()
            .unwrap_or_else(|| panic!("{heading:?} has no table")),
    );
    let column = |name: &str| {
        header
            .iter()
            .position(|cell| cell == name)
            .unwrap_or_else(|| panic!("{heading:?}'s table has no column {name:?}: {header:?}"))
    };
    let [
        start,
        chapter_column,
        reading,
        exercise,
        discussion,
        minutes,
    ] = [
        "start",
        "chapter",
        "reading",
        "exercise",
        "discussion",
        "minutes",
    ]
    .map(column);
    let number = |row: &[String], i: usize| -> Option<u32> {
        let cell = &row[i];
        (!cell.is_empty()).then(|| {
            cell.parse()
                .unwrap_or_else(|_| panic!("{heading:?}: {cell:?} in {row:?} is not a number"))
        })
    };
    let clock = |cell: &str| -> u32 {
        let (h, m) = cell
            .split_once(':')
            .unwrap_or_else(|| panic!("{heading:?}: start {cell:?} is not h:mm"));
        h.parse::<u32>().unwrap() * 60 + m.parse::<u32>().unwrap()
    };
    let rows = table
        .skip(1) // |---|---|
        .map(|line| {
            let row = cells(line);
            assert_eq!(row.len(), header.len(), "{heading:?}: {line}");
            let file = row[chapter_column]
                .split_once("](")
                .map(|(_, rest)| rest.trim_end_matches(')').to_owned());
            let parts = match (
                number(&row, reading),
                number(&row, exercise),
                number(&row, discussion),
            ) {
                (Some(reading), Some(exercise), Some(discussion)) => Some(Minutes {
                    reading,
                    exercise,
                    discussion,
                }),
                (None, None, None) => None,
                _ => panic!("{heading:?}: {line} gives some parts and not others"),
            };
            PlanRow {
                start: clock(&row[start]),
                file,
                text: line.to_owned(),
                parts,
                minutes: number(&row, minutes)
                    .unwrap_or_else(|| panic!("{heading:?}: {line} has no minutes")),
            }
        })
        .collect();
    let total = text
        .split("**Total: ")
        .nth(1)
        .and_then(|rest| rest.split_once(" minutes.**"))
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("{heading:?} states no `**Total: N minutes.**`"));
    (rows, total)
}

#[test]
fn each_plans_minutes_add_up_to_its_stated_total() {
    for (heading, _) in PLANS {
        let (rows, total) = plan(heading);
        let sum: u32 = rows.iter().map(|row| row.minutes).sum();
        assert_eq!(
            sum, total,
            "{heading:?}: its rows add up to {sum} minutes, it says {total}"
        );
        for row in &rows {
            if let Some(parts) = row.parts {
                assert_eq!(
                    parts.total(),
                    row.minutes,
                    "{heading:?}: the parts of {} do not add up to its minutes",
                    row.text
                );
            }
        }
        for pair in rows.windows(2) {
            assert_eq!(
                pair[0].start + pair[0].minutes,
                pair[1].start,
                "{heading:?}: {} does not start when {} ends",
                pair[1].text,
                pair[0].text
            );
        }
    }
}

#[test]
fn the_full_day_says_when_it_starts_and_ends() {
    let (rows, total) = plan("A full day");
    let notes = chapter(INSTRUCTOR_NOTES);
    let text = section(&notes, "A full day").unwrap();
    let clock = |minutes: u32| format!("{:02}:{:02}", minutes / 60, minutes % 60);
    let start = rows[0].start;
    let said = format!("{} to {}, ", clock(start), clock(start + total));
    assert!(
        text.trim_start().starts_with(&said),
        "the full day's first line should start {said:?}"
    );
}

#[test]
fn every_chapter_states_its_minutes_and_the_plans_agree_with_them() {
    let chapters = session_chapters();
    let (stated, missing): (Vec<_>, Vec<_>) = chapters
        .iter()
        .map(|(_, file)| (file, chapter_minutes(file)))
        .partition(|(_, minutes)| minutes.is_ok());
    let missing: Vec<String> = missing.into_iter().map(|(_, e)| e.unwrap_err()).collect();
    assert!(
        missing.is_empty(),
        "chapters without their time line under the title:\n{}",
        missing.join("\n")
    );
    let files: Vec<&String> = stated.iter().map(|(file, _)| *file).collect();
    for (heading, full) in PLANS {
        let (rows, _) = plan(heading);
        let planned: Vec<&String> = rows.iter().filter_map(|row| row.file.as_ref()).collect();
        assert_eq!(
            planned, files,
            "{heading:?} lists every chapter once, in SUMMARY.md's order"
        );
        for row in rows.iter().filter(|row| row.file.is_some()) {
            let file = row.file.as_ref().unwrap();
            let minutes = chapter_minutes(file).unwrap();
            let parts = row
                .parts
                .unwrap_or_else(|| panic!("{heading:?}: {} has no parts", row.text));
            if full {
                assert_eq!(
                    parts, minutes,
                    "{heading:?} gives {file} other minutes than its time line"
                );
            } else {
                assert!(
                    parts.fits_in(minutes),
                    "{heading:?} gives {file} more than its time line in some part: {parts:?} > {minutes:?}"
                );
            }
        }
    }
}

/// Words a reader reads per minute.
const WORDS_PER_MINUTE: usize = 200;

/// `markdown` as mdBook renders it for reading: every `{{#include}}` written out (included code
/// is read too), without what is folded (`<details>`), HTML comments, or "Going deeper"
/// sections.
fn read_at_the_desk(markdown: &str) -> String {
    let mut text = String::new();
    let mut rest = markdown;
    while let Some((before, after)) = rest.split_once("{{#include ") {
        text.push_str(before);
        let (target, after) = after.split_once("}}").unwrap();
        let (path, anchor) = match target.trim().rsplit_once(':') {
            Some((path, anchor)) => (path, Some(anchor)),
            None => (target.trim(), None),
        };
        let source = fs::read_to_string(repository().join("book/src").join(path)).unwrap();
        match anchor {
            None => text.push_str(&source),
            Some(anchor) => {
                let start = format!("ANCHOR: {anchor}\n");
                let end = format!("ANCHOR_END: {anchor}\n");
                let region = source.split_once(&start).unwrap().1;
                let region = region.split_once(&end).unwrap().0;
                for line in region.lines().filter(|line| !line.contains("ANCHOR")) {
                    text.push_str(line);
                    text.push('\n');
                }
            }
        }
        rest = after;
    }
    text.push_str(rest);
    let without = |text: &str, open: &str, close: &str| -> String {
        let mut kept = String::new();
        let mut rest = text;
        while let Some((before, after)) = rest.split_once(open) {
            kept.push_str(before);
            rest = after.split_once(close).map_or("", |(_, after)| after);
        }
        kept.push_str(rest);
        kept
    };
    let text = without(&without(&text, "<details>", "</details>"), "<!--", "-->");
    let mut kept = String::new();
    let mut deeper = false;
    for line in text.lines() {
        if line.starts_with("## ") || line.starts_with("# ") {
            deeper = line.starts_with(GOING_DEEPER);
        }
        if !deeper {
            kept.push_str(line);
            kept.push('\n');
        }
    }
    kept
}

/// The minutes a chapter takes to read, at [`WORDS_PER_MINUTE`]: a word is what whitespace
/// separates and holds a letter or a digit.
fn reading_minutes(markdown: &str) -> u32 {
    let words = read_at_the_desk(markdown)
        .split_whitespace()
        .filter(|word| word.chars().any(char::is_alphanumeric))
        .count();
    words.div_ceil(WORDS_PER_MINUTE) as u32
}

#[test]
fn every_chapter_gives_at_least_the_minutes_its_text_takes_to_read() {
    let short: Vec<String> = session_chapters()
        .into_iter()
        .filter_map(|(_, file)| {
            let stated = chapter_minutes(&file).unwrap().reading;
            let measured = reading_minutes(&chapter(&file));
            (stated < measured).then(|| {
                format!("{file}: {measured} min to read at {WORDS_PER_MINUTE} words a minute, says {stated}")
            })
        })
        .collect();
    assert!(
        short.is_empty(),
        "chapters whose time line gives less reading than their text takes (shorten the \
         text, or move depth to a \"{GOING_DEEPER}: ...\" section):\n{}",
        short.join("\n")
    );
}

#[test]
fn reading_counts_included_code_and_leaves_out_folds_and_going_deeper() {
    let words = |n: usize| vec!["word"; n].join(" ");
    let chapter = format!(
        "# T\n\n{}\n\n<details>\n{}\n</details>\n\n## Try this\n\n{}\n\n{GOING_DEEPER}: more\n\n{}\n",
        words(150),
        words(1000),
        words(100),
        words(1000)
    );
    // 1 + 150 + 2 + 100 words: two minutes.
    assert_eq!(reading_minutes(&chapter), 2);
    let included = "{{#include ../../steps/02-root-span/frontend/src/main.rs:init_tracer}}";
    assert!(reading_minutes(included) >= 1);
    assert!(read_at_the_desk(included).contains("SdkTracerProvider::builder()"));
    assert!(!read_at_the_desk(included).contains("ANCHOR"));
}

/// What each chapter of the session promises, in the paragraph under its time line.
#[test]
fn every_chapter_says_what_the_reader_can_do_after_it() {
    for (_, file) in session_chapters() {
        let text = chapter(&file);
        let paragraph = text.split("\n\n").nth(2).unwrap_or_default();
        assert!(
            [
                "**After this chapter you can** ",
                "**After this step you can** "
            ]
            .iter()
            .any(|start| paragraph.starts_with(start)),
            "{file}: the paragraph under the time line says what the reader can do after it, \
             \"**After this step you can** ...\": {paragraph:?}"
        );
    }
}

#[test]
fn every_chapter_has_speaker_notes() {
    let notes = chapter(INSTRUCTOR_NOTES);
    let speaker_notes = section(&notes, SPEAKER_NOTES)
        .unwrap_or_else(|| panic!("{INSTRUCTOR_NOTES} has no section {SPEAKER_NOTES:?}"));
    let lacking: Vec<String> = session_chapters()
        .into_iter()
        .filter_map(|(title, _)| {
            let Some(body) = section(speaker_notes, &title) else {
                return Some(format!("{title} (no `### {title}`)"));
            };
            let absent: Vec<&str> = SPEAKER_NOTE_PARTS
                .into_iter()
                .filter(|part| {
                    body.split_once(part)
                        .is_none_or(|(_, after)| after.trim_start().len() < 20)
                })
                .collect();
            (!absent.is_empty()).then(|| format!("{title} (lacks {})", absent.join(", ")))
        })
        .collect();
    assert!(
        lacking.is_empty(),
        "chapters without speaker notes in {INSTRUCTOR_NOTES}:\n{}",
        lacking.join("\n")
    );
}

/// Every exercise, as (its name in the plans, the chapter it is in): the steps', the
/// diagnoses' and the capstone's.
fn every_exercise() -> Vec<(String, String)> {
    let chapters = session_chapters();
    let mut exercises: Vec<(String, String)> = exercises::all()
        .into_iter()
        .map(|e| {
            (
                format!("exercise {}", e.step.number),
                format!("step-{}.md", e.step.number),
            )
        })
        .collect();
    let others = workshop::exercises::diagnosis::DIAGNOSES
        .iter()
        .map(|diagnosis| (diagnosis.name.to_owned(), diagnosis.name))
        .chain([
            (
                "the capstone".to_owned(),
                workshop::exercises::capstone::NAME,
            ),
            (
                "the testing exercise".to_owned(),
                workshop::exercises::testing::NAME,
            ),
        ]);
    for (name, checked) in others {
        let command = format!("cargo run -p workshop check {checked}");
        let holding: Vec<&String> = chapters
            .iter()
            .filter(|(_, file)| chapter(file).contains(&command))
            .map(|(_, file)| file)
            .collect();
        assert_eq!(holding.len(), 1, "{command} in {holding:?}");
        exercises.push((name, holding[0].clone()));
    }
    assert_eq!(exercises.len(), 15, "{exercises:?}");
    exercises
}

#[test]
fn the_full_day_holds_every_exercise_and_the_three_hours_say_which_go_home() {
    for (heading, full) in PLANS {
        let (rows, _) = plan(heading);
        for (exercise, file) in every_exercise() {
            assert!(
                chapter_minutes(&file).unwrap().exercise > 0,
                "{file} holds {exercise}, and its time line gives no exercise minutes"
            );
            let row = rows
                .iter()
                .find(|row| row.file.as_ref() == Some(&file))
                .unwrap_or_else(|| panic!("{heading:?} has no row for {file}"));
            let timed = row.parts.is_some_and(|parts| parts.exercise > 0);
            let at_home = row.text.contains(&format!("{exercise} at home"));
            assert!(
                timed || (!full && at_home),
                "{heading:?} gives {exercise} no minutes{}: {}",
                match full {
                    true => "",
                    false => ", and does not say it is for home",
                },
                row.text
            );
            // A chapter with two exercises names each where it gives them minutes.
            if exercise.starts_with("latency") && !at_home {
                assert!(
                    row.text.contains(exercise.as_str()),
                    "{heading:?}'s row for {file} does not name {exercise}"
                );
            }
        }
    }
}

/// A fresh attendee's measured minutes per exercise, from the instructor notes' table, as
/// (exercise, (minutes in all, minutes hands-on)); `None` for one not measured.
fn measured_times() -> Vec<(String, Option<(u32, u32)>)> {
    let notes = chapter(INSTRUCTOR_NOTES);
    let heading = "A fresh attendee's times";
    let text = section(&notes, heading)
        .unwrap_or_else(|| panic!("{INSTRUCTOR_NOTES} has no section {heading:?}"));
    text.lines()
        .filter(|line| line.starts_with("| ") && !line.starts_with("| exercise |"))
        .map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
            let number = |cell: &str| cell.parse::<u32>().ok();
            let times = number(cells[2]).zip(number(cells[4]));
            (cells[0].to_owned(), times)
        })
        .collect()
}

#[test]
fn every_timed_exercise_gets_at_least_what_a_fresh_attendee_took() {
    let measured = measured_times();
    let exercises = every_exercise();
    let names: BTreeSet<&String> = measured.iter().map(|(name, _)| name).collect();
    let expected: BTreeSet<&String> = exercises.iter().map(|(name, _)| name).collect();
    assert_eq!(names, expected, "the measured table lists every exercise");
    assert!(
        measured.iter().filter(|(_, times)| times.is_some()).count() >= 12,
        "{measured:?}"
    );
    for (heading, _) in PLANS {
        let (rows, _) = plan(heading);
        for row in &rows {
            let (Some(file), Some(parts)) = (&row.file, row.parts) else {
                continue;
            };
            let (mut minutes, mut hands_on) = (0, 0);
            for (exercise, times) in &measured {
                let held_here = exercises
                    .iter()
                    .any(|(name, holding)| name == exercise && holding == file);
                if !held_here || row.text.contains(&format!("{exercise} at home")) {
                    continue;
                }
                if let Some((all, hands)) = times {
                    minutes += all;
                    hands_on += hands;
                }
            }
            assert!(
                parts.reading + parts.exercise >= minutes && parts.exercise >= hands_on,
                "{heading:?} gives {file} {} minutes, {} of them hands-on; a fresh attendee \
                 took {minutes}, {hands_on} hands-on: {}",
                parts.reading + parts.exercise,
                parts.exercise,
                row.text
            );
        }
    }
}

#[test]
fn the_three_hours_keep_a_wrap_up_and_slack() {
    let (rows, _) = plan("A 3-hour session");
    for (name, at_least) in [("*wrap-up*", 10), ("*slack*", 15)] {
        let minutes: u32 = rows
            .iter()
            .filter(|row| row.text.contains(&format!("| {name} |")))
            .map(|row| row.minutes)
            .sum();
        assert!(
            minutes >= at_least,
            "the 3-hour session gives {name} {minutes} minutes, not at least {at_least}"
        );
    }
}

#[test]
fn a_time_line_is_read_as_written_and_a_wrong_sum_is_refused() {
    assert_eq!(
        time_line("*Time: 10 min reading + 15 min exercise + 5 min discussion = 30 min.*"),
        Ok(Minutes {
            reading: 10,
            exercise: 15,
            discussion: 5
        })
    );
    for wrong in [
        "*Time: 10 min reading + 15 min exercise + 5 min discussion = 31 min.*",
        "*Time: 10 min reading + 15 min exercise = 25 min.*",
        "*Time: 15 min exercise + 10 min reading + 5 min discussion = 30 min.*",
        "*Time: 10 min reading + 15 min exercise + 5 min discussion + 1 min questions = 31 min.*",
        "Time: 10 min reading + 15 min exercise + 5 min discussion = 30 min.",
    ] {
        assert!(time_line(wrong).is_err(), "{wrong}");
    }
}

/// One Rust version in the README and the book: the one the workspace needs (its
/// `rust-version`, which `doctor` checks), with mdBook's own need named beside mdBook, and any
/// other crate's need compared with the workspace's.
#[test]
fn the_readme_and_the_book_name_the_rust_version_the_workspace_needs() {
    use workshop::runner::doctor::{MDBOOK_RUST_VERSION, MDBOOK_VERSION, RUST_VERSION};
    // The mdBook `doctor` asks for is the one CI installs and checks the book with.
    let install = format!("cargo install --locked mdbook --version {MDBOOK_VERSION}");
    assert!(read(".ci/run").contains(&install), "{install}");
    let mut texts = vec![("README.md".to_owned(), read("README.md"))];
    texts.extend(chapters().into_iter().map(|(_, file)| {
        let text = chapter(&file);
        (file, text)
    }));
    let needs = format!("Rust {RUST_VERSION} or newer");
    for file in ["README.md", "setup.md"] {
        let (_, text) = texts.iter().find(|(name, _)| name == file).unwrap();
        assert!(text.contains(&needs), "{file} does not say {needs:?}");
    }
    let mut wrong = Vec::new();
    for (file, text) in &texts {
        for (at, _) in text.match_indices("Rust 1.") {
            let version: String = text[at + "Rust ".len()..]
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.')
                .collect();
            let version = version.trim_end_matches('.');
            let mut from = at.saturating_sub(120);
            while !text.is_char_boundary(from) {
                from -= 1;
            }
            let before = &text[from..at];
            let after: String = text[at..].chars().take(80).collect();
            let fine = version == RUST_VERSION
                || (version == MDBOOK_RUST_VERSION && before.contains("mdBook"))
                || after.contains(&format!("where the workspace needs {RUST_VERSION}"));
            if !fine {
                wrong.push(format!("{file}: {after:?}"));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "the workspace needs Rust {RUST_VERSION}, mdBook {MDBOOK_RUST_VERSION}:\n{}",
        wrong.join("\n")
    );
}
