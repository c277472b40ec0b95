use reqwest::StatusCode;
use serde_json::{Value, json};
use sluice_tests::{TestEnv, strings};

use crate::contact;

/// Sends a raw body and returns the status and JSON error body.
async fn raw(
    env: &TestEnv,
    method: reqwest::Method,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let mut req = env.request(method, path).body(body);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    let json: Value = serde_json::from_str(&text)
        .unwrap_or_else(|_| panic!("{status}: body is not JSON: {text:?}"));
    (status, json)
}

fn error_of(body: &Value) -> &str {
    body["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no `error` in {body}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_gets_a_json_4xx_naming_the_problem_and_stores_nothing() {
    let env = TestEnv::provu_with(|o| o.max_body = 64 << 10).await;
    let post = reqwest::Method::POST;
    let json_ct = Some("application/json");

    let (s, b) = raw(
        &env,
        post.clone(),
        "/v1/records",
        json_ct,
        b"{\"kind\": \"contact\", ".to_vec(),
    )
    .await;
    assert_eq!(s, 400, "malformed JSON: {b}");
    assert!(!error_of(&b).is_empty());

    let (s, b) = raw(
        &env,
        post.clone(),
        "/v1/records",
        None,
        contact("x").to_string().into_bytes(),
    )
    .await;
    assert_eq!(s, 415, "no content type: {b}");

    let (s, b) = env
        .post(
            "/v1/records",
            &json!({"kind": "horoscope", "subject": "x", "fields": {}}),
        )
        .await;
    assert_eq!(s, 422);
    assert!(
        error_of(&b).contains("unknown record kind `horoscope`"),
        "{b}"
    );
    assert!(
        error_of(&b).contains("contact"),
        "lists the known kinds: {b}"
    );

    let mut missing = contact("x");
    missing["fields"]
        .as_object_mut()
        .unwrap()
        .remove("organisation");
    let (s, b) = env.post("/v1/records", &missing).await;
    assert_eq!(s, 422);
    assert_eq!(error_of(&b), "missing required field `organisation`");
    assert_eq!(b["path"], "/organisation");
    assert_eq!(b["clause"], "2.1.1");

    let mut wrong = contact("x");
    wrong["fields"]["relationship"] = json!("friend");
    wrong["fields"]["name"] = json!(42);
    let (s, b) = env.post("/v1/records", &wrong).await;
    assert_eq!(s, 422);
    let problems = strings(&b, "problems", "error");
    assert_eq!(
        problems,
        [
            "field `name` must be a string",
            "field `relationship` must be one of: customer, supplier, prospect, prospective-supplier"
        ]
    );

    let mut bad_time = json!({"kind": "call-recording", "subject": "x", "fields": {
        "direction": "inbound", "party_number": "1", "started_at": "last tuesday", "recording_ref": "r"}});
    let (s, b) = env.post("/v1/records", &bad_time).await;
    assert_eq!(s, 422);
    assert_eq!(
        error_of(&b),
        "field `started_at` must be an RFC 3339 timestamp"
    );
    bad_time["fields"]["started_at"] = json!("2026-11-20T09:30:00Z");
    bad_time["fields"]["duration_seconds"] = json!("long");
    let (s, b) = env.post("/v1/records", &bad_time).await;
    assert_eq!(s, 422);
    assert_eq!(error_of(&b), "field `duration_seconds` must be an integer");

    let (s, b) = env
        .post(
            "/v1/records",
            &json!({"kind": "contact", "subject": "x", "fields": [1]}),
        )
        .await;
    assert_eq!(s, 422);
    assert!(
        error_of(&b).contains("`fields` must be a JSON object"),
        "{b}"
    );

    let (s, b) = env
        .post("/v1/records", &json!({"kind": "contact", "fields": {}}))
        .await;
    assert_eq!(s, 422, "missing subject: {b}");
    assert!(error_of(&b).contains("subject"), "{b}");

    let (s, b) = env
        .post(
            "/v1/records",
            &json!({"kind": "contact", "subject": "x", "fields": {}, "tenant": "other"}),
        )
        .await;
    assert_eq!(s, 422, "unknown top-level key: {b}");
    assert!(error_of(&b).contains("tenant"), "{b}");

    let mut blank = contact("x");
    blank["subject"] = json!("   ");
    let (s, b) = env.post("/v1/records", &blank).await;
    assert_eq!(s, 400);
    assert!(error_of(&b).contains("subject"), "{b}");

    let mut huge = contact("x");
    huge["fields"]["job_title"] = json!("x".repeat(80 << 10));
    let (s, b) = env.post("/v1/records", &huge).await;
    assert_eq!(s, 413, "{b}");
    assert!(error_of(&b).contains("limit"), "{b}");

    for method in [reqwest::Method::GET, reqwest::Method::DELETE] {
        let (s, b) = env
            .call(method, "/v1/records/0199-not-a-record", None)
            .await;
        assert_eq!(s, 404);
        assert!(error_of(&b).contains("0199-not-a-record"), "{b}");
    }
    let (s, b) = env
        .patch(
            "/v1/records/0199-not-a-record",
            &json!({"fields": {"name": "x"}}),
        )
        .await;
    assert_eq!(s, 404, "{b}");

    let (s, b) = env.get("/v1/nothing-here").await;
    assert_eq!(s, 404);
    assert_eq!(error_of(&b), "no such route");
    let (s, b) = env.call(reqwest::Method::PUT, "/v1/records", None).await;
    assert_eq!(s, 405);
    assert!(!error_of(&b).is_empty());

    assert_eq!(env.stored_records(), 0, "nothing was stored");
    assert!(env.audit().is_empty(), "nothing was audited as written");
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bad_patch_changes_nothing() {
    let env = TestEnv::provu().await;
    let created = env.create(&contact("p-1")).await;
    let id = created["id"].as_str().unwrap();
    let path = format!("/v1/records/{id}");

    let (s, b) = env.patch(&path, &json!({"fields": "name"})).await;
    assert_eq!(s, 400, "{b}");
    let (s, b) = env
        .patch(&path, &json!({"fields": {"relationship": "enemy"}}))
        .await;
    assert_eq!(s, 422, "{b}");
    assert_eq!(b["path"], "/relationship");
    let (s, b) = env.patch(&path, &json!({"fields": {"name": null}})).await;
    assert_eq!(s, 422, "removing a required field: {b}");

    let (_, read) = env.get(&path).await;
    assert_eq!(read["fields"], created["fields"]);
    assert_eq!(read["revision"], 1);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_empty_or_blank_subject_in_a_path_is_a_json_4xx() {
    let env = TestEnv::provu().await;
    for path in [
        "/v1/subjects//permissions?purpose=email-marketing",
        "/v1/subjects/%20/permissions?purpose=email-marketing",
        "/v1/subjects//records",
    ] {
        let (status, body) = env.get(path).await;
        assert!(status.is_client_error(), "{path}: {status} {body}");
        assert!(!error_of(&body).is_empty(), "{path}: {body}");
    }
}
