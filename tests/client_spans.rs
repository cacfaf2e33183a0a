//! Step 08's real programs, and step 10's: the HTTP client's own spans. A request that needs a new connection
//! to a name shows `dns lookup` inside `connect` inside `send request`, in that order in time,
//! with the semantic-convention attributes; a request that reuses the connection shows neither
//! lookup nor connect; a connection that fails is an error on `connect`.

#![allow(clippy::unwrap_used)]

use reqwest::StatusCode;
use workshop::{
    harness::fake_backend::ClosedPort,
    harness::process::{self, Service, http_get},
    spans::{self, SpanRecord, outline, the_span},
    steps,
};

/// Step 08, and step 10, which makes the same spans with the `tracing` crate.
fn steps_with_client_spans() -> [&'static steps::Step; 2] {
    [steps::find("08").unwrap(), steps::find("10").unwrap()]
}

/// Asserts that `child` is a child of `parent` and lies inside it in time.
fn assert_inside(child: &SpanRecord, parent: &SpanRecord) {
    assert_eq!(
        child.parent_span_id,
        Some(parent.span_id),
        "{} is not a child of {}",
        child.name,
        parent.name
    );
    assert!(
        parent.start <= child.start && child.end <= parent.end,
        "{} ({:?} to {:?}) is not inside {} ({:?} to {:?})",
        child.name,
        child.start,
        child.end,
        parent.name,
        parent.start,
        parent.end
    );
}

#[tokio::test]
async fn a_new_connection_shows_lookup_and_connect_and_a_reused_one_neither() {
    for step in steps_with_client_spans() {
        let backend = Service::start(&step.backend(), &[]).await.unwrap();
        let port = backend.address().port();
        // A name, not an address, so that the client has to look it up.
        let backend_url = format!("http://localhost:{port}/");
        let frontend = Service::start(&step.frontend(), &[("BACKEND_URL", &backend_url)])
            .await
            .unwrap();
        // One after the other: the second finds the first one's connection idle in the pool.
        for _ in 0..2 {
            let answer = http_get(&frontend.url()).await.unwrap();
            assert_eq!(answer, (StatusCode::OK, "OK".into()));
        }
        let frontend = frontend.stop().await.unwrap();
        let backend = backend.stop().await.unwrap();
        let spans = process::exported_spans(step, &frontend, &backend).unwrap();
        let traces = spans::traces(&spans);
        assert_eq!(traces.len(), 2, "{}", outline(&spans));

        // The first request: lookup, then connect, inside sending; then the body.
        let first = &traces[0];
        println!("{}", spans::render(first));
        let call = the_span(first, "backend call");
        let send = the_span(first, "send request");
        let connect = the_span(first, "connect");
        let lookup = the_span(first, "dns lookup");
        let received = the_span(first, "backend call received");
        let read = the_span(first, "read body");
        assert_inside(send, call);
        assert_inside(connect, send);
        assert_inside(lookup, connect);
        assert_inside(read, call);
        assert!(
            send.end <= read.start,
            "the body is read after the headers came"
        );
        assert_eq!(received.parent_span_id, Some(call.span_id));
        assert!(send.start <= received.start && received.end <= send.end);

        let attribute = |span: &SpanRecord, key: &str| span.attributes.get(key).cloned();
        assert_eq!(
            attribute(lookup, "dns.question.name"),
            Some("localhost".into())
        );
        let peer = attribute(connect, "network.peer.address").unwrap();
        assert!(
            attribute(lookup, "dns.answers").unwrap().contains(&peer),
            "connected to {peer}, which the lookup did not find: {:?}",
            lookup.attributes
        );
        assert_eq!(peer, "127.0.0.1", "the backend listens on 127.0.0.1 only");
        assert_eq!(
            attribute(connect, "network.peer.port"),
            Some(port.to_string())
        );
        for (key, value) in [
            ("http.request.method", "GET"),
            ("url.full", backend_url.as_str()),
            ("server.address", "localhost"),
            ("server.port", &port.to_string()),
            ("http.response.status_code", "200"),
            ("network.protocol.version", "1.1"),
            ("network.peer.address", "127.0.0.1"),
            ("network.peer.port", &port.to_string()),
        ] {
            assert_eq!(attribute(call, key).as_deref(), Some(value), "{key}");
        }

        // The second request reused the connection: no lookup, no connect, the rest as before.
        let second = &traces[1];
        let names: Vec<&str> = second.iter().map(|span| span.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "incoming call",
                "backend call",
                "send request",
                "backend call received",
                "read body"
            ],
            "{}",
            outline(second)
        );
        let call = the_span(second, "backend call");
        assert_inside(the_span(second, "send request"), call);
        assert_inside(the_span(second, "read body"), call);
    }
}

#[tokio::test]
async fn a_connection_that_fails_is_an_error_on_connect() {
    for step in steps_with_client_spans() {
        let closed = ClosedPort::new();
        let frontend = Service::start(&step.frontend(), &[("BACKEND_URL", closed.url())])
            .await
            .unwrap();

        let (status, _) = http_get(&frontend.url()).await.unwrap();

        let frontend = frontend.stop().await.unwrap();
        assert_eq!(status, StatusCode::BAD_GATEWAY);
        let spans = frontend.spans();
        let connect = the_span(&spans, "connect");
        let message = connect.error_description().unwrap();
        assert!(message.contains("onnection refused"), "{message}");
        assert!(connect.event("exception").is_some());
        assert!(
            the_span(&spans, "send request")
                .error_description()
                .is_some()
        );
        assert!(
            spans.iter().all(|span| span.name != "read body"),
            "{}",
            outline(&spans)
        );
        assert_inside(connect, the_span(&spans, "send request"));
    }
}
