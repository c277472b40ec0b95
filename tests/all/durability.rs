//! Acknowledged writes survive a restart; shutdown finishes the requests in flight.

use std::collections::HashMap;

use serde_json::Value;
use sluice::auth::Role;
use sluice_test_support::http::post_ndjson;
use sluice_tests::TestEnv;

use crate::call_recording;

#[tokio::test(flavor = "multi_thread")]
async fn acknowledged_records_survive_a_restart() {
    let mut env = TestEnv::provu().await;
    let mut tasks = Vec::new();
    for i in 0..64 {
        let client = env.client.clone();
        let url = format!("{}/v1/records", env.base);
        let token = env.token(Role::Service, None);
        tasks.push(tokio::spawn(async move {
            let resp = client
                .post(url)
                .bearer_auth(token)
                .json(&call_recording(
                    &format!("s-{i}"),
                    &format!("note {i} card 4111111111111111"),
                ))
                .send()
                .await
                .unwrap();
            assert_eq!(resp.status(), 201);
            resp.json::<Value>().await.unwrap()
        }));
    }
    let mut acknowledged = HashMap::new();
    for t in tasks {
        let body = t.await.unwrap();
        acknowledged.insert(
            body["id"].as_str().unwrap().to_string(),
            body["fields"].clone(),
        );
    }
    env.restart().await.unwrap();
    assert_eq!(env.stored_records(), 64);
    for (id, fields) in &acknowledged {
        let (status, read) = env.get(&format!("/v1/records/{id}")).await;
        assert_eq!(status, 200);
        assert_eq!(&read["fields"], fields);
    }
    // The audit log continues its sequence after the restart.
    env.create(&call_recording("after", "x")).await;
    let audit = env.audit_all();
    let seqs: Vec<u64> = audit.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as u64).collect::<Vec<_>>(),
        "no gap, no reuse"
    );
    assert_eq!(
        audit.iter().filter(|e| e.event == "record.created").count(),
        65
    );
    assert_eq!(audit.last().unwrap().event, "record.created");
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_finishes_requests_in_flight() {
    let mut env = TestEnv::provu().await;
    // A batch big enough to still be running when the shutdown begins.
    let body: String = (0..3000)
        .map(|i| {
            call_recording(&format!("f-{i}"), "in flight, card 4111 1111 1111 1111").to_string()
                + "\n"
        })
        .collect();
    let client = env.client.clone();
    let url = format!("{}/v1/records:batch", env.base);
    let token = env.token(Role::Service, None);
    let batch = tokio::spawn(async move { post_ndjson(&client, &url, &token, body).await });
    // Wait until the gateway is working on it (its first plugin calls are counted).
    let metrics_url = format!("{}/metrics", env.base);
    for _ in 0..500 {
        let m = env
            .client
            .get(&metrics_url)
            .bearer_auth(env.token(Role::Admin, None))
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .text()
            .await
            .unwrap();
        if m.contains("sluice_plugin_call_seconds_count") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    env.restart().await.unwrap();
    let resp = batch
        .await
        .unwrap()
        .expect("the batch in flight was answered");
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    let created = text
        .lines()
        .filter(|l| l.contains("\"status\":201"))
        .count();
    assert_eq!(
        created, 3000,
        "every record of the batch in flight was processed"
    );
    assert_eq!(
        env.stored_records(),
        3000,
        "and is durable across the restart"
    );
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restart_deletes_what_fell_due_while_stopped_before_serving() {
    let mut env = TestEnv::provu().await;
    let mut left = crate::contact("c-down");
    left["fields"]["left_organisation_at"] = serde_json::json!("2026-11-01T00:00:00Z");
    let id = env.create_id(&left).await;
    // The gateway is down while the 90 days of 2.1.1 run out.
    env.clock.advance_secs(120 * 86_400);
    env.restart().await.unwrap();
    let (_, read) = env.get(&format!("/v1/records/{id}")).await;
    assert!(read["fields"].get("phone").is_none(), "{read}");
    assert_eq!(read["fields"]["name"], "Ada Lovelace");
    env.stop().await;
}
