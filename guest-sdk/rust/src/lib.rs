//! # dwe guest SDK for Rust
//!
//! Write durable workflows for [dwe](../../README.md) in Rust. Every function here is a
//! call to the host through the guest ABI v1 (`docs/abi.md`): the host journals it, and
//! after a crash the run is replayed from the start with every answer taken from the
//! journal, so the workflow continues where it stopped.
//!
//! Build for `wasm32-wasi`. Export the entry point with [`entry!`] (a `run` export in a
//! `cdylib` crate) or use a binary crate whose `main` becomes `_start`.
//!
//! ```ignore
//! fn main_flow() -> Result<(), dwe::Error> {
//!     let input = dwe::input_json()?;
//!     dwe::log(dwe::Level::Info, "hello");
//!     dwe::output_string("done");
//!     Ok(())
//! }
//! dwe::entry!(main_flow);
//! ```
//!
//! The crate has no dependencies. It also builds on other targets (so its MessagePack
//! and JSON code can be unit-tested), where any host call panics.

pub mod abi;
mod error;
pub mod exec;
pub mod fs;
pub mod http;
pub mod json;
mod log;
pub mod msgpack;
mod random;
pub mod retry;
mod run;
pub mod signal;
pub mod child;
mod time;

pub use error::Error;
pub use exec::{exec, ExecOutput, ExecRequest};
pub use http::{HttpRequest, HttpResponse};
pub use log::{log, log_fields, Level};
pub use random::random_bytes;
pub use run::{
    fail, fail_with, idempotency_key, input, input_json, input_string, output, output_json, output_string,
    run_id, run_info, RunInfo,
};
pub use time::{now_ms, sleep_ms, sleep_until};
pub use signal::{wait_signal, Signal};
pub use child::{join_child, start_child, ChildResult};
pub use retry::{exec_with_retry, http_with_retry, RetryPolicy};

use msgpack::Value;

/// Calls any host operation with a MessagePack request and decodes its result.
///
/// This is the generic entry to the ABI: the typed functions of this crate are built on
/// it, and operations without a typed wrapper (yet) can be called with it directly,
/// e.g. `dwe::call("fs.read", &Value::map(vec![("path", "/data/x".into())]))`.
/// A `Value::Nil` request is sent as 0 bytes.
pub fn call(op: &str, request: &Value) -> Result<Value, Error> {
    let req = if request.is_nil() { Vec::new() } else { request.encode() };
    match abi::call_raw(op, &req) {
        Ok(bytes) => msgpack::decode(&bytes).map_err(|e| Error::bad_response(op, &e.to_string())),
        Err(bytes) => Err(Error::from_host(&bytes)),
    }
}

/// Like [`call`], for operations whose failure the guest does not handle: a host error
/// fails the run (`run.fail` with the error's code and message).
pub(crate) fn call_or_fail(op: &str, request: &Value) -> Value {
    match call(op, request) {
        Ok(v) => v,
        Err(e) => fail_with(&e.code, &format!("{}: {}", op, e.message)),
    }
}

/// Makes a panic fail the run with the panic's message (via `run.fail`, code `guest_panic`)
/// instead of a bare trap. [`entry!`] installs it; call it first thing in a hand-written
/// entry point.
pub fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let msg = if let Some(s) = info.payload().downcast_ref::<&str>() {
            (*s).to_string()
        } else if let Some(s) = info.payload().downcast_ref::<String>() {
            s.clone()
        } else {
            "panic".to_string()
        };
        let msg = match info.location() {
            Some(l) => format!("panicked at {}:{}: {}", l.file(), l.line(), msg),
            None => format!("panicked: {}", msg),
        };
        fail_with("guest_panic", &msg);
    }));
}

/// Runs a workflow function: installs [`install_panic_hook`], calls `f`, and on `Err(e)`
/// fails the run with `e`'s code and message. Used by [`entry!`].
pub fn run_main<F: FnOnce() -> Result<(), Error>>(f: F) {
    install_panic_hook();
    if let Err(e) = f() {
        fail_with(&e.code, &e.message);
    }
}

/// Exports `fn() -> Result<(), dwe::Error>` as the guest's `run` entry point.
///
/// Use it in a crate with `crate-type = ["cdylib"]`. Errors fail the run; panics fail
/// the run with code `guest_panic`.
#[macro_export]
macro_rules! entry {
    ($f:path) => {
        #[no_mangle]
        pub extern "C" fn run() {
            $crate::run_main($f)
        }
    };
}
