//! The OTLP/HTTP endpoint an exporter sends its spans to: `POST /v1/traces`, protobuf or JSON,
//! as OTLP/HTTP specifies it. It keeps every export it received, with the headers that came
//! with it, and says when a new one arrives.

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    sync::{Arc, Mutex, MutexGuard},
    time::SystemTime,
};

use axum::{
    Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode, header::CONTENT_TYPE},
    response::{IntoResponse, Response},
    routing::post,
};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;
use tokio::{net::TcpListener, sync::watch, task::JoinHandle};

use crate::{
    otlp::{self, Encoding, Export},
    spans::SpanRecord,
};

/// One request an exporter sent: its headers (names in lower case) and what it carried.
#[derive(Debug, Clone)]
pub struct Received {
    /// When it arrived.
    pub at: SystemTime,
    pub headers: BTreeMap<String, String>,
    pub encoding: Encoding,
    pub export: Export,
}

/// Everything received, shared between the endpoint and whoever reads it. Clones share.
#[derive(Clone)]
pub struct Inbox {
    received: Arc<Mutex<Vec<Received>>>,
    arrived: Arc<watch::Sender<usize>>,
}

impl Default for Inbox {
    fn default() -> Self {
        Inbox {
            received: Arc::default(),
            arrived: Arc::new(watch::channel(0).0),
        }
    }
}

impl Inbox {
    fn lock(&self) -> MutexGuard<'_, Vec<Received>> {
        // A panic elsewhere while holding the lock leaves the list as it was: still usable.
        self.received
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Every export received so far, oldest first.
    pub fn received(&self) -> Vec<Received> {
        self.lock().clone()
    }

    /// Every export received so far, removed from the inbox: for a long-running reader that
    /// must not keep them all.
    pub fn take(&self) -> Vec<Received> {
        std::mem::take(&mut *self.lock())
    }

    /// Every span received so far, in the order they arrived.
    pub fn spans(&self) -> Vec<SpanRecord> {
        let received = self.lock();
        received
            .iter()
            .flat_map(|request| request.export.spans.iter().cloned())
            .collect()
    }

    /// A watch on the number of exports received (taken ones included): it changes with each
    /// new one.
    pub fn arrivals(&self) -> watch::Receiver<usize> {
        self.arrived.subscribe()
    }
}

/// The OTLP/HTTP endpoint, `POST /v1/traces`, delivering into `inbox`.
pub fn router(inbox: Inbox) -> Router {
    Router::new()
        .route("/v1/traces", post(receive))
        .with_state(inbox)
}

/// A receiver running on its own task, for tests and the workshop's runner. Dropping it stops
/// it.
pub struct Receiver {
    address: SocketAddr,
    inbox: Inbox,
    server: JoinHandle<()>,
}

impl Receiver {
    /// Binds `address` (`127.0.0.1:0` for any free port) and starts receiving.
    pub async fn bind(address: &str) -> std::io::Result<Receiver> {
        let listener = TcpListener::bind(address).await?;
        let address = listener.local_addr()?;
        let inbox = Inbox::default();
        let app = router(inbox.clone());
        let server = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                eprintln!("error: the OTLP receiver stopped: {error}");
            }
        });
        Ok(Receiver {
            address,
            inbox,
            server,
        })
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The base URL to give an exporter (`OTEL_EXPORTER_OTLP_ENDPOINT`).
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    pub fn inbox(&self) -> &Inbox {
        &self.inbox
    }

    /// Every span received so far, in the order they arrived.
    pub fn spans(&self) -> Vec<SpanRecord> {
        self.inbox.spans()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn receive(State(inbox): State<Inbox>, headers: HeaderMap, body: Bytes) -> Response {
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let Some(encoding) = Encoding::from_content_type(content_type) else {
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send application/x-protobuf or application/json\n",
        )
            .into_response();
    };
    let export = match otlp::decode(&body, encoding) {
        Ok(export) => export,
        Err(message) => return (StatusCode::BAD_REQUEST, format!("{message}\n")).into_response(),
    };
    let headers = headers
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            (name.as_str().to_owned(), value)
        })
        .collect();
    inbox.lock().push(Received {
        at: SystemTime::now(),
        headers,
        encoding,
        export,
    });
    inbox.arrived.send_modify(|count| *count += 1);
    // The answer OTLP/HTTP asks for: an (empty) ExportTraceServiceResponse, in the request's
    // encoding.
    let response = ExportTraceServiceResponse::default();
    match encoding {
        Encoding::Protobuf => (
            [(CONTENT_TYPE, "application/x-protobuf")],
            response.encode_to_vec(),
        )
            .into_response(),
        Encoding::Json => ([(CONTENT_TYPE, "application/json")], "{}").into_response(),
    }
}
