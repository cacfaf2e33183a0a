//! NEW: spans for the HTTP client's own work, the "pleasant surprise" of the post, whose Go
//! instrumentation added them by itself. reqwest has no such instrumentation, but it has the
//! extension points to build it on:
//!
//! - its **name resolver** ([`reqwest::dns::Resolve`]): `dns lookup`, only when a new connection
//!   needs an address for a name (an IP address in `BACKEND_URL` needs none);
//! - its **connector layer** (a tower [`Layer`] around the connector): `connect`, only when the
//!   request needs a new connection; a request that reuses a pooled connection has neither
//!   (unless it started one and a pooled connection came free first: hyper-util lets the new one
//!   finish in the background, so its `connect` stays in the trace of the request that began it);
//! - around the request: `send request`, from handing it to the client until the answer's status
//!   line and headers have arrived, with any `connect` inside it, and `read body`.
//!
//! Each span is a [`SpanInProgress`]: when `BACKEND_TIMEOUT_MS` passes, reqwest drops the work
//! in flight, and a span merely dropped would end as if that work had succeeded.
//!
//! reqwest offers no hook at the moment the request has been written to the socket, so
//! `send request` covers writing the request and waiting for the answer's headers together. The
//! steps are built without TLS; with it, the handshake happens inside the connector, so its time
//! would show in `connect`.

use std::{
    error::Error,
    future::Future,
    net::SocketAddr,
    pin::Pin,
    task::{Context as TaskContext, Poll},
};

use hyper_util::client::legacy::connect::{Connection, HttpInfo};
use opentelemetry::{
    Array, Context, KeyValue, StringValue, Value,
    trace::{FutureExt, SpanRef, Status, TraceContextExt, Tracer},
};
use opentelemetry_sdk::trace::SdkTracer;
use opentelemetry_semantic_conventions::attribute;
use reqwest::{
    Response, Url,
    dns::{Addrs, Name, Resolve, Resolving},
};
use tower::{Layer, Service};

// ANCHOR: instrument
/// Adds the `dns lookup` and `connect` spans to the client `builder` makes. They are children of
/// the span that is current while the request is being sent: [`send`] makes its own span
/// current for exactly that.
pub fn instrument(builder: reqwest::ClientBuilder, tracer: SdkTracer) -> reqwest::ClientBuilder {
    builder
        .dns_resolver(TracedResolver {
            tracer: tracer.clone(),
        })
        .connector_layer(ConnectSpanLayer { tracer })
}
// ANCHOR_END: instrument

// ANCHOR: resolver
/// The system's resolver (`getaddrinfo`, on tokio's blocking threads, as reqwest's default
/// resolver does it), with a `dns lookup` span around each lookup.
struct TracedResolver {
    tracer: SdkTracer,
}

impl Resolve for TracedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        // Called while the connector runs, so the current span is `connect`.
        let lookup = SpanInProgress::start(&self.tracer, "dns lookup", &Context::current());
        lookup
            .span()
            .set_attribute(KeyValue::new("dns.question.name", host.clone()));
        Box::pin(async move {
            match tokio::net::lookup_host((host.as_str(), 0)).await {
                Ok(found) => {
                    let addresses: Vec<SocketAddr> = found.collect();
                    let answers: Vec<StringValue> = addresses
                        .iter()
                        .map(|address| address.ip().to_string().into())
                        .collect();
                    lookup.span().set_attribute(KeyValue::new(
                        "dns.answers",
                        Value::Array(Array::String(answers)),
                    ));
                    lookup.succeed();
                    Ok(Box::new(addresses.into_iter()) as Addrs)
                }
                Err(error) => {
                    lookup.fail(&error);
                    Err(error.into())
                }
            }
        })
    }
}
// ANCHOR_END: resolver

// ANCHOR: connector
/// A tower layer for reqwest's connector: a `connect` span around every new connection, with
/// the address it reached.
#[derive(Clone)]
struct ConnectSpanLayer {
    tracer: SdkTracer,
}

impl<S> Layer<S> for ConnectSpanLayer {
    type Service = ConnectSpans<S>;

    fn layer(&self, connector: S) -> Self::Service {
        ConnectSpans {
            connector,
            tracer: self.tracer.clone(),
        }
    }
}

#[derive(Clone)]
struct ConnectSpans<S> {
    connector: S,
    tracer: SdkTracer,
}

impl<S, Destination> Service<Destination> for ConnectSpans<S>
where
    S: Service<Destination>,
    S::Response: Connection,
    S::Error: Into<Box<dyn Error + Send + Sync>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = Box<dyn Error + Send + Sync>;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut TaskContext<'_>) -> Poll<Result<(), Self::Error>> {
        self.connector.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, destination: Destination) -> Self::Future {
        // Called while the request is being sent, so the current span is `send request`.
        let connecting = SpanInProgress::start(&self.tracer, "connect", &Context::current());
        // The resolver runs inside the connector: in this context, its span is a child of
        // `connect`.
        let connection = self
            .connector
            .call(destination)
            .with_context(connecting.cx.clone());
        Box::pin(async move {
            let result = connection.await.map_err(Into::into);
            match &result {
                Ok(connection) => {
                    let attributes = connection_attributes(connection);
                    connecting.span().set_attributes(attributes);
                    connecting.succeed();
                }
                Err(error) => connecting.fail(error.as_ref()),
            }
            result
        })
    }
}

/// The transport, and the address at the other end of a new connection (when the connection
/// says, as hyper-util's TCP connector does).
fn connection_attributes(connection: &impl Connection) -> Vec<KeyValue> {
    let mut extras = http::Extensions::new();
    connection.connected().get_extras(&mut extras);
    let mut attributes = vec![KeyValue::new(attribute::NETWORK_TRANSPORT, "tcp")];
    if let Some(info) = extras.get::<HttpInfo>() {
        attributes.extend(peer_attributes(info.remote_addr()));
    }
    attributes
}
// ANCHOR_END: connector

// ANCHOR: send
/// Sends `request` in a `send request` span, a child of the span in `parent`. The span ends
/// when the answer's status line and headers have arrived. While the request is sent its span is
/// current, so the spans of a new connection become its children.
pub async fn send(
    tracer: &SdkTracer,
    parent: &Context,
    request: reqwest::RequestBuilder,
) -> reqwest::Result<Response> {
    // ANCHOR: todo_send_span
    // TODO: Send the request in a span of its own, `send request`, a child of the span in
    // `parent`, and make that span's context current while the request is in flight, so that
    // the connector's `connect` and the resolver's `dns lookup` become its children.
    // Sent without a span, so that the code compiles: replace it.
    request.send().await
    // ANCHOR_END: todo_send_span
}

/// Reads the whole body of `response` in a `read body` span, a child of the span in `parent`.
pub async fn read_body(
    tracer: &SdkTracer,
    parent: &Context,
    response: Response,
) -> reqwest::Result<()> {
    // ANCHOR: todo_read_body_span
    // TODO: Read the whole body in a span of its own, `read body`, a child of the span in
    // `parent`, with the body's size as `http.response.body.size`.
    // Read without a span, so that the code compiles: replace it.
    response.bytes().await.map(drop)
    // ANCHOR_END: todo_read_body_span
}
// ANCHOR_END: send

// ANCHOR: in_progress
/// A span around work that may be abandoned before it finishes: reqwest drops the lookup, the
/// connection or the request in flight when `BACKEND_TIMEOUT_MS` passes, and axum drops a
/// handler whose caller went away. Dropped before [`Self::succeed`] or [`Self::fail`], the span
/// ends as an error saying so, rather than as a success.
struct SpanInProgress {
    /// The span, in a context: to give to the work, whose own spans become its children.
    cx: Context,
    finished: bool,
}

impl SpanInProgress {
    /// Starts span `name` as a child of the span in `parent`.
    fn start(tracer: &SdkTracer, name: &'static str, parent: &Context) -> Self {
        let span = tracer.start_with_context(name, parent);
        Self {
            cx: parent.with_span(span),
            finished: false,
        }
    }

    fn span(&self) -> SpanRef<'_> {
        self.cx.span()
    }

    /// Ends the span: the work is done.
    fn succeed(mut self) {
        self.finished = true;
    }

    /// Ends the span as an error, with an `exception` event: the work failed.
    fn fail(mut self, error: &dyn Error) {
        self.span().record_error(error);
        self.span()
            .set_status(Status::error(step_support::one_line(error)));
        self.finished = true;
    }

    /// Ends the span as `result` says.
    fn finish<T>(self, result: &reqwest::Result<T>) {
        match result {
            Ok(_) => self.succeed(),
            Err(error) => self.fail(error),
        }
    }
}

impl Drop for SpanInProgress {
    fn drop(&mut self) {
        if !self.finished {
            self.span().set_status(Status::error(
                "abandoned before it finished: the request timed out or was cancelled",
            ));
        }
        self.span().end();
    }
}
// ANCHOR_END: in_progress

// ANCHOR: attributes
/// The HTTP semantic conventions' attributes of a client span, known before sending: the
/// method, the full URL (with any user name and password replaced by `REDACTED`, as the
/// conventions say) and the server it names.
pub fn request_attributes(method: &'static str, url: &Url) -> Vec<KeyValue> {
    let mut shown = url.clone();
    if !url.username().is_empty() || url.password().is_some() {
        // Only fails for URLs that cannot have credentials, which these have.
        let _ = shown.set_username("REDACTED");
        let _ = shown.set_password(Some("REDACTED"));
    }
    // ANCHOR: todo_request_attributes
    // TODO: The HTTP semantic conventions' attributes of the request, known before it is
    // sent: its method (`http.request.method`), the URL (`url.full`, the `shown` one, without
    // credentials), and the server it names (`server.address`, `server.port`).
    // No attribute, so that the code compiles: replace it.
    Vec::new()
    // ANCHOR_END: todo_request_attributes
}

/// What the answer adds: its status code, the HTTP version spoken, and the address that
/// answered.
pub fn response_attributes(response: &Response) -> Vec<KeyValue> {
    let mut attributes = vec![
        KeyValue::new(
            attribute::HTTP_RESPONSE_STATUS_CODE,
            i64::from(response.status().as_u16()),
        ),
        KeyValue::new(
            attribute::NETWORK_PROTOCOL_VERSION,
            protocol_version(response.version()),
        ),
    ];
    if let Some(address) = response.remote_addr() {
        attributes.extend(peer_attributes(address));
    }
    attributes
}

fn peer_attributes(address: SocketAddr) -> [KeyValue; 2] {
    [
        KeyValue::new(attribute::NETWORK_PEER_ADDRESS, address.ip().to_string()),
        KeyValue::new(attribute::NETWORK_PEER_PORT, i64::from(address.port())),
    ]
}

/// The version as the conventions write it: `1.1`, `2`.
fn protocol_version(version: reqwest::Version) -> &'static str {
    match version {
        reqwest::Version::HTTP_09 => "0.9",
        reqwest::Version::HTTP_10 => "1.0",
        reqwest::Version::HTTP_11 => "1.1",
        reqwest::Version::HTTP_2 => "2",
        reqwest::Version::HTTP_3 => "3",
        _ => "unknown",
    }
}
// ANCHOR_END: attributes
