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
    collections::{BTreeMap, HashMap, VecDeque},
    sync::{Arc, Mutex, MutexGuard, PoisonError},
};

use axum::{
    Router,
    extract::{Path, State},
    http::{HeaderValue, StatusCode, Uri, header},
    response::{IntoResponse, Response},
    routing::get,
};
use opentelemetry::trace::{SpanKind, TraceId};

use crate::{
    signals::{LogRecord, MetricRecord, last_exports},
    spans::SpanRecord,
};

/// The page's style sheet and script, compiled into the viewer.
const STYLE_SHEET: &str = include_str!("viewer.css");
const SCRIPT: &str = include_str!("viewer.js");

/// What the page may load and run: its own script and style sheet, from this address, and
/// nothing else; no inline script, no event handler attribute, no plug-in, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; \
    frame-ancestors 'none'";

/// The connections the page keeps, as the viewer's OTLP port does: a browser opens a few, and
/// one that sends nothing for long is closed.
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
    /// What the traces take, and what the log records and metrics take; and the most each may.
    trace_bytes: usize,
    trace_budget: usize,
    other_bytes: usize,
    other_budget: usize,
    /// Changes with every change: the page asks for it to know when to fetch itself again.
    generation: u64,
}

struct Kept {
    spans: Vec<SpanRecord>,
    bytes: usize,
    arrival: u64,
}

impl Store {
    /// A store holding at most about `budget` bytes of telemetry: three quarters for the
    /// traces, the oldest let go first, a quarter for log records and metrics.
    pub fn with_budget(budget: usize) -> Store {
        let other_budget = budget / 4;
        Store {
            held: Arc::new(Mutex::new(Held {
                traces: HashMap::new(),
                by_arrival: BTreeMap::new(),
                arrivals: 0,
                logs: VecDeque::new(),
                metrics: Vec::new(),
                trace_bytes: 0,
                trace_budget: budget - other_budget,
                other_bytes: 0,
                other_budget,
                generation: 0,
            })),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Held> {
        // Nothing here panics while holding it; if something did, what it holds is still
        // whole enough to show.
        self.held.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Shows a trace: all the spans received of it so far (the trace viewer's
    /// [`Ready`](crate::live::Ready)); it replaces what was shown of the same trace.
    pub fn add_trace(&self, spans: Vec<SpanRecord>) {
        let Some(trace_id) = spans.first().map(|span| span.trace_id) else {
            return;
        };
        let bytes: usize = spans.iter().map(SpanRecord::held_bytes).sum();
        let mut held = self.lock();
        let held = &mut *held;
        if let Some(old) = held.traces.remove(&trace_id) {
            held.by_arrival.remove(&old.arrival);
            held.trace_bytes -= old.bytes;
        }
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
        // The oldest go first; a trace larger than the whole budget is not kept at all.
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
        let mut held = self.lock();
        for record in logs {
            held.other_bytes += record.held_bytes();
            held.logs.push_back(record);
        }
        while held.logs.len() > MAX_LOGS || held.other_bytes > held.other_budget {
            let Some(oldest) = held.logs.pop_front() else {
                break;
            };
            held.other_bytes -= oldest.held_bytes();
        }
        held.generation += 1;
    }

    /// Keeps the last export of each metric, to draw its table. If the metrics alone are over
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
        let log_bytes: usize = held.logs.iter().map(LogRecord::held_bytes).sum();
        let room = held.other_budget.saturating_sub(log_bytes);
        if metric_bytes(&kept) > room {
            kept.clear();
            for metric in metrics {
                if metric_bytes(&kept) + metric.held_bytes() > room {
                    break;
                }
                kept.push(metric.clone());
            }
        }
        held.other_bytes = log_bytes + metric_bytes(&kept);
        held.metrics = kept;
        held.generation += 1;
    }

    /// What the store holds, in bytes, as its budget counts them.
    pub fn held_bytes(&self) -> usize {
        let held = self.lock();
        held.trace_bytes + held.other_bytes
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
}

async fn trace_list(State(store): State<Store>, uri: Uri) -> Response {
    let filter = pages::Filter::from_query(uri.query().unwrap_or_default());
    let held = store.lock();
    let traces: Vec<&[SpanRecord]> = held.traces.values().map(|kept| &kept.spans[..]).collect();
    html(pages::trace_list(&traces, &filter, held.generation))
}

async fn one_trace(State(store): State<Store>, Path(trace_id): Path<String>) -> Response {
    let held = store.lock();
    let kept = TraceId::from_hex(&trace_id)
        .ok()
        .and_then(|trace_id| held.traces.get(&trace_id));
    let Some(kept) = kept else {
        let page = pages::missing_trace(&trace_id, held.generation);
        return (StatusCode::NOT_FOUND, html(page)).into_response();
    };
    let trace_id = kept.spans[0].trace_id;
    let logs: Vec<&LogRecord> = held
        .logs
        .iter()
        .filter(|record| record.trace_id == Some(trace_id))
        .collect();
    // The spans of other traces linked to this one's (a job's, step 13), to link back.
    let linked_from: Vec<&SpanRecord> = held
        .traces
        .values()
        .filter(|other| other.spans[0].trace_id != trace_id)
        .flat_map(|other| &other.spans)
        .filter(|span| span.links.iter().any(|link| link.trace_id == trace_id))
        .collect();
    html(pages::trace_page(
        &kept.spans,
        &logs,
        &linked_from,
        held.generation,
    ))
}

async fn metric_tables(State(store): State<Store>) -> Response {
    let held = store.lock();
    let server_spans: Vec<SpanRecord> = held
        .traces
        .values()
        .flat_map(|kept| &kept.spans)
        .filter(|span| span.kind == SpanKind::Server)
        .cloned()
        .collect();
    let shown = |trace_id: &str| {
        TraceId::from_hex(trace_id).is_ok_and(|trace_id| held.traces.contains_key(&trace_id))
    };
    html(pages::metrics_page(
        &held.metrics,
        &server_spans,
        &shown,
        held.generation,
    ))
}

async fn generation(State(store): State<Store>) -> Response {
    let mut response = store.generation().to_string().into_response();
    secure(&mut response, "text/plain; charset=utf-8");
    response
}

async fn style_sheet() -> Response {
    let mut response = STYLE_SHEET.into_response();
    secure(&mut response, "text/css; charset=utf-8");
    response
}

async fn script() -> Response {
    let mut response = SCRIPT.into_response();
    secure(&mut response, "text/javascript; charset=utf-8");
    response
}

async fn not_found() -> Response {
    let mut response = (StatusCode::NOT_FOUND, "not found\n").into_response();
    secure(&mut response, "text/plain; charset=utf-8");
    response
}

fn html(page: String) -> Response {
    let mut response = page.into_response();
    secure(&mut response, "text/html; charset=utf-8");
    response
}

/// The headers every answer carries: its type, not to be guessed at; the policy; not to be
/// kept (the page is live); and no referrer sent with a link followed from it.
fn secure(response: &mut Response, content_type: &'static str) {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
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
}
