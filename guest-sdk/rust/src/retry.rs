//! Retry policies for HTTP and exec. Each attempt is its own journaled call and each backoff a
//! durable `sleep`, so a crash during a backoff resumes it and a replay makes the same decisions.

use crate::exec::{exec, ExecOutput, ExecRequest};
use crate::http::{request, HttpRequest, HttpResponse};
use crate::time::sleep_ms;
use crate::Error;

/// When to retry: attempts in total, exponential backoff, and which failures count.
#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in total (1 = no retry).
    pub attempts: u32,
    /// First backoff; multiplied by `multiplier` after each attempt, capped at `max_backoff_ms`.
    pub backoff_ms: u64,
    pub multiplier: f64,
    pub max_backoff_ms: u64,
    /// Retry on host errors `network` and `timeout`.
    pub on_network: bool,
    /// HTTP: retry on 5xx and 429.
    pub on_server_error: bool,
    /// HTTP: also retry on these statuses.
    pub statuses: Vec<u16>,
    /// exec: retry on a non-zero exit or a signal.
    pub on_nonzero_exit: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 3,
            backoff_ms: 1000,
            multiplier: 2.0,
            max_backoff_ms: 60_000,
            on_network: true,
            on_server_error: true,
            statuses: Vec::new(),
            on_nonzero_exit: true,
        }
    }
}

impl RetryPolicy {
    /// `attempts` in total, starting with `backoff_ms` between them.
    pub fn new(attempts: u32, backoff_ms: u64) -> RetryPolicy {
        RetryPolicy { attempts, backoff_ms, ..RetryPolicy::default() }
    }

    /// The backoff after attempt `n` (from 1).
    pub fn backoff(&self, n: u32) -> u64 {
        let b = self.backoff_ms as f64 * self.multiplier.powi(n.saturating_sub(1) as i32);
        if b > self.max_backoff_ms as f64 { self.max_backoff_ms } else { b as u64 }
    }

    fn retries_error(&self, e: &Error) -> bool {
        self.on_network && (e.code == "network" || e.code == "timeout")
    }

    fn retries_status(&self, status: u16) -> bool {
        (self.on_server_error && (status >= 500 || status == 429)) || self.statuses.contains(&status)
    }
}

/// Sends `req` under `policy`; returns the last response or error.
pub fn http_with_retry(req: &HttpRequest, policy: &RetryPolicy) -> Result<HttpResponse, Error> {
    let mut n = 1;
    loop {
        let r = request(req);
        let again = match &r {
            Ok(res) => policy.retries_status(res.status),
            Err(e) => policy.retries_error(e),
        };
        if !again || n >= policy.attempts {
            return r;
        }
        sleep_ms(policy.backoff(n));
        n += 1;
    }
}

/// Runs `req` under `policy`; returns the last output or error.
pub fn exec_with_retry(req: &ExecRequest, policy: &RetryPolicy) -> Result<ExecOutput, Error> {
    let mut n = 1;
    loop {
        let r = exec(req);
        let again = match &r {
            Ok(out) => policy.on_nonzero_exit && !out.success(),
            Err(e) => policy.retries_error(e),
        };
        if !again || n >= policy.attempts {
            return r;
        }
        sleep_ms(policy.backoff(n));
        n += 1;
    }
}
