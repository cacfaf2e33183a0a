//! `cargo run -p workshop --bin book-assets`: writes what the book shows of the steps into
//! `book/src/generated/`: the diff of each step's programs from the step before, each
//! exercise's hints, and the picture of the trace each traced step exports, from a real run of
//! its two programs, and of the trace viewer's web page showing step 07's (with Chromium).
//! `cargo test -p workshop-tests --test book` fails when these no longer match. With a folder as
//! its argument, it writes there instead.

use std::{path::Path, process::ExitCode};

use workshop::{book, harness::process, steps};

#[tokio::main]
async fn main() -> ExitCode {
    match write_assets().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn write_assets() -> Result<(), String> {
    // Another folder may be named, to look at fresh pictures without touching the book.
    let folder = match std::env::args_os().nth(1) {
        Some(folder) => folder.into(),
        None => steps::repository().join(book::GENERATED),
    };
    // Everything is made first: a failed run leaves the book's files as they were.
    let mut files = book::diffs::step_diffs()?;
    files.extend(book::exercise_hints());
    files.push((
        book::TRACE_HEADER_TABLE.to_owned(),
        book::trace_header_table(),
    ));
    files.push((
        book::OTLP_VARIABLES_TABLE.to_owned(),
        book::otlp_variables_table(),
    ));
    let programs: Vec<String> = book::pictures::pictured_steps()
        .flat_map(|step| [step.frontend(), step.backend()])
        .collect();
    tokio::task::spawn_blocking(move || process::build(&programs, true))
        .await
        .map_err(|error| error.to_string())??;
    let mut screenshot = None;
    for step in book::pictures::pictured_steps() {
        let spans = book::pictures::one_request(step).await?;
        let caption = format!("Step {}, one request", step.number);
        files.push((
            book::pictures::picture_name(step),
            book::pictures::picture(&spans, &caption),
        ));
        if step.number == book::screenshot::STEP {
            screenshot = Some(book::screenshot::viewer_page(&spans).await?);
        }
    }

    std::fs::create_dir_all(&folder)
        .map_err(|error| format!("creating {}: {error}", folder.display()))?;
    // Start afresh, so that a diff between files that no longer differ does not linger.
    let entries = std::fs::read_dir(&folder)
        .map_err(|error| format!("reading {}: {error}", folder.display()))?;
    for path in entries.filter_map(|entry| entry.ok().map(|entry| entry.path())) {
        if path
            .extension()
            .is_some_and(|ext| ext == "diff" || ext == "svg")
            || path.to_string_lossy().ends_with("-hints.md")
        {
            std::fs::remove_file(&path)
                .map_err(|error| format!("removing {}: {error}", path.display()))?;
        }
    }

    for (name, contents) in files {
        write(&folder.join(name), contents.as_bytes())?;
    }
    if let Some(png) = screenshot {
        write(&folder.join(book::screenshot::NAME), &png)?;
    }
    Ok(())
}

fn write(path: &Path, contents: &[u8]) -> Result<(), String> {
    std::fs::write(path, contents)
        .map_err(|error| format!("writing {}: {error}", path.display()))?;
    println!("wrote {}", path.display());
    Ok(())
}
