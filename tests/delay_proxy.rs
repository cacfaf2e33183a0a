//! The delay proxy (`cargo run -p delay-proxy`) held to what every program here does: a
//! mistaken `UPSTREAM_ADDR` stops it at start-up, running out of descriptors does not make it
//! spin, idle connections are closed, and SIGTERM delivers the data it holds before it exits.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, Instant};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};
use workshop::harness::process::{self, DELAY_PROXY, Service};

/// An upstream for the proxy: a listener on 127.0.0.1:0, and its `UPSTREAM_ADDR`.
async fn upstream() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    (listener, address)
}

#[tokio::test]
async fn an_upstream_that_is_the_proxy_itself_stops_it_at_start_up() {
    // A free port, for the proxy to listen on and, by mistake, to relay to.
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let itself = format!("127.0.0.1:{port}");
    let exited = process::run_to_exit(
        DELAY_PROXY,
        &[("LISTEN_ADDR", &itself), ("UPSTREAM_ADDR", &itself)],
    )
    .await
    .unwrap();
    assert_eq!(exited.status.code(), Some(2), "{}", exited.stderr);
    assert_eq!(
        exited.stderr.trim(),
        format!(
            "error: UPSTREAM_ADDR=\"{itself}\": that is where this proxy listens ({itself}): \
             name the backend"
        )
    );
}

#[tokio::test]
async fn sigterm_delivers_the_data_it_holds_before_it_exits() {
    let (upstream, address) = upstream().await;
    let proxy = Service::start(
        DELAY_PROXY,
        &[("UPSTREAM_ADDR", &address), ("DELAY_MS", "1500")],
    )
    .await
    .unwrap();
    let mut client = TcpStream::connect(proxy.address()).await.unwrap();
    let (mut server, _) = upstream.accept().await.unwrap();
    client.write_all(b"held for 1.5 s").await.unwrap();
    // Stopped while the bytes are held: they still arrive, and then the connection ends.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let signalled = Instant::now();
    let stopping = tokio::spawn(proxy.stop());
    let mut received = Vec::new();
    server.read_to_end(&mut received).await.unwrap();
    assert_eq!(received, b"held for 1.5 s");
    let exited = stopping.await.unwrap().unwrap();
    exited.assert_success();
    assert!(
        signalled.elapsed() < Duration::from_secs(8),
        "within the grace"
    );
}

#[tokio::test]
async fn a_connection_nothing_passes_on_is_closed_after_ten_seconds() {
    let (upstream, address) = upstream().await;
    let proxy = Service::start(DELAY_PROXY, &[("UPSTREAM_ADDR", &address)])
        .await
        .unwrap();
    let mut client = TcpStream::connect(proxy.address()).await.unwrap();
    let (mut server, _) = upstream.accept().await.unwrap();
    // One exchange, then silence.
    client.write_all(b"hello").await.unwrap();
    let mut greeting = [0; 5];
    server.read_exact(&mut greeting).await.unwrap();
    let quiet_since = Instant::now();
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(15), async {
        server.read_to_end(&mut rest).await.unwrap();
        client.read_to_end(&mut rest).await.unwrap();
    });
    closed.await.expect("both sides closed within 15 s");
    assert!(
        quiet_since.elapsed() >= Duration::from_secs(9),
        "not before it was idle"
    );
    proxy.stop().await.unwrap().assert_success();
}

#[tokio::test]
async fn out_of_descriptors_it_waits_instead_of_spinning() {
    let (upstream, address) = upstream().await;
    // Take every connection the proxy makes, and hold it.
    let holding = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((connection, _)) = upstream.accept().await {
            held.push(connection);
        }
    });
    let proxy = Service::start(DELAY_PROXY, &[("UPSTREAM_ADDR", &address)])
        .await
        .unwrap();
    if !proxy.limit_open_files(32) {
        return;
    }
    let mut clients = Vec::new();
    for _ in 0..64 {
        clients.push(TcpStream::connect(proxy.address()).await.unwrap());
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let warnings = proxy
        .stderr()
        .lines()
        .filter(|line| line.contains("cannot accept"))
        .count();
    println!("{warnings} warnings in 3 s out of descriptors");
    // One a second, not one per try.
    assert!((1..=5).contains(&warnings), "{}", proxy.stderr());
    drop(clients);
    proxy.stop().await.unwrap().assert_success();
    holding.abort();
}
