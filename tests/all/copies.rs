//! Every copy of personal data follows the policy: a field that retention deletes leaves the
//! record, the record's account of its deliveries, the outbox, the vendor's feed and later
//! backups in the same transaction; a delivered payload is not kept; vendors receive the
//! stored shape; a card number is not stored as a subject key either.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sluice_tests::{TestEnv, decisions, items};

const DAY_SECS: i64 = 86_400;

/// Every place a value could survive, as text: the record as read, the whole outbox, the
/// vendor's feed from its beginning and a backup of the gateway.
async fn every_copy(env: &TestEnv, record: &str, vendor: &str) -> Vec<(&'static str, String)> {
    let (status, read) = env.get(&format!("/v1/records/{record}")).await;
    assert!(
        status == StatusCode::OK || status == StatusCode::NOT_FOUND,
        "{read}"
    );
    let (status, outbox) = env.get("/v1/admin/outbox?limit=1000").await;
    assert_eq!(status, StatusCode::OK, "{outbox}");
    let (status, feed) = env
        .get(&format!("/v1/vendor/feed?vendor={vendor}&after=0"))
        .await;
    assert_eq!(status, StatusCode::OK, "{feed}");
    let backup = env
        .request(Method::GET, "/v1/admin/backup")
        .send()
        .await
        .expect("fetching a backup");
    assert_eq!(backup.status(), StatusCode::OK);
    let backup = backup.bytes().await.expect("reading the backup");
    vec![
        ("record", read.to_string()),
        ("outbox", outbox.to_string()),
        ("feed", feed.to_string()),
        ("backup", String::from_utf8_lossy(&backup).into_owned()),
    ]
}

async fn assert_everywhere(env: &TestEnv, record: &str, vendor: &str, needle: &str) {
    for (place, text) in every_copy(env, record, vendor).await {
        assert!(
            text.contains(needle),
            "{needle} is not in the {place}: {text:.2000}"
        );
    }
}

async fn assert_nowhere(env: &TestEnv, record: &str, vendor: &str, needle: &str) {
    for (place, text) in every_copy(env, record, vendor).await {
        assert!(!text.contains(needle), "{needle} survives in the {place}");
    }
}

/// The delivery to `endpoint` in a list of deliveries (a write's answer or a feed).
fn delivery_to<'a>(deliveries: &'a Value, endpoint: &str) -> &'a Value {
    deliveries
        .as_array()
        .expect("a list of deliveries")
        .iter()
        .find(|d| d["endpoint"] == endpoint)
        .unwrap_or_else(|| panic!("no delivery to {endpoint}: {deliveries}"))
}

/// Writes the device of [`device`], asserting `201`; its id.
async fn provision(env: &TestEnv, password: &str, provisioned_at: &str) -> String {
    env.create_id(&device(password, provisioned_at)).await
}

fn device(password: &str, provisioned_at: &str) -> Value {
    json!({"kind": "device-provisioning", "subject": "end-user-9", "fields": {
        "mac": "00:15:65:12:34:56", "vendor": "yealink", "username": "2002", "password": password,
        "sip_server": "sip.example.net", "display_name": "Front desk",
        "sip_settings": {"transport": "tls", "auth": {"secret": password}},
        "provisioned_at": provisioned_at, "provisioning_host": "vendor"}})
}

#[tokio::test(flavor = "multi_thread")]
async fn a_password_deleted_after_15_days_leaves_no_copy_anywhere() {
    let env = TestEnv::provu().await;
    let password = "Pw-unique-7731-zq";
    let id = &provision(&env, password, "2026-11-20T00:00:00Z").await;
    // Before the deadline, the vendor's provisioning delivery carries the password (also
    // under another name, inside `sip_settings`).
    assert_everywhere(&env, id, "yealink", password).await;

    env.clock.advance_secs(20 * DAY_SECS);
    assert!(env.sweep().await >= 1);

    assert_nowhere(&env, id, "yealink", password).await;
    let (_, read) = env.get(&format!("/v1/records/{id}")).await;
    assert!(read["fields"].get("password").is_none(), "{read}");
    assert_eq!(read["fields"]["mac"], "00:15:65:12:34:56");
    // The vendor still gets what remains of the delivery.
    let (_, feed) = env.get("/v1/vendor/feed?vendor=yealink&after=0").await;
    let provisioning = delivery_to(&feed["deliveries"], "provisioning");
    assert_eq!(
        provisioning["payload"]["username"], "2002",
        "{provisioning}"
    );
    let audit = env.audit();
    let deleted = audit
        .iter()
        .find(|e| e.event == "retention.field-deleted")
        .expect("the deletion is audited");
    assert_eq!(deleted.decisions[0].clause, "2.2.2");
    assert_eq!(
        deleted.detail.as_ref().unwrap()["copies_removed"],
        json!(3),
        "the copy in the record's `sip_settings`, its account of the delivery and the outbox \
         entry: {:?}",
        deleted.detail
    );
    // Nothing in the audit log ever held it.
    assert!(!serde_json::to_string(&audit).unwrap().contains(password));
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delivered_payload_is_kept_as_its_digest_and_paths_only() {
    let env = TestEnv::provu().await;
    let password = "Pw-delivered-4410";
    let id = &provision(&env, password, "2026-11-24T00:00:00Z").await;
    let (_, feed) = env.get("/v1/vendor/feed?vendor=yealink").await;
    assert!(feed.to_string().contains(password));
    let cursor = feed["next"].as_u64().unwrap();
    env.ack_feed("yealink", cursor).await;
    // Acknowledged: the outbox and the feed no longer hold the data, only its proof.
    let (_, outbox) = env.get("/v1/admin/outbox?limit=1000").await;
    assert!(!outbox.to_string().contains(password), "{outbox}");
    let (_, feed) = env.get("/v1/vendor/feed?vendor=yealink&after=0").await;
    for d in items(&feed["deliveries"]) {
        assert_eq!(d["payload"], Value::Null, "{d}");
        assert!(d["payload_digest"].as_str().unwrap().starts_with("sha256:"));
    }
    let provisioning = delivery_to(&feed["deliveries"], "provisioning");
    let paths = items(&provisioning["paths"]);
    assert!(paths.contains(&json!("/password")), "{provisioning}");
    // The record of recipients still names the paths received.
    let (_, recipients) = env.get(&format!("/v1/records/{id}/recipients")).await;
    assert!(recipients.to_string().contains("/password"), "{recipients}");
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_courier_keeps_no_phone_or_email_past_90_days_after_shipping() {
    let env = TestEnv::provu().await;
    let id = &env
        .create_id(&json!({"kind": "delivery", "subject": "recipient-7", "fields": {
            "name": "Grace Hopper", "company": "Hopper Labs",
            "address": {"line1": "1 Savile Street", "city": "Huddersfield", "postcode": "HD3 4PG", "country": "GB"},
            "courier": "dpd", "order_ref": "ORD-2026-007777",
            "phone": "07700 900777", "email": "grace.unique@example.co.uk",
            "shipped_at": "2026-11-24T10:00:00Z", "ready_to_ship": true}}))
        .await;
    assert_everywhere(&env, id, "dpd", "grace.unique@example.co.uk").await;
    assert_everywhere(&env, id, "dpd", "07700 900777").await;
    env.clock.advance_secs(91 * DAY_SECS);
    assert!(env.sweep().await >= 2);
    assert_nowhere(&env, id, "dpd", "grace.unique@example.co.uk").await;
    assert_nowhere(&env, id, "dpd", "07700 900777").await;
    // The address stays (2.2.1), in the record and in the courier's delivery.
    assert_everywhere(&env, id, "dpd", "1 Savile Street").await;
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn records_deleted_whole_leave_no_copy() {
    let env = TestEnv::provu().await;
    // 2.1.3: a recording a year after the call; 2.2.2: the provisioning log after 90 days;
    // 2.1.1: a contact's phone and email 90 days after they left.
    let call = env
        .create(
            &json!({"kind": "call-recording", "subject": "cust-5", "fields": {
            "direction": "inbound", "party_number": "01484 840048",
            "started_at": "2026-11-25T09:00:00Z", "recording_ref": "rec-unique-5150"}}),
        )
        .await;
    let log = env
        .create(&json!({"kind": "provisioning-request", "subject": "dev-5", "fields": {
            "ip": "198.51.100.77", "requested_at": "2026-11-25T09:00:00Z", "path": "/cfg/unique-5151.xml"}}))
        .await;
    let contact = env
        .create(&json!({"kind": "contact", "subject": "c-5", "fields": {
            "name": "Ada Lovelace", "organisation": "Analytical Engines Ltd", "relationship": "customer",
            "email": "ada.unique@example.co.uk", "phone": "01484 845152",
            "left_organisation_at": "2026-11-25T00:00:00Z"}}))
        .await;
    env.clock.advance_secs(366 * DAY_SECS);
    env.sweep().await;
    for (record, needle) in [
        (call["id"].as_str().unwrap(), "rec-unique-5150"),
        (log["id"].as_str().unwrap(), "unique-5151"),
        (contact["id"].as_str().unwrap(), "ada.unique@example.co.uk"),
        (contact["id"].as_str().unwrap(), "01484 845152"),
    ] {
        assert_nowhere(&env, record, "yealink", needle).await;
    }
    let (status, read) = env
        .get(&format!("/v1/records/{}", contact["id"].as_str().unwrap()))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(read["fields"]["name"], "Ada Lovelace");
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn vendors_receive_the_stored_shape_of_every_field_type() {
    let env = TestEnv::provu().await;
    let sip = json!({"transport": "tls", "codecs": ["opus", "g722"], "ports": [5060, 5061],
                     "lines": [{"number": 1, "label": "main"}, {"number": 2}],
                     "big": 12345678901234567890u64, "ratio": 0.25, "negative": -7,
                     "srtp": true, "outbound_proxy": null, "blf": [], "extra": {},
                     "matrix": [[1, 2], [3]], "0": "a key that looks like an index"});
    let mut record = device("Pw-shape-1", "2026-11-24T00:00:00Z");
    record["fields"]["sip_settings"] = sip.clone();
    let created = env.create(&record).await;
    let stored = &created["fields"];
    assert_eq!(stored["sip_settings"], sip);
    let provisioning = delivery_to(&created["deliveries"], "provisioning").clone();
    assert_eq!(
        provisioning["payload"]["sip_settings"], sip,
        "{provisioning}"
    );
    let (_, feed) = env.get("/v1/vendor/feed?vendor=yealink").await;
    let item = delivery_to(&feed["deliveries"], "provisioning").clone();
    for key in [
        "sip_settings",
        "username",
        "display_name",
        "mac",
        "password",
    ] {
        assert_eq!(item["payload"][key], stored[key], "{key}: {item}");
    }
    env.stop().await;
}

/// Subject keys that are, or hold, a card number.
const CARD_SUBJECTS: [&str; 4] = [
    "4111111111111111",
    "4111 1111 1111 1111",
    "cust-4111-1111-1111-1111",
    "5555555555554444",
];

#[tokio::test(flavor = "multi_thread")]
async fn a_card_number_is_never_a_subject_key() {
    let env = TestEnv::provu().await;
    for subject in CARD_SUBJECTS {
        let record = super::contact(subject);
        let (status, body) = env.post("/v1/records", &record).await;
        assert_eq!(
            status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{subject}: {body}"
        );
        assert_eq!(body["clause"], "2.1.2", "{body}");
        assert!(!body.to_string().contains(subject), "{body}");
        // The batch route refuses it the same way.
        let line = serde_json::to_string(&record).unwrap();
        let resp = env.post_batch(format!("{line}\n")).await;
        let text = resp.text().await.unwrap();
        let first: Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(first["status"], 422, "{text}");
        assert_eq!(first["clause"], "2.1.2", "{text}");
        // Reads by such a subject are refused too, not answered from the index.
        let path = format!("/v1/subjects/{}/records", subject.replace(' ', "%20"));
        let (status, _) = env.get(&path).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{path}");
    }
    assert_eq!(env.stored_records(), 0);
    // An ordinary subject key with digits is fine.
    let mut ok = super::contact("cust-01484-840048");
    ok["subject"] = json!("cust-01484-840048");
    env.create(&ok).await;
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn data_already_past_its_retention_is_never_stored_or_forwarded() {
    let env = TestEnv::provu().await;
    let password = "Pw-overdue-5150-qq";
    // Provisioned 30 days ago: the password was due for deletion 15 days ago (2.2.2).
    let body = env.create(&device(password, "2026-10-26T00:00:00Z")).await;
    let id = body["id"].as_str().unwrap();
    assert!(body["fields"].get("password").is_none(), "{body}");
    let deleted = decisions(&body, "delete");
    assert_eq!(deleted.len(), 1, "{body}");
    assert_eq!(deleted[0]["path"], "/password");
    assert_eq!(deleted[0]["clause"], "2.2.2");
    assert_eq!(body["expiries"], json!([]));
    assert_nowhere(&env, id, "yealink", password).await;
    // A recording older than its year (2.1.3) is refused whole, and nothing is stored.
    let (status, refused) = env
        .post(
            "/v1/records",
            &json!({"kind": "call-recording", "subject": "cust-7", "fields": {
                "direction": "inbound", "party_number": "01484 840048",
                "started_at": "2025-10-01T09:00:00Z", "recording_ref": "rec-old"}}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["clause"], "2.1.3");
    assert_eq!(env.stored_records(), 1);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rectification_cannot_bring_a_password_back_past_its_deadline() {
    let env = TestEnv::provu().await;
    // Provisioned 30 days ago: the password is gone at the write; re-adding one while clearing
    // or moving the date it runs from does not keep it.
    let id = provision(&env, "Pw-first-1111-aa", "2026-10-26T00:00:00Z").await;
    for (i, anchor) in [json!(null), json!("2099-01-01T00:00:00Z")]
        .iter()
        .enumerate()
    {
        let password = format!("Pw-readded-{i}-zz");
        let fields = json!({"provisioned_at": anchor, "password": password});
        let (status, patched) = env.rectify(&id, fields).await;
        assert_eq!(status, StatusCode::OK, "{patched}");
        assert!(patched["fields"].get("password").is_none(), "{patched}");
        let deleted = decisions(&patched, "delete");
        assert!(
            deleted.iter().any(|d| d["path"] == "/password"),
            "{patched}"
        );
        assert_nowhere(&env, &id, "yealink", &password).await;
    }
    // Provisioned 10 days ago (due in 5): moving the date, then writing a new password, keeps
    // the first deadline for the new one too.
    let id = provision(&env, "Pw-second-2222-bb", "2026-11-15T00:00:00Z").await;
    let (_, moved) = env
        .rectify(&id, json!({"provisioned_at": "2099-01-01T00:00:00Z"}))
        .await;
    assert_eq!(
        moved["expiries"][0]["due"], "2026-11-30T00:00:00Z",
        "{moved}"
    );
    let (_, renewed) = env
        .rectify(&id, json!({"password": "Pw-third-3333-cc"}))
        .await;
    assert_eq!(renewed["expiries"][0]["path"], "/password", "{renewed}");
    assert_eq!(
        renewed["expiries"][0]["due"], "2026-11-30T00:00:00Z",
        "{renewed}"
    );
    env.clock.advance_secs(6 * DAY_SECS);
    env.sweep().await;
    assert_nowhere(&env, &id, "yealink", "Pw-third-3333-cc").await;
    env.stop().await;
}
