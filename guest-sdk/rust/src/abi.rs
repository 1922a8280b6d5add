//! The raw guest ABI v1: the two imports from the host module `dwe` and a safe
//! wrapper around them. See `docs/abi.md` in the dwe repository.
//!
//! Everything else in this crate is built on [`call_raw`]. New operations (for
//! example signals or child runs, when the host adds them) can be called today
//! with [`crate::call`] without changing this module.

#[cfg(target_arch = "wasm32")]
mod imports {
    #[link(wasm_import_module = "dwe")]
    extern "C" {
        /// `call(op_ptr, op_len, req_ptr, req_len) -> r`: performs an operation.
        /// `r >= 0`: success, `r` bytes pending; `r < 0`: error, `-r - 1` bytes pending.
        pub fn call(op_ptr: i32, op_len: i32, req_ptr: i32, req_len: i32) -> i32;
        /// `response(dst_ptr, dst_len) -> copied`: copies the pending response.
        pub fn response(dst_ptr: i32, dst_len: i32) -> i32;
    }
}

/// Stand-ins so that the crate (its MessagePack and JSON code) can be unit-tested on
/// the build machine. Calling the host outside WebAssembly is a bug.
#[cfg(not(target_arch = "wasm32"))]
mod imports {
    pub unsafe fn call(_: i32, _: i32, _: i32, _: i32) -> i32 {
        panic!("dwe host calls are only available when running as a WebAssembly guest")
    }
    pub unsafe fn response(_: i32, _: i32) -> i32 {
        panic!("dwe host calls are only available when running as a WebAssembly guest")
    }
}

/// Performs operation `op` with the MessagePack-encoded request `req` (empty means nil).
///
/// Returns `Ok(bytes)` with the MessagePack result (empty means nil), or `Err(bytes)` with
/// the MessagePack error map `{code, message}` when the host reports a handleable error.
pub fn call_raw(op: &str, req: &[u8]) -> Result<Vec<u8>, Vec<u8>> {
    let r = unsafe {
        imports::call(
            op.as_ptr() as usize as i32,
            op.len() as i32,
            req.as_ptr() as usize as i32,
            req.len() as i32,
        )
    };
    if r >= 0 {
        Ok(take_response(r as usize))
    } else {
        // -r - 1 without overflow for r == i32::MIN.
        Err(take_response((-(r as i64) - 1) as usize))
    }
}

/// Copies the pending response of `len` bytes into a fresh buffer.
fn take_response(len: usize) -> Vec<u8> {
    if len == 0 {
        return Vec::new();
    }
    let mut buf: Vec<u8> = Vec::with_capacity(len);
    let copied = unsafe { imports::response(buf.as_mut_ptr() as usize as i32, len as i32) };
    let copied = if copied < 0 { 0 } else { (copied as usize).min(len) };
    // SAFETY: the host wrote `copied` bytes (at most the capacity) into the buffer.
    unsafe { buf.set_len(copied) };
    buf
}
