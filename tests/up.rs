//! `cargo run -p workshop up NN`, as an attendee uses it: one terminal runs the step, the
//! `curl` it prints, sent from another, draws the trace in the first, and Ctrl-C stops every
//! program it started, leaving none behind. A port asked for and taken stops it at once with
//! exit code 2 and a line naming the port. The web page `up 07` links to shows the trace in a
//! real browser. And `doctor` says what a machine lacks.

// In a test, an unwrap is an assertion: a failure panics with the error, which fails the test.
#![allow(clippy::unwrap_used)]

#[path = "common/browser.rs"]
mod browser;

use std::process::{ExitStatus, Stdio};

use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::{Child, Command},
    sync::watch,
};

use workshop::harness::process::{self, PATIENCE, RUNNER};

/// The runner's `up`, running, with what it has printed so far.
struct Up {
    child: Child,
    stdout: watch::Receiver<String>,
    stderr: watch::Receiver<String>,
}

impl Up {
    /// Starts `workshop up ARGS` with `env` added to this process's environment.
    fn start(args: &[&str], env: &[(&str, &str)]) -> Up {
        let mut command = Command::new(process::program(RUNNER).unwrap());
        command
            .arg("up")
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().unwrap();
        let stdout = collect(child.stdout.take().unwrap());
        let stderr = collect(child.stderr.take().unwrap());
        Up {
            child,
            stdout,
            stderr,
        }
    }

    /// Starts `workshop up ARGS` on free ports (the frontend's, the backend's and the page's:
    /// tests run side by side) and waits until it has printed the `curl` to send; returns it
    /// with what it printed so far.
    async fn running(args: &[&str], env: &[(&str, &str)]) -> (Up, String) {
        let free_ports = ["--port", "0", "--backend-port", "0", "--viewer-port", "0"];
        let up = Up::start(&[args, &free_ports].concat(), env);
        let printed = up
            .wait_until("the curl line", |printed| printed.contains("Ctrl-C here"))
            .await;
        (up, printed)
    }

    /// Waits until what `up` printed satisfies `done`; panics, showing it, if it has not
    /// within [`PATIENCE`] (the first run also builds the programs).
    async fn wait_until(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        let mut stdout = self.stdout.clone();
        let printed = stdout.wait_for(|printed| done(printed));
        match tokio::time::timeout(PATIENCE * 4, printed).await {
            Ok(Ok(printed)) => printed.clone(),
            _ => panic!(
                "{what}: not within {:?}; stdout:\n{}\nstderr:\n{}",
                PATIENCE * 4,
                *self.stdout.borrow(),
                *self.stderr.borrow()
            ),
        }
    }

    /// Sends SIGINT, as Ctrl-C in its terminal does, and waits for it to exit.
    async fn interrupt(mut self) -> (ExitStatus, String) {
        let pid = self.child.id().unwrap().to_string();
        signal("-INT", &pid);
        let status = tokio::time::timeout(PATIENCE, self.child.wait())
            .await
            .expect("up did not exit after Ctrl-C")
            .unwrap();
        // The pipes close once it has exited: what it printed last is then all there.
        let mut stdout = self.stdout.clone();
        let _ = stdout.wait_for(|_| false).await;
        (status, stdout.borrow().clone())
    }

    async fn exit(mut self) -> (ExitStatus, String, String) {
        let status = tokio::time::timeout(PATIENCE * 4, self.child.wait())
            .await
            .expect("up did not exit")
            .unwrap();
        let mut stderr = self.stderr.clone();
        let _ = stderr.wait_for(|_| false).await;
        let stdout = self.stdout.borrow().clone();
        (status, stdout, stderr.borrow().clone())
    }
}

/// Everything read from `pipe`, as it comes. The channel closes when the pipe does.
fn collect(pipe: impl tokio::io::AsyncRead + Unpin + Send + 'static) -> watch::Receiver<String> {
    let (sender, receiver) = watch::channel(String::new());
    tokio::spawn(async move {
        let mut lines = BufReader::new(pipe).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            sender.send_modify(|all| {
                all.push_str(&line);
                all.push('\n');
            });
        }
    });
    receiver
}

/// `kill SIGNAL PID`: whether it reached a process.
fn signal(signal: &str, pid: &str) -> bool {
    std::process::Command::new("kill")
        .args([signal, pid])
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success()
}

/// The `curl` line `up` printed: the frontend's URL.
fn frontend_url(printed: &str) -> String {
    printed
        .lines()
        .find_map(|line| line.trim().strip_prefix("curl "))
        .unwrap()
        .to_owned()
}

/// The process ids `up` printed for the programs it started.
fn pids(printed: &str) -> Vec<String> {
    printed
        .lines()
        .filter_map(|line| line.split_once("(pid ")?.1.split_once(')'))
        .map(|(pid, _)| pid.to_owned())
        .collect()
}

#[tokio::test]
async fn up_runs_a_step_draws_its_trace_and_ctrl_c_leaves_no_process_behind() {
    let (up, printed) = Up::running(&["05", "--solution"], &[]).await;
    let started = pids(&printed);
    assert_eq!(started.len(), 2, "a pid for each program:\n{printed}");

    let (status, body) = process::http_get(&frontend_url(&printed)).await.unwrap();
    assert_eq!((status.as_u16(), body.as_str()), (200, "OK"));
    // Step 05 prints its spans: each program's, read from its stdout and drawn as one trace.
    let printed = up
        .wait_until("the trace drawn", |printed| {
            printed.contains("3 spans from frontend and backend")
        })
        .await;
    assert!(printed.contains("└─ backend call received"), "{printed}");
    assert!(printed.contains("demo.origin = frontend"), "{printed}");
    // Each program's log lines, labelled.
    assert!(
        printed.contains("backend  | listening on http://127.0.0.1:"),
        "{printed}"
    );
    assert!(
        printed.contains("frontend | backend answered 200 OK"),
        "{printed}"
    );

    let (status, printed) = up.interrupt().await;
    assert!(status.success(), "up exited {status}:\n{printed}");
    assert!(
        printed.contains("frontend  exited (exit status: 0)"),
        "{printed}"
    );
    assert!(
        printed.contains("backend   exited (exit status: 0)"),
        "{printed}"
    );
    for pid in started {
        assert!(!signal("-0", &pid), "process {pid} still runs after Ctrl-C");
    }
}

/// The trace viewer's page, as `up` printed its address.
fn page_url(printed: &str) -> String {
    printed
        .lines()
        .find_map(|line| line.strip_prefix("page      shows them on a web page too: "))
        .map(|url| url.trim().to_owned())
        .unwrap_or_else(|| panic!("no page address in:\n{printed}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn up_07_links_to_a_page_that_lists_the_trace_draws_its_waterfall_and_shows_a_clicked_span() {
    let Some(mut browser) = browser::Browser::start("up_07_links_to_a_page", 1280, 900) else {
        return;
    };
    let (up, printed) = Up::running(&["07", "--solution"], &[]).await;
    let page = page_url(&printed);
    assert!(page.starts_with("http://127.0.0.1:"), "{page}");
    let (status, _) = process::http_get(&frontend_url(&printed)).await.unwrap();
    assert_eq!(status.as_u16(), 200);

    browser.open(&page);
    browser.wait_for(
        "the request's trace, listed",
        "document.querySelectorAll('table.traces tbody tr').length === 1",
    );
    let row = browser.evaluate("document.querySelector('table.traces tbody tr').innerText");
    let row = row.as_str().unwrap();
    assert!(row.contains("incoming call"), "{row}");
    assert!(row.contains("frontend, backend"), "{row}");
    browser.click("table.traces tbody tr a");
    browser.wait_for(
        "the waterfall",
        "document.querySelector('.waterfall svg') !== null",
    );
    // The tree: each span's name and its depth, from how far right its name is drawn.
    let tree = browser.evaluate(
        "[...document.querySelectorAll('.waterfall a.span-row')].map((row) => \
         [row.querySelector('text.span').textContent, row.querySelector('text.span').getAttribute('x')])",
    );
    assert_eq!(
        tree,
        serde_json::json!([
            ["incoming call", "92.0"],
            ["backend call", "112.0"],
            ["backend call received", "132.0"],
        ])
    );
    // Nothing is shown of a span until one is clicked; then its attributes, events and
    // service.
    assert_eq!(
        browser.evaluate("document.querySelectorAll('.span-detail.shown').length"),
        serde_json::json!(0)
    );
    browser.click("a.span-row:nth-of-type(3)");
    let details = browser.wait_for(
        "the clicked span's details",
        "[...document.querySelectorAll('.span-detail')].filter((details) => details.offsetHeight > 0).map((details) => details.innerText).join('---')",
    );
    let details = details.as_str().unwrap();
    assert!(details.starts_with("backend call received"), "{details}");
    assert!(
        !details.contains("---"),
        "one span's details at a time:\n{details}"
    );
    for shown in [
        "backend",
        "server",
        "demo.origin",
        "frontend",
        "handling backend call",
    ] {
        assert!(details.contains(shown), "{shown} not in:\n{details}");
    }

    let (status, printed) = up.interrupt().await;
    assert!(status.success(), "up exited {status}:\n{printed}");
}

#[tokio::test]
async fn up_starts_the_delay_proxy_and_passes_the_chapters_variables_through() {
    let env = [
        ("DELAY_MS", "20"),
        ("BACKEND_WORK_MS", "30"),
        ("OTEL_SERVICE_NAME", "shop"),
    ];
    let (up, printed) = Up::running(&["08", "--solution"], &env).await;
    assert_eq!(
        pids(&printed).len(),
        3,
        "backend, proxy, frontend:\n{printed}"
    );
    assert!(
        printed.contains("holds every byte 20 ms each way"),
        "{printed}"
    );
    let (status, _) = process::http_get(&frontend_url(&printed)).await.unwrap();
    assert!(status.is_success());
    // Sent over OTLP to the viewer inside `up`, drawn once the batch arrives: the frontend's
    // spans come when it is stopped at the latest.
    let (status, printed) = {
        up.wait_until("the backend's spans", |printed| {
            printed.contains("demo.simulated_work_ms = 30")
        })
        .await;
        up.interrupt().await
    };
    assert!(status.success(), "up exited {status}:\n{printed}");
    assert!(printed.contains("shop      incoming call"), "{printed}");
    assert!(printed.contains("proxy     exited"), "{printed}");
}

#[tokio::test]
async fn up_runs_the_attendees_exercise_unless_asked_for_the_solution() {
    let (up, printed) = Up::running(&["03"], &[]).await;
    assert!(
        printed.contains("Running your exercise, exercises/03-"),
        "{printed}"
    );
    let (status, _) = process::http_get(&frontend_url(&printed)).await.unwrap();
    assert!(status.is_success());
    let (status, printed) = up.interrupt().await;
    assert!(status.success(), "up exited {status}:\n{printed}");
}

#[tokio::test]
async fn a_port_asked_for_and_taken_stops_up_with_exit_code_2_and_says_who_to_ask() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let (status, stdout, stderr) = Up::start(&["03", "--port", &port], &[]).exit().await;
    assert_eq!(
        status.code(),
        Some(2),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains(&format!("port {port}")), "{stderr}");
    assert!(stderr.contains(&format!("lsof -i :{port}")), "{stderr}");
    // Nothing was started, nor built.
    assert!(!stdout.contains("Building"), "{stdout}");
}

#[tokio::test]
async fn doctor_says_what_a_machine_lacks_and_how_to_fix_it() {
    // A machine with cargo and rustc but nothing else on its PATH: no curl, no mdBook.
    let empty = tempfile::tempdir().unwrap();
    let rustc = std::process::Command::new("rustup")
        .args(["which", "rustc"])
        .output()
        .ok()
        .filter(|output| output.status.success())
        .map(|output| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .unwrap_or_else(|| "rustc".to_owned());
    let output = Command::new(process::program(RUNNER).unwrap())
        .arg("doctor")
        .env("PATH", empty.path())
        .env("RUSTC", &rustc)
        .output()
        .await
        .unwrap();
    let printed = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{printed}");
    assert!(printed.contains("FIX   no `curl` found"), "{printed}");
    assert!(printed.contains("note  no mdBook"), "{printed}");
    assert!(printed.contains("ok    Rust 1."), "{printed}");
    let needs = format!(
        "the workshop needs {} or newer",
        workshop::runner::doctor::RUST_VERSION
    );
    assert!(printed.contains(&needs), "{printed}");
}

/// Should `up` itself be killed (SIGKILL: no chance to stop anything), Linux stops its programs
/// with SIGTERM for it: none is left holding its port.
#[cfg(target_os = "linux")]
#[tokio::test]
async fn programs_stop_even_when_up_is_killed() {
    let (mut up, printed) = Up::running(&["03", "--solution"], &[]).await;
    let started = pids(&printed);
    assert_eq!(started.len(), 2, "{printed}");
    up.child.kill().await.unwrap();
    // A program that has exited but is not reaped yet (its new parent's business) is gone.
    let runs = |pid: &String| {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
            stat.rsplit_once(") ")
                .is_some_and(|(_, rest)| !rest.starts_with('Z'))
        })
    };
    let all_gone = async {
        while started.iter().any(runs) {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    };
    assert!(
        tokio::time::timeout(PATIENCE, all_gone).await.is_ok(),
        "programs {started:?} outlived the runner"
    );
}
