//! Admission plugins decide; a rejected record stores nothing.

use serde_json::json;
use sluice_tests::TestEnv;

/// A bundle whose admission plugin refuses what the kinds' configurations name.
fn bundle() -> String {
    sluice_tests::manifest(
        "admission",
        &[
            ("refuse", "admission", "plugins/guest-refuse.wasm"),
            ("card-redaction", "redaction", "builtin:card-redaction"),
        ],
        BUNDLE_KINDS,
    )
}

const BUNDLE_KINDS: &str = r#"
[kinds.note]
clause = "2.1.1"
fields = { title = { type = "string", required = true } }
chain = [{ plugin = "refuse", config = { clause = "2.4" } }, { plugin = "card-redaction" }]

[kinds.child]
chain = [{ plugin = "refuse", config = { clause = "6", erase = true } }]
"#;

/// Field names of special-category data (2.4), plain and disguised.
const SPECIAL_CATEGORY_NAMES: &[&str] = &[
    "hiv_status",
    "cancer",
    "diabetes",
    "therapy",
    "disabled_person",
    "maternity",
    "muslim",
    "church",
    "transgender",
    "lgbt",
    "face_id",
    "r\u{435}ligion", // Cyrillic е
    "h\u{435}alth",   // Cyrillic е
    "rel\u{3b9}gion", // Greek ι
    "ｈｅａｌｔｈ",   // full-width
    "hea\u{ad}lth",   // soft hyphen
    "heal\u{200b}th", // zero-width space
    "rel1gion",       // a digit for a letter
    "sexualOrientation",
    "TRADE-UNION",
    "Gesundheit",
    "religión",
];

/// Business field names that merely look like special-category ones.
const BUSINESS_NAMES: &[&str] = &[
    "name",
    "organisation",
    "job_title",
    "phone",
    "notes",
    "address",
    "health_check_url",
    "healthcheck",
    "race_condition",
    "union_id",
    "is_disabled",
    "disabled",
    "hospital_supplier",
    "blind_transfer",
    "status",
    "party_number",
    "trace_id",
];

#[tokio::test(flavor = "multi_thread")]
async fn a_rejected_record_stores_nothing_and_the_rejection_is_audited() {
    let env = TestEnv::with_bundle(&bundle(), &["guest-refuse"], |_| {})
        .await
        .unwrap();
    let (status, body) = env
        .post("/v1/records", &json!({"kind": "note", "subject": "s-1", "fields": {"title": "t", "x": {"forbidden": "religion"}}}))
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["clause"], "2.4");
    assert_eq!(body["path"], "/x/forbidden");
    assert_eq!(body["plugin"], "refuse");
    assert_eq!(body["error"], "a forbidden field was sent");
    assert_eq!(env.stored_records(), 0);
    let (_, listed) = env.get("/v1/subjects/s-1/records").await;
    assert_eq!(listed["records"], json!([]));
    let audit = env.audit();
    assert_eq!(audit.len(), 1);
    assert_eq!(audit[0].event, "record.rejected");
    assert_eq!(audit[0].decisions.last().unwrap().clause, "2.4");
    assert!(!serde_json::to_string(&audit).unwrap().contains("religion"));

    let ok = env
        .create(&json!({"kind": "note", "subject": "s-1", "fields": {"title": "t"}}))
        .await;
    assert_eq!(ok["decisions"][0]["action"], "admit");
    assert_eq!(ok["decisions"][0]["clause"], "2.4");
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_update_rejected_with_erase_deletes_the_stored_record() {
    let env = TestEnv::with_bundle(&bundle(), &["guest-refuse"], |_| {})
        .await
        .unwrap();
    let created = env
        .create(&json!({"kind": "child", "subject": "s-2", "fields": {"a": 1}}))
        .await;
    let id = created["id"].as_str().unwrap();
    let (status, body) = env
        .patch(
            &format!("/v1/records/{id}"),
            &json!({"fields": {"forbidden": true}}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["clause"], "6");
    assert_eq!(body["erased"], true);
    let (status, _) = env.get(&format!("/v1/records/{id}")).await;
    assert_eq!(status, 404);
    assert_eq!(env.audit().last().unwrap().event, "record.erased");
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn special_categories_are_refused_by_meaning_and_disguise_and_business_fields_pass() {
    let env = TestEnv::provu().await;
    for &name in SPECIAL_CATEGORY_NAMES {
        let record = json!({"kind": "web-form", "subject": "v-9", "fields": {
            "form": "contact", "purpose": "contact-request",
            "fields": {"name": "A", name: "x"}}});
        let (status, body) = env.post("/v1/records", &record).await;
        assert_eq!(status, 422, "{name:?} was admitted: {body}");
        assert_eq!(body["clause"], "2.4", "{name:?}: {body}");
    }
    for &name in BUSINESS_NAMES {
        let record = json!({"kind": "web-form", "subject": "v-8", "fields": {
            "form": "contact", "purpose": "contact-request",
            "fields": {name: "x"}}});
        let (status, body) = env.post("/v1/records", &record).await;
        assert_eq!(status, 201, "{name:?} was refused: {body}");
    }
    assert!(env.stored_records() >= 1);
    env.stop().await;
}
