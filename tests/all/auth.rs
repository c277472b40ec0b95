//! Every route needs a token of the right role; services see their own tenant only.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sluice::auth::Role;
use sluice_tests::TestEnv;

/// One route: method, path, body, and the roles that may call it.
struct Route {
    method: Method,
    path: &'static str,
    body: Option<Value>,
    roles: &'static [Role],
}

fn route(method: Method, path: &'static str, roles: &'static [Role]) -> Route {
    Route {
        method,
        path,
        body: None,
        roles,
    }
}

fn with(method: Method, path: &'static str, body: Value, roles: &'static [Role]) -> Route {
    Route {
        method,
        path,
        body: Some(body),
        roles,
    }
}

const SERVICE: &[Role] = &[Role::Service];
const RIGHTS: &[Role] = &[Role::Service, Role::Compliance];
const COMPLIANCE: &[Role] = &[Role::Compliance];
const ADMIN: &[Role] = &[Role::Admin];
const VENDOR: &[Role] = &[Role::Vendor];
const ANY: &[Role] = &[Role::Service, Role::Compliance, Role::Vendor, Role::Admin];

/// Every route of the gateway but `/healthz`. Ids name nothing that exists, so that the
/// calls that get through change nothing.
fn routes() -> Vec<Route> {
    use Method as M;
    let record = crate::contact("auth-subject");
    vec![
        with(M::POST, "/v1/records", record.clone(), SERVICE),
        route(M::POST, "/v1/records:batch", SERVICE),
        route(M::GET, "/v1/records?kind=contact&email=x@y", SERVICE),
        route(M::GET, "/v1/records/missing", SERVICE),
        with(
            M::PATCH,
            "/v1/records/missing",
            json!({"fields": {}}),
            SERVICE,
        ),
        route(M::DELETE, "/v1/records/missing", SERVICE),
        route(M::GET, "/v1/records/missing/recipients", SERVICE),
        route(M::GET, "/v1/subjects/nobody/records", SERVICE),
        route(
            M::GET,
            "/v1/subjects/nobody/permissions?purpose=email-marketing",
            SERVICE,
        ),
        route(M::GET, "/v1/subjects/nobody/export", RIGHTS),
        route(M::POST, "/v1/subjects/nobody/restriction", RIGHTS),
        route(M::DELETE, "/v1/subjects/nobody/restriction", RIGHTS),
        with(
            M::POST,
            "/v1/subjects/nobody/objections",
            json!({"purpose": "email-marketing"}),
            RIGHTS,
        ),
        route(M::POST, "/v1/subjects/nobody/erasure", RIGHTS),
        route(M::GET, "/v1/vendor/feed", VENDOR),
        with(M::POST, "/v1/vendor/feed/ack", json!({"cursor": 0}), VENDOR),
        route(M::GET, "/v1/policy/changes", ANY),
        route(M::GET, "/metrics", ADMIN),
        with(
            M::POST,
            "/v1/admin/tokens",
            json!({"role": "vendor", "vendor": "dpd"}),
            ADMIN,
        ),
        route(M::GET, "/v1/admin/tokens", ADMIN),
        route(M::DELETE, "/v1/admin/tokens/tok_000000000000", ADMIN),
        route(M::GET, "/v1/admin/outbox", ADMIN),
        route(M::GET, "/v1/admin/outbox/missing", ADMIN),
        route(M::POST, "/v1/admin/outbox/missing/redrive", ADMIN),
        route(M::GET, "/v1/admin/backup", ADMIN),
        route(M::POST, "/v1/admin/reload", ADMIN),
        route(
            M::POST,
            "/v1/admin/plugins?name=x&world=admission",
            COMPLIANCE,
        ),
        route(M::GET, "/v1/admin/plugins", COMPLIANCE),
        with(M::POST, "/v1/admin/bundles", json!({}), COMPLIANCE),
        route(M::GET, "/v1/admin/bundles", COMPLIANCE),
        route(M::GET, "/v1/admin/bundles/none@0", COMPLIANCE),
        route(M::POST, "/v1/admin/bundles/none@0/activate", COMPLIANCE),
        route(M::GET, "/v1/admin/bundles/none@0/impact", COMPLIANCE),
        route(M::POST, "/v1/admin/rollback", COMPLIANCE),
        route(M::GET, "/v1/admin/active", COMPLIANCE),
        route(M::GET, "/v1/admin/activations", COMPLIANCE),
        route(M::GET, "/v1/admin/retention", COMPLIANCE),
        with(
            M::POST,
            "/v1/admin/shadow",
            json!({"bundle": "none@0"}),
            COMPLIANCE,
        ),
        route(M::GET, "/v1/admin/shadow", COMPLIANCE),
        route(M::DELETE, "/v1/admin/shadow", COMPLIANCE),
    ]
}

fn token_of(env: &TestEnv, role: Role) -> String {
    match role {
        Role::Vendor => env.token(role, Some("yealink")),
        _ => env.token(role, None),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_route_refuses_a_missing_bad_or_wrong_token_and_admits_its_roles() {
    let env = TestEnv::provu().await;
    let all = [Role::Service, Role::Compliance, Role::Vendor, Role::Admin];
    let revoked = env.issue_token(Role::Admin, None, None);
    let id = sluice::auth::id_of(&revoked);
    let (status, _) = env.delete(&format!("/v1/admin/tokens/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    for r in routes() {
        let what = format!("{} {}", r.method, r.path);
        let b = r.body.as_ref();
        // No token, a forged one, a revoked one: 401 with a JSON error.
        for token in [
            None,
            Some("sluice_forged"),
            Some("not-a-token"),
            Some(revoked.as_str()),
        ] {
            let (status, body) = env.call_as(token, r.method.clone(), r.path, b).await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{what} with {token:?}: {body}"
            );
            assert!(
                body["error"].as_str().unwrap().contains("token"),
                "{what}: {body}"
            );
        }
        for role in all {
            let token = token_of(&env, role);
            let (status, body) = env.call_as(Some(&token), r.method.clone(), r.path, b).await;
            if r.roles.contains(&role) {
                assert!(
                    status != StatusCode::UNAUTHORIZED && status != StatusCode::FORBIDDEN,
                    "{what} as {role}: {status} {body}"
                );
            } else {
                assert_eq!(status, StatusCode::FORBIDDEN, "{what} as {role}: {body}");
                assert!(
                    body["error"].as_str().unwrap().contains("needs a"),
                    "{what} as {role}: {body}"
                );
            }
        }
    }
    // Liveness needs no token, and tells nothing personal.
    let (status, health) = env.call_as(None, Method::GET, "/healthz", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(health["status"], "ok");
    // The 401 says how to authenticate.
    let resp = env
        .client
        .get(format!("{}/v1/records/missing", env.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    assert!(
        resp.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_service_sees_only_its_own_tenants_records() {
    let env = TestEnv::provu().await;
    let ours = env.create(&crate::contact("shared-subject")).await;
    let id = ours["id"].as_str().unwrap();
    let acme = env.issue_token(Role::Service, Some("acme"), None);
    let as_acme = |method: Method, path: String, body: Option<Value>| {
        let env = &env;
        let acme = acme.clone();
        async move { env.call_as(Some(&acme), method, &path, body.as_ref()).await }
    };

    // Another tenant's record is as absent as a missing one, for every record route.
    for (method, path, body) in [
        (Method::GET, format!("/v1/records/{id}"), None),
        (
            Method::PATCH,
            format!("/v1/records/{id}"),
            Some(json!({"fields": {"job_title": "CTO"}})),
        ),
        (Method::DELETE, format!("/v1/records/{id}"), None),
        (Method::GET, format!("/v1/records/{id}/recipients"), None),
    ] {
        let (status, body) = as_acme(method.clone(), path.clone(), body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {body}");
    }
    // Nor is it found by a search, a subject's listing or an export.
    for path in [
        "/v1/records?kind=contact&email=ada@example.co.uk",
        "/v1/subjects/shared-subject/records",
        "/v1/subjects/shared-subject/export",
    ] {
        let (_, found) = env.get_as(&acme, path).await;
        assert_eq!(found["records"], json!([]), "{path}");
    }
    // An erasure filed by another tenant touches nothing of ours.
    let (status, erased) = as_acme(
        Method::POST,
        "/v1/subjects/shared-subject/erasure".into(),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{erased}");
    assert_eq!(erased["records"], json!([]));

    // Acme's own record of the same subject is its own, and ours stays ours.
    let (status, theirs) = as_acme(
        Method::POST,
        "/v1/records".into(),
        Some(crate::contact("shared-subject")),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let theirs_path = format!("/v1/records/{}", theirs["id"].as_str().unwrap());
    let (_, read) = env.get_as(&acme, &theirs_path).await;
    assert_eq!(read["tenant"], "acme");
    let (status, mine) = env.get(&format!("/v1/records/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(mine["fields"]["job_title"], Value::Null);
    let (_, listed) = env.get("/v1/subjects/shared-subject/records").await;
    assert_eq!(listed["records"].as_array().unwrap().len(), 1);
    let (status, _) = env.get(&theirs_path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn vendor_tokens_are_issued_only_for_vendors_of_the_register() {
    let env = TestEnv::provu().await;
    let (status, body) = env
        .post(
            "/v1/admin/tokens",
            &json!({"role": "vendor", "vendor": "acme"}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["clause"], "3.2", "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("`acme` is not in the subprocessor register"),
        "{body}"
    );
    assert!(body.get("token").is_none(), "{body}");
    let (_, list) = env.get("/v1/admin/tokens").await;
    assert!(
        list["tokens"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["vendor"] != "acme"),
        "{list}"
    );
    let (status, body) = env
        .post(
            "/v1/admin/tokens",
            &json!({"role": "vendor", "vendor": "yealink"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["record"]["vendor"], "yealink");
}
