//! The ProVu bundle end to end: every retention rule and every disclosure rule through the
//! running gateway, forwarding, searching and marketing permissions.

use serde_json::{Value, json};
use sluice_tests::{START_MS, TestEnv, decisions, items, string_pairs};

use crate::contact;

const DAY_MS: i64 = 86_400_000;

/// Writes `record` 400 days before the tests' start (before anything of it is due: data past
/// its retention is never stored), runs the sweeper 400 days after it, and returns the stored
/// record as read back at the start (or `None` when it is gone).
async fn write_and_sweep(env: &TestEnv, record: &Value) -> Option<Value> {
    env.clock.set_ms(START_MS - 400 * DAY_MS);
    let body = env.create(record).await;
    env.clock.set_ms(START_MS + 400 * DAY_MS);
    let swept = env.sweep().await;
    env.clock.set_ms(START_MS);
    assert!(swept >= 1, "something was due: {body}");
    let (status, read) = env
        .get(&format!("/v1/records/{}", body["id"].as_str().unwrap()))
        .await;
    (status == 200).then_some(read)
}

fn delivery(courier: &str) -> Value {
    json!({"kind": "delivery", "subject": "recipient-1", "fields": {
        "name": "Grace Hopper", "company": "Hopper Labs",
        "address": {"line1": "1 Savile Street", "city": "Huddersfield", "postcode": "HD3 4PG", "country": "GB"},
        "courier": courier, "order_ref": "ORD-2026-004242",
        "phone": "07700 900123", "email": "grace@example.co.uk",
        "shipped_at": "2026-11-20T10:00:00Z"}})
}

fn device(host: &str) -> Value {
    json!({"kind": "device-provisioning", "subject": "end-user-1", "fields": {
        "mac": "0015.65AA.BBCC", "vendor": "yealink", "username": "1001", "password": "s3cret-Pass",
        "sip_server": "sip.example.net", "display_name": "Reception",
        "sip_settings": {"transport": "tls"}, "provisioned_at": "2026-11-20T00:00:00Z",
        "provisioning_host": host}})
}

#[tokio::test(flavor = "multi_thread")]
async fn every_retention_rule_deletes_what_is_overdue_and_keeps_the_rest() {
    let env = TestEnv::provu().await;

    // 2.1.1: a contact who left 100 days ago keeps name and organisation only.
    let mut left = contact("c-1");
    left["fields"]["left_organisation_at"] = json!("2026-08-17T00:00:00Z");
    let read = write_and_sweep(&env, &left).await.unwrap();
    assert_eq!(
        read["fields"],
        json!({"name": "Ada Lovelace", "organisation": "Analytical Engines Ltd", "relationship": "customer",
               "left_organisation_at": "2026-08-17T00:00:00Z"})
    );

    // 2.1.3: a recording older than a year is deleted whole.
    let old_call = json!({"kind": "call-recording", "subject": "caller", "fields": {
        "direction": "inbound", "party_number": "01484 840048",
        "started_at": "2025-11-01T00:00:00Z", "recording_ref": "r-1"}});
    assert!(write_and_sweep(&env, &old_call).await.is_none());

    // 2.2.1: phone and email go 90 days after shipping; name, address and order stay.
    let read = write_and_sweep(&env, &delivery("dpd")).await.unwrap();
    assert!(
        read["fields"].get("phone").is_none() && read["fields"].get("email").is_none(),
        "{read}"
    );
    assert_eq!(read["fields"]["address"]["postcode"], "HD3 4PG");
    assert_eq!(read["fields"]["order_ref"], "ORD-2026-004242");
    let (_, found) = env
        .get("/v1/records?kind=delivery&order_ref=ORD-2026-004242")
        .await;
    assert_eq!(
        items(&found["records"]).len(),
        1,
        "still searchable: {found}"
    );

    // 2.2.2: the password goes 15 days after provisioning; the device stays searchable.
    let read = write_and_sweep(&env, &device("own")).await.unwrap();
    assert!(read["fields"].get("password").is_none(), "{read}");
    assert_eq!(read["fields"]["username"], "1001");
    let (_, found) = env
        .get("/v1/records?kind=device-provisioning&mac=00-15-65-aa-bb-cc")
        .await;
    assert_eq!(
        found["records"][0]["fields"]["mac"], "00:15:65:aa:bb:cc",
        "{found}"
    );

    // 2.2.2: the provisioning server's request log is kept 90 days.
    let log = json!({"kind": "provisioning-request", "subject": "203.0.113.9", "fields": {
        "ip": "203.0.113.9", "requested_at": "2026-08-01T00:00:00Z", "path": "/devices/x.cfg"}});
    assert!(write_and_sweep(&env, &log).await.is_none());

    let deletions: Vec<(String, String)> = env
        .audit()
        .into_iter()
        .filter(|e| e.event.starts_with("retention."))
        .map(|e| (e.event, e.decisions[0].clause.clone()))
        .collect();
    assert_eq!(deletions.len(), 2 + 1 + 2 + 1 + 1, "{deletions:?}");
    for clause in ["2.1.1", "2.1.3", "2.2.1", "2.2.2"] {
        assert!(
            deletions.iter().any(|(_, c)| c == clause),
            "{clause} in {deletions:?}"
        );
    }
    env.stop().await;
}

async fn read_as(env: &TestEnv, id: &str, audience: &str, purpose: &str) -> (u16, Value) {
    let (s, b) = env.read_for(id, audience, purpose).await;
    (s.as_u16(), b)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_disclosure_rule_holds_through_the_gateway() {
    let env = TestEnv::provu().await;
    let parcel = env.create_id(&delivery("dpd")).await;
    let phone = env.create_id(&device("own")).await;
    let vendor_phone = env.create_id(&device("vendor")).await;
    let ada = env.create_id(&contact("ada")).await;
    let form = env
        .create_id(
            &json!({"kind": "web-form", "subject": "visitor", "fields": {
            "form": "quote", "purpose": "quote-request", "fields": {"company": "Acme", "seats": 20},
            "share_with": ["creditsafe"]}}),
        )
        .await;

    // 2.2.1: a courier sees exactly name, company, address, phone and email of its own deliveries.
    let (s, b) = read_as(&env, &parcel, "subprocessor:dpd", "delivery").await;
    assert_eq!(s, 200, "{b}");
    let mut keys: Vec<&str> = b["fields"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(keys, ["address", "company", "email", "name", "phone"]);
    assert_eq!(b["disclosure"][0]["clause"], "2.2.1");
    // Exactly the projection: no subject key, no write decisions, no schedule, no digests.
    let mut envelope: Vec<&str> = b.as_object().unwrap().keys().map(String::as_str).collect();
    envelope.sort_unstable();
    assert_eq!(
        envelope,
        ["bundle", "disclosure", "fields", "id", "kind"],
        "{b}"
    );
    let (s, b) = read_as(&env, &parcel, "subprocessor:apc", "delivery").await;
    assert_eq!((s, b["clause"].as_str()), (403, Some("2.2.1")), "{b}");

    // 3: never for direct marketing; 3.2: never to a party outside the register.
    let (s, b) = read_as(&env, &parcel, "subprocessor:dpd", "direct-marketing").await;
    assert_eq!((s, b["clause"].as_str()), (403, Some("3")), "{b}");
    let (s, b) = read_as(&env, &parcel, "subprocessor:acme-couriers", "delivery").await;
    assert_eq!((s, b["clause"].as_str()), (403, Some("3.2")), "{b}");

    // 2.2.2: a manufacturer's redirection service sees the MAC only; SIP credentials only
    // when provisioning happens on the vendor's server, and only to that vendor.
    let (s, b) = read_as(&env, &phone, "subprocessor:yealink", "redirection").await;
    assert_eq!(
        (s, &b["fields"]),
        (200, &json!({"mac": "00:15:65:aa:bb:cc"})),
        "{b}"
    );
    let (s, b) = read_as(&env, &phone, "subprocessor:yealink", "provisioning").await;
    assert_eq!((s, b["clause"].as_str()), (403, Some("2.2.2")), "{b}");
    let (s, b) = read_as(&env, &vendor_phone, "subprocessor:yealink", "provisioning").await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b["fields"]["password"], "s3cret-Pass");
    assert!(b["fields"].get("provisioned_at").is_none());
    let (s, b) = read_as(&env, &vendor_phone, "subprocessor:snom", "provisioning").await;
    assert_eq!((s, b["clause"].as_str()), (403, Some("2.2.2")), "{b}");

    // 2.3.1: web-form data only for the form's purpose, only to the parties it names.
    let (s, _) = read_as(&env, &form, "internal", "quote-request").await;
    assert_eq!(s, 200);
    let (s, b) = read_as(&env, &form, "internal", "newsletter-signup").await;
    assert_eq!((s, b["clause"].as_str()), (403, Some("2.3.1")), "{b}");
    let (s, b) = read_as(&env, &form, "subprocessor:creditsafe", "quote-request").await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(
        b["fields"]["fields"],
        json!({"company": "Acme", "seats": 20})
    );
    let (s, b) = read_as(&env, &form, "subprocessor:yealink", "quote-request").await;
    assert_eq!((s, b["clause"].as_str()), (403, Some("2.3.1")), "{b}");

    // 3.2.3: CreditSafe sees a contact's name and organisation for a credit check.
    let (s, b) = read_as(&env, &ada, "subprocessor:creditsafe", "credit-check").await;
    assert_eq!(
        (s, &b["fields"]),
        (
            200,
            &json!({"name": "Ada Lovelace", "organisation": "Analytical Engines Ltd"})
        ),
        "{b}"
    );

    // Bad reads are bad requests.
    let (s, b) = read_as(&env, &ada, "internal", "horoscopes").await;
    assert_eq!(s, 400, "{b}");
    let (s, b) = read_as(&env, &ada, "vendor-x", "support").await;
    assert_eq!(s, 400, "{b}");

    // Every disclosure and refusal is audited with audience, purpose and clause, and no data.
    let audit = env.audit();
    let refused = audit
        .iter()
        .find(|e| e.event == "record.refused" && e.audience.as_deref() == Some("subprocessor:apc"))
        .expect("the refused courier read is audited");
    assert_eq!(refused.purpose.as_deref(), Some("delivery"));
    assert_eq!(refused.decisions[0].clause, "2.2.1");
    let disclosed = audit
        .iter()
        .filter(|e| e.event == "record.disclosed")
        .count();
    assert!(disclosed >= 6, "{disclosed} disclosures audited");
    assert!(!serde_json::to_string(&audit).unwrap().contains("s3cret"));

    // Every refusal is counted with its clause.
    let metrics = env.metrics().await;
    assert!(
        metrics.contains(r#"sluice_decisions_total{action="refuse",clause="2.3.1"} 2"#),
        "{metrics}"
    );
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_device_write_shows_exactly_what_its_vendor_will_receive() {
    let env = TestEnv::provu().await;
    let own = env.create(&device("own")).await;
    assert_eq!(
        own["deliveries"],
        json!([{"plugin": "provisioning-forwarder", "vendor": "yealink", "endpoint": "redirection",
                "payload": {"mac": "00:15:65:aa:bb:cc", "provisioning_url": "https://provisioning.provu.co.uk/devices/00:15:65:aa:bb:cc"},
                "clause": "2.2.2", "reason": own["deliveries"][0]["reason"]}])
    );
    let vendor = env.create(&device("vendor")).await;
    let deliveries = items(&vendor["deliveries"]);
    assert_eq!(deliveries.len(), 2);
    assert_eq!(deliveries[1]["endpoint"], "provisioning");
    assert_eq!(
        deliveries[1]["payload"],
        json!({"mac": "00:15:65:aa:bb:cc", "username": "1001", "password": "s3cret-Pass",
               "display_name": "Reception", "sip_server": "sip.example.net", "sip_settings": {"transport": "tls"}})
    );
    // The redirection server never receives credentials.
    assert!(!deliveries[0]["payload"].to_string().contains("s3cret"));
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn special_category_data_and_children_are_refused() {
    let env = TestEnv::provu().await;
    let mut c = contact("s-1");
    c["fields"]["medical_history"] = json!({"notes": "..."});
    let (s, b) = env.post("/v1/records", &c).await;
    assert_eq!(
        (s.as_u16(), b["clause"].as_str(), b["path"].as_str()),
        (422, Some("2.4"), Some("/medical_history")),
        "{b}"
    );

    let mut kid = contact("s-2");
    kid["fields"]["date_of_birth"] = json!("2014-01-01");
    let (s, b) = env.post("/v1/records", &kid).await;
    assert_eq!((s.as_u16(), b["clause"].as_str()), (422, Some("6")), "{b}");
    assert_eq!(env.stored_records(), 0);

    // A rectification that reveals a child deletes the stored record.
    let id = env.create_id(&contact("s-3")).await;
    let (s, b) = env.rectify(&id, json!({"age": 12})).await;
    assert_eq!(
        (s.as_u16(), b["clause"].as_str(), b["erased"].as_bool()),
        (422, Some("6"), Some(true)),
        "{b}"
    );
    assert_eq!(env.get(&format!("/v1/records/{id}")).await.0, 404);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn card_fields_are_removed_at_any_depth() {
    let env = TestEnv::provu().await;
    let mut c = contact("s-4");
    c["fields"]["billing"] =
        json!({"cardNumber": "4111 1111 1111 1111", "CVV": "123", "reference": "INV-1"});
    let body = env.create(&c).await;
    assert_eq!(body["fields"]["billing"], json!({"reference": "INV-1"}));
    let removed = string_pairs(decisions(&body, "remove"), "path", "clause");
    assert_eq!(
        removed,
        [("/billing/CVV", "2.1.2"), ("/billing/cardNumber", "2.1.2")]
    );
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn marketing_permissions_follow_consent_and_opt_outs() {
    let env = TestEnv::provu().await;
    let ask = |subject: &'static str, purpose: &'static str| {
        let env = &env;
        async move {
            env.get(&format!(
                "/v1/subjects/{subject}/permissions?purpose={purpose}"
            ))
            .await
            .1
        }
    };
    // Asserts whether `subject` may be contacted for `purpose`, and under which clause.
    let expect = |subject: &'static str, purpose: &'static str, allowed: bool, clause: &str| {
        let (ask, clause) = (&ask, clause.to_string());
        async move {
            let p = ask(subject, purpose).await;
            assert_eq!(
                (p["allowed"].as_bool(), p["clause"].as_str()),
                (Some(allowed), Some(clause.as_str())),
                "{p}"
            );
        }
    };
    // An opt-in subscriber with evidence may be emailed.
    env.create(
        &json!({"kind": "marketing-subscription", "subject": "sub-1", "fields": {
        "email": "a@example.com", "basis": "opt-in", "joined_at": "2026-01-01T00:00:00Z",
        "consent_evidence": "double opt-in 2026-01-01"}}),
    )
    .await;
    expect("sub-1", "email-marketing", true, "2.1.4").await;

    // Opting out ends it.
    let id = env.get("/v1/subjects/sub-1/records").await.1["records"][0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    env.rectify(&id, json!({"opted_out_at": "2026-11-20T00:00:00Z"}))
        .await;
    expect("sub-1", "email-marketing", false, "2.1.4").await;

    // A contact may be called (legitimate interest) until they opt out.
    let cid = env.create_id(&contact("cust-9")).await;
    expect("cust-9", "telephone-marketing", true, "2.1.5").await;
    let p = ask("cust-9", "email-marketing").await;
    assert_eq!(
        p["allowed"].as_bool(),
        Some(false),
        "no subscription, no email: {p}"
    );
    let opted_out = json!({"telephone_opt_out_at": "2026-11-21T00:00:00Z"});
    env.rectify(&cid, opted_out).await;
    expect("cust-9", "telephone-marketing", false, "2.1.5").await;

    // Nobody known: no basis.
    expect("stranger", "email-marketing", false, "2.1.4").await;
    let (s, _) = env
        .get("/v1/subjects/cust-9/permissions?purpose=fishing")
        .await;
    assert_eq!(s, 400);
    env.stop().await;
}
