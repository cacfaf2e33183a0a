//! `cargo run -p trace-viewer`: an OTLP/HTTP receiver on 127.0.0.1:4318 (the OTLP default, so
//! step 07 sends here with no configuration) that draws each trace in the terminal once it is
//! complete, and shows it on a web page at http://127.0.0.1:8083/ (beside the frontend's 8080,
//! the backend's 8081 and the delay proxy's 8082). `LISTEN_ADDR` and `VIEWER_PAGE_ADDR` change
//! the addresses. Ctrl-C draws what is left and stops.
//!
//! It takes whatever arrives on its port, so it holds at most `VIEWER_MAX_MEMORY` of spans
//! (64 MiB unless told): a quarter for exports waiting to be sorted into traces, three eighths
//! for the traces being drawn and three eighths for what the web page shows (the program, and
//! the exports being read, take about 48 MiB more); past that, the oldest traces go, with one
//! line a second saying how many. When
//! its terminal does not keep up (a paused terminal, a pipe nobody reads), exports are answered
//! `429 Too Many Requests`, which exporters answer by sending again later.

use std::{
    io::Write,
    time::{Duration, Instant},
};

use step_support::StartupError;
use tokio::sync::{mpsc, oneshot};

use trace_viewer::{
    live::{Dropped, MAX_SPANS_PER_TRACE, Traces},
    receiver::{self, Inbox},
    web::{self, Store},
};

/// The OTLP/HTTP port exporters send to by default.
const DEFAULT_LISTEN_ADDR: &str = "127.0.0.1:4318";
/// The web page's address: loopback only, unless `VIEWER_PAGE_ADDR` says otherwise.
const DEFAULT_PAGE_ADDR: (std::net::Ipv4Addr, u16) = (std::net::Ipv4Addr::LOCALHOST, web::PORT);
/// A whole trace is drawn once nothing has come for it for this long.
const SETTLE: Duration = Duration::from_millis(500);
/// A trace missing its root or a parent is drawn anyway after this long: a batching exporter
/// sends at least every 5 seconds.
const PATIENCE: Duration = Duration::from_secs(6);
/// What the spans held may take unless `VIEWER_MAX_MEMORY` says otherwise.
const DEFAULT_MEMORY: usize = 64 << 20;
/// Once stopped, how long the viewer tries to draw what is left before it gives up on a
/// terminal that does not take it.
const LAST_DRAWING: Duration = Duration::from_secs(2);
/// How often, at most, a line says what was left out.
const REPORT_INTERVAL: Duration = Duration::from_secs(1);

#[tokio::main]
async fn main() {
    let listen_addr =
        step_support::listen_addr(DEFAULT_LISTEN_ADDR).unwrap_or_else(|error| error.exit());
    let budget = memory_budget().unwrap_or_else(|error| error.exit());
    let page_addr = step_support::variable("VIEWER_PAGE_ADDR").unwrap_or_else(|error| error.exit());
    let listener = step_support::bind(&listen_addr)
        .await
        .unwrap_or_else(|error| error.exit());
    let page_listener = bind_page(page_addr.as_deref())
        .await
        .unwrap_or_else(|error| error.exit());
    eprintln!(
        "Each trace is drawn here once it is complete. Exporters send to this address with \
         OTEL_EXPORTER_OTLP_ENDPOINT=http://{} (OTLP over HTTP, protobuf or JSON).",
        listener.address()
    );
    if let Ok(address) = page_listener.local_addr() {
        eprintln!("The traces are on a web page too: http://{address}/");
    }

    let inbox = Inbox::with_budget(budget / 4);
    let store = Store::with_budget(budget / 8 * 3);
    tokio::spawn(web::serve(page_listener, store.clone()));
    let (stdout, written) = spawn_stdout_writer();
    let (stop, stopped) = oneshot::channel();
    let traces = Traces::new(SETTLE, PATIENCE, budget / 8 * 3);
    let drawing = tokio::spawn(draw_traces(
        inbox.clone(),
        traces,
        store,
        budget,
        stdout,
        stopped,
    ));
    step_support::serve_with(listener, receiver::router(inbox), web::LIMITS).await;
    // The receiver has stopped: draw what is left, whole or not, for a little while at most.
    let deadline = tokio::time::Instant::now() + LAST_DRAWING;
    let _ = stop.send(deadline);
    let handed_over = drawing.await.unwrap_or(false);
    // The writer has until the deadline to write what it was handed. If the terminal takes
    // nothing, the program ends anyway: the writer's thread is not waited for.
    if tokio::time::timeout_at(deadline, written).await.is_err() && handed_over {
        eprintln!("warning: stdout is not being read: the last traces may not have been drawn");
    }
}

/// Binds the web page's address: `VIEWER_PAGE_ADDR` if set, which must be free; else
/// [`DEFAULT_PAGE_ADDR`], or any free port if that is taken (by `up`'s page, say): the page
/// is no reason to refuse the traces.
async fn bind_page(asked: Option<&str>) -> Result<tokio::net::TcpListener, StartupError> {
    let Some(address) = asked else {
        if let Ok(listener) = tokio::net::TcpListener::bind(DEFAULT_PAGE_ADDR).await {
            return Ok(listener);
        }
        eprintln!(
            "Port {} is taken: the web page is on a free port instead.",
            web::PORT
        );
        return tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|error| StartupError(format!("cannot open the web page's port: {error}")));
    };
    tokio::net::TcpListener::bind(address)
        .await
        .map_err(|error| {
            let hint = match error.kind() {
                std::io::ErrorKind::AddrInUse => {
                    "; another program is using this port: stop it or pick another"
                }
                std::io::ErrorKind::InvalidInput => {
                    "; expected HOST:PORT, for example 127.0.0.1:8083"
                }
                _ => "",
            };
            StartupError::invalid("VIEWER_PAGE_ADDR", address, format!("{error}{hint}"))
        })
}

/// `VIEWER_MAX_MEMORY`: bytes, or with a unit, `64MiB`, `512KiB`, `1GiB` (or `MB`, `KB`, `GB`,
/// taken as the same powers of two).
fn memory_budget() -> Result<usize, StartupError> {
    let Some(value) = step_support::variable("VIEWER_MAX_MEMORY")? else {
        return Ok(DEFAULT_MEMORY);
    };
    let digits_end = value
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(digits_end);
    let shift = match unit.trim() {
        "" | "B" => Some(0),
        "KiB" | "KB" | "K" => Some(10),
        "MiB" | "MB" | "M" => Some(20),
        "GiB" | "GB" | "G" => Some(30),
        _ => None,
    };
    let bytes = match (number.parse::<usize>(), shift) {
        (Ok(number), Some(shift)) => number.checked_mul(1 << shift),
        _ => None,
    };
    // Below a mebibyte the viewer could not hold one large export's traces.
    match bytes {
        Some(bytes) if bytes >= 1 << 20 => Ok(bytes),
        _ => Err(StartupError::invalid(
            "VIEWER_MAX_MEMORY",
            &value,
            "expected a size of at least 1MiB, such as 64MiB or 1GiB",
        )),
    }
}

/// The thread that writes the drawings to stdout, so that a terminal that does not read never
/// holds up the runtime: the channel fills, and the drawing task waits instead. Dropping the
/// sender ends the thread once it has written what it was given; `written` then answers.
fn spawn_stdout_writer() -> (mpsc::Sender<String>, oneshot::Receiver<()>) {
    let (drawings, mut to_write) = mpsc::channel::<String>(16);
    let (done, written) = oneshot::channel();
    let writer = std::thread::Builder::new()
        .name("stdout".into())
        .spawn(move || {
            let mut stdout = std::io::stdout().lock();
            while let Some(drawing) = to_write.blocking_recv() {
                if stdout
                    .write_all(drawing.as_bytes())
                    .and_then(|()| stdout.flush())
                    .is_err()
                {
                    // Nobody reads any more (a closed pipe): nothing more can be shown.
                    break;
                }
            }
            let _ = done.send(());
        });
    if let Err(error) = writer {
        StartupError(format!(
            "cannot start the thread that writes to stdout: {error}"
        ))
        .exit();
    }
    (drawings, written)
}

/// Sorts what arrives into traces and hands each to `stdout`, and to the web page's `store`, as
/// it becomes ready, until `stopped`; then hands over what is left, until the deadline it
/// carries. Returns whether all of it was handed over.
async fn draw_traces(
    inbox: Inbox,
    mut traces: Traces,
    store: Store,
    budget: usize,
    stdout: mpsc::Sender<String>,
    mut stopped: oneshot::Receiver<tokio::time::Instant>,
) -> bool {
    let mut arrivals = inbox.arrivals();
    let mut report = Report::default();
    loop {
        let next_check = [traces.next_check(), report.due()]
            .into_iter()
            .flatten()
            .min();
        tokio::select! {
            changed = arrivals.changed() => {
                if changed.is_err() {
                    break;
                }
                for received in inbox.take() {
                    store.add_logs(received.export.logs);
                    store.add_metrics(&received.export.metrics);
                    traces.add(received.export.spans, Instant::now());
                }
            }
            _ = sleep_until(next_check) => {}
            deadline = &mut stopped => {
                let deadline = deadline.unwrap_or_else(|_| tokio::time::Instant::now());
                return draw_the_rest(traces, &store, &stdout, deadline).await;
            }
        }
        report.add(traces.dropped(), inbox.refused());
        report.print_if_due(budget);
        for trace in traces.ready(Instant::now()) {
            store.add_trace(trace.spans.clone());
            // Waits while the terminal is behind: meanwhile nothing is taken from the inbox,
            // which fills, and exporters are asked to send again later.
            tokio::select! {
                sent = stdout.send(trace.drawing()) => if sent.is_err() { return false },
                deadline = &mut stopped => {
                    let deadline = deadline.unwrap_or_else(|_| tokio::time::Instant::now());
                    let sent = tokio::time::timeout_at(deadline, stdout.send(trace.drawing()));
                    if !matches!(sent.await, Ok(Ok(()))) {
                        let left = 1 + traces.flush().len();
                        eprintln!("warning: stdout is not being read: {left} traces not drawn");
                        return false;
                    }
                    return draw_the_rest(traces, &store, &stdout, deadline).await;
                }
            }
        }
    }
    true
}

/// Hands every trace not yet drawn to `stdout`, whole or not, until `deadline`; returns whether
/// all were handed over.
async fn draw_the_rest(
    mut traces: Traces,
    store: &Store,
    stdout: &mpsc::Sender<String>,
    deadline: tokio::time::Instant,
) -> bool {
    let rest = traces.flush();
    for trace in &rest {
        store.add_trace(trace.spans.clone());
    }
    let count = rest.len();
    for (handed, trace) in rest.iter().enumerate() {
        match tokio::time::timeout_at(deadline, stdout.send(trace.drawing())).await {
            Ok(Ok(())) => {}
            _ => {
                eprintln!(
                    "warning: stdout is not being read: {} of the last {count} traces not drawn",
                    count - handed
                );
                return false;
            }
        }
    }
    true
}

/// What was left out, said at most once every [`REPORT_INTERVAL`]: one line, however much.
#[derive(Default)]
struct Report {
    dropped: Dropped,
    refused: u64,
    last: Option<Instant>,
}

impl Report {
    fn add(&mut self, dropped: Dropped, refused: u64) {
        self.dropped.spans_over_budget += dropped.spans_over_budget;
        self.dropped.traces_over_budget += dropped.traces_over_budget;
        self.dropped.spans_over_trace_limit += dropped.spans_over_trace_limit;
        self.refused += refused;
    }

    /// When the next line may be printed, if there is something to say.
    fn due(&self) -> Option<Instant> {
        if self.dropped.is_empty() && self.refused == 0 {
            return None;
        }
        Some(
            self.last
                .map_or_else(Instant::now, |last| last + REPORT_INTERVAL),
        )
    }

    fn print_if_due(&mut self, budget: usize) {
        match self.due() {
            Some(due) if due <= Instant::now() => {}
            _ => return,
        }
        let mut parts = Vec::new();
        let dropped = self.dropped;
        if dropped.spans_over_budget > 0 {
            parts.push(format!(
                "{} spans of {} traces not drawn, the oldest, to stay within VIEWER_MAX_MEMORY \
                 ({} MiB)",
                dropped.spans_over_budget,
                dropped.traces_over_budget,
                budget >> 20
            ));
        }
        if dropped.spans_over_trace_limit > 0 {
            parts.push(format!(
                "{} spans left out of traces that had {MAX_SPANS_PER_TRACE} already",
                dropped.spans_over_trace_limit
            ));
        }
        if self.refused > 0 {
            parts.push(format!(
                "{} exports answered 429 (send later): the terminal is not keeping up",
                self.refused
            ));
        }
        eprintln!("warning: {}", parts.join("; "));
        *self = Report {
            last: Some(Instant::now()),
            ..Report::default()
        };
    }
}

async fn sleep_until(moment: Option<Instant>) {
    match moment {
        Some(moment) => tokio::time::sleep_until(moment.into()).await,
        None => std::future::pending().await,
    }
}
