// Exercise 03: made from steps/03-child-span-and-events by `cargo run -p workshop starters`.
// Write what each TODO asks for, then `cargo run -p workshop check 03` says what the trace
// still lacks. `cargo run -p workshop reset 03` gives you this starter back.
//! Step 03, backend: unchanged from step 01; only the frontend is traced so far.

// Until every TODO is done, some of what the code imports or holds is unused.
#![allow(dead_code, unused_imports, unused_mut, unused_variables)]

use axum::{Router, routing::get};
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

async fn handle_request() -> &'static str {
    eprintln!("backend call received");
    "OK"
}
