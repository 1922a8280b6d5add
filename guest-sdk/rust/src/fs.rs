//! Journaled file access on the host (ops `fs.*`), under directories granted with
//! `--dir HOST[:GUEST][:ro]`. Paths are guest paths: absolute (`/data/x.txt`) or relative
//! to the first granted directory. Leaving the grant gives the error `denied`.
//!
//! (A `wasm32-wasi` program can also use `std::fs`, which goes through WASI and is
//! journaled too; these functions avoid WASI and say exactly what the journal records.)

use crate::msgpack::Value;
use crate::{call, Error};

fn path_req(path: &str) -> Vec<(&'static str, Value)> {
    vec![("path", Value::from(path))]
}

/// A file's whole content. Op `fs.read`.
pub fn read(path: &str) -> Result<Vec<u8>, Error> {
    let v = call("fs.read", &Value::map(path_req(path)))?;
    v.as_bytes().map(<[u8]>::to_vec).ok_or_else(|| Error::bad_response("fs.read", "expected bin"))
}

/// Creates or truncates `path` with `data`. Op `fs.write`.
pub fn write(path: &str, data: &[u8]) -> Result<(), Error> {
    let mut m = path_req(path);
    m.push(("data", Value::from(data)));
    call("fs.write", &Value::map(m)).map(|_| ())
}

/// Appends `data` to `path` (not repeated by a resume). Op `fs.append`.
pub fn append(path: &str, data: &[u8]) -> Result<(), Error> {
    let mut m = path_req(path);
    m.push(("data", Value::from(data)));
    call("fs.append", &Value::map(m)).map(|_| ())
}

/// A directory entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    /// File name.
    pub name: String,
    /// `file`, `dir`, `symlink` or `other`.
    pub kind: String,
}

/// A directory's entries, sorted by name. Op `fs.list`.
pub fn list(path: &str) -> Result<Vec<DirEntry>, Error> {
    let v = call("fs.list", &Value::map(path_req(path)))?;
    let entries = v.as_array().ok_or_else(|| Error::bad_response("fs.list", "expected array"))?;
    Ok(entries
        .iter()
        .map(|e| DirEntry {
            name: e.get("name").and_then(Value::as_str).unwrap_or("").to_string(),
            kind: e.get("type").and_then(Value::as_str).unwrap_or("").to_string(),
        })
        .collect())
}

/// File metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat {
    /// `file`, `dir`, `symlink` or `other`.
    pub kind: String,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, ms since the Unix epoch.
    pub mtime_ms: u64,
}

/// Metadata of `path`. Op `fs.stat`.
pub fn stat(path: &str) -> Result<Stat, Error> {
    let v = call("fs.stat", &Value::map(path_req(path)))?;
    Ok(Stat {
        kind: v.get("type").and_then(Value::as_str).unwrap_or("").to_string(),
        size: v.get("size").and_then(Value::as_u64).unwrap_or(0),
        mtime_ms: v.get("mtime_ms").and_then(Value::as_u64).unwrap_or(0),
    })
}

/// Removes a file, or a directory (`recursive` for a non-empty one). Op `fs.remove`.
pub fn remove(path: &str, recursive: bool) -> Result<(), Error> {
    let mut m = path_req(path);
    if recursive {
        m.push(("recursive", Value::Bool(true)));
    }
    call("fs.remove", &Value::map(m)).map(|_| ())
}
