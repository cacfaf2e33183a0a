//! `OTEL_PROPAGATORS` and `OTEL_TRACES_SAMPLER` (with `OTEL_TRACES_SAMPLER_ARG`), read as the
//! OpenTelemetry specification's "Environment Variable Specification" defines them. The Rust
//! crates (0.33) do not read `OTEL_PROPAGATORS` at all (opentelemetry-rust issue #3127). The SDK
//! reads `OTEL_TRACES_SAMPLER` only when the program sets no sampler, and then answers an
//! unknown name or a bad ratio with a warning and a sampler nobody asked for; here they stop the
//! program at start-up with a line that says what to fix, as every other bad setting does.

use opentelemetry::propagation::{TextMapCompositePropagator, TextMapPropagator};
use opentelemetry_sdk::{
    propagation::{BaggagePropagator, TraceContextPropagator},
    trace::Sampler,
};
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
        "tracecontext" => Some(Box::new(TraceContextPropagator::new())),
        "baggage" => Some(Box::new(BaggagePropagator::new())),
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

/// `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`. Unset or empty means
/// `parentbased_always_on`, the specification's default. A name not in the list, or a ratio
/// that is not a number from 0 to 1, is a [`StartupError`]. Both are matched exactly, spaces and
/// capitals included, as the SDK matches them: the SDK reads the variables too, when the
/// provider is built, and warns about any value it does not take, so a value taken here and
/// not there would print a warning about a sampler the program does not use.
pub fn sampler_from_env() -> Result<Sampler, StartupError> {
    let name = read("OTEL_TRACES_SAMPLER")?;
    let argument = read("OTEL_TRACES_SAMPLER_ARG")?;
    parse_sampler(
        name.as_deref().unwrap_or("parentbased_always_on"),
        argument.as_deref(),
    )
}

fn parse_sampler(name: &str, argument: Option<&str>) -> Result<Sampler, StartupError> {
    let ratio = || match argument {
        // The specification's default ratio.
        None => Ok(1.0),
        Some(value) => match value.parse::<f64>() {
            Ok(ratio) if (0.0..=1.0).contains(&ratio) => Ok(ratio),
            _ => Err(StartupError::invalid(
                "OTEL_TRACES_SAMPLER_ARG",
                value,
                format!("{name} needs a ratio from 0 to 1, such as 0.25"),
            )),
        },
    };
    let parent_based = |root: Sampler| Sampler::ParentBased(Box::new(root));
    // ANCHOR: todo_sampler_names
    Ok(match name {
        "always_on" => Sampler::AlwaysOn,
        "always_off" => Sampler::AlwaysOff,
        "traceidratio" => Sampler::TraceIdRatioBased(ratio()?),
        "parentbased_always_on" => parent_based(Sampler::AlwaysOn),
        "parentbased_always_off" => parent_based(Sampler::AlwaysOff),
        "parentbased_traceidratio" => parent_based(Sampler::TraceIdRatioBased(ratio()?)),
        _ => {
            return Err(StartupError::invalid(
                "OTEL_TRACES_SAMPLER",
                name,
                "expected always_on, always_off, traceidratio, parentbased_always_on, \
                 parentbased_always_off or parentbased_traceidratio",
            ));
        }
    })
    // ANCHOR_END: todo_sampler_names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn propagators_are_listed_once_in_order_and_unknown_names_are_set_aside() {
        for (value, names, unknown) in [
            (
                "tracecontext,baggage",
                &["tracecontext", "baggage"][..],
                &[][..],
            ),
            (
                " Jaeger , tracecontext,jaeger",
                &["jaeger", "tracecontext"],
                &[],
            ),
            ("jaeger,b3,,xray,B3", &["jaeger"], &["b3", "xray"]),
            ("none", &[], &[]),
            ("", &[], &[]),
        ] {
            let (propagators, found_unknown) = Propagators::parse(value);
            assert_eq!(propagators.names, names, "{value:?}");
            assert_eq!(found_unknown, unknown, "{value:?}");
        }
    }

    #[test]
    fn a_propagator_built_without_its_crate_gets_a_hint() {
        let warning = unknown_warning(&["b3".into(), "xcloudtrace".into()]);
        assert!(
            warning.starts_with("warning: OTEL_PROPAGATORS: b3, xcloudtrace not known here"),
            "{warning}"
        );
        assert!(
            warning.ends_with("; for xcloudtrace, build with --features xcloudtrace"),
            "{warning}"
        );
        assert!(!unknown_warning(&["b3".into()]).contains("--features"));
    }

    #[test]
    fn each_propagator_injects_its_own_header() {
        use opentelemetry::{
            Context,
            trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState},
        };
        use std::collections::HashMap;

        let span = SpanContext::new(
            TraceId::from(0x4bf92f3577b34da6a3ce929d0e0e4736),
            SpanId::from(0x00f067aa0ba902b7),
            TraceFlags::SAMPLED,
            false,
            TraceState::NONE,
        );
        let cx = Context::new().with_remote_span_context(span);
        let formats = [
            ("tracecontext", "traceparent"),
            ("jaeger", "uber-trace-id"),
            ("xcloudtrace", "x-cloud-trace-context"),
        ];
        // Google's only where its crate is built (feature `xcloudtrace`).
        for (name, _) in formats
            .iter()
            .filter(|(name, _)| KNOWN_PROPAGATORS.contains(name))
        {
            let mut headers = HashMap::new();
            Propagators::parse(name)
                .0
                .build()
                .inject_context(&cx, &mut headers);
            let keys: Vec<String> = headers.keys().map(|key| key.to_ascii_lowercase()).collect();
            for (format, header) in formats {
                assert_eq!(
                    keys.iter().any(|key| key == header),
                    format == *name,
                    "{name}: {keys:?}"
                );
            }
        }
    }

    /// Google's header, through the 0.32 boundary both ways: a load balancer's header continues
    /// its trace, and what this service sends is read by the card's own propagator. Only with
    /// the feature: `cargo test -p step-09-frontend --features xcloudtrace` (CI runs it).
    #[cfg(feature = "xcloudtrace")]
    #[test]
    fn googles_header_continues_its_trace_and_what_is_sent_reads_back() {
        use std::collections::HashMap;

        use opentelemetry::trace::{
            SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState,
        };
        use opentelemetry_0_32::{
            propagation::TextMapPropagator as _, trace::TraceContextExt as _,
        };

        let propagator = Propagators::parse("xcloudtrace").0.build();
        // Google's format: the trace id in hex, the parent span id in decimal, `o=1` if sampled.
        let header = format!(
            "4bf92f3577b34da6a3ce929d0e0e4736/{};o=1",
            0x00f0_67aa_0ba9_02b7_u64
        );
        let received = HashMap::from([("x-cloud-trace-context".to_owned(), header)]);
        let cx = propagator.extract(&received);
        let span = cx.span();
        let caller = span.span_context();
        assert_eq!(
            caller.trace_id(),
            TraceId::from(0x4bf92f3577b34da6a3ce929d0e0e4736)
        );
        assert_eq!(caller.span_id(), SpanId::from(0x00f067aa0ba902b7));
        assert!(caller.is_sampled() && caller.is_remote());

        // A child of the caller's span, sent on.
        let child = SpanContext::new(
            caller.trace_id(),
            SpanId::from(0x1111_2222_3333_4444),
            TraceFlags::SAMPLED,
            false,
            TraceState::NONE,
        );
        let mut sent = HashMap::new();
        propagator.inject_context(&cx.with_remote_span_context(child), &mut sent);
        assert_eq!(
            sent["x-cloud-trace-context"],
            format!(
                "4bf92f3577b34da6a3ce929d0e0e4736/{};o=1",
                0x1111_2222_3333_4444_u64
            )
        );
        #[allow(deprecated)] // Google's propagator, from the deprecated exporter's crate
        let read = GoogleTraceContextPropagator::default().extract(&sent);
        let span = read.span();
        let read = span.span_context();
        assert_eq!(
            read.trace_id().to_bytes(),
            TraceId::from(0x4bf92f3577b34da6a3ce929d0e0e4736).to_bytes()
        );
        assert_eq!(
            read.span_id().to_bytes(),
            0x1111_2222_3333_4444_u64.to_be_bytes()
        );
        assert!(read.is_sampled());
    }

    #[test]
    fn samplers_are_the_specifications_and_anything_else_is_an_error() {
        let parent_based = |root| Sampler::ParentBased(Box::new(root));
        for (name, argument, expected) in [
            ("always_on", None, Sampler::AlwaysOn),
            ("always_off", Some("0.5"), Sampler::AlwaysOff),
            (
                "traceidratio",
                Some("0.25"),
                Sampler::TraceIdRatioBased(0.25),
            ),
            ("traceidratio", None, Sampler::TraceIdRatioBased(1.0)),
            (
                "parentbased_always_on",
                None,
                parent_based(Sampler::AlwaysOn),
            ),
            (
                "parentbased_always_off",
                None,
                parent_based(Sampler::AlwaysOff),
            ),
            (
                "parentbased_traceidratio",
                Some("0.1"),
                parent_based(Sampler::TraceIdRatioBased(0.1)),
            ),
        ] {
            let sampler = parse_sampler(name, argument).unwrap();
            assert_eq!(format!("{sampler:?}"), format!("{expected:?}"), "{name}");
        }
        for (name, argument, message) in [
            (
                "Always_On",
                None,
                "OTEL_TRACES_SAMPLER=\"Always_On\": expected always_on",
            ),
            (
                "traceidratio",
                Some(" 0.25"),
                "OTEL_TRACES_SAMPLER_ARG=\" 0.25\": traceidratio needs",
            ),
            (
                "always-on",
                None,
                "OTEL_TRACES_SAMPLER=\"always-on\": expected always_on",
            ),
            (
                "jaeger_remote",
                None,
                "OTEL_TRACES_SAMPLER=\"jaeger_remote\": expected",
            ),
            (
                "traceidratio",
                Some("1.5"),
                "OTEL_TRACES_SAMPLER_ARG=\"1.5\": traceidratio needs",
            ),
            (
                "parentbased_traceidratio",
                Some("a tenth"),
                "OTEL_TRACES_SAMPLER_ARG=\"a tenth\"",
            ),
        ] {
            let error = parse_sampler(name, argument).unwrap_err().to_string();
            assert!(error.starts_with(message), "{error}");
        }
    }
}
