//! Deliveries to vendors: the durable outbox, pushes to real HTTP servers on loopback
//! (signed, keyed, retried, dead-lettered, redriven), the pull feed, refusals under 3.1, and
//! the record of recipients.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use sluice::outbox::worker::{VendorSecrets, signature};
use sluice_tests::{TestEnv, VendorServer, copy_provu, push_delivery};

const SECRET: &str = "yealink-secret";

/// A device of `vendor` provisioned on ProVu's own server (`own`) or the vendor's.
fn device(vendor: &str, mac: &str, host: &str) -> Value {
    json!({"kind": "device-provisioning", "subject": "end-user-1", "fields": {
        "mac": mac, "vendor": vendor, "username": "1001", "password": "s3cret-Pass",
        "display_name": "Reception", "sip_server": "sip.example.net",
        "sip_settings": {"transport": "tls"}, "provisioned_at": "2026-11-20T00:00:00Z",
        "provisioning_host": host}})
}

/// Writes a Yealink device provisioned by `host` (`own` or `vendor`), asserting `201`; its id.
async fn yealink(env: &TestEnv, mac: &str, host: &str) -> String {
    env.create_id(&device("yealink", mac, host)).await
}

/// A vendor server that is down, a gateway pushing to it (see [`gateway`], options `tune`d),
/// and a Snom device provisioned on ProVu's own server written on it: one delivery queued.
async fn snom_record_for_a_vendor_down(
    tune: impl FnOnce(&mut sluice::gateway::Options),
) -> (VendorServer, TestEnv, Value) {
    let server = VendorServer::start().await;
    server.set_up(false);
    let env = gateway(&server, tune).await;
    let record = env
        .create(&device("snom", "00-04-13-00-00-01", "own"))
        .await;
    (server, env, record)
}

/// ProVu with Yealink and Snom pushing to `server`, Yealink's redirection payload in its own
/// shape; every other vendor pulls.
async fn gateway(
    server: &VendorServer,
    tune: impl FnOnce(&mut sluice::gateway::Options),
) -> TestEnv {
    let yealink = push_delivery(
        &server.url,
        "yealink",
        &["redirection", "provisioning"],
        r#"{ redirection = { "/device/mac" = "/mac", "/serverUrl" = "/provisioning_url" } }"#,
    );
    let snom = push_delivery(&server.url, "snom", &["redirection", "provisioning"], "");
    let dir = copy_provu(
        "2026.11.0",
        &[
            (
                "[register.yealink]\n",
                &format!("[register.yealink]\n{yealink}\n"),
            ),
            ("[register.snom]\n", &format!("[register.snom]\n{snom}\n")),
        ],
    );
    TestEnv::from_dir(dir, |o| {
        o.delivery.secrets = VendorSecrets::new(
            [
                ("yealink".to_string(), SECRET.to_string()),
                ("snom".to_string(), "snom-secret".to_string()),
            ]
            .into(),
        );
        o.delivery.poll = Duration::from_millis(20);
        tune(o);
    })
    .await
    .unwrap()
}

async fn outbox(env: &TestEnv, query: &str) -> Vec<Value> {
    let (status, body) = env.get(&format!("/v1/admin/outbox?{query}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["deliveries"].as_array().unwrap().clone()
}

/// Waits until every delivery matching `query` is in `state`.
async fn wait_state(env: &TestEnv, query: &str, state: &str) -> Vec<Value> {
    for _ in 0..1000 {
        let list = outbox(env, query).await;
        if !list.is_empty() && list.iter().all(|d| d["state"] == state) {
            return list;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "deliveries {query} never all {state}: {:?}",
        outbox(env, query).await
    );
}

/// Waits until the (single) delivery matching `query` has been attempted once.
async fn wait_first_attempt(env: &TestEnv, query: &str) {
    for _ in 0..500 {
        if outbox(env, query).await[0]["attempts"] == 1 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("delivery {query} was never attempted");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_redirection_server_receives_only_the_mac_and_the_url_signed_and_keyed() {
    let server = VendorServer::start().await;
    let env = gateway(&server, |_| {}).await;
    let record = env
        .create(&device("yealink", "00-15-65-AA-BB-CC", "own"))
        .await;
    let got = server.wait_for(1).await;
    assert_eq!(got.len(), 1);
    let r = &got[0];
    assert_eq!(r.path, "/yealink/redirection");
    // Exactly the MAC and the URL, in Yealink's shape; no username, no password.
    assert_eq!(
        r.body,
        json!({"device": {"mac": "00:15:65:aa:bb:cc"},
               "serverUrl": "https://provisioning.provu.co.uk/devices/00:15:65:aa:bb:cc"})
    );
    let raw = String::from_utf8(r.raw.clone()).unwrap();
    for secret in ["s3cret-Pass", "1001", "Reception", "sip.example.net"] {
        assert!(!raw.contains(secret), "{raw}");
    }
    assert_eq!(r.signature, signature(SECRET, &r.raw));
    let id = record["id"].as_str().unwrap();
    let list = wait_state(&env, &format!("record={id}"), "delivered").await;
    assert_eq!(list.len(), 1);
    assert_eq!(r.key, list[0]["id"].as_str().unwrap());
    assert_eq!(list[0]["clause"], "2.2.2");

    // Provisioned on the vendor's server: the provisioning endpoint gets the SIP details.
    env.create(&device("yealink", "00-15-65-AA-BB-CD", "vendor"))
        .await;
    let got = server.wait_for(3).await;
    let provisioning: Vec<&sluice_tests::Received> = got
        .iter()
        .filter(|r| r.path == "/yealink/provisioning")
        .collect();
    assert_eq!(provisioning.len(), 1);
    assert_eq!(provisioning[0].body["password"], "s3cret-Pass");
    // Only the record's own vendor received anything.
    assert!(
        got.iter().all(|r| r.path.starts_with("/yealink/")),
        "{got:?}"
    );

    // The record of recipients says who received what, when, under which clause.
    let (status, recipients) = env.get(&format!("/v1/records/{id}/recipients")).await;
    assert_eq!(status, StatusCode::OK);
    let list = recipients["recipients"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{recipients}");
    assert_eq!(list[0]["who"], "subprocessor:yealink");
    assert_eq!(list[0]["via"], "delivery");
    assert_eq!(list[0]["paths"], json!(["/mac", "/provisioning_url"]));
    assert_eq!(list[0]["clause"], "2.2.2");
    assert_eq!(list[0]["at"], "2026-11-25T12:00:00Z");
    // Metrics count them (the gauges follow within a worker round).
    wait_state(&env, "vendor=yealink", "delivered").await;
    let mut metrics = String::new();
    for _ in 0..200 {
        metrics = env.text("/metrics").await;
        if metrics.contains("deliveries_total{vendor=\"yealink\",outcome=\"delivered\"} 3")
            && metrics.contains("outbox_pending 0")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        metrics.contains("deliveries_total{vendor=\"yealink\",outcome=\"delivered\"} 3"),
        "{metrics}"
    );
    assert!(metrics.contains("outbox_pending 0"), "{metrics}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vendor_that_is_down_receives_everything_once_it_is_back() {
    let server = VendorServer::start().await;
    server.set_up(false);
    let env = gateway(&server, |_| {}).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let r = env
            .create(&device("snom", &format!("00-04-13-00-00-0{i}"), "own"))
            .await;
        ids.push(r["id"].as_str().unwrap().to_string());
    }
    // Each was tried once and failed; nothing arrived; they wait for their backoff.
    for _ in 0..500 {
        if server.attempts() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let pending = outbox(&env, "vendor=snom&state=pending").await;
    assert_eq!(pending.len(), 3);
    for _ in 0..500 {
        if outbox(&env, "vendor=snom")
            .await
            .iter()
            .all(|d| d["attempts"] == 1)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(server.received().is_empty());
    let (_, body) = env.get("/v1/admin/outbox").await;
    assert_eq!(body["pending"], 3);
    assert_eq!(body["oldest_pending_at"], "2026-11-25T12:00:00Z");

    server.set_up(true);
    env.clock.advance_secs(60);
    let got = server.wait_for(3).await;
    wait_state(&env, "vendor=snom", "delivered").await;
    let mut keys: Vec<String> = got.iter().map(|r| r.key.clone()).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 3, "every delivery arrived");
    for d in outbox(&env, "vendor=snom").await {
        assert_eq!(d["attempts"], 2);
        assert!(keys.contains(&d["id"].as_str().unwrap().to_string()));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vendor_that_always_fails_ends_in_dead_letter_and_a_redrive_delivers() {
    let (server, env, record) = snom_record_for_a_vendor_down(|o| {
        o.delivery.retry.max_attempts = 3;
    })
    .await;
    let id = record["id"].as_str().unwrap();
    let query = format!("record={id}");
    for _ in 0..1000 {
        if outbox(&env, &query).await[0]["state"] == "dead" {
            break;
        }
        env.clock.advance_secs(3600);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let dead = outbox(&env, &query).await;
    assert_eq!(dead[0]["state"], "dead");
    assert_eq!(dead[0]["attempts"], 3);
    assert!(
        dead[0]["last_error"].as_str().unwrap().contains("503"),
        "{dead:?}"
    );
    assert!(env.audit().iter().any(|e| e.event == "delivery.dead"));
    let key = dead[0]["id"].as_str().unwrap().to_string();

    server.set_up(true);
    let (status, body) = env
        .request(
            reqwest::Method::POST,
            &format!("/v1/admin/outbox/{key}/redrive"),
        )
        .send()
        .await
        .map(|r| (r.status(), r))
        .unwrap();
    assert_eq!(status, StatusCode::OK, "{:?}", body.text().await);
    let got = server.wait_for(1).await;
    assert_eq!(got[0].key, key);
    wait_state(&env, &query, "delivered").await;
    let redriven = env
        .audit()
        .into_iter()
        .find(|e| e.event == "delivery.redriven")
        .unwrap();
    let actor = redriven.actor.as_deref().unwrap_or_default();
    assert!(
        actor.starts_with("admin:tok_"),
        "the redrive names the admin token: {actor}"
    );
    // Only a dead delivery can be redriven.
    let (status, body) = env
        .call(
            reqwest::Method::POST,
            &format!("/v1/admin/outbox/{key}/redrive"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let (status, _) = env
        .call(
            reqwest::Method::POST,
            "/v1/admin/outbox/no-such/redrive",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vendor_that_pulls_reads_its_own_feed_and_acknowledges_it() {
    let env = TestEnv::provu().await;
    env.create(&device("yealink", "00-15-65-AA-BB-CC", "vendor"))
        .await;
    env.create(&device("snom", "00-04-13-00-00-01", "own"))
        .await;
    let (status, feed) = env.get("/v1/vendor/feed?vendor=yealink").await;
    assert_eq!(status, StatusCode::OK, "{feed}");
    let items = feed["deliveries"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["endpoint"], "redirection");
    assert_eq!(items[1]["endpoint"], "provisioning");
    assert!(
        items
            .iter()
            .all(|i| i["payload"]["mac"] == "00:15:65:aa:bb:cc")
    );
    let cursor = feed["next"].as_u64().unwrap();
    let ack = env.ack_feed("yealink", cursor).await;
    assert_eq!(ack["delivered"], 2);
    let (_, after) = env.get("/v1/vendor/feed?vendor=yealink").await;
    assert_eq!(after["deliveries"], json!([]));
    assert_eq!(after["acknowledged"], cursor);
    assert_eq!(
        outbox(&env, "vendor=yealink&state=delivered").await.len(),
        2
    );
    // Snom's delivery is Snom's alone, still pending.
    let (_, snom) = env.get("/v1/vendor/feed?vendor=snom").await;
    assert_eq!(snom["deliveries"].as_array().unwrap().len(), 1);
    assert_eq!(outbox(&env, "vendor=snom&state=pending").await.len(), 1);
    let (status, body) = env.get("/v1/vendor/feed?vendor=acme").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["clause"], "3.2");
    // A vendor reads its own feed only, whatever it names.
    let yealink = env.token(sluice::auth::Role::Vendor, Some("yealink"));
    let (status, body) = env.get_as(&yealink, "/v1/vendor/feed?vendor=snom").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let (status, own) = env.get_as(&yealink, "/v1/vendor/feed").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(own["vendor"], "yealink");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_transfer_outside_the_eea_without_safeguards_is_refused_and_audited() {
    let (server, env, record) = snom_record_for_a_vendor_down(|_| {}).await;
    let query = format!("record={}", record["id"].as_str().unwrap());
    wait_first_attempt(&env, &query).await;
    // The register now says Snom processes outside the EEA, without safeguards.
    let manifest = env.policy_dir().join("bundle.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let text = text
        .replace("version = \"2026.11.0\"", "version = \"2026.11.1\"")
        .replace("[register.snom]\n", "[register.snom]\noutside_eea = true\n");
    std::fs::write(&manifest, text).unwrap();
    env.gateway().reload("test").await.unwrap();
    server.set_up(true);
    env.clock.advance_secs(3600);
    let refused = wait_state(&env, &query, "refused").await;
    assert_eq!(refused[0]["clause"], "3.1");
    assert!(server.received().is_empty(), "nothing was sent");
    let audit = env
        .audit()
        .into_iter()
        .find(|e| e.event == "delivery.refused")
        .expect("the refusal is audited");
    assert_eq!(audit.decisions[0].clause, "3.1");
    assert_eq!(audit.audience.as_deref(), Some("subprocessor:snom"));
    let (_, recipients) = env
        .get(&format!(
            "/v1/records/{}/recipients",
            record["id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(recipients["recipients"], json!([]));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_disclosure_to_a_subprocessor_is_on_the_record_of_recipients() {
    let env = TestEnv::provu().await;
    let id = &yealink(&env, "00-15-65-AA-BB-CC", "own").await;
    let (status, _) = env
        .read_for(id, "subprocessor:yealink", "redirection")
        .await;
    assert_eq!(status, StatusCode::OK);
    // The calling service's own reads are not disclosures to a recipient.
    env.get(&format!("/v1/records/{id}")).await;
    let (_, body) = env.get(&format!("/v1/records/{id}/recipients")).await;
    let list = body["recipients"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{body}");
    assert_eq!(list[0]["who"], "subprocessor:yealink");
    assert_eq!(list[0]["via"], "disclosure");
    assert_eq!(list[0]["purpose"], "redirection");
    assert_eq!(list[0]["paths"], json!(["/mac"]));
    let (status, _) = env.get("/v1/records/nope/recipients").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_courier_receives_its_own_deliveries_projection_once_ready_to_ship_and_no_other_does() {
    let dpd = VendorServer::start().await;
    let apc = VendorServer::start().await;
    let dir = copy_provu(
        "2026.11.0",
        &[
            (
                "[register.dpd]\n",
                &format!(
                    "[register.dpd]\n{}\n",
                    push_delivery(&dpd.url, "dpd", &["courier"], "")
                ),
            ),
            (
                "[register.apc]\n",
                &format!(
                    "[register.apc]\n{}\n",
                    push_delivery(&apc.url, "apc", &["courier"], "")
                ),
            ),
        ],
    );
    let env = TestEnv::from_dir(dir, |o| {
        o.delivery.secrets = VendorSecrets::new(
            [
                ("dpd".to_string(), "d".to_string()),
                ("apc".to_string(), "a".to_string()),
            ]
            .into(),
        );
        o.delivery.poll = Duration::from_millis(20);
    })
    .await
    .unwrap();
    let order = |ready: bool| {
        json!({"kind": "delivery", "subject": "recipient-1", "fields": {
            "name": "Grace Hopper", "company": "Hopper Labs",
            "address": {"line1": "1 Savile Street", "city": "Huddersfield",
                        "postcode": "HD3 4PG", "country": "GB"},
            "courier": "dpd", "order_ref": "ORD-2026-004242", "phone": "07700 900123",
            "email": "grace@example.co.uk", "ready_to_ship": ready}})
    };
    let record = env.create(&order(false)).await;
    let id = record["id"].as_str().unwrap();
    assert_eq!(
        record["deliveries"],
        json!([]),
        "not ready: nothing to send"
    );
    // Ready to ship: the courier's projection goes to DPD, and to no one else.
    let (status, _) = env
        .patch(
            &format!("/v1/records/{id}"),
            &json!({"fields": {"ready_to_ship": true}}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let got = dpd.wait_for(1).await;
    assert_eq!(got[0].path, "/dpd/courier");
    assert_eq!(
        got[0].body,
        json!({"name": "Grace Hopper", "company": "Hopper Labs",
               "address": {"line1": "1 Savile Street", "city": "Huddersfield",
                           "postcode": "HD3 4PG", "country": "GB"},
               "phone": "07700 900123", "email": "grace@example.co.uk"})
    );
    assert!(!String::from_utf8_lossy(&got[0].raw).contains("ORD-2026-004242"));
    wait_state(&env, &format!("record={id}"), "delivered").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(apc.attempts(), 0, "another courier received nothing");
    assert_eq!(dpd.received().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn erasing_a_record_cancels_its_queued_deliveries() {
    let (server, env, record) = snom_record_for_a_vendor_down(|_| {}).await;
    let id = record["id"].as_str().unwrap();
    let query = format!("record={id}");
    wait_first_attempt(&env, &query).await;
    let (status, _) = env.delete(&format!("/v1/records/{id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let cancelled = outbox(&env, &query).await;
    assert_eq!(cancelled[0]["state"], "cancelled");
    server.set_up(true);
    env.clock.advance_secs(3600);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        server.received().is_empty(),
        "nothing of an erased record leaves"
    );
    assert!(env.audit().iter().any(|e| e.event == "delivery.cancelled"));
    let (_, body) = env.get("/v1/admin/outbox").await;
    assert_eq!(body["pending"], 0);
}

/// `POST /v1/vendor/feed/ack` as `vendor` (its own token) with `cursor`.
async fn ack(env: &TestEnv, vendor: &str, cursor: u64) -> (StatusCode, Value) {
    env.post(
        "/v1/vendor/feed/ack",
        &json!({"vendor": vendor, "cursor": cursor}),
    )
    .await
}

/// The deliveries on record `id`'s record of recipients.
async fn delivered_to(env: &TestEnv, id: &str) -> Vec<Value> {
    let (status, body) = env.get(&format!("/v1/records/{id}/recipients")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["via"] == "delivery")
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_vendor_acknowledges_only_what_its_feed_served_and_never_goes_back() {
    let mut env = TestEnv::provu().await;
    let id = yealink(&env, "00-15-65-AA-BB-CC", "vendor").await;

    // Nothing served yet: acknowledging anything beyond 0 is refused and changes nothing.
    let (status, body) = ack(&env, "yealink", u64::MAX).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        body["error"],
        format!(
            "cursor {} is beyond the last entry served to vendor yealink (0)",
            u64::MAX
        )
    );
    assert_eq!(outbox(&env, "vendor=yealink&state=pending").await.len(), 2);
    assert_eq!(delivered_to(&env, &id).await, Vec::<Value>::new());
    let (status, body) = ack(&env, "yealink", 0).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["delivered"], 0);

    // One of the two served: the ack reaches that far and no further.
    let (status, feed) = env.get("/v1/vendor/feed?vendor=yealink&limit=1").await;
    assert_eq!(status, StatusCode::OK, "{feed}");
    let first = feed["next"].as_u64().unwrap();
    assert_eq!(feed["served"], first);
    assert_eq!(feed["deliveries"][0]["cursor"], first);
    let (status, body) = ack(&env, "yealink", first + 1).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        body["error"],
        format!(
            "cursor {} is beyond the last entry served to vendor yealink ({first})",
            first + 1
        )
    );
    assert_eq!(outbox(&env, "vendor=yealink&state=pending").await.len(), 2);
    assert_eq!(delivered_to(&env, &id).await, Vec::<Value>::new());
    let (status, body) = ack(&env, "yealink", first).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["delivered"], 1);
    assert_eq!(delivered_to(&env, &id).await.len(), 1);
    // Again: idempotent.
    let (status, body) = ack(&env, "yealink", first).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["delivered"], 0);
    assert_eq!(delivered_to(&env, &id).await.len(), 1);
    // Backwards: refused.
    let (status, body) = ack(&env, "yealink", 0).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        body["error"],
        format!("cursor 0 is behind the acknowledged cursor {first}")
    );

    // Both marks survive a restart: the second delivery still cannot be acknowledged
    // unread, the first is still acknowledged.
    env.restart().await.unwrap();
    let (status, body) = ack(&env, "yealink", first + 1).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, body) = ack(&env, "yealink", first - 1).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["error"].as_str().unwrap().contains("behind"), "{body}");

    // The rest served, then a restart: the served mark holds.
    let (_, feed) = env.get("/v1/vendor/feed?vendor=yealink").await;
    let items = feed["deliveries"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{feed}");
    let second = feed["next"].as_u64().unwrap();
    assert!(second > first);
    env.restart().await.unwrap();
    let (status, body) = ack(&env, "yealink", second).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["delivered"], 1);
    assert_eq!(delivered_to(&env, &id).await.len(), 2);
    assert_eq!(
        outbox(&env, "vendor=yealink&state=delivered").await.len(),
        2
    );
    // Another vendor's marks are its own.
    let (status, body) = ack(&env, "snom", 1).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("vendor snom (0)"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_feed_page_of_cancelled_deliveries_still_moves_the_vendor_on() {
    let env = TestEnv::provu().await;
    let erased = yealink(&env, "00-15-65-AA-BB-01", "vendor").await;
    let (status, _) = env.delete(&format!("/v1/records/{erased}")).await;
    assert!(status.is_success());
    assert_eq!(
        outbox(&env, "vendor=yealink&state=cancelled").await.len(),
        2
    );
    env.create(&device("yealink", "00-15-65-AA-BB-02", "vendor"))
        .await;
    // A page holding only the cancelled two shows nothing, yet ends past them.
    let (_, feed) = env.get("/v1/vendor/feed?vendor=yealink&limit=2").await;
    assert_eq!(feed["deliveries"], json!([]), "{feed}");
    let end = feed["next"].as_u64().unwrap();
    let (status, body) = ack(&env, "yealink", end).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["delivered"], 0);
    let (_, feed) = env.get("/v1/vendor/feed?vendor=yealink").await;
    let items = feed["deliveries"].as_array().unwrap();
    assert_eq!(items.len(), 2, "{feed}");
    assert!(items.iter().all(|i| i["state"] == "pending"));
}
