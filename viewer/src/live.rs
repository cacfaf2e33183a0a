//! Spans arrive in batches, from several services, in no particular order: a service exports
//! when its batch is due, and a child span often ends, and is sent, before its parent. This
//! groups them into traces and says when a trace is worth drawing: when it is whole (it has a
//! root, and every span's parent is in it) and nothing new has come for a moment. A trace that
//! never becomes whole (its root is in a service that does not export here) is drawn anyway
//! after a longer wait, and spans that come after a trace was drawn draw it again.

use std::time::{Duration, Instant};

use opentelemetry::trace::TraceId;

use crate::spans::SpanRecord;

/// A trace ready to be drawn.
#[derive(Debug, Clone, PartialEq)]
pub struct Ready {
    pub spans: Vec<SpanRecord>,
    /// How many of these spans were drawn before: 0 the first time, more when late spans came.
    pub drawn_before: usize,
}

struct Pending {
    trace_id: TraceId,
    spans: Vec<SpanRecord>,
    last_arrival: Instant,
    drawn: usize,
}

impl Pending {
    fn is_whole(&self) -> bool {
        let has = |id| self.spans.iter().any(|span| span.span_id == id);
        let roots = self
            .spans
            .iter()
            .filter(|span| span.parent_span_id.is_none())
            .count();
        roots == 1
            && self
                .spans
                .iter()
                .filter_map(|span| span.parent_span_id)
                .all(has)
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

    /// Adds spans that arrived at `now`.
    pub fn add(&mut self, spans: Vec<SpanRecord>, now: Instant) {
        for span in spans {
            match self.pending.iter_mut().find(|t| t.trace_id == span.trace_id) {
                Some(trace) => {
                    trace.last_arrival = now;
                    // The same span sent twice (an exporter's retry) counts once.
                    if !trace.spans.iter().any(|known| known.span_id == span.span_id) {
                        trace.spans.push(span);
                    }
                }
                None => self.pending.push(Pending {
                    trace_id: span.trace_id,
                    spans: vec![span],
                    last_arrival: now,
                    drawn: 0,
                }),
            }
        }
    }

    /// The traces to draw at `now`, oldest first; each is then drawn until more spans come.
    pub fn ready(&mut self, now: Instant) -> Vec<Ready> {
        let (settle, patience, memory) = (self.settle, self.patience, self.memory);
        self.pending
            .retain(|trace| trace.drawn < trace.spans.len() || now - trace.last_arrival < memory);
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
