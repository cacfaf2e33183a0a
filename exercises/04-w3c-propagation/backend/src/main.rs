// Exercise 04: made from steps/04-w3c-propagation by `cargo run -p workshop starters`.
// Write what each TODO asks for, then `cargo run -p workshop check 04` says what the trace
// still lacks. `cargo run -p workshop reset 04` gives you this starter back.
//! Step 04, backend: still untraced, but it shows on stderr the trace headers it receives, so
//! you can see what crossed the wire from the frontend.

// Until every TODO is done, some of what the code imports or holds is unused.
#![allow(dead_code, unused_imports, unused_mut, unused_variables)]

use axum::{Router, http::HeaderMap, routing::get};
use step_support::BackendConfig;

#[tokio::main]
async fn main() {
    // Plumbing (step-support): bad configuration ends the program here, with exit code 2.
    let config = BackendConfig::from_env().unwrap_or_else(|error| error.exit());
    let listener = step_support::bind(&config.listen_addr)
        .await
        .unwrap_or_else(|error| error.exit());

    let router = Router::new().route("/", get(handle_request));
    step_support::serve(listener, router).await;
}

// ANCHOR: handle_request
async fn handle_request(headers: HeaderMap) -> &'static str {
    // NEW: the W3C Trace Context and Baggage headers, exactly as they arrived. `{:?}` quotes
    // the value and escapes anything unprintable: these headers come from strangers.
    for name in ["traceparent", "tracestate", "baggage"] {
        for value in headers.get_all(name) {
            eprintln!("received {name}: {value:?}");
        }
    }
    eprintln!("backend call received");
    "OK"
}
// ANCHOR_END: handle_request
