//! The picture of a traced step's trace: one request through its programs, drawn as a waterfall
//! in SVG, with the trace's outline in the picture's `<desc>`.

use trace_viewer::waterfall;

use crate::{
    harness::process::{self, Pair},
    spans::{self, SpanRecord},
    steps::{STEPS, Step},
};

/// The steps whose trace the book draws: those that export spans and run without a cloud
/// account.
pub fn pictured_steps() -> impl Iterator<Item = &'static Step> {
    STEPS
        .iter()
        .filter(|step| step.local && (step.frontend_traced || step.backend_traced))
}

/// The file name, under [`GENERATED`](super::GENERATED), of the picture of `step`'s trace.
pub fn picture_name(step: &Step) -> String {
    format!("step-{}-trace.svg", step.number)
}

/// Runs `step`'s two programs, sends the frontend one request, stops both and returns the
/// spans they exported. The programs must have been built.
pub async fn one_request(step: &Step) -> Result<Vec<SpanRecord>, String> {
    let pair = Pair::start(step, &[]).await?;
    let answer = process::http_get(&pair.frontend.url()).await;
    let (frontend, backend) = pair.stop().await?;
    match answer? {
        (status, _) if !status.is_success() => Err(format!("the frontend answered {status}")),
        _ => process::exported_spans(step, &frontend, &backend),
    }
}

/// The text a picture carries in its `<desc>`: the trace's outline ([`spans::outline`]).
/// The tests compare it with what the step exports now.
pub fn picture_outline(svg: &str) -> Option<String> {
    let desc = svg.split("<desc>").nth(1)?.split("</desc>").next()?;
    Some(
        desc.replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&"),
    )
}

/// One request's trace drawn as a waterfall ([`trace_viewer::waterfall`], the drawing the trace
/// viewer's web page shows), with each span's events, links and attributes under it, and the
/// trace's outline in its `<desc>`, for screen readers and the tests.
pub fn picture(spans: &[SpanRecord], caption: &str) -> String {
    waterfall::svg(
        spans,
        &waterfall::heading(spans, caption),
        &spans::outline(spans),
        waterfall::Target::Picture,
    )
}
