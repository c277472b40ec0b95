//! Publishing policy to a running gateway: signed bundles through the admin API, the
//! validation gate, atomic swaps under load, rollback, restarts, retention recompute,
//! shadow runs, impact reports and change notices.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use reqwest::StatusCode;
use serde_json::{Value, json};
use sluice::bundle::package::Package;
use sluice::bundle::signing::{self, TrustedKeys};
use sluice::clock::Clock as _;
use sluice_tests::{
    PROVISIONING_LOG_RULE, SigningKey, TestEnv, assert_error, copy_provu, guests, package_of,
    provisioning_log_rule, provu_with_log_days, strings,
};

pub(crate) const V1: &str = "provu@2026.11.0";
pub(crate) const DAY: i64 = 86_400;

pub(crate) fn publisher() -> SigningKey {
    signing::generate().unwrap()
}

/// A ProVu gateway that trusts `key`.
pub(crate) async fn gateway_trusting(key: &SigningKey) -> TestEnv {
    let public = key.verifying_key();
    TestEnv::provu_with(move |o| o.trust = TrustedKeys::new(vec![public], false)).await
}

/// A provisioning-request record requested `ago` seconds before the gateway's clock.
pub(crate) fn log_entry(env: &TestEnv, ago: i64, path: &str) -> Value {
    let at = sluice::clock::rfc3339_secs(env.clock.now_secs() - ago);
    json!({"kind": "provisioning-request", "subject": "203.0.113.9", "fields": {
        "ip": "203.0.113.9", "requested_at": at, "path": path, "status": 404}})
}

/// The retention period, in days, the record's single expiry gives it.
pub(crate) fn period_days(record: &Value) -> i64 {
    let requested =
        sluice::clock::parse_rfc3339_ms(record["fields"]["requested_at"].as_str().unwrap())
            .unwrap()
            / 1000;
    let due = sluice::clock::parse_rfc3339_ms(record["expiries"][0]["due"].as_str().unwrap())
        .unwrap()
        / 1000;
    (due - requested) / DAY
}

async fn post_package(env: &TestEnv, package: &Package) -> (StatusCode, Value) {
    env.post("/v1/admin/bundles", &serde_json::to_value(package).unwrap())
        .await
}

async fn publish_and_activate(env: &TestEnv, dir: &std::path::Path, key: &SigningKey) -> String {
    let (status, body) = env.publish(dir, Some(key)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["id"].as_str().unwrap().to_string();
    let (status, body) = env.activate(&id).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["active"], id.as_str());
    id
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signed_bundle_published_to_a_running_gateway_takes_effect_without_a_restart() {
    let key = publisher();
    let env = gateway_trusting(&key).await;
    let before = env.create(&log_entry(&env, 0, "/a.cfg")).await;
    assert_eq!(before["bundle"], V1);
    assert_eq!(period_days(&before), 90);

    let v2 = provu_with_log_days("2026.12.0", 30);
    let (status, body) = env.publish(v2.path(), Some(&key)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["id"], "provu@2026.12.0");
    assert_eq!(body["state"], "available");
    assert_eq!(body["signed_by"], signing::key_id(&key.verifying_key()));
    // Uploading is not activating.
    assert_eq!(
        env.create(&log_entry(&env, 0, "/b.cfg")).await["bundle"],
        V1
    );

    let (status, report) = env.activate("provu@2026.12.0").await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["previous"], V1);
    assert_eq!(report["cases_passed"], 39);
    let after = env.create(&log_entry(&env, 0, "/c.cfg")).await;
    assert_eq!(after["bundle"], "provu@2026.12.0");
    assert_eq!(period_days(&after), 30);

    // The stored record names the bundle and the digest of every plugin that processed it.
    let (_, read) = env
        .get(&format!("/v1/records/{}", after["id"].as_str().unwrap()))
        .await;
    assert_eq!(read["bundle"], "provu@2026.12.0");
    let (_, active) = env.get("/v1/admin/active").await;
    let digests: Vec<&Value> = active["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["digest"])
        .collect();
    let used = read["plugins"].as_array().unwrap();
    assert_eq!(used.len(), 3, "{read}");
    for p in used {
        assert!(p["digest"].as_str().unwrap().starts_with("sha256:"));
        assert!(
            digests.contains(&&p["digest"]),
            "{p} not a plugin of the active bundle"
        );
    }
    // The record written before keeps the bundle that processed it.
    let (_, old) = env
        .get(&format!("/v1/records/{}", before["id"].as_str().unwrap()))
        .await;
    assert_eq!(old["bundle"], V1);

    let (_, list) = env.get("/v1/admin/bundles").await;
    let states: Vec<(String, String)> = list["bundles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["id"].as_str().unwrap().into(),
                b["state"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            (V1.to_string(), "available".to_string()),
            ("provu@2026.12.0".into(), "active".into())
        ]
    );
    // Every upload and activation is audited with who and when.
    let admin: Vec<_> = env
        .audit_all()
        .into_iter()
        .filter(|e| {
            e.bundle.as_deref() == Some("provu@2026.12.0") && e.event.starts_with("policy.")
        })
        .map(|e| {
            let actor = e.actor.unwrap();
            let role = actor.split(':').next().unwrap_or_default().to_string();
            assert!(
                actor.contains(":tok_"),
                "the actor names the token: {actor}"
            );
            (e.event, role)
        })
        .collect();
    assert_eq!(
        admin,
        [
            (
                "policy.bundle-uploaded".to_string(),
                "compliance".to_string()
            ),
            ("policy.activated".into(), "compliance".into())
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_bundles_say_why_and_the_active_bundle_keeps_serving() {
    let key = publisher();
    let stranger = publisher();
    let env = gateway_trusting(&key).await;

    // A failing policy test: the period changes but the case expecting 90 days does not.
    let untested = copy_provu(
        "2026.12.1",
        &[(PROVISIONING_LOG_RULE, &provisioning_log_rule(30))],
    );
    let (status, body) = env.publish(untested.path(), Some(&key)).await;
    assert_error(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "1 of the bundle's policy test cases failed",
    );
    let failing = &body["failing_cases"][0];
    assert_eq!(failing["name"], "provisioning-request-log-kept-90-days");
    let failure = failing["failures"][0].as_str().unwrap();
    assert!(
        failure.contains("expected [{\"clause\":\"2.2.2\",\"due\":\"2027-02-23T11:00:00Z\"")
            && failure.contains("got [{\"clause\":\"2.2.2\",\"due\":\"2026-12-25T11:00:00Z\""),
        "{failure}"
    );

    // An invalid plugin configuration: the retention plugin's own check names the problem.
    let misconfigured = copy_provu(
        "2026.12.3",
        &[(
            PROVISIONING_LOG_RULE,
            "{ kind = \"provisioning-request\", after = \"requested_at\", days = 90,",
        )],
    );
    let (status, body) = env.publish(misconfigured.path(), Some(&key)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body["details"][0],
        "kinds.provisioning-request.chain[2] (retention): rules[0] (provisioning-request): \
         `after` must be a JSON Pointer such as \"/shipped_at\""
    );

    let v2 = provu_with_log_days("2026.12.2", 30);
    // Unsigned.
    let (status, body) = env.publish(v2.path(), None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["error"].as_str().unwrap().contains("unsigned"),
        "{body}"
    );
    // Signed by a key the gateway does not trust.
    let (status, body) = env.publish(v2.path(), Some(&stranger)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["error"].as_str().unwrap().contains(&format!(
            "signed by {}, which is not a trusted publisher key",
            signing::key_id(&stranger.verifying_key())
        )),
        "{body}"
    );
    // A signature that does not match the content (the manifest changed after signing).
    let (mut package, _) = package_of(v2.path(), Some(&key));
    package.manifest = package.manifest.replace("days = 30", "days = 3000");
    let (status, body) = post_package(&env, &package).await;
    assert_error(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "does not match its content",
    );

    // A component that does not implement the world it claims.
    let trap = guests::get("guest-trap").to_vec();
    let (status, body) = env.upload_plugin("trap", "admission", trap.clone()).await;
    assert_error(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "does not implement the `admission` world",
    );
    let (status, body) = env
        .upload_plugin("trap", "redaction", b"not wasm".to_vec())
        .await;
    assert_error(
        status,
        &body,
        StatusCode::UNPROCESSABLE_ENTITY,
        "not a valid component",
    );

    // A manifest that names a digest the registry does not hold, or claims another world.
    let (status, body) = env.upload_plugin("trap", "redaction", trap.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let trap_digest = body["digest"].as_str().unwrap().to_string();
    let (mut package, _) = package_of(v2.path(), None);
    package
        .plugins
        .insert("retention".into(), "sha256:0000".into());
    package.signature = Some(signing::sign(&package, &key));
    let (status, body) = post_package(&env, &package).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        body["details"][0],
        "plugins.retention: unknown plugin digest sha256:0000 (upload the component first)"
    );
    let (mut package, _) = package_of(v2.path(), None);
    package
        .plugins
        .insert("special-category".into(), trap_digest.clone());
    package.signature = Some(signing::sign(&package, &key));
    let (status, body) = post_package(&env, &package).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["details"][0]
            .as_str()
            .unwrap()
            .contains("the manifest declares a admission plugin, but component"),
        "{body}"
    );

    // A trapping plugin: the gate runs the policy tests in the sandbox and they fail.
    let (mut package, _) = package_of(v2.path(), None);
    package.plugins.insert("card-redaction".into(), trap_digest);
    package.signature = Some(signing::sign(&package, &key));
    let (status, body) = post_package(&env, &package).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        body["details"].as_array().unwrap().iter().any(|d| d
            .as_str()
            .unwrap()
            .contains("plugin `card-redaction` trapped")),
        "{body}"
    );

    // An unknown bundle cannot be activated.
    let (status, _) = env.activate("provu@9.9.9").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Nothing of it was stored, and the active bundle serves as before.
    let (_, list) = env.get("/v1/admin/bundles").await;
    assert_eq!(list["bundles"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(env.active_bundle(), V1);
    let record = env.create(&log_entry(&env, 0, "/still.cfg")).await;
    assert_eq!(record["bundle"], V1);
    assert_eq!(period_days(&record), 90);
}

#[tokio::test(flavor = "multi_thread")]
async fn twenty_swaps_under_eight_concurrent_writers_fail_no_request() {
    let key = publisher();
    let env = Arc::new(gateway_trusting(&key).await);
    let v2 = provu_with_log_days("2026.12.0", 30);
    let (status, body) = env.publish(v2.path(), Some(&key)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let stop = Arc::new(AtomicBool::new(false));
    let mut writers = Vec::new();
    for w in 0..8 {
        let env = env.clone();
        let stop = stop.clone();
        writers.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) || i < 5 {
                let (status, body) = env
                    .post("/v1/records", &log_entry(&env, 0, &format!("/{w}/{i}.cfg")))
                    .await;
                assert_eq!(status, StatusCode::CREATED, "{body}");
                seen.push(body);
                i += 1;
            }
            seen
        }));
    }
    for swap in 0..20 {
        let target = if swap % 2 == 0 { "provu@2026.12.0" } else { V1 };
        let (status, body) = env.activate(target).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["changed"], true);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut written = Vec::new();
    for w in writers {
        written.extend(w.await.unwrap());
    }
    assert!(written.len() >= 40, "only {} writes", written.len());
    let mut by_bundle = std::collections::BTreeMap::<String, usize>::new();
    for body in &written {
        let bundle = body["bundle"].as_str().unwrap();
        *by_bundle.entry(bundle.to_string()).or_default() += 1;
        let days = match bundle {
            V1 => 90,
            "provu@2026.12.0" => 30,
            other => panic!("unexpected bundle {other}"),
        };
        assert_eq!(period_days(body), days, "{body}");
        // What is stored agrees with what was answered.
        let (_, stored) = env
            .get(&format!("/v1/records/{}", body["id"].as_str().unwrap()))
            .await;
        assert_eq!(stored["bundle"], bundle);
        assert_eq!(stored["decisions"], body["decisions"]);
        assert_eq!(stored["plugins"].as_array().unwrap().len(), 3);
    }
    assert_eq!(
        by_bundle.len(),
        2,
        "both bundles served writes: {by_bundle:?}"
    );
    assert_eq!(env.stored_records(), written.len() as u64);
    let (_, history) = env.get("/v1/admin/activations").await;
    assert_eq!(history["activations"].as_array().unwrap().len(), 21);
}

#[tokio::test(flavor = "multi_thread")]
async fn rollback_restores_the_earlier_decisions_and_a_restart_keeps_the_active_version() {
    let key = publisher();
    let mut env = gateway_trusting(&key).await;
    let v2 = provu_with_log_days("2026.12.0", 30);
    publish_and_activate(&env, v2.path(), &key).await;
    assert_eq!(
        period_days(&env.create(&log_entry(&env, 0, "/1.cfg")).await),
        30
    );

    let (status, report) = env
        .call(reqwest::Method::POST, "/v1/admin/rollback", None)
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["active"], V1);
    assert_eq!(report["previous"], "provu@2026.12.0");
    let record = env.create(&log_entry(&env, 0, "/2.cfg")).await;
    assert_eq!(
        (record["bundle"].as_str().unwrap(), period_days(&record)),
        (V1, 90)
    );

    // Forward again, then restart: the gateway starts on the last active bundle, not on
    // its policy directory.
    let (status, _) = env.activate("provu@2026.12.0").await;
    assert_eq!(status, StatusCode::OK);
    env.restart().await.unwrap();
    assert_eq!(env.active_bundle(), "provu@2026.12.0");
    let record = env.create(&log_entry(&env, 0, "/3.cfg")).await;
    assert_eq!(period_days(&record), 30);
    let (_, history) = env.get("/v1/admin/activations").await;
    let actions = strings(&history, "activations", "action");
    assert_eq!(actions, ["bootstrap", "activate", "rollback", "activate"]);
    let events: Vec<String> = env
        .audit_all()
        .into_iter()
        .filter(|e| e.event == "policy.rolled-back")
        .map(|e| e.bundle.unwrap())
        .collect();
    assert_eq!(events, [V1]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_shorter_retention_period_deletes_what_is_now_overdue_and_a_longer_one_keeps_what_is_within_it()
 {
    let key = publisher();
    let env = gateway_trusting(&key).await;
    // Under 90 days: due in 30 days, in 80 days, and in 10 days.
    let sixty = env.create(&log_entry(&env, 60 * DAY, "/60.cfg")).await;
    let ten = env.create(&log_entry(&env, 10 * DAY, "/10.cfg")).await;
    let eighty = env.create(&log_entry(&env, 80 * DAY, "/80.cfg")).await;
    let other = env.create(&crate::contact("c-1")).await;
    assert_eq!(env.sweep().await, 0);

    // 30 days: the 60-day-old entry is now overdue; the 10-day-old one is not.
    let v2 = provu_with_log_days("2026.12.0", 30);
    let id = publish_and_activate(&env, v2.path(), &key).await;
    let progress = env.recomputed(None, &id).await;
    assert_eq!(progress["examined"], 4);
    assert_eq!(progress["rescheduled"], 3, "{progress}");
    let (_, read) = env
        .get(&format!("/v1/records/{}", sixty["id"].as_str().unwrap()))
        .await;
    assert_eq!(period_days(&read), 30);
    assert_eq!(read["bundle"], V1);
    assert_eq!(read["retention_bundle"], id.as_str());
    assert_eq!(
        env.sweep().await,
        2,
        "the 60- and 80-day-old entries are overdue"
    );
    for gone in [&sixty, &eighty] {
        let (status, _) = env
            .get(&format!("/v1/records/{}", gone["id"].as_str().unwrap()))
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    for kept in [&ten, &other] {
        let (status, _) = env
            .get(&format!("/v1/records/{}", kept["id"].as_str().unwrap()))
            .await;
        assert_eq!(status, StatusCode::OK);
    }
    let rescheduled = env
        .audit()
        .into_iter()
        .filter(|e| e.event == "retention.rescheduled")
        .count();
    assert_eq!(rescheduled, 3);

    // 120 days: the 10-day-old entry, due in 20 days under 30, is now kept 110 more days.
    let v3 = provu_with_log_days("2026.12.1", 120);
    let id = publish_and_activate(&env, v3.path(), &key).await;
    env.recomputed(None, &id).await;
    env.clock.advance_secs(25 * DAY);
    assert_eq!(env.sweep().await, 0);
    let (status, read) = env
        .get(&format!("/v1/records/{}", ten["id"].as_str().unwrap()))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(period_days(&read), 120);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_shadow_run_reports_exactly_the_differing_records_and_changes_nothing() {
    let key = publisher();
    let env = gateway_trusting(&key).await;
    let v2 = provu_with_log_days("2026.12.0", 30);
    let (status, body) = env.publish(v2.path(), Some(&key)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, report) = env
        .post("/v1/admin/shadow", &json!({"bundle": "provu@2026.12.0"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{report}");
    let (_, list) = env.get("/v1/admin/bundles").await;
    assert_eq!(list["bundles"][1]["state"], "shadow");

    let mut differing = Vec::new();
    for i in 0..3 {
        let r = env.create(&log_entry(&env, 0, &format!("/{i}.cfg"))).await;
        differing.push(r["id"].as_str().unwrap().to_string());
        env.create(&crate::contact(&format!("c-{i}"))).await;
    }
    let mut report = Value::Null;
    for _ in 0..500 {
        report = env.get("/v1/admin/shadow").await.1;
        if report["observed"] == 6 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(report["observed"], 6, "{report}");
    assert_eq!(report["differing"], 3);
    let ids = strings(&report, "differences", "record");
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    let mut want: Vec<&str> = differing.iter().map(String::as_str).collect();
    want.sort_unstable();
    assert_eq!(sorted, want);
    let change = &report["differences"][0]["changes"][0];
    assert_eq!(change["plugin"], "retention");
    assert_eq!(change["action"], "schedule-deletion");
    assert_eq!(change["before"]["clause"], "2.2.2");
    assert_eq!(change["before"]["detail"], "2027-02-23T12:00:00Z");
    assert_eq!(change["after"]["detail"], "2026-12-25T12:00:00Z");

    // Nothing the shadow decided was stored.
    for id in &differing {
        let (_, read) = env.get(&format!("/v1/records/{id}")).await;
        assert_eq!(read["bundle"], V1);
        assert_eq!(period_days(&read), 90);
    }
    assert_eq!(env.stored_records(), 6);
    let (status, last) = env.delete("/v1/admin/shadow").await;
    assert_eq!(status, StatusCode::OK);
    assert!(last["stopped_at"].is_string());
    let (status, _) = env.get("/v1/admin/shadow").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let events = env.audit_events("policy.shadow");
    assert_eq!(events, ["policy.shadow-started", "policy.shadow-stopped"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_impact_report_lists_what_a_candidate_would_delete_and_stop_disclosing() {
    let key = publisher();
    let env = gateway_trusting(&key).await;
    let old = env.create(&log_entry(&env, 60 * DAY, "/old.cfg")).await;
    env.create(&log_entry(&env, 0, "/new.cfg")).await;
    let delivery = env
        .create(
            &json!({"kind": "delivery", "subject": "recipient-1", "fields": {
            "name": "Grace Hopper",
            "address": {"line1": "1 Savile Street", "city": "Huddersfield",
                        "postcode": "HD3 4PG", "country": "GB"},
            "courier": "dpd", "order_ref": "ORD-2026-004242"}}),
        )
        .await;
    // The candidate keeps the log 30 days and no longer lets DPD see deliveries.
    let v2 = copy_provu(
        "2026.12.0",
        &[(PROVISIONING_LOG_RULE, &provisioning_log_rule(30))],
    );
    let (mut package, components) = package_of(v2.path(), None);
    // (Its 90-day case would fail the gate: drop it, this candidate is not for activation.)
    package
        .cases
        .remove("provisioning-request-log-kept-90-days");
    package.manifest = package
        .manifest
        .replacen("[register.dpd]", "[register.dpd-retired]", 1);
    package.cases.retain(|name, _| {
        !name.starts_with("delivery-") && name != "no-sharing-for-direct-marketing"
    });
    package.signature = Some(signing::sign(&package, &key));
    env.upload_components(&package, &components).await;
    let (status, body) = post_package(&env, &package).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let (status, impact) = env.get("/v1/admin/bundles/provu@2026.12.0/impact").await;
    assert_eq!(status, StatusCode::OK, "{impact}");
    assert_eq!(impact["examined"], 3);
    let deletions = impact["would_delete"].as_array().unwrap();
    assert_eq!(deletions.len(), 1, "{impact}");
    assert_eq!(deletions[0]["record"], old["id"]);
    assert_eq!(deletions[0]["clause"], "2.2.2");
    let withheld: Vec<&Value> = impact["would_stop_disclosing"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["audience"] == "subprocessor:dpd")
        .collect();
    assert!(!withheld.is_empty(), "{impact}");
    assert!(withheld.iter().all(|w| w["record"] == delivery["id"]));
    // Nothing changed.
    assert_eq!(env.stored_records(), 3);
    assert_eq!(env.active_bundle(), V1);
}

#[tokio::test(flavor = "multi_thread")]
async fn activating_a_material_change_publishes_a_policy_change_notice() {
    let key = publisher();
    let env = gateway_trusting(&key).await;
    let (_, none) = env.get("/v1/policy/changes").await;
    assert_eq!(none, json!({"clause": "8", "changes": []}));
    let minor = provu_with_log_days("2026.12.0", 30);
    publish_and_activate(&env, minor.path(), &key).await;
    let material = copy_provu(
        "2027.1.0",
        &[(
            "description = \"ProVu Communications privacy policy\"",
            "description = \"ProVu Communications privacy policy\"\nnotice = { material = true, summary = \"Call recordings are kept for one year.\" }",
        )],
    );
    publish_and_activate(&env, material.path(), &key).await;
    let (status, changes) = env.get("/v1/policy/changes").await;
    assert_eq!(status, StatusCode::OK);
    let list = changes["changes"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{changes}");
    assert_eq!(list[0]["version"], "2027.1.0");
    assert_eq!(list[0]["summary"], "Call recordings are kept for one year.");
    assert_eq!(list[0]["at"], "2026-11-25T12:00:00Z");
}

#[tokio::test(flavor = "multi_thread")]
async fn reloading_the_policy_directory_goes_through_the_same_gate() {
    let dir = copy_provu("2026.11.0", &[]);
    let path = dir.path().to_path_buf();
    let env = TestEnv::from_dir(dir, |_| {}).await.unwrap();
    let manifest = path.join("bundle.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();

    // Unchanged: nothing happens.
    let report = env.gateway().reload("test").await.unwrap();
    assert!(!report.changed);

    // A broken edit is refused; the active bundle keeps serving.
    std::fs::write(
        &manifest,
        text.replace(
            "version = \"2026.11.0\"",
            "version = \"2026.11.1\"\nbogus = 1",
        ),
    )
    .unwrap();
    let err = env.gateway().reload("test").await.unwrap_err();
    assert!(
        sluice::service::policy::describe(&err).contains("unknown field `bogus`"),
        "{err}"
    );
    assert_eq!(env.active_bundle(), V1);

    // A good one is activated.
    std::fs::write(
        &manifest,
        text.replace("version = \"2026.11.0\"", "version = \"2026.11.1\""),
    )
    .unwrap();
    let report = env.gateway().reload("test").await.unwrap();
    assert!(report.changed);
    assert_eq!(env.active_bundle(), "provu@2026.11.1");
    // Changing a published version's content is refused: versions are immutable.
    std::fs::write(
        &manifest,
        text.replace("version = \"2026.11.0\"", "version = \"2026.11.1\"")
            .replace("days = 365", "days = 366"),
    )
    .unwrap();
    let (status, body) = env
        .call(reqwest::Method::POST, "/v1/admin/reload", None)
        .await;
    assert_error(
        status,
        &body,
        StatusCode::CONFLICT,
        "give the new one another version",
    );
}
