//! Spans arrive in batches, from several services, in no particular order: a service exports
//! when its batch is due, and a child span often ends, and is sent, before its parent. This
//! groups them into traces and says when a trace is worth drawing: when it is whole (it has a
//! root, every span's parent is in it, and every call to another service, a `client` span, has
//! the callee's span under it) and nothing new has come for a moment. A trace that
//! never becomes whole (its root is in a service that does not export here) is drawn anyway
//! after a longer wait, and spans that come after a trace was drawn draw it again.

use std::time::{Duration, Instant};

use std::collections::HashSet;

use opentelemetry::trace::{SpanId, SpanKind, TraceId};

use crate::spans::SpanRecord;

/// A trace ready to be drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct Ready {
    pub spans: Vec<SpanRecord>,
    /// How many of these spans were drawn before: 0 the first time, more when late spans came.
    pub drawn_before: usize,
}

/// At most this many spans are kept per trace, and this many traces at once: the viewer takes
/// whatever arrives on its port, and must not grow without end.
pub const MAX_SPANS_PER_TRACE: usize = 10_000;
pub const MAX_TRACES: usize = 1_000;

struct Pending {
    trace_id: TraceId,
    spans: Vec<SpanRecord>,
    ids: HashSet<SpanId>,
    last_arrival: Instant,
    drawn: usize,
}

impl Pending {
    fn is_whole(&self) -> bool {
        let parents: HashSet<SpanId> = self
            .spans
            .iter()
            .filter_map(|span| span.parent_span_id)
            .collect();
        let roots = self
            .spans
            .iter()
            .filter(|span| span.parent_span_id.is_none())
            .count();
        roots == 1
            && parents.iter().all(|parent| self.ids.contains(parent))
            && self
                .spans
                .iter()
                .filter(|span| span.kind == SpanKind::Client)
                .all(|span| parents.contains(&span.span_id))
    }
}

/// The traces being received.
pub struct Traces {
    pending: Vec<Pending>,
    /// How long a whole trace must be quiet before it is drawn.
    settle: Duration,
    /// How long a trace that is not whole must be quiet before it is drawn anyway.
    patience: Duration,
    /// How long a drawn trace is kept, for late spans.
    memory: Duration,
}

impl Traces {
    pub fn new(settle: Duration, patience: Duration) -> Traces {
        Traces {
            pending: Vec::new(),
            settle,
            patience,
            memory: patience * 12,
        }
    }

    /// Adds spans that arrived at `now`. Returns how many were left out because a trace, or
    /// the number of traces, reached its limit.
    pub fn add(&mut self, spans: Vec<SpanRecord>, now: Instant) -> usize {
        let mut left_out = 0;
        for span in spans {
            let full = self.pending.len() >= MAX_TRACES;
            match self
                .pending
                .iter_mut()
                .find(|t| t.trace_id == span.trace_id)
            {
                Some(trace) => {
                    trace.last_arrival = now;
                    // The same span sent twice (an exporter's retry) counts once.
                    if trace.ids.contains(&span.span_id) {
                        continue;
                    }
                    if trace.spans.len() >= MAX_SPANS_PER_TRACE {
                        left_out += 1;
                        continue;
                    }
                    trace.ids.insert(span.span_id);
                    trace.spans.push(span);
                }
                None if full => left_out += 1,
                None => self.pending.push(Pending {
                    trace_id: span.trace_id,
                    ids: HashSet::from([span.span_id]),
                    spans: vec![span],
                    last_arrival: now,
                    drawn: 0,
                }),
            }
        }
        left_out
    }

    /// The traces to draw at `now`, oldest first; each is then drawn until more spans come.
    pub fn ready(&mut self, now: Instant) -> Vec<Ready> {
        let (settle, patience, memory) = (self.settle, self.patience, self.memory);
        self.pending.retain(|trace| {
            trace.drawn < trace.spans.len()
                || now.saturating_duration_since(trace.last_arrival) < memory
        });
        let mut ready = Vec::new();
        for trace in &mut self.pending {
            let quiet = now.saturating_duration_since(trace.last_arrival);
            let due = quiet >= settle && (trace.is_whole() || quiet >= patience);
            if due && trace.drawn < trace.spans.len() {
                ready.push(take(trace));
            }
        }
        ready
    }

    /// Every trace with spans not yet drawn, whatever its state: for the end.
    pub fn flush(&mut self) -> Vec<Ready> {
        self.pending
            .iter_mut()
            .filter(|trace| trace.drawn < trace.spans.len())
            .map(take)
            .collect()
    }

    /// When [`Traces::ready`] may next have something: the earliest moment a trace with spans
    /// not yet drawn could become due.
    pub fn next_check(&self) -> Option<Instant> {
        self.pending
            .iter()
            .filter(|trace| trace.drawn < trace.spans.len())
            .map(|trace| {
                let wait = if trace.is_whole() {
                    self.settle
                } else {
                    self.patience
                };
                trace.last_arrival + wait
            })
            .min()
    }
}

fn take(trace: &mut Pending) -> Ready {
    let ready = Ready {
        spans: trace.spans.clone(),
        drawn_before: trace.drawn,
    };
    trace.drawn = trace.spans.len();
    ready
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::SystemTime;

    use opentelemetry::trace::{SpanId, Status};

    use super::*;

    const SETTLE: Duration = Duration::from_millis(500);
    const PATIENCE: Duration = Duration::from_secs(6);

    fn span(trace: u128, id: u64, parent: Option<u64>, kind: SpanKind, name: &str) -> SpanRecord {
        SpanRecord {
            service: "frontend".into(),
            scope: String::new(),
            name: name.into(),
            kind,
            trace_id: TraceId::from(trace),
            span_id: SpanId::from(id),
            parent_span_id: parent.map(SpanId::from),
            status: Status::Unset,
            start: SystemTime::UNIX_EPOCH,
            end: SystemTime::UNIX_EPOCH,
            attributes: Default::default(),
            events: Vec::new(),
        }
    }

    /// The three spans of step 07's trace: the frontend's two, the backend's one.
    fn frontend_batch(trace: u128) -> Vec<SpanRecord> {
        vec![
            span(trace, 2, Some(1), SpanKind::Client, "backend call"),
            span(trace, 1, None, SpanKind::Server, "incoming call"),
        ]
    }
    fn backend_batch(trace: u128) -> Vec<SpanRecord> {
        vec![span(
            trace,
            3,
            Some(2),
            SpanKind::Server,
            "backend call received",
        )]
    }

    fn names(ready: &[Ready]) -> Vec<Vec<&str>> {
        ready
            .iter()
            .map(|trace| trace.spans.iter().map(|span| span.name.as_str()).collect())
            .collect()
    }

    #[test]
    fn a_trace_is_drawn_once_whole_whichever_batch_comes_first() {
        for backend_first in [true, false] {
            let mut traces = Traces::new(SETTLE, PATIENCE);
            let start = Instant::now();
            let (first, second) = match backend_first {
                true => (backend_batch(7), frontend_batch(7)),
                false => (frontend_batch(7), backend_batch(7)),
            };
            traces.add(first, start);
            // Half of it, however long it waits (short of patience), is not drawn.
            assert!(traces.ready(start + SETTLE * 4).is_empty());
            let later = start + Duration::from_secs(1);
            traces.add(second, later);
            assert!(traces.ready(later + SETTLE / 2).is_empty(), "settling");
            let ready = traces.ready(later + SETTLE);
            assert_eq!(ready.len(), 1);
            assert_eq!(ready[0].spans.len(), 3);
            assert_eq!(ready[0].drawn_before, 0);
            assert!(traces.ready(later + SETTLE * 2).is_empty(), "drawn once");
        }
    }

    #[test]
    fn traces_are_kept_apart_and_spans_sent_twice_count_once() {
        let mut traces = Traces::new(SETTLE, PATIENCE);
        let now = Instant::now();
        let mut mixed = frontend_batch(1);
        mixed.extend(backend_batch(2));
        mixed.extend(backend_batch(1));
        mixed.extend(backend_batch(1));
        traces.add(mixed, now);
        traces.add(frontend_batch(2), now);
        let ready = traces.ready(now + SETTLE);
        assert_eq!(
            names(&ready),
            [
                ["backend call", "incoming call", "backend call received"],
                ["backend call received", "backend call", "incoming call"],
            ]
        );
    }

    #[test]
    fn a_trace_missing_its_root_is_drawn_after_patience_and_again_when_more_comes() {
        let mut traces = Traces::new(SETTLE, PATIENCE);
        let start = Instant::now();
        traces.add(backend_batch(9), start);
        assert!(traces.ready(start + PATIENCE / 2).is_empty());
        assert_eq!(traces.next_check(), Some(start + PATIENCE));
        let ready = traces.ready(start + PATIENCE);
        assert_eq!(names(&ready), [["backend call received"]]);

        let later = start + PATIENCE * 2;
        traces.add(frontend_batch(9), later);
        let ready = traces.ready(later + SETTLE);
        assert_eq!(ready.len(), 1);
        assert_eq!((ready[0].spans.len(), ready[0].drawn_before), (3, 1));
    }

    #[test]
    fn flush_hands_over_whatever_was_not_drawn() {
        let mut traces = Traces::new(SETTLE, PATIENCE);
        traces.add(frontend_batch(4), Instant::now());
        assert_eq!(names(&traces.flush()), [["backend call", "incoming call"]]);
        assert!(traces.flush().is_empty());
    }
}
