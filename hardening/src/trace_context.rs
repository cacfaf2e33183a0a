//! The W3C Trace Context headers (`traceparent`, `tracestate`) at Level 2, where the SDK's
//! `TraceContextPropagator` (0.33) stops at Level 1:
//!
//! - **The `random` flag** (`0x02`: the trace id's right-most 7 bytes are random). The SDK's
//!   propagator keeps only the sampled bit, on the way in and on the way out. Here the flag a
//!   caller sent goes on with its trace; and a trace this service starts gets it when asked
//!   ([`W3cTraceContextPropagator::with_random_flag`]: the SDK's default id generator makes
//!   random ids). Not by default: OpenTelemetry Go before 1.42 refuses a version-00
//!   `traceparent` whose flags are above `02`, and starts a new trace, so a service that sets
//!   the flag splits its traces at the first such service it calls.
//! - **Level 2's `tracestate` keys** (`foo@@bar`, `t@` and 15 characters, 241 and 14 either side
//!   of the `@`): the SDK's `TraceState` refuses some of them, and its propagator then drops the
//!   caller's whole list. Here the span context holds the members `TraceState` takes (samplers
//!   and exporters see those), and the caller's whole list goes on unless someone changed it.
//!
//! Everything else (parsing the ids, the rules for which header is valid) is the SDK's and
//! [`crate::trace_headers`]'.

use opentelemetry::{
    Context,
    propagation::{Extractor, Injector, TextMapPropagator, text_map_propagator::FieldIter},
    trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState},
};

use crate::trace_headers::{
    MAX_TRACESTATE_MEMBERS, TRACEPARENT_FIELDS, valid_traceparent, valid_tracestate,
};

const TRACEPARENT: &str = "traceparent";
const TRACESTATE: &str = "tracestate";
const FIELDS: [&str; 2] = [TRACEPARENT, TRACESTATE];

/// Level 2's `random` flag. (0.33 has a constant for the sampled bit only.)
pub const RANDOM: TraceFlags = TraceFlags::new(0x02);

/// The flags Trace Context defines, sampled (`0x01`) and random (`0x02`). The others are
/// reserved: a service must send them as 0.
const DEFINED_FLAGS: TraceFlags = TraceFlags::new(0x03);

/// The propagator of the W3C `traceparent` and `tracestate` headers, at Level 2 (see the
/// module's documentation). A drop-in for the SDK's `TraceContextPropagator`, with one rule:
/// start the request's spans in the context `extract` returns, and derive the contexts you
/// inject from it (`caller_cx.with_span(span)`). It remembers there what the caller said of its
/// trace; a context made afresh (`Context::current_with_span(span)`) has forgotten it, and the
/// trace then counts as one this service started.
#[derive(Debug)]
pub struct W3cTraceContextPropagator {
    fields: Vec<String>,
    /// Whether a trace this service starts is sent with the `random` flag.
    random_on_new_traces: bool,
}

impl W3cTraceContextPropagator {
    /// The propagator, sending the `random` flag only with a trace whose caller sent it.
    pub fn new() -> Self {
        Self {
            fields: FIELDS.map(String::from).to_vec(),
            random_on_new_traces: false,
        }
    }

    /// The same, and a trace this service starts is sent with the `random` flag too, as Level 2
    /// lets a service whose trace ids are random say. Only where every service called reads
    /// Level 2 (see the module's documentation).
    pub fn with_random_flag(self) -> Self {
        Self {
            random_on_new_traces: true,
            ..self
        }
    }
}

impl Default for W3cTraceContextPropagator {
    fn default() -> Self {
        Self::new()
    }
}

/// What the context remembers of a trace it continues, beyond what its span context holds: put
/// in by whichever propagator read the caller's trace, read by [`W3cTraceContextPropagator`]'s
/// inject for the same trace id.
#[derive(Debug, Clone)]
pub(crate) struct ContinuedTrace {
    pub(crate) trace_id: TraceId,
    /// Whether the caller said the trace id is random. A caller that said nothing of it (one
    /// with a Level 1 `traceparent`, or another format) did not.
    pub(crate) random: bool,
    /// The caller's whole `tracestate`, and the part of it the span context holds: the whole
    /// list goes on, with what this service changed in that part.
    pub(crate) tracestate: Option<(Vec<(String, String)>, TraceState)>,
}

impl TextMapPropagator for W3cTraceContextPropagator {
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        let span = cx.span();
        let span_context = span.span_context();
        if !span_context.is_valid() {
            return;
        }
        let continued = cx
            .get::<ContinuedTrace>()
            .filter(|continued| continued.trace_id == span_context.trace_id());
        // A trace started here has the SDK's random ids, said when asked. One continued has the
        // caller's flag: Level 2 says it goes on, set or not, with the trace id. The SDK's own
        // children keep their parent's flags, but a span the sampler dropped has none: hence
        // the context. A caller's span context that came without that record (from a
        // propagator that says nothing of the flag) is not claimed random.
        let random = match continued {
            Some(continued) => continued.random,
            None => self.random_on_new_traces && !span_context.is_remote(),
        };
        let mut flags = span_context.trace_flags() & DEFINED_FLAGS;
        flags = match random {
            true => flags | RANDOM,
            false => flags & TraceFlags::SAMPLED,
        };
        injector.set(TRACEPARENT, traceparent(span_context, flags));
        let tracestate = match continued.and_then(|continued| continued.tracestate.as_ref()) {
            Some((whole, held)) => merged(whole, held, span_context.trace_state()),
            None => span_context.trace_state().header(),
        };
        // An empty header is allowed, but the specification asks not to send one.
        if !tracestate.is_empty() {
            injector.set(TRACESTATE, tracestate);
        }
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        let Some(traceparent) = extractor.get(TRACEPARENT).and_then(valid_traceparent) else {
            return cx.clone();
        };
        // `valid_traceparent` checked the grammar: version, ids and flags, each in its place.
        let [_, trace_id, span_id, flags] = TRACEPARENT_FIELDS.map(|field| &traceparent[field]);
        let (Ok(trace_id), Ok(span_id), Ok(flags)) = (
            TraceId::from_hex(trace_id),
            SpanId::from_hex(span_id),
            u8::from_str_radix(flags, 16),
        ) else {
            return cx.clone();
        };
        let flags = TraceFlags::new(flags) & DEFINED_FLAGS;
        let members = extractor
            .get(TRACESTATE)
            .and_then(valid_tracestate)
            .unwrap_or_default();
        // What `TraceState` takes of the list, member by member.
        let held = members
            .iter()
            .filter(|member| TraceState::from_key_value([**member]).is_ok());
        let held = TraceState::from_key_value(held.copied()).unwrap_or_default();
        let whole: Vec<(String, String)> = members
            .iter()
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect();
        let continued = ContinuedTrace {
            trace_id,
            random: flags & RANDOM == RANDOM,
            tracestate: (!whole.is_empty()).then(|| (whole, held.clone())),
        };
        let span_context = SpanContext::new(trace_id, span_id, flags, true, held);
        cx.with_remote_span_context(span_context)
            .with_value(continued)
    }

    fn fields(&self) -> FieldIter<'_> {
        FieldIter::new(&self.fields)
    }
}

/// `00-{trace id}-{span id}-{flags}` in lower-case hex. Written out digit by digit: it is made
/// on every outgoing request, and `format!` of the ids took several times as long.
fn traceparent(span_context: &SpanContext, flags: TraceFlags) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let (trace_id, span_id) = (
        span_context.trace_id().to_bytes(),
        span_context.span_id().to_bytes(),
    );
    let mut text = String::with_capacity(55);
    text.push_str("00");
    for field in [&trace_id[..], &span_id[..], &[flags.to_u8()]] {
        text.push('-');
        for byte in field {
            text.push(char::from(HEX[usize::from(byte >> 4)]));
            text.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
    }
    text
}

/// The caller's `whole` list, with what this service changed in the part of it the span context
/// `held`, as the span context has it `now`: members added or updated here first, as the
/// specification says a vendor puts them, members deleted here left out, and the caller's others
/// (those `TraceState` could not hold among them) as they came; 32 at most.
fn merged(whole: &[(String, String)], held: &TraceState, now: &TraceState) -> String {
    let changed: Vec<(&str, &str)> = now
        .into_iter()
        .filter(|(key, value)| held.get(key) != Some(*value))
        .collect();
    let kept = whole
        .iter()
        .map(|(key, value)| (key.as_str(), value.as_str()))
        .filter(|(key, _)| {
            let changed_here = changed.iter().any(|(changed, _)| changed == key);
            let deleted_here = held.get(key).is_some() && now.get(key).is_none();
            !changed_here && !deleted_here
        });
    let members: Vec<String> = changed
        .iter()
        .copied()
        .chain(kept)
        .take(MAX_TRACESTATE_MEMBERS)
        .map(|(key, value)| format!("{key}={value}"))
        .collect();
    members.join(",")
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use opentelemetry::trace::TraceContextExt;

    use super::*;

    const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const SPAN_ID: &str = "00f067aa0ba902b7";

    fn extract(headers: &[(&str, &str)]) -> Context {
        let headers: HashMap<String, String> = headers
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        W3cTraceContextPropagator::new().extract(&headers)
    }

    /// What the propagator sends for a child span of `cx`'s span (a new span id, the flags and
    /// trace state as the SDK's tracer gives a child: the parent's, or none when dropped).
    fn sent_by_a_child(cx: &Context, sampled: Option<bool>) -> HashMap<String, String> {
        let parent = cx.span().span_context().clone();
        let flags = match sampled {
            Some(sampled) => parent.trace_flags().with_sampled(sampled),
            None => TraceFlags::default(),
        };
        let child = SpanContext::new(
            parent.trace_id(),
            SpanId::from(0x1111_2222_3333_4444),
            flags,
            false,
            parent.trace_state().clone(),
        );
        let mut headers = HashMap::new();
        W3cTraceContextPropagator::new()
            .inject_context(&cx.with_remote_span_context(child), &mut headers);
        headers
    }

    fn traceparent(flags: &str) -> String {
        format!("00-{TRACE_ID}-{SPAN_ID}-{flags}")
    }

    #[test]
    fn the_random_flag_goes_on_with_the_trace_it_came_with() {
        for (incoming, sampled, outgoing) in [
            ("02", Some(false), "02"),
            ("03", Some(true), "03"),
            ("03", None, "02"),
            ("01", Some(true), "01"),
            ("00", Some(false), "00"),
            ("00", None, "00"),
            // Reserved flags are not sent on.
            ("ff", Some(true), "03"),
            ("fd", Some(true), "01"),
        ] {
            let cx = extract(&[("traceparent", &traceparent(incoming))]);
            assert_eq!(
                cx.span().span_context().trace_flags().to_u8() & !0x03,
                0,
                "{incoming}"
            );
            let sent = sent_by_a_child(&cx, sampled);
            let expected = format!("00-{TRACE_ID}-1111222233334444-{outgoing}");
            assert_eq!(sent["traceparent"], expected, "{incoming}, {sampled:?}");
        }
    }

    #[test]
    fn a_trace_started_here_is_not_claimed_random_unless_asked() {
        let root = SpanContext::new(
            TraceId::from(0xabcd),
            SpanId::from(0x1234),
            TraceFlags::SAMPLED,
            false,
            TraceState::NONE,
        );
        let cx = Context::new().with_remote_span_context(root);
        for (propagator, flags) in [
            (W3cTraceContextPropagator::new(), "01"),
            (W3cTraceContextPropagator::new().with_random_flag(), "03"),
        ] {
            let mut headers = HashMap::new();
            propagator.inject_context(&cx, &mut headers);
            assert!(headers["traceparent"].ends_with(flags), "{headers:?}");
        }
    }

    #[test]
    fn asked_to_a_trace_started_here_is_random() {
        for (sampled, flags) in [(Some(true), "03"), (Some(false), "02"), (None, "02")] {
            // A root span: no caller, or a caller whose traceparent is invalid.
            for cx in [
                extract(&[]),
                extract(&[("traceparent", "00-1-2-01")]),
                extract(&[("traceparent", &traceparent("01").replace(TRACE_ID, "00"))]),
            ] {
                assert!(!cx.has_active_span());
                let root = SpanContext::new(
                    TraceId::from(0xabcd),
                    SpanId::from(0x1234),
                    TraceFlags::default().with_sampled(sampled.unwrap_or(false)),
                    false,
                    TraceState::NONE,
                );
                let mut headers = HashMap::new();
                W3cTraceContextPropagator::new()
                    .with_random_flag()
                    .inject_context(&cx.with_remote_span_context(root), &mut headers);
                let expected =
                    format!("00-0000000000000000000000000000abcd-0000000000001234-{flags}");
                assert_eq!(headers["traceparent"], expected);
                assert_eq!(headers.get("tracestate"), None, "none sent when empty");
            }
        }
    }

    #[test]
    fn asked_a_new_trace_under_a_callers_context_is_random_too() {
        // The caller's flags are for the caller's trace id only.
        let cx = extract(&[("traceparent", &traceparent("01"))]);
        let other = SpanContext::new(
            TraceId::from(0xabcd),
            SpanId::from(0x1234),
            TraceFlags::SAMPLED,
            false,
            TraceState::NONE,
        );
        let mut headers = HashMap::new();
        W3cTraceContextPropagator::new()
            .with_random_flag()
            .inject_context(&cx.with_remote_span_context(other), &mut headers);
        assert!(headers["traceparent"].ends_with("-03"), "{headers:?}");
    }

    #[test]
    fn the_callers_whole_tracestate_goes_on_even_where_trace_state_cannot_hold_it() {
        let unholdable = [
            "foo@@bar=1".to_owned(),
            "foo@bar@baz=1".to_owned(),
            format!("t@{}=1", "v".repeat(15)),
            format!("{}@{}=1", "t".repeat(241), "v".repeat(14)),
        ];
        for member in &unholdable {
            assert!(
                member.parse::<TraceState>().is_err(),
                "0.33's TraceState now takes {member}: this propagator's second list can go"
            );
            let list = format!("foo=1,{member},bar=2");
            let cx = extract(&[("traceparent", &traceparent("01")), ("tracestate", &list)]);
            // The span context holds what it can, for samplers and exporters.
            let held = cx.span().span_context().trace_state().header();
            assert_eq!(held, "foo=1,bar=2");
            // What goes on is the caller's list, whole.
            assert_eq!(sent_by_a_child(&cx, Some(true))["tracestate"], list);
        }
    }

    /// Sends a child of `cx`'s span whose trace state is `change`d from its parent's.
    fn sent_with_trace_state(cx: &Context, change: impl Fn(&TraceState) -> TraceState) -> String {
        let parent = cx.span().span_context().clone();
        let child = SpanContext::new(
            parent.trace_id(),
            SpanId::from(0x1234),
            TraceFlags::SAMPLED,
            false,
            change(parent.trace_state()),
        );
        let mut headers = HashMap::new();
        W3cTraceContextPropagator::new()
            .inject_context(&cx.with_remote_span_context(child), &mut headers);
        headers["tracestate"].clone()
    }

    #[test]
    fn a_tracestate_changed_here_keeps_the_callers_other_members() {
        let cx = extract(&[
            ("traceparent", &traceparent("01")),
            ("tracestate", "foo=1,foo@@bar=2,baz=3"),
        ]);
        // A sampler may put its own member first, as the specification says a vendor does; the
        // members `TraceState` could not hold go on beside it.
        let added = sent_with_trace_state(&cx, |state| state.insert("mine", "x").unwrap());
        assert_eq!(added, "mine=x,foo=1,foo@@bar=2,baz=3");
        let updated = sent_with_trace_state(&cx, |state| state.insert("baz", "4").unwrap());
        assert_eq!(updated, "baz=4,foo=1,foo@@bar=2");
        let deleted = sent_with_trace_state(&cx, |state| state.delete("foo").unwrap());
        assert_eq!(deleted, "foo@@bar=2,baz=3");
    }

    #[test]
    fn a_callers_span_context_from_another_propagator_is_not_claimed_random() {
        // A remote span context with no record of what its caller said of the flag.
        let caller = SpanContext::new(
            TraceId::from(0xabcd),
            SpanId::from(0x1234),
            TraceFlags::SAMPLED,
            true,
            TraceState::NONE,
        );
        let mut headers = HashMap::new();
        W3cTraceContextPropagator::new().inject_context(
            &Context::new().with_remote_span_context(caller),
            &mut headers,
        );
        assert!(headers["traceparent"].ends_with("-01"), "{headers:?}");
    }

    #[test]
    fn an_invalid_traceparent_or_tracestate_is_not_taken() {
        let cx = extract(&[
            ("traceparent", &traceparent("01").to_uppercase()),
            ("tracestate", "foo=1"),
        ]);
        assert!(!cx.has_active_span());
        let cx = extract(&[
            ("traceparent", &traceparent("01")),
            ("tracestate", "foo=1,BAR=2"),
        ]);
        assert!(cx.span().span_context().is_valid());
        assert_eq!(cx.span().span_context().trace_state().header(), "");
        assert_eq!(sent_by_a_child(&cx, Some(true)).get("tracestate"), None);
    }

    #[test]
    fn a_caller_is_read_as_the_sdks_propagator_reads_it() {
        use opentelemetry_sdk::propagation::TraceContextPropagator;

        let headers: HashMap<String, String> = [
            ("traceparent".to_owned(), traceparent("01")),
            ("tracestate".to_owned(), "foo=1,bar=2".to_owned()),
        ]
        .into();
        let ours = W3cTraceContextPropagator::new().extract(&headers);
        let sdks = TraceContextPropagator::new().extract(&headers);
        assert_eq!(ours.span().span_context(), sdks.span().span_context());
        let propagator = W3cTraceContextPropagator::new();
        let fields: Vec<&str> = propagator.fields().collect();
        assert_eq!(fields, FIELDS);
    }
}
