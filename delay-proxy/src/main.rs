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
//! on (default `127.0.0.1:8081`, the backend), and `DELAY_MS` (default 0).

use std::{process::ExitCode, time::Duration};

use step_support::StartupError;

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{
        TcpStream,
        tcp::{OwnedReadHalf, OwnedWriteHalf},
    },
    sync::mpsc,
    time::Instant,
};

const LISTEN_ADDR: &str = "127.0.0.1:8082";
const UPSTREAM_ADDR: &str = "127.0.0.1:8081";

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
    eprintln!(
        "delay proxy: to {upstream}, every byte held {} ms each way",
        delay.as_millis()
    );

    listener.announce();
    while let Some(accepted) = listener.accept().await {
        match accepted {
            Ok(client) => {
                let upstream = upstream.clone();
                tokio::spawn(async move {
                    if let Err(error) = relay(client, &upstream, delay).await {
                        eprintln!("delay proxy: connection to {upstream} ended: {error}");
                    }
                });
            }
            // A failed accept (out of file descriptors, a connection reset while queued) is
            // about that one connection; the next may succeed.
            Err(error) => eprintln!("delay proxy: accepting a connection failed: {error}"),
        }
    }
    ExitCode::SUCCESS
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
/// directions have ended.
async fn relay(client: TcpStream, upstream: &str, delay: Duration) -> std::io::Result<()> {
    let server = TcpStream::connect(upstream).await?;
    // The delay is the point; Nagle's algorithm would add its own.
    client.set_nodelay(true)?;
    server.set_nodelay(true)?;
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let (outward, inward) = tokio::join!(
        delayed_copy(client_read, server_write, delay),
        delayed_copy(server_read, client_write, delay),
    );
    outward.and(inward)
}

/// Copies `from` to `to`, each chunk `delay` after it was read; ends `to`'s writing side when
/// `from` ends. Reading goes on while earlier chunks wait, so the delay adds latency only.
async fn delayed_copy(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    delay: Duration,
) -> std::io::Result<()> {
    // At most 64 chunks of 16 KiB in flight (1 MiB); a slow reader slows the writer down.
    let (chunks, mut waiting) = mpsc::channel::<(Instant, Vec<u8>)>(64);
    let reading = async move {
        let mut buffer = vec![0; 16 * 1024];
        loop {
            let read = from.read(&mut buffer).await?;
            if read == 0
                || chunks
                    .send((Instant::now() + delay, buffer[..read].to_vec()))
                    .await
                    .is_err()
            {
                return Ok::<_, std::io::Error>(());
            }
        }
    };
    let writing = async move {
        while let Some((due, chunk)) = waiting.recv().await {
            tokio::time::sleep_until(due).await;
            to.write_all(&chunk).await?;
        }
        to.shutdown().await
    };
    let (read, written) = tokio::join!(reading, writing);
    read.and(written)
}
