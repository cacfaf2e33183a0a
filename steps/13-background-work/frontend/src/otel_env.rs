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
}
