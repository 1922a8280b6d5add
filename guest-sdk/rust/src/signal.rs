//! Signals: external events sent with `dwe signal RUN NAME [--data JSON]` (op `signal.wait`).
//!
//! Waiting suspends the run durably; a signal sent before the wait is kept; each signal is
//! delivered to exactly one wait, oldest first, and journaled.

use crate::json;
use crate::msgpack::Value;
use crate::Error;

/// A delivered signal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signal {
    /// The signal's name.
    pub name: String,
    /// The data sent with it (usually JSON text); empty if none.
    pub data: Vec<u8>,
}

impl Signal {
    /// The data as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.data).into_owned()
    }

    /// The data parsed as JSON.
    pub fn json(&self) -> Result<json::Value, Error> {
        json::parse_bytes(&self.data).map_err(|e| Error::new("bad_input", format!("signal data: {}", e)))
    }
}

/// Waits for the next signal named `name`, at most `timeout_ms` (`None`: no limit).
/// Errors: `timeout` when none came in time.
pub fn wait_signal(name: &str, timeout_ms: Option<u64>) -> Result<Signal, Error> {
    let mut req = vec![("name", Value::from(name))];
    if let Some(ms) = timeout_ms {
        req.push(("timeout_ms", Value::UInt(ms)));
    }
    let v = crate::call("signal.wait", &Value::map(req))?;
    Ok(Signal {
        name: v.get("name").and_then(Value::as_str).unwrap_or(name).to_string(),
        data: v.get("data").and_then(Value::as_bytes).map(<[u8]>::to_vec).unwrap_or_default(),
    })
}
