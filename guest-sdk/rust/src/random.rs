//! Randomness (op `random.bytes`, journaled: a replay gets the same bytes).

use crate::call_or_fail;
use crate::msgpack::Value;

/// Largest `len` the host accepts in one `random.bytes` call.
const MAX_CHUNK: usize = 65536;

/// Returns `n` random bytes. Op `random.bytes` (one call per 64 KiB).
pub fn random_bytes(n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let len = (n - out.len()).min(MAX_CHUNK);
        let v = call_or_fail("random.bytes", &Value::map(vec![("len", Value::from(len))]));
        match v.as_bytes() {
            Some(b) if b.len() == len => out.extend_from_slice(b),
            _ => crate::fail_with("bad_response", "random.bytes: expected bin of the requested length"),
        }
    }
    out
}
