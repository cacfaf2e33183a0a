//! The attendee's runner, behind `cargo run -p workshop` (whose command line is `src/main.rs`):
//! [`once`] runs one step once and shows its trace; [`up`] runs one step in one terminal and
//! draws its traces as they come; [`doctor`] checks the machine before the day and builds
//! everything the day runs.

pub mod doctor;
pub mod once;
pub mod up;
