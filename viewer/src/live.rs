//! Spans arrive in batches, from several services, in no particular order: a service exports
//! when its batch is due, and a child span often ends, and is sent, before its parent. This
//! groups them into traces and says when a trace is worth drawing: when it is whole (it has a
//! root, every span's parent is in it, and every call to another service, a `client` span, has
//! the callee's span under it) and nothing new has come for a moment. A trace that
//! never becomes whole (its root is in a service that does not export here) is drawn anyway
//! after a longer wait, and spans that come after a trace was drawn draw it again.

use std::{
    collections::{BTreeMap, HashMap, HashSet},
    time::{Duration, Instant},
};

use opentelemetry::trace::{SpanId, SpanKind, TraceId};

use crate::{signals::LogRecord, spans::SpanRecord};

/// A trace ready to be drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct Ready {
    pub spans: Vec<SpanRecord>,
    /// How many of these spans were drawn before: 0 the first time, more when late spans came.
    pub drawn_before: usize,
}

impl Ready {
    /// The trace drawn for a terminal, its spans in the order they started; a trace drawn
    /// before, with late spans, says so above it.
    pub fn drawing(&self) -> String {
        self.drawing_with_logs(&[])
    }

    /// As [`Ready::drawing`], with the log records among `logs` written in its spans drawn
    /// under them.
    pub fn drawing_with_logs(&self, logs: &[LogRecord]) -> String {
        let mut text = String::new();
        if self.drawn_before > 0 {
            let more = self.spans.len() - self.drawn_before;
            let plural = if more == 1 { "" } else { "s" };
            text.push_str(&format!(
                "(again, with {more} more span{plural} that came later)\n"
            ));
        }
        let mut spans = self.spans.clone();
        spans.sort_by_key(|span| span.start);
        text.push_str(&crate::spans::render_with_logs(&spans, logs));
        text.push('\n');
        text
    }
}

/// At most this many spans are kept per trace: one runaway trace cannot take the whole budget.
pub const MAX_SPANS_PER_TRACE: usize = 10_000;

/// What was left out to stay within the limits, since it was last asked for.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Dropped {
    /// Spans not drawn, and the traces they were in, to keep within the memory budget: the
    /// oldest traces go first.
    pub spans_over_budget: u64,
    pub traces_over_budget: u64,
    /// Spans beyond [`MAX_SPANS_PER_TRACE`] in one trace.
    pub spans_over_trace_limit: u64,
}

impl Dropped {
    pub fn is_empty(&self) -> bool {
        *self == Dropped::default()
    }
}

struct Pending {
    /// Its place in the order traces first arrived in.
    arrival: u64,
    spans: Vec<SpanRecord>,
    ids: HashSet<SpanId>,
    last_arrival: Instant,
    drawn: usize,
    /// Whether it is whole, as of its last span.
    whole: bool,
    /// What its spans take, as [`held_bytes`] counts.
    bytes: usize,
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

    fn undrawn(&self) -> usize {
        self.spans.len() - self.drawn
    }
}

/// What one span takes while it waits here: the record and what it owns, and its place in
/// its trace's list and set of ids.
fn held_bytes(span: &SpanRecord) -> usize {
    span.held_bytes() + size_of::<SpanId>() * 2
}

/// The traces being received.
pub struct Traces {
    pending: HashMap<TraceId, Pending>,
    /// The same traces by first arrival, oldest first: the order they are drawn in, and the
    /// order they are let go in when the budget is reached.
    by_arrival: BTreeMap<u64, TraceId>,
    arrivals: u64,
    /// How long a whole trace must be quiet before it is drawn.
    settle: Duration,
    /// How long a trace that is not whole must be quiet before it is drawn anyway.
    patience: Duration,
    /// How long a drawn trace is kept, for late spans, while the budget allows.
    memory: Duration,
    /// What the spans held take, and the most they may.
    held: usize,
    budget: usize,
    dropped: Dropped,
}

impl Traces {
    /// Traces drawn after `settle` (whole) or `patience` (not), holding at most `budget` bytes
    /// of spans.
    pub fn new(settle: Duration, patience: Duration, budget: usize) -> Traces {
        Traces {
            pending: HashMap::new(),
            by_arrival: BTreeMap::new(),
            arrivals: 0,
            settle,
            patience,
            memory: patience * 12,
            held: 0,
            budget,
            dropped: Dropped::default(),
        }
    }

    /// Adds spans that arrived at `now`. Spans over a limit are counted in [`Traces::dropped`].
    pub fn add(&mut self, spans: Vec<SpanRecord>, now: Instant) {
        let mut touched = HashSet::new();
        for span in spans {
            let trace_id = span.trace_id;
            let trace = self.pending.entry(trace_id).or_insert_with(|| {
                self.arrivals += 1;
                self.by_arrival.insert(self.arrivals, trace_id);
                Pending {
                    arrival: self.arrivals,
                    spans: Vec::new(),
                    ids: HashSet::new(),
                    last_arrival: now,
                    drawn: 0,
                    whole: false,
                    bytes: 0,
                }
            });
            trace.last_arrival = now;
            // The same span sent twice (an exporter's retry) counts once.
            if trace.ids.contains(&span.span_id) {
                continue;
            }
            if trace.spans.len() >= MAX_SPANS_PER_TRACE {
                self.dropped.spans_over_trace_limit += 1;
                continue;
            }
            let bytes = held_bytes(&span);
            trace.bytes += bytes;
            self.held += bytes;
            trace.ids.insert(span.span_id);
            trace.spans.push(span);
            touched.insert(trace_id);
        }
        for trace_id in touched {
            if let Some(trace) = self.pending.get_mut(&trace_id) {
                trace.whole = trace.is_whole();
            }
        }
        self.keep_within_budget();
    }

    /// Lets traces go, oldest first, until the spans held fit the budget: first those already
    /// drawn (kept only in case late spans come), then those not drawn yet, which are counted.
    fn keep_within_budget(&mut self) {
        if self.held <= self.budget {
            return;
        }
        for only_drawn in [true, false] {
            let mut letting_go = Vec::new();
            let mut held = self.held;
            for (arrival, trace_id) in &self.by_arrival {
                if held <= self.budget {
                    break;
                }
                let trace = &self.pending[trace_id];
                if only_drawn && trace.undrawn() > 0 {
                    continue;
                }
                held -= trace.bytes;
                letting_go.push(*arrival);
            }
            for arrival in letting_go {
                let undrawn = self.remove(arrival);
                if undrawn > 0 {
                    self.dropped.spans_over_budget += undrawn as u64;
                    self.dropped.traces_over_budget += 1;
                }
            }
        }
    }

    /// Removes a trace; returns how many of its spans were never drawn.
    fn remove(&mut self, arrival: u64) -> usize {
        let Some(trace_id) = self.by_arrival.remove(&arrival) else {
            return 0;
        };
        match self.pending.remove(&trace_id) {
            Some(trace) => {
                self.held -= trace.bytes;
                trace.undrawn()
            }
            None => 0,
        }
    }

    /// What was left out since the last call, and starts counting again.
    pub fn dropped(&mut self) -> Dropped {
        std::mem::take(&mut self.dropped)
    }

    /// What the spans held take, in bytes, as the budget counts them.
    pub fn held_bytes(&self) -> usize {
        self.held
    }

    /// The traces to draw at `now`, oldest first; each is then drawn until more spans come.
    pub fn ready(&mut self, now: Instant) -> Vec<Ready> {
        let (settle, patience, memory) = (self.settle, self.patience, self.memory);
        let forgotten: Vec<u64> = self
            .pending
            .values()
            .filter(|trace| {
                trace.undrawn() == 0 && now.saturating_duration_since(trace.last_arrival) >= memory
            })
            .map(|trace| trace.arrival)
            .collect();
        for arrival in forgotten {
            self.remove(arrival);
        }
        let mut ready = Vec::new();
        for trace_id in self.by_arrival.values() {
            let Some(trace) = self.pending.get_mut(trace_id) else {
                continue;
            };
            let quiet = now.saturating_duration_since(trace.last_arrival);
            let due = quiet >= settle && (trace.whole || quiet >= patience);
            if due && trace.undrawn() > 0 {
                ready.push(take(trace));
            }
        }
        ready
    }

    /// Every trace with spans not yet drawn, whatever its state, oldest first: for the end.
    pub fn flush(&mut self) -> Vec<Ready> {
        let mut ready = Vec::new();
        for trace_id in self.by_arrival.values() {
            match self.pending.get_mut(trace_id) {
                Some(trace) if trace.undrawn() > 0 => ready.push(take(trace)),
                _ => {}
            }
        }
        ready
    }

    /// When [`Traces::ready`] may next have something: the earliest moment a trace with spans
    /// not yet drawn could become due.
    pub fn next_check(&self) -> Option<Instant> {
        self.pending
            .values()
            .filter(|trace| trace.undrawn() > 0)
            .map(|trace| {
                let wait = if trace.whole {
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
            links: Vec::new(),
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
            let mut traces = Traces::new(SETTLE, PATIENCE, usize::MAX);
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
        let mut traces = Traces::new(SETTLE, PATIENCE, usize::MAX);
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
        let mut traces = Traces::new(SETTLE, PATIENCE, usize::MAX);
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
        let mut traces = Traces::new(SETTLE, PATIENCE, usize::MAX);
        traces.add(frontend_batch(4), Instant::now());
        assert_eq!(names(&traces.flush()), [["backend call", "incoming call"]]);
        assert!(traces.flush().is_empty());
    }

    /// One trace of one span: a root, whole at once.
    fn lone(trace: u128) -> Vec<SpanRecord> {
        vec![span(trace, 1, None, SpanKind::Server, "incoming call")]
    }

    #[test]
    fn a_full_budget_lets_the_drawn_traces_go_first_and_new_traces_are_still_drawn() {
        let one_span = held_bytes(&lone(1)[0]);
        // Room for 1,000 one-span traces.
        let mut traces = Traces::new(SETTLE, PATIENCE, 1_000 * one_span);
        let start = Instant::now();
        traces.add((1..=1_000).flat_map(lone).collect(), start);
        assert_eq!(traces.ready(start + SETTLE).len(), 1_000);
        // Full of traces already drawn: they make room for the next, and nothing is lost.
        let later = start + SETTLE * 2;
        traces.add((1_001..=2_000).flat_map(lone).collect(), later);
        traces.add(frontend_batch(5_000), later);
        traces.add(backend_batch(5_000), later);
        assert!(traces.held_bytes() <= 1_000 * one_span);
        let ready = traces.ready(later + SETTLE);
        assert!(
            ready.iter().any(|trace| trace.spans.len() == 3),
            "the new trace is drawn"
        );
        let dropped = traces.dropped();
        // Room was made from the drawn traces, then from the oldest not drawn yet.
        assert_eq!(dropped.spans_over_budget, dropped.traces_over_budget);
        assert_eq!(ready.len() as u64 + dropped.traces_over_budget, 1_001);
        assert!(traces.dropped().is_empty(), "counted once");
    }

    #[test]
    fn spans_over_the_budget_or_a_trace_s_limit_are_counted_not_kept() {
        let mut traces = Traces::new(SETTLE, PATIENCE, 64 << 10);
        let now = Instant::now();
        // A hundred open traces (roots not there yet) that keep getting spans.
        for round in 0..100u64 {
            let batch = (0..100u128)
                .map(|trace| span(trace, 10 + round, Some(1), SpanKind::Internal, "work"))
                .collect();
            traces.add(batch, now);
            assert!(traces.held_bytes() <= 64 << 10);
        }
        let dropped = traces.dropped();
        assert!(dropped.spans_over_budget > 5_000, "{dropped:?}");
        assert_eq!(dropped.spans_over_trace_limit, 0);

        let mut traces = Traces::new(SETTLE, PATIENCE, usize::MAX);
        let huge = (0..MAX_SPANS_PER_TRACE as u64 + 10)
            .map(|id| span(1, 10 + id, Some(1), SpanKind::Internal, "work"))
            .collect();
        traces.add(huge, now);
        assert_eq!(traces.dropped().spans_over_trace_limit, 10);
    }
}
