//! Clock and timers (ops `clock.now` and `sleep`).

use crate::call_or_fail;
use crate::msgpack::Value;

/// Wall-clock time in milliseconds since the Unix epoch. Op `clock.now` (journaled:
/// a replay sees the same time as the original run).
pub fn now_ms() -> u64 {
    match call_or_fail("clock.now", &Value::Nil).as_u64() {
        Some(t) => t,
        None => crate::fail_with("bad_response", "clock.now: expected uint"),
    }
}

/// Sleeps `ms` milliseconds (durable: a resumed run sleeps only what is left). Op `sleep`.
pub fn sleep_ms(ms: u64) {
    call_or_fail("sleep", &Value::map(vec![("ms", Value::UInt(ms))]));
}

/// Sleeps until `epoch_ms` (milliseconds since the Unix epoch). Op `sleep`.
pub fn sleep_until(epoch_ms: u64) {
    call_or_fail("sleep", &Value::map(vec![("until", Value::UInt(epoch_ms))]));
}
