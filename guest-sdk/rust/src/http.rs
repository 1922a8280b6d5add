//! Outgoing HTTP (op `http.request`, an *external* effect).
//!
//! The host commits an intent to the journal before the request and the response
//! after it. If the process dies in between, the request is sent again on resume with
//! the same `Idempotency-Key` header (at-least-once), unless
//! [`HttpRequest::at_most_once`] is set: then the call returns the error
//! `outcome_unknown` instead.

use crate::json;
use crate::msgpack::Value;
use crate::Error;

/// An HTTP request. Build one with [`HttpRequest::get`], [`HttpRequest::post`] or
/// [`HttpRequest::new`] and the builder methods, or fill the fields directly.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HttpRequest {
    /// Method; `GET` when empty.
    pub method: String,
    /// Absolute URL; its host must be granted with `--allow-net`.
    pub url: String,
    /// Request headers.
    pub headers: Vec<(String, String)>,
    /// Request body, if any.
    pub body: Option<Vec<u8>>,
    /// Timeout in milliseconds (host default when `None`).
    pub timeout_ms: Option<u64>,
    /// Do not repeat the request on resume if its outcome is unknown.
    pub at_most_once: bool,
}

impl HttpRequest {
    /// A request with `method` to `url`.
    pub fn new(method: &str, url: &str) -> HttpRequest {
        HttpRequest { method: method.to_string(), url: url.to_string(), ..Default::default() }
    }

    /// A `GET` request.
    pub fn get(url: &str) -> HttpRequest {
        HttpRequest::new("GET", url)
    }

    /// A `POST` request with `body`.
    pub fn post(url: &str, body: impl Into<Vec<u8>>) -> HttpRequest {
        HttpRequest::new("POST", url).body(body)
    }

    /// Adds a header.
    pub fn header(mut self, name: &str, value: &str) -> HttpRequest {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Sets the body.
    pub fn body(mut self, body: impl Into<Vec<u8>>) -> HttpRequest {
        self.body = Some(body.into());
        self
    }

    /// Sets a JSON body and the `Content-Type: application/json` header.
    pub fn json(self, v: &json::Value) -> HttpRequest {
        self.header("content-type", "application/json").body(v.to_string())
    }

    /// Sets the timeout.
    pub fn timeout_ms(mut self, ms: u64) -> HttpRequest {
        self.timeout_ms = Some(ms);
        self
    }

    /// Sets at-most-once delivery (see the module documentation).
    pub fn at_most_once(mut self, yes: bool) -> HttpRequest {
        self.at_most_once = yes;
        self
    }

    /// The request as the ABI's MessagePack map.
    pub fn to_value(&self) -> Value {
        let mut m: Vec<(&str, Value)> = Vec::new();
        if !self.method.is_empty() {
            m.push(("method", Value::from(self.method.as_str())));
        }
        m.push(("url", Value::from(self.url.as_str())));
        if !self.headers.is_empty() {
            m.push(("headers", string_map(&self.headers)));
        }
        if let Some(b) = &self.body {
            m.push(("body", Value::Bin(b.clone())));
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

/// An HTTP response. Error statuses (4xx, 5xx) are responses, not [`Error`]s.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Response headers (names as the host reports them, usually lower case).
    pub headers: Vec<(String, String)>,
    /// Response body.
    pub body: Vec<u8>,
    /// The idempotency key the request was sent with.
    pub key: String,
}

impl HttpResponse {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> Result<json::Value, Error> {
        json::parse_bytes(&self.body).map_err(|e| Error::new("bad_response", format!("response body: {}", e)))
    }

    /// `true` for a 2xx status.
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

/// Performs an HTTP request. Op `http.request`.
///
/// Errors: `denied` (host not granted), `network`, `timeout`, `outcome_unknown`
/// (with `at_most_once`), `invalid`.
pub fn request(req: &HttpRequest) -> Result<HttpResponse, Error> {
    let v = crate::call("http.request", &req.to_value())?;
    let bad = |what| Error::bad_response("http.request", what);
    Ok(HttpResponse {
        status: v.get("status").and_then(Value::as_u64).ok_or_else(|| bad("status"))? as u16,
        headers: v.get("headers").map(read_string_map).unwrap_or_default(),
        body: v.get("body").and_then(Value::as_bytes).map(<[u8]>::to_vec).unwrap_or_default(),
        key: v.get("key").and_then(Value::as_str).unwrap_or("").to_string(),
    })
}

/// `GET url`.
pub fn get(url: &str) -> Result<HttpResponse, Error> {
    request(&HttpRequest::get(url))
}

/// `POST url` with `body`.
pub fn post(url: &str, body: impl Into<Vec<u8>>) -> Result<HttpResponse, Error> {
    request(&HttpRequest::post(url, body))
}

pub(crate) fn string_map(entries: &[(String, String)]) -> Value {
    Value::Map(entries.iter().map(|(k, v)| (Value::from(k.as_str()), Value::from(v.as_str()))).collect())
}

pub(crate) fn read_string_map(v: &Value) -> Vec<(String, String)> {
    v.as_map()
        .unwrap_or(&[])
        .iter()
        .filter_map(|(k, v)| Some((k.as_str()?.to_string(), String::from_utf8_lossy(v.as_bytes()?).into_owned())))
        .collect()
}
