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
