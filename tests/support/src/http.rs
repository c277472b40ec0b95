//! HTTP helpers over reqwest: NDJSON batches and their answers, JSON answers, and waiting
//! for a condition.

use std::time::{Duration, Instant};

use serde_json::Value;

/// The media type of a batch body and of its answer.
pub const NDJSON: &str = "application/x-ndjson";

/// Sends `request` with the NDJSON body `body` (`Content-Type: application/x-ndjson`).
pub async fn send_ndjson(
    request: reqwest::RequestBuilder,
    body: impl Into<reqwest::Body>,
) -> reqwest::Result<reqwest::Response> {
    request
        .header("content-type", NDJSON)
        .body(body)
        .send()
        .await
}

/// `POST url` with the bearer token `token` and the NDJSON body `body`.
pub async fn post_ndjson(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    body: impl Into<reqwest::Body>,
) -> reqwest::Result<reqwest::Response> {
    send_ndjson(client.post(url).bearer_auth(token), body).await
}

/// An NDJSON body of `records`, one a line, each line ended.
pub fn ndjson_body<'a>(records: impl IntoIterator<Item = &'a Value>) -> String {
    records
        .into_iter()
        .map(|r| format!("{r}\n"))
        .collect::<String>()
}

/// `text` parsed as JSON; panics with the text (cut at 300 characters) if it is not.
pub fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text:.300}"))
}

/// The elements of the JSON array `value`; panics with the value if it is not an array.
pub fn items(value: &Value) -> &[Value] {
    value
        .as_array()
        .unwrap_or_else(|| panic!("not an array: {value}"))
}

/// The lines of an NDJSON answer, each parsed as JSON (panics on one that is not).
pub fn ndjson_lines(text: &str) -> Vec<Value> {
    text.lines().map(json_of).collect()
}

/// Polls `check` every 10 ms until it holds or `timeout` has passed; whether it held.
pub async fn wait_until(timeout: Duration, mut check: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + timeout;
    loop {
        if check() {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Polls `check` (asynchronous) every 10 ms, up to `tries` times, until it returns a value;
/// that value, or `None` if it never did.
pub async fn poll<T>(tries: usize, mut check: impl AsyncFnMut() -> Option<T>) -> Option<T> {
    for _ in 0..tries {
        if let Some(found) = check().await {
            return Some(found);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    None
}
