//! Crash safety of the outbox: the gateway process is killed (SIGKILL) while deliveries are
//! in flight; after a restart every delivery arrives at least once, and a duplicate carries
//! the same idempotency key.

use std::collections::BTreeSet;
use std::time::Duration;

use sluice_test_support::bundle::{edit_manifest, provu_copy, push_delivery_table, with_delivery};
use sluice_test_support::cli::{Sluice, free_port};
use sluice_test_support::http::{items, wait_until};
use sluice_test_support::vendor::VendorServer;

const SLUICE: Sluice = Sluice::new(env!("CARGO_BIN_EXE_sluice"));

const RECORDS: usize = 30;

/// How long the vendor may take to receive what the test waits for.
const WAIT: Duration = Duration::from_secs(30);

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn a_killed_gateway_delivers_everything_after_a_restart_with_stable_keys() {
    // A slow vendor: it records each request, then answers 200 after 100 ms.
    let vendor = VendorServer::start_slow(Duration::from_millis(100)).await;
    let tmp = tempfile::tempdir().unwrap();
    let bundle = provu_copy(&tmp.path().join("bundle"), "2026.11.0");
    let redirection = format!("{}/r", vendor.url);
    let delivery = push_delivery_table(&[("redirection", &redirection)], "");
    edit_manifest(std::path::Path::new(&bundle), |text| {
        with_delivery(text, "yealink", &delivery)
    })
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
    let service = SLUICE.create_token(&data, &["--role", "service"]);
    let admin = SLUICE.create_token(&data, &["--role", "admin"]);
    let gateway = SLUICE.serve(port, &args, &envs);
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
    let first = wait_until(WAIT, || vendor.received().len() >= 4).await;
    assert!(first, "timed out waiting for the first deliveries");
    drop(gateway); // SIGKILL, then reap
    let before = vendor.received().len();
    assert!(
        before < RECORDS,
        "all {before} arrived before the kill; the test proves nothing"
    );

    let port = free_port();
    let _gateway = SLUICE.serve(port, &args, &envs);
    let base = format!("http://127.0.0.1:{port}");
    let every = wait_until(WAIT, || {
        vendor.keys().into_iter().collect::<BTreeSet<_>>().len() >= RECORDS
    })
    .await;
    assert!(every, "timed out waiting for every delivery");
    let outbox: serde_json::Value = client
        .get(format!("{base}/v1/admin/outbox?vendor=yealink"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys: BTreeSet<String> = items(&outbox["deliveries"])
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(keys.len(), RECORDS, "one delivery per record, none lost");
    let got: Vec<String> = vendor.keys();
    let distinct: BTreeSet<String> = got.iter().cloned().collect();
    // Every delivery arrived at least once; nothing arrived that is not a delivery; a
    // delivery sent twice (in flight at the kill) carried the same key both times.
    assert_eq!(distinct, keys);
    assert!(got.len() >= RECORDS);
}
