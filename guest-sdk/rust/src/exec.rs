//! Running host commands (op `exec`, an *external* effect).
//!
//! Needs `--allow-shell` on the host. `argv[0]` is run directly (no shell unless you
//! call one, as in `["sh", "-c", "..."]`). The command's environment is
//! [`ExecRequest::env`] plus `PATH` and `DWE_IDEMPOTENCY_KEY`. Like HTTP requests,
//! a command interrupted by a crash runs again on resume (at-least-once) unless
//! [`ExecRequest::at_most_once`] is set.

use crate::http::string_map;
use crate::msgpack::Value;
use crate::Error;

/// A command to run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExecRequest {
    /// Program and arguments.
    pub argv: Vec<String>,
    /// Working directory (host default when `None`).
    pub cwd: Option<String>,
    /// Extra environment variables.
    pub env: Vec<(String, String)>,
    /// Standard input.
    pub stdin: Option<Vec<u8>>,
    /// Timeout in milliseconds (host default 60 s); on expiry the command is killed.
    pub timeout_ms: Option<u64>,
    /// Do not run it again on resume if its outcome is unknown.
    pub at_most_once: bool,
}

impl ExecRequest {
    /// A command from its argv, e.g. `ExecRequest::new(&["sh", "-c", "echo hi"])`.
    pub fn new<S: AsRef<str>>(argv: &[S]) -> ExecRequest {
        ExecRequest { argv: argv.iter().map(|s| s.as_ref().to_string()).collect(), ..Default::default() }
    }

    /// Sets the working directory.
    pub fn cwd(mut self, dir: &str) -> ExecRequest {
        self.cwd = Some(dir.to_string());
        self
    }

    /// Adds an environment variable.
    pub fn env(mut self, name: &str, value: &str) -> ExecRequest {
        self.env.push((name.to_string(), value.to_string()));
        self
    }

    /// Sets standard input.
    pub fn stdin(mut self, data: impl Into<Vec<u8>>) -> ExecRequest {
        self.stdin = Some(data.into());
        self
    }

    /// Sets the timeout.
    pub fn timeout_ms(mut self, ms: u64) -> ExecRequest {
        self.timeout_ms = Some(ms);
        self
    }

    /// Sets at-most-once execution.
    pub fn at_most_once(mut self, yes: bool) -> ExecRequest {
        self.at_most_once = yes;
        self
    }

    /// The request as the ABI's MessagePack map.
    pub fn to_value(&self) -> Value {
        let mut m: Vec<(&str, Value)> =
            vec![("argv", Value::Array(self.argv.iter().map(|a| Value::from(a.as_str())).collect()))];
        if let Some(c) = &self.cwd {
            m.push(("cwd", Value::from(c.as_str())));
        }
        if !self.env.is_empty() {
            m.push(("env", string_map(&self.env)));
        }
        if let Some(s) = &self.stdin {
            m.push(("stdin", Value::Bin(s.clone())));
        }
        if let Some(t) = self.timeout_ms {
            m.push(("timeout_ms", Value::UInt(t)));
        }
        if self.at_most_once {
            m.push(("at_most_once", Value::Bool(true)));
        }
        Value::map(m)
    }
}

/// What a command did. A non-zero exit code is a result, not an [`Error`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExecOutput {
    /// Exit code (-1 if the host reports none, e.g. when `signal` is set).
    pub code: i64,
    /// The signal that killed it, e.g. `SIGKILL` after a timeout.
    pub signal: Option<String>,
    /// Standard output (cut at 16 MiB).
    pub stdout: Vec<u8>,
    /// Standard error (cut at 16 MiB).
    pub stderr: Vec<u8>,
    /// The idempotency key the command got in `DWE_IDEMPOTENCY_KEY`.
    pub key: String,
}

impl ExecOutput {
    /// Exit code 0 and no signal.
    pub fn success(&self) -> bool {
        self.code == 0 && self.signal.is_none()
    }

    /// Standard output as text (invalid UTF-8 replaced).
    pub fn stdout_string(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Standard error as text (invalid UTF-8 replaced).
    pub fn stderr_string(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// Runs a command. Op `exec`.
///
/// Errors: `denied` (shell not allowed, or program not allowed), `not_found`, `io`,
/// `outcome_unknown` (with `at_most_once`), `invalid`.
pub fn exec(req: &ExecRequest) -> Result<ExecOutput, Error> {
    let v = crate::call("exec", &req.to_value())?;
    let bytes = |k: &str| v.get(k).and_then(Value::as_bytes).map(<[u8]>::to_vec).unwrap_or_default();
    Ok(ExecOutput {
        code: v.get("code").and_then(Value::as_i64).unwrap_or(-1),
        signal: v.get("signal").and_then(Value::as_str).map(str::to_string),
        stdout: bytes("stdout"),
        stderr: bytes("stderr"),
        key: v.get("key").and_then(Value::as_str).unwrap_or("").to_string(),
    })
}

/// Quotes `s` for a POSIX shell command line: `'...'`, with `'` written as `'\''`.
pub fn shell_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn quote() {
        assert_eq!(super::shell_quote("/data/a b's.txt"), "'/data/a b'\\''s.txt'");
    }
}
