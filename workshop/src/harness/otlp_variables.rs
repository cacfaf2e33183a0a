//! A value the OTLP exporter cannot use, for each of its variables the steps rely on, and what
//! opentelemetry-otlp 0.33.1 does with it: the table `tests/otlp.rs` holds step 07's programs
//! to, `tests/hardening.rs` sets the hardened backend beside, and the hardening chapter shows.

/// What the exporter does with a value of one of its variables it cannot use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// The exporter cannot be built: the program ends at start-up, exit code 2, with the
    /// exporter's message, which names the variable.
    Refused,
    /// A warning at start-up names the variable; the value is ignored and the spans arrive.
    Warned,
    /// Ignored without a word; the spans arrive.
    Ignored,
    /// Taken: the program starts without a word, and every export fails, each with a warning.
    ExportsFail,
}

impl Read {
    /// How the book says it.
    pub fn described(self) -> &'static str {
        match self {
            Read::Refused => "refused at start-up, exit code 2",
            Read::Warned => "ignored, with a warning",
            Read::Ignored => "ignored, without a word",
            Read::ExportsFail => "taken: every export fails",
        }
    }
}

/// Each variable, a value the exporter cannot use, and what it does with it.
pub const BAD_VALUES: [(&str, &str, Read); 11] = [
    (
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "localhost:4318",
        Read::Refused,
    ),
    ("OTEL_EXPORTER_OTLP_ENDPOINT", "not a url", Read::Refused),
    (
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "ftp://127.0.0.1/v1/traces",
        Read::ExportsFail,
    ),
    ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", Read::Warned),
    ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json", Read::Warned),
    (
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "http/xml",
        Read::Warned,
    ),
    ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip", Read::Warned),
    ("OTEL_EXPORTER_OTLP_HEADERS", "x-workshop", Read::Ignored),
    (
        "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
        "=nameless",
        Read::Ignored,
    ),
    ("OTEL_EXPORTER_OTLP_TIMEOUT", "10s", Read::Ignored),
    ("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "soon", Read::Ignored),
];
