//! What the book shows that is made from the steps, not written by hand: the diffs between
//! neighbouring steps ([`diffs`]), a picture of the trace each traced step exports
//! ([`pictures`]), one of the trace viewer's web page ([`screenshot`]), each exercise's hints
//! and the hardening chapter's two tables.
//! `cargo run -p workshop --bin book-assets` writes them under `book/src/generated/`; the tests
//! in `tests/book.rs` fail when they no longer match the code or what the steps export.

pub mod diffs;
pub mod pictures;
pub mod screenshot;

use std::fmt::Write;

use crate::{
    exercises,
    harness::{hostile_headers, otlp_variables::BAD_VALUES},
    steps::Step,
};

/// Where the generated files go, relative to the repository.
pub const GENERATED: &str = "book/src/generated";

/// The file in [`GENERATED`] that the cost benchmark (`--bin cost`) writes its figures to, for
/// the chapter "What does tracing cost?".
pub const COST_FIGURES: &str = "cost.md";

/// Each exercise's hints as the book shows them, folded, one `<details>` each: as (file name
/// under [`GENERATED`], contents), `step-03-hints.md` for exercise 03. `check NN --hint N`
/// shows the same hints.
pub fn exercise_hints() -> Vec<(String, String)> {
    let folded = |hints: &[String]| {
        let mut text = String::new();
        for (index, hint) in hints.iter().enumerate() {
            let _ = write!(
                text,
                "<details>\n<summary>Hint {}</summary>\n\n{hint}\n\n</details>\n\n",
                index + 1
            );
        }
        text.trim_end().to_owned() + "\n"
    };
    let mut files: Vec<(String, String)> = exercises::all()
        .iter()
        .map(|exercise| (hints_name(exercise.step), folded(&exercise.hints())))
        .collect();
    let testing_hints: Vec<String> = exercises::testing::HINTS
        .iter()
        .map(|hint| exercises::starters::dedent(hint))
        .collect();
    files.push((TESTING_HINTS.to_owned(), folded(&testing_hints)));
    files
}

/// The file in [`GENERATED`] with the testing exercise's hints.
pub const TESTING_HINTS: &str = "testing-hints.md";

/// The file in [`GENERATED`] with the hardening chapter's table of the trace headers the SDK's
/// propagator reads otherwise than the specifications say.
pub const TRACE_HEADER_TABLE: &str = "hardening-trace-headers.md";

/// That table, made from `hostile_headers`' table and the SDK's own propagator: one row per
/// case where the two differ.
pub fn trace_header_table() -> String {
    let differences = hostile_headers::stock_differences(hostile_headers::read_by_sdk);
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

/// The file in [`GENERATED`] with the hardening chapter's table of the OTLP exporter's
/// variables: what the exporter does with a value it cannot use, and what the hardening does.
pub const OTLP_VARIABLES_TABLE: &str = "hardening-otlp-variables.md";

/// That table, made from `otlp_variables`' [`BAD_VALUES`], the values the tests hold step 07's
/// programs and the hardened backend to.
pub fn otlp_variables_table() -> String {
    let mut text = String::from(
        "| Variable | Value | The exporter (0.33.1) | With the hardening |\n|---|---|---|---|\n",
    );
    for (variable, value, read) in BAD_VALUES {
        text.push_str(&format!(
            "| `{variable}` | `{value}` | {} | refused at start-up, exit code 2 |\n",
            read.described()
        ));
    }
    text
}

/// The name of a step's hints file under [`GENERATED`].
pub fn hints_name(step: &Step) -> String {
    format!("step-{}-hints.md", step.number)
}
