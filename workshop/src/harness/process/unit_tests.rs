//! A package's unit tests, built with cargo and then run with a time limit: for a check that
//! runs tests someone else wrote (the testing exercise's), which may wait forever.

use std::{
    io::Read,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use super::{cargo, target_dir};

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
/// target folder, offline), then runs them, for at most `time_limit` in all once built.
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
    let deadline = Instant::now() + time_limit;
    let mut printed = String::new();
    for (executable, package_folder) in executables {
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

/// Runs `executable` in `folder` until it exits or `deadline` passes, when it is killed: whether
/// it succeeded (`None` when it was killed), and what it printed, stdout then stderr.
fn run_until(
    executable: &Path,
    folder: &Path,
    deadline: Instant,
) -> Result<(Option<bool>, String), String> {
    let mut child = Command::new(executable)
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
                // Killed, then reaped: its pipes close, and the readers end.
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => thread::sleep(Duration::from_millis(20)),
            Err(error) => return Err(format!("waiting for {}: {error}", executable.display())),
        }
    };
    let printed = readers
        .into_iter()
        .flatten()
        .map(|reader| reader.join().unwrap_or_default())
        .collect();
    Ok((status, printed))
}

fn read_all(mut from: impl Read + Send + 'static) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = from.read_to_end(&mut bytes);
        String::from_utf8_lossy(&bytes).into_owned()
    })
}
