//! What crosses the wire between the real programs, and the quick start, run as a reader runs
//! it. (The contract every step keeps is in `contract.rs`.)

// In a test, an unwrap is an assertion: a failure panics with the error, which fails the test.
#![allow(clippy::unwrap_used)]

use std::{collections::BTreeMap, process::Command};

use reqwest::StatusCode;
use workshop::{
    harness::drawing::blurred,
    harness::fake_backend,
    harness::process::{self, Pair, Service, http_get},
    spans::the_span,
    steps,
};

#[tokio::test]
async fn step_04_backend_shows_the_traceparent_naming_the_frontends_backend_call_span() {
    let step = steps::find("04").unwrap();
    let pair = Pair::start(step, &[]).await.unwrap();
    assert_eq!(
        http_get(&pair.frontend.url()).await.unwrap(),
        (StatusCode::OK, "OK".into())
    );
    let (frontend, backend) = pair.stop().await.unwrap();

    let spans = process::exported_spans(step, &frontend, &backend).unwrap();
    let call = the_span(&spans, "backend call");
    let expected = format!(
        "received traceparent: \"00-{}-{}-01\"\n\
         received tracestate: \"\"\n\
         received baggage: \"demo.origin=frontend\"\n\
         backend call received\n",
        call.trace_id, call.span_id
    );
    assert!(
        backend.stderr.contains(&expected),
        "backend's stderr:\n{}",
        backend.stderr
    );
}

#[tokio::test]
async fn step_05_one_trace_spans_both_services() {
    let step = steps::find("05").unwrap();
    let pair = Pair::start(step, &[]).await.unwrap();
    assert_eq!(
        http_get(&pair.frontend.url()).await.unwrap(),
        (StatusCode::OK, "OK".into())
    );
    let (frontend, backend) = pair.stop().await.unwrap();

    let frontend_spans = frontend.spans();
    let backend_spans = backend.spans();
    let root = the_span(&frontend_spans, "incoming call");
    let call = the_span(&frontend_spans, "backend call");
    let received = the_span(&backend_spans, "backend call received");
    assert_eq!(
        (root.service.as_str(), received.service.as_str()),
        ("frontend", "backend")
    );
    assert_eq!(
        (call.scope.as_str(), received.scope.as_str()),
        ("OT-tracing-demo", "backend")
    );
    assert_eq!(
        received.trace_id, root.trace_id,
        "one trace id across both services"
    );
    assert_eq!(call.trace_id, root.trace_id);
    assert_eq!(
        received.parent_span_id,
        Some(call.span_id),
        "child of the client span"
    );
    assert_eq!(
        received.attributes["demo.origin"], "frontend",
        "the baggage arrived"
    );
    assert!(received.event("handling backend call").is_some());
}

#[tokio::test]
async fn otel_service_name_replaces_the_default_service_name() {
    let step = steps::find("05").unwrap();
    let renamed = [("OTEL_SERVICE_NAME", "inventory")];
    let backend = Service::start(&step.backend(), &renamed).await.unwrap();
    let backend_url = backend.url();
    let frontend_env = [
        ("BACKEND_URL", backend_url.as_str()),
        ("OTEL_SERVICE_NAME", ""),
    ];
    let frontend = Service::start(&step.frontend(), &frontend_env)
        .await
        .unwrap();
    assert_eq!(http_get(&frontend.url()).await.unwrap().0, StatusCode::OK);

    let frontend = frontend.stop().await.unwrap();
    let backend = backend.stop().await.unwrap();
    assert_eq!(
        the_span(&backend.spans(), "backend call received").service,
        "inventory"
    );
    // Empty counts as unset, as the OpenTelemetry specification says: the default stays.
    assert_eq!(
        the_span(&frontend.spans(), "incoming call").service,
        "frontend"
    );
}

#[tokio::test]
async fn the_frontend_calls_the_backend_directly_whatever_the_proxy_variables_say() {
    // A company laptop's proxy settings; a proxy on a port where nothing listens.
    let proxy = fake_backend::ClosedPort::new();
    let env: Vec<(&str, &str)> = ["http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"]
        .into_iter()
        .map(|variable| (variable, proxy.url()))
        .collect();
    let step = steps::latest_local();
    let pair = Pair::start(step, &env).await.unwrap();

    let answer = http_get(&pair.frontend.url()).await.unwrap();

    pair.stop().await.unwrap();
    assert_eq!(answer, (StatusCode::OK, "OK".into()));
}

#[test]
fn the_quick_start_shows_a_trace_across_both_services() {
    let output = Command::new(process::program(process::RUNNER).unwrap())
        .output()
        .expect("running the workshop runner");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let step = steps::latest_local();
    let title = format!("Step {}: {}", step.number, step.title);
    assert!(stdout.contains(&title), "{stdout}");
    assert!(stdout.contains("answered 200 OK: \"OK\""), "{stdout}");
    let tree = [
        "frontend  incoming call                 server",
        "frontend  └─ backend call               client",
        "· making backend call",
        "frontend     └─ send request            internal",
        "frontend        └─ connect              internal",
        "backend      └─ backend call received   server",
        "· handling backend call",
        "demo.origin = frontend",
    ];
    let mut rest = stdout.as_ref();
    for row in tree {
        let at = rest
            .find(row)
            .unwrap_or_else(|| panic!("no {row:?}, in order, in:\n{stdout}"));
        rest = &rest[at + row.len()..];
    }
    assert!(
        stdout.lines().all(|line| line.chars().count() <= 80),
        "fits 80 columns:\n{stdout}"
    );

    // Below the trace, the metrics of that one request, and the way from the slowest request
    // to its trace.
    let trace_id = stdout
        .split("\ntrace ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("a trace id");
    for service in ["frontend", "backend"] {
        let tables = stdout
            .split(&format!("metrics from {service}\n"))
            .nth(1)
            .unwrap_or_else(|| panic!("no metrics from {service} in:\n{stdout}"));
        let duration = tables
            .split("  http.server.request.duration (histogram, since start, unit s)\n")
            .nth(1)
            .unwrap_or_else(|| panic!("no duration histogram from {service} in:\n{stdout}"));
        assert!(duration.contains("      count 1, sum "), "{stdout}");
        assert!(duration.contains("      p50 "), "{stdout}");
        let slowest = duration
            .split("      slowest, with their traces:\n")
            .nth(1)
            .and_then(|rest| rest.lines().next())
            .unwrap_or_else(|| panic!("no slowest request from {service} in:\n{stdout}"));
        assert!(
            slowest.ends_with(&format!(" ms  trace {trace_id}")),
            "{slowest}"
        );
    }

    // The README shows this output: it must not go stale. Ids and timings differ per run.
    let printed = trace_block(&stdout);
    let readme = include_str!("../README.md");
    let sample = readme
        .split("```text\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the README shows the quick start's output in a text block");
    assert_eq!(
        blurred(sample),
        blurred(&printed),
        "the README's sample is stale; this run printed:\n{printed}"
    );
}

/// The lines of the first trace drawn in `output`, up to the blank line after it.
fn trace_block(output: &str) -> String {
    let start = output.find("\ntrace ").expect("a trace in the output") + 1;
    let block = &output[start..];
    let end = block.find("\n\n").unwrap_or(block.len());
    format!("{}\n", &block[..end])
}

/// The features cargo turns on for each package when it builds `packages`, by `name version`.
fn resolved_features(packages: &[String]) -> BTreeMap<String, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.args([
        "tree",
        "--offline",
        "--edges",
        "normal,build",
        "--prefix",
        "none",
    ]);
    command.args(["--format", "{p}|{f}", "--manifest-path"]);
    command.arg(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml"));
    for package in packages {
        command.args(["--package", package]);
    }
    let output = command.output().expect("running cargo tree");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| {
            let (package, features) = line.trim_end_matches(" (*)").split_once('|')?;
            let name_and_version = package.split(' ').take(2).collect::<Vec<_>>().join(" ");
            Some((name_and_version, features.to_owned()))
        })
        .collect()
}

#[test]
fn the_quick_start_compiles_each_shared_dependency_once() {
    // `cargo run -p workshop` builds the runner, then the runner builds the step's programs. A
    // dependency of both, resolved with other features the second time, is compiled twice,
    // and so is everything above it: tokio, hyper, axum, reqwest, on a workshop laptop.
    let step = steps::latest_local();
    let runner = resolved_features(&["workshop".to_owned()]);
    let programs = resolved_features(&[step.frontend(), step.backend()]);
    let differing: Vec<String> = programs
        .iter()
        .filter_map(|(package, features)| {
            let runners = runner.get(package)?;
            (runners != features).then(|| format!("{package}: [{runners}] vs [{features}]"))
        })
        .collect();
    assert!(
        differing.is_empty(),
        "built with other features: {differing:#?}"
    );
    let has_tokio = |features: &BTreeMap<String, String>| {
        features
            .keys()
            .any(|package| package.starts_with("tokio v"))
    };
    assert!(
        has_tokio(&runner) && has_tokio(&programs),
        "cargo tree listed the graphs"
    );
}

#[test]
fn the_runner_refuses_an_unknown_step_with_exit_code_2() {
    let output = Command::new(process::program(process::RUNNER).unwrap())
        .arg("99")
        .output()
        .expect("running the workshop runner");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("error: there is no step \"99\"\nusage: "),
        "{stderr}"
    );
}

#[test]
fn the_runner_sends_a_reader_to_the_readme_for_step_06() {
    let output = Command::new(process::program(process::RUNNER).unwrap())
        .arg("06")
        .output()
        .expect("running the workshop runner");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with(
            "error: step 06 sends its spans to Google Cloud Trace, so it needs a Google Cloud \
             project: run its two programs yourself"
        ),
        "{stderr}"
    );
}

#[test]
fn every_command_the_readme_shows_is_run_by_ci() {
    let readme = include_str!("../README.md");
    let ci = [
        include_str!("../.ci/run"),
        include_str!("../.ci/book-experiments"),
        include_str!("../.ci/offline-build"),
    ]
    .join("\n");
    // Each line of a `sh` block, and each inline `cargo ...` or `curl ...` in the prose.
    let blocks = readme.split("```sh\n").skip(1);
    let mut commands: Vec<&str> = blocks
        .flat_map(|block| block.split("```").next().unwrap_or_default().lines())
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    let prose = readme.split("```").step_by(2);
    let inline = prose.flat_map(|text| text.split('`').skip(1).step_by(2));
    commands.extend(inline.filter(|code| code.starts_with("cargo ") || code.starts_with("curl ")));
    assert!(commands.contains(&"cargo test --workspace"), "{commands:?}");
    assert!(
        commands.contains(&"cargo run -p workshop 03"),
        "{commands:?}"
    );
    for command in commands {
        assert!(
            ci.lines().any(|line| line.contains(command)),
            "the README shows `{command}`, which no script in .ci runs"
        );
    }
}
