//! Building: the workspace's cold build, its warm test run, and `cargo tree -d`.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::Stdio,
    time::{Duration, Instant},
};

use workshop::harness::process;

use crate::command_output;

/// What building and testing the workspace takes.
pub(crate) struct Building {
    pub(crate) cold_build: Duration,
    /// The size of the cold build's target folder, in bytes.
    cold_build_bytes: u64,
    pub(crate) warm_tests: Duration,
    tests_passed: usize,
    /// Each crate compiled in more than one version, with its versions.
    duplicates: BTreeMap<String, Vec<String>>,
}

pub(crate) fn measure_building() -> Result<Building, String> {
    let target = process::target_dir()?;

    eprintln!("cargo tree -d");
    let tree = command_output(process::cargo().args([
        "tree",
        "--workspace",
        "--duplicates",
        "--depth",
        "0",
        "--prefix",
        "none",
    ]))?;
    let mut duplicates: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in tree.lines() {
        let mut words = line.split_whitespace();
        if let (Some(name), Some(version)) = (words.next(), words.next()) {
            let versions = duplicates.entry(name.to_owned()).or_default();
            if !versions.iter().any(|known| known == version) {
                versions.push(version.to_owned());
            }
        }
    }

    eprintln!("cargo test --workspace, built first, then timed");
    command_output(process::cargo().args(["test", "--workspace", "--no-run", "--quiet"]))?;
    let began = Instant::now();
    let output = process::cargo()
        .args(["test", "--workspace"])
        .stdin(Stdio::null())
        .output()
        .map_err(|error| format!("cannot run cargo test: {error}"))?;
    let warm_tests = began.elapsed();
    let printed = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        return Err(format!(
            "cargo test --workspace failed:\n{printed}\n{}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let tests_passed = printed
        .lines()
        .filter_map(|line| line.strip_prefix("test result: ok. "))
        .filter_map(|rest| rest.split_whitespace().next()?.parse::<usize>().ok())
        .sum();

    eprintln!("cargo build --workspace, cold, into a target folder of its own");
    let folder = target.join("cost-cold-build");
    let _ = std::fs::remove_dir_all(&folder);
    let began = Instant::now();
    command_output(
        process::cargo()
            .args(["build", "--workspace", "--quiet", "--target-dir"])
            .arg(&folder),
    )?;
    let cold_build = began.elapsed();
    let cold_build_bytes = folder_size(&folder);
    let _ = std::fs::remove_dir_all(&folder);

    Ok(Building {
        cold_build,
        cold_build_bytes,
        warm_tests,
        tests_passed,
        duplicates,
    })
}

/// The bytes of every file under `folder`, each counted once however many names it has (cargo
/// links each program into two folders), as `du` counts them.
pub(crate) fn folder_size(folder: &Path) -> u64 {
    let mut seen = std::collections::HashSet::new();
    let mut folders = vec![folder.to_path_buf()];
    let mut bytes = 0;
    while let Some(folder) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let Ok(metadata) = entry.metadata() else {
                continue;
            };
            if metadata.is_dir() {
                folders.push(entry.path());
            } else if metadata.is_file() && seen.insert(file_identity(&metadata, &entry.path())) {
                bytes += metadata.len();
            }
        }
    }
    bytes
}

/// What tells two names of one file apart from two files: the inode where there is one.
#[cfg(unix)]
pub(crate) fn file_identity(metadata: &std::fs::Metadata, _path: &Path) -> (u64, u64, PathBuf) {
    use std::os::unix::fs::MetadataExt;
    (metadata.dev(), metadata.ino(), PathBuf::new())
}

#[cfg(not(unix))]
pub(crate) fn file_identity(_metadata: &std::fs::Metadata, path: &Path) -> (u64, u64, PathBuf) {
    (0, 0, path.to_path_buf())
}

impl Building {
    pub(crate) fn report(&self) -> String {
        let twice: Vec<String> = self
            .duplicates
            .iter()
            .map(|(name, versions)| format!("{name} ({})", versions.join(", ")))
            .collect();
        format!(
            "### Building\n\n\
             | | |\n|---|---|\n\
             | Cold `cargo build --workspace`, crates already downloaded | {:.0} s; the target \
             folder then holds {:.1} GB |\n\
             | Warm `cargo test --workspace` | {:.0} s, {} tests passed |\n\
             | `cargo tree -d`: crates built in two versions | {}: {} |\n\n",
            self.cold_build.as_secs_f64(),
            self.cold_build_bytes as f64 / 1e9,
            self.warm_tests.as_secs_f64(),
            self.tests_passed,
            self.duplicates.len(),
            twice.join(", "),
        )
    }
}
