//! `cargo run -p trace-viewer`: an OTLP/HTTP receiver on 127.0.0.1:4318 (the OTLP default, so
//! step 07 sends here with no configuration) that draws each trace in the terminal once it is
//! complete. `LISTEN_ADDR` changes the address. Ctrl-C draws what is left and stops.

use std::time::{Duration, Instant};

use tokio::sync::oneshot;

use trace_viewer::{
    live::{MAX_SPANS_PER_TRACE, MAX_TRACES, Ready, Traces},
    receiver::{self, Inbox},
    spans,
};

/// The OTLP/HTTP port exporters send to by default.
const DEFAULT_LISTEN_ADDR: &str = "127.0.0.1:4318";
/// A whole trace is drawn once nothing has come for it for this long.
const SETTLE: Duration = Duration::from_millis(500);
/// A trace missing its root or a parent is drawn anyway after this long: a batching exporter
/// sends at least every 5 seconds.
const PATIENCE: Duration = Duration::from_secs(6);

#[tokio::main]
async fn main() {
    let listen_addr =
        step_support::listen_addr(DEFAULT_LISTEN_ADDR).unwrap_or_else(|error| error.exit());
    let listener = step_support::bind(&listen_addr)
        .await
        .unwrap_or_else(|error| error.exit());
    eprintln!(
        "Each trace is drawn here once it is complete. Exporters send to this address with \
         OTEL_EXPORTER_OTLP_ENDPOINT=http://{} (OTLP over HTTP, protobuf or JSON).",
        listener.address()
    );

    let inbox = Inbox::default();
    let (stop, stopped) = oneshot::channel();
    let drawing = tokio::spawn(draw_traces(inbox.clone(), stopped));
    step_support::serve(listener, receiver::router(inbox)).await;
    // The receiver has stopped: draw what is left, whole or not.
    let _ = stop.send(());
    if let Ok(mut traces) = drawing.await {
        for trace in traces.flush() {
            draw(&trace);
        }
    }
}

/// Draws each trace as it becomes ready, until `stopped`; then hands back what is left.
async fn draw_traces(inbox: Inbox, mut stopped: oneshot::Receiver<()>) -> Traces {
    let mut traces = Traces::new(SETTLE, PATIENCE);
    let mut arrivals = inbox.arrivals();
    loop {
        let next_check = traces.next_check();
        tokio::select! {
            changed = arrivals.changed() => {
                if changed.is_err() {
                    return traces;
                }
                for received in inbox.take() {
                    let left_out = traces.add(received.export.spans, Instant::now());
                    if left_out > 0 {
                        eprintln!(
                            "warning: {left_out} spans left out: at most {MAX_TRACES} traces of \
                             {MAX_SPANS_PER_TRACE} spans are kept"
                        );
                    }
                }
            }
            _ = sleep_until(next_check) => {}
            _ = &mut stopped => return traces,
        }
        for trace in traces.ready(Instant::now()) {
            draw(&trace);
        }
    }
}

async fn sleep_until(moment: Option<Instant>) {
    match moment {
        Some(moment) => tokio::time::sleep_until(moment.into()).await,
        None => std::future::pending().await,
    }
}

fn draw(trace: &Ready) {
    if trace.drawn_before > 0 {
        println!(
            "(again, with {} more span{} that came later)",
            trace.spans.len() - trace.drawn_before,
            if trace.spans.len() - trace.drawn_before == 1 {
                ""
            } else {
                "s"
            }
        );
    }
    let mut spans = trace.spans.clone();
    spans.sort_by_key(|span| span.start);
    println!("{}", spans::render(&spans));
}
