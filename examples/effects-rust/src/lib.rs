//! The `effects` workflow in Rust, with exactly the contract of the AssemblyScript
//! `effects` example (see README.md): per step, clock.now, exec, http.request, log;
//! then run.output `{"steps":N}`.

use dwe::exec::shell_quote;
use dwe::json::Value;
use dwe::{ExecRequest, HttpRequest, Level};

/// Unwraps a host result; an error fails the run with the error's message.
fn check<T>(r: Result<T, dwe::Error>) -> T {
    match r {
        Ok(v) => v,
        Err(e) => dwe::fail(&e.message),
    }
}

fn effects() -> Result<(), dwe::Error> {
    const USAGE: &str = "input must be a JSON object {\"n\": N, \"file\": PATH, \"url\": URL}";
    let input = match dwe::input_json() {
        Ok(v @ Value::Object(_)) => v,
        Ok(_) => dwe::fail_with("invalid_input", USAGE),
        Err(e) => dwe::fail_with("invalid_input", &e.message),
    };
    // Same defaults as the AssemblyScript example: n = 0, file = url = "" when absent/null.
    let n = match input.get("n") {
        None | Some(Value::Null) => 0,
        Some(v) => v.as_u64().unwrap_or_else(|| dwe::fail_with("invalid_input", "input: n must be a non-negative integer")),
    };
    let string = |key: &str| match input.get(key) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(_) => dwe::fail_with("invalid_input", &format!("input: {} must be a string", key)),
    };
    let (file, url) = (string("file"), string("url"));
    let quoted = shell_quote(&file);

    for i in 0..n {
        let _t = dwe::now_ms();
        let cmd = format!("echo {} >> {}", i, quoted);
        check(dwe::exec(&ExecRequest::new(&["sh", "-c", cmd.as_str()])));
        check(dwe::http::request(&HttpRequest::post(&url, i.to_string())));
        dwe::log(Level::Info, &format!("step {}", i));
    }

    dwe::output_json(&Value::object(vec![("steps", Value::from(n))]));
    Ok(())
}

dwe::entry!(effects);
