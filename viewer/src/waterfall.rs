//! A trace drawn as a waterfall in SVG, the way Dapper's paper and every tracing UI draw it: a
//! row per span, indented under its parent, with a bar on the trace's time line. One drawing
//! for both places a trace is looked at: the book's pictures ([`Target::Picture`]: a file of
//! its own, each span's events, links and attributes in rows under it) and the viewer's web
//! page ([`Target::Page`]: inside the page, whose style sheet it uses; a span's name is a link
//! to what the page shows of it).

use std::{collections::HashMap, fmt::Write, time::SystemTime};

use opentelemetry::trace::{SpanId, TraceId};

use crate::{
    markup::escape,
    spans::{self, SpanRecord},
    terminal,
};

/// Where the drawing goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A file of its own (the book's pictures): its own style, and each span's details drawn
    /// under it.
    Picture,
    /// Inside the viewer's web page: the page's style sheet (its Content-Security-Policy
    /// allows no other), and each span's name a link to `#span-<id>`, where the page shows its
    /// details.
    Page,
}

// The layout, in pixels. Labels are in a monospace font, so their widths are known.
const WIDTH: f64 = 760.0;
const ROW: f64 = 24.0;
const TOP: f64 = 70.0;
const CHAR: f64 = 7.3;
const NAME_X: f64 = 92.0;
const DEPTH_INDENT: f64 = 20.0;
const TIMELINE_X: f64 = 380.0;
/// The characters a service's name may take, left of the spans' names.
const SERVICE_COLUMNS: usize = 10;
/// The time line leaves room on its right for the durations.
const TIMELINE_WIDTH: f64 = WIDTH - TIMELINE_X - 90.0;

/// The style a [`Target::Picture`] carries; the page's style sheet has the same rules.
pub const STYLE: &str = "\
.service { font-weight: bold; }
.span { fill: #222; }
.note { fill: #777; font-size: 11px; }
.detail { fill: #444; }
.error { fill: #c0392b; }
.duration { fill: #555; font-size: 11px; }
.grid { stroke: #ddd; stroke-width: 1; }
.branch { stroke: #999; fill: none; stroke-width: 1; }
.event { fill: #fff; stroke: #222; stroke-width: 1.2; }
.link { stroke: #555; stroke-dasharray: 4 3; fill: none; stroke-width: 1; }
";

/// `spans` (one trace, or a request's trace with those linked to it) drawn under `title`;
/// `description` goes into the drawing's `<desc>`, for screen readers (the book puts the
/// trace's outline there, which its tests read back). Every text from the spans is escaped:
/// telemetry is data, never markup.
pub fn svg(spans: &[SpanRecord], title: &str, description: &str, target: Target) -> String {
    let Some((trace_start, trace_end)) = spans::bounds(spans) else {
        return String::new();
    };
    let total_ms = millis_between(trace_start, trace_end).max(0.001);
    let x_at = |time: SystemTime| {
        TIMELINE_X + millis_between(trace_start, time) / total_ms * TIMELINE_WIDTH
    };
    let details = target == Target::Picture;

    let mut rows = String::new();
    let mut row = 0usize;
    // The row of each span drawn so far, in the tree's order.
    let mut span_rows: Vec<usize> = Vec::new();
    let tree = spans::tree(spans);
    // Each span's place in the tree, to find a link's span without searching for it.
    let places: HashMap<(TraceId, SpanId), usize> = tree
        .iter()
        .enumerate()
        .map(|(index, (span, _, _))| ((span.trace_id, span.span_id), index))
        .collect();
    for (span, depth, _) in &tree {
        let y = TOP + row as f64 * ROW;
        let span_y = y;
        let colour = service_colour(&span.service);
        // A chain of spans as deep as a hostile sender likes stays within the drawing.
        let name_x = NAME_X + (*depth).min(spans::MAX_DRAWN_DEPTH) as f64 * DEPTH_INDENT;
        // On the page, the span's row is a link to its details: `#span-` and its id, hex
        // digits only.
        let (open, close) = match target {
            Target::Picture => (String::new(), ""),
            // The whole row is the link: a band behind it takes the click.
            Target::Page => (
                format!(
                    r##"<a href="#span-{}" class="span-row" data-span="{}"><rect x="0" y="{:.1}" width="{WIDTH}" height="{ROW}" class="row-band"/>"##,
                    span.span_id,
                    span.span_id,
                    y - 16.0
                ),
                "</a>",
            ),
        };
        rows.push_str(&open);
        if *depth > 0 && *depth <= spans::MAX_DRAWN_DEPTH {
            // └ from the parent's row down to this one.
            let parent_row = parent_row(&tree, span, &span_rows);
            let x = name_x - DEPTH_INDENT + 5.0;
            let _ = writeln!(
                rows,
                r#"<path d="M{x:.1} {:.1} V{:.1} H{:.1}" class="branch"/>"#,
                TOP + parent_row as f64 * ROW + 5.0,
                y - 4.0,
                name_x - 4.0
            );
        }
        // Names cut to their column (`…`), so that a long one never runs over the next.
        let service = terminal::clip(&span.service, SERVICE_COLUMNS);
        let kind = spans::kind_name(&span.kind);
        let name_columns = ((TIMELINE_X - 8.0 - name_x) / CHAR) as usize;
        let name = terminal::clip(&span.name, name_columns.saturating_sub(kind.len() + 1));
        let _ = writeln!(
            rows,
            r#"<text x="12" y="{y:.1}" class="service" fill="{colour}">{}</text>"#,
            escape(&service)
        );
        let _ = writeln!(
            rows,
            r#"<text x="{name_x:.1}" y="{y:.1}" class="span">{}</text><text x="{:.1}" y="{y:.1}" class="note">{kind}</text>"#,
            escape(&name),
            name_x + (terminal::width(&name) as f64 + 1.0) * CHAR,
        );
        let (start_x, end_x) = (x_at(span.start), x_at(span.end).max(x_at(span.start) + 2.0));
        let fill = if span.error_description().is_some() {
            "#c0392b"
        } else {
            colour
        };
        let _ = writeln!(
            rows,
            r#"<rect x="{start_x:.1}" y="{:.1}" width="{:.1}" height="14" rx="2" fill="{fill}"/>"#,
            y - 11.0,
            end_x - start_x
        );
        let _ = writeln!(
            rows,
            r#"<text x="{:.1}" y="{y:.1}" class="duration" text-anchor="end">{:.2} ms</text>{close}"#,
            WIDTH - 10.0,
            millis_between(span.start, span.end)
        );
        span_rows.push(row);
        row += 1;
        let detail_x = name_x + 14.0;
        for event in &span.events {
            let event_x = x_at(event.time);
            let _ = writeln!(
                rows,
                r#"<path d="M{event_x:.1} {:.1} l5 7 l-5 7 l-5 -7 z" class="event"/>"#,
                span_y - 11.0
            );
            if !details {
                continue;
            }
            let y = TOP + row as f64 * ROW;
            let _ = writeln!(
                rows,
                r#"<path d="M{:.1} {:.1} l4 5 l-4 5 l-4 -5 z" class="event"/><text x="{detail_x:.1}" y="{y:.1}" class="detail">{} <tspan class="note">event, +{:.2} ms</tspan></text>"#,
                detail_x - 8.0,
                y - 9.0,
                escape(&event.name),
                millis_between(span.start, event.time)
            );
            row += 1;
        }
        // A link to a span of another trace (step 13's job): a dashed line from that span's
        // bar to this span's, and in a picture a row naming the span linked to.
        for link in &span.links {
            let linked = places.get(&(link.trace_id, link.span_id)).copied();
            let named = match linked {
                Some(index) => {
                    let (other, _, _) = tree[index];
                    // Drawn above this span (a link to a later span gets no line).
                    if let Some(other_row) = span_rows.get(index) {
                        let from_y = TOP + *other_row as f64 * ROW - 4.0;
                        let _ = writeln!(
                            rows,
                            r#"<path d="M{:.1} {from_y:.1} L{start_x:.1} {:.1}" class="link"/>"#,
                            x_at(other.start),
                            span_y - 4.0
                        );
                    }
                    format!("{}: {}", escape(&other.service), escape(&other.name))
                }
                None => "a span of another trace".to_owned(),
            };
            if !details {
                continue;
            }
            let y = TOP + row as f64 * ROW;
            let _ = writeln!(
                rows,
                r#"<text x="{detail_x:.1}" y="{y:.1}" class="detail">↗ {named} <tspan class="note">link</tspan></text>"#
            );
            row += 1;
        }
        if !details {
            continue;
        }
        for (key, value) in &span.attributes {
            let y = TOP + row as f64 * ROW;
            let _ = writeln!(
                rows,
                r#"<text x="{detail_x:.1}" y="{y:.1}" class="detail">{} = {}</text>"#,
                escape(key),
                escape(value)
            );
            row += 1;
        }
        if let Some(description) = span.error_description() {
            let y = TOP + row as f64 * ROW;
            let _ = writeln!(
                rows,
                r#"<text x="{detail_x:.1}" y="{y:.1}" class="detail error">error: {}</text>"#,
                escape(description)
            );
            row += 1;
        }
    }

    let height = TOP + row as f64 * ROW;
    let mut axis = String::new();
    for quarter in 0..=4 {
        let x = TIMELINE_X + TIMELINE_WIDTH * f64::from(quarter) / 4.0;
        let _ = writeln!(
            axis,
            r#"<line x1="{x:.1}" y1="54" x2="{x:.1}" y2="{:.1}" class="grid"/><text x="{x:.1}" y="48" class="note" text-anchor="middle">{:.2} ms</text>"#,
            height - 10.0,
            total_ms * f64::from(quarter) / 4.0
        );
    }
    let style = match target {
        Target::Picture => format!("<style>\n{STYLE}</style>\n"),
        Target::Page => String::new(),
    };
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0}" viewBox="0 0 {WIDTH} {height:.0}" role="img" font-family="ui-monospace, SFMono-Regular, Menlo, Consolas, 'DejaVu Sans Mono', monospace" font-size="12">
<title>{title}</title>
<desc>{desc}</desc>
{style}<rect width="100%" height="100%" fill="#fff"/>
<text x="12" y="20" font-weight="bold">{title}</text>
<text x="12" y="48" class="note">service</text><text x="{NAME_X}" y="48" class="note">span (kind)</text>
{axis}{rows}</svg>
"##,
        title = escape(title),
        desc = escape(description),
    )
}

/// The title the book's pictures carry: `{caption}: 3 spans, frontend and backend`.
pub fn heading(spans: &[SpanRecord], caption: &str) -> String {
    let services = spans::services(spans);
    // A request whose job has a trace of its own (step 13) shows both.
    let traces = match spans::traces(spans).len() {
        1 => String::new(),
        count => format!(" in {count} traces"),
    };
    format!(
        "{caption}: {} span{}{traces}, {}",
        spans.len(),
        if spans.len() == 1 { "" } else { "s" },
        services.join(" and ")
    )
}

/// The row of `span`'s parent among the rows drawn so far (the row above, if not found).
fn parent_row(
    tree: &[(&SpanRecord, usize, bool)],
    span: &SpanRecord,
    span_rows: &[usize],
) -> usize {
    tree.iter()
        .position(|(candidate, _, _)| Some(candidate.span_id) == span.parent_span_id)
        .and_then(|index| span_rows.get(index))
        .or(span_rows.last())
        .copied()
        .unwrap_or(0)
}

/// The colour of a service's names and bars: the demo's two have their own.
pub fn service_colour(service: &str) -> &'static str {
    match service {
        "frontend" => "#2f6db0",
        "backend" => "#c96a12",
        _ => "#5b7f3a",
    }
}

fn millis_between(from: SystemTime, to: SystemTime) -> f64 {
    to.duration_since(from).unwrap_or_default().as_secs_f64() * 1000.0
}
