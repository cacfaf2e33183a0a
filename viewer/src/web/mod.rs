//! The viewer's web page, beside its OTLP port: the traces received, newest first, filtered by
//! service and duration; each trace as a waterfall ([`crate::waterfall`], the book's drawing)
//! whose spans show their attributes, events, links and log records when clicked; and the
//! metric tables, each slow request's trace a click away. The page follows new traces as they
//! come, without a reload.
//!
//! Everything it shows came from the network, so it is held within a memory budget, and every
//! text is escaped ([`pages`]); the answers carry a Content-Security-Policy that lets run only
//! the page's own script, served from here, as is its style sheet: no CDN, nothing fetched
//! from elsewhere, nothing to build.

pub mod pages;

use std::{
    collections::{BTreeMap, HashMap, HashSet, VecDeque},
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use axum::{
    Router,
    extract::{Path, State},
    http::{HeaderValue, StatusCode, Uri, header},
    middleware,
    response::{IntoResponse, Response},
    routing::get,
};
use opentelemetry::trace::{SpanKind, TraceId};
use tokio::net::TcpListener;

use crate::{
    signals::{LogRecord, MetricRecord, last_exports},
    spans::SpanRecord,
};

/// The page's style sheet and script, compiled into the viewer.
const STYLE_SHEET: &str = include_str!("viewer.css");
const SCRIPT: &str = include_str!("viewer.js");

/// The page's port when nothing else is asked for: beside the frontend's 8080, the backend's
/// 8081 and the delay proxy's 8082. The runner's `up` prefers it too.
pub const PORT: u16 = 8083;

/// What the page may load and run: its own script and style sheet, from this address, and
/// nothing else; no inline script, no event handler attribute, no plug-in, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; \
    frame-ancestors 'none'";

/// The connections the viewer keeps on each of its ports, OTLP's and the page's: exporters send
/// a batch every few seconds and a browser asks every second, so one that is silent for longer
/// than that and then some is closed, and a few programs and a browser need only a few.
pub const LIMITS: step_support::Limits = step_support::Limits {
    header_timeout: std::time::Duration::from_secs(10),
    max_connections: 128,
};

/// The log records kept, at most, whatever the budget: the latest.
const MAX_LOGS: usize = 10_000;

/// What the page shows, shared between what receives and what serves.
#[derive(Clone)]
pub struct Store {
    held: Arc<Mutex<Held>>,
}

struct Held {
    traces: HashMap<TraceId, Kept>,
    /// The same traces in the order they came (or last changed), oldest first: the order
    /// they are let go in when the budget is reached.
    by_arrival: BTreeMap<u64, TraceId>,
    arrivals: u64,
    logs: VecDeque<LogRecord>,
    /// The last export of each metric.
    metrics: Vec<MetricRecord>,
    /// What the traces, the log records and the metrics take; and the most each may.
    trace_bytes: usize,
    trace_budget: usize,
    log_bytes: usize,
    log_budget: usize,
    metric_bytes: usize,
    metric_budget: usize,
    /// Changes with every change: the page asks for it to know when to fetch itself again.
    generation: u64,
}

struct Kept {
    /// Shared with the pages being made, which render without holding the store's lock.
    spans: Arc<[SpanRecord]>,
    bytes: usize,
    arrival: u64,
}

impl Store {
    /// A store holding at most about `budget` bytes of telemetry: three quarters for the
    /// traces, the oldest let go first, an eighth for log records, an eighth for metrics.
    pub fn with_budget(budget: usize) -> Store {
        let eighth = budget / 8;
        Store {
            held: Arc::new(Mutex::new(Held {
                traces: HashMap::new(),
                by_arrival: BTreeMap::new(),
                arrivals: 0,
                logs: VecDeque::new(),
                metrics: Vec::new(),
                trace_bytes: 0,
                trace_budget: budget - 2 * eighth,
                log_bytes: 0,
                log_budget: eighth,
                metric_bytes: 0,
                metric_budget: eighth,
                generation: 0,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Held> {
        // Nothing here panics while holding it; if something did, what it holds is still
        // whole enough to show.
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Shows a trace's spans (the trace viewer's [`Ready`](crate::live::Ready)), with those
    /// already shown of the same trace: late spans join it.
    pub fn add_trace(&self, spans: Vec<SpanRecord>) {
        let Some(trace_id) = spans.first().map(|span| span.trace_id) else {
            return;
        };
        let mut held = self.lock();
        let held = &mut *held;
        let mut merged: Vec<SpanRecord> = match held.traces.get(&trace_id) {
            Some(old) => old.spans.to_vec(),
            None => Vec::new(),
        };
        let known: HashSet<_> = merged.iter().map(|span| span.span_id).collect();
        merged.extend(
            spans
                .into_iter()
                .filter(|span| span.trace_id == trace_id && !known.contains(&span.span_id)),
        );
        let bytes: usize = merged.iter().map(SpanRecord::held_bytes).sum();
        // A trace larger than the whole budget is not shown (the terminal still draws it).
        if bytes > held.trace_budget {
            return;
        }
        if let Some(old) = held.traces.remove(&trace_id) {
            held.by_arrival.remove(&old.arrival);
            held.trace_bytes -= old.bytes;
        }
        let spans: Arc<[SpanRecord]> = merged.into();
        held.arrivals += 1;
        let arrival = held.arrivals;
        held.by_arrival.insert(arrival, trace_id);
        held.traces.insert(
            trace_id,
            Kept {
                spans,
                bytes,
                arrival,
            },
        );
        held.trace_bytes += bytes;
        // The oldest go first.
        while held.trace_bytes > held.trace_budget {
            let Some((_, oldest)) = held.by_arrival.pop_first() else {
                break;
            };
            if let Some(gone) = held.traces.remove(&oldest) {
                held.trace_bytes -= gone.bytes;
            }
        }
        held.generation += 1;
    }

    /// Keeps log records, to show under the spans they were written in: the latest, within
    /// the budget.
    pub fn add_logs(&self, logs: impl IntoIterator<Item = LogRecord>) {
        let mut logs = logs.into_iter().peekable();
        if logs.peek().is_none() {
            return;
        }
        let mut held = self.lock();
        for record in logs {
            held.log_bytes += record.held_bytes();
            held.logs.push_back(record);
        }
        while held.logs.len() > MAX_LOGS || held.log_bytes > held.log_budget {
            let Some(oldest) = held.logs.pop_front() else {
                break;
            };
            held.log_bytes -= oldest.held_bytes();
        }
        held.generation += 1;
    }

    /// Keeps the last export of each metric, to draw its table. If they are over their share of
    /// the budget (a sender inventing names), only the newest export's are kept, as many as fit.
    pub fn add_metrics(&self, metrics: &[MetricRecord]) {
        if metrics.is_empty() {
            return;
        }
        let mut held = self.lock();
        let held = &mut *held;
        let mut all = std::mem::take(&mut held.metrics);
        all.extend_from_slice(metrics);
        let mut kept: Vec<MetricRecord> = last_exports(&all).into_iter().cloned().collect();
        let room = held.metric_budget;
        let mut bytes = metric_bytes(&kept);
        if bytes > room {
            kept.clear();
            bytes = 0;
            for metric in metrics {
                if bytes + metric.held_bytes() > room {
                    break;
                }
                bytes += metric.held_bytes();
                kept.push(metric.clone());
            }
        }
        held.metric_bytes = bytes;
        held.metrics = kept;
        held.generation += 1;
    }

    /// What the store holds, in bytes, as its budget counts them.
    pub fn held_bytes(&self) -> usize {
        let held = self.lock();
        held.trace_bytes + held.log_bytes + held.metric_bytes
    }

    /// How many traces it holds.
    pub fn trace_count(&self) -> usize {
        self.lock().traces.len()
    }

    fn generation(&self) -> u64 {
        self.lock().generation
    }
}

fn metric_bytes(metrics: &[MetricRecord]) -> usize {
    metrics.iter().map(MetricRecord::held_bytes).sum()
}

/// The page's addresses: `/` (the traces), `/trace/{id}`, `/metrics`, and what the page loads.
/// Every answer, axum's own included (a 404, a 405), carries the security headers.
pub fn router(store: Store) -> Router {
    Router::new()
        .route("/", get(trace_list))
        .route("/trace/{trace_id}", get(one_trace))
        .route("/metrics", get(metric_tables))
        .route("/generation", get(generation))
        .route("/viewer.css", get(style_sheet))
        .route("/viewer.js", get(script))
        .fallback(not_found)
        .with_state(store)
        .layer(middleware::map_response(secure))
}

/// Serves the page for `store` on `listener`, within [`LIMITS`], for as long as the task that
/// runs it: beside the OTLP port, which handles the shutdown signals.
pub async fn serve(listener: TcpListener, store: Store) {
    step_support::serve_beside(listener, router(store), LIMITS).await;
}

/// The server spans a metric table looks among for the slowest requests, at most: the newest.
const SERVER_SPANS_SEARCHED: usize = 10_000;

/// The traces held, newest first, shared: the pages are made after the lock is let go.
fn snapshot(held: &Held) -> Vec<Arc<[SpanRecord]>> {
    held.by_arrival
        .values()
        .rev()
        .filter_map(|trace_id| held.traces.get(trace_id))
        .map(|kept| kept.spans.clone())
        .collect()
}

/// Makes a page on a thread where blocking is allowed: a page of a large trace takes a while.
async fn render(make: impl FnOnce() -> Response + Send + 'static) -> Response {
    tokio::task::spawn_blocking(make)
        .await
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

async fn trace_list(State(store): State<Store>, uri: Uri) -> Response {
    let filter = pages::Filter::from_query(uri.query().unwrap_or_default());
    let (traces, generation) = {
        let held = store.lock();
        (snapshot(&held), held.generation)
    };
    render(move || html(pages::trace_list(&traces, &filter, generation))).await
}

async fn one_trace(State(store): State<Store>, Path(trace_id): Path<String>) -> Response {
    let wanted = TraceId::from_hex(&trace_id).ok();
    let (spans, traces, logs, generation) = {
        let held = store.lock();
        let spans = wanted
            .and_then(|wanted| held.traces.get(&wanted))
            .map(|kept| kept.spans.clone());
        let logs: Vec<LogRecord> = held
            .logs
            .iter()
            .filter(|record| record.trace_id.is_some() && record.trace_id == wanted)
            .cloned()
            .collect();
        (spans, snapshot(&held), logs, held.generation)
    };
    render(move || {
        let Some(spans) = spans else {
            let page = pages::missing_trace(&trace_id, generation);
            return (StatusCode::NOT_FOUND, html(page)).into_response();
        };
        let trace_id = spans[0].trace_id;
        // The spans of other traces linked to this one's (a job's, step 13), to link back.
        let linked_from: Vec<&SpanRecord> = traces
            .iter()
            .filter(|other| other[0].trace_id != trace_id)
            .flat_map(|other| other.iter())
            .filter(|span| span.links.iter().any(|link| link.trace_id == trace_id))
            .collect();
        html(pages::trace_page(&spans, &logs, &linked_from, generation))
    })
    .await
}

async fn metric_tables(State(store): State<Store>) -> Response {
    let (traces, metrics, generation) = {
        let held = store.lock();
        (snapshot(&held), held.metrics.clone(), held.generation)
    };
    render(move || {
        let server_spans: Vec<SpanRecord> = traces
            .iter()
            .flat_map(|spans| spans.iter())
            .filter(|span| span.kind == SpanKind::Server)
            .take(SERVER_SPANS_SEARCHED)
            .cloned()
            .collect();
        let shown: HashSet<String> = traces
            .iter()
            .map(|spans| spans[0].trace_id.to_string())
            .collect();
        html(pages::metrics_page(
            &metrics,
            &server_spans,
            &|trace_id| shown.contains(trace_id),
            generation,
        ))
    })
    .await
}

async fn generation(State(store): State<Store>) -> Response {
    typed(store.generation().to_string(), "text/plain; charset=utf-8")
}

async fn style_sheet() -> Response {
    typed(STYLE_SHEET, "text/css; charset=utf-8")
}

async fn script() -> Response {
    typed(SCRIPT, "text/javascript; charset=utf-8")
}

async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}

fn typed(body: impl IntoResponse, content_type: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

fn html(page: String) -> Response {
    typed(page, "text/html; charset=utf-8")
}

/// The headers every answer carries: the policy; its type not to be guessed at (a text answer
/// without one is plain text); not to be kept (the page is live); and no referrer sent with a
/// link followed from it.
async fn secure(mut response: Response) -> Response {
    let headers = response.headers_mut();
    if !headers.contains_key(header::CONTENT_TYPE) {
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
    }
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::time::{Duration, SystemTime};

    use opentelemetry::trace::{SpanId, Status};

    use super::*;
    use crate::signals::{MetricKind, Point, PointValue};

    fn span(trace: u128, id: u64, padding: usize) -> SpanRecord {
        SpanRecord {
            service: "load".into(),
            scope: String::new(),
            name: "work".into(),
            kind: SpanKind::Server,
            trace_id: TraceId::from(trace),
            span_id: SpanId::from(id),
            parent_span_id: None,
            status: Status::Unset,
            start: SystemTime::UNIX_EPOCH,
            end: SystemTime::UNIX_EPOCH + Duration::from_millis(5),
            links: Vec::new(),
            attributes: [("padding".to_owned(), "x".repeat(padding))].into(),
            events: Vec::new(),
        }
    }

    #[test]
    fn a_flood_of_traces_keeps_the_store_within_its_budget_and_the_newest_traces() {
        let store = Store::with_budget(1 << 20);
        for trace in 1..=10_000u128 {
            store.add_trace(vec![span(trace, 1, 1_000)]);
            assert!(store.held_bytes() <= 1 << 20);
        }
        let held = store.lock();
        assert!(held.traces.contains_key(&TraceId::from(10_000u128)));
        assert!(!held.traces.contains_key(&TraceId::from(1u128)));
        assert!(held.traces.len() > 100, "{}", held.traces.len());
    }

    #[test]
    fn a_trace_shown_again_with_late_spans_replaces_what_was_shown_of_it() {
        let store = Store::with_budget(1 << 20);
        store.add_trace(vec![span(7, 1, 10)]);
        let before = store.held_bytes();
        store.add_trace(vec![span(7, 1, 10), span(7, 2, 10)]);
        assert_eq!(store.trace_count(), 1);
        assert_eq!(store.held_bytes(), before * 2);
        // A trace larger than the whole budget is not shown, and takes no other's place.
        store.add_trace(vec![span(8, 1, 2 << 20)]);
        assert_eq!(store.trace_count(), 1);
    }

    #[test]
    fn log_records_and_invented_metric_names_stay_within_their_share() {
        let store = Store::with_budget(1 << 20);
        let record = |n: usize| LogRecord {
            service: "load".into(),
            scope: String::new(),
            time: SystemTime::UNIX_EPOCH,
            severity_number: 9,
            severity_text: "INFO".into(),
            body: format!("{n:01000}"),
            attributes: Default::default(),
            trace_id: None,
            span_id: None,
        };
        store.add_logs((0..5_000).map(record));
        assert!(store.held_bytes() <= (1 << 20) / 8);
        let metric = |n: usize| MetricRecord {
            service: "load".into(),
            scope: String::new(),
            name: format!("invented.{n}"),
            unit: String::new(),
            description: "x".repeat(500),
            kind: MetricKind::Gauge,
            points: vec![Point {
                attributes: Default::default(),
                start: SystemTime::UNIX_EPOCH,
                time: SystemTime::UNIX_EPOCH,
                value: PointValue::Number(1.0),
            }],
        };
        for round in 0..50 {
            let export: Vec<MetricRecord> = (0..100).map(|n| metric(round * 100 + n)).collect();
            store.add_metrics(&export);
            assert!(store.held_bytes() <= (1 << 20) / 4);
        }
        assert!(!store.lock().metrics.is_empty());
    }

    #[test]
    fn the_style_sheet_has_the_waterfalls_own_rules_as_the_books_pictures_do() {
        for rule in crate::waterfall::STYLE.lines() {
            assert!(
                STYLE_SHEET.contains(&format!(".waterfall {rule}")),
                "{rule}"
            );
        }
    }

    #[test]
    fn the_filters_read_what_parses_and_leave_out_the_rest() {
        let filter = pages::Filter::from_query("service=back%20end&min_ms=12.5&other=1");
        assert_eq!(filter.service.as_deref(), Some("back end"));
        assert_eq!(filter.min_ms, Some(12.5));
        for bad in [
            "min_ms=-1",
            "min_ms=NaN",
            "min_ms=inf",
            "min_ms=%FF",
            "service=",
        ] {
            assert_eq!(
                pages::Filter::from_query(bad),
                pages::Filter::default(),
                "{bad}"
            );
        }
    }

    #[test]
    fn every_text_is_escaped_for_elements_and_quoted_attributes() {
        assert_eq!(
            crate::markup::escape(r#"<a href="x" title='y'>&amp;</a>"#),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;"
        );
    }
}
