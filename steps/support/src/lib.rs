//! Plumbing every step's two programs share, which no chapter teaches: reading the
//! environment (a bad value is a one-line error and exit code 2), binding the port and serving
//! until SIGINT or SIGTERM, the `502` or `504` answer to a failed backend call, as
//! `steps/CONTRACT.md` describes; and the one bridge from 0.32 propagators to 0.33.
//!
//! Beside it, and used by no step: the W3C trace headers read as strictly as the specifications
//! say, at Trace Context Level 2 (`W3cTraceContextPropagator`, `W3cHeaderExtractor`), for the
//! W3C test service and the cost benchmark. The steps use the SDK's own propagators.

mod backend_error;
mod config;
#[cfg(feature = "propagator-0-32")]
mod propagator_0_32;
mod serve;
mod trace_context;
mod trace_headers;

pub use backend_error::{BackendError, one_line};
pub use config::{
    BackendConfig, FrontendConfig, StartupError, build_client, flag, listen_addr, milliseconds,
    read as variable, service_name,
};
#[cfg(feature = "propagator-0-32")]
pub use propagator_0_32::Propagator032;
pub use serve::{
    Limits, Listener, SHUTDOWN_BUDGET, SHUTDOWN_GRACE, bind, serve, serve_with, shutdown_time_left,
};
pub use trace_context::W3cTraceContextPropagator;
pub use trace_headers::W3cHeaderExtractor;
