use serde_json::json;
use sluice_tests::{TestEnv, items, strings};

use crate::{call_recording, contact};

#[tokio::test(flavor = "multi_thread")]
async fn a_record_is_written_read_rectified_listed_and_deleted() {
    let env = TestEnv::provu().await;
    let created = env.create(&contact("subject-7")).await;
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["bundle"], "provu@2026.11.0");

    let (status, read) = env.get(&format!("/v1/records/{id}")).await;
    assert_eq!(status, 200);
    for key in [
        "id",
        "tenant",
        "kind",
        "subject",
        "fields",
        "created_at",
        "updated_at",
        "bundle",
    ] {
        assert!(read.get(key).is_some(), "GET lacks `{key}`: {read}");
    }
    assert_eq!(read["tenant"], "default");
    assert_eq!(read["kind"], "contact");
    assert_eq!(read["subject"], "subject-7");
    assert_eq!(read["fields"]["name"], "Ada Lovelace");
    assert_eq!(read["created_at"], "2026-11-25T12:00:00Z");
    assert_eq!(items(&read["plugins"]).len(), 4);

    // Rectification merges, re-runs the chain (a card number in a new field is redacted)
    // and removes fields set to null.
    env.clock.advance_secs(60);
    let (status, patched) = env
        .patch(
            &format!("/v1/records/{id}"),
            &json!({"fields": {"job_title": "CTO 4111111111111111", "phone": null}}),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["fields"]["job_title"], "CTO [card number removed]");
    assert!(patched["fields"].get("phone").is_none());
    assert_eq!(patched["revision"], 2);
    let (_, read) = env.get(&format!("/v1/records/{id}")).await;
    assert_eq!(read["updated_at"], "2026-11-25T12:01:00Z");
    assert_eq!(read["created_at"], "2026-11-25T12:00:00Z");
    assert_eq!(read["fields"]["email"], "ada@example.co.uk");

    env.create(&call_recording("subject-7", "hello")).await;
    env.create(&contact("someone-else")).await;
    let (status, listed) = env.get("/v1/subjects/subject-7/records").await;
    assert_eq!(status, 200);
    let kinds = strings(&listed, "records", "kind");
    assert_eq!(kinds, ["contact", "call-recording"]);

    let (status, _) = env.delete(&format!("/v1/records/{id}")).await;
    assert_eq!(status, 204);
    let (status, body) = env.get(&format!("/v1/records/{id}")).await;
    assert_eq!(status, 404);
    assert!(body["error"].as_str().unwrap().contains(&id));
    let (_, listed) = env.get("/v1/subjects/subject-7/records").await;
    assert_eq!(items(&listed["records"]).len(), 1);
    let (status, _) = env.delete(&format!("/v1/records/{id}")).await;
    assert_eq!(status, 404);

    let events: Vec<String> = env
        .audit()
        .into_iter()
        .map(|e| e.event)
        .filter(|e| e != "record.disclosed")
        .collect();
    assert_eq!(
        events,
        [
            "record.created",
            "record.updated",
            "record.created",
            "record.created",
            "record.deleted"
        ]
    );
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn audit_entries_name_clauses_and_paths_but_hold_no_personal_data() {
    let env = TestEnv::provu().await;
    env.create(&call_recording(
        "jane.doe@example.com",
        "card 4111 1111 1111 1111",
    ))
    .await;
    let audit = env.audit();
    assert_eq!(audit.len(), 1);
    let entry = &audit[0];
    assert_eq!(entry.event, "record.created");
    assert_eq!(entry.decisions[0].clause, "2.1.3");
    assert_eq!(
        entry.decisions[0].path.as_deref(),
        Some("/notes/summary/text")
    );
    let text = serde_json::to_string(entry).unwrap();
    let held: Vec<&str> = ["jane.doe", "4111", "+44 1484", "rec-0001"]
        .into_iter()
        .filter(|secret| text.contains(secret))
        .collect();
    assert!(held.is_empty(), "audit entry holds {held:?}: {text}");
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_rectifications_all_apply() {
    let env = TestEnv::provu().await;
    let id = env.create_id(&contact("c-1")).await;
    let mut tasks = Vec::new();
    for i in 0..16 {
        let client = env.client.clone();
        let url = env.url(&format!("/v1/records/{id}"));
        let token = env.token(sluice::auth::Role::Service, None);
        tasks.push(tokio::spawn(async move {
            let field = format!("note_{i}");
            let resp = client
                .patch(url)
                .bearer_auth(token)
                .json(&json!({"fields": {field: i}}))
                .send()
                .await
                .unwrap();
            resp.status()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    let (_, read) = env.get(&format!("/v1/records/{id}")).await;
    for i in 0..16 {
        assert_eq!(
            read["fields"][format!("note_{i}")],
            i,
            "update {i} was lost: {read}"
        );
    }
    assert_eq!(read["revision"], 17);
    env.stop().await;
}
