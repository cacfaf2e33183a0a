//! Binding the port and serving until SIGINT or SIGTERM, with the `listening on` line that
//! scripts and tests wait for.

use std::{io, net::SocketAddr};

use axum::Router;
use tokio::net::TcpListener;

use crate::StartupError;

/// A bound port, ready to serve, already listening for the shutdown signals.
pub struct Listener {
    tcp: TcpListener,
    address: SocketAddr,
    shutdown: ShutdownSignal,
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
    let shutdown = ShutdownSignal::listen()
        .map_err(|error| StartupError(format!("cannot listen for SIGINT and SIGTERM: {error}")))?;
    Ok(Listener {
        tcp,
        address,
        shutdown,
    })
}

/// Serves `router` until SIGINT (Ctrl-C) or SIGTERM, then stops accepting connections and lets
/// the requests in flight finish before returning. The caller flushes its spans afterwards.
pub async fn serve(listener: Listener, router: Router) {
    eprintln!("listening on http://{}", listener.address);
    // axum's serve keeps going through failed accepts; its error type is only for the future.
    if let Err(error) = axum::serve(listener.tcp, router)
        .with_graceful_shutdown(listener.shutdown.received())
        .await
    {
        eprintln!("error: serving stopped: {error}");
    }
}

#[cfg(unix)]
struct ShutdownSignal {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

#[cfg(unix)]
impl ShutdownSignal {
    fn listen() -> io::Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(Self {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    async fn received(mut self) {
        let name = tokio::select! {
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.terminate.recv() => "SIGTERM",
        };
        eprintln!("{name} received: finishing the requests in flight, then stopping");
    }
}

#[cfg(not(unix))]
struct ShutdownSignal(tokio::signal::windows::CtrlC);

#[cfg(not(unix))]
impl ShutdownSignal {
    fn listen() -> io::Result<Self> {
        tokio::signal::windows::ctrl_c().map(Self)
    }

    async fn received(mut self) {
        self.0.recv().await;
        eprintln!("Ctrl-C received: finishing the requests in flight, then stopping");
    }
}
