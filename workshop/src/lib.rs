//! The workshop's own tooling, in rooms, one audience each:
//!
//! - [`runner`]: the attendee's runner, `cargo run -p workshop` (its command line is
//!   `src/main.rs`): one step run once, `up` for one terminal, `doctor` and `prepare`;
//! - [`exercises`]: the exercises' machinery: the starters made from each step, the `check` of
//!   an attendee's trace (and of its metrics and log records), the capstone, the diagnoses, and
//!   the judge of an attendee's own tests;
//! - [`harness`]: what the programs are run with: building and running them and reading back
//!   what they exported (for the runner and the check too), and for the tests and the
//!   benchmark fake backends, hostile headers and load;
//! - [`book`]: what the book shows that is made from the steps (`--bin book-assets` writes it):
//!   the diffs, the trace pictures, the hints and two tables;
//! - the cost benchmark is `src/bin/cost/` (`--bin cost`, with callgrind's counts), with its
//!   micro-benchmarks in `benches/`.
//!
//! Under them all, what every room reads: [`steps`], the repository and its steps table (with
//! what makes a step an exercise), and [`spans`], a trace's spans as the workshop compares them.
//! The imports go one way: the runner and the book use the exercises and the harness, the
//! exercises use the harness, and the harness uses only `steps` and `spans`, which use no room.

pub mod book;
pub mod exercises;
pub mod harness;
pub mod runner;
pub mod spans;
pub mod steps;
