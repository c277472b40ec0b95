//! Data subject rights (clause 9).

use reqwest::StatusCode;
use serde_json::json;
use sluice_tests::{TestEnv, items, string_pairs};

#[tokio::test(flavor = "multi_thread")]
async fn an_export_holds_exactly_the_subjects_records_decisions_and_recipients() {
    let env = TestEnv::provu().await;
    let id = env
        .create_id(&device("end-user-1", "00-15-65-AA-BB-CC"))
        .await;
    env.create(&crate::contact("someone-else")).await;
    // Yealink's redirection server reads the record, and pulls and acknowledges its feed.
    let (status, _) = env
        .read_for(&id, "subprocessor:yealink", "redirection")
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
    let records = items(&export["records"]);
    assert_eq!(records.len(), 1, "only the subject's own records");
    let r = &records[0];
    assert_eq!(r["id"], id);
    assert_eq!(r["fields"]["mac"], "00:15:65:aa:bb:cc");
    assert!(
        items(&r["decisions"])
            .iter()
            .any(|d| d["clause"] == "2.2.2" && d["action"] == "normalise")
    );
    let who = string_pairs(items(&r["recipients"]), "who", "via");
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
        .read_for(id, "subprocessor:yealink", "redirection")
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
    let events = env.audit_events("rights.");
    assert_eq!(events, ["rights.restriction", "rights.restriction-lifted"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_objection_blocks_its_purpose_and_nothing_else() {
    let env = TestEnv::provu().await;
    let contact = env.create(&crate::contact("contact-1")).await;
    let id = contact["id"].as_str().unwrap();
    assert_eq!(permission(&env).await, true);

    let (status, body) = object(&env, "telephone-marketing").await;
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
    let (status, body) = object(&env, "astrology").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

/// `POST /v1/subjects/contact-1/objections` to `purpose`.
async fn object(env: &TestEnv, purpose: &str) -> (StatusCode, serde_json::Value) {
    let body = json!({ "purpose": purpose });
    env.post("/v1/subjects/contact-1/objections", &body).await
}

async fn permission(env: &TestEnv) -> serde_json::Value {
    env.get("/v1/subjects/contact-1/permissions?purpose=telephone-marketing")
        .await
        .1["allowed"]
        .clone()
}

fn delivery(subject: &str, order: &str, shipped: bool) -> serde_json::Value {
    let mut fields = json!({
        "name": "Ann Other", "company": "Other Ltd",
        "address": {"line1": "1 Mill Lane", "city": "Huddersfield", "postcode": "HD1 1AA",
                    "country": "GB"},
        "courier": "dpd", "order_ref": order, "phone": "07700 900123",
        "email": "ann@example.co.uk", "ready_to_ship": true,
    });
    if shipped {
        fields["shipped_at"] = json!("2026-11-20T10:00:00Z");
    }
    json!({"kind": "delivery", "subject": subject, "fields": fields})
}

#[tokio::test(flavor = "multi_thread")]
async fn erasure_deletes_what_the_policy_does_not_require_and_keeps_what_it_does() {
    let env = TestEnv::provu().await;
    let subject = "erase-me";
    let customer = env.create(&crate::contact(subject)).await;
    let mut prospect = crate::contact(subject);
    prospect["fields"]["relationship"] = json!("prospect");
    let prospect = env.create(&prospect).await;
    let shipped = env.create(&delivery(subject, "SO-1", true)).await;
    let unshipped = env.create(&delivery(subject, "SO-2", false)).await;
    let device = env.create(&device(subject, "00-15-65-00-00-09")).await;
    let bystander = env.create(&crate::contact("someone-else")).await;
    let id = |v: &serde_json::Value| v["id"].as_str().unwrap().to_string();
    // The unshipped order's courier delivery is queued.
    let (_, queued) = env
        .get(&format!("/v1/admin/outbox?record={}", id(&unshipped)))
        .await;
    assert_eq!(queued["deliveries"][0]["state"], "pending", "{queued}");

    let (status, answer) = env
        .post(&format!("/v1/subjects/{subject}/erasure"), &json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    assert_eq!(answer["right"], "erasure");
    assert_eq!(answer["status"], "completed");
    assert!(answer["completed_at"].is_string());
    let report = |rid: &str| {
        items(&answer["records"])
            .iter()
            .find(|r| r["id"] == rid)
            .cloned()
            .unwrap_or_else(|| panic!("{rid} is not in {answer}"))
    };
    assert_eq!(items(&answer["records"]).len(), 5);
    // Both orders' courier deliveries and the device's redirection delivery were queued.
    assert_eq!(answer["deliveries_cancelled"], 3);
    for gone in [&prospect, &unshipped, &device] {
        let r = report(&id(gone));
        assert_eq!(r["deleted"], true, "{r}");
        assert_eq!(r["kept"], json!([]));
        let (status, _) = env.get(&format!("/v1/records/{}", id(gone))).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    // The customer's contact keeps its name for the sales contract (2.1.1).
    let r = report(&id(&customer));
    assert_eq!(r["deleted"], false);
    let kept = string_pairs(items(&r["kept"]), "path", "clause");
    assert_eq!(
        kept,
        [
            ("/name", "2.1.1"),
            ("/organisation", "2.1.1"),
            ("/relationship", "2.1.1")
        ]
    );
    assert_eq!(r["erased"], json!(["/email", "/phone"]));
    let (_, contact) = env.get(&format!("/v1/records/{}", id(&customer))).await;
    assert_eq!(
        contact["fields"],
        json!({"name": "Ada Lovelace", "organisation": "Analytical Engines Ltd",
               "relationship": "customer"})
    );
    // The shipped order keeps its address as proof of shipping (2.2.1); phone and email go.
    let r = report(&id(&shipped));
    assert_eq!(r["deleted"], false);
    assert!(items(&r["kept"]).iter().all(|k| k["clause"] == "2.2.1"));
    assert_eq!(r["erased"], json!(["/email", "/phone", "/ready_to_ship"]));
    let (_, order) = env.get(&format!("/v1/records/{}", id(&shipped))).await;
    assert_eq!(order["fields"]["address"]["postcode"], "HD1 1AA");
    assert_eq!(order["fields"]["order_ref"], "SO-1");
    assert_eq!(order["fields"].get("phone"), None);
    assert_eq!(order["fields"].get("email"), None);
    // Still found by what was kept; no longer by what was erased.
    let (_, by_postcode) = env
        .get("/v1/records?kind=delivery&address.postcode=HD1%201AA")
        .await;
    assert_eq!(
        by_postcode["records"].as_array().map(Vec::len),
        Some(1),
        "{by_postcode}"
    );
    let (_, by_email) = env
        .get("/v1/records?kind=contact&email=ada@example.co.uk")
        .await;
    let found = items(&by_email["records"]);
    assert_eq!(found.len(), 1, "only the bystander's contact: {by_email}");
    // The queued courier delivery is cancelled and keeps no copy of the data.
    let (_, outbox) = env
        .get(&format!("/v1/admin/outbox?record={}", id(&unshipped)))
        .await;
    let entry = &outbox["deliveries"][0];
    assert_eq!(entry["state"], "cancelled", "{outbox}");
    let (_, shown) = env
        .get(&format!(
            "/v1/admin/outbox/{}",
            entry["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(shown["payload"], serde_json::Value::Null, "{shown}");
    let (_, feed) = env.get("/v1/vendor/feed?vendor=dpd").await;
    assert_eq!(feed["deliveries"], json!([]), "{feed}");
    // The bystander is untouched.
    let (status, _) = env.get(&format!("/v1/records/{}", id(&bystander))).await;
    assert_eq!(status, StatusCode::OK);
    // The audit log records the request and each record's erasure by path and clause, and
    // holds none of the erased data.
    let audit = env.audit_all();
    let request = audit.iter().find(|e| e.event == "rights.erasure").unwrap();
    assert_eq!(
        request.detail.as_ref().unwrap()["request"],
        answer["request"]
    );
    assert_eq!(
        audit.iter().filter(|e| e.event == "rights.erased").count(),
        5
    );
    let text = serde_json::to_string(&audit).unwrap();
    for personal in [
        "ada@example.co.uk",
        "01484 840048",
        "07700 900123",
        "ann@example.co.uk",
        "Ann Other",
        "Ada Lovelace",
        "erase-me",
    ] {
        assert!(!text.contains(personal), "the audit log holds {personal}");
    }
    // What remains is what the export shows.
    let (_, export) = env.get(&format!("/v1/subjects/{subject}/export")).await;
    assert_eq!(items(&export["records"]).len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rectification_is_an_audited_request() {
    let env = TestEnv::provu().await;
    let id = env.create_id(&crate::contact("rectify-me")).await;
    let fields = json!({"email": "ada@engines.example"});
    let (status, body) = env.rectify(&id, fields).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["fields"]["email"], "ada@engines.example");
    assert_eq!(body["request"]["right"], "rectification");
    assert_eq!(body["request"]["status"], "completed");
    let entry = env
        .audit()
        .into_iter()
        .find(|e| e.event == "record.updated")
        .unwrap();
    let detail = entry.detail.unwrap();
    assert_eq!(detail["right"], "rectification");
    assert_eq!(detail["request"], body["request"]["id"]);
    assert!(entry.actor.unwrap().starts_with("service:tok_"));
    assert!(
        !serde_json::to_string(&env.audit())
            .unwrap()
            .contains("engines.example")
    );
}
