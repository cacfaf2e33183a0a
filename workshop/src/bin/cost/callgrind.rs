//! Instruction counts of a running program, from Valgrind's callgrind: exact counts of the
//! instructions it ran in user space, which do not change with whatever else the machine is
//! doing, so that a change to the programs can be judged on a noisy machine (the cost
//! benchmark). Each count is split by thread between the request's path and the export path.

use std::path::PathBuf;

/// Functions that run only on a thread of the export path: the SDK's batch span processor's
/// (it converts the spans to OTLP and encodes them), its batch log processor's and its
/// periodic metric reader's (the same for log records and metrics), and the thread of the
/// exporter's blocking reqwest client (it sends them). Every other thread serves requests, or starts and stops the
/// program.
const EXPORT_PATH_FUNCTIONS: [&str; 4] = [
    "BatchSpanProcessor::get_spans_and_export",
    "get_logs_and_export",
    "::collect_and_export",
    "reqwest::blocking::client::ClientHandle::new",
];

/// Instructions counted in one program, by where they were spent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Instructions {
    pub request_path: u64,
    pub export_path: u64,
}

impl Instructions {
    pub fn total(&self) -> u64 {
        self.request_path + self.export_path
    }
}

/// Where callgrind writes its counts, one file per dump and thread, removed when dropped.
pub struct Counts {
    folder: PathBuf,
}

impl Counts {
    /// A new, empty folder in the system's temporary folder.
    pub fn new() -> Result<Counts, String> {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let next = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let folder =
            std::env::temp_dir().join(format!("workshop-callgrind-{}-{next}", std::process::id()));
        std::fs::create_dir_all(&folder)
            .map_err(|error| format!("cannot create {}: {error}", folder.display()))?;
        Ok(Counts { folder })
    }

    /// The command that runs a program under callgrind, writing its counts here as `name`:
    /// for [`workshop::harness::process::Service::start_wrapped`].
    pub fn wrapper(&self, name: &str) -> Vec<String> {
        vec![
            "valgrind".to_owned(),
            "--quiet".to_owned(),
            "--tool=callgrind".to_owned(),
            "--separate-threads=yes".to_owned(),
            format!(
                "--callgrind-out-file={}",
                self.folder.join(format!("{name}.%p")).display()
            ),
        ]
    }

    /// The counts of dump `dump` (1 for the first [`dump`]) of the program `name` with process
    /// id `pid`, every thread's.
    pub fn read(&self, name: &str, pid: u32, dump: u32) -> Result<Instructions, String> {
        let prefix = format!("{name}.{pid}.{dump}-");
        let entries = std::fs::read_dir(&self.folder)
            .map_err(|error| format!("cannot read {}: {error}", self.folder.display()))?;
        let mut counted = Instructions::default();
        let mut threads = 0;
        for entry in entries.flatten() {
            let file_name = entry.file_name();
            if !file_name.to_string_lossy().starts_with(&prefix) {
                continue;
            }
            let text = std::fs::read_to_string(entry.path())
                .map_err(|error| format!("cannot read {}: {error}", entry.path().display()))?;
            let (instructions, export_path) = thread_counts(&text)
                .ok_or_else(|| format!("no totals in {}", entry.path().display()))?;
            match export_path {
                true => counted.export_path += instructions,
                false => counted.request_path += instructions,
            }
            threads += 1;
        }
        match threads {
            0 => Err(format!(
                "callgrind wrote no counts named {prefix}* in {}",
                self.folder.display()
            )),
            _ => Ok(counted),
        }
    }
}

impl Drop for Counts {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.folder);
    }
}

/// Asks callgrind in process `pid` to write what it counted since the last dump, and count
/// again from zero.
pub fn dump(pid: u32) -> Result<(), String> {
    let output = std::process::Command::new("callgrind_control")
        .arg("--dump")
        .arg(pid.to_string())
        .output()
        .map_err(|error| format!("cannot run callgrind_control (Valgrind's): {error}"))?;
    match output.status.success() {
        true => Ok(()),
        false => Err(format!(
            "callgrind_control --dump {pid} failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        )),
    }
}

/// Whether Valgrind is installed, with its `callgrind_control`.
pub fn installed() -> bool {
    let runs = |program: &str| {
        std::process::Command::new(program)
            .arg("--version")
            .output()
            .is_ok_and(|output| output.status.success())
    };
    runs("valgrind") && runs("callgrind_control")
}

/// A thread's file: its instruction count (the `totals:` line), and whether the thread is on
/// the export path (one of [`EXPORT_PATH_FUNCTIONS`] ran on it).
fn thread_counts(text: &str) -> Option<(u64, bool)> {
    let totals = text
        .lines()
        .find_map(|line| line.strip_prefix("totals:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    // Callgrind writes each function's whole name once per file, the first time it is named.
    let export_path = EXPORT_PATH_FUNCTIONS
        .iter()
        .any(|function| text.contains(function));
    Some((totals, export_path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_is_on_the_export_path_when_an_export_function_ran_on_it() {
        let batch = "version: 1\ncmd: step-07-backend\nfn=(1) opentelemetry_sdk::trace::\
                     span_processor::BatchSpanProcessor::get_spans_and_export\n5 100\n\
                     totals: 38360099\n";
        assert_eq!(thread_counts(batch), Some((38_360_099, true)));
        let worker = "fn=(1) hyper::proto::h1::dispatch::Dispatcher::poll_catch\n\
                      totals: 65054797\n";
        assert_eq!(thread_counts(worker), Some((65_054_797, false)));
        assert_eq!(thread_counts("fn=(1) main\n"), None);
    }
}
