//! The run itself: input, output, failure, identity (`run.*` operations).

use crate::json;
use crate::msgpack::Value;
use crate::{call_or_fail, Error};

/// The run's input bytes (the CLI's `--input`, usually JSON); empty if none.
/// Op `run.input` (not journaled).
pub fn input() -> Vec<u8> {
    match call_or_fail("run.input", &Value::Nil) {
        Value::Nil => Vec::new(),
        v => match v.as_bytes() {
            Some(b) => b.to_vec(),
            None => fail_with("bad_response", "run.input: expected bin"),
        },
    }
}

/// The run's input as text (invalid UTF-8 is replaced with U+FFFD).
pub fn input_string() -> String {
    String::from_utf8_lossy(&input()).into_owned()
}

/// The run's input parsed as JSON; `Null` when the input is empty.
/// A syntax error is returned as `Error { code: "bad_input", .. }`.
pub fn input_json() -> Result<json::Value, Error> {
    let bytes = input();
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(json::Value::Null);
    }
    json::parse_bytes(&bytes).map_err(|e| Error::new("bad_input", format!("input: {}", e)))
}

/// Sets the run's output (the last call wins). Op `run.output`.
pub fn output(bytes: &[u8]) {
    call_or_fail("run.output", &Value::Bin(bytes.to_vec()));
}

/// Sets the run's output to a string.
pub fn output_string(s: &str) {
    output(s.as_bytes())
}

/// Sets the run's output to compact JSON.
pub fn output_json(v: &json::Value) {
    output(v.to_string().as_bytes())
}

/// Fails the run with `message` (the host's default code, `guest_failed`). Never returns.
/// Op `run.fail`.
pub fn fail(message: &str) -> ! {
    fail_with("", message)
}

/// Fails the run with an error code and message (an empty `code` means the host's
/// default, `guest_failed`). Never returns. Op `run.fail`.
pub fn fail_with(code: &str, message: &str) -> ! {
    let mut req = vec![("message", Value::from(message))];
    if !code.is_empty() {
        req.push(("code", Value::from(code)));
    }
    let _ = crate::abi::call_raw("run.fail", &Value::map(req).encode());
    // The host stops the guest in `run.fail`; never get here.
    halt()
}

#[cfg(target_arch = "wasm32")]
fn halt() -> ! {
    core::arch::wasm32::unreachable()
}

#[cfg(not(target_arch = "wasm32"))]
fn halt() -> ! {
    std::process::abort()
}

/// The idempotency key the **next** journaled call will have (`<run-id>:<seq>`).
/// Op `run.key` (not journaled). Useful to pass to an external system yourself.
pub fn idempotency_key() -> String {
    match call_or_fail("run.key", &Value::Nil) {
        Value::Str(s) => s,
        _ => fail_with("bad_response", "run.key: expected str"),
    }
}

/// Identity of the current run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunInfo {
    /// The run id.
    pub id: String,
    /// The entry function being run (`run`, `_start`, or the `--entry` name).
    pub entry: String,
}

/// The run's id and entry. Op `run.info` (not journaled).
pub fn run_info() -> RunInfo {
    let v = call_or_fail("run.info", &Value::Nil);
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
    RunInfo { id: s("id"), entry: s("entry") }
}

/// The run's id. Op `run.info`.
pub fn run_id() -> String {
    run_info().id
}
