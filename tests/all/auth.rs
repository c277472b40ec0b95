//! Every route needs a token of the right role; services see their own tenant only.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sluice::auth::Role;
use sluice_tests::{TestEnv, items};

const SERVICE: &[Role] = &[Role::Service];
const RIGHTS: &[Role] = &[Role::Service, Role::Compliance];
const COMPLIANCE: &[Role] = &[Role::Compliance];
const ADMIN: &[Role] = &[Role::Admin];
const VENDOR: &[Role] = &[Role::Vendor];
const ANY: &[Role] = &[Role::Service, Role::Compliance, Role::Vendor, Role::Admin];

/// Every route of the gateway but `/healthz` (`METHOD path`), after the roles that may call
/// it. Ids name nothing that exists, so that the calls that get through change nothing.
const ROUTES: &[(&[Role], &[&str])] = &[
    (
        SERVICE,
        &[
            "POST /v1/records",
            "POST /v1/records:batch",
            "GET /v1/records?kind=contact&email=x@y",
            "GET /v1/records/missing",
            "PATCH /v1/records/missing",
            "DELETE /v1/records/missing",
            "GET /v1/records/missing/recipients",
            "GET /v1/subjects/nobody/records",
            "GET /v1/subjects/nobody/permissions?purpose=email-marketing",
        ],
    ),
    (
        RIGHTS,
        &[
            "GET /v1/subjects/nobody/export",
            "POST /v1/subjects/nobody/restriction",
            "DELETE /v1/subjects/nobody/restriction",
            "POST /v1/subjects/nobody/objections",
            "POST /v1/subjects/nobody/erasure",
        ],
    ),
    (VENDOR, &["GET /v1/vendor/feed", "POST /v1/vendor/feed/ack"]),
    (ANY, &["GET /v1/policy/changes"]),
    (
        ADMIN,
        &[
            "GET /metrics",
            "POST /v1/admin/tokens",
            "GET /v1/admin/tokens",
            "DELETE /v1/admin/tokens/tok_000000000000",
            "GET /v1/admin/outbox",
            "GET /v1/admin/outbox/missing",
            "POST /v1/admin/outbox/missing/redrive",
            "GET /v1/admin/backup",
            "POST /v1/admin/reload",
        ],
    ),
    (
        COMPLIANCE,
        &[
            "POST /v1/admin/plugins?name=x&world=admission",
            "GET /v1/admin/plugins",
            "POST /v1/admin/bundles",
            "GET /v1/admin/bundles",
            "GET /v1/admin/bundles/none@0",
            "POST /v1/admin/bundles/none@0/activate",
            "GET /v1/admin/bundles/none@0/impact",
            "POST /v1/admin/rollback",
            "GET /v1/admin/active",
            "GET /v1/admin/activations",
            "GET /v1/admin/retention",
            "POST /v1/admin/shadow",
            "GET /v1/admin/shadow",
            "DELETE /v1/admin/shadow",
        ],
    ),
];

/// The JSON body of a request to `route` (`METHOD path`), if it has one.
fn body_of(route: &str) -> Option<Value> {
    let body = match route {
        "POST /v1/records" => crate::contact("auth-subject"),
        "PATCH /v1/records/missing" => json!({"fields": {}}),
        "POST /v1/subjects/nobody/objections" => json!({"purpose": "email-marketing"}),
        "POST /v1/vendor/feed/ack" => json!({"cursor": 0}),
        "POST /v1/admin/tokens" => json!({"role": "vendor", "vendor": "dpd"}),
        "POST /v1/admin/bundles" => json!({}),
        "POST /v1/admin/shadow" => json!({"bundle": "none@0"}),
        _ => return None,
    };
    Some(body)
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
    for (roles, routes) in ROUTES {
        for &what in *routes {
            let (method, path) = what.split_once(' ').expect("METHOD path");
            let method = Method::from_bytes(method.as_bytes()).expect("a method");
            let sent = body_of(what);
            let b = sent.as_ref();
            // No token, a forged one, a revoked one: 401 with a JSON error.
            for token in [
                None,
                Some("sluice_forged"),
                Some("not-a-token"),
                Some(revoked.as_str()),
            ] {
                let (status, body) = env.call_as(token, method.clone(), path, b).await;
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
                let (status, body) = env.call_as(Some(&token), method.clone(), path, b).await;
                if roles.contains(&role) {
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
    }
    // Liveness needs no token, and tells nothing personal.
    let (status, health) = env.call_as(None, Method::GET, "/healthz", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(health["status"], "ok");
    // The 401 says how to authenticate.
    let resp = env.get_without_token("/v1/records/missing").await;
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

/// `POST /v1/admin/tokens` of a token for `vendor`.
async fn vendor_token(env: &TestEnv, vendor: &str) -> (StatusCode, Value) {
    let request = json!({"role": "vendor", "vendor": vendor});
    env.post("/v1/admin/tokens", &request).await
}

#[tokio::test(flavor = "multi_thread")]
async fn vendor_tokens_are_issued_only_for_vendors_of_the_register() {
    let env = TestEnv::provu().await;
    let (status, body) = vendor_token(&env, "acme").await;
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
    let tokens = items(&list["tokens"]);
    assert!(tokens.iter().all(|t| t["vendor"] != "acme"), "{list}");
    let (status, body) = vendor_token(&env, "yealink").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["record"]["vendor"], "yealink");
}
