//! A package's unit tests, built with cargo and then run with a time limit: for a check that
//! runs tests someone else wrote (the testing exercise's), which may wait forever.

use std::{
    io::Read,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::mpsc,
    thread,
    time::{Duration, Instant},
};

use super::{building::describes_the_running_crate, cargo, target_dir};

/// How a package's unit tests went, with what cargo and the tests printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestRun {
    Passed(String),
    Failed(String),
    /// They did not compile: nothing ran.
    DidNotBuild(String),
    /// They ran longer than the time limit, and were stopped: what they printed until then.
    TimedOut(String),
}

/// Builds the unit tests of `package`, of the workspace in `folder` (into this program's
/// target folder, offline), then runs each test program it has for at most `time_limit`.
pub fn test_in(folder: &Path, package: &str, time_limit: Duration) -> Result<TestRun, String> {
    let built = cargo()
        .current_dir(folder)
        .args([
            "test",
            "--offline",
            "--quiet",
            "--no-run",
            "--package",
            package,
        ])
        .args([
            "--message-format",
            "json-render-diagnostics",
            "--target-dir",
        ])
        .arg(target_dir()?)
        .stdin(Stdio::null())
        .output()
        .map_err(|error| format!("cannot run cargo: {error}"))?;
    if !built.status.success() {
        return Ok(TestRun::DidNotBuild(
            String::from_utf8_lossy(&built.stderr).into_owned(),
        ));
    }
    let executables = test_executables(&String::from_utf8_lossy(&built.stdout));
    if executables.is_empty() {
        return Err(format!("cargo built no unit tests for {package}"));
    }
    let mut printed = String::new();
    for (executable, package_folder) in executables {
        let deadline = Instant::now() + time_limit;
        let (status, output) = run_until(&executable, &package_folder, deadline)?;
        printed.push_str(&output);
        match status {
            None => return Ok(TestRun::TimedOut(printed)),
            Some(false) => return Ok(TestRun::Failed(printed)),
            Some(true) => {}
        }
    }
    Ok(TestRun::Passed(printed))
}

/// The test programs cargo's JSON messages name, each with its package's folder (where cargo
/// would run it).
fn test_executables(messages: &str) -> Vec<(PathBuf, PathBuf)> {
    messages
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|message| {
            message["reason"] == "compiler-artifact" && message["profile"]["test"] == true
        })
        .filter_map(|message| {
            let executable = PathBuf::from(message["executable"].as_str()?);
            let manifest = PathBuf::from(message["manifest_path"].as_str()?);
            Some((executable, manifest.parent()?.to_path_buf()))
        })
        .collect()
}

/// Runs `executable` in `folder`, as `cargo test` would, until it exits or `deadline` passes,
/// when it is killed: whether it succeeded (`None` when it was killed), and what it printed,
/// stdout then stderr.
fn run_until(
    executable: &Path,
    folder: &Path,
    deadline: Instant,
) -> Result<(Option<bool>, String), String> {
    let mut command = Command::new(executable);
    // What cargo would set for the package under test, not what it set for this program.
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(describes_the_running_crate) {
            command.env_remove(name);
        }
    }
    let mut child = command
        .env("CARGO_MANIFEST_DIR", folder)
        .current_dir(folder)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| format!("cannot run {}: {error}", executable.display()))?;
    // Read on threads of their own: a full pipe would stop the tests.
    let readers = [
        child.stdout.take().map(read_all),
        child.stderr.take().map(read_all),
    ];
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status.success()),
            Ok(None) if Instant::now() >= deadline => {
                stop(&mut child);
                break None;
            }
            Ok(None) => thread::sleep(Duration::from_millis(20)),
            Err(error) => {
                stop(&mut child);
                return Err(format!("waiting for {}: {error}", executable.display()));
            }
        }
    };
    // A process the tests started may hold the pipes open after they ended: what it has not
    // closed within a few seconds is left unread, rather than waited for.
    let printed = readers
        .into_iter()
        .flatten()
        .map(|reader| {
            reader
                .recv_timeout(Duration::from_secs(5))
                .unwrap_or_else(|_| "(the rest of the output was not closed)\n".to_owned())
        })
        .collect();
    Ok((status, printed))
}

/// Kills `child` and reaps it.
fn stop(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Reads `from` to its end on a thread of its own, and sends what it read.
fn read_all(mut from: impl Read + Send + 'static) -> mpsc::Receiver<String> {
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = from.read_to_end(&mut bytes);
        let _ = sender.send(String::from_utf8_lossy(&bytes).into_owned());
    });
    receiver
}
