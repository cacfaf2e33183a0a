//! The steps' real programs as processes, the way a reader runs them: [`building`] builds them
//! with cargo and finds them; [`run`] starts one on an ephemeral port and stops it with
//! SIGTERM, keeping what it printed and exported; [`pair`] runs a step's backend and frontend
//! together and sends them a request; [`unit_tests`] runs a package's unit tests with a time
//! limit. All are used as `process::…`.

pub mod building;
pub mod pair;
pub mod run;
pub mod unit_tests;

pub use building::*;
pub use pair::*;
pub use run::*;
pub use unit_tests::*;
