//! What each lever buys under load: each set-up against the untraced pair, over the same rounds,
//! with its instructions per request.

use std::fmt::Write as _;

use crate::callgrind::Instructions;

use crate::{
    added_microseconds, instructions, mebibytes, thousands,
    under_load::{Figures, Kept, LEVERS, UnderLoad, p99_added, ratio},
};

/// The table: a row per traced set-up, the first as its chapter builds it. `counted` holds
/// each set-up's instructions in [`UnderLoad`]'s order (untraced, traced, levers).
pub(crate) fn report(
    under_load: &UnderLoad,
    counted: Option<&[[Instructions; 2]]>,
) -> Result<String, String> {
    let untraced = &under_load.untraced;
    let mut text = String::from(
        "### What each lever buys\n\n\
         Each set-up is step 07 as its chapter builds it, or with one thing changed by the \
         variable that changes it; the samplers are step 09's, the step that reads \
         `OTEL_TRACES_SAMPLER` (it also traces the HTTP client: two or three more spans a \
         request). Each was measured under load in the same rounds as the untraced pair, and \
         its instructions counted as above.\n\n\
         | Set-up | What it changes | Traces received | Peak memory |\n|---|---|--:|--:|\n",
    );
    for figures in under_load.lever_setups() {
        let setup = figures.setup;
        let traces = match setup.kept {
            Kept::Fraction(_) => format!(
                "{} of {} ({:.1}%)",
                thousands(figures.traces_received as f64),
                thousands(figures.sent as f64),
                100.0 * figures.traces_received as f64 / figures.sent.max(1) as f64
            ),
            _ => format!(
                "{} of {}",
                thousands(figures.traces_received as f64),
                thousands(figures.sent as f64)
            ),
        };
        let _ = writeln!(
            text,
            "| {} | {} | {traces} | {} |",
            setup.name,
            setup.changes(),
            mebibytes(figures.largest_peak_kib())
        );
    }
    text.push_str(
        "\nAgainst the untraced pair: throughput, latency and CPU time under load; \
         instructions per request, on the request's path and on the export path. (The set-ups' \
         table gives the larger program's peak memory.)\n\n\
         | Set-up | Throughput | p99 added | CPU added per request | Of it, export path | \
         Instructions added, request's path | Instructions added, export path |\n\
         |---|--:|--:|--:|--:|--:|--:|\n",
    );
    let export_cpu =
        |figures: &Figures| figures.export_cpu_per_request(0) + figures.export_cpu_per_request(1);
    for (index, figures) in under_load.lever_setups().enumerate() {
        let setup = figures.setup;
        let (request_path, export_path) = match counted {
            Some(counted) => {
                let (request_before, export_before) = instructions::by_path(&counted[0]);
                let (request_after, export_after) = instructions::by_path(&counted[index + 1]);
                (
                    instructions::signed_thousands(request_after as i64 - request_before as i64),
                    instructions::signed_thousands(export_after as i64 - export_before as i64),
                )
            }
            None => ("not counted".to_owned(), "not counted".to_owned()),
        };
        let _ = writeln!(
            text,
            "| {} | {:.3} × | {:+.2} ms | {} | {} | {request_path} | {export_path} |",
            setup.name,
            ratio(untraced, figures),
            p99_added(untraced, figures) * 1e3,
            added_microseconds(
                untraced.cpu_per_request_total(),
                figures.cpu_per_request_total()
            ),
            added_microseconds(export_cpu(untraced), export_cpu(figures)),
        );
    }
    text.push_str(
        "\nEvery set-up's traces arrived whole (each with every span of the step's outline; a \
         request on a reused connection has no `connect` span), every kept request's trace \
         arrived, and no SDK dropped a span.\n\n",
    );
    Ok(text)
}

/// What each signal costs: steps 10, 11 and 12, each adding one, against the untraced pair and
/// against the step before. `counted` as for [`report`]: the signals come after the levers.
pub(crate) fn signals_report(
    under_load: &UnderLoad,
    counted: Option<&[[Instructions; 2]]>,
) -> Result<String, String> {
    let untraced = &under_load.untraced;
    let mut text = String::from(
        "### What each signal costs\n\n\
         Step 10 sends traces (written with the `tracing` crate), step 11 adds metrics (two \
         histograms, an up-down counter and a counter, recorded on every request; exported \
         once a minute, so within a round only their recording shows), step 12 adds log \
         records (one per service per request, batched like the spans). Measured under load in \
         the same rounds as the others, and their instructions counted as above. Each row's \
         last two columns are what its signal adds to the step before.\n\n\
         | Set-up | Throughput | CPU added per request | Instructions added per request | \
         The signal adds, CPU | The signal adds, instructions |\n\
         |---|--:|--:|--:|--:|--:|\n",
    );
    // The signals' places in `counted`: after the untraced pair, the traced one and the levers.
    let first = 2 + LEVERS.len();
    let total = |index: usize| -> Option<i64> {
        let [frontend, backend] = counted?.get(index)?;
        Some((frontend.total() + backend.total()) as i64)
    };
    let mut before: Option<(&Figures, Option<i64>)> = None;
    for (offset, figures) in under_load.signal_setups().enumerate() {
        let instructions = total(first + offset);
        let untraced_instructions = total(0);
        let added = match (instructions, untraced_instructions) {
            (Some(after), Some(base)) => instructions::signed_thousands(after - base),
            _ => "not counted".to_owned(),
        };
        let (signal_cpu, signal_instructions) = match before {
            None => ("–".to_owned(), "–".to_owned()),
            Some((previous, previous_instructions)) => (
                added_microseconds(
                    previous.cpu_per_request_total(),
                    figures.cpu_per_request_total(),
                ),
                match (instructions, previous_instructions) {
                    (Some(after), Some(base)) => instructions::signed_thousands(after - base),
                    _ => "not counted".to_owned(),
                },
            ),
        };
        let _ = writeln!(
            text,
            "| {} | {:.3} × | {} | {added} | {signal_cpu} | {signal_instructions} |",
            figures.setup.name,
            ratio(untraced, figures),
            added_microseconds(
                untraced.cpu_per_request_total(),
                figures.cpu_per_request_total()
            ),
        );
        before = Some((figures, instructions));
    }
    text.push_str(
        "\nThroughput and CPU time are against the untraced pair; instructions count both \
         programs, the request's path and the export path.\n\n",
    );
    Ok(text)
}
