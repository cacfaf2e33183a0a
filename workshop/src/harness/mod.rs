//! What the programs are run with, and what they did is read back with: [`process`] and
//! [`stdout`] serve the runner and the check too; the rest serves the tests and the benchmark
//! (and the book draws two of its tables from [`hostile_headers`] and [`otlp_variables`]).
//!
//! - [`process`] builds the steps' real programs and runs them as processes, the way a reader
//!   does (free ports, SIGTERM), and reads back what they exported;
//! - [`stdout`] reads back the spans the stdout exporter printed;
//! - [`in_process`] sends a request straight to a router, without a port;
//! - [`fake_backend`] stands in for a backend that fails on purpose;
//! - [`hostile_headers`] sends malformed trace headers and checks what came of them;
//! - [`otlp_variables`] holds the bad values of the OTLP exporter's variables;
//! - [`load`] sends many requests at once and records their latencies;
//! - [`drawing`] compares drawings of traces with the samples the README and tests show.

pub mod drawing;
pub mod fake_backend;
pub mod hostile_headers;
pub mod in_process;
pub mod load;
pub mod otlp_variables;
pub mod process;
pub mod stdout;
