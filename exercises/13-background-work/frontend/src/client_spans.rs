//! The HTTP client's own spans, as in step 08, made with `tracing`: `dns lookup` from reqwest's
//! name resolver, `connect` from a tower layer around its connector, `send request` and
//! `read body` around the request. (Step 08's copy explains which requests have which.)
//!
//! A span is a child of the span that is current where it is made: `Instrument::instrument`
//! makes a span current each time its future runs, which is how `connect` ends up inside
//! `send request` and `dns lookup` inside `connect`.

use std::{
    error::Error,
    future::Future,
    net::SocketAddr,
    pin::Pin,
    task::{Context as TaskContext, Poll},
};

use crate::semconv;
use hyper_util::client::legacy::connect::{Connection, HttpInfo};
use opentelemetry::{Array, KeyValue, StringValue, Value, trace::Status};
use reqwest::{
    Response, Url,
    dns::{Addrs, Name, Resolve, Resolving},
};
use tower::{Layer, Service};
use tracing::{Instrument, Span, field, info_span};
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Adds the `dns lookup` and `connect` spans to the client `builder` makes.
pub fn instrument(builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
    builder
        .dns_resolver(TracedResolver)
        .connector_layer(ConnectSpanLayer)
}

/// The system's resolver (`getaddrinfo`, on tokio's blocking threads, as reqwest's default
/// resolver does it), with a `dns lookup` span around each lookup.
struct TracedResolver;

impl Resolve for TracedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        // Called while the connector runs, so the current span, the parent, is `connect`.
        let lookup = SpanInProgress::new(info_span!("dns lookup", dns.question.name = %host));
        let span = lookup.span.clone();
        Box::pin(
            async move {
                match tokio::net::lookup_host((host.as_str(), 0)).await {
                    Ok(found) => {
                        let addresses: Vec<SocketAddr> = found.collect();
                        let answers: Vec<StringValue> = addresses
                            .iter()
                            .map(|address| address.ip().to_string().into())
                            .collect();
                        // A list, which `tracing`'s fields cannot hold: set through
                        // OpenTelemetry's API on the span's OpenTelemetry side.
                        lookup
                            .span
                            .set_attribute("dns.answers", Value::Array(Array::String(answers)));
                        lookup.succeed();
                        Ok(Box::new(addresses.into_iter()) as Addrs)
                    }
                    Err(error) => {
                        lookup.fail(&error);
                        Err(error.into())
                    }
                }
            }
            .instrument(span),
        )
    }
}

/// A tower layer for reqwest's connector: a `connect` span around every new connection, with
/// the address it reached.
#[derive(Clone)]
struct ConnectSpanLayer;

impl<S> Layer<S> for ConnectSpanLayer {
    type Service = ConnectSpans<S>;

    fn layer(&self, connector: S) -> Self::Service {
        ConnectSpans { connector }
    }
}

#[derive(Clone)]
struct ConnectSpans<S> {
    connector: S,
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
        let connecting = SpanInProgress::new(info_span!(
            "connect",
            network.transport = "tcp",
            network.peer.address = field::Empty,
            network.peer.port = field::Empty,
        ));
        // The resolver runs inside the connector: with `connect` current, its span is a child.
        let connection = self
            .connector
            .call(destination)
            .instrument(connecting.span.clone());
        Box::pin(async move {
            let result = connection.await.map_err(Into::into);
            match &result {
                Ok(connection) => {
                    let mut extras = http::Extensions::new();
                    connection.connected().get_extras(&mut extras);
                    if let Some(info) = extras.get::<HttpInfo>() {
                        record_peer(&connecting.span, info.remote_addr());
                    }
                    connecting.succeed();
                }
                Err(error) => connecting.fail(error.as_ref()),
            }
            result
        })
    }
}

/// Sends `request` in a `send request` span, a child of the current span, which ends when the
/// answer's status line and headers have arrived.
pub async fn send(request: reqwest::RequestBuilder) -> reqwest::Result<Response> {
    let sending = SpanInProgress::new(info_span!("send request"));
    let result = request.send().instrument(sending.span.clone()).await;
    sending.finish(&result);
    result
}

/// Reads the whole body of `response` in a `read body` span, a child of the current span.
pub async fn read_body(response: Response) -> reqwest::Result<()> {
    let reading = SpanInProgress::new(info_span!(
        "read body",
        http.response.body.size = field::Empty
    ));
    let result = response.bytes().instrument(reading.span.clone()).await;
    if let Ok(body) = &result {
        reading.span.record("http.response.body.size", body.len());
    }
    reading.finish(&result);
    result.map(drop)
}

/// A span around work that may be abandoned before it finishes (as in step 08): dropped before
/// [`Self::succeed`] or [`Self::fail`], the span ends as an error saying so, rather than as a
/// success.
struct SpanInProgress {
    span: Span,
    finished: bool,
}

impl SpanInProgress {
    fn new(span: Span) -> Self {
        Self {
            span,
            finished: false,
        }
    }

    fn succeed(mut self) {
        self.finished = true;
    }

    /// The work failed: an `exception` event and the error status on the span, in the trace
    /// only. (An `error!` would log a line as well, and `backend call` logs the one the
    /// failure deserves.)
    fn fail(mut self, error: &dyn Error) {
        let message = step_support::one_line(error);
        self.span.add_event(
            "exception",
            vec![KeyValue::new("exception.message", message.clone())],
        );
        self.span.set_status(Status::error(message));
        self.finished = true;
    }

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
            self.span.set_status(Status::error(
                "abandoned before it finished: the request timed out or was cancelled",
            ));
        }
    }
}

/// `url` as the `url.full` attribute shows it: any user name and password replaced by
/// `REDACTED`, as the HTTP semantic conventions say.
pub fn url_without_credentials(url: &Url) -> Url {
    let mut shown = url.clone();
    if !url.username().is_empty() || url.password().is_some() {
        // Only fails for URLs that cannot have credentials, which these have.
        let _ = shown.set_username("REDACTED");
        let _ = shown.set_password(Some("REDACTED"));
    }
    shown
}

/// What the answer adds to `span` (`backend call`): its status code, the HTTP version spoken,
/// and the address that answered. The fields were declared, empty, when the span was made.
pub fn record_response(span: &Span, response: &Response) {
    span.record("http.response.status_code", response.status().as_u16());
    span.record(
        "network.protocol.version",
        semconv::protocol_version(response.version()),
    );
    if let Some(address) = response.remote_addr() {
        record_peer(span, address);
    }
}

fn record_peer(span: &Span, address: SocketAddr) {
    span.record("network.peer.address", field::display(address.ip()));
    span.record("network.peer.port", address.port());
}
