//! Values as the HTTP semantic conventions write them, for the attributes whose names come from
//! `opentelemetry-semantic-conventions` (the crate has the names; the values are the
//! program's to write). The backend uses this file too.

use axum::http::{Method, Version};

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

/// The method, as `http.request.method` writes it: one of the methods HTTP defines, or `_OTHER`
/// for any other (a caller may send any token, and each would be a value of its own).
pub fn request_method(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::CONNECT => "CONNECT",
        Method::OPTIONS => "OPTIONS",
        Method::TRACE => "TRACE",
        Method::PATCH => "PATCH",
        _ => "_OTHER",
    }
}
