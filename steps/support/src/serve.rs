//! Binding the port and serving until SIGINT or SIGTERM, with the `listening on` line that
//! scripts and tests wait for.

use std::{future::Future, io, net::SocketAddr, time::Duration};

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::{rt::TokioIo, server::graceful::GracefulShutdown, service::TowerToHyperService};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::mpsc,
    task::JoinSet,
};

use crate::StartupError;

/// After the first SIGINT or SIGTERM, the requests in flight have this long to finish. Longer
/// than the frontend's default backend timeout (5 s), shorter than the 10 s `docker stop` waits
/// before it kills. Then the connections still open are dropped: a client that never finishes
/// its request cannot keep the program, and its spans, from shutting down.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(8);

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
    /// handles TCP connections itself rather than serving a router (the delay proxy).
    pub async fn accept(&mut self) -> Option<io::Result<TcpStream>> {
        tokio::select! {
            accepted = self.tcp.accept() => Some(accepted.map(|(stream, _)| stream)),
            name = self.signals.next() => {
                eprintln!("{name} received: stopping");
                None
            }
        }
    }
}

/// Serves `router` until SIGINT (Ctrl-C) or SIGTERM. Then it stops accepting connections and
/// lets the requests in flight finish, for at most [`SHUTDOWN_GRACE`], or until a second
/// signal, before it returns. The caller flushes its spans afterwards; one more signal while it
/// does ends the program at once, without them.
pub async fn serve(listener: Listener, router: Router) {
    listener.announce();
    let (names, mut signals) = mpsc::unbounded_channel();
    tokio::spawn(listener.signals.forward(names));
    serve_until(listener.tcp, router, &mut signals, SHUTDOWN_GRACE).await;
    tokio::spawn(async move {
        let name = next(&mut signals).await;
        eprintln!("{name} received again: stopping now, without the spans not yet exported");
        std::process::exit(1)
    });
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
) {
    let mut connections = JoinSet::new();
    let graceful = GracefulShutdown::new();
    let name = loop {
        tokio::select! {
            accepted = tcp.accept() => match accepted {
                Ok((stream, _)) => {
                    let service = TowerToHyperService::new(router.clone());
                    let connection = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service);
                    // A client that goes away mid-request ends its connection with an error;
                    // that is the client's business, not the server's.
                    connections.spawn(graceful.watch(connection));
                }
                Err(error) => accept_failed(error).await,
            },
            // Forget the connections that have closed, so that the set holds the open ones.
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            name = next(signals) => break name,
        }
    };
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
        let server =
            tokio::spawn(async move { serve_until(tcp, router, &mut signals, grace).await });
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
}
