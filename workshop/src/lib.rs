//! The workshop's own tooling: the runner behind `cargo run -p workshop`, and the harness for
//! the tests that prove what each step's programs export.
//!
//! - [`book`] makes what the book shows of the steps: diffs and trace pictures;
//! - [`exercises`] makes each exercise's starter from its step;
//! - [`check`] runs an attendee's exercise and says what its trace still lacks;
//! - [`diagnosis`] hides a fault in step 08's programs for the attendee to find in the trace;
//! - [`drawing`] compares drawings of traces with samples;
//! - [`process`] builds and runs the steps' real programs;
//! - [`stdout`] reads back the spans they print;
//! - [`spans`] holds the trace viewer's records of spans, and outlines and checks them;
//! - [`fake_backend`] stands in for a backend that fails on purpose;
//! - [`hostile_headers`] sends malformed trace headers and checks what came of them;
//! - [`in_process`] sends a request straight to a router;
//! - [`load`] sends many requests at once and records their latencies;
//! - [`other_signals`] outlines and checks the metrics and log records of one request;
//! - [`steps`] lists the steps;
//! - [`up`] runs one step in one terminal, drawing its traces as they come;
//! - [`doctor`] checks an attendee's machine, and builds everything before the day.

pub mod book;
pub mod callgrind;
pub mod capstone;
pub mod check;
pub mod diagnosis;
pub mod doctor;
pub mod drawing;
pub mod exercises;
pub mod fake_backend;
pub mod hostile_headers;
pub mod in_process;
pub mod load;
pub mod other_signals;
pub mod otlp_variables;
pub mod process;
pub mod spans;
pub mod stdout;
pub mod steps;
pub mod up;
