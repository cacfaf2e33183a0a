//! `OTEL_PROPAGATORS`, read as the OpenTelemetry specification's "Environment Variable
//! Specification" defines it. No Rust OpenTelemetry crate reads it (0.33; opentelemetry-rust
//! issue #3127), so the program does; the SDK reads the other variables (`OTEL_TRACES_SAMPLER`,
//! `OTEL_EXPORTER_OTLP_*`, `OTEL_BSP_*`) itself.

use opentelemetry::propagation::{TextMapCompositePropagator, TextMapPropagator};
use opentelemetry_sdk::propagation::{BaggagePropagator, TraceContextPropagator};
#[cfg(feature = "xcloudtrace")]
#[allow(deprecated)] // Google's propagator, from the deprecated Stackdriver exporter's crate
use opentelemetry_stackdriver::google_trace_context_propagator::GoogleTraceContextPropagator;

use step_support::{Propagator032, StartupError, variable as read};

/// The propagators `OTEL_PROPAGATORS` names, in its order.
#[derive(Debug)]
pub struct Propagators {
    names: Vec<&'static str>,
}

/// What `OTEL_PROPAGATORS` may name here. The specification also lists `b3`, `b3multi`, `xray`
/// and `ottrace`, which need crates this workspace does not build. Google's `xcloudtrace` comes
/// from the Stackdriver exporter's crate, built only on request (feature `xcloudtrace`).
#[cfg(feature = "xcloudtrace")]
const KNOWN_PROPAGATORS: &[&str] = &["tracecontext", "baggage", "jaeger", "xcloudtrace"];
#[cfg(not(feature = "xcloudtrace"))]
const KNOWN_PROPAGATORS: &[&str] = &["tracecontext", "baggage", "jaeger"];

/// The specification's default.
const DEFAULT_PROPAGATORS: &str = "tracecontext,baggage";

impl Propagators {
    /// `OTEL_PROPAGATORS`: a comma-separated list; unset or empty means `tracecontext,baggage`,
    /// `none` means none. A name repeated counts once. Names this program does not know are
    /// reported once, on stderr, and left out: the others still work.
    pub fn from_env() -> Result<Self, StartupError> {
        // ANCHOR: todo_propagators_variable
        let value = read("OTEL_PROPAGATORS")?;
        // ANCHOR_END: todo_propagators_variable
        let (propagators, unknown) = Self::parse(value.as_deref().unwrap_or(DEFAULT_PROPAGATORS));
        if !unknown.is_empty() {
            eprintln!("{}", unknown_warning(&unknown));
        }
        Ok(propagators)
    }

    /// The propagators `value` names, and the names it has that are not known.
    fn parse(value: &str) -> (Self, Vec<String>) {
        let mut names = Vec::new();
        let mut unknown = Vec::new();
        for name in value
            .split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
        {
            let lower = name.to_ascii_lowercase();
            match KNOWN_PROPAGATORS.iter().find(|known| **known == lower) {
                Some(known) if !names.contains(known) => names.push(*known),
                Some(_) => {}
                None if lower == "none" => {}
                None if !unknown
                    .iter()
                    .any(|seen: &String| seen.eq_ignore_ascii_case(name)) =>
                {
                    unknown.push(name.to_owned())
                }
                None => {}
            }
        }
        (Self { names }, unknown)
    }

    /// One propagator that injects every chosen format and extracts from whichever arrived
    /// (when several did, the later in the list wins).
    pub fn build(&self) -> TextMapCompositePropagator {
        let propagators = self.names.iter().filter_map(|name| propagator(name));
        TextMapCompositePropagator::new(propagators.collect())
    }
}

/// The one line that reports the names in `OTEL_PROPAGATORS` this program does not know.
fn unknown_warning(unknown: &[String]) -> String {
    let hint = match unknown
        .iter()
        .any(|name| name.eq_ignore_ascii_case("xcloudtrace"))
    {
        true => "; for xcloudtrace, build with --features xcloudtrace",
        false => "",
    };
    format!(
        "warning: OTEL_PROPAGATORS: {} not known here, left out (known: {}, none){hint}",
        unknown.join(", "),
        KNOWN_PROPAGATORS.join(", ")
    )
}

fn propagator(name: &str) -> Option<Box<dyn TextMapPropagator + Send + Sync>> {
    match name {
        // ANCHOR: todo_propagator_names
        "tracecontext" => Some(Box::new(TraceContextPropagator::new())),
        "baggage" => Some(Box::new(BaggagePropagator::new())),
        // ANCHOR_END: todo_propagator_names
        // Jaeger's `uber-trace-id`. The crate is deprecated, as the format is: Jaeger itself
        // now takes W3C Trace Context. It is here for services that still send only this. Its
        // last release is on the 0.32 API: `Propagator032` joins it to this one.
        #[allow(deprecated)]
        "jaeger" => Some(Box::new(Propagator032::new(
            opentelemetry_jaeger_propagator::Propagator::new(),
        ))),
        // Google's `X-Cloud-Trace-Context`, from the deprecated Stackdriver exporter's crate
        // (step 06), on the 0.32 API too.
        #[cfg(feature = "xcloudtrace")]
        #[allow(deprecated)]
        "xcloudtrace" => Some(Box::new(Propagator032::new(
            GoogleTraceContextPropagator::default(),
        ))),
        _ => None,
    }
}
