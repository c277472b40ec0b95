//! The OpenAPI document: the committed `host/openapi.json` is the one the code generates,
//! and the gateway serves it without a token.

use std::path::PathBuf;

use reqwest::StatusCode;
use serde_json::Value;
use sluice_tests::TestEnv;

/// The committed file is the generated document (`SLUICE_BLESS=1` rewrites it).
#[test]
fn openapi_json_is_up_to_date() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../host/openapi.json");
    let generated = sluice::api::openapi_json();
    if std::env::var_os("SLUICE_BLESS").is_some() {
        std::fs::write(&path, generated).expect("writing host/openapi.json");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "host/openapi.json is not the document the code generates; regenerate it with \
         `SLUICE_BLESS=1 cargo test --release -p sluice-tests --test all openapi` (or \
         `cargo run --release -p sluice -- openapi > host/openapi.json`) and commit it"
    );
}

/// Every error response of every operation is an `ErrorBody`, and every gated operation
/// names the roles that may call it.
#[test]
fn every_error_is_an_error_body_and_every_route_names_its_roles() {
    let doc: Value = serde_json::from_str(sluice::api::openapi_json()).expect("JSON");
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().expect("paths");
    for path in [
        "/v1/records",
        "/v1/records:batch",
        "/v1/admin/tokens/{id}",
        "/metrics",
    ] {
        assert!(paths.contains_key(path), "{path} is missing");
    }
    for (path, item) in paths {
        for (method, op) in item.as_object().expect("a path item") {
            let public = path == "/healthz" || path == "/openapi.json";
            let roles = &op["security"][0]["bearer"];
            assert_eq!(
                roles.as_array().is_some_and(|r| !r.is_empty()),
                !public,
                "{method} {path}: {roles}"
            );
            for (status, response) in op["responses"].as_object().expect("responses") {
                if status.starts_with('4') || status.starts_with('5') {
                    assert_eq!(
                        response["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/ErrorBody",
                        "{method} {path} {status}"
                    );
                }
            }
        }
    }
}

/// `GET /openapi.json` needs no token and serves the document.
#[tokio::test]
async fn the_gateway_serves_its_document() {
    let env = TestEnv::provu().await;
    let (status, body) = env
        .call_as(None, reqwest::Method::GET, "/openapi.json", None)
        .await;
    assert_eq!(status, StatusCode::OK);
    let doc: Value = serde_json::from_str(sluice::api::openapi_json()).expect("JSON");
    assert_eq!(body, doc);
}
