//! A small workflow using the dwe Rust SDK: reads JSON input, logs, calls an HTTP URL,
//! sleeps durably, and outputs JSON. See README.md.

use dwe::json::Value;
use dwe::msgpack::Value as M;
use dwe::{HttpRequest, Level};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{:02x}", b)).collect()
}

fn workflow() -> Result<(), dwe::Error> {
    let input = dwe::input_json()?;
    let url = match input.get("url").and_then(Value::as_str) {
        Some(u) => u.to_string(),
        None => return Err(dwe::Error::new("bad_input", "input: \"url\" (string) is required")),
    };
    let name = input.get("name").and_then(Value::as_str).unwrap_or("world").to_string();
    let sleep = input.get("sleep_ms").and_then(Value::as_u64).unwrap_or(100);

    let run_id = dwe::run_id();
    let started = dwe::now_ms();
    dwe::log_fields(Level::Info, &format!("hello, {}", name), vec![("run", M::from(run_id.as_str()))]);

    // GET, or POST the input's "body" as JSON. The host adds an Idempotency-Key header.
    let req = match input.get("body") {
        Some(body) => HttpRequest::new("POST", &url).json(body),
        None => HttpRequest::get(&url),
    };
    let resp = dwe::http::request(&req.timeout_ms(10_000))?;
    dwe::log_fields(
        Level::Info,
        "http response",
        vec![("status", M::from(resp.status as u64)), ("bytes", M::from(resp.body.len()))],
    );
    if !resp.ok() {
        dwe::log(Level::Warn, &format!("unexpected status {}", resp.status));
    }

    dwe::sleep_ms(sleep);
    let ended = dwe::now_ms();
    let nonce = hex(&dwe::random_bytes(8));

    dwe::output_json(&Value::object(vec![
        ("run_id", Value::from(run_id)),
        ("name", Value::from(name)),
        ("status", Value::from(resp.status as u64)),
        ("body_bytes", Value::from(resp.body.len())),
        ("key", Value::from(resp.key)),
        ("started_ms", Value::from(started)),
        ("ended_ms", Value::from(ended)),
        ("slept_ms", Value::from(sleep)),
        ("nonce", Value::from(nonce)),
    ]));
    Ok(())
}

dwe::entry!(workflow);
