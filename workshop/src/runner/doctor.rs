//! An attendee's machine, before the day: `cargo run -p workshop doctor` says what is ready and
//! what to fix; `cargo run -p workshop prepare` downloads every crate and builds every program
//! the day runs, so that the room needs no network.

use std::{path::Path, process::Command};

use crate::{exercises, harness::process, runner::up};

/// What one look at the machine found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// Ready.
    Ready(String),
    /// The day will not go well until this is fixed.
    Fix(String),
    /// Worth knowing; nothing stops working.
    Note(String),
}

/// The oldest Rust the workspace builds with (its `rust-version`).
pub const RUST_VERSION: &str = env!("CARGO_PKG_RUST_VERSION");
/// The mdBook the book is checked with, and the Rust it needs to be installed.
pub const MDBOOK_VERSION: &str = "0.5.4";
pub const MDBOOK_RUST_VERSION: &str = "1.88";

/// The ports the book's by-hand runs use: the frontend, the backend, the delay proxy, the
/// trace viewer (OTLP, and its web page) and `mdbook serve`.
const PORTS: [(u16, &str); 6] = [
    (up::FRONTEND_PORT, "the frontend"),
    (up::BACKEND_PORT, "the backend"),
    (8082, "the delay proxy"),
    (4318, "the trace viewer (OTLP)"),
    (up::VIEWER_PAGE_PORT, "the trace viewer's page"),
    (3000, "`mdbook serve`"),
];

/// Looks at the machine: system, Rust, curl, crates, programs built, ports, book tools.
pub fn examine() -> Vec<Finding> {
    let mut findings = vec![system(), rust(), curl(), crates(), built()];
    findings.extend(ports());
    findings.push(mdbook());
    findings
}

fn system() -> Finding {
    if cfg!(windows) {
        return Finding::Fix(
            "this is Windows: the programs and the runner stop on Unix signals, so the \
             workshop runs in WSL2 (`wsl --install`, then clone and run it inside Ubuntu)"
                .into(),
        );
    }
    let wsl = std::fs::read_to_string("/proc/version")
        .is_ok_and(|version| version.to_ascii_lowercase().contains("microsoft"));
    let name = match std::env::consts::OS {
        "linux" if wsl => "Linux in WSL2",
        "linux" => "Linux",
        "macos" => "macOS",
        other => other,
    };
    Finding::Ready(format!(
        "{name}: the programs stop on Unix signals, as the book shows"
    ))
}

fn rust() -> Finding {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let Some(printed) = output_of(Command::new(rustc).arg("--version")) else {
        return Finding::Fix("no `rustc` found: install Rust from https://rustup.rs".into());
    };
    // `rustc 1.95.0 (59807616e 2026-04-14)`
    let version = printed.split_whitespace().nth(1).unwrap_or_default();
    match is_at_least(version, RUST_VERSION) {
        Some(true) => Finding::Ready(format!(
            "Rust {version} (the workshop needs {RUST_VERSION} or newer)"
        )),
        Some(false) => Finding::Fix(format!(
            "Rust {version} is older than the {RUST_VERSION} the workshop needs: `rustup update`"
        )),
        None => Finding::Note(format!("cannot read a version in {printed:?}")),
    }
}

fn curl() -> Finding {
    match output_of(Command::new("curl").arg("--version")) {
        Some(_) => Finding::Ready("curl, to send the requests".into()),
        None => Finding::Fix(
            "no `curl` found: install it (Debian, Ubuntu: `sudo apt install curl`); the \
             chapters send every request with it"
                .into(),
        ),
    }
}

/// Whether every crate the workspace needs is downloaded: `cargo metadata` reads each one's
/// manifest, and offline it can only read those on the machine.
fn crates() -> Finding {
    let mut command = process::cargo();
    command.args(["metadata", "--format-version", "1", "--locked", "--offline"]);
    match output_of(&mut command) {
        Some(_) => Finding::Ready("every crate downloaded (the day needs no network)".into()),
        None => Finding::Fix(
            "crates still to download: run `cargo run -p workshop prepare` while online".into(),
        ),
    }
}

/// Whether every program the day runs is built, in the folder the runner finds them in.
fn built() -> Finding {
    let Ok(folder) = process::programs_folder() else {
        return Finding::Note("cannot tell where cargo builds the programs".into());
    };
    let missing: Vec<String> = day_programs()
        .into_iter()
        .filter(|package| !is_built(&folder, package))
        .collect();
    match missing.len() {
        0 => Finding::Ready("every step's and exercise's programs built".into()),
        count => Finding::Fix(format!(
            "{count} programs not built yet (first: {}): run `cargo run -p workshop prepare`, \
             or the first `up` and `check` of each step will compile for a while",
            missing[0]
        )),
    }
}

fn is_built(folder: &Path, package: &str) -> bool {
    folder
        .join(format!("{package}{}", std::env::consts::EXE_SUFFIX))
        .is_file()
}

fn ports() -> Vec<Finding> {
    let taken: Vec<String> = PORTS
        .iter()
        .filter(|(port, _)| !up::is_free(*port))
        .map(|(port, who)| format!("{port} ({who})"))
        .collect();
    if taken.is_empty() {
        let all: Vec<String> = PORTS.iter().map(|(port, _)| port.to_string()).collect();
        return vec![Finding::Ready(format!(
            "ports {} free, as the book's by-hand runs use them",
            all.join(", ")
        ))];
    }
    vec![Finding::Note(format!(
        "taken: port {}; `lsof -i :PORT` shows by whom. `cargo run -p workshop up` takes free \
         ports instead; by hand, set LISTEN_ADDR",
        taken.join(", port ")
    ))]
}

fn mdbook() -> Finding {
    let wanted = format!("mdbook v{MDBOOK_VERSION}");
    match output_of(Command::new("mdbook").arg("--version")) {
        Some(version) if version.trim() == wanted => {
            Finding::Ready(format!("{wanted}, to read the book on this machine"))
        }
        Some(version) => Finding::Note(format!(
            "{}, not the {wanted} the book is checked with: `cargo install --locked mdbook \
             --version {MDBOOK_VERSION}` (it needs Rust {MDBOOK_RUST_VERSION})",
            version.trim()
        )),
        None => Finding::Note(format!(
            "no mdBook: only to read the book on this machine, `cargo install --locked mdbook \
             --version {MDBOOK_VERSION}` (it needs Rust {MDBOOK_RUST_VERSION})"
        )),
    }
}

/// What `command` printed on stdout, if it ran and succeeded.
fn output_of(command: &mut Command) -> Option<String> {
    let output = command
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).into_owned())
}

/// Whether the version `have` (`1.95.0`) is at least `need` (`1.85`); `None` if `have` is not a
/// version.
fn is_at_least(have: &str, need: &str) -> Option<bool> {
    let numbers = |version: &str| -> Option<Vec<u64>> {
        // `1.96.0-nightly`: the numbers before the tag.
        let version = version.split('-').next()?;
        version.split('.').map(|part| part.parse().ok()).collect()
    };
    let (mut have, mut need) = (numbers(have)?, numbers(need)?);
    have.resize(3, 0);
    need.resize(3, 0);
    Some(have >= need)
}

/// Every program the day runs: each step's two, each exercise's two, the trace viewer and the
/// delay proxy.
pub fn day_programs() -> Vec<String> {
    let mut programs = process::step_programs();
    for exercise in exercises::all() {
        programs.extend([exercise.frontend(), exercise.backend()]);
    }
    programs
}

/// Downloads every crate the workspace needs, then builds every program the day runs.
pub fn prepare() -> Result<(), String> {
    println!("Downloading every crate the workshop needs (cargo fetch)...");
    let status = process::cargo()
        .args(["fetch", "--locked"])
        .status()
        .map_err(|error| format!("cannot run cargo: {error}"))?;
    if !status.success() {
        return Err(format!("cargo fetch failed ({status})"));
    }
    println!("Building every step's and exercise's programs...");
    process::build(&day_programs(), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_compare_by_their_numbers() {
        assert_eq!(is_at_least("1.95.0", "1.85"), Some(true));
        assert_eq!(is_at_least("1.85.0", "1.85"), Some(true));
        assert_eq!(is_at_least("1.84.1", "1.85"), Some(false));
        assert_eq!(is_at_least("1.100.0", "1.85"), Some(true));
        assert_eq!(is_at_least("1.96.0-nightly", "1.85"), Some(true));
        assert_eq!(is_at_least("unknown", "1.85"), None);
    }
}
