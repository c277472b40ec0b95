//! Data subject rights (clause 9).

use reqwest::StatusCode;
use serde_json::json;
use sluice_tests::TestEnv;

#[tokio::test(flavor = "multi_thread")]
async fn an_export_holds_exactly_the_subjects_records_decisions_and_recipients() {
    let env = TestEnv::provu().await;
    let device = env
        .create(
            &json!({"kind": "device-provisioning", "subject": "end-user-1", "fields": {
            "mac": "00-15-65-AA-BB-CC", "vendor": "yealink", "username": "1001",
            "password": "s3cret-Pass", "sip_server": "sip.example.net",
            "provisioned_at": "2026-11-20T00:00:00Z", "provisioning_host": "own"}}),
        )
        .await;
    env.create(&crate::contact("someone-else")).await;
    let id = device["id"].as_str().unwrap();
    // Yealink's redirection server reads the record, and pulls and acknowledges its feed.
    let (status, _) = env
        .get(&format!(
            "/v1/records/{id}?audience=subprocessor:yealink&purpose=redirection"
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, feed) = env.get("/v1/vendor/feed?vendor=yealink").await;
    env.post(
        "/v1/vendor/feed/ack",
        &json!({"vendor": "yealink", "cursor": feed["next"]}),
    )
    .await;

    let (status, export) = env.get("/v1/subjects/end-user-1/export").await;
    assert_eq!(status, StatusCode::OK, "{export}");
    assert_eq!(export["status"], "completed");
    assert_eq!(export["clause"], "9");
    assert!(export["request"].as_str().unwrap().len() >= 32);
    let records = export["records"].as_array().unwrap();
    assert_eq!(records.len(), 1, "only the subject's own records");
    let r = &records[0];
    assert_eq!(r["id"], id);
    assert_eq!(r["fields"]["mac"], "00:15:65:aa:bb:cc");
    assert!(
        r["decisions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["clause"] == "2.2.2" && d["action"] == "normalise")
    );
    let who: Vec<(&str, &str)> = r["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["who"].as_str().unwrap(), x["via"].as_str().unwrap()))
        .collect();
    assert_eq!(
        who,
        [
            ("subprocessor:yealink", "disclosure"),
            ("subprocessor:yealink", "delivery")
        ]
    );
    // The request is audited, with a digest of the subject only.
    let entry = env
        .audit_all()
        .into_iter()
        .find(|e| e.event == "rights.access")
        .unwrap();
    assert_eq!(entry.detail.as_ref().unwrap()["request"], export["request"]);
    assert!(
        !serde_json::to_string(&entry)
            .unwrap()
            .contains("end-user-1")
    );
    // A subject with no records gets an empty export.
    let (_, none) = env.get("/v1/subjects/nobody/export").await;
    assert_eq!(none["records"], json!([]));
}

fn device(subject: &str, mac: &str) -> serde_json::Value {
    json!({"kind": "device-provisioning", "subject": subject, "fields": {
        "mac": mac, "vendor": "yealink", "username": "1001", "password": "s3cret-Pass",
        "sip_server": "sip.example.net", "provisioned_at": "2026-11-20T00:00:00Z",
        "provisioning_host": "own"}})
}

#[tokio::test(flavor = "multi_thread")]
async fn a_restriction_keeps_the_data_but_blocks_reads_disclosures_and_forwards() {
    let env = TestEnv::provu().await;
    let mine = env.create(&device("end-user-2", "00-15-65-00-00-01")).await;
    let other = env.create(&crate::contact("contact-9")).await;
    let id = mine["id"].as_str().unwrap();

    let (status, body) = env
        .post("/v1/subjects/end-user-2/restriction", &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "completed");
    assert_eq!(body["clause"], "9");
    assert_eq!(
        body["deliveries_refused"], 1,
        "the queued delivery is held back"
    );

    let (status, refused) = env.get(&format!("/v1/records/{id}")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(refused["clause"], "9");
    let (status, _) = env
        .get(&format!(
            "/v1/records/{id}?audience=subprocessor:yealink&purpose=redirection"
        ))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    // Kept, and readable for a legal claim.
    let (status, kept) = env
        .get(&format!("/v1/records/{id}?purpose=legal-claim"))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(kept["fields"]["mac"], "00:15:65:00:00:01");
    // A new record of the subject is stored, but nothing of it is forwarded.
    let newer = env.create(&device("end-user-2", "00-15-65-00-00-02")).await;
    let (_, outbox) = env
        .get(&format!(
            "/v1/admin/outbox?record={}",
            newer["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(outbox["deliveries"][0]["state"], "refused");
    assert_eq!(outbox["deliveries"][0]["clause"], "9");
    let (_, feed) = env.get("/v1/vendor/feed?vendor=yealink").await;
    assert_eq!(feed["deliveries"], json!([]));
    // Nobody else is affected.
    let (status, _) = env
        .get(&format!("/v1/records/{}", other["id"].as_str().unwrap()))
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, _) = env.delete("/v1/subjects/end-user-2/restriction").await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = env.get(&format!("/v1/records/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    let events: Vec<String> = env
        .audit_all()
        .into_iter()
        .filter(|e| e.event.starts_with("rights."))
        .map(|e| e.event)
        .collect();
    assert_eq!(events, ["rights.restriction", "rights.restriction-lifted"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_objection_blocks_its_purpose_and_nothing_else() {
    let env = TestEnv::provu().await;
    let contact = env.create(&crate::contact("contact-1")).await;
    let id = contact["id"].as_str().unwrap();
    assert_eq!(permission(&env).await, true);

    let (status, body) = env
        .post(
            "/v1/subjects/contact-1/objections",
            &json!({"purpose": "telephone-marketing"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["clause"], "2.1.5");
    assert_eq!(permission(&env).await, false);
    let (status, refused) = env
        .get(&format!("/v1/records/{id}?purpose=telephone-marketing"))
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(refused["clause"], "2.1.5");
    let (status, _) = env.get(&format!("/v1/records/{id}?purpose=support")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = env
        .post(
            "/v1/subjects/contact-1/objections",
            &json!({"purpose": "astrology"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

async fn permission(env: &TestEnv) -> serde_json::Value {
    env.get("/v1/subjects/contact-1/permissions?purpose=telephone-marketing")
        .await
        .1["allowed"]
        .clone()
}
