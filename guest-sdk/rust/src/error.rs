//! The error type of host operations.

use crate::msgpack::Value;
use std::fmt;

/// An error returned by the host for an operation the guest may handle
/// (the `r < 0` case of the ABI), or produced by the SDK itself.
///
/// Host codes: `denied`, `not_found`, `io`, `timeout`, `network`, `outcome_unknown`,
/// `invalid`. Codes produced by the SDK: `bad_response` (the host's answer did not have
/// the expected shape) and `bad_input` (the run's input could not be parsed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// Machine-readable error code, for example `network`.
    pub code: String,
    /// Human-readable message.
    pub message: String,
}

impl Error {
    /// Creates an error from a code and a message.
    pub fn new(code: impl Into<String>, message: impl Into<String>) -> Error {
        Error { code: code.into(), message: message.into() }
    }

    /// Decodes the host's MessagePack error map `{code, message}`.
    pub(crate) fn from_host(bytes: &[u8]) -> Error {
        match crate::msgpack::decode(bytes) {
            Ok(v) => Error {
                code: v.get("code").and_then(Value::as_str).unwrap_or("unknown").to_string(),
                message: v.get("message").and_then(Value::as_str).unwrap_or("").to_string(),
            },
            Err(e) => Error::new("bad_response", format!("undecodable error from host: {}", e)),
        }
    }

    pub(crate) fn bad_response(op: &str, what: &str) -> Error {
        Error::new("bad_response", format!("{}: unexpected response: {}", op, what))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for Error {}
