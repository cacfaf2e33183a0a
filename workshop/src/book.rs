//! What the book shows that is made from the steps, not written by hand: the diffs between
//! neighbouring steps, and a picture of the trace each traced step exports.
//! `cargo run -p workshop --bin book-assets` writes them under `book/src/generated/`; the tests
//! in `tests/book.rs` fail when they no longer match the code or what the steps export.

use std::{
    fmt::Write,
    path::{Path, PathBuf},
    time::SystemTime,
};

use similar::{Algorithm, DiffOp, DiffTag};

use crate::{
    process::{self, Pair},
    spans::{self, SpanRecord},
    steps::{STEPS, Step},
};

/// The repository's root folder.
pub fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Where the generated files go, relative to the repository.
pub const GENERATED: &str = "book/src/generated";

/// The file in [`GENERATED`] that the cost benchmark (`--bin cost`) writes its figures to, for
/// the chapter "What does tracing cost?".
pub const COST_FIGURES: &str = "cost.md";

/// Each exercise's hints as the book shows them, folded, one `<details>` each: as (file name
/// under [`GENERATED`], contents), `step-03-hints.md` for exercise 03. `check NN --hint N`
/// shows the same hints.
pub fn exercise_hints() -> Vec<(String, String)> {
    crate::exercises::all()
        .iter()
        .map(|exercise| {
            let mut text = String::new();
            for (index, hint) in exercise.hints().iter().enumerate() {
                let _ = write!(
                    text,
                    "<details>\n<summary>Hint {}</summary>\n\n{hint}\n\n</details>\n\n",
                    index + 1
                );
            }
            (hints_name(exercise.step), text.trim_end().to_owned() + "\n")
        })
        .collect()
}

/// The file in [`GENERATED`] with the hardening chapter's table of the trace headers the SDK's
/// propagator reads otherwise than the specifications say.
pub const TRACE_HEADER_TABLE: &str = "hardening-trace-headers.md";

/// That table, made from `hostile_headers`' table and the SDK's own propagator: one row per
/// case where the two differ.
pub fn trace_header_table() -> String {
    let differences =
        crate::hostile_headers::stock_differences(crate::hostile_headers::read_by_sdk);
    let mut text = String::from(
        "| the headers | the specifications say | the SDK's propagator |\n|---|---|---|\n",
    );
    for (specified, stock) in differences {
        let _ = writeln!(
            text,
            "| {} | {} | {} |",
            specified.name,
            specified.outcome(),
            stock.outcome()
        );
    }
    text
}

/// The name of a step's hints file under [`GENERATED`].
pub fn hints_name(step: &Step) -> String {
    format!("step-{}-hints.md", step.number)
}

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
/// (file name under [`GENERATED`], contents): its `Cargo.toml` and its sources, a file new in
/// this step shown whole. A file that did not change has no diff. And the hardening chapter's:
/// step 07's backend, and the same with the hardening.
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

/// The steps whose trace the book draws: those that export spans and run without a cloud
/// account.
pub fn pictured_steps() -> impl Iterator<Item = &'static Step> {
    STEPS
        .iter()
        .filter(|step| step.local && (step.frontend_traced || step.backend_traced))
}

/// The file name, under [`GENERATED`], of the picture of `step`'s trace.
pub fn picture_name(step: &Step) -> String {
    format!("step-{}-trace.svg", step.number)
}

/// Runs `step`'s two programs, sends the frontend one request, stops both and returns the
/// spans they exported. The programs must have been built.
pub async fn one_request(step: &Step) -> Result<Vec<SpanRecord>, String> {
    let pair = Pair::start(step, &[]).await?;
    let answer = process::http_get(&pair.frontend.url()).await;
    let (frontend, backend) = pair.stop().await?;
    match answer? {
        (status, _) if !status.is_success() => Err(format!("the frontend answered {status}")),
        _ => process::exported_spans(step, &frontend, &backend),
    }
}

/// The text a picture carries in its `<desc>`: the trace's outline ([`spans::outline`]).
/// The tests compare it with what the step exports now.
pub fn picture_outline(svg: &str) -> Option<String> {
    let desc = svg.split("<desc>").nth(1)?.split("</desc>").next()?;
    Some(
        desc.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

// The picture's layout, in pixels. Labels are in a monospace font, so their widths are known.
const WIDTH: f64 = 760.0;
const ROW: f64 = 24.0;
const TOP: f64 = 70.0;
const CHAR: f64 = 7.3;
const NAME_X: f64 = 92.0;
const DEPTH_INDENT: f64 = 20.0;
const TIMELINE_X: f64 = 380.0;
/// The time line leaves room on its right for the durations.
const TIMELINE_WIDTH: f64 = WIDTH - TIMELINE_X - 90.0;

/// One trace drawn as a waterfall, the way Dapper's paper and every tracing UI draw it: a row
/// per span, indented under its parent, with a bar on the trace's time line; events as
/// diamonds on the bar and as rows of their own; attributes under their span. The outline
/// goes into `<desc>` for screen readers and the tests.
pub fn picture(spans: &[SpanRecord], caption: &str) -> String {
    let Some((trace_start, trace_end)) = spans::bounds(spans) else {
        return String::new();
    };
    let total_ms = millis_between(trace_start, trace_end).max(0.001);
    let x_at = |time: SystemTime| {
        TIMELINE_X + millis_between(trace_start, time) / total_ms * TIMELINE_WIDTH
    };

    let mut rows = String::new();
    let mut row = 0usize;
    // The row of each span drawn so far, in the tree's order.
    let mut span_rows: Vec<usize> = Vec::new();
    let tree = spans::tree(spans);
    for (span, depth, _) in &tree {
        let y = TOP + row as f64 * ROW;
        let span_y = y;
        let colour = service_colour(&span.service);
        let name_x = NAME_X + *depth as f64 * DEPTH_INDENT;
        if *depth > 0 {
            // └ from the parent's row down to this one.
            let parent_row = parent_row(&tree, span, &span_rows);
            let x = name_x - DEPTH_INDENT + 5.0;
            let _ = writeln!(
                rows,
                r#"<path d="M{x:.1} {:.1} V{:.1} H{:.1}" class="branch"/>"#,
                TOP + parent_row as f64 * ROW + 5.0,
                y - 4.0,
                name_x - 4.0
            );
        }
        let _ = writeln!(
            rows,
            r#"<text x="12" y="{y:.1}" class="service" fill="{colour}">{}</text>"#,
            escape(&span.service)
        );
        let _ = writeln!(
            rows,
            r#"<text x="{name_x:.1}" y="{y:.1}" class="span">{}</text><text x="{:.1}" y="{y:.1}" class="note">{}</text>"#,
            escape(&span.name),
            name_x + (span.name.chars().count() as f64 + 1.0) * CHAR,
            spans::kind_name(&span.kind)
        );
        let (start_x, end_x) = (x_at(span.start), x_at(span.end).max(x_at(span.start) + 2.0));
        let fill = if span.error_description().is_some() {
            "#c0392b"
        } else {
            colour
        };
        let _ = writeln!(
            rows,
            r#"<rect x="{start_x:.1}" y="{:.1}" width="{:.1}" height="14" rx="2" fill="{fill}"/>"#,
            y - 11.0,
            end_x - start_x
        );
        let _ = writeln!(
            rows,
            r#"<text x="{:.1}" y="{y:.1}" class="duration" text-anchor="end">{:.2} ms</text>"#,
            WIDTH - 10.0,
            millis_between(span.start, span.end)
        );
        span_rows.push(row);
        row += 1;
        let detail_x = name_x + 14.0;
        for event in &span.events {
            let y = TOP + row as f64 * ROW;
            let event_x = x_at(event.time);
            let _ = writeln!(
                rows,
                r#"<path d="M{event_x:.1} {:.1} l5 7 l-5 7 l-5 -7 z" class="event"/>"#,
                span_y - 11.0
            );
            let _ = writeln!(
                rows,
                r#"<path d="M{:.1} {:.1} l4 5 l-4 5 l-4 -5 z" class="event"/><text x="{detail_x:.1}" y="{y:.1}" class="detail">{} <tspan class="note">event, +{:.2} ms</tspan></text>"#,
                detail_x - 8.0,
                y - 9.0,
                escape(&event.name),
                millis_between(span.start, event.time)
            );
            row += 1;
        }
        for (key, value) in &span.attributes {
            let y = TOP + row as f64 * ROW;
            let _ = writeln!(
                rows,
                r#"<text x="{detail_x:.1}" y="{y:.1}" class="detail">{} = {}</text>"#,
                escape(key),
                escape(value)
            );
            row += 1;
        }
        if let Some(description) = span.error_description() {
            let y = TOP + row as f64 * ROW;
            let _ = writeln!(
                rows,
                r#"<text x="{detail_x:.1}" y="{y:.1}" class="detail error">error: {}</text>"#,
                escape(description)
            );
            row += 1;
        }
    }

    let height = TOP + row as f64 * ROW;
    let mut axis = String::new();
    for quarter in 0..=4 {
        let x = TIMELINE_X + TIMELINE_WIDTH * f64::from(quarter) / 4.0;
        let _ = writeln!(
            axis,
            r#"<line x1="{x:.1}" y1="54" x2="{x:.1}" y2="{:.1}" class="grid"/><text x="{x:.1}" y="48" class="note" text-anchor="middle">{:.2} ms</text>"#,
            height - 10.0,
            total_ms * f64::from(quarter) / 4.0
        );
    }
    let services = spans::services(spans);
    let heading = format!(
        "{caption}: {} span{}, {}",
        spans.len(),
        if spans.len() == 1 { "" } else { "s" },
        services.join(" and ")
    );
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0}" viewBox="0 0 {WIDTH} {height:.0}" role="img" font-family="ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', monospace" font-size="12">
<title>{title}</title>
<desc>{desc}</desc>
<style>
.service {{ font-weight: bold; }}
.span {{ fill: #222; }}
.note {{ fill: #777; font-size: 11px; }}
.detail {{ fill: #444; }}
.error {{ fill: #c0392b; }}
.duration {{ fill: #555; font-size: 11px; }}
.grid {{ stroke: #ddd; stroke-width: 1; }}
.branch {{ stroke: #999; fill: none; stroke-width: 1; }}
.event {{ fill: #fff; stroke: #222; stroke-width: 1.2; }}
</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="12" y="20" font-weight="bold">{title}</text>
<text x="12" y="48" class="note">service</text><text x="{NAME_X}" y="48" class="note">span (kind)</text>
{axis}{rows}</svg>
"##,
        title = escape(&heading),
        desc = escape(&spans::outline(spans)),
    )
}

/// The row of `span`'s parent among the rows drawn so far (the row above, if not found).
fn parent_row(
    tree: &[(&SpanRecord, usize, bool)],
    span: &SpanRecord,
    span_rows: &[usize],
) -> usize {
    tree.iter()
        .position(|(candidate, _, _)| Some(candidate.span_id) == span.parent_span_id)
        .and_then(|index| span_rows.get(index))
        .or(span_rows.last())
        .copied()
        .unwrap_or(0)
}

fn service_colour(service: &str) -> &'static str {
    match service {
        "frontend" => "#2f6db0",
        "backend" => "#c96a12",
        _ => "#5b7f3a",
    }
}

fn millis_between(from: SystemTime, to: SystemTime) -> f64 {
    to.duration_since(from).unwrap_or_default().as_secs_f64() * 1000.0
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
