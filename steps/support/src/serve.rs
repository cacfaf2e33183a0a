//! Binding the port and serving until SIGINT or SIGTERM, with the `listening on` line that
//! scripts and tests wait for.

use std::{
    future::Future,
    io,
    net::SocketAddr,
    sync::{
        Arc, OnceLock,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant},
};

use axum::Router;
use hyper::{Request, body::Incoming, server::conn::http1};
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
    service::TowerToHyperService,
};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::mpsc,
    task::{AbortHandle, JoinSet},
};
use tower::ServiceExt;

use crate::StartupError;

/// From the first SIGINT or SIGTERM, the whole shutdown takes at most this long: the requests in
/// flight finish (for [`SHUTDOWN_GRACE`] at most), and the spans are flushed in what is left
/// ([`shutdown_time_left`]). Less than the 10 s that `docker stop` and Kubernetes wait before
/// they kill, whatever the exporter's own timeout says.
pub const SHUTDOWN_BUDGET: Duration = Duration::from_secs(9);

/// After the first SIGINT or SIGTERM, the requests in flight have this long to finish: longer
/// than the frontend's default backend timeout (5 s), and leaving at least 3 s of
/// [`SHUTDOWN_BUDGET`] to flush the spans. Then the connections still open are dropped: a
/// client that never finishes its request cannot keep the program, and its spans, from
/// shutting down.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(6);

/// When the first SIGINT or SIGTERM came, once it has.
static STOPPING_SINCE: OnceLock<Instant> = OnceLock::new();

/// What is left of [`SHUTDOWN_BUDGET`] since the first SIGINT or SIGTERM (all of it before
/// one came): how long the spans' flush may take.
pub fn shutdown_time_left() -> Duration {
    let since = STOPPING_SINCE
        .get()
        .map_or(Duration::ZERO, Instant::elapsed);
    SHUTDOWN_BUDGET.saturating_sub(since)
}

/// What one client may hold of a server: a stranger on the network must not be able to keep
/// its connections, or its descriptors, to itself.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// How long a connection may take to send a request's headers, and may stay idle between
    /// two requests, before it is closed (hyper's `header_read_timeout`): a client that sends a
    /// byte a second, or nothing, is not kept.
    pub header_timeout: Duration,
    /// At most this many connections are open: one more closes the one idle longest (no
    /// request answered on it for the longest time), most likely a client holding it to keep
    /// others out.
    pub max_connections: usize,
}

impl Limits {
    /// The steps': hyper's default header timeout, and room for any load the tests make.
    pub const DEFAULT: Limits = Limits {
        header_timeout: Duration::from_secs(30),
        max_connections: 1024,
    };
}

/// A bound port, ready to serve, already listening for the shutdown signals.
pub struct Listener {
    tcp: TcpListener,
    address: SocketAddr,
    signals: ShutdownSignals,
}

/// Binds `LISTEN_ADDR`. An address that does not parse or is already taken is a
/// [`StartupError`]: the program cannot do its job, and the reader has something to fix.
pub async fn bind(listen_addr: &str) -> Result<Listener, StartupError> {
    let tcp = TcpListener::bind(listen_addr).await.map_err(|error| {
        let hint = match error.kind() {
            io::ErrorKind::InvalidInput => "; expected HOST:PORT, for example 127.0.0.1:8080",
            io::ErrorKind::AddrInUse => {
                "; another program is using this port: stop it or pick another"
            }
            _ => "",
        };
        StartupError::invalid("LISTEN_ADDR", listen_addr, format!("{error}{hint}"))
    })?;
    let address = tcp
        .local_addr()
        .map_err(|error| StartupError::invalid("LISTEN_ADDR", listen_addr, error))?;
    // Listen for the signals before announcing the address: a script that sends SIGTERM as
    // soon as it reads `listening on` must get a graceful shutdown, not the default of dying.
    let signals = ShutdownSignals::listen()
        .map_err(|error| StartupError(format!("cannot listen for SIGINT and SIGTERM: {error}")))?;
    Ok(Listener {
        tcp,
        address,
        signals,
    })
}

impl Listener {
    /// The address bound: with port `0`, the port the system picked.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Runs `work` (start-up that may take a while, such as connecting to an exporter), unless
    /// SIGINT or SIGTERM comes first: then the program stops at once. The signals are this
    /// program's from [`bind`] on, so without this they would wait for [`serve`].
    pub async fn unless_stopped<T>(&mut self, work: impl Future<Output = T>) -> T {
        tokio::select! {
            done = work => done,
            name = self.signals.next() => {
                eprintln!("{name} received while starting: stopping");
                std::process::exit(0)
            }
        }
    }

    /// Prints the `listening on` line that scripts and tests wait for: ready for connections.
    pub fn announce(&self) {
        eprintln!("listening on http://{}", self.address);
    }

    /// The next connection, or `None` once SIGINT or SIGTERM has come: for a program that
    /// handles TCP connections itself rather than serving a router (the delay proxy). A failed
    /// accept is handled as [`serve`] handles it: waited out, not returned.
    pub async fn accept(&mut self) -> Option<TcpStream> {
        loop {
            tokio::select! {
                accepted = self.tcp.accept() => match accepted {
                    Ok((stream, _)) => return Some(stream),
                    Err(error) => accept_failed(error).await,
                },
                name = self.signals.next() => {
                    eprintln!("{name} received: stopping");
                    return None;
                }
            }
        }
    }
}

/// Serves `router` until SIGINT (Ctrl-C) or SIGTERM. Then it stops accepting connections and
/// lets the requests in flight finish, for at most [`SHUTDOWN_GRACE`], or until a second
/// signal, before it returns. The caller flushes its spans afterwards; one more signal while it
/// does ends the program at once, without them.
pub async fn serve(listener: Listener, router: Router) {
    serve_with(listener, router, Limits::DEFAULT).await;
}

/// [`serve`], with the [`Limits`] given.
pub async fn serve_with(listener: Listener, router: Router, limits: Limits) {
    listener.announce();
    let (names, mut signals) = mpsc::unbounded_channel();
    tokio::spawn(listener.signals.forward(names));
    serve_until(listener.tcp, router, &mut signals, SHUTDOWN_GRACE, limits).await;
    tokio::spawn(async move {
        let name = next(&mut signals).await;
        eprintln!("{name} received again: stopping now, without the spans not yet exported");
        std::process::exit(1)
    });
}

/// Serves `router` on `tcp`, within `limits`, for as long as the task that runs it: a second
/// port beside the one [`serve_with`] serves, which handles the shutdown signals (the trace
/// viewer's web page beside its OTLP port). Nothing is announced.
pub async fn serve_beside(tcp: TcpListener, router: Router, limits: Limits) {
    // No sender: no signal ever comes this way.
    let (_, mut no_signals) = mpsc::unbounded_channel();
    serve_until(tcp, router, &mut no_signals, SHUTDOWN_GRACE, limits).await;
}

/// [`serve`], with the signals' names arriving on `signals` and the grace period given.
///
/// Each connection is served by a task of its own, kept here, so that a stop that does not wait
/// for the requests in flight (the grace period over, or a second signal) cuts them all before
/// it returns. axum's own `serve` leaves them running while the caller flushes its spans, and a
/// request could then still be answered, a 502 for instance, as the runtime tears down the
/// backend's connection.
async fn serve_until(
    tcp: TcpListener,
    router: Router,
    signals: &mut mpsc::UnboundedReceiver<&'static str>,
    grace: Duration,
    limits: Limits,
) {
    let mut connections = JoinSet::new();
    // The same connections, to close the least recently active when there are too many.
    let mut open: Vec<Open> = Vec::new();
    let started = Instant::now();
    let mut last_warned: Option<Instant> = None;
    let graceful = GracefulShutdown::new();
    let name = loop {
        tokio::select! {
            accepted = tcp.accept() => match accepted {
                Ok((stream, _)) => {
                    open.retain(|connection| !connection.handle.is_finished());
                    if open.len() >= limits.max_connections {
                        close_least_active(&mut open);
                        if last_warned.is_none_or(|at| at.elapsed() >= Duration::from_secs(1)) {
                            last_warned = Some(Instant::now());
                            eprintln!(
                                "warning: {} connections open, the most this program keeps: \
                                 closing the one idle longest for each new one",
                                limits.max_connections
                            );
                        }
                    }
                    let last_active = Arc::new(AtomicU64::new(millis_since(started)));
                    let active = last_active.clone();
                    // Each answer marks its connection active: an exporter's connection that
                    // sends every few seconds is kept, one that never finishes a request is not.
                    let router = ServiceExt::<Request<Incoming>>::map_response(
                        router.clone(),
                        move |response| {
                            active.store(millis_since(started), Ordering::Relaxed);
                            response
                        },
                    );
                    let connection = http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(limits.header_timeout)
                        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(router));
                    // A client that goes away mid-request ends its connection with an error;
                    // that is the client's business, not the server's.
                    let handle = connections.spawn(graceful.watch(connection));
                    open.push(Open { handle, last_active });
                }
                Err(error) => accept_failed(error).await,
            },
            // Forget the connections that have closed, so that the set holds the open ones.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            name = next(signals) => break name,
        }
    };
    let _ = STOPPING_SINCE.set(Instant::now());
    eprintln!(
        "{name} received: stopping once the requests in flight finish ({} s at most)",
        grace.as_secs_f64()
    );
    // No new connections; the open ones finish their request in flight, idle ones close now.
    drop(tcp);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(grace) => eprintln!(
            "warning: requests still in flight after {} s: stopping without them",
            grace.as_secs_f64()
        ),
        name = next(signals) => eprintln!("{name} received again: stopping now"),
    }
    // Closes whatever is still open, and waits until it is closed.
    connections.shutdown().await;
}

/// An open connection: how to close it, and when it was last active (opened, or a request
/// answered), in milliseconds since serving started.
struct Open {
    handle: AbortHandle,
    last_active: Arc<AtomicU64>,
}

/// Closes the connection that has been idle longest: most likely one held open by a client
/// that sends nothing, or never finishes its request.
fn close_least_active(open: &mut Vec<Open>) {
    let least_active = open
        .iter()
        .enumerate()
        .min_by_key(|(_, connection)| connection.last_active.load(Ordering::Relaxed))
        .map(|(index, _)| index);
    if let Some(index) = least_active {
        open.remove(index).handle.abort();
    }
}

fn millis_since(started: Instant) -> u64 {
    u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX)
}

/// A connection could not be accepted. One the client gave up on is its business. Any other
/// failure (out of file descriptors, say) would come back at once: wait a second before the
/// next try, as axum's `serve` does, rather than spin.
async fn accept_failed(error: io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    eprintln!("warning: cannot accept a connection: {error}");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// The next signal's name; never, if no signal can arrive any more.
async fn next(signals: &mut mpsc::UnboundedReceiver<&'static str>) -> &'static str {
    match signals.recv().await {
        Some(name) => name,
        None => std::future::pending().await,
    }
}

#[cfg(unix)]
struct ShutdownSignals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl ShutdownSignals {
    fn listen() -> io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    /// The name of the next signal to arrive.
    async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.terminate.recv() => "SIGTERM",
        }
    }
}

#[cfg(not(unix))]
struct ShutdownSignals(tokio::signal::windows::CtrlC);

#[cfg(not(unix))]
impl ShutdownSignals {
    fn listen() -> io::Result<Self> {
        tokio::signal::windows::ctrl_c().map(Self)
    }

    async fn next(&mut self) -> &'static str {
        match self.0.recv().await {
            Some(()) => "Ctrl-C",
            None => std::future::pending().await,
        }
    }
}

impl ShutdownSignals {
    /// Sends the name of every signal that arrives, until nobody listens.
    async fn forward(mut self, names: mpsc::UnboundedSender<&'static str>) {
        loop {
            let name = self.next().await;
            if names.send(name).is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use axum::routing::get;
    use tokio::{
        io::{AsyncReadExt, AsyncWriteExt},
        sync::oneshot,
    };

    use super::*;

    /// A server on 127.0.0.1:0 whose one request is in flight and never finishes, as with a
    /// stuck backend or a client that never sends the rest of its request.
    struct RequestThatNeverEnds {
        server: tokio::task::JoinHandle<()>,
        /// Where the test sends signal names.
        signal: mpsc::UnboundedSender<&'static str>,
        client: tokio::net::TcpStream,
        /// Answers once the request's handler has been dropped: the request was cut.
        handler_dropped: oneshot::Receiver<()>,
    }

    /// Sends once dropped.
    struct DropSignal(Option<oneshot::Sender<()>>);

    impl Drop for DropSignal {
        fn drop(&mut self) {
            if let Some(dropped) = self.0.take() {
                let _ = dropped.send(());
            }
        }
    }

    async fn server_with_a_request_that_never_ends(grace: Duration) -> RequestThatNeverEnds {
        let (entered, handler_entered) = oneshot::channel::<()>();
        let (dropped, handler_dropped) = oneshot::channel::<()>();
        let once = std::sync::Arc::new(std::sync::Mutex::new(Some((entered, dropped))));
        let router = Router::new().route(
            "/",
            get(move || {
                let signals = once.lock().unwrap().take();
                async move {
                    let _dropped = signals.map(|(entered, dropped)| {
                        let _ = entered.send(());
                        DropSignal(Some(dropped))
                    });
                    std::future::pending::<&'static str>().await
                }
            }),
        );
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = tcp.local_addr().unwrap();
        let (signal, mut signals) = mpsc::unbounded_channel();
        let server = tokio::spawn(async move {
            serve_until(tcp, router, &mut signals, grace, Limits::DEFAULT).await
        });
        let mut client = tokio::net::TcpStream::connect(address).await.unwrap();
        client
            .write_all(b"GET / HTTP/1.1\r\nhost: test\r\n\r\n")
            .await
            .unwrap();
        handler_entered.await.unwrap();
        RequestThatNeverEnds {
            server,
            signal,
            client,
            handler_dropped,
        }
    }

    /// Once serving has stopped without the request in flight, its handler is gone and its
    /// client reads the connection's end, no answer.
    async fn assert_cut(mut request: RequestThatNeverEnds) {
        assert_eq!(
            request.handler_dropped.try_recv(),
            Ok(()),
            "the handler was dropped before serving returned"
        );
        let mut answer = Vec::new();
        // The end of the stream, or a reset: either way, nothing was answered.
        let _ = request.client.read_to_end(&mut answer).await;
        assert_eq!(String::from_utf8_lossy(&answer), "", "no answer was sent");
    }

    #[tokio::test]
    async fn a_request_that_never_ends_holds_shutdown_up_for_the_grace_period_only() {
        let grace = Duration::from_millis(300);
        let mut request = server_with_a_request_that_never_ends(grace).await;

        let signalled = Instant::now();
        request.signal.send("SIGTERM").unwrap();
        tokio::time::timeout(Duration::from_secs(10), &mut request.server)
            .await
            .expect("serving stops after the grace period")
            .unwrap();

        assert!(
            signalled.elapsed() >= grace,
            "the request was given its grace period"
        );
        assert_cut(request).await;
    }

    #[tokio::test]
    async fn a_second_signal_stops_serving_at_once() {
        let hour = Duration::from_secs(3600);
        let mut request = server_with_a_request_that_never_ends(hour).await;

        request.signal.send("SIGTERM").unwrap();
        request.signal.send("SIGINT").unwrap();

        tokio::time::timeout(Duration::from_secs(10), &mut request.server)
            .await
            .expect("serving stops without waiting an hour")
            .unwrap();
        assert_cut(request).await;
    }

    /// A server with `limits` on 127.0.0.1:0 that answers `GET /` at once.
    async fn server_with(limits: Limits) -> (SocketAddr, mpsc::UnboundedSender<&'static str>) {
        let router = Router::new().route("/", get(|| async { "OK" }));
        let tcp = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = tcp.local_addr().unwrap();
        let (signal, mut signals) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            serve_until(tcp, router, &mut signals, Duration::ZERO, limits).await
        });
        (address, signal)
    }

    /// Whether the server has closed `client`'s connection: it reads the end, or a reset.
    async fn closed_within(client: &mut tokio::net::TcpStream, wait: Duration) -> bool {
        let mut byte = [0; 1];
        matches!(
            tokio::time::timeout(wait, client.read(&mut byte)).await,
            Ok(Ok(0) | Err(_))
        )
    }

    #[tokio::test]
    async fn a_client_that_sends_nothing_or_a_byte_at_a_time_is_closed_after_the_header_timeout() {
        let header_timeout = Duration::from_millis(300);
        let (address, _signal) = server_with(Limits {
            header_timeout,
            max_connections: 10,
        })
        .await;
        let mut idle = tokio::net::TcpStream::connect(address).await.unwrap();
        let mut slow = tokio::net::TcpStream::connect(address).await.unwrap();
        let started = Instant::now();
        // A request's first bytes, then one more every 100 ms: never the end of its headers.
        let dripping = async {
            for byte in b"GET / HTTP/1.1\r\nhost: a-very-slow-client\r\n"
                .iter()
                .cycle()
            {
                if slow.write_all(&[*byte]).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        };
        tokio::select! {
            () = dripping => {}
            () = tokio::time::sleep(Duration::from_secs(5)) => panic!("the slow client was kept"),
        }
        assert!(closed_within(&mut slow, Duration::from_secs(1)).await);
        assert!(closed_within(&mut idle, Duration::from_secs(1)).await);
        assert!(
            started.elapsed() >= header_timeout,
            "{:?}",
            started.elapsed()
        );

        // A client that sends its request in time is answered, and its connection kept.
        let mut prompt = tokio::net::TcpStream::connect(address).await.unwrap();
        prompt
            .write_all(b"GET / HTTP/1.1\r\nhost: test\r\n\r\n")
            .await
            .unwrap();
        let mut answer = [0; 15];
        prompt.read_exact(&mut answer).await.unwrap();
        assert_eq!(&answer, b"HTTP/1.1 200 OK");
        // Then idle between requests, it goes the same way.
        let mut rest = vec![0; 256];
        let answered = prompt.read(&mut rest).await.unwrap();
        assert!(answered > 0);
        assert!(closed_within(&mut prompt, header_timeout * 4).await);
    }

    #[tokio::test]
    async fn one_connection_more_than_the_most_closes_the_one_idle_longest() {
        let (address, _signal) = server_with(Limits {
            header_timeout: Duration::from_secs(3600),
            max_connections: 3,
        })
        .await;
        let request = b"GET / HTTP/1.1\r\nhost: test\r\n\r\n";
        let mut answer = [0; 15];
        // The first to open, but the one that has just been answered: an exporter's, say.
        let mut busy = tokio::net::TcpStream::connect(address).await.unwrap();
        let mut idle = Vec::new();
        for _ in 0..2 {
            idle.push(tokio::net::TcpStream::connect(address).await.unwrap());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        busy.write_all(request).await.unwrap();
        busy.read_exact(&mut answer).await.unwrap();
        assert!(!closed_within(&mut idle[0], Duration::from_millis(200)).await);

        let mut newest = tokio::net::TcpStream::connect(address).await.unwrap();
        newest.write_all(request).await.unwrap();
        newest.read_exact(&mut answer).await.unwrap();
        assert_eq!(&answer, b"HTTP/1.1 200 OK", "the newest is served");
        assert!(
            closed_within(&mut idle[0], Duration::from_secs(2)).await,
            "the one idle longest went"
        );
        assert!(!closed_within(&mut idle[1], Duration::from_millis(200)).await);
        let mut rest = [0; 256];
        let _ = busy.read(&mut rest).await;
        busy.write_all(request).await.unwrap();
        busy.read_exact(&mut answer).await.unwrap();
        assert_eq!(&answer, b"HTTP/1.1 200 OK", "the busy one is kept");
    }
}
