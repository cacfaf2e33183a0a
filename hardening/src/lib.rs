//! What the hardening chapter adds to the steps' standard code, each piece on its own, to adopt
//! deliberately, with the reason measured against the stock crates:
//!
//! - [`W3cTraceContextPropagator`] and [`W3cHeaderExtractor`]: W3C Trace Context Level 2 read
//!   as strictly as the specification writes it (the SDK's propagator is more lenient in 23
//!   cases of the hostile-header table), with the `random` flag when asked for;
//! - [`otlp_env::refuse_unusable_otlp_variables`]: the `OTEL_EXPORTER_OTLP_*` variables
//!   checked at start-up, where the exporter ignores most values it cannot use;
//! - [`delivery::Delivery`] and [`delivery::shut_down_providers`]: a shutdown that counts what
//!   was not delivered and keeps to its time, where the SDK's reports `Ok` for spans it lost.

pub mod delivery;
pub mod otlp_env;
mod trace_context;
mod trace_headers;

pub use trace_context::W3cTraceContextPropagator;
pub use trace_headers::W3cHeaderExtractor;

/// What an OTLP exporter sends: each signal has its own variables, its own path and its own
/// counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Traces,
    Metrics,
    Logs,
}

impl Signal {
    /// What is sent, in the program's messages: `spans`.
    pub fn what(self) -> &'static str {
        match self {
            Signal::Traces => "spans",
            Signal::Metrics => "metrics",
            Signal::Logs => "log records",
        }
    }
}
