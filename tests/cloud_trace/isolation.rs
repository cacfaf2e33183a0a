//! Running one test inside its own network and mount namespace, where Google's host names
//! resolve to 127.0.0.1 and nothing else is reachable: the Stackdriver exporter's endpoint is
//! fixed, so the only way to send it to a stand-in is to change what the name means.
//!
//! The test re-runs its own binary under `unshare(1)`, told by an environment variable to run
//! only that test. Inside, it brings up the loopback interface and bind-mounts a hosts file over
//! `/etc/hosts`, which only that namespace sees. Nothing outside is touched.

use std::{
    future::Future,
    io::Write,
    path::Path,
    process::{Command, Stdio},
};

/// Names the test being re-run inside a namespace.
const INSIDE: &str = "WORKSHOP_ISOLATED_TEST";

/// The host names that lead to the stand-in: the Cloud Trace API and the token endpoint.
pub const GOOGLE_HOSTS: &[&str] = &["cloudtrace.googleapis.com", "oauth2.googleapis.com"];

/// Runs `body` in a fresh namespace. `test_name` must be the test's function name: the test
/// binary is re-run with `--exact test_name`. Where namespaces cannot be had (not Linux, no
/// `unshare`, user namespaces turned off), the test is skipped with the reason printed, unless
/// `CI` is set: in CI it fails.
pub fn run_isolated<F, Fut>(test_name: &str, body: F)
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = ()>,
{
    if std::env::var(INSIDE).as_deref() == Ok(test_name) {
        set_up_inside();
        // Built by the process outside, which has the network cargo may want.
        workshop::harness::process::assume_every_step_built();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(body());
        return;
    }

    let unshare = match namespace_command() {
        Ok(unshare) => unshare,
        Err(reason) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "{test_name} must run in CI, but cannot: {reason}"
            );
            // Straight to stderr: the test harness hides what a passing test prints.
            let _ = writeln!(std::io::stderr(), "skipped {test_name}: {reason}");
            return;
        }
    };
    // Build the step programs out here: cargo may need the network, which the namespace lacks.
    workshop::harness::process::program("step-06-frontend").unwrap();

    let test_binary = std::env::current_exe().unwrap();
    let output = Command::new(unshare[0])
        .args(&unshare[1..])
        .arg("--")
        .arg(test_binary)
        .args(["--exact", test_name, "--nocapture", "--test-threads=1"])
        .env(INSIDE, test_name)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "{test_name} failed in its namespace ({}):\n{stdout}\n{stderr}",
        output.status
    );
    // Shown with `--nocapture`: what the programs said, for whoever wants to look.
    println!("{stdout}\n{stderr}");
}

/// The `unshare` command line that gives a new network and mount namespace here, in which
/// the loopback interface can be brought up and a file bind-mounted: plain for root, inside a
/// user namespace (as root there) for anyone else. (A container needs to be allowed this:
/// `--privileged`, or SYS_ADMIN with seccomp and AppArmor unconfined.)
fn namespace_command() -> Result<&'static [&'static str], String> {
    if !cfg!(target_os = "linux") {
        return Err("network namespaces are Linux's".into());
    }
    for tool in ["unshare", "mount", "ip", "openssl"] {
        if !on_path(tool) {
            return Err(format!(
                "`{tool}` is not installed (Debian: util-linux, mount, iproute2, openssl)"
            ));
        }
    }
    const CANDIDATES: [&[&str]; 2] = [
        &["unshare", "--net", "--mount"],
        &["unshare", "--user", "--map-root-user", "--net", "--mount"],
    ];
    let mut refusals = Vec::new();
    for candidate in CANDIDATES {
        // What `set_up_inside` will do, on a file that is certainly there.
        let tried = Command::new(candidate[0])
            .args(&candidate[1..])
            .args([
                "sh",
                "-c",
                "ip link set lo up && mount --bind /etc/hosts /etc/hosts",
            ])
            .stdin(Stdio::null())
            .output();
        match tried {
            Ok(output) if output.status.success() => return Ok(candidate),
            Ok(output) => refusals.push(format!(
                "`{}`: {}",
                candidate.join(" "),
                String::from_utf8_lossy(&output.stderr).trim()
            )),
            Err(error) => refusals.push(format!("`{}`: {error}", candidate.join(" "))),
        }
    }
    Err(format!(
        "no namespace could be made: {}",
        refusals.join("; ")
    ))
}

fn on_path(tool: &str) -> bool {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path).any(|folder| folder.join(tool).is_file())
}

/// Inside the new namespaces: loopback up, and Google's names on it.
fn set_up_inside() {
    run("ip", &["link", "set", "lo", "up"]);
    let hosts = tempfile::NamedTempFile::new().unwrap();
    let mut lines = String::from("127.0.0.1 localhost\n::1 localhost\n");
    for host in GOOGLE_HOSTS {
        lines.push_str(&format!("127.0.0.1 {host}\n"));
    }
    std::fs::write(hosts.path(), lines).unwrap();
    bind_mount(hosts.path(), Path::new("/etc/hosts"));
    // Deleting the file is safe: the mount holds on to its contents.
    drop(hosts);
}

fn bind_mount(source: &Path, target: &Path) {
    let source = source.to_str().unwrap();
    let target = target.to_str().unwrap();
    run("mount", &["--bind", source, target]);
}

fn run(program: &str, args: &[&str]) {
    let output = Command::new(program).args(args).output().unwrap();
    assert!(
        output.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}
