//! Plumbing that every step's frontend and backend share, so that each step's `main.rs` shows
//! only what the step teaches. Nothing here knows about OpenTelemetry: reading the environment,
//! binding the port, serving until SIGINT or SIGTERM, and turning a failed backend call into a
//! `502` or `504` answer, as `CONTRACT.md` describes.

mod backend_error;
mod config;
mod serve;

pub use backend_error::BackendError;
pub use config::{BackendConfig, FrontendConfig, StartupError, service_name};
pub use serve::{Listener, bind, serve};
