//! The steps' real programs as processes, the way a reader runs them: [`building`] builds them
//! with cargo and finds them; [`run`] starts one on an ephemeral port and stops it with
//! SIGTERM, keeping what it printed and exported; [`pair`] runs a step's backend and frontend
//! together and sends them a request. All three are used as `process::…`.

pub mod building;
pub mod pair;
pub mod run;

pub use building::*;
pub use pair::*;
pub use run::*;
