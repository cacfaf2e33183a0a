//! The one boundary between the 0.32 API and the 0.33 one: a propagator written for 0.32, used
//! where 0.33 takes one. The Jaeger propagator (`uber-trace-id`) and Google's
//! (`X-Cloud-Trace-Context`, from the Stackdriver exporter's crate) will get no 0.33 release;
//! their header work stays theirs, and only what crosses the boundary is converted, both ways:
//! the span context (ids, flags, remote or not, trace state) and the baggage.
//!
//! Each 0.32 type is named through `v032`, so that no reader mistakes one for its 0.33 namesake.

use std::fmt;

use opentelemetry::{
    Context,
    baggage::{BaggageExt, KeyValueMetadata},
    propagation::{Extractor, Injector, TextMapPropagator, text_map_propagator::FieldIter},
    trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState},
};
use opentelemetry_0_32 as v032;
use v032::{baggage::BaggageExt as _, trace::TraceContextExt as _};

/// A 0.32 propagator, as a 0.33 [`TextMapPropagator`]: `Propagator032::new(jaeger)`.
pub struct Propagator032<P> {
    inner: P,
    /// The headers it reads and writes, as 0.33's `fields()` hands them out.
    fields: Vec<String>,
}

impl<P: v032::propagation::TextMapPropagator> Propagator032<P> {
    pub fn new(inner: P) -> Self {
        let fields = inner.fields().map(str::to_owned).collect();
        Self { inner, fields }
    }
}

impl<P: fmt::Debug> fmt::Debug for Propagator032<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Propagator032").field(&self.inner).finish()
    }
}

impl<P> TextMapPropagator for Propagator032<P>
where
    P: v032::propagation::TextMapPropagator + Send + Sync + fmt::Debug,
{
    fn inject_context(&self, cx: &Context, injector: &mut dyn Injector) {
        // A 0.32 context with the same span context and baggage: all a propagator reads.
        let mut cx_032 = v032::Context::new();
        let span = cx.span();
        if span.span_context().is_valid() {
            cx_032 = cx_032.with_remote_span_context(to_032(span.span_context()));
        }
        let baggage = cx.baggage();
        if !baggage.is_empty() {
            let entries = baggage.iter().map(|(key, (value, metadata))| {
                v032::baggage::KeyValueMetadata::new(
                    key.as_str().to_owned(),
                    value.as_str().to_owned(),
                    metadata.as_str(),
                )
            });
            cx_032 = cx_032.with_baggage(entries.collect::<Vec<_>>());
        }
        self.inner
            .inject_context(&cx_032, &mut InjectInto(injector));
    }

    fn extract_with_context(&self, cx: &Context, extractor: &dyn Extractor) -> Context {
        // What the 0.32 propagator finds on its own, laid over the 0.33 context it was given.
        let found = self
            .inner
            .extract_with_context(&v032::Context::new(), &ExtractFrom(extractor));
        let mut cx = cx.clone();
        let span = found.span();
        let span_context = span.span_context();
        if span_context.is_valid() {
            cx = cx.with_remote_span_context(to_033(span_context));
        }
        let baggage = found.baggage();
        if !baggage.is_empty() {
            let mut entries: Vec<KeyValueMetadata> = cx
                .baggage()
                .iter()
                .map(|(key, (value, metadata))| {
                    KeyValueMetadata::new(key.clone(), value.clone(), metadata.clone())
                })
                .collect();
            entries.extend(baggage.iter().map(|(key, (value, metadata))| {
                KeyValueMetadata::new(
                    key.as_str().to_owned(),
                    value.as_str().to_owned(),
                    metadata.as_str(),
                )
            }));
            cx = cx.with_baggage(entries);
        }
        cx
    }

    fn fields(&self) -> FieldIter<'_> {
        FieldIter::new(&self.fields)
    }
}

fn to_032(span_context: &SpanContext) -> v032::trace::SpanContext {
    v032::trace::SpanContext::new(
        v032::trace::TraceId::from_bytes(span_context.trace_id().to_bytes()),
        v032::trace::SpanId::from_bytes(span_context.span_id().to_bytes()),
        v032::trace::TraceFlags::new(span_context.trace_flags().to_u8()),
        span_context.is_remote(),
        span_context
            .trace_state()
            .header()
            .parse()
            .unwrap_or_default(),
    )
}

fn to_033(span_context: &v032::trace::SpanContext) -> SpanContext {
    SpanContext::new(
        TraceId::from_bytes(span_context.trace_id().to_bytes()),
        SpanId::from_bytes(span_context.span_id().to_bytes()),
        TraceFlags::new(span_context.trace_flags().to_u8()),
        span_context.is_remote(),
        span_context
            .trace_state()
            .header()
            .parse::<TraceState>()
            .unwrap_or_default(),
    )
}

/// A 0.33 extractor, for a 0.32 propagator to read, without Jaeger's baggage headers
/// (`uberctx-*`): the 0.32 Jaeger propagator puts each one in the trace state, which the W3C
/// propagator would then send on in `tracestate` to every service called, with no limit. A
/// caller's baggage travels in the W3C `baggage` header, whose propagator holds it to the
/// W3C Baggage limits.
struct ExtractFrom<'a>(&'a dyn Extractor);

fn is_jaeger_baggage(key: &str) -> bool {
    key.get(..8)
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case("uberctx-"))
}

impl v032::propagation::Extractor for ExtractFrom<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        match is_jaeger_baggage(key) {
            true => None,
            false => self.0.get(key),
        }
    }

    fn keys(&self) -> Vec<&str> {
        let keys = self.0.keys().into_iter();
        keys.filter(|key| !is_jaeger_baggage(key)).collect()
    }
}

/// A 0.33 injector, for a 0.32 propagator to write to.
struct InjectInto<'a>(&'a mut dyn Injector);

impl v032::propagation::Injector for InjectInto<'_> {
    fn set(&mut self, key: &str, value: String) {
        self.0.set(key, value);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use opentelemetry::{KeyValue, baggage::BaggageExt};

    use super::*;

    /// A 0.32 propagator that writes and reads the whole of what crosses the boundary, in one
    /// header of its own: what the bridge hands it is what it gets back.
    #[derive(Debug)]
    struct Echo;

    impl v032::propagation::TextMapPropagator for Echo {
        fn inject_context(
            &self,
            cx: &v032::Context,
            injector: &mut dyn v032::propagation::Injector,
        ) {
            let span = cx.span();
            let sc = span.span_context();
            let mut baggage: Vec<String> = cx
                .baggage()
                .iter()
                .map(|(key, (value, metadata))| format!("{key}={value};{}", metadata.as_str()))
                .collect();
            baggage.sort();
            injector.set(
                "echo",
                format!(
                    "{}/{}/{:02x}/{}/{}/{}",
                    sc.trace_id(),
                    sc.span_id(),
                    sc.trace_flags().to_u8(),
                    sc.is_remote(),
                    sc.trace_state().header(),
                    baggage.join("&")
                ),
            );
        }

        fn extract_with_context(
            &self,
            cx: &v032::Context,
            extractor: &dyn v032::propagation::Extractor,
        ) -> v032::Context {
            let Some(value) = extractor.get("echo") else {
                return cx.clone();
            };
            let parts: Vec<&str> = value.split('/').collect();
            let sc = v032::trace::SpanContext::new(
                v032::trace::TraceId::from_hex(parts[0]).unwrap(),
                v032::trace::SpanId::from_hex(parts[1]).unwrap(),
                v032::trace::TraceFlags::new(u8::from_str_radix(parts[2], 16).unwrap()),
                true,
                parts[4].parse().unwrap(),
            );
            let baggage = parts[5]
                .split('&')
                .filter(|entry| !entry.is_empty())
                .map(|entry| {
                    let (pair, metadata) = entry.split_once(';').unwrap();
                    let (key, value) = pair.split_once('=').unwrap();
                    v032::baggage::KeyValueMetadata::new(
                        key.to_owned(),
                        value.to_owned(),
                        metadata.to_owned(),
                    )
                });
            cx.with_remote_span_context(sc)
                .with_baggage(baggage.collect::<Vec<_>>())
        }

        fn fields(&self) -> v032::propagation::text_map_propagator::FieldIter<'_> {
            static FIELDS: [String; 0] = [];
            v032::propagation::text_map_propagator::FieldIter::new(&FIELDS)
        }
    }

    #[test]
    fn the_span_context_and_the_baggage_cross_both_ways_unchanged() {
        let span_context = SpanContext::new(
            TraceId::from(0x4bf92f3577b34da6a3ce929d0e0e4736),
            SpanId::from(0x00f067aa0ba902b7),
            TraceFlags::new(0x05),
            false,
            "vendor=a,other=b".parse().unwrap(),
        );
        let cx = Context::new()
            .with_remote_span_context(span_context.clone())
            .with_baggage([
                KeyValueMetadata::new("user.id", "alice", "sensitive"),
                KeyValueMetadata::new("tier", "gold", ""),
            ]);
        let bridge = Propagator032::new(Echo);
        let mut headers = HashMap::new();
        bridge.inject_context(&cx, &mut headers);
        // The 0.32 side saw the 0.33 context as it was.
        assert_eq!(
            headers["echo"],
            "4bf92f3577b34da6a3ce929d0e0e4736/00f067aa0ba902b7/05/false/vendor=a,other=b/\
             tier=gold;&user.id=alice;sensitive"
        );

        let earlier = Context::new().with_baggage([KeyValue::new("earlier", "1")]);
        let back = bridge.extract_with_context(&earlier, &headers);
        let back_span = back.span();
        let back_sc = back_span.span_context();
        assert_eq!(back_sc.trace_id(), span_context.trace_id());
        assert_eq!(back_sc.span_id(), span_context.span_id());
        assert_eq!(back_sc.trace_flags(), span_context.trace_flags());
        assert!(back_sc.is_remote());
        assert_eq!(back_sc.trace_state(), span_context.trace_state());
        let mut baggage: Vec<(String, String, String)> = back
            .baggage()
            .iter()
            .map(|(key, (value, metadata))| {
                (
                    key.to_string(),
                    value.to_string(),
                    metadata.as_str().to_owned(),
                )
            })
            .collect();
        baggage.sort();
        assert_eq!(
            baggage,
            [
                ("earlier".into(), "1".into(), "".into()),
                ("tier".into(), "gold".into(), "".into()),
                ("user.id".into(), "alice".into(), "sensitive".into()),
            ]
        );
        // Without its header, the 0.32 propagator finds nothing, and the context is as it was.
        let nothing = bridge.extract_with_context(&earlier, &HashMap::<String, String>::new());
        assert!(!nothing.has_active_span());
        assert_eq!(nothing.baggage().len(), 1);
    }

    #[test]
    fn a_trace_continued_from_another_format_is_sent_on_without_the_random_flag() {
        use opentelemetry_sdk::propagation::TraceContextPropagator;

        let jaeger = Propagator032::new(opentelemetry_jaeger_propagator_new());
        let headers: HashMap<String, String> = [(
            "uber-trace-id".to_owned(),
            "4bf92f3577b34da6a3ce929d0e0e4736:00f067aa0ba902b7:0:1".to_owned(),
        )]
        .into();
        let cx = jaeger.extract(&headers);
        assert_eq!(
            cx.span().span_context().trace_id(),
            TraceId::from(0x4bf92f3577b34da6a3ce929d0e0e4736)
        );
        let mut sent = HashMap::new();
        TraceContextPropagator::new().inject_context(&cx, &mut sent);
        assert_eq!(
            sent["traceparent"],
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        );
    }

    // Deprecated with its crate; the workshop keeps it for Jaeger callers (see `otel_env`).
    #[allow(deprecated)]
    fn opentelemetry_jaeger_propagator_new() -> opentelemetry_jaeger_propagator::Propagator {
        opentelemetry_jaeger_propagator::Propagator::new()
    }
}
