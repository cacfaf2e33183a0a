//! What can go wrong with the frontend's call to the backend, and the answer each gets.

use std::{error::Error, fmt};

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
};

/// A failed backend call. It becomes the frontend's answer: `504 Gateway Timeout` when the
/// backend took longer than `BACKEND_TIMEOUT_MS`, `502 Bad Gateway` otherwise, with a one-line
/// body saying what went wrong.
#[derive(Debug)]
pub enum BackendError {
    /// No complete answer within `BACKEND_TIMEOUT_MS`.
    TimedOut,
    /// The backend could not be reached, or the connection failed before the answer was read.
    Unreachable(String),
    /// The backend answered, with a status other than 2xx.
    BadStatus(StatusCode),
}

impl BackendError {
    pub fn status_code(&self) -> StatusCode {
        match self {
            BackendError::TimedOut => StatusCode::GATEWAY_TIMEOUT,
            BackendError::Unreachable(_) | BackendError::BadStatus(_) => StatusCode::BAD_GATEWAY,
        }
    }
}

impl From<reqwest::Error> for BackendError {
    fn from(error: reqwest::Error) -> Self {
        if error.is_timeout() {
            return BackendError::TimedOut;
        }
        // reqwest's message is a chain ("error sending request" ← "client error (Connect)" ←
        // "Connection refused"); the useful part is at the end, so keep all of it on one line.
        // The URL is left out: it is in the frontend's configuration, not news to the caller.
        let error = error.without_url();
        BackendError::Unreachable(one_line(&error))
    }
}

/// `error` and every error it says caused it, on one line: `tcp connect error: Connection
/// refused (os error 111)`.
pub fn one_line(error: &dyn Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message.replace(['\r', '\n'], " ")
}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BackendError::TimedOut => {
                f.write_str("backend did not answer within BACKEND_TIMEOUT_MS")
            }
            BackendError::Unreachable(message) => write!(f, "backend unreachable: {message}"),
            BackendError::BadStatus(status) => write!(f, "backend answered {status}"),
        }
    }
}

impl Error for BackendError {}

impl IntoResponse for BackendError {
    fn into_response(self) -> Response {
        (self.status_code(), format!("{self}\n")).into_response()
    }
}
