//! Stand-ins for the backend, for what a real one rarely does on demand: answer with an error,
//! answer slowly, never answer, not be there. Each records the headers it was sent.

use std::{future, net::SocketAddr, sync::Arc, time::Duration};

use axum::{
    Router,
    body::Body,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::Response,
    routing::get,
};
use tokio::{net::TcpListener, sync::watch, task::JoinHandle};

use crate::process::PATIENCE;

/// A backend on `127.0.0.1:0`, served by a task on the caller's runtime until dropped.
pub struct FakeBackend {
    url: String,
    received: watch::Receiver<Vec<HeaderMap>>,
    server: JoinHandle<()>,
}

#[derive(Clone, Copy)]
enum Answer {
    Status(StatusCode),
    /// `200 OK` at once, then the body `OK` after the delay.
    SlowBody(Duration),
    Never,
}

#[derive(Clone)]
struct Behaviour {
    answer: Answer,
    received: Arc<watch::Sender<Vec<HeaderMap>>>,
}

impl FakeBackend {
    /// Answers every request with `status` (body `OK` for 200, the reason phrase otherwise).
    pub async fn answering(status: StatusCode) -> Self {
        Self::start(Answer::Status(status)).await
    }

    /// Sends `200 OK` and its headers at once, and the body only after `delay`: a call that is
    /// not over until its body has been read.
    pub async fn slow_body(delay: Duration) -> Self {
        Self::start(Answer::SlowBody(delay)).await
    }

    /// Accepts every request and never answers it: a backend slower than any timeout.
    pub async fn never_answering() -> Self {
        Self::start(Answer::Never).await
    }

    async fn start(answer: Answer) -> Self {
        let (sender, received) = watch::channel(Vec::new());
        let behaviour = Behaviour {
            answer,
            received: Arc::new(sender),
        };
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding 127.0.0.1:0");
        let url = format!(
            "http://{}/",
            listener.local_addr().expect("a bound address")
        );
        let router = Router::new()
            .route("/", get(answer_request))
            .with_state(behaviour);
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self {
            url,
            received,
            server,
        }
    }

    /// `http://127.0.0.1:PORT/`
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The headers of every request received so far, in order.
    pub fn received(&self) -> Vec<HeaderMap> {
        self.received.borrow().clone()
    }

    /// Waits until `count` requests have arrived: the signal that a call is in flight. Panics
    /// if they have not arrived within [`PATIENCE`].
    pub async fn wait_for_requests(&self, count: usize) {
        let mut received = self.received.clone();
        let arrived = received.wait_for(|requests| requests.len() >= count);
        if tokio::time::timeout(PATIENCE, arrived).await.is_err() {
            panic!("{count} requests did not reach the fake backend within {PATIENCE:?}");
        }
    }
}

impl Drop for FakeBackend {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn answer_request(State(behaviour): State<Behaviour>, headers: HeaderMap) -> Response {
    behaviour
        .received
        .send_modify(|requests| requests.push(headers));
    match behaviour.answer {
        Answer::Status(StatusCode::OK) => Response::new(Body::from("OK")),
        Answer::Status(status) => {
            let mut response = Response::new(Body::from(status.canonical_reason().unwrap_or("")));
            *response.status_mut() = status;
            response
        }
        Answer::SlowBody(delay) => {
            let body = async move {
                tokio::time::sleep(delay).await;
                Ok::<_, std::convert::Infallible>("OK")
            };
            Response::new(Body::from_stream(futures_util::stream::once(body)))
        }
        Answer::Never => future::pending().await,
    }
}

/// A loopback port that is bound and not listening, for as long as this value lives: connecting
/// to it is refused, and no other test can be given the port in the meantime.
pub struct ClosedPort {
    _socket: tokio::net::TcpSocket,
    url: String,
}

impl ClosedPort {
    pub fn new() -> Self {
        let socket = tokio::net::TcpSocket::new_v4().expect("a TCP socket");
        socket
            .bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .expect("binding 127.0.0.1:0");
        let address = socket.local_addr().expect("a bound address");
        Self {
            _socket: socket,
            url: format!("http://{address}/"),
        }
    }

    /// `http://127.0.0.1:PORT/`
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Default for ClosedPort {
    fn default() -> Self {
        Self::new()
    }
}
