//! Which OpenTelemetry line each of the workspace's crates is built on, with its default
//! features, as `cargo tree` shows it (`--features xcloudtrace`, off by default, brings the
//! Stackdriver exporter's crate to steps 09 and 10 for Google's propagator): the 0.33 family (tracing-opentelemetry 0.34) everywhere, but for step 06's two crates,
//! whose exporter's last release is on 0.32. The 0.32 API crate may come in elsewhere only under
//! the Jaeger propagator (step-support's `Propagator032` joins it to 0.33).

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;

use serde_json::Value;
use workshop::harness::process::cargo;

/// The crates of the 0.32 line that only step 06 may be built with.
const ISLAND_ONLY: [&str; 5] = [
    "opentelemetry_sdk",
    "opentelemetry-otlp",
    "opentelemetry-proto",
    "opentelemetry-http",
    "opentelemetry-stackdriver",
];

fn run_cargo(args: &[&str]) -> String {
    let output = cargo().args(args).output().unwrap();
    assert!(
        output.status.success(),
        "cargo {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Every package a member is built with (its normal dependencies, not its tests'), as
/// `(name, version)`.
fn built_with(member: &str) -> BTreeSet<(String, String)> {
    let tree = run_cargo(&[
        "tree",
        "--locked",
        "--offline",
        "-p",
        member,
        "-e",
        "normal",
        "--prefix",
        "none",
        "--format",
        "{p}",
    ]);
    tree.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let name = words.next()?;
            let version = words.next()?.strip_prefix('v')?;
            Some((name.to_owned(), version.to_owned()))
        })
        .collect()
}

fn versions_of<'a>(packages: &'a BTreeSet<(String, String)>, name: &str) -> Vec<&'a str> {
    packages
        .iter()
        .filter(|(package, _)| package == name)
        .map(|(_, version)| version.as_str())
        .collect()
}

#[test]
fn only_step_06_is_built_on_the_0_32_line() {
    let metadata: Value = serde_json::from_str(&run_cargo(&[
        "metadata",
        "--locked",
        "--offline",
        "--no-deps",
        "--format-version",
        "1",
    ]))
    .unwrap();
    let members: Vec<&str> = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|package| package["name"].as_str().unwrap())
        .collect();
    assert!(members.len() > 20, "{members:?}");
    for member in members {
        let packages = built_with(member);
        let island = member.starts_with("step-06-");
        if island {
            // The exporter and the 0.32 SDK; nothing of 0.33 but the API crate, which
            // step-support's plumbing names.
            assert_eq!(
                versions_of(&packages, "opentelemetry_sdk"),
                ["0.32.1"],
                "{member}"
            );
            let exporter = versions_of(&packages, "opentelemetry-stackdriver");
            assert_eq!(exporter, ["0.29.1"], "{member}");
            for name in [
                "opentelemetry-http",
                "opentelemetry-otlp",
                "opentelemetry-proto",
            ] {
                let versions = versions_of(&packages, name);
                assert!(
                    versions.iter().all(|v| v.starts_with("0.32.")),
                    "{member}: {name}"
                );
            }
            continue;
        }
        for name in ISLAND_ONLY {
            let on_0_32 = versions_of(&packages, name)
                .iter()
                .any(|version| version.starts_with("0.32.") || name == "opentelemetry-stackdriver");
            assert!(!on_0_32, "{member} is built with {name} of the 0.32 line");
        }
        for version in versions_of(&packages, "opentelemetry_sdk") {
            assert!(
                version.starts_with("0.33."),
                "{member}: opentelemetry_sdk {version}"
            );
        }
        for version in versions_of(&packages, "tracing-opentelemetry") {
            assert!(
                version.starts_with("0.34."),
                "{member}: tracing-opentelemetry {version}"
            );
        }
        // The 0.32 API, only with the Jaeger propagator built on it.
        let api_0_32 = versions_of(&packages, "opentelemetry")
            .iter()
            .any(|version| version.starts_with("0.32."));
        let jaeger = !versions_of(&packages, "opentelemetry-jaeger-propagator").is_empty();
        assert!(
            !api_0_32 || jaeger,
            "{member}: opentelemetry 0.32 without Jaeger"
        );
    }
}

/// The trace viewer receives and draws: its own code names no SDK type. It is still built with
/// the SDK, for one reason only: opentelemetry-proto 0.33 depends on `opentelemetry_sdk`
/// unconditionally (its `trace` feature, which the trace messages need, turns on the SDK's).
#[test]
fn the_trace_viewer_gets_the_sdk_only_through_opentelemetry_proto() {
    let dependents = run_cargo(&[
        "tree",
        "--locked",
        "--offline",
        "-p",
        "trace-viewer",
        "-e",
        "normal",
        "-i",
        "opentelemetry_sdk",
        "--depth",
        "1",
        "--prefix",
        "none",
        "--format",
        "{p}",
    ]);
    let names: Vec<&str> = dependents
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .collect();
    assert_eq!(
        names,
        ["opentelemetry_sdk", "opentelemetry-proto"],
        "{dependents}"
    );
}
