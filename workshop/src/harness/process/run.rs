//! Running the programs: started on ephemeral ports with a scrubbed environment, stopped with
//! SIGTERM, their stdout and stderr kept for checking, and what they exported read back.

use std::{
    ffi::OsString,
    net::SocketAddr,
    process::{ExitStatus, Stdio},
    time::Duration,
};

use tokio::{
    io::{AsyncBufReadExt, AsyncReadExt, BufReader},
    process::{Child, Command},
    sync::{oneshot, watch},
    task::JoinHandle,
};

use trace_viewer::{
    receiver::Receiver,
    signals::{LogRecord, MetricRecord},
};

use super::building::{W3C_TEST_SERVICE, program};
use crate::{harness::stdout, spans::SpanRecord};

/// The longest a program may take to start or to stop before the caller gives up on it. Only a
/// bound for a broken program: a working one takes milliseconds.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// The variables the programs read. They are removed from every program's environment, so that
/// a developer's own `OTEL_SERVICE_NAME`, proxy setting or Google credentials cannot change
/// what a test sees.
pub(crate) fn is_scrubbed(variable: &str) -> bool {
    variable.starts_with("OTEL_")
        || matches!(
            variable,
            "LISTEN_ADDR"
                | "VIEWER_PAGE_ADDR"
                | "BACKEND_URL"
                | "BACKEND_TIMEOUT_MS"
                | "GOOGLE_APPLICATION_CREDENTIALS"
                | "GOOGLE_CLOUD_PROJECT"
                | "CLOUDSDK_CONFIG"
                | "SSL_CERT_FILE"
                | "SSL_CERT_DIR"
        )
        || variable.to_ascii_lowercase().ends_with("_proxy")
}

/// A step program that is running and has said where it listens.
pub struct Service {
    child: Child,
    address: SocketAddr,
    /// Everything written to stdout so far.
    stdout: watch::Receiver<String>,
    stdout_done: JoinHandle<()>,
    /// Everything written to stderr so far.
    stderr: watch::Receiver<String>,
    stderr_done: JoinHandle<()>,
    /// Where a program that exports with OTLP sends its spans: its own receiver, so that each
    /// program's spans are told apart whatever their service name.
    receiver: Option<Receiver>,
    /// The program's stdout, when nobody is to read it.
    _unread_stdout: Option<tokio::process::ChildStdout>,
}

/// A program that has exited, with everything it printed.
#[derive(Debug)]
pub struct Exited {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    /// The spans it sent with OTLP, for a program that does (see
    /// [`Step::otlp`](crate::steps::Step::otlp)).
    pub sent: Option<Vec<SpanRecord>>,
    /// The metrics it sent with OTLP: each export's points of each metric, in order.
    pub metrics: Vec<MetricRecord>,
    /// The log records it sent with OTLP.
    pub logs: Vec<LogRecord>,
}

impl Exited {
    /// The spans the program exported: those it sent with OTLP, or else those it printed to
    /// stdout (an error if stdout held anything else).
    pub fn parse_spans(&self) -> Result<Vec<SpanRecord>, String> {
        match &self.sent {
            Some(spans) => Ok(spans.clone()),
            None => stdout::parse(&self.stdout),
        }
    }

    /// The spans the program exported; panics, showing stdout, if stdout holds anything else.
    pub fn spans(&self) -> Vec<SpanRecord> {
        self.parse_spans()
            .unwrap_or_else(|error| panic!("{error}\nwhole stdout:\n{}", self.stdout))
    }

    /// The spans the SDK's batch processor dropped, its queue full, as it logged them on
    /// stderr: the count it gives at shutdown (`dropped_span_count=N`), or 1 if the program
    /// stopped before saying more than that it began to drop.
    pub fn spans_dropped(&self) -> u64 {
        const COUNT: &str = "dropped_span_count=";
        const STARTED: &str = "BatchSpanProcessor.SpanDroppingStarted";
        match self.stderr.split_once(COUNT) {
            Some((_, after)) => {
                let digits = after.split(|c: char| !c.is_ascii_digit()).next();
                digits.and_then(|digits| digits.parse().ok()).unwrap_or(1)
            }
            None => u64::from(self.stderr.contains(STARTED)),
        }
    }

    /// Panics unless the program exited with code 0.
    pub fn assert_success(&self) {
        assert!(
            self.status.success(),
            "exited with {}; stderr:\n{}",
            self.status,
            self.stderr
        );
    }
}

impl Service {
    /// Starts `package` with `LISTEN_ADDR=127.0.0.1:0` and the variables in `env`, and waits
    /// for its `listening on` line.
    /// A program that exports with OTLP gets a receiver of its own, in
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`, unless `env` says otherwise.
    pub async fn start(package: &str, env: &[(&str, &str)]) -> Result<Service, String> {
        Self::launch(package, env, true, false).await
    }

    /// As [`Service::start`], in a process group of its own: Ctrl-C in the terminal then
    /// reaches only this process, which stops the program itself, in its own order (the
    /// runner's `up`: the frontend first, then the backend it calls).
    pub async fn start_in_own_group(
        package: &str,
        env: &[(&str, &str)],
    ) -> Result<Service, String> {
        Self::launch(package, env, true, true).await
    }

    /// As [`Service::start`], but nobody reads what the program writes to stdout: its pipe
    /// fills, and then writing blocks, as with a paused terminal.
    pub async fn start_with_stdout_unread(
        package: &str,
        env: &[(&str, &str)],
    ) -> Result<Service, String> {
        Self::launch(package, env, false, false).await
    }

    /// As [`Service::start`], the program run by another: `wrapper` is that program and its
    /// arguments, the step's program its last (Valgrind, to count instructions).
    pub async fn start_wrapped(
        wrapper: &[String],
        package: &str,
        env: &[(&str, &str)],
    ) -> Result<Service, String> {
        Self::launch_wrapped(wrapper, package, env, true, false).await
    }

    async fn launch(
        package: &str,
        env: &[(&str, &str)],
        read_stdout: bool,
        own_group: bool,
    ) -> Result<Service, String> {
        Self::launch_wrapped(&[], package, env, read_stdout, own_group).await
    }

    async fn launch_wrapped(
        wrapper: &[String],
        package: &str,
        env: &[(&str, &str)],
        read_stdout: bool,
        own_group: bool,
    ) -> Result<Service, String> {
        let exports_otlp = package == W3C_TEST_SERVICE
            || crate::steps::of_package(package).is_some_and(|step| step.otlp);
        let receiver = match exports_otlp {
            true => Some(
                Receiver::bind("127.0.0.1:0")
                    .await
                    .map_err(|error| format!("cannot start an OTLP receiver: {error}"))?,
            ),
            false => None,
        };
        let endpoint = receiver.as_ref().map(Receiver::endpoint);
        let mut env = env.to_vec();
        if let Some(endpoint) = &endpoint {
            env.insert(0, ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint));
        }
        let mut command = command(wrapper, package, &env)?;
        #[cfg(unix)]
        if own_group {
            command.process_group(0);
            stop_with_parent(&mut command);
        }
        #[cfg(not(unix))]
        let _ = own_group;
        let mut child = command
            .spawn()
            .map_err(|error| format!("cannot start {package}: {error}"))?;
        let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
            return Err(format!("{package}: no pipe for stdout or stderr"));
        };
        let (printed, output) = watch::channel(String::new());
        // Held open, never read, until the service is dropped: writing to it then blocks.
        let (stdout, unread_stdout) = match read_stdout {
            true => (Some(stdout), None),
            false => (None, Some(stdout)),
        };
        let stdout_done = tokio::spawn(async move {
            let Some(mut stdout) = stdout else {
                return;
            };
            // Appended as it comes, not decoded again whole: a viewer draws megabytes.
            let mut undecoded = Vec::new();
            let mut chunk = [0; 8192];
            while let Ok(read) = stdout.read(&mut chunk).await {
                if read == 0 {
                    break;
                }
                undecoded.extend_from_slice(&chunk[..read]);
                let text = decoded_so_far(&mut undecoded);
                printed.send_modify(|printed| printed.push_str(&text));
            }
        });
        let (logged, log) = watch::channel(String::new());
        let (ready, listening) = oneshot::channel();
        let stderr_done = tokio::spawn(collect_stderr(stderr, logged, ready));

        match tokio::time::timeout(PATIENCE, listening).await {
            Ok(Ok(address)) => Ok(Service {
                child,
                address,
                stdout: output,
                stdout_done,
                stderr: log,
                stderr_done,
                receiver,
                _unread_stdout: unread_stdout,
            }),
            outcome => {
                let _ = child.start_kill();
                let status = child.wait().await;
                let _ = stderr_done.await;
                let why = match (outcome, status) {
                    (Err(_), _) => format!("said nothing about listening within {PATIENCE:?}"),
                    (_, Ok(status)) => format!("exited ({status}) before listening"),
                    (_, Err(error)) => format!("exited before listening ({error})"),
                };
                Err(format!("{package} {why}; stderr:\n{}", *log.borrow()))
            }
        }
    }

    /// How many spans its OTLP receiver got so far; `None` for a program that prints them.
    pub fn spans_received(&self) -> Option<usize> {
        let receiver = self.receiver.as_ref()?;
        Some(receiver.inbox().span_count())
    }

    /// The metrics its OTLP receiver got so far: each export's points of each metric.
    pub fn metrics_received(&self) -> Vec<MetricRecord> {
        self.receiver
            .as_ref()
            .map(|receiver| receiver.inbox().metrics())
            .unwrap_or_default()
    }

    /// `http://127.0.0.1:PORT/`
    pub fn url(&self) -> String {
        format!("http://{}/", self.address)
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// What the program has written to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.borrow().clone()
    }

    /// What the program has written to stdout so far.
    pub fn stdout(&self) -> String {
        self.stdout.borrow().clone()
    }

    /// How the program exited, if it has (without waiting).
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits until the program has written `text` to stderr: the sign it got where a test
    /// wants it. Panics if it has not within [`PATIENCE`].
    pub async fn wait_for_log(&self, text: &str) {
        let mut log = self.stderr.clone();
        let logged = log.wait_for(|log| log.contains(text));
        if tokio::time::timeout(PATIENCE, logged).await.is_err() {
            panic!(
                "no {text:?} on stderr within {PATIENCE:?}:\n{}",
                self.stderr()
            );
        }
    }

    /// The program's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.id()
    }

    /// Lowers the running program's limit on open files to `limit`, as on a machine whose
    /// default is low (macOS: 256), with util-linux's `prlimit`. Where that cannot be done it
    /// says why and returns `false`, for the test to skip; in CI (`CI` set) it panics instead,
    /// since there every test must run.
    pub fn limit_open_files(&self, limit: u32) -> bool {
        let limited = self.pid().map(|pid| {
            std::process::Command::new("prlimit")
                .arg(format!("--pid={pid}"))
                .arg(format!("--nofile={limit}:{limit}"))
                .status()
        });
        match limited {
            Some(Ok(status)) if status.success() => true,
            outcome if std::env::var_os("CI").is_some() => {
                panic!("prlimit is needed in CI (Debian: util-linux): {outcome:?}")
            }
            outcome => {
                println!(
                    "skipped: cannot limit the program's open files with prlimit: {outcome:?}"
                );
                false
            }
        }
    }

    /// The program's resident memory, in KiB, as Linux reports it (`VmRSS`); `None` elsewhere.
    pub fn resident_kib(&self) -> Option<u64> {
        self.memory_kib("VmRSS:")
    }

    /// The most resident memory the program has had, in KiB (`VmHWM`, Linux's high-water
    /// mark); `None` elsewhere.
    pub fn peak_resident_kib(&self) -> Option<u64> {
        self.memory_kib("VmHWM:")
    }

    fn memory_kib(&self, field: &str) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()?)).ok()?;
        let line = status.lines().find(|line| line.starts_with(field))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// The CPU time the program has used so far, in user and kernel mode, all its threads
    /// together, as Linux reports it; `None` elsewhere. Its resolution is a clock tick: 10 ms.
    pub fn cpu_time(&self) -> Option<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()?)).ok()?;
        Some(parse_stat(&stat)?.1)
    }

    /// The CPU time used so far by the program's threads named `thread_name`, as
    /// [`cpu_time`](Self::cpu_time) counts it; zero when it has no such thread, `None` where
    /// Linux's `/proc` is missing. (The batch span processor's thread is
    /// `OpenTelemetry.Traces.BatchProcessor`.)
    pub fn cpu_time_of_threads(&self, thread_name: &str) -> Option<Duration> {
        let tasks = std::fs::read_dir(format!("/proc/{}/task", self.child.id()?)).ok()?;
        let mut total = Duration::ZERO;
        for task in tasks.flatten() {
            // A thread that ended since the folder was listed has no stat to read.
            let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
                continue;
            };
            match parse_stat(&stat) {
                Some((kept_name, used)) if is_kept_name_of(kept_name, thread_name) => {
                    total += used;
                }
                _ => {}
            }
        }
        Some(total)
    }

    /// Waits until the program has written `text` to stdout `times` times. Panics if it has
    /// not within [`PATIENCE`].
    pub async fn wait_for_output(&self, text: &str, times: usize) {
        let mut output = self.stdout.clone();
        let printed = output.wait_for(|output| output.matches(text).count() >= times);
        if tokio::time::timeout(PATIENCE, printed).await.is_err() {
            panic!(
                "not {times} times {text:?} on stdout within {PATIENCE:?}:\n{}",
                *self.stdout.borrow()
            );
        }
    }

    /// Sends `signal`, and does not wait.
    pub fn signal(&mut self, signal: StopSignal) {
        send(&mut self.child, signal);
    }

    /// Sends SIGTERM, as a deploy would, and waits for the program to exit.
    pub async fn stop(self) -> Result<Exited, String> {
        self.stop_with(StopSignal::Terminate).await
    }

    /// Sends `signal` and waits for the program to exit.
    pub async fn stop_with(mut self, signal: StopSignal) -> Result<Exited, String> {
        send(&mut self.child, signal);
        let status = match tokio::time::timeout(PATIENCE, self.child.wait()).await {
            Ok(Ok(status)) => status,
            Ok(Err(error)) => return Err(format!("waiting for the program: {error}")),
            Err(_) => {
                let _ = self.child.kill().await;
                return Err(format!(
                    "no exit within {PATIENCE:?} of {}; stderr:\n{}",
                    signal.name(),
                    self.stderr()
                ));
            }
        };
        let _ = self.stdout_done.await;
        let stdout = self.stdout.borrow().clone();
        let _ = self.stderr_done.await;
        let stderr = self.stderr.borrow().clone();
        // The program has exited: whatever it sent has been received.
        let sent = self.receiver.as_ref().map(Receiver::spans);
        let inbox = self.receiver.as_ref().map(Receiver::inbox);
        Ok(Exited {
            status,
            stdout,
            stderr,
            sent,
            metrics: inbox.map(|inbox| inbox.metrics()).unwrap_or_default(),
            logs: inbox.map(|inbox| inbox.logs()).unwrap_or_default(),
        })
    }
}

/// The text of `bytes`, taken out of it, but for a character cut in two at its end, which
/// stays for the next read to complete. Bytes that are not UTF-8 become U+FFFD.
fn decoded_so_far(bytes: &mut Vec<u8>) -> String {
    let complete = match std::str::from_utf8(bytes) {
        Err(error) if error.error_len().is_none() => error.valid_up_to(),
        _ => bytes.len(),
    };
    let text = String::from_utf8_lossy(&bytes[..complete]).into_owned();
    bytes.drain(..complete);
    text
}

/// Has Linux send the program SIGTERM should this process die without stopping it (killed,
/// say): in a process group of its own, nothing else would stop it, and it would go on holding
/// its port. (Elsewhere, a program outlives a runner that is killed.)
#[cfg(unix)]
#[allow(unsafe_code)] // pre_exec has no safe form: what runs between fork and exec is limited
fn stop_with_parent(command: &mut Command) {
    #[cfg(target_os = "linux")]
    {
        let parent = std::process::id();
        // SAFETY: runs in the child between fork and exec, and calls only prctl(2), getppid(2)
        // and raise(3), which are async-signal-safe and touch no memory of the parent's.
        unsafe {
            command.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                // The parent died before the prctl: the signal will not come, so stop now.
                if u32::try_from(libc::getppid()).ok() != Some(parent) {
                    libc::raise(libc::SIGTERM);
                }
                Ok(())
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = command;
}

/// Whether `kept_name` is what Linux keeps of `thread_name`: its first 15 bytes.
fn is_kept_name_of(kept_name: &str, thread_name: &str) -> bool {
    let name = thread_name.as_bytes();
    kept_name.as_bytes() == name.get(..15).unwrap_or(name)
}

/// The name and the CPU time (user and kernel) of a `/proc/…/stat` line.
fn parse_stat(stat: &str) -> Option<(&str, Duration)> {
    // `pid (name) state ppid ...`: the name may hold spaces and parentheses, so it ends at the
    // last `)`. utime and stime are fields 14 and 15, the 12th and 13th after the name.
    let (before, after) = stat.rsplit_once(')')?;
    let name = before.split_once('(')?.1;
    let mut after_name = after.split_whitespace().skip(11);
    let user: u64 = after_name.next()?.parse().ok()?;
    let system: u64 = after_name.next()?.parse().ok()?;
    // In USER_HZ, which Linux fixes at 100 a second for what it shows to programs.
    Some((name, Duration::from_millis((user + system) * 10)))
}

/// Runs `package` with the variables in `env` until it exits by itself, as it does when its
/// configuration is bad.
pub async fn run_to_exit(package: &str, env: &[(&str, &str)]) -> Result<Exited, String> {
    let child = command(&[], package, env)?
        .spawn()
        .map_err(|error| format!("cannot start {package}: {error}"))?;
    match tokio::time::timeout(PATIENCE, child.wait_with_output()).await {
        Ok(Ok(output)) => Ok(Exited {
            status: output.status,
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            sent: None,
            metrics: Vec::new(),
            logs: Vec::new(),
        }),
        Ok(Err(error)) => Err(format!("waiting for {package}: {error}")),
        Err(_) => Err(format!("{package} still runs after {PATIENCE:?}")),
    }
}

/// Runs `program` with `variable=value` alone and panics unless it refused the value as the
/// contract says: exit code 2 before listening, and one line on stderr that names the variable
/// and the value.
pub async fn assert_refused_at_start(program: &str, variable: &str, value: &str) {
    let exited = run_to_exit(program, &[(variable, value)])
        .await
        .unwrap_or_else(|error| panic!("{program}: {error}"));
    assert_eq!(
        exited.status.code(),
        Some(2),
        "{program} with {variable}={value}: {exited:?}"
    );
    let lines: Vec<&str> = exited.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{program}: one line: {}", exited.stderr);
    assert!(
        lines[0].starts_with(&format!("error: {variable}={value:?}: ")),
        "{program}: {}",
        lines[0]
    );
}

fn command(wrapper: &[String], package: &str, env: &[(&str, &str)]) -> Result<Command, String> {
    let program = program(package)?;
    let mut command = match wrapper {
        [] => Command::new(program),
        [wrapper, arguments @ ..] => {
            let mut command = Command::new(wrapper);
            command.args(arguments).arg(program);
            command
        }
    };
    let inherited: Vec<OsString> = std::env::vars_os()
        .map(|(name, _)| name)
        .filter(|name| name.to_str().is_some_and(is_scrubbed))
        .collect();
    for name in inherited {
        command.env_remove(name);
    }
    command.env("LISTEN_ADDR", "127.0.0.1:0");
    // The trace viewer's web page, on a port of its own (only the viewer reads it).
    command.env("VIEWER_PAGE_ADDR", "127.0.0.1:0");
    for (name, value) in env {
        command.env(name, value);
    }
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // A failing test must not leave programs running behind it.
        .kill_on_drop(true);
    Ok(command)
}

async fn collect_stderr(
    stderr: tokio::process::ChildStderr,
    logged: watch::Sender<String>,
    ready: oneshot::Sender<SocketAddr>,
) {
    let mut ready = Some(ready);
    let mut lines = BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let address = line.strip_prefix("listening on http://");
        if let Some(address) = address.and_then(|address| address.parse().ok()) {
            if let Some(ready) = ready.take() {
                let _ = ready.send(address);
            }
        }
        logged.send_modify(|log| {
            log.push_str(&line);
            log.push('\n');
        });
    }
}

/// The signals that ask a program to stop gracefully.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopSignal {
    /// SIGTERM, what a deploy or `docker stop` sends.
    Terminate,
    /// SIGINT, what Ctrl-C sends.
    Interrupt,
}

impl StopSignal {
    pub fn name(self) -> &'static str {
        match self {
            StopSignal::Terminate => "SIGTERM",
            StopSignal::Interrupt => "SIGINT",
        }
    }
}

#[cfg(unix)]
#[allow(unsafe_code)] // the one call std has no safe wrapper for
fn send(child: &mut Child, stop: StopSignal) {
    let signal = match stop {
        StopSignal::Terminate => libc::SIGTERM,
        StopSignal::Interrupt => libc::SIGINT,
    };
    if let Some(id) = child.id().and_then(|id| libc::pid_t::try_from(id).ok()) {
        // SAFETY: kill(2) only reads its two integer arguments. The child has not been
        // reaped (its `id()` is still known), so the pid names it and no other process.
        unsafe {
            libc::kill(id, signal);
        }
    }
}

#[cfg(not(unix))]
fn send(child: &mut Child, _stop: StopSignal) {
    // No signals here: the programs cannot be asked to stop gracefully, only killed.
    let _ = child.start_kill();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stat_line_gives_the_name_and_the_cpu_time_even_with_parentheses_in_the_name() {
        // Fields 14 and 15 (utime 7, stime 5) are the 12th and 13th after the name.
        let stat = "42 (a (b) c) S 1 2 3 4 5 6 7 8 9 10 7 5 0 0 20 0 1 0";
        assert_eq!(
            parse_stat(stat),
            Some(("a (b) c", Duration::from_millis(120)))
        );
        assert_eq!(parse_stat("42 no name"), None);
    }

    #[test]
    fn output_is_decoded_as_it_comes_even_with_a_character_cut_between_two_reads() {
        let mut bytes = "a é".as_bytes()[..3].to_vec();
        assert_eq!(decoded_so_far(&mut bytes), "a ");
        bytes.extend_from_slice(&"é b".as_bytes()[1..]);
        assert_eq!(decoded_so_far(&mut bytes), "é b");
        assert!(bytes.is_empty());
        let mut invalid = b"x\xffy".to_vec();
        assert_eq!(decoded_so_far(&mut invalid), "x\u{fffd}y");
    }

    #[test]
    fn a_thread_is_found_by_the_15_bytes_linux_keeps_of_its_name() {
        let batch = "OpenTelemetry.Traces.BatchProcessor";
        assert!(is_kept_name_of("OpenTelemetry.T", batch));
        assert!(is_kept_name_of("short", "short"));
        assert!(!is_kept_name_of("OpenTelemetry.M", batch));
        assert!(!is_kept_name_of("tokio-runtime-w", batch));
        assert!(!is_kept_name_of("OpenTelemetry", batch));
    }
}
