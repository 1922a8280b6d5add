//! Child runs: fan-out and fan-in (ops `child.start`, `child.join`).
//!
//! A child is another export of this module (or of a stored module, by sha256) that runs in
//! parallel on any worker with the parent's grants and limits. Its id is `<parent-id>.<seq>`, so a
//! parent replayed after a crash finds its children instead of starting new ones.

use crate::json;
use crate::msgpack::Value;
use crate::Error;

/// How a child ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildResult {
    pub id: String,
    /// `completed`, `failed` or `cancelled`.
    pub status: String,
    /// The child's output (empty unless it completed with one).
    pub output: Vec<u8>,
    /// The child's error, unless it completed.
    pub error: Option<Error>,
}

impl ChildResult {
    /// `true` when the child completed.
    pub fn ok(&self) -> bool {
        self.status == "completed"
    }

    /// The output parsed as JSON.
    pub fn json(&self) -> Result<json::Value, Error> {
        json::parse_bytes(&self.output).map_err(|e| Error::new("bad_response", format!("child output: {}", e)))
    }
}

/// Starts export `entry` as a child run with `input`; `module` is a stored module's sha256
/// (`None`: this module). Returns the child's id.
pub fn start_child(entry: &str, input: &[u8], module: Option<&str>) -> Result<String, Error> {
    let mut req = vec![("entry", Value::from(entry)), ("input", Value::from(input))];
    if let Some(m) = module {
        req.push(("module", Value::from(m)));
    }
    let v = crate::call("child.start", &Value::map(req))?;
    v.get("id").and_then(Value::as_str).map(str::to_string).ok_or_else(|| Error::bad_response("child.start", "id"))
}

/// Waits until child `id` ends, at most `timeout_ms` (`None`: no limit); the parent is suspended
/// meanwhile. A failed child is a result (`ok() == false`), not an error. Errors: `timeout`, `not_found`.
pub fn join_child(id: &str, timeout_ms: Option<u64>) -> Result<ChildResult, Error> {
    let mut req = vec![("id", Value::from(id))];
    if let Some(ms) = timeout_ms {
        req.push(("timeout_ms", Value::UInt(ms)));
    }
    let v = crate::call("child.join", &Value::map(req))?;
    let error = v.get("error").filter(|e| !e.is_nil()).map(|e| {
        Error::new(
            e.get("code").and_then(Value::as_str).unwrap_or("unknown"),
            e.get("message").and_then(Value::as_str).unwrap_or(""),
        )
    });
    Ok(ChildResult {
        id: v.get("id").and_then(Value::as_str).unwrap_or(id).to_string(),
        status: v.get("status").and_then(Value::as_str).unwrap_or("").to_string(),
        output: v.get("output").and_then(Value::as_bytes).map(<[u8]>::to_vec).unwrap_or_default(),
        error,
    })
}
