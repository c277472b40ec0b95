//! Policy per tenant: a tenant's compliance team activates, rolls back, shadows and
//! assesses bundles for its own tenant; nothing of it reaches, or reveals anything of,
//! another tenant. Reloading the policy directory changes the gateway default, for every
//! tenant without a bundle of its own, and is an operator's action.

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sluice::auth::Role;
use sluice::bundle::signing::TrustedKeys;
use sluice_test_support::http::poll;
use sluice_tests::{SigningKey, TestEnv, copy_provu, items, provu_with_log_days};

use crate::publishing::{DAY, V1, gateway_trusting, log_entry, period_days, publisher};

const V2: &str = "provu@2026.12.0";

/// A tenant's service and compliance tokens.
struct Tenant {
    service: String,
    compliance: String,
}

impl Tenant {
    fn new(env: &TestEnv, name: &str) -> Self {
        Self {
            service: env.issue_token(Role::Service, Some(name), None),
            compliance: env.issue_token(Role::Compliance, Some(name), None),
        }
    }
}

async fn call(
    env: &TestEnv,
    token: &str,
    method: Method,
    path: &str,
    body: Option<&Value>,
) -> (StatusCode, Value) {
    env.call_as(Some(token), method, path, body).await
}

async fn get(env: &TestEnv, token: &str, path: &str) -> Value {
    let (status, body) = call(env, token, Method::GET, path, None).await;
    assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
    body
}

/// Writes `record` with `token`, asserting 201.
async fn write(env: &TestEnv, token: &str, record: &Value) -> Value {
    let (status, body) = call(env, token, Method::POST, "/v1/records", Some(record)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body
}

/// Writes a provisioning-request log entry of `ago` seconds ago for `path` with `tenant`'s
/// service token, asserting 201.
async fn write_log(env: &TestEnv, tenant: &Tenant, ago: i64, path: &str) -> Value {
    write(env, &tenant.service, &log_entry(env, ago, path)).await
}

/// Reads the record `id` with `token`, asserting 200.
async fn read(env: &TestEnv, token: &str, id: &str) -> Value {
    get(env, token, &format!("/v1/records/{id}")).await
}

fn id(record: &Value) -> String {
    record["id"].as_str().unwrap().to_string()
}

/// A publisher's key, a gateway on ProVu trusting it, and the tenants `acme` and `beta`.
async fn two_tenants() -> (SigningKey, TestEnv, Tenant, Tenant) {
    let key = publisher();
    let env = gateway_trusting(&key).await;
    let acme = Tenant::new(&env, "acme");
    let beta = Tenant::new(&env, "beta");
    (key, env, acme, beta)
}

/// Publishes the 30-day variant of ProVu (`provu@2026.12.0`) with `tenant`'s token.
async fn publish_v2(env: &TestEnv, tenant: &Tenant, key: &SigningKey) {
    let v2 = provu_with_log_days("2026.12.0", 30);
    let (status, body) = env
        .publish_as(&tenant.compliance, v2.path(), Some(key))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

async fn activate(env: &TestEnv, tenant: &Tenant, id: &str) -> Value {
    let path = format!("/v1/admin/bundles/{id}/activate");
    let (status, body) = call(env, &tenant.compliance, Method::POST, &path, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn rollback(env: &TestEnv, tenant: &Tenant, body: Option<&Value>) -> (StatusCode, Value) {
    let path = "/v1/admin/rollback";
    call(env, &tenant.compliance, Method::POST, path, body).await
}

/// `METHOD /v1/admin/shadow` with `tenant`'s compliance token.
async fn shadow(
    env: &TestEnv,
    tenant: &Tenant,
    method: Method,
    body: Option<&Value>,
) -> (StatusCode, Value) {
    call(env, &tenant.compliance, method, "/v1/admin/shadow", body).await
}

/// `POST /v1/admin/reload` with `token`.
async fn reload(env: &TestEnv, token: &str) -> (StatusCode, Value) {
    call(env, token, Method::POST, "/v1/admin/reload", None).await
}

fn actions(activations: &Value) -> Vec<String> {
    items(&activations["activations"])
        .iter()
        .map(|a| a["action"].as_str().unwrap().to_string())
        .collect()
}

/// The bundle of the last audit entry of `event` about `record`.
fn audited_bundle(env: &TestEnv, event: &str, record: &str) -> String {
    env.audit()
        .into_iter()
        .rev()
        .find(|e| e.event == event && e.record.as_deref() == Some(record))
        .and_then(|e| e.bundle)
        .unwrap_or_else(|| panic!("no {event} entry for {record}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tenants_activation_and_rollback_change_its_own_policy_only() {
    let (key, mut env, acme, beta) = two_tenants().await;
    publish_v2(&env, &beta, &key).await;
    let report = activate(&env, &beta, V2).await;
    assert_eq!(report["active"], V2);
    assert_eq!(report["previous"], V1);

    // Writes run under the bundle of the writer's tenant.
    let a = write(&env, &acme.service, &log_entry(&env, 0, "/a.cfg")).await;
    assert_eq!((a["bundle"].as_str(), period_days(&a)), (Some(V1), 90));
    let b = write(&env, &beta.service, &log_entry(&env, 0, "/b.cfg")).await;
    assert_eq!((b["bundle"].as_str(), period_days(&b)), (Some(V2), 30));
    assert_eq!(report["activation"]["tenant"], "beta");
    let d = env.create(&log_entry(&env, 0, "/d.cfg")).await;
    assert_eq!(d["bundle"], V1);
    // So do rectifications.
    let patch = json!({"fields": {"path": "/a2.cfg"}});
    for (tenant, record, bundle, days) in [(&acme, &a, V1, 90), (&beta, &b, V2, 30)] {
        let path = format!("/v1/records/{}", id(record));
        let (status, patched) =
            call(&env, &tenant.service, Method::PATCH, &path, Some(&patch)).await;
        assert_eq!(status, StatusCode::OK, "{patched}");
        let got = (patched["bundle"].as_str(), period_days(&patched));
        assert_eq!(got, (Some(bundle), days));
    }
    // And reads: the disclosure is decided, and audited, under the reader's tenant's bundle.
    let read_a = read(&env, &acme.service, &id(&a)).await;
    assert_eq!(read_a["bundle"], V1);
    assert_eq!(audited_bundle(&env, "record.disclosed", &id(&a)), V1);
    read(&env, &beta.service, &id(&b)).await;
    assert_eq!(audited_bundle(&env, "record.disclosed", &id(&b)), V2);
    let listed = get(&env, &acme.service, "/v1/subjects/203.0.113.9/records").await;
    assert_eq!(items(&listed["records"]).len(), 1);
    assert_eq!(audited_bundle(&env, "record.disclosed", &id(&a)), V1);

    // Each tenant sees its own active bundle and history; the gateway default is unchanged.
    let active = get(&env, &acme.compliance, "/v1/admin/active").await;
    assert_eq!(active["bundle"], V1);
    assert_eq!(active["activation"]["action"], "bootstrap");
    let active = get(&env, &beta.compliance, "/v1/admin/active").await;
    assert_eq!(active["bundle"], V2);
    assert_eq!(active["activation"]["tenant"], "beta");
    assert_eq!(env.get("/v1/admin/active").await.1["bundle"], V1);
    let (_, health) = env.call_as(None, Method::GET, "/healthz", None).await;
    assert_eq!(health["bundle"], V1);
    let acme_list = get(&env, &acme.compliance, "/v1/admin/bundles").await;
    assert_eq!(acme_list["active"], V1);
    assert_eq!(acme_list["bundles"][1]["state"], "available");
    let beta_list = get(&env, &beta.compliance, "/v1/admin/bundles").await;
    assert_eq!(beta_list["active"], V2);
    assert_eq!(beta_list["bundles"][1]["state"], "active");
    let acme_history = get(&env, &acme.compliance, "/v1/admin/activations").await;
    assert_eq!(actions(&acme_history), ["bootstrap"]);
    let beta_history = get(&env, &beta.compliance, "/v1/admin/activations").await;
    assert_eq!(actions(&beta_history), ["bootstrap", "activate"]);

    // A restart loads every tenant's bundle.
    env.restart().await.unwrap();
    assert_eq!(env.default_bundle(), V1);
    assert_eq!(env.active_bundle_of("beta"), V2);
    let a = write(&env, &acme.service, &log_entry(&env, 0, "/a3.cfg")).await;
    assert_eq!(a["bundle"], V1);
    let b = write(&env, &beta.service, &log_entry(&env, 0, "/b3.cfg")).await;
    assert_eq!(b["bundle"], V2);

    // A tenant without a bundle of its own has nothing to roll back.
    let (status, body) = rollback(&env, &acme, None).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    // Beta's rollback takes it back to the default, and leaves acme alone.
    let (status, report) = rollback(&env, &beta, None).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["active"], V1);
    assert_eq!(report["previous"], V2);
    assert_eq!(report["activation"]["tenant"], "beta");
    assert_eq!(report["activation"]["action"], "rollback");
    let b = write(&env, &beta.service, &log_entry(&env, 0, "/b4.cfg")).await;
    assert_eq!((b["bundle"].as_str(), period_days(&b)), (Some(V1), 90));
    let a = write(&env, &acme.service, &log_entry(&env, 0, "/a4.cfg")).await;
    assert_eq!(a["bundle"], V1);
    let beta_history = get(&env, &beta.compliance, "/v1/admin/activations").await;
    assert_eq!(
        actions(&beta_history),
        ["bootstrap", "activate", "rollback"]
    );
    let acme_history = get(&env, &acme.compliance, "/v1/admin/activations").await;
    assert_eq!(actions(&acme_history), ["bootstrap"]);
    // Rolling back to a named bundle activates it for the tenant.
    let (status, report) = rollback(&env, &beta, Some(&json!({"to": V2}))).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["active"], V2);
    let b = write(&env, &beta.service, &log_entry(&env, 0, "/b5.cfg")).await;
    assert_eq!(b["bundle"], V2);
    let a = write(&env, &acme.service, &log_entry(&env, 0, "/a5.cfg")).await;
    assert_eq!(a["bundle"], V1);

    // The audit entries of the activations name the tenant.
    let tenants: Vec<(String, Value)> = env
        .audit_all()
        .into_iter()
        .filter(|e| e.event == "policy.activated" || e.event == "policy.rolled-back")
        .filter(|e| e.actor.as_deref() != Some("local:policies"))
        .map(|e| (e.event, e.detail.unwrap()["tenant"].clone()))
        .collect();
    assert_eq!(
        tenants,
        [
            ("policy.activated".to_string(), json!("beta")),
            ("policy.rolled-back".into(), json!("beta")),
            ("policy.rolled-back".into(), json!("beta")),
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_impact_report_examines_the_callers_records_only() {
    let (key, env, acme, beta) = two_tenants().await;
    let mut ours = BTreeSet::new();
    let mut old = String::new();
    for (i, ago) in [60, 10, 0].into_iter().enumerate() {
        let r = write_log(&env, &beta, ago * DAY, &format!("/b{i}.cfg")).await;
        if ago == 60 {
            old = id(&r);
        }
        ours.insert(id(&r));
    }
    let mut theirs = BTreeSet::new();
    for i in 0..5 {
        let r = write_log(&env, &acme, 60 * DAY, &format!("/a{i}.cfg")).await;
        theirs.insert(id(&r));
    }
    publish_v2(&env, &beta, &key).await;

    let impact_path = format!("/v1/admin/bundles/{V2}/impact");
    let impact = get(&env, &beta.compliance, &impact_path).await;
    assert_eq!(impact["examined"], 3, "{impact}");
    assert_eq!(impact["next"], Value::Null);
    let deletions = items(&impact["would_delete"]);
    assert_eq!(deletions.len(), 1, "{impact}");
    assert_eq!(deletions[0]["record"], old.as_str());
    let named = |impact: &Value| -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for list in [
            "would_delete",
            "would_redact",
            "would_reject",
            "would_stop_disclosing",
        ] {
            for item in items(&impact[list]) {
                out.insert(item["record"].as_str().unwrap().to_string());
            }
        }
        for f in items(&impact["failed"]) {
            out.insert(f.as_str().unwrap().to_string());
        }
        out
    };
    assert!(named(&impact).is_subset(&ours), "{impact}");
    // Against the bundle it runs on, too.
    let same = get(
        &env,
        &beta.compliance,
        &format!("/v1/admin/bundles/{V1}/impact"),
    )
    .await;
    assert_eq!(same["examined"], 3, "{same}");
    assert_eq!(same["next"], Value::Null);

    // Paging walks beta's records only: every cursor is one of them.
    let mut after = String::new();
    let mut pages = 0;
    let mut examined = 0;
    loop {
        let page = get(
            &env,
            &beta.compliance,
            &format!("{impact_path}?limit=1&after={after}"),
        )
        .await;
        pages += 1;
        examined += page["examined"].as_u64().unwrap();
        assert!(named(&page).is_subset(&ours), "{page}");
        match page["next"].as_str() {
            Some(next) => {
                assert!(ours.contains(next), "cursor {next} is not beta's");
                after = next.to_string();
            }
            None => break,
        }
        assert!(pages < 10, "paging does not end");
    }
    assert_eq!((pages, examined), (3, 3));
    // Starting from another tenant's record id reveals nothing of its records either.
    let first_theirs = theirs.iter().next().unwrap();
    let page = get(
        &env,
        &beta.compliance,
        &format!("{impact_path}?after={first_theirs}"),
    )
    .await;
    assert!(named(&page).is_subset(&ours), "{page}");

    // Whatever acme stores, beta's report is the same.
    for i in 0..10 {
        write_log(&env, &acme, 60 * DAY, &format!("/more{i}.cfg")).await;
    }
    assert_eq!(get(&env, &beta.compliance, &impact_path).await, impact);
    // Acme's own report covers acme's records, none of beta's.
    let theirs_report = get(&env, &acme.compliance, &impact_path).await;
    assert_eq!(theirs_report["examined"], 15, "{theirs_report}");
    assert!(named(&theirs_report).is_disjoint(&ours));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_shadow_run_observes_its_own_tenants_writes_and_no_other_tenant_sees_it() {
    let (key, env, acme, beta) = two_tenants().await;
    publish_v2(&env, &beta, &key).await;
    let run = json!({"bundle": V2});
    let (status, body) = shadow(&env, &beta, Method::POST, Some(&run)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // Acme learns nothing of it.
    for method in [Method::GET, Method::DELETE] {
        let (status, body) = shadow(&env, &acme, method, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    }
    let list = get(&env, &acme.compliance, "/v1/admin/bundles").await;
    assert_eq!(list["bundles"][1]["state"], "available");
    let list = get(&env, &beta.compliance, "/v1/admin/bundles").await;
    assert_eq!(list["bundles"][1]["state"], "shadow");

    // Acme's writes are not shadowed; beta's are.
    for i in 0..3 {
        write_log(&env, &acme, 0, &format!("/a{i}.cfg")).await;
    }
    let mut differing = BTreeSet::new();
    for i in 0..2 {
        let r = write_log(&env, &beta, 0, &format!("/b{i}.cfg")).await;
        differing.insert(id(&r));
    }
    write(&env, &beta.service, &crate::contact("c-1")).await;
    // Polls `tenant`'s shadow run (up to 5 s) until it has observed or skipped `writes`
    // writes: its report.
    let seen = async |tenant: &Tenant, writes: u64| {
        let report = poll(500, async || {
            let r = get(&env, &tenant.compliance, "/v1/admin/shadow").await;
            let count = r["observed"].as_u64().unwrap() + r["skipped"].as_u64().unwrap();
            (count >= writes).then_some(r)
        })
        .await;
        report.unwrap_or_else(|| panic!("the shadow run did not see {writes} writes"))
    };
    let report = seen(&beta, 3).await;
    assert_eq!(report["observed"], 3, "{report}");
    assert_eq!(report["differing"], 2, "{report}");
    let ids: BTreeSet<String> = items(&report["differences"])
        .iter()
        .map(|d| d["record"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, differing);
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let observed_by_beta = async || {
        let report = get(&env, &beta.compliance, "/v1/admin/shadow").await;
        report["observed"].clone()
    };
    assert_eq!(observed_by_beta().await, 3);

    // Acme may run its own, beside beta's.
    let (status, body) = shadow(&env, &acme, Method::POST, Some(&run)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    write_log(&env, &acme, 0, "/a9.cfg").await;
    let r = seen(&acme, 1).await;
    assert_eq!(json!([r["observed"], r["skipped"]]), json!([1, 0]));
    assert_eq!(observed_by_beta().await, 3);
    // Stopping beta's leaves acme's running.
    let (status, last) = shadow(&env, &beta, Method::DELETE, None).await;
    assert_eq!(status, StatusCode::OK, "{last}");
    assert_eq!(last["observed"], 3);
    let (status, _) = shadow(&env, &beta, Method::GET, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    get(&env, &acme.compliance, "/v1/admin/shadow").await;
    let started: Vec<Value> = env
        .audit_all()
        .into_iter()
        .filter(|e| e.event.starts_with("policy.shadow"))
        .map(|e| json!([e.event, e.tenant, e.detail.unwrap()["tenant"]]))
        .collect();
    assert_eq!(
        started,
        [
            json!(["policy.shadow-started", "beta", "beta"]),
            json!(["policy.shadow-started", "acme", "acme"]),
            json!(["policy.shadow-stopped", "beta", "beta"]),
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tenants_activation_recomputes_the_retention_of_its_own_records_only() {
    let (key, env, acme, beta) = two_tenants().await;
    let mut records = Vec::new();
    for t in [&acme, &beta] {
        for ago in [60, 10] {
            let r = write_log(&env, t, ago * DAY, &format!("/{ago}.cfg")).await;
            records.push(id(&r));
        }
    }
    let (acme_records, beta_records) = records.split_at(2);
    publish_v2(&env, &beta, &key).await;
    let report = activate(&env, &beta, V2).await;
    assert_eq!(report["retention_recompute"], true);

    let progress = env.recomputed(Some(&beta.compliance), V2).await;
    assert_eq!(progress["examined"], 2, "{progress}");
    assert_eq!(progress["rescheduled"], 2, "{progress}");
    // Acme's progress says nothing of beta's.
    let acme_view = get(&env, &acme.compliance, "/v1/admin/retention").await;
    assert_eq!(acme_view["recompute"], Value::Null, "{acme_view}");
    assert_eq!(progress["tenant"], "beta");
    for (tenant, ids, days, bundle) in [
        (&acme, acme_records, 90, Value::Null),
        (&beta, beta_records, 30, json!(V2)),
    ] {
        for r in ids {
            let got = read(&env, &tenant.service, r).await;
            assert_eq!(period_days(&got), days, "{got}");
            assert_eq!(got["retention_bundle"], bundle, "{got}");
        }
    }
    let rescheduled: Vec<String> = env
        .audit()
        .into_iter()
        .filter(|e| e.event == "retention.rescheduled")
        .map(|e| e.tenant)
        .collect();
    assert_eq!(rescheduled, ["beta", "beta"]);
    // Beta's 60-day-old entry is overdue under 30 days; acme's is not under 90.
    assert_eq!(env.sweep().await, 1);
    let path = format!("/v1/records/{}", beta_records[0]);
    let (status, _) = call(&env, &beta.service, Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    read(&env, &acme.service, &acme_records[0]).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_policy_change_notice_reaches_its_own_tenant_only() {
    let (key, env, acme, beta) = two_tenants().await;
    let material = copy_provu(
        "2027.1.0",
        &[(
            "description = \"ProVu Communications privacy policy\"",
            "description = \"ProVu Communications privacy policy\"\nnotice = { material = true, summary = \"Call recordings are kept for one year.\" }",
        )],
    );
    let (status, body) = env
        .publish_as(&beta.compliance, material.path(), Some(&key))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    activate(&env, &beta, "provu@2027.1.0").await;

    for token in [
        acme.service.clone(),
        acme.compliance.clone(),
        env.token(Role::Service, None),
        env.token(Role::Vendor, Some("yealink")),
    ] {
        let none = get(&env, &token, "/v1/policy/changes").await;
        assert_eq!(none, json!({"clause": "8", "changes": []}));
    }
    let changes = get(&env, &beta.service, "/v1/policy/changes").await;
    let list = items(&changes["changes"]);
    assert_eq!(list.len(), 1, "{changes}");
    assert_eq!(list[0]["version"], "2027.1.0");
    assert_eq!(list[0]["tenant"], "beta");
    assert_eq!(
        get(&env, &beta.compliance, "/v1/policy/changes").await,
        changes
    );
    // An operator reads everything.
    let all = get(&env, &env.token(Role::Admin, None), "/v1/policy/changes").await;
    assert_eq!(all, changes);
}

#[tokio::test(flavor = "multi_thread")]
async fn reloading_is_an_operators_change_of_the_default_for_tenants_without_their_own_bundle() {
    let key = publisher();
    let public = key.verifying_key();
    let mut env = TestEnv::from_dir(copy_provu("2026.11.0", &[]), move |o| {
        o.trust = TrustedKeys::new(vec![public], false)
    })
    .await
    .unwrap();
    let acme = Tenant::new(&env, "acme");
    let beta = Tenant::new(&env, "beta");
    let a = write(&env, &acme.service, &log_entry(&env, 20 * DAY, "/a.cfg")).await;
    let b = write(&env, &beta.service, &log_entry(&env, 20 * DAY, "/b.cfg")).await;
    publish_v2(&env, &beta, &key).await;
    activate(&env, &beta, V2).await;
    env.recomputed(Some(&beta.compliance), V2).await;

    // Compliance tokens may not reload, whichever tenant; an operator may.
    for token in [
        &acme.compliance,
        &beta.compliance,
        &env.token(Role::Compliance, None),
    ] {
        let (status, body) = reload(&env, token).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    }
    let admin = env.token(Role::Admin, None);
    let (status, report) = reload(&env, &admin).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["changed"], false);

    // The directory now keeps the log 60 days.
    let next = provu_with_log_days("2026.11.1", 60);
    let case = "tests/provisioning-request-log-kept-90-days/expected.json";
    for file in ["bundle.toml", case] {
        std::fs::copy(next.path().join(file), env.policy_dir().join(file)).unwrap();
    }
    let (status, report) = reload(&env, &admin).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["active"], "provu@2026.11.1");
    assert_eq!(report["previous"], V1);
    assert_eq!(env.default_bundle(), "provu@2026.11.1");

    // Acme follows the default, its records' schedules too; beta keeps its own bundle.
    let progress = env
        .recomputed(Some(&acme.compliance), "provu@2026.11.1")
        .await;
    assert_eq!(progress["examined"], 1, "{progress}");
    assert_eq!(progress["rescheduled"], 1, "{progress}");
    assert_eq!(progress["after"], "", "no cursor of the default's walk");
    let read_a = read(&env, &acme.service, &id(&a)).await;
    assert_eq!(period_days(&read_a), 60);
    let read_b = read(&env, &beta.service, &id(&b)).await;
    assert_eq!(period_days(&read_b), 30);
    assert_eq!(read_b["retention_bundle"], V2);
    let acme_active = get(&env, &acme.compliance, "/v1/admin/active").await;
    assert_eq!(acme_active["bundle"], "provu@2026.11.1");
    assert_eq!(acme_active["activation"]["action"], "reload");
    let beta_active = get(&env, &beta.compliance, "/v1/admin/active").await;
    assert_eq!(beta_active["bundle"], V2);
    assert_eq!(beta_active["activation"]["action"], "activate");
    let r = write(&env, &acme.service, &log_entry(&env, 0, "/a2.cfg")).await;
    assert_eq!(
        (r["bundle"].as_str(), period_days(&r)),
        (Some("provu@2026.11.1"), 60)
    );
    let r = write(&env, &beta.service, &log_entry(&env, 0, "/b2.cfg")).await;
    assert_eq!((r["bundle"].as_str(), period_days(&r)), (Some(V2), 30));
    let (_, health) = env.call_as(None, Method::GET, "/healthz", None).await;
    assert_eq!(health["bundle"], "provu@2026.11.1");

    // Back on the default, beta runs on the default of now, and follows it from then on.
    let (status, report) = rollback(&env, &beta, None).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["active"], "provu@2026.11.1");
    assert_eq!(report["activation"]["follows_default"], true);
    let progress = env
        .recomputed(Some(&beta.compliance), "provu@2026.11.1")
        .await;
    assert_eq!(progress["tenant"], "beta");
    assert_eq!(progress["examined"], 2, "{progress}");
    let read_b = read(&env, &beta.service, &id(&b)).await;
    assert_eq!(period_days(&read_b), 60);
    let r = write(&env, &beta.service, &log_entry(&env, 0, "/b3.cfg")).await;
    assert_eq!(r["bundle"], "provu@2026.11.1");
    let text = std::fs::read_to_string(env.policy_dir().join("bundle.toml")).unwrap();
    std::fs::write(
        env.policy_dir().join("bundle.toml"),
        text.replace("version = \"2026.11.1\"", "version = \"2026.11.2\""),
    )
    .unwrap();
    let (status, report) = reload(&env, &admin).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    for t in [&acme, &beta] {
        let r = write(&env, &t.service, &log_entry(&env, 0, "/c.cfg")).await;
        assert_eq!(r["bundle"], "provu@2026.11.2");
    }
    // A restart keeps beta on the default rather than on the bundle it went back to.
    env.restart().await.unwrap();
    assert_eq!(env.active_bundle_of("beta"), "provu@2026.11.2");
    assert_eq!(env.active_bundle_of("acme"), "provu@2026.11.2");
}
