//! Structured logging (op `log`, journaled, not repeated on replay).

use crate::call_or_fail;
use crate::msgpack::Value;

/// Log level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// `debug`
    Debug,
    /// `info` (the host's default)
    Info,
    /// `warn`
    Warn,
    /// `error`
    Error,
}

impl Level {
    /// The level's name in the ABI.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

/// Logs `message` at `level`. Op `log`.
pub fn log(level: Level, message: &str) {
    log_fields(level, message, Vec::new())
}

/// Logs `message` at `level` with structured fields. Op `log`.
pub fn log_fields(level: Level, message: &str, fields: Vec<(&str, Value)>) {
    let mut req = vec![("level", Value::from(level.as_str())), ("message", Value::from(message))];
    if !fields.is_empty() {
        req.push(("fields", Value::map(fields)));
    }
    call_or_fail("log", &Value::map(req));
}
