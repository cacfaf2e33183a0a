//! `cargo run -p workshop up NN`: one step in one terminal. Builds the step's backend and
//! frontend (the attendee's exercise, or with `--solution` the step's own), starts them with the
//! trace viewer (and the delay proxy when `DELAY_MS` is set), says where each listens and the
//! one `curl` to try, then shows each program's log lines as they come, labelled, and draws each
//! trace once it is complete. Ctrl-C stops them all with SIGTERM, frontend first, and shows what
//! they flushed on the way out.

use std::{
    collections::VecDeque,
    net::TcpListener,
    time::{Duration, Instant},
};

use trace_viewer::{
    live::Traces,
    receiver::{Received, Receiver},
    tables,
    terminal::printable,
    web::{self, Store},
};

use crate::{
    exercises,
    exercises::check,
    harness::process::{self, Exited, Service},
    spans::SpanRecord,
    steps::Step,
};

/// The frontend's port when none is asked for and it is free: the one the book's `curl` uses.
pub const FRONTEND_PORT: u16 = 8080;
/// The backend's port when none is asked for and it is free: the one the book's `curl -H ...`
/// experiments use.
pub const BACKEND_PORT: u16 = 8081;

/// The trace viewer's web page's port when it is free: the viewer's own default.
pub const VIEWER_PAGE_PORT: u16 = trace_viewer::web::PORT;

/// A trace is drawn once nothing has come for it for this long (the viewer's own setting).
const SETTLE: Duration = Duration::from_millis(500);
/// A trace missing its root or a parent is drawn anyway after this long.
const PATIENCE: Duration = Duration::from_secs(6);
/// What the traces held may take: far more than a workshop's requests make.
const BUDGET: usize = 64 << 20;
/// How often the terminal is brought up to date with what the programs logged and sent.
const TICK: Duration = Duration::from_millis(100);
/// The server spans kept for the metric tables' "slowest" lines, and the log records kept to be
/// drawn under their spans: the latest this many of each.
const RECENT: usize = 10_000;

/// A port for one program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Port {
    /// This one if it is free, else any free port (the defaults, 8080 and 8081).
    Preferably(u16),
    /// Asked for on the command line: this one, or an error if it is taken (0: any free port).
    Exactly(u16),
}

/// What `up` was asked to run.
pub struct Up {
    pub step: &'static Step,
    /// The step's own programs rather than the attendee's exercise.
    pub solution: bool,
    pub frontend_port: Port,
    pub backend_port: Port,
    /// The trace viewer's web page's.
    pub viewer_port: Port,
    /// Also shows what the programs print on stdout as they print it (steps 02 to 05 print
    /// their spans there, in the stdout exporter's own words).
    pub raw: bool,
}

/// Why `up` stopped with an error.
#[derive(Debug)]
pub enum Failure {
    /// Something the attendee can fix before starting: a port taken (exit code 2).
    Setup(String),
    /// The programs did not build, start or stop as they should (exit code 1).
    Run(String),
}

/// One program `up` runs.
struct Running {
    service: Service,
    view: View,
}

/// How much of a program's output is shown already.
struct View {
    /// `frontend`, `backend`, `proxy`: the label on its lines.
    label: &'static str,
    /// Bytes of stderr shown already.
    shown: usize,
    /// Spans read from its stdout already (steps 02 to 06 print their spans).
    spans_read: usize,
    /// Whether its spans are on stdout, to be read from there.
    prints_spans: bool,
    /// Bytes of stdout shown already, when it is shown as it is (`--raw`).
    shown_stdout: Option<usize>,
}

impl Up {
    pub async fn run(self) -> Result<(), Failure> {
        let step = self.step;
        let exercise = exercises::find(step.number).ok().filter(|_| !self.solution);
        let [frontend, backend] = match &exercise {
            Some(exercise) => check::exercise_programs(exercise),
            None => [step.frontend(), step.backend()],
        };
        // Checked before anything is built: a taken port is the attendee's to fix.
        let backend_addr = listen_addr(self.backend_port, "backend", "--backend-port")?;
        let frontend_addr = listen_addr(self.frontend_port, "frontend", "--port")?;
        // The web page shows the spans this terminal draws: none when they go elsewhere.
        let own_endpoint = std::env::vars().any(|(name, _)| {
            name == "OTEL_EXPORTER_OTLP_ENDPOINT" || name == "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
        });
        let page_addr =
            match (step.frontend_traced || step.backend_traced) && !(step.otlp && own_endpoint) {
                true => Some(listen_addr(
                    self.viewer_port,
                    "trace viewer's page",
                    "--viewer-port",
                )?),
                false => None,
            };
        let delay = std::env::var("DELAY_MS").ok();

        println!("Step {}: {}", step.number, step.title);
        match &exercise {
            Some(exercise) => println!(
                "Running your exercise, {}/ (`--solution` runs the step's own code).",
                exercise.folder()
            ),
            None if self.solution => println!("Running the step's own code, the solution."),
            None => println!(
                "Step {} is not an exercise: running its own code.",
                step.number
            ),
        }
        println!("Building with cargo...");
        let mut packages = vec![frontend.clone(), backend.clone()];
        if delay.is_some() {
            packages.push(process::DELAY_PROXY.to_owned());
        }
        tokio::task::spawn_blocking(move || process::build(&packages, true))
            .await
            .map_err(|error| Failure::Run(error.to_string()))?
            .map_err(|error| match &exercise {
                Some(_) => Failure::Run(format!(
                    "{error}: your exercise does not compile yet (cargo's errors are above)"
                )),
                None => Failure::Run(error),
            })?;

        // The variables the chapters teach (OTEL_*, RUST_LOG, BACKEND_WORK_MS, ...) pass
        // through; the harness removes the OTEL_ ones from a test's programs, so they are
        // given back here.
        let passed: Vec<(String, String)> = std::env::vars()
            .filter(|(name, _)| process::is_scrubbed(name))
            .filter(|(name, _)| name != "LISTEN_ADDR" && name != "BACKEND_URL")
            .collect();
        let viewer = match step.otlp && !own_endpoint {
            true => Some(Receiver::bind("127.0.0.1:0").await.map_err(|error| {
                Failure::Run(format!("cannot start the trace viewer: {error}"))
            })?),
            false => None,
        };
        let endpoint = viewer.as_ref().map(Receiver::endpoint);
        let page = match &page_addr {
            Some(address) => Some(Page::start(address, self.viewer_port).await?),
            None => None,
        };
        let mut env: Vec<(&str, &str)> = passed
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect();
        if let Some(endpoint) = &endpoint {
            env.push(("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint));
        }

        let mut running = start_all(
            step,
            [&frontend, &backend],
            [&frontend_addr, &backend_addr],
            &env,
            delay.as_deref(),
        )
        .await?;
        if self.raw {
            for program in &mut running {
                program.view.shown_stdout = Some(0);
            }
        }
        for program in &running {
            let pid = program
                .service
                .pid()
                .map_or(String::new(), |pid| format!(" (pid {pid})"));
            println!(
                "{:<8}  listens on {}{pid}",
                program.view.label,
                program.service.url()
            );
        }
        match (&endpoint, step.otlp) {
            (Some(endpoint), _) => println!(
                "{:<8}  takes OTLP at {endpoint}, and draws each trace below once it is complete",
                "viewer"
            ),
            (None, true) => println!(
                "Your OTEL_EXPORTER_OTLP_ENDPOINT is set: the spans go there, not to this terminal."
            ),
            (None, false) if step.frontend_traced || step.backend_traced => println!(
                "Their spans, printed to stdout, are drawn below once each trace is complete."
            ),
            (None, false) => {}
        }
        if let Some(page) = &page {
            println!("{:<8}  shows them on a web page too: {}", "page", page.url);
        }
        if let Some(delay) = &delay {
            println!("The proxy holds every byte {delay} ms each way (DELAY_MS).");
        }
        let frontend_url = running
            .iter()
            .find(|program| program.view.label == "frontend")
            .map(|program| program.service.url())
            .unwrap_or_default();
        println!("\nIn another terminal:\n\n  curl {frontend_url}\n");
        println!("Ctrl-C here stops them all.\n");

        let mut traces = Traces::new(SETTLE, PATIENCE, BUDGET / 2);
        let mut signals = OtherSignals::default();
        let mut clean = true;
        let stop = stop_signal();
        tokio::pin!(stop);
        let mut tick = tokio::time::interval(TICK);
        while !running.is_empty() {
            tokio::select! {
                _ = &mut stop => break,
                _ = tick.tick() => {}
            }
            let mut index = 0;
            while index < running.len() {
                let program = &mut running[index];
                program.view.show_new_log(&program.service.stderr());
                let stdout = program.service.stdout();
                program.view.show_new_stdout(&stdout);
                traces.add(program.view.new_spans(&stdout), Instant::now());
                // Stopped from elsewhere (`kill PID`, as a chapter's experiment does), or
                // failed: the others keep running, as they would in terminals of their own.
                if program.service.exit_status().is_some() {
                    let program = running.remove(index);
                    clean &= finish(program, &mut traces).await?;
                    if !running.is_empty() {
                        println!("The others keep running; Ctrl-C stops them.");
                    }
                } else {
                    index += 1;
                }
            }
            if let Some(viewer) = &viewer {
                for received in viewer.inbox().take() {
                    signals.add(&received, page.as_ref());
                    traces.add(received.export.spans, Instant::now());
                }
            }
            for trace in traces.ready(Instant::now()) {
                print!("{}", trace.drawing_with_logs(signals.logs()));
                if let Some(page) = &page {
                    page.store.add_trace(trace.spans);
                }
            }
            signals.print_new_metrics();
        }

        if !running.is_empty() {
            println!("\nStopping them with SIGTERM, the frontend first...");
        }
        // Frontend, proxy, backend: each stops once the requests it is answering are done.
        running.reverse();
        for program in running {
            clean &= finish(program, &mut traces).await?;
        }
        // Each program has exited: what it sent on the way out has arrived.
        if let Some(viewer) = &viewer {
            for received in viewer.inbox().take() {
                signals.add(&received, page.as_ref());
                traces.add(received.export.spans, Instant::now());
            }
        }
        let rest = traces.flush();
        if !rest.is_empty() || signals.has_new_metrics() {
            println!("\nWhat they sent on the way out:\n");
        }
        for trace in rest {
            print!("{}", trace.drawing_with_logs(signals.logs()));
            if let Some(page) = &page {
                page.store.add_trace(trace.spans);
            }
        }
        signals.print_new_metrics();
        match clean {
            true => Ok(()),
            false => Err(Failure::Run("a program did not exit cleanly".into())),
        }
    }
}

/// Stops `program` with SIGTERM (unless it has exited already), shows what it logged and
/// printed on the way out, takes the spans it printed, and says how it exited; returns whether
/// it exited cleanly.
async fn finish(program: Running, traces: &mut Traces) -> Result<bool, Failure> {
    let Running { service, mut view } = program;
    let label = view.label;
    let exited = service
        .stop()
        .await
        .map_err(|error| Failure::Run(format!("the {label}: {error}")))?;
    view.show_new_log(&exited.stderr);
    view.show_new_stdout(&exited.stdout);
    traces.add(view.new_spans(&exited.stdout), Instant::now());
    println!("{label:<8}  exited ({})", exited.status);
    report_unreadable_stdout(&view, &exited);
    Ok(exited.status.success())
}

/// Starts the backend, the delay proxy in front of it if `delay` is set, and the frontend
/// calling the one or the other; each in a process group of its own, so that Ctrl-C reaches only
/// the runner, which stops them in order. Returned backend first.
async fn start_all(
    step: &Step,
    [frontend, backend]: [&str; 2],
    [frontend_addr, backend_addr]: [&str; 2],
    env: &[(&str, &str)],
    delay: Option<&str>,
) -> Result<Vec<Running>, Failure> {
    let mut running = Vec::new();
    let mut backend_env = env.to_vec();
    backend_env.push(("LISTEN_ADDR", backend_addr));
    let service = Service::start_in_own_group(backend, &backend_env)
        .await
        .map_err(Failure::Run)?;
    let mut backend_url = service.url();
    running.push(Running::new(
        "backend",
        service,
        step.backend_traced && !step.otlp,
    ));

    if delay.is_some() {
        let upstream = running[0].service.address().to_string();
        let proxy_env = [("UPSTREAM_ADDR", upstream.as_str())];
        match Service::start_in_own_group(process::DELAY_PROXY, &proxy_env).await {
            Ok(proxy) => {
                backend_url = proxy.url();
                running.push(Running::new("proxy", proxy, false));
            }
            Err(error) => {
                stop_quietly(running).await;
                return Err(Failure::Run(error));
            }
        }
    }

    let mut frontend_env = env.to_vec();
    frontend_env.push(("LISTEN_ADDR", frontend_addr));
    frontend_env.push(("BACKEND_URL", &backend_url));
    match Service::start_in_own_group(frontend, &frontend_env).await {
        Ok(service) => {
            running.push(Running::new(
                "frontend",
                service,
                step.frontend_traced && !step.otlp,
            ));
            Ok(running)
        }
        Err(error) => {
            stop_quietly(running).await;
            Err(Failure::Run(error))
        }
    }
}

async fn stop_quietly(running: Vec<Running>) {
    for program in running.into_iter().rev() {
        let _ = program.service.stop().await;
    }
}

impl Running {
    fn new(label: &'static str, service: Service, prints_spans: bool) -> Running {
        let view = View {
            label,
            shown: 0,
            spans_read: 0,
            prints_spans,
            shown_stdout: None,
        };
        Running { service, view }
    }
}

impl View {
    /// Shows the lines of `stderr` (all it has written so far) not shown yet, labelled `|`.
    fn show_new_log(&mut self, stderr: &str) {
        self.shown += show_new_lines(self.label, '|', stderr, self.shown);
    }

    /// With `--raw`, shows the lines of `stdout` not shown yet, labelled `>`.
    fn show_new_stdout(&mut self, stdout: &str) {
        if let Some(shown) = &mut self.shown_stdout {
            *shown += show_new_lines(self.label, '>', stdout, *shown);
        }
    }

    /// The spans in `stdout` (all the program has printed so far) not read yet. Printed spans
    /// are read once the output parses whole: a span half written waits for the next tick.
    fn new_spans(&mut self, stdout: &str) -> Vec<SpanRecord> {
        if !self.prints_spans || stdout.is_empty() {
            return Vec::new();
        }
        match crate::harness::stdout::parse(stdout) {
            Ok(spans) if spans.len() > self.spans_read => {
                let new = spans[self.spans_read..].to_vec();
                self.spans_read = spans.len();
                new
            }
            _ => Vec::new(),
        }
    }
}

/// Shows the whole lines of `text` after its first `shown` bytes, each after `label` and
/// `mark`; returns how many bytes that was (a line not ended yet waits for its end).
fn show_new_lines(label: &str, mark: char, text: &str, shown: usize) -> usize {
    let Some(new) = text.get(shown..) else {
        return 0;
    };
    let Some(end) = new.rfind('\n') else {
        return 0;
    };
    for line in new[..end].lines() {
        // What a program prints may hold what a caller sent it: shown, never acted on.
        println!("{label:<8} {mark} {}", printable(line));
    }
    end + 1
}

/// Says so when a program printed something on stdout that is not a span (an exercise's
/// `println!`, say), since nothing of it was drawn.
fn report_unreadable_stdout(program: &View, exited: &Exited) {
    if !program.prints_spans {
        if program.shown_stdout.is_none() && !exited.stdout.trim().is_empty() {
            println!(
                "{:<8} | (on stdout) {}",
                program.label,
                printable(exited.stdout.trim())
            );
        }
        return;
    }
    if let Err(problem) = crate::harness::stdout::parse(&exited.stdout) {
        println!(
            "{:<8}  printed something on stdout that is not a span, so not all was drawn: {}",
            program.label,
            printable(&problem)
        );
    }
}

/// The address a program is to listen on for `port`; a taken port asked for is an error that
/// says who to ask.
fn listen_addr(port: Port, who: &str, option: &str) -> Result<String, Failure> {
    match port {
        Port::Exactly(0) => Ok("127.0.0.1:0".into()),
        Port::Exactly(number) if is_free(number) => Ok(format!("127.0.0.1:{number}")),
        Port::Exactly(number) => Err(Failure::Setup(format!(
            "port {number}, asked for the {who}, is taken: `lsof -i :{number}` shows which \
             program holds it; stop that one, or choose another with `{option} PORT` (0: any \
             free port)"
        ))),
        Port::Preferably(number) if is_free(number) => Ok(format!("127.0.0.1:{number}")),
        Port::Preferably(number) => {
            println!("Port {number} is taken, so the {who} listens on a free port instead.");
            Ok("127.0.0.1:0".into())
        }
    }
}

/// Whether nothing listens on `port` of the loopback address (checked by binding it, and
/// letting go at once).
pub fn is_free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// Resolves on Ctrl-C, or on SIGTERM or SIGHUP (the terminal closed): each stops the programs
/// the same way.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let kinds = [
            SignalKind::interrupt(),
            SignalKind::terminate(),
            SignalKind::hangup(),
        ];
        let mut streams = Vec::new();
        for kind in kinds {
            match signal(kind) {
                Ok(stream) => streams.push(stream),
                Err(error) => eprintln!("warning: cannot watch for a signal: {error}"),
            }
        }
        if streams.is_empty() {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
        let waits = streams.iter_mut().map(|stream| Box::pin(stream.recv()));
        futures_util::future::select_all(waits).await;
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// What the programs send besides spans: the metrics received since they were last drawn, the
/// latest server spans, for the tables' slowest requests, and the latest log records, drawn
/// under their spans.
#[derive(Default)]
struct OtherSignals {
    new: Vec<trace_viewer::signals::MetricRecord>,
    server_spans: VecDeque<SpanRecord>,
    logs: VecDeque<trace_viewer::signals::LogRecord>,
}

impl OtherSignals {
    /// Keeps what `received` holds besides spans, and hands it to the web `page` too.
    fn add(&mut self, received: &Received, page: Option<&Page>) {
        if let Some(page) = page {
            page.store.add_logs(received.export.logs.iter().cloned());
            page.store.add_metrics(&received.export.metrics);
        }
        self.new.extend(received.export.metrics.iter().cloned());
        let server_spans = received
            .export
            .spans
            .iter()
            .filter(|span| span.kind == opentelemetry::trace::SpanKind::Server);
        keep_latest(&mut self.server_spans, server_spans.cloned());
        keep_latest(&mut self.logs, received.export.logs.iter().cloned());
    }

    /// The latest log records, in one slice.
    fn logs(&mut self) -> &[trace_viewer::signals::LogRecord] {
        self.logs.make_contiguous()
    }

    fn has_new_metrics(&self) -> bool {
        !self.new.is_empty()
    }

    /// Draws the metrics that came since the last call, if any.
    fn print_new_metrics(&mut self) {
        if self.new.is_empty() {
            return;
        }
        let spans: Vec<SpanRecord> = self.server_spans.iter().cloned().collect();
        println!("{}", tables::render_metrics(&self.new, &spans));
        self.new.clear();
    }
}

/// The trace viewer's web page, served while `up` runs; it shows each trace this terminal draws.
struct Page {
    store: Store,
    url: String,
    server: tokio::task::JoinHandle<()>,
}

impl Page {
    /// The page at `address`, checked free before the build; if `port` was only preferred and
    /// something took it meanwhile (another `up`, a viewer), on a free port instead.
    async fn start(address: &str, port: Port) -> Result<Page, Failure> {
        let listener = match tokio::net::TcpListener::bind(address).await {
            Err(error)
                if error.kind() == std::io::ErrorKind::AddrInUse
                    && matches!(port, Port::Preferably(_)) =>
            {
                println!(
                    "{address} was taken while building, so the trace viewer's page listens \
                     on a free port instead."
                );
                tokio::net::TcpListener::bind("127.0.0.1:0").await
            }
            bound => bound,
        }
        .and_then(|listener| Ok((listener.local_addr()?, listener)));
        let (bound, listener) = listener.map_err(|error| {
            Failure::Run(format!("cannot start the trace viewer's page: {error}"))
        })?;
        // The terminal's traces and the page's share one budget, as in the viewer.
        let store = Store::with_budget(BUDGET / 2);
        let server = tokio::spawn(web::serve(listener, store.clone()));
        Ok(Page {
            store,
            url: format!("http://{bound}/"),
            server,
        })
    }
}

impl Drop for Page {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Adds `items` to `kept`, keeping only the latest [`RECENT`].
fn keep_latest<T>(kept: &mut VecDeque<T>, items: impl Iterator<Item = T>) {
    for item in items {
        if kept.len() == RECENT {
            kept.pop_front();
        }
        kept.push_back(item);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_preferred_page_port_taken_after_the_check_gives_way_and_one_asked_for_does_not() {
        // Taken by someone else after `listen_addr` found it free.
        let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = holder.local_addr().unwrap().port();
        let address = format!("127.0.0.1:{port}");

        let page = Page::start(&address, Port::Preferably(port)).await.unwrap();
        let moved_to: std::net::SocketAddr = page
            .url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .unwrap();
        assert_ne!(moved_to.port(), port);
        assert!(moved_to.ip().is_loopback());
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let answer = client.get(&page.url).send().await.unwrap();
        assert_eq!(answer.status(), 200);

        match Page::start(&address, Port::Exactly(port)).await {
            Err(Failure::Run(message)) => assert!(
                message.starts_with("cannot start the trace viewer's page:"),
                "{message}"
            ),
            Err(failure) => panic!("{failure:?}"),
            Ok(page) => panic!("started on a taken port: {}", page.url),
        }
    }
}
