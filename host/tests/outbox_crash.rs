//! Crash safety of the outbox: the gateway process is killed (SIGKILL) while deliveries are
//! in flight; after a restart every delivery arrives at least once, and a duplicate carries
//! the same idempotency key.

mod common;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{free_port, provu_copy, serve, wait_for};

const RECORDS: usize = 30;

/// A slow vendor: records each request's idempotency key, then answers 200 after 100 ms.
async fn slow_vendor() -> (String, Arc<Mutex<Vec<String>>>) {
    let keys: Arc<Mutex<Vec<String>>> = Arc::default();
    let k = keys.clone();
    let app = axum::Router::new().fallback(move |headers: axum::http::HeaderMap| {
        let k = k.clone();
        async move {
            let key = headers
                .get("idempotency-key")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string();
            k.lock().unwrap().push(key);
            tokio::time::sleep(Duration::from_millis(100)).await;
            axum::http::StatusCode::OK
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, keys)
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn a_killed_gateway_delivers_everything_after_a_restart_with_stable_keys() {
    let (vendor, received) = slow_vendor().await;
    let tmp = tempfile::tempdir().unwrap();
    let bundle = provu_copy(&tmp.path().join("bundle"), "2026.11.0");
    let manifest = std::path::Path::new(&bundle).join("bundle.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        text.replacen(
            "[register.yealink]\n",
            &format!(
                "[register.yealink]\ndelivery = {{ mode = \"push\", endpoints = {{ redirection = \"{vendor}/r\" }} }}\n"
            ),
            1,
        ),
    )
    .unwrap();
    let data = tmp.path().join("data");
    let port = free_port();
    let args = [
        "--data-dir",
        data.to_str().unwrap(),
        "--policies",
        &bundle,
        "--delivery-concurrency",
        "2",
    ];
    let envs = [("SLUICE_VENDOR_SECRET_YEALINK", "crash-test-secret")];
    let service = common::create_token(&data, &["--role", "service"]);
    let admin = common::create_token(&data, &["--role", "admin"]);
    let gateway = serve(port, &args, &envs);
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    for i in 0..RECORDS {
        let record = serde_json::json!({"kind": "device-provisioning", "subject": format!("u{i}"),
            "fields": {"mac": format!("00-15-65-00-00-{i:02X}"), "vendor": "yealink",
                       "username": "1001", "sip_server": "sip.example.net",
                       "provisioned_at": "2026-11-20T00:00:00Z", "provisioning_host": "own"}});
        let r = client
            .post(format!("{base}/v1/records"))
            .bearer_auth(&service)
            .json(&record)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    }
    // Some deliveries arrived, others are in flight or queued: kill it now.
    let r = received.clone();
    tokio::task::spawn_blocking(move || {
        wait_for("the first deliveries", || r.lock().unwrap().len() >= 4)
    })
    .await
    .unwrap();
    drop(gateway); // SIGKILL, then reap
    let before = received.lock().unwrap().len();
    assert!(
        before < RECORDS,
        "all {before} arrived before the kill; the test proves nothing"
    );

    let port = free_port();
    let _gateway = serve(port, &args, &envs);
    let base = format!("http://127.0.0.1:{port}");
    let r = received.clone();
    tokio::task::spawn_blocking(move || {
        wait_for("every delivery", || {
            r.lock().unwrap().iter().collect::<BTreeSet<_>>().len() >= RECORDS
        })
    })
    .await
    .unwrap();
    let outbox: serde_json::Value = client
        .get(format!("{base}/v1/admin/outbox?vendor=yealink"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys: BTreeSet<String> = outbox["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(keys.len(), RECORDS, "one delivery per record, none lost");
    let got: Vec<String> = received.lock().unwrap().clone();
    let distinct: BTreeSet<String> = got.iter().cloned().collect();
    // Every delivery arrived at least once; nothing arrived that is not a delivery; a
    // delivery sent twice (in flight at the kill) carried the same key both times.
    assert_eq!(distinct, keys);
    assert!(got.len() >= RECORDS);
}
