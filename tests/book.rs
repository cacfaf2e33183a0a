//! The book shows only what the code and the programs really are: its Rust is included from
//! the crates, its diffs and trace pictures are made from the steps and still match them, its
//! includes resolve, every chapter ends with experiments, and every command it shows is run by
//! CI. (`.ci/run` builds the book, opens every page in a browser, and prints the handout.)

#![allow(clippy::unwrap_used)]

use std::{collections::BTreeSet, fs, path::Path};

use workshop::{
    book::{self, repository},
    exercises, spans,
    steps::{self, STEPS},
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

#[test]
fn every_chapter_ends_with_experiments() {
    for (title, file) in chapters() {
        let text = chapter(&file);
        let last_heading = text
            .lines()
            .rfind(|line| line.starts_with("## "))
            .unwrap_or_else(|| panic!("{file} has no sections"));
        assert_eq!(last_heading, "## Try this", "the last section of {title:?}");
        assert!(
            text.starts_with(&format!("# {title}\n")),
            "{file} starts with its title as SUMMARY.md gives it, {title:?}"
        );
    }
}

#[test]
fn the_diffs_in_the_book_are_those_of_the_code() {
    let folder = repository().join(book::GENERATED);
    let fresh = book::step_diffs().unwrap();
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
fn every_exercise_has_its_turn_in_its_chapter_with_its_todos_and_hints() {
    for exercise in exercises::all() {
        let number = exercise.step.number;
        let text = chapter(&format!("step-{number}.md"));
        let turn = text
            .split("\n## ")
            .find(|section| section.starts_with("Your turn"))
            .unwrap_or_else(|| panic!("step-{number}.md has no \"Your turn\" section"));
        // Before the solution: the first section of the chapter.
        assert!(
            text.split("\n## ")
                .nth(1)
                .is_some_and(|first| first.starts_with("Your turn")),
            "step-{number}.md: \"Your turn\" comes first"
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
    let diff = book::unified_diff(old, new, "old", "new").unwrap();
    assert_eq!(
        diff,
        "--- old\n+++ new\n@@ -1 +2 @@\n // Spans go to stdout, not to\n // stderr.\n let a = 1;\n-let b = 2;\n+let b = 3;\n"
    );
    assert_eq!(book::unified_diff(old, old, "old", "new"), None);
}

#[tokio::test]
async fn each_trace_picture_shows_what_its_step_exports() {
    let folder = repository().join(book::GENERATED);
    for step in book::pictured_steps() {
        let name = book::picture_name(step);
        let picture = fs::read_to_string(folder.join(&name)).unwrap();
        let shown = book::picture_outline(&picture).unwrap();

        let exported = book::one_request(step).await.unwrap();
        let traces = spans::traces(&exported);
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
    }
}

#[test]
fn step_06s_chapter_shows_step_05s_picture_because_it_exports_the_same_trace() {
    // Step 06's spans go to Google; tests/cloud_trace checks that they arrive with
    // exactly this structure.
    let (step_05, step_06) = (steps::find("05").unwrap(), steps::find("06").unwrap());
    assert_eq!(step_05.trace, step_06.trace);
    assert!(
        chapter("step-06.md").contains(&format!("(generated/{})", book::picture_name(step_05)))
    );
}

#[test]
fn every_command_the_book_shows_is_run_by_ci() {
    let ci = [read(".ci/run"), read(".ci/book-experiments")].join("\n");
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
            "{file} shows `{command}`, which neither .ci/run nor .ci/book-experiments runs"
        );
    }
}

#[test]
fn the_generated_folder_holds_only_what_the_generator_writes() {
    let pictures: BTreeSet<String> = book::pictured_steps().map(book::picture_name).collect();
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
                || hints.contains(&name),
            "{} holds {name}, which neither book-assets nor the cost benchmark writes",
            Path::new(book::GENERATED).display()
        );
    }
    assert_eq!(pictures.len(), 8);
}

#[test]
fn the_cost_chapter_shows_a_full_run_of_the_cost_benchmark() {
    // Written by `cargo run --release -p workshop --bin cost`, never by hand: the sections
    // it writes, and no `--short` run (whose rounds are too small to mean anything).
    let figures = read(&format!("{}/{}", book::GENERATED, book::COST_FIGURES));
    for section in [
        "### The machine",
        "### Under load",
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
