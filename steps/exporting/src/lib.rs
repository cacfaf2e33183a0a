//! Plumbing for the steps that export spans, which no chapter teaches: the exporter's own
//! errors on stderr, the tracer provider's shutdown off the runtime, Google Cloud credentials
//! (`google`), and the OTLP/HTTP transport under step 07's exporter (`otlp`). Nothing in it
//! names an SDK type but the transport: step 06 uses it with the 0.32 SDK.

mod errors;
#[cfg(feature = "google")]
pub mod google;
#[cfg(feature = "otlp")]
pub mod otlp;

pub use errors::{WARNING_INTERVAL, not_repeated, print_exporter_errors, shut_down_provider};
