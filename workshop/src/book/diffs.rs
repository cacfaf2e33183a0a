//! The diffs between neighbouring steps that each chapter folds under "Everything that
//! changed": a comment rewrapped around a new word is one change, and step numbers are left out.

use std::fmt::Write;

use similar::{Algorithm, DiffOp, DiffTag};

use crate::steps::{STEPS, repository};

/// The files of one step program that the book's diffs compare: `Cargo.toml` and every source
/// file but the unit tests (`tests.rs`), as paths under the program's folder.
fn diffed_files(program_folder: &std::path::Path) -> Vec<String> {
    let mut files = vec!["Cargo.toml".to_owned()];
    if let Ok(entries) = std::fs::read_dir(program_folder.join("src")) {
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.ends_with(".rs") && name != "tests.rs" {
                files.push(format!("src/{name}"));
            }
        }
    }
    files
}

/// Every diff between a step's program and the same program in the step before, as
/// (file name under [`GENERATED`](super::GENERATED), contents): its `Cargo.toml` and its
/// sources, a file new in this step shown whole. A file that did not change has no diff. And
/// the hardening chapter's: step 07's backend, and the same with the hardening.
pub fn step_diffs() -> Result<Vec<(String, String)>, String> {
    let root = repository();
    let mut diffs = Vec::new();
    for pair in STEPS.windows(2) {
        let (before, after) = (&pair[0], &pair[1]);
        for program in ["frontend", "backend"] {
            let old_folder = format!("steps/{}/{program}", before.folder);
            let new_folder = format!("steps/{}/{program}", after.folder);
            let mut files = diffed_files(&root.join(&old_folder));
            files.extend(diffed_files(&root.join(&new_folder)));
            files.sort();
            files.dedup();
            for file in files {
                let old_path = format!("{old_folder}/{file}");
                let new_path = format!("{new_folder}/{file}");
                // A file one of the two steps does not have is empty there.
                let read = |path: &str| match std::fs::read_to_string(root.join(path)) {
                    Ok(text) => Ok(text),
                    Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
                    Err(error) => Err(format!("reading {path}: {error}")),
                };
                let diff = unified_diff(&read(&old_path)?, &read(&new_path)?, &old_path, &new_path);
                if let Some(diff) = diff {
                    let name = file.trim_start_matches("src/");
                    diffs.push((format!("step-{}-{program}-{name}.diff", after.number), diff));
                }
            }
        }
    }
    // The hardening chapter's backend: step 07's, with the hardening added.
    let (old_path, new_path) = (
        "steps/07-otlp/backend/src/main.rs",
        "hardening/backend/src/main.rs",
    );
    let read = |path: &str| {
        std::fs::read_to_string(root.join(path)).map_err(|error| format!("reading {path}: {error}"))
    };
    if let Some(diff) = unified_diff(&read(old_path)?, &read(new_path)?, old_path, new_path) {
        diffs.push(("hardening-backend-main.rs.diff".to_owned(), diff));
    }
    Ok(diffs)
}

/// A block of lines the diff treats as one: a single line of code, or a whole comment (a run
/// of `//` lines at one indentation), so that a comment rewrapped around a new word is one
/// change and not many.
struct Unit<'a> {
    lines: Vec<&'a str>,
    /// The line number (from 1) of the first line in the file.
    line_number: usize,
    /// What the diff compares. Two units are the same when these are: a comment compared by
    /// its words, ignoring case and the `NEW:` marker (a comment that only lost its marker
    /// since the last step is not a change), and any line ignoring the step's own number.
    key: String,
}

/// Splits a file into units, leaving out the book's `ANCHOR` lines: they mark what a chapter
/// includes and are not code.
fn units(text: &str) -> Vec<Unit<'_>> {
    let mut units: Vec<Unit> = Vec::new();
    let mut open_comment: Option<String> = None;
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("// ANCHOR") {
            continue;
        }
        let is_comment = trimmed.starts_with("//");
        let indent = &line[..line.len() - trimmed.len()];
        if let (true, Some(comment_indent), Some(unit)) =
            (is_comment, open_comment.as_deref(), units.last_mut())
        {
            let marker = trimmed.split_whitespace().next().unwrap_or_default();
            if comment_indent == format!("{indent}{marker}") {
                unit.lines.push(line);
                unit.key.push(' ');
                unit.key.push_str(&comment_words(trimmed));
                continue;
            }
        }
        open_comment = is_comment.then(|| {
            let marker = trimmed.split_whitespace().next().unwrap_or_default();
            format!("{indent}{marker}")
        });
        let key = if is_comment {
            format!("{indent}{}", comment_words(trimmed))
        } else {
            without_step_number(line)
        };
        units.push(Unit {
            lines: vec![line],
            line_number: index + 1,
            key,
        });
    }
    units
}

fn comment_words(comment: &str) -> String {
    let text = comment.trim_start_matches('/').trim_start_matches('!');
    let text = text.trim().trim_start_matches("NEW:").trim();
    without_step_number(&text.to_lowercase())
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// `line` with a step number (`step-03`, `Step 03`, and `step_03` as in a crate's name)
/// replaced by `step-NN`.
fn without_step_number(line: &str) -> String {
    let mut key = line.to_owned();
    for step in STEPS {
        for (from, to) in [
            (format!("step-{}", step.number), "step-NN"),
            (format!("step_{}", step.number), "step_NN"),
            (format!("Step {}", step.number), "Step NN"),
            (format!("step {}", step.number), "step NN"),
        ] {
            key = key.replace(&from, to);
        }
    }
    key
}

/// The changes from `old` to `new` as a unified diff with three units of context, or `None`
/// when nothing changed. Hunk headers give the first line number of each side.
pub fn unified_diff(old: &str, new: &str, old_name: &str, new_name: &str) -> Option<String> {
    let (old_units, new_units) = (units(old), units(new));
    let old_keys: Vec<&str> = old_units.iter().map(|unit| unit.key.as_str()).collect();
    let new_keys: Vec<&str> = new_units.iter().map(|unit| unit.key.as_str()).collect();
    let ops = similar::capture_diff_slices(Algorithm::Myers, &old_keys, &new_keys);
    let hunks = similar::group_diff_ops(ops, 3);
    if hunks.is_empty() {
        return None;
    }
    let mut text = format!("--- {old_name}\n+++ {new_name}\n");
    for hunk in hunks {
        let first = |op: &DiffOp| {
            let old_at = old_units.get(op.old_range().start).map(|u| u.line_number);
            let new_at = new_units.get(op.new_range().start).map(|u| u.line_number);
            (old_at.unwrap_or(0), new_at.unwrap_or(0))
        };
        let (old_at, new_at) = hunk.first().map(first).unwrap_or_default();
        let _ = writeln!(text, "@@ -{old_at} +{new_at} @@");
        for op in &hunk {
            let (tag, old_range, new_range) = op.as_tag_tuple();
            let mut lines = |prefix: char, units: &[Unit]| {
                for unit in units {
                    for line in &unit.lines {
                        let _ = writeln!(text, "{prefix}{line}");
                    }
                }
            };
            match tag {
                // Unchanged units are shown as they are now.
                DiffTag::Equal => lines(' ', &new_units[new_range]),
                DiffTag::Delete => lines('-', &old_units[old_range]),
                DiffTag::Insert => lines('+', &new_units[new_range]),
                DiffTag::Replace => {
                    lines('-', &old_units[old_range]);
                    lines('+', &new_units[new_range]);
                }
            }
        }
    }
    Some(text)
}
