//! Plumbing every step's two programs share, which no chapter teaches: reading the
//! environment (a bad value is a one-line error and exit code 2), binding the port and serving
//! until SIGINT or SIGTERM, the `502` or `504` answer to a failed backend call, as
//! `steps/CONTRACT.md` describes; and the one bridge from 0.32 propagators to 0.33.

mod backend_error;
mod config;
#[cfg(feature = "propagator-0-32")]
mod propagator_0_32;
mod serve;

pub use backend_error::{BackendError, one_line};
pub use config::{
    BackendConfig, FrontendConfig, StartupError, build_client, flag, listen_addr, milliseconds,
    read as variable, service_name,
};
#[cfg(feature = "propagator-0-32")]
pub use propagator_0_32::Propagator032;
pub use serve::{
    Limits, Listener, SHUTDOWN_BUDGET, SHUTDOWN_GRACE, bind, serve, serve_beside, serve_with,
    shutdown_time_left,
};
