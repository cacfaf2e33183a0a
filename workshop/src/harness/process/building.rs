//! Building the programs with cargo, once per process, and finding them: the target folder
//! this program was built in, and each program's path there.

use std::{collections::BTreeSet, path::PathBuf, process::Stdio, sync::Mutex};

use crate::steps::STEPS;

/// Builds `packages` with cargo, unless this process has built them already, so that nobody
/// runs a stale program. With `show_progress`, cargo's own lines go to stderr; without, only
/// its errors do.
pub fn build(packages: &[String], show_progress: bool) -> Result<(), String> {
    // Held while cargo runs: callers on other threads wait for this build, not start another.
    let mut built = built_packages();
    let missing: Vec<String> = packages
        .iter()
        .filter(|p| !built.contains(*p))
        .cloned()
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let mut command = build_command(&missing)?;
    if !show_progress {
        command.arg("--quiet");
    }
    let status = command
        .stdin(Stdio::null())
        .status()
        .map_err(|error| format!("cannot run cargo: {error}"))?;
    if !status.success() {
        return Err(format!("cargo build failed ({status})"));
    }
    built.extend(missing);
    Ok(())
}

/// Why [`build_capturing`] built nothing.
#[derive(Debug)]
pub enum BuildFailure {
    /// Cargo could not be run, or this program cannot tell where it builds.
    NoCargo(String),
    /// The code does not compile: what cargo printed on stderr.
    Rejected(String),
}

/// As [`build`], with what cargo prints kept instead of shown, for a caller that explains a
/// failed build in its own words (`cargo run -p workshop check`).
pub fn build_capturing(packages: &[String]) -> Result<(), BuildFailure> {
    let mut built = built_packages();
    let packages: Vec<String> = packages
        .iter()
        .filter(|p| !built.contains(*p))
        .cloned()
        .collect();
    if packages.is_empty() {
        return Ok(());
    }
    let output = build_command(&packages)
        .map_err(BuildFailure::NoCargo)?
        .arg("--quiet")
        .stdin(Stdio::null())
        .output()
        .map_err(|error| BuildFailure::NoCargo(format!("cannot run cargo: {error}")))?;
    if !output.status.success() {
        let printed = String::from_utf8_lossy(&output.stderr).into_owned();
        return Err(BuildFailure::Rejected(printed));
    }
    built.extend(packages);
    Ok(())
}

/// Builds `packages` of the workspace in `folder`, not this repository's, into the folder and
/// profile this program was built with, so that [`program`] and
/// [`Service::start`](super::Service::start) find them: for the tests that build the check's
/// corpus of mistakes in a scratch workspace. Offline: every crate it needs is one the
/// repository's build has fetched.
pub fn build_in(folder: &std::path::Path, packages: &[String]) -> Result<(), String> {
    let mut built = built_packages();
    let mut command = build_command(packages)?;
    command.current_dir(folder).arg("--offline").arg("--quiet");
    // Kept, not shown: a mistake's unused imports warn, as they should.
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|error| format!("cannot run cargo: {error}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo build in {} failed ({}):\n{}",
            folder.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    built.extend(packages.iter().cloned());
    Ok(())
}

/// The repository's `Cargo.toml` as the manifest of a scratch workspace in another folder: the
/// same dependencies, lints and profiles (so that the crates the repository has built are
/// reused), with `members` (folders relative to it) instead of the repository's, and paths that
/// lead back to it.
pub fn scratch_manifest(members: &[String]) -> Result<String, String> {
    let root = crate::steps::repository();
    let manifest = std::fs::read_to_string(root.join("Cargo.toml"))
        .map_err(|error| format!("cannot read the workspace's Cargo.toml: {error}"))?;
    let mut out = String::new();
    let mut in_members = false;
    for line in manifest.lines() {
        if line.starts_with("members = [") {
            in_members = true;
            let quoted: Vec<String> = members.iter().map(|member| format!("{member:?}")).collect();
            out.push_str(&format!("members = [{}]\n", quoted.join(", ")));
            continue;
        }
        if in_members {
            in_members = line != "]";
            continue;
        }
        let line = line.replace("path = \"", &format!("path = \"{}/", root.display()));
        out.push_str(&line);
        out.push('\n');
    }
    Ok(out)
}

/// `cargo build` of `packages`' programs, told to build into the folder this program was built
/// in, with its profile: so the programs are found where they were built, whatever
/// `--target-dir` or `--release` the outer command was given.
fn build_command(packages: &[String]) -> Result<std::process::Command, String> {
    let output = Output::of_this_program()?;
    let mut command = cargo();
    command
        .args(["build", "--bins"])
        .arg("--target-dir")
        .arg(&output.target_dir)
        .args(["--profile", &output.profile]);
    for package in packages {
        command.args(["--package", package.as_str()]);
    }
    Ok(command)
}

/// The cargo that runs this program (the tests, `cargo run`), in the workspace's folder.
pub fn cargo() -> std::process::Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = std::process::Command::new(cargo);
    command.current_dir(crate::steps::repository());
    // Cargo describes the crate it runs (this one) in the environment. Passed on, those values
    // would reach build scripts that watch them (ring's watches CARGO_PKG_NAME and others), and
    // the outer and inner builds would rebuild ring, and all above it, for each other in turn.
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(describes_the_running_crate) {
            command.env_remove(name);
        }
    }
    command
}

/// The variables cargo sets for the crate it builds or runs, as opposed to those that configure
/// cargo itself (`CARGO_HOME`, `CARGO_PROFILE_*`, ...), which the inner build must keep.
pub(super) fn describes_the_running_crate(variable: &str) -> bool {
    matches!(
        variable,
        "CARGO_MANIFEST_DIR"
            | "CARGO_MANIFEST_PATH"
            | "CARGO_MANIFEST_LINKS"
            | "CARGO_CRATE_NAME"
            | "CARGO_BIN_NAME"
            | "CARGO_PRIMARY_PACKAGE"
            | "CARGO_TARGET_TMPDIR"
            | "OUT_DIR"
    ) || variable.starts_with("CARGO_PKG_")
        || variable.starts_with("CARGO_BIN_EXE_")
}

/// The packages this process has built.
fn built_packages() -> std::sync::MutexGuard<'static, BTreeSet<String>> {
    static BUILT: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    BUILT
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Where cargo put this program, read from its path: `<target-dir>/<profile folder>/` for the
/// runner, with `deps/` below that for a test.
struct Output {
    /// `<target-dir>/<profile folder>`: where the step programs will be.
    folder: PathBuf,
    target_dir: PathBuf,
    /// The profile's name: the folder's, but `dev` builds into `debug`.
    profile: String,
}

impl Output {
    fn of_this_program() -> Result<Self, String> {
        let current = std::env::current_exe().map_err(|error| error.to_string())?;
        let mut folder = current
            .parent()
            .ok_or("the running program has no folder")?;
        if folder.ends_with("deps") {
            folder = folder.parent().ok_or("the deps folder has no parent")?;
        }
        let name = folder.file_name().and_then(|name| name.to_str());
        let profile = match name {
            Some("debug") => "dev",
            Some(name) => name,
            None => return Err(format!("no profile folder in {}", current.display())),
        };
        let target_dir = folder.parent().ok_or("the profile folder has no parent")?;
        Ok(Self {
            folder: folder.to_path_buf(),
            target_dir: target_dir.to_path_buf(),
            profile: profile.to_owned(),
        })
    }
}

/// The target folder this program was built in (`target/`, or what `--target-dir` named).
pub fn target_dir() -> Result<PathBuf, String> {
    Ok(Output::of_this_program()?.target_dir)
}

/// Tells this process that every step program is built already, so that [`program`] does not
/// run cargo: for a test re-run where cargo cannot work (in a namespace without a network) after
/// the process that started it has built them.
pub fn assume_every_step_built() {
    built_packages().extend(every_program());
}

/// Every program the tests run: each step's two, the trace viewer, the delay proxy, the W3C
/// test service and the workshop's runner.
fn every_program() -> Vec<String> {
    let mut programs = step_programs();
    programs.extend([W3C_TEST_SERVICE, HARDENED_BACKEND, RUNNER].map(str::to_owned));
    programs
}

/// Each step's two programs, the trace viewer and the delay proxy: what the book runs.
pub fn step_programs() -> Vec<String> {
    STEPS
        .iter()
        .flat_map(|step| [step.frontend(), step.backend()])
        .chain([TRACE_VIEWER, DELAY_PROXY].map(str::to_owned))
        .collect()
}

/// The folder the programs are built into and found in: the one this program was built in.
pub fn programs_folder() -> Result<PathBuf, String> {
    Ok(Output::of_this_program()?.folder)
}

/// The package of the runner, `cargo run -p workshop` (its program has the package's name).
pub const RUNNER: &str = "workshop";

/// The package of the delay proxy (`cargo run -p delay-proxy`).
pub const DELAY_PROXY: &str = "delay-proxy";

/// The package of the W3C Trace Context test suite's test service (`cargo run -p
/// w3c-test-service`), which exports over OTLP as step 07 does.
pub const W3C_TEST_SERVICE: &str = "w3c-test-service";

/// The package of the hardening chapter's backend: step 07's, with the hardening added.
pub const HARDENED_BACKEND: &str = "hardened-backend";

/// The package of the trace viewer (`cargo run -p trace-viewer`).
pub const TRACE_VIEWER: &str = "trace-viewer";

/// The path of a step program (`step-05-frontend`), built first if this process has not built
/// it yet: then every step's programs, and the trace viewer, are built at once, the cheapest way for a test suite.
pub fn program(package: &str) -> Result<PathBuf, String> {
    if !built_packages().contains(package) {
        build(&every_program(), false)?;
    }
    let name = format!("{package}{}", std::env::consts::EXE_SUFFIX);
    let path = Output::of_this_program()?.folder.join(name);
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!("cargo built no program at {}", path.display()))
    }
}
