//! `cargo run -p delay-proxy`: a TCP proxy that holds every byte it passes on for `DELAY_MS`
//! milliseconds, in each direction. Put it between the frontend and the backend and the network
//! between them has a known latency, on one machine, without root or `tc`:
//!
//! ```text
//! DELAY_MS=50 cargo run -p delay-proxy                     # 127.0.0.1:8082 -> 127.0.0.1:8081
//! BACKEND_URL=http://127.0.0.1:8082/ cargo run -p step-08-frontend
//! ```
//!
//! It delays data, not connection set-up: it accepts at once, and connects to the backend when a
//! client connects. The delay is a latency, not a bandwidth limit: bytes read in a row leave in
//! a row, each `DELAY_MS` after it arrived.
//!
//! Variables: `LISTEN_ADDR` (default `127.0.0.1:8082`), `UPSTREAM_ADDR`, where to pass the bytes
//! on (default `127.0.0.1:8081`, the backend; never the proxy's own address), and `DELAY_MS`
//! (default 0). A connection nothing passes on for 10 s is closed. On SIGINT or SIGTERM it
//! stops accepting and reading, delivers the bytes it holds (6 s at most, as the steps drain
//! their requests), then exits.

use std::{
    net::SocketAddr,
    process::ExitCode,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use step_support::{SHUTDOWN_GRACE, StartupError};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{
        TcpStream,
        tcp::{OwnedReadHalf, OwnedWriteHalf},
    },
    sync::{mpsc, watch},
    task::JoinSet,
    time::Instant,
};

const LISTEN_ADDR: &str = "127.0.0.1:8082";
const UPSTREAM_ADDR: &str = "127.0.0.1:8081";
/// A connection with no byte either way for this long is closed: a client that left, or an
/// upstream that holds on, does not keep it open for ever.
const IDLE_TIMEOUT: Duration = Duration::from_secs(10);

#[tokio::main]
async fn main() -> ExitCode {
    let listen_addr = step_support::listen_addr(LISTEN_ADDR).unwrap_or_else(|error| error.exit());
    let upstream = step_support::variable("UPSTREAM_ADDR")
        .and_then(|value| upstream_addr(value.as_deref().unwrap_or(UPSTREAM_ADDR)))
        .unwrap_or_else(|error| error.exit());
    let delay = step_support::milliseconds("DELAY_MS").unwrap_or_else(|error| error.exit());
    let mut listener = step_support::bind(&listen_addr)
        .await
        .unwrap_or_else(|error| error.exit());
    if let Err(error) = not_itself(&upstream, listener.address()).await {
        error.exit();
    }
    eprintln!(
        "delay proxy: to {upstream}, every byte held {} ms each way",
        delay.as_millis()
    );

    listener.announce();
    // On SIGTERM, each connection stops reading and delivers what it holds.
    let (stop, stopping) = watch::channel(false);
    let mut relays = JoinSet::new();
    while let Some(client) = listener.accept().await {
        let upstream = upstream.clone();
        let stopping = stopping.clone();
        relays.spawn(async move {
            if let Err(error) = relay(client, &upstream, delay, stopping).await {
                eprintln!("delay proxy: connection to {upstream} ended: {error}");
            }
        });
        // Forget the relays that have ended.
        while relays.try_join_next().is_some() {}
    }
    let _ = stop.send(true);
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while relays.join_next().await.is_some() {}
    });
    if drained.await.is_err() {
        eprintln!(
            "warning: data still held after {} s: stopping without it",
            SHUTDOWN_GRACE.as_secs()
        );
    }
    ExitCode::SUCCESS
}

/// An upstream that is this proxy itself would relay each connection to itself, one more each
/// time, until no descriptor is left: a mistake in `UPSTREAM_ADDR` to name at start-up. A name
/// that does not resolve yet is not checked (it may come up later).
async fn not_itself(upstream: &str, listening: SocketAddr) -> Result<(), StartupError> {
    let Ok(resolved) = tokio::net::lookup_host(upstream).await else {
        return Ok(());
    };
    for address in resolved {
        let same_host = listening.ip() == address.ip() || listening.ip().is_unspecified();
        if address.port() == listening.port() && same_host {
            return Err(StartupError::invalid(
                "UPSTREAM_ADDR",
                upstream,
                format!("that is where this proxy listens ({listening}): name the backend"),
            ));
        }
    }
    Ok(())
}

/// `UPSTREAM_ADDR`, checked to be `HOST:PORT`; the host is looked up for each connection, as
/// a name in a container network may come and go.
fn upstream_addr(value: &str) -> Result<String, StartupError> {
    match value.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
            Ok(value.to_owned())
        }
        _ => Err(StartupError::invalid(
            "UPSTREAM_ADDR",
            value,
            "expected HOST:PORT, for example 127.0.0.1:8081",
        )),
    }
}

/// Connects to `upstream` and passes bytes both ways, each held for `delay`, until both
/// directions have ended, one fails, or nothing has passed for [`IDLE_TIMEOUT`]. Once
/// `stopping`, it reads no more and delivers what it holds.
async fn relay(
    client: TcpStream,
    upstream: &str,
    delay: Duration,
    stopping: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let server = TcpStream::connect(upstream).await?;
    // The delay is the point; Nagle's algorithm would add its own.
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let activity = Activity::new();
    let copying = async {
        tokio::try_join!(
            delayed_copy(
                client_read,
                server_write,
                delay,
                &activity,
                stopping.clone()
            ),
            delayed_copy(server_read, client_write, delay, &activity, stopping),
        )
    };
    tokio::select! {
        copied = copying => copied.map(|_| ()),
        () = activity.idle_for(IDLE_TIMEOUT) => Ok(()),
    }
}

/// When a byte last passed, either way.
struct Activity {
    start: Instant,
    last_millis: AtomicU64,
}

impl Activity {
    fn new() -> Arc<Activity> {
        Arc::new(Activity {
            start: Instant::now(),
            last_millis: AtomicU64::new(0),
        })
    }

    fn touch(&self) {
        let millis = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_millis.store(millis, Ordering::Relaxed);
    }

    /// Returns once nothing has passed for `idle`.
    async fn idle_for(&self, idle: Duration) {
        loop {
            let last = self.start + Duration::from_millis(self.last_millis.load(Ordering::Relaxed));
            if last.elapsed() >= idle {
                return;
            }
            tokio::time::sleep_until(last + idle).await;
        }
    }
}

/// Copies `from` to `to`, each chunk `delay` after it was read; ends `to`'s writing side when
/// `from` ends, or once `stopping`. Reading goes on while earlier chunks wait, so the delay adds
/// latency only.
async fn delayed_copy(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    delay: Duration,
    activity: &Activity,
    mut stopping: watch::Receiver<bool>,
) -> std::io::Result<()> {
    // At most 64 chunks of 16 KiB in flight (1 MiB); a slow reader slows the writer down.
    let (chunks, mut waiting) = mpsc::channel::<(Instant, Vec<u8>)>(64);
    let reading = async move {
        let mut buffer = vec![0; 16 * 1024];
        loop {
            let read = tokio::select! {
                read = from.read(&mut buffer) => read?,
                _ = stopping.wait_for(|stopping| *stopping) => 0,
            };
            if read == 0 {
                return Ok::<_, std::io::Error>(());
            }
            activity.touch();
            if chunks
                .send((Instant::now() + delay, buffer[..read].to_vec()))
                .await
                .is_err()
            {
                return Ok(());
            }
        }
    };
    let writing = async move {
        while let Some((due, chunk)) = waiting.recv().await {
            tokio::time::sleep_until(due).await;
            to.write_all(&chunk).await?;
            activity.touch();
        }
        to.shutdown().await
    };
    tokio::try_join!(reading, writing).map(|_| ())
}
