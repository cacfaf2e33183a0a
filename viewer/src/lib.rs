//! See a trace without Docker or a cloud account: an OTLP receiver on loopback, a drawing of
//! each trace, in 80 columns, as it completes, and a web page that shows them.
//!
//! - [`otlp`] decodes what an OTLP exporter sends (protobuf or JSON) into records: spans
//!   ([`spans::SpanRecord`]), log records and metrics (held in [`signals`]);
//! - [`receiver`] is the HTTP endpoint an exporter sends to (`POST /v1/traces`, `/v1/metrics`
//!   and `/v1/logs`);
//! - [`live`] groups spans into traces and says when one is complete enough to draw;
//! - [`spans`] draws a trace (also used by the workshop's runner and tests);
//! - [`tables`] draws the metrics as tables, with the slowest requests' traces;
//! - [`terminal`] makes text from the network safe to print, and cuts long lines at spaces;
//! - [`waterfall`] draws a trace in SVG (the web page's, and the book's pictures);
//! - [`web`] is the web page: the traces, each trace's waterfall and spans, the metric tables;
//! - [`markup`] makes text from the network safe in HTML and SVG.

pub mod live;
pub mod markup;
pub mod otlp;
pub mod receiver;
pub mod signals;
pub mod spans;
pub mod tables;
pub mod terminal;
pub mod waterfall;
pub mod web;
