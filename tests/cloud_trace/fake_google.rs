//! A stand-in for the two Google services the Stackdriver exporter talks to, on
//! 127.0.0.1:443 over TLS and HTTP/2, as the real ones are: the OAuth token endpoint
//! (`oauth2.googleapis.com/token`) and the Cloud Trace API's `BatchWriteSpans`
//! (`cloudtrace.googleapis.com`). Run it where those names resolve to loopback (see
//! `isolation`). It makes its own certificate authority and service-account key, checks the
//! key's signature on every token request, and keeps every span batch it received, decoded with
//! the exporter crate's own protobuf types.

// This module reads the deprecated exporter's protobuf types throughout: every use of them would
// warn, and the deprecation is the step's subject, not this stand-in's.
#![allow(deprecated)]

use std::{
    collections::BTreeMap,
    convert::Infallible,
    path::PathBuf,
    sync::{Arc, Mutex, MutexGuard},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::{
    Request, Response, StatusCode,
    body::{Frame, Incoming},
    header::HeaderValue,
    http::HeaderMap,
    service::service_fn,
};
use hyper_util::rt::{TokioExecutor, TokioIo};
use opentelemetry::trace::{SpanId, SpanKind, Status, TraceId};
// The exporter's own protobuf types, so the stand-in reads the requests as Google would.
use opentelemetry_stackdriver::proto::devtools::cloudtrace::v2::{
    AttributeValue, BatchWriteSpansRequest, Span, attribute_value, span,
};
use prost_0_13::Message;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use serde_json::{Value, json};
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_rustls::{
    TlsAcceptor,
    rustls::{
        self,
        pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer},
    },
};
use workshop::spans::{EventRecord, SpanRecord};

use crate::{
    isolation::GOOGLE_HOSTS,
    service_account::{ServiceAccount, check_token_request},
};

pub const PROJECT_ID: &str = "workshop-test-project";
const TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
const BATCH_WRITE_SPANS: &str = "/google.devtools.cloudtrace.v2.TraceService/BatchWriteSpans";

/// What the stand-in received.
#[derive(Default, Debug)]
pub struct Received {
    /// The access tokens it gave out.
    pub tokens_issued: Vec<String>,
    /// The claims of every token request whose JWT carried the service account's signature.
    pub token_claims: Vec<Value>,
    /// Token requests refused, and why.
    pub refused: Vec<String>,
    /// Every `BatchWriteSpans` call.
    pub batches: Vec<Batch>,
}

/// One `BatchWriteSpans` call.
#[derive(Debug)]
pub struct Batch {
    /// Its `authorization` header.
    pub authorization: Option<String>,
    /// The project written to: `projects/PROJECT_ID`.
    pub project: String,
    /// Its spans: each one's resource name (`projects/P/traces/T/spans/S`) and the span.
    pub spans: Vec<(String, SpanRecord)>,
}

/// The stand-in, serving until dropped. Its files (the CA's certificate, the service-account
/// key, an empty home) are in a temporary folder that goes with it.
pub struct FakeGoogle {
    folder: tempfile::TempDir,
    /// The variables that lead a program here (see [`FakeGoogle::env`]).
    env: [(&'static str, String); 3],
    received: Arc<Mutex<Received>>,
    server: JoinHandle<()>,
}

impl Drop for FakeGoogle {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// How the stand-in behaves.
#[derive(Clone, Copy, PartialEq)]
pub enum Behaviour {
    /// Answers as Google does.
    Answering,
    /// Refuses every token request, as Google does for a deleted or disabled key.
    RefusingTokens,
    /// Gives tokens, but refuses spans as Google does for a project whose Cloud Trace API is
    /// not enabled.
    RefusingSpans,
    /// Takes TCP connections and never says a word: a network that swallows everything.
    Silent,
}

impl FakeGoogle {
    pub async fn start(behaviour: Behaviour) -> Self {
        let account = ServiceAccount::create(PROJECT_ID, TOKEN_URI);
        let key_file = account.key_file.display().to_string();
        let folder = account.folder;
        std::fs::create_dir(folder.path().join("home")).unwrap();

        let (ca_pem, acceptor) = tls_acceptor();
        std::fs::write(folder.path().join("ca.pem"), ca_pem).unwrap();

        let listener = TcpListener::bind("127.0.0.1:443").await.unwrap();
        let received = Arc::new(Mutex::new(Received::default()));
        let server = match behaviour {
            Behaviour::Answering | Behaviour::RefusingTokens | Behaviour::RefusingSpans => {
                tokio::spawn(serve(
                    listener,
                    acceptor,
                    Arc::new(account.public_key),
                    received.clone(),
                    behaviour,
                ))
            }
            Behaviour::Silent => tokio::spawn(async move {
                let mut held = Vec::new();
                while let Ok((connection, _)) = listener.accept().await {
                    held.push(connection);
                }
            }),
        };
        let path = |name: &str| folder.path().join(name).display().to_string();
        let env = [
            ("GOOGLE_APPLICATION_CREDENTIALS", key_file),
            ("SSL_CERT_FILE", path("ca.pem")),
            ("HOME", path("home")),
        ];
        FakeGoogle {
            folder,
            env,
            received,
            server,
        }
    }

    /// What a program needs to find this stand-in instead of Google: the key file, the CA that
    /// signed the stand-in's certificate, and a home with no gcloud configuration in it.
    pub fn env(&self) -> Vec<(&str, &str)> {
        self.env
            .iter()
            .map(|(name, value)| (*name, value.as_str()))
            .collect()
    }

    /// Rewrites the key file without its `project_id`, as some keys and user credentials are.
    pub fn remove_project_from_key(&self) {
        let path = self.folder.path().join("key.json");
        let mut key: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        key.as_object_mut().unwrap().remove("project_id");
        std::fs::write(path, key.to_string()).unwrap();
    }

    /// A home folder with nothing in it, for a program that must find no credentials.
    pub fn empty_home(&self) -> PathBuf {
        self.folder.path().join("home")
    }

    pub fn received(&self) -> MutexGuard<'_, Received> {
        self.received
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Every span received, in the order received.
    pub fn spans(&self) -> Vec<SpanRecord> {
        self.received()
            .batches
            .iter()
            .flat_map(|batch| batch.spans.iter().map(|(_, span)| span.clone()))
            .collect()
    }
}

/// A certificate authority made for this run, and a TLS acceptor whose certificate it signed
/// for Google's host names. Returns the CA's certificate (PEM) and the acceptor.
fn tls_acceptor() -> (String, TlsAcceptor) {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "workshop test CA");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();

    let server_key = KeyPair::generate().unwrap();
    let hosts: Vec<String> = GOOGLE_HOSTS.iter().map(|host| host.to_string()).collect();
    let server_cert = CertificateParams::new(hosts)
        .unwrap()
        .signed_by(&server_key, &ca)
        .unwrap();

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![server_cert.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der())),
        )
        .unwrap();
    // gRPC needs HTTP/2; gcp_auth's client asks for it too.
    config.alpn_protocols = vec![b"h2".to_vec()];
    (ca.pem(), TlsAcceptor::from(Arc::new(config)))
}

async fn serve(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    public_key: Arc<Vec<u8>>,
    received: Arc<Mutex<Received>>,
    behaviour: Behaviour,
) {
    while let Ok((connection, _)) = listener.accept().await {
        let acceptor = acceptor.clone();
        let public_key = public_key.clone();
        let received = received.clone();
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(connection).await else {
                return;
            };
            let service = service_fn(move |request| {
                answer(request, public_key.clone(), received.clone(), behaviour)
            });
            let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                .serve_connection(TokioIo::new(tls), service)
                .await;
        });
    }
}

type Body = BoxBody<Bytes, Infallible>;

async fn answer(
    request: Request<Incoming>,
    public_key: Arc<Vec<u8>>,
    received: Arc<Mutex<Received>>,
    behaviour: Behaviour,
) -> Result<Response<Body>, Infallible> {
    let host = request.uri().host().unwrap_or_default().to_owned();
    let path = request.uri().path().to_owned();
    let authorization = request
        .headers()
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let body = match request.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => return Ok(plain(StatusCode::BAD_REQUEST, "unreadable body")),
    };
    let mut received = received
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    Ok(match (host.as_str(), path.as_str()) {
        ("oauth2.googleapis.com", "/token") if behaviour == Behaviour::RefusingTokens => {
            received.refused.push("refused, as told".into());
            plain(
                StatusCode::BAD_REQUEST,
                "invalid_grant: Invalid JWT Signature.",
            )
        }
        ("oauth2.googleapis.com", "/token") => match check_token_request(&body, &public_key) {
            Ok(claims) => {
                let token = format!("ya29.workshop-{}", received.tokens_issued.len() + 1);
                received.tokens_issued.push(token.clone());
                received.token_claims.push(claims);
                let answer = json!({
                    "access_token": token,
                    "expires_in": 3599,
                    "token_type": "Bearer",
                });
                json_response(&answer)
            }
            Err(why) => {
                received.refused.push(why.clone());
                plain(StatusCode::BAD_REQUEST, &why)
            }
        },
        ("cloudtrace.googleapis.com", BATCH_WRITE_SPANS) => match grpc_message(&body) {
            Some(message) => match BatchWriteSpansRequest::decode(message) {
                Ok(batch) => {
                    received.batches.push(Batch {
                        authorization,
                        spans: batch
                            .spans
                            .iter()
                            .map(|span| (span.name.clone(), span_record(span)))
                            .collect(),
                        project: batch.name,
                    });
                    if behaviour == Behaviour::RefusingSpans {
                        grpc_error(PERMISSION_DENIED, API_DISABLED)
                    } else {
                        grpc_ok()
                    }
                }
                Err(_) => plain(StatusCode::BAD_REQUEST, "not a BatchWriteSpansRequest"),
            },
            None => plain(StatusCode::BAD_REQUEST, "not one uncompressed gRPC message"),
        },
        _ => plain(StatusCode::NOT_FOUND, "no such endpoint here"),
    })
}

/// The one message of a unary gRPC request: a 5-byte prefix (not compressed, length) and the
/// protobuf bytes.
fn grpc_message(body: &[u8]) -> Option<&[u8]> {
    let (&[compressed, a, b, c, d], message) = body.split_first_chunk::<5>()?;
    let length = u32::from_be_bytes([a, b, c, d]) as usize;
    (compressed == 0 && message.len() == length).then_some(message)
}

/// A successful unary gRPC answer: one empty message (`google.protobuf.Empty`), then the
/// `grpc-status: 0` trailer.
fn grpc_ok() -> Response<Body> {
    let mut trailers = HeaderMap::new();
    trailers.insert("grpc-status", HeaderValue::from_static("0"));
    let frames = futures_util::stream::iter([
        Ok(Frame::data(Bytes::from_static(&[0, 0, 0, 0, 0]))),
        Ok(Frame::trailers(trailers)),
    ]);
    Response::builder()
        .header("content-type", "application/grpc")
        .body(BodyExt::boxed(StreamBody::new(frames)))
        .unwrap()
}

/// gRPC's code for a caller without the permission, and what Google says with it when the
/// project has not enabled the API.
const PERMISSION_DENIED: &str = "7";
pub const API_DISABLED: &str = "Cloud Trace API has not been used in project workshop-test-project \
     before or it is disabled.";

/// A failed gRPC call, "trailers only": the status in the response's headers, no body.
fn grpc_error(code: &'static str, message: &'static str) -> Response<Body> {
    Response::builder()
        .header("content-type", "application/grpc")
        .header("grpc-status", code)
        .header("grpc-message", message.replace(' ', "%20"))
        .body(Full::new(Bytes::new()).boxed())
        .unwrap()
}

fn json_response(value: &Value) -> Response<Body> {
    Response::builder()
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(value.to_string())).boxed())
        .unwrap()
}

fn plain(status: StatusCode, text: &str) -> Response<Body> {
    Response::builder()
        .status(status)
        .body(Full::new(Bytes::from(format!("{text}\n"))).boxed())
        .unwrap()
}

/// A span as Cloud Trace received it, in the form the other tests compare: the service from
/// its `service.name` attribute (the exporter puts resource attributes on every span), the
/// trace and span ids from its resource name (`projects/P/traces/T/spans/S`), the
/// annotations as events. Attributes that came from the resource are left out, as the stdout
/// steps' spans have them apart.
fn span_record(span: &Span) -> SpanRecord {
    let name_parts: Vec<&str> = span.name.split('/').collect();
    let ["projects", _, "traces", trace_id, "spans", span_id] = name_parts.as_slice() else {
        panic!("not a span resource name: {}", span.name);
    };
    assert_eq!(*span_id, span.span_id, "span id in the name and the field");
    let mut attributes: BTreeMap<String, String> = span
        .attributes
        .iter()
        .flat_map(|attributes| &attributes.attribute_map)
        .map(|(key, value)| (key.clone(), attribute_text(value)))
        .collect();
    let service = attributes.remove("service.name").unwrap_or_default();
    attributes.retain(|key, _| !key.starts_with("telemetry.sdk."));
    let events = span
        .time_events
        .iter()
        .flat_map(|events| &events.time_event)
        .filter_map(|event| match &event.value {
            Some(span::time_event::Value::Annotation(annotation)) => Some(EventRecord {
                name: annotation
                    .description
                    .as_ref()
                    .map(|text| text.value.clone())
                    .unwrap_or_default(),
                time: system_time(event.time.as_ref()),
                attributes: BTreeMap::new(),
            }),
            _ => None,
        })
        .collect();
    SpanRecord {
        service,
        scope: String::new(),
        name: span
            .display_name
            .as_ref()
            .map(|text| text.value.clone())
            .unwrap_or_default(),
        kind: match span::SpanKind::try_from(span.span_kind) {
            Ok(span::SpanKind::Server) => SpanKind::Server,
            Ok(span::SpanKind::Client) => SpanKind::Client,
            Ok(span::SpanKind::Producer) => SpanKind::Producer,
            Ok(span::SpanKind::Consumer) => SpanKind::Consumer,
            _ => SpanKind::Internal,
        },
        trace_id: TraceId::from_hex(trace_id).unwrap(),
        span_id: SpanId::from_hex(span_id).unwrap(),
        parent_span_id: (!span.parent_span_id.is_empty())
            .then(|| SpanId::from_hex(&span.parent_span_id).unwrap()),
        status: match &span.status {
            None => Status::Unset,
            Some(status) if status.code == 0 => Status::Ok,
            Some(status) => Status::error(status.message.clone()),
        },
        start: system_time(span.start_time.as_ref()),
        end: system_time(span.end_time.as_ref()),
        links: Vec::new(),
        attributes,
        events,
    }
}

fn attribute_text(value: &AttributeValue) -> String {
    match &value.value {
        Some(attribute_value::Value::StringValue(text)) => text.value.clone(),
        Some(attribute_value::Value::IntValue(number)) => number.to_string(),
        Some(attribute_value::Value::BoolValue(truth)) => truth.to_string(),
        None => String::new(),
    }
}

fn system_time(timestamp: Option<&prost_types::Timestamp>) -> SystemTime {
    let timestamp = timestamp.expect("a time");
    UNIX_EPOCH + Duration::new(timestamp.seconds as u64, timestamp.nanos as u32)
}
