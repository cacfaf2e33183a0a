//! The `OTEL_EXPORTER_OTLP_*` variables, checked before the exporter is built. The exporter
//! reads them itself, leniently: an endpoint that is not a URL stops it, but a protocol, a
//! compression or a timeout it cannot use is its default (with a warning at most), a header
//! it cannot read is skipped without a word, and an endpoint with a scheme other than HTTP's
//! fails every export. Here each is a [`StartupError`] naming the variable, exit code 2, before
//! the program listens: a mistake in a deployment's configuration is found when it is made.
//! (To copy it, bring `StartupError` and `read` from `steps/support/src/config.rs`, or your
//! own.)

use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue};
use step_support::{StartupError, variable as read};

use crate::Signal;

/// Where spans go when no variable says otherwise: the OTLP/HTTP default.
pub const DEFAULT_ENDPOINT: &str = "http://localhost:4318";

// ANCHOR: refuse
/// Refuses, for each of `signals`, a value of its variables the exporter would ignore or
/// could not use. Call it before building the exporters; they then read the same variables.
pub fn refuse_unusable_otlp_variables(signals: &[Signal]) -> Result<(), StartupError> {
    for &signal in signals {
        check_endpoint(signal)?;
        check_protocol(signal)?;
        check_headers(signal)?;
        check_compression(signal)?;
        check_timeout(signal)?;
    }
    Ok(())
}
// ANCHOR_END: refuse

/// The two variables of a setting, the signal's own first: it wins over the general one.
fn variables(signal: Signal, setting: &str) -> [String; 2] {
    let own = match signal {
        Signal::Traces => "TRACES_",
        Signal::Metrics => "METRICS_",
        Signal::Logs => "LOGS_",
    };
    [
        format!("OTEL_EXPORTER_OTLP_{own}{setting}"),
        format!("OTEL_EXPORTER_OTLP_{setting}"),
    ]
}

/// The first of a setting's variables that is set, and its value.
fn read_first(signal: Signal, setting: &str) -> Result<Option<(String, String)>, StartupError> {
    for variable in variables(signal, setting) {
        if let Some(value) = read(&variable)? {
            return Ok(Some((variable, value)));
        }
    }
    Ok(None)
}

fn check_endpoint(signal: Signal) -> Result<(), StartupError> {
    let Some((variable, value)) = read_first(signal, "ENDPOINT")? else {
        return Ok(());
    };
    // `https` needs a TLS feature of the exporter's client (`reqwest-rustls`): without one, as
    // in this workspace, every export to it fails; with one, it is what a distant endpoint
    // takes.
    let usable = reqwest::Url::parse(&value)
        .is_ok_and(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some());
    match usable {
        true => Ok(()),
        false => Err(StartupError::invalid(
            &variable,
            &value,
            format!("expected an http or https URL with a host, such as {DEFAULT_ENDPOINT}"),
        )),
    }
}

fn check_protocol(signal: Signal) -> Result<(), StartupError> {
    match read_first(signal, "PROTOCOL")? {
        None => Ok(()),
        // As the exporter reads it: whatever the case.
        Some((_, value)) if value.eq_ignore_ascii_case("http/protobuf") => Ok(()),
        Some((variable, value)) => Err(StartupError::invalid(
            &variable,
            &value,
            "expected http/protobuf: the exporter is built with the crate's default features, \
             protobuf over HTTP (port 4318)",
        )),
    }
}

/// `key=value` pairs separated by commas, as the specification defines them.
fn check_headers(signal: Signal) -> Result<(), StartupError> {
    for variable in variables(signal, "HEADERS") {
        let Some(value) = read(&variable)? else {
            continue;
        };
        for pair in value.split(',').filter(|pair| !pair.trim().is_empty()) {
            let valid = pair.split_once('=').is_some_and(|(key, header_value)| {
                HeaderName::try_from(key.trim()).is_ok()
                    && HeaderValue::try_from(header_value.trim()).is_ok()
            });
            if !valid {
                return Err(StartupError::invalid(
                    &variable,
                    &value,
                    format!(
                        "{pair:?} is not a header: expected key=value pairs separated by commas"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The crate's compression features are not built: `none` is the only value it can honour.
fn check_compression(signal: Signal) -> Result<(), StartupError> {
    for variable in variables(signal, "COMPRESSION") {
        match read(&variable)?.as_deref() {
            None | Some("none") => {}
            Some(other) => {
                return Err(StartupError::invalid(
                    &variable,
                    other,
                    "expected none: the exporter is built without compression",
                ));
            }
        }
    }
    Ok(())
}

/// Milliseconds, more than 0: the exporter takes 0 literally, and every export fails at once.
fn check_timeout(signal: Signal) -> Result<(), StartupError> {
    let Some((variable, value)) = read_first(signal, "TIMEOUT")? else {
        return Ok(());
    };
    match value.parse::<u64>() {
        Ok(milliseconds) if Duration::from_millis(milliseconds) > Duration::ZERO => Ok(()),
        _ => Err(StartupError::invalid(
            &variable,
            &value,
            "expected a whole number of milliseconds greater than 0, such as 10000",
        )),
    }
}
