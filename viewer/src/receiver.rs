//! The OTLP/HTTP endpoint an exporter sends its spans to: `POST /v1/traces`, protobuf or JSON,
//! as OTLP/HTTP specifies it; its metrics and log records too, to `/v1/metrics` and `/v1/logs`. It keeps every export it received, with the headers that came
//! with it, and says when a new one arrives. An inbox with a budget refuses exports once what
//! waits in it reaches the budget, with `429 Too Many Requests` and `Retry-After`, which
//! OTLP/HTTP exporters answer by sending again later: a reader that falls behind (a terminal
//! that is not read) slows the senders down instead of growing without end.

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    sync::{
        Arc, Mutex, MutexGuard,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, SystemTime},
};

use axum::{
    Router,
    body::Bytes,
    extract::{FromRequest, Request, State},
    http::{
        StatusCode,
        header::{CONTENT_TYPE, RETRY_AFTER},
    },
    response::{IntoResponse, Response},
    routing::post,
};
use tokio::{
    net::TcpListener,
    sync::{Semaphore, watch},
    task::JoinHandle,
};
use tower_http::timeout::TimeoutLayer;

use crate::{
    otlp::{self, Encoding, Export, Signal},
    signals::{LogRecord, MetricRecord},
    spans::SpanRecord,
};

/// One request an exporter sent: its headers (names in lower case) and what it carried.
#[derive(Debug, Clone)]
pub struct Received {
    /// When it arrived.
    pub at: SystemTime,
    pub headers: BTreeMap<String, String>,
    pub encoding: Encoding,
    pub export: Export,
}

/// Everything received, shared between the endpoint and whoever reads it. Clones share.
#[derive(Clone)]
pub struct Inbox {
    waiting: Arc<Mutex<Waiting>>,
    arrived: Arc<watch::Sender<usize>>,
    /// The most the exports waiting may take, in bytes, as [`Received::held_bytes`] counts.
    budget: usize,
    /// Exports refused since [`Inbox::refused`] was last asked.
    refused: Arc<AtomicU64>,
    /// A turn for each export being read and decoded: [`EXPORTS_AT_ONCE`].
    turns: Arc<Semaphore>,
}

#[derive(Default)]
struct Waiting {
    received: Vec<Received>,
    bytes: usize,
}

impl Default for Inbox {
    /// An inbox that keeps everything: for tests, and runs that read it once at the end.
    fn default() -> Self {
        Inbox::with_budget(usize::MAX)
    }
}

impl Received {
    /// About how many bytes it takes while it waits: its spans (or records), and its headers.
    pub fn held_bytes(&self) -> usize {
        let spans: usize = self
            .export
            .spans
            .iter()
            .map(SpanRecord::held_bytes)
            .sum::<usize>()
            + self
                .export
                .logs
                .iter()
                .map(LogRecord::held_bytes)
                .sum::<usize>()
            + self
                .export
                .metrics
                .iter()
                .map(MetricRecord::held_bytes)
                .sum::<usize>();
        let headers: usize = self
            .headers
            .iter()
            .map(|(name, value)| name.len() + value.len() + 64)
            .sum();
        size_of::<Received>() + spans + headers
    }
}

impl Inbox {
    /// An inbox that refuses exports while those waiting take `budget` bytes or more.
    pub fn with_budget(budget: usize) -> Inbox {
        Inbox {
            waiting: Arc::default(),
            arrived: Arc::new(watch::channel(0).0),
            budget,
            refused: Arc::default(),
            turns: Arc::new(Semaphore::new(EXPORTS_AT_ONCE)),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Waiting> {
        // A panic elsewhere while holding the lock leaves the list as it was: still usable.
        self.waiting
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Every export received so far, oldest first.
    pub fn received(&self) -> Vec<Received> {
        self.lock().received.clone()
    }

    /// Every export received so far, removed from the inbox: for a long-running reader that
    /// must not keep them all.
    pub fn take(&self) -> Vec<Received> {
        let mut waiting = self.lock();
        waiting.bytes = 0;
        std::mem::take(&mut waiting.received)
    }

    /// Every span received so far, in the order they arrived.
    pub fn spans(&self) -> Vec<SpanRecord> {
        let waiting = self.lock();
        waiting
            .received
            .iter()
            .flat_map(|request| request.export.spans.iter().cloned())
            .collect()
    }

    /// Every log record received so far, in the order they arrived.
    pub fn logs(&self) -> Vec<LogRecord> {
        let waiting = self.lock();
        let exports = waiting.received.iter();
        exports
            .flat_map(|request| request.export.logs.iter().cloned())
            .collect()
    }

    /// Every metric export received so far, in the order they arrived: each a metric's points
    /// at one moment.
    pub fn metrics(&self) -> Vec<MetricRecord> {
        let waiting = self.lock();
        let exports = waiting.received.iter();
        exports
            .flat_map(|request| request.export.metrics.iter().cloned())
            .collect()
    }

    /// How many spans are in the inbox: received, and not taken.
    pub fn span_count(&self) -> usize {
        let waiting = self.lock();
        let exports = waiting.received.iter();
        exports.map(|request| request.export.spans.len()).sum()
    }

    /// How many exports were refused, over the budget, since the last call.
    pub fn refused(&self) -> u64 {
        self.refused.swap(0, Ordering::Relaxed)
    }

    /// Whether the exports waiting already fill the budget.
    fn is_full(&self) -> bool {
        self.lock().bytes >= self.budget
    }

    /// Keeps `received`, unless it does not fit the budget; an export is always kept when
    /// nothing waits, however large, so that every export can get in.
    fn deliver(&self, received: Received) -> Result<(), ()> {
        let bytes = received.held_bytes();
        let mut waiting = self.lock();
        if waiting.bytes > 0 && waiting.bytes.saturating_add(bytes) > self.budget {
            return Err(());
        }
        waiting.bytes = waiting.bytes.saturating_add(bytes);
        waiting.received.push(received);
        drop(waiting);
        self.arrived.send_modify(|count| *count += 1);
        Ok(())
    }

    fn refuse(&self) -> Response {
        self.refused.fetch_add(1, Ordering::Relaxed);
        // OTLP/HTTP's answer for "not now": the exporter sends the batch again after the delay.
        (
            StatusCode::TOO_MANY_REQUESTS,
            [(RETRY_AFTER, "1")],
            "the trace viewer is behind: it draws the spans it has first\n",
        )
            .into_response()
    }

    /// A watch on the number of exports received (taken ones included): it changes with each
    /// new one.
    pub fn arrivals(&self) -> watch::Receiver<usize> {
        self.arrived.subscribe()
    }
}

/// How many exports are read and decoded at once: the others wait their turn, holding only
/// their connection, so that what bodies take in memory is bounded (at most this many times
/// axum's 2 MB body limit), however many uploads stall.
pub const EXPORTS_AT_ONCE: usize = 4;
/// How long one export may take, from its headers to its answer, waiting its turn included:
/// an upload that stalls is answered `408 Request Timeout` and its turn goes to the next.
pub const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// The OTLP/HTTP endpoints, `POST /v1/traces`, `/v1/metrics` and `/v1/logs`, delivering into
/// `inbox`.
pub fn router(inbox: Inbox) -> Router {
    Router::new()
        .route(
            Signal::Traces.path(),
            post(|inbox, request| receive(Signal::Traces, inbox, request)),
        )
        .route(
            Signal::Metrics.path(),
            post(|inbox, request| receive(Signal::Metrics, inbox, request)),
        )
        .route(
            Signal::Logs.path(),
            post(|inbox, request| receive(Signal::Logs, inbox, request)),
        )
        .with_state(inbox)
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            EXPORT_TIMEOUT,
        ))
}

/// A receiver running on its own task, for tests and the workshop's runner. Dropping it stops
/// it.
pub struct Receiver {
    address: SocketAddr,
    inbox: Inbox,
    server: JoinHandle<()>,
}

impl Receiver {
    /// Binds `address` (`127.0.0.1:0` for any free port) and starts receiving.
    pub async fn bind(address: &str) -> std::io::Result<Receiver> {
        let listener = TcpListener::bind(address).await?;
        let address = listener.local_addr()?;
        let inbox = Inbox::default();
        let app = router(inbox.clone());
        let server = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                eprintln!("error: the OTLP receiver stopped: {error}");
            }
        });
        Ok(Receiver {
            address,
            inbox,
            server,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The base URL to give an exporter (`OTEL_EXPORTER_OTLP_ENDPOINT`).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    pub fn inbox(&self) -> &Inbox {
        &self.inbox
    }

    /// Every span received so far, in the order they arrived.
    pub fn spans(&self) -> Vec<SpanRecord> {
        self.inbox.spans()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn receive(signal: Signal, State(inbox): State<Inbox>, request: Request) -> Response {
    // The body is read only once it is this export's turn.
    let Ok(_turn) = inbox.turns.acquire().await else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    let headers = request.headers().clone();
    let body = match Bytes::from_request(request, &()).await {
        Ok(body) => body,
        // Too large (413), or cut off by the client.
        Err(rejection) => return rejection.into_response(),
    };
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    // Refused before the work of decoding, when nothing more can be taken anyway.
    if inbox.is_full() {
        return inbox.refuse();
    }
    let Some(encoding) = Encoding::from_content_type(content_type) else {
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send application/x-protobuf or application/json\n",
        )
            .into_response();
    };
    let export = match otlp::decode_signal(signal, &body, encoding) {
        Ok(export) => export,
        Err(message) => return (StatusCode::BAD_REQUEST, format!("{message}\n")).into_response(),
    };
    let headers = headers
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            (name.as_str().to_owned(), value)
        })
        .collect();
    let received = Received {
        at: SystemTime::now(),
        headers,
        encoding,
        export,
    };
    if inbox.deliver(received).is_err() {
        return inbox.refuse();
    }
    // The answer OTLP/HTTP asks for: an empty Export{Trace,Metrics,Logs}ServiceResponse, in the
    // request's encoding. Empty, each of the three is encoded as no bytes at all.
    match encoding {
        Encoding::Protobuf => {
            ([(CONTENT_TYPE, "application/x-protobuf")], Vec::<u8>::new()).into_response()
        }
        Encoding::Json => ([(CONTENT_TYPE, "application/json")], "{}").into_response(),
    }
}
