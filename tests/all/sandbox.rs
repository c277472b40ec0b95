//! Misbehaving plugins are contained: the request fails closed, nothing is stored, and the
//! gateway keeps serving.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sluice_tests::TestEnv;

/// A bundle of a misbehaving test guest per kind, beside the card-redaction plugin.
fn bundle() -> String {
    sluice_tests::manifest(
        "sandbox",
        &[
            ("card-redaction", "redaction", "builtin:card-redaction"),
            ("trap", "redaction", "plugins/guest-trap.wasm"),
            ("spin", "redaction", "plugins/guest-spin.wasm"),
            ("hog", "redaction", "plugins/guest-hog.wasm"),
            ("snoop", "redaction", "plugins/guest-snoop.wasm"),
            ("remember", "redaction", "plugins/guest-remember.wasm"),
        ],
        BUNDLE_KINDS,
    )
}

const BUNDLE_KINDS: &str = r#"
[kinds.ok]
chain = [{ plugin = "card-redaction" }]
[kinds.remember]
chain = [{ plugin = "remember" }]
[kinds.trap]
chain = [{ plugin = "card-redaction" }, { plugin = "trap" }]
[kinds.spin]
chain = [{ plugin = "spin" }]
[kinds.hog]
chain = [{ plugin = "hog" }]
[kinds.snoop-clock]
chain = [{ plugin = "snoop", config = { try = "clock" } }]
[kinds.snoop-env]
chain = [{ plugin = "snoop", config = { try = "env" } }]
[kinds.snoop-file]
chain = [{ plugin = "snoop", config = { try = "file" } }]
"#;

const GUESTS: &[&str] = &[
    "guest-trap",
    "guest-spin",
    "guest-hog",
    "guest-snoop",
    "guest-remember",
];

async fn sandbox() -> TestEnv {
    TestEnv::with_bundle(&bundle(), GUESTS, |o| {
        o.limits.deadline = Duration::from_millis(100);
        o.limits.memory = 16 << 20;
    })
    .await
    .expect("starting the sandbox gateway")
}

fn record(kind: &str) -> Value {
    json!({"kind": kind, "subject": "s", "fields": {"text": "card 4111 1111 1111 1111"}})
}

async fn assert_serves(env: &TestEnv) {
    let body = env.create(&record("ok")).await;
    assert_eq!(body["fields"]["text"], "card [card number removed]");
}

async fn assert_fails_closed(env: &TestEnv, kind: &str, plugin: &str, expect: &str) {
    let before = env.stored_records();
    let started = Instant::now();
    let (status, body) = env.post("/v1/records", &record(kind)).await;
    let took = started.elapsed();
    assert_eq!(status, 503, "{kind}: {body}");
    assert_eq!(body["plugin"], plugin, "{kind}: {body}");
    let error = body["error"].as_str().unwrap();
    assert!(
        error.contains(expect),
        "{kind}: `{error}` should say `{expect}`"
    );
    assert!(error.contains("nothing was stored"), "{error}");
    assert!(took < Duration::from_secs(5), "{kind} took {took:?}");
    assert_eq!(env.stored_records(), before, "{kind}: nothing stored");
    assert_serves(env).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trapping_plugin_fails_closed_and_the_gateway_keeps_serving() {
    let env = sandbox().await;
    assert_fails_closed(&env, "trap", "trap", "plugin `trap` trapped").await;
    // Repeatedly: a trapped instance never poisons the next request.
    assert_fails_closed(&env, "trap", "trap", "trapped").await;
    let metrics = env.metrics().await;
    assert!(
        metrics.contains(r#"sluice_plugin_failures_total{plugin="trap",kind="trap"} 2"#),
        "{metrics}"
    );
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plugin_that_loops_forever_is_stopped_at_its_deadline() {
    let env = sandbox().await;
    assert_fails_closed(&env, "spin", "spin", "exceeded its deadline of 100 ms").await;
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plugin_that_grabs_memory_is_stopped_at_its_cap() {
    let env = sandbox().await;
    assert_fails_closed(&env, "hog", "hog", "exceeded its memory cap of 16 MiB").await;
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plugin_gets_no_clock_environment_or_filesystem() {
    let env = sandbox().await;
    for kind in ["snoop-clock", "snoop-env", "snoop-file"] {
        assert_fails_closed(&env, kind, "snoop", "trapped").await;
    }
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn no_request_finds_what_an_earlier_one_left_in_plugin_memory() {
    // The `remember` guest fails when its memory holds a trace of an earlier call, and leaves
    // one in its heap and in pages it grows. Every request gets an instance reset to the
    // component's image, however many ran before in the same pool slots.
    let env = sandbox().await;
    for i in 0..40 {
        let (status, body) = env.post("/v1/records", &record("remember")).await;
        assert_eq!(status, 201, "request {i}: {body}");
    }
    // The records of one batch share an instance: the second finds the first's trace, which
    // shows that the guest's search does find one.
    let (text, lines) = env.batch(&[record("remember"), record("remember")]).await;
    assert_eq!(lines[0]["status"], 201, "{text}");
    assert_eq!(lines[1]["status"], 503, "{text}");
    assert!(
        lines[1]
            .to_string()
            .contains("found an earlier call's trace"),
        "{text}"
    );
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_record_in_a_batch_fails_alone() {
    let env = sandbox().await;
    let (_, lines) = env
        .batch(&[record("ok"), record("trap"), record("spin"), record("ok")])
        .await;
    let statuses: Vec<u64> = lines
        .iter()
        .map(|l| l["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [201, 503, 503, 201]);
    assert_eq!(env.stored_records(), 2);
    env.stop().await;
}
