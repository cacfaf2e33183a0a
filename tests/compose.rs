//! docker-compose.yml and the Dockerfile, checked without a Docker engine: the compose file is
//! valid by the Compose Specification's JSON Schema, and what it sets (ports, variables, build
//! arguments, commands) agrees with steps/CONTRACT.md, with the Dockerfile, and with what the
//! programs read. Then the programs run with exactly the compose file's variables.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use axum::http::StatusCode;
use serde_json::Value;
use trace_viewer::receiver::Receiver;
use workshop::{
    harness::process::{Service, http_get},
    spans::{self, outline},
    steps,
    steps::repository,
};

fn read(path: &str) -> String {
    std::fs::read_to_string(repository().join(path)).unwrap()
}

/// docker-compose.yml as JSON, with its YAML merge keys (`<<: *step-image`) applied, as
/// Compose applies them.
fn compose() -> Value {
    let mut yaml: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&read("docker-compose.yml")).unwrap();
    yaml.apply_merge().unwrap();
    serde_json::to_value(yaml).unwrap()
}

/// `${NAME:-default}` as Compose fills it in when NAME is unset.
fn with_defaults(text: &str) -> String {
    let mut filled = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        filled.push_str(&rest[..start]);
        let end = rest[start..].find('}').unwrap() + start;
        let inner = &rest[start + 2..end];
        filled.push_str(
            inner
                .split_once(":-")
                .map(|(_, default)| default)
                .unwrap_or(""),
        );
        rest = &rest[end + 1..];
    }
    filled.push_str(rest);
    filled
}

fn environment(service: &Value) -> BTreeMap<String, String> {
    service["environment"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, value)| (name.clone(), with_defaults(value.as_str().unwrap())))
        .collect()
}

/// The Dockerfile's `ARG` names, and its stages' lines.
struct Dockerfile {
    args: Vec<String>,
    stages: Vec<Vec<String>>,
}

fn dockerfile() -> Dockerfile {
    let text = read("Dockerfile").replace("\\\n", " ");
    let mut args = Vec::new();
    let mut stages: Vec<Vec<String>> = Vec::new();
    for line in text.lines().map(str::trim) {
        if let Some(arg) = line.strip_prefix("ARG ") {
            args.push(arg.split('=').next().unwrap().trim().to_owned());
        }
        if line.starts_with("FROM ") {
            stages.push(Vec::new());
        }
        if let Some(stage) = stages.last_mut() {
            stage.push(line.to_owned());
        }
    }
    Dockerfile { args, stages }
}

#[test]
fn the_compose_file_is_valid_by_the_compose_specification() {
    // The Compose Specification's schema, kept in the repository (tests/data/README.md).
    let schema: Value = serde_json::from_str(&read("tests/data/compose-spec.json")).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let compose = compose();
    let errors: Vec<String> = validator
        .iter_errors(&compose)
        .map(|error| format!("{} at {}", error, error.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");

    // And the check can fail: a port as an object Compose does not know.
    let mut broken = compose.clone();
    broken["services"]["frontend"]["ports"] =
        serde_json::json!([{"published": "x", "nonsense": 1}]);
    assert!(!validator.is_valid(&broken));
}

#[test]
fn services_agree_with_the_contract_and_the_dockerfile() {
    // The variables of the contract's table: its rows' first cells.
    let contract = read("steps/CONTRACT.md");
    let contract_variables: std::collections::BTreeSet<&str> = contract
        .lines()
        .filter_map(|row| row.strip_prefix("| `")?.split_once('`'))
        .map(|(variable, _)| variable)
        .collect();
    assert!(
        contract_variables.contains("BACKEND_URL"),
        "{contract_variables:?}"
    );
    let compose = compose();
    let services = compose["services"].as_object().unwrap();
    let dockerfile = dockerfile();
    assert!(dockerfile.stages.len() >= 2, "a multi-stage build");
    let runtime = dockerfile.stages.last().unwrap();
    let user = runtime
        .iter()
        .rev()
        .find_map(|line| line.strip_prefix("USER "))
        .expect("the runtime stage names its user");
    assert!(!["root", "0", "0:0"].contains(&user), "runs as {user}");
    let copied: String = runtime
        .iter()
        .filter(|line| line.starts_with("COPY "))
        .cloned()
        .collect();

    for (name, port) in [("backend", 8081), ("frontend", 8080)] {
        let service = &services[name];
        // Built from this repository's Dockerfile, with arguments it declares.
        assert_eq!(service["build"]["context"], ".");
        assert_eq!(service["build"]["dockerfile"], "Dockerfile");
        for arg in service["build"]["args"].as_object().unwrap().keys() {
            assert!(
                dockerfile.args.contains(arg),
                "the Dockerfile has no ARG {arg}"
            );
        }
        let step = with_defaults(service["build"]["args"]["STEP"].as_str().unwrap());
        let step = steps::find(&step).unwrap();
        assert!(
            step.otlp,
            "the compose file's step sends its spans over OTLP"
        );
        // The command is one of the programs the runtime image holds.
        let command = service["command"][0].as_str().unwrap();
        assert_eq!(command, name);
        assert!(copied.contains(&format!("/out/{name}")), "{copied}");

        // The contract's variables, with the contract's container addresses.
        let env = environment(service);
        for variable in env.keys() {
            assert!(
                contract_variables.contains(variable.as_str())
                    || (contract_variables.contains("OTEL_*") && variable.starts_with("OTEL_")),
                "{name}: {variable} is not in steps/CONTRACT.md's table"
            );
        }
        assert_eq!(env["LISTEN_ADDR"], format!("0.0.0.0:{port}"));
        assert_eq!(env["OTEL_EXPORTER_OTLP_ENDPOINT"], "http://jaeger:4318");
    }
    let frontend = environment(&services["frontend"]);
    assert_eq!(frontend["BACKEND_URL"], "http://backend:8081/");
    assert_eq!(services["frontend"]["ports"][0], "8080:8080");
    // The README's copy of the contract says so too.
    assert!(read("README.md").contains("`0.0.0.0:8080` in a container"));

    // Jaeger shows its UI on 16686 and takes OTLP over HTTP on 4318, where the steps send.
    let jaeger = &services["jaeger"];
    let ports: Vec<&str> = jaeger["ports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|port| port.as_str().unwrap())
        .collect();
    assert!(
        ports.contains(&"16686:16686") && ports.contains(&"4318:4318"),
        "{ports:?}"
    );
    // The collector for Google Cloud only runs when asked for.
    assert_eq!(services["otel-collector"]["profiles"][0], "google");
}

#[tokio::test]
async fn the_programs_run_with_the_compose_files_variables() {
    // The compose file's environment, with the container names and addresses replaced by this
    // machine's: every variable it sets is one the programs take.
    let compose = compose();
    let receiver = Receiver::bind("127.0.0.1:0").await.unwrap();
    let step = steps::find("07").unwrap();
    let local = |env: BTreeMap<String, String>, backend_url: &str| -> Vec<(String, String)> {
        env.into_iter()
            .map(|(name, value)| {
                let value = match name.as_str() {
                    "LISTEN_ADDR" => "127.0.0.1:0".to_owned(),
                    "BACKEND_URL" => backend_url.to_owned(),
                    "OTEL_EXPORTER_OTLP_ENDPOINT" => receiver.endpoint(),
                    _ => value,
                };
                (name, value)
            })
            .collect()
    };
    let backend_env = local(environment(&compose["services"]["backend"]), "");
    let backend = Service::start(&step.backend(), &pairs(&backend_env))
        .await
        .unwrap();
    let frontend_env = local(
        environment(&compose["services"]["frontend"]),
        &backend.url(),
    );
    let frontend = Service::start(&step.frontend(), &pairs(&frontend_env))
        .await
        .unwrap();

    assert_eq!(
        http_get(&frontend.url()).await.unwrap(),
        (StatusCode::OK, "OK".into())
    );
    frontend.stop().await.unwrap().assert_success();
    backend.stop().await.unwrap().assert_success();
    let spans = receiver.spans();
    let traces = spans::traces(&spans);
    assert_eq!(traces.len(), 1);
    assert_eq!(outline(&traces[0]), step.trace);
}

fn pairs(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect()
}
