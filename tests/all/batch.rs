use serde_json::{Value, json};
use sluice_tests::TestEnv;

use crate::{call_recording, contact};

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_answers_every_line_and_a_rejected_line_does_not_stop_the_others() {
    let env = TestEnv::provu().await;
    let mut lines = vec![
        call_recording("b-1", "card 4111 1111 1111 1111").to_string(),
        json!({"kind": "contact", "subject": "b-2", "fields": {"name": "No Org"}}).to_string(),
        "{not json".to_string(),
        String::new(),
        contact("b-3").to_string(),
    ];
    lines.push(json!({"kind": "nope", "subject": "b-4", "fields": {}}).to_string());
    let body = lines.join("\n");
    let resp = env.post_batch(body).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/x-ndjson");
    let text = resp.text().await.unwrap();
    let results: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let summary: Vec<(u64, u64)> = results
        .iter()
        .map(|r| (r["line"].as_u64().unwrap(), r["status"].as_u64().unwrap()))
        .collect();
    assert_eq!(summary, [(1, 201), (2, 422), (3, 400), (5, 201), (6, 422)]);
    assert_eq!(
        results[0]["fields"]["notes"]["summary"]["text"],
        "card [card number removed]"
    );
    assert_eq!(results[1]["path"], "/organisation");
    assert_eq!(results[1]["clause"], "2.1.1");

    for r in [&results[0], &results[3]] {
        let (s, _) = env
            .get(&format!("/v1/records/{}", r["id"].as_str().unwrap()))
            .await;
        assert_eq!(s, 200);
    }
    assert_eq!(env.stored_records(), 2);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_batch_is_a_bad_request() {
    let env = TestEnv::provu().await;
    let resp = env.post_batch("\n\n").await;
    assert_eq!(resp.status(), 400);
    let body: Value = resp.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("no records"));
    env.stop().await;
}
