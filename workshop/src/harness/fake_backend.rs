//! Stand-ins for the backend, for what a real one rarely does on demand: answer with an error,
//! answer slowly, never answer, break off its answer, not be there, and come back. Each records
//! the headers it was sent.

use std::{
    future,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{
    Router,
    body::Body,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::Response,
    routing::get,
};
use futures_util::StreamExt;
use tokio::{net::TcpListener, sync::watch, task::JoinHandle};

use crate::{harness::process::PATIENCE, spans::SpanRecord};

/// A backend on `127.0.0.1:0`, served by a task on the caller's runtime until dropped.
pub struct FakeBackend {
    url: String,
    answer: Arc<Mutex<Answer>>,
    received: watch::Receiver<Vec<HeaderMap>>,
    server: JoinHandle<()>,
}

/// How a [`FakeBackend`] answers.
#[derive(Clone, Copy, Debug)]
pub enum Answer {
    /// This status, with the body `OK` for 200 and the reason phrase otherwise.
    Status(StatusCode),
    /// `200 OK` at once, then the body `OK` after the delay.
    SlowBody(Duration),
    /// `200 OK` and the first byte of the body, then the connection is closed.
    CutOff,
    Never,
}

#[derive(Clone)]
struct Behaviour {
    answer: Arc<Mutex<Answer>>,
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

    /// Sends `200 OK` and one byte of the body, then closes the connection: a backend that dies
    /// while it answers.
    pub async fn cutting_off() -> Self {
        Self::start(Answer::CutOff).await
    }

    async fn start(answer: Answer) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding 127.0.0.1:0");
        Self::serve(listener, answer)
    }

    fn serve(listener: TcpListener, answer: Answer) -> Self {
        let (sender, received) = watch::channel(Vec::new());
        let behaviour = Behaviour {
            answer: Arc::new(Mutex::new(answer)),
            received: Arc::new(sender),
        };
        let url = format!(
            "http://{}/",
            listener.local_addr().expect("a bound address")
        );
        let answer = behaviour.answer.clone();
        let router = Router::new()
            .route("/", get(answer_request))
            .with_state(behaviour);
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Self {
            url,
            received,
            answer,
            server,
        }
    }

    /// From now on, answers as `answer` says: a backend that recovers, or starts failing.
    pub fn answer_with(&self, answer: Answer) {
        *self
            .answer
            .lock()
            .expect("no panic while the answer is set") = answer;
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
    let answer = *behaviour
        .answer
        .lock()
        .expect("no panic while the answer is set");
    match answer {
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
        Answer::CutOff => {
            // A body that fails after its first byte: the server closes the connection there,
            // without the end of the chunked body, as when a backend's process dies. A pause (any
            // length would do) lets the server send the headers and the byte first.
            let first = futures_util::stream::once(async { Ok("O") });
            let death = futures_util::stream::once(async {
                tokio::time::sleep(Duration::from_millis(50)).await;
                Err(std::io::Error::other("the backend died"))
            });
            Response::new(Body::from_stream(first.chain(death)))
        }
        Answer::Never => future::pending().await,
    }
}

/// A loopback endpoint that takes every connection and never answers, for as long as this
/// value lives: a backend or an OTLP collector that hangs.
pub struct Unanswering {
    url: String,
    holding: JoinHandle<()>,
}

impl Unanswering {
    pub async fn new() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binding 127.0.0.1:0");
        let address = listener.local_addr().expect("a bound address");
        let holding = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((connection, _)) = listener.accept().await {
                held.push(connection);
            }
        });
        Self {
            url: format!("http://{address}"),
            holding,
        }
    }

    /// `http://127.0.0.1:PORT`, without a path.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for Unanswering {
    fn drop(&mut self) {
        self.holding.abort();
    }
}

/// A loopback port that is bound and not listening, for as long as this value lives: connecting
/// to it is refused, and no other test can be given the port in the meantime.
pub struct ClosedPort {
    socket: tokio::net::TcpSocket,
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
            socket,
            url: format!("http://{address}/"),
        }
    }

    /// `http://127.0.0.1:PORT/`
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Starts listening on the port, answering as `answer` says: the backend is back, at the
    /// address the frontend was given.
    pub fn open(self, answer: Answer) -> FakeBackend {
        let listener = self
            .socket
            .listen(1024)
            .expect("listening on the bound port");
        FakeBackend::serve(listener, answer)
    }
}

impl Default for ClosedPort {
    fn default() -> Self {
        Self::new()
    }
}

/// The recovery script: the backend is down for the first request (a 502), then back, and for
/// each later request it does this, and the frontend must answer with that status: failing in
/// each way, and recovering at once after each.
pub const RECOVERY_SCRIPT: &[(Answer, u16)] = &[
    (Answer::Status(StatusCode::OK), 200),
    (Answer::Status(StatusCode::INTERNAL_SERVER_ERROR), 502),
    (Answer::Status(StatusCode::OK), 200),
    (Answer::CutOff, 502),
    (Answer::Status(StatusCode::OK), 200),
    (Answer::Never, 504),
    (Answer::Status(StatusCode::OK), 200),
];

/// The statuses [`play_recovery_script`] must see, in order.
pub fn recovery_statuses() -> Vec<u16> {
    let back = RECOVERY_SCRIPT.iter().map(|(_, status)| *status);
    std::iter::once(502).chain(back).collect()
}

/// Plays [`RECOVERY_SCRIPT`] against the frontend at `frontend_url`, whose backend is at
/// `port` (closed until the first request has failed), one request at a time, and returns the
/// status of each answer. The frontend's `BACKEND_TIMEOUT_MS` must be well under 10 s.
pub async fn play_recovery_script(port: ClosedPort, frontend_url: &str) -> Vec<u16> {
    let status = || async {
        let (status, _) = crate::harness::process::http_get(frontend_url)
            .await
            .expect("an answer from the frontend");
        status.as_u16()
    };
    let mut answers = vec![status().await];
    let backend = port.open(Answer::Status(StatusCode::OK));
    for (answer, _) in RECOVERY_SCRIPT {
        backend.answer_with(*answer);
        answers.push(status().await);
    }
    answers
}

/// Checks the frontend's spans from [`play_recovery_script`]: one `incoming call` per request,
/// in order, each an error exactly when its answer (`answered`) was.
pub fn assert_requests_failed_as_answered(spans: &[SpanRecord], answered: &[u16]) {
    let mut requests: Vec<&SpanRecord> = spans
        .iter()
        .filter(|span| span.name == "incoming call")
        .collect();
    requests.sort_by_key(|span| span.start);
    let failed: Vec<bool> = requests
        .iter()
        .map(|span| span.error_description().is_some())
        .collect();
    let expected: Vec<bool> = answered.iter().map(|status| *status != 200).collect();
    assert_eq!(failed, expected, "an error span for each error answer");
}
