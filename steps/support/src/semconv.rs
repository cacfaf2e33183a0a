//! Values as OpenTelemetry's semantic conventions write them.

use axum::http::Version;

/// The HTTP version, as `network.protocol.version` writes it: `1.1`, `2`.
pub fn protocol_version(version: Version) -> &'static str {
    match version {
        Version::HTTP_09 => "0.9",
        Version::HTTP_10 => "1.0",
        Version::HTTP_11 => "1.1",
        Version::HTTP_2 => "2",
        Version::HTTP_3 => "3",
        _ => "unknown",
    }
}
