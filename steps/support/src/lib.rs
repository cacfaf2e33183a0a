//! Plumbing that every step's frontend and backend share, so that each step's `main.rs` shows
//! only what the step teaches: reading the environment, binding the port, serving until SIGINT
//! or SIGTERM, turning a failed backend call into a `502` or `504` answer, as `steps/CONTRACT.md`
//! describes, and reading incoming trace headers as strictly as the W3C specifications say.

mod backend_error;
mod config;
#[cfg(feature = "exporting")]
mod exporting;
#[cfg(feature = "google")]
pub mod google;
#[cfg(feature = "tracing-logs")]
pub mod logs;
#[cfg(feature = "otel-env")]
pub mod otel_env;
#[cfg(feature = "otlp")]
pub mod otlp;
#[cfg(feature = "otel-env")]
mod propagator_0_32;
pub mod semconv;
mod serve;
mod trace_context;
mod trace_headers;

pub use backend_error::{BackendError, one_line};
pub use config::{
    BackendConfig, FrontendConfig, StartupError, build_client, flag, listen_addr, milliseconds,
    read as variable, service_name,
};
#[cfg(feature = "exporting")]
pub use exporting::{print_exporter_errors, shut_down_provider};
#[cfg(feature = "otel-env")]
pub use propagator_0_32::Propagator032;
pub use serve::{Listener, bind, serve};
pub use trace_context::W3cTraceContextPropagator;
pub use trace_headers::W3cHeaderExtractor;
