//! The exercises' machinery, behind `cargo run -p workshop check` (and `check NN --hint N`),
//! `reset` and `starters`:
//!
//! - [`starters`] makes each exercise's starter from its step (what makes a step an exercise is
//!   its `exercise.rs`, read in [`crate::steps::exercise`]);
//! - [`check`] runs an attendee's programs and says what their trace, metrics and log records
//!   still lack;
//! - [`capstone`] is the exercise without hints, on the attendee's finished exercise 12;
//! - [`diagnosis`] hides a fault in step 08's programs for the attendee to find in the trace;
//! - [`testing`] judges an attendee's tests of a step's trace by the mistakes they catch.

pub mod capstone;
pub mod check;
pub mod diagnosis;
pub mod starters;
pub mod testing;

pub use starters::{StepExercise, all, find};
