use serde_json::json;
use sluice_tests::TestEnv;

use crate::call_recording;

#[tokio::test(flavor = "multi_thread")]
async fn card_number_in_nested_free_text_is_redacted_in_response_and_storage() {
    let env = TestEnv::provu().await;
    let text = "Customer read out 4111-1111-1111-1111 for order ORD-2024-000123; call back on 01484 840048";
    let body = env.create(&call_recording("cust-1", text)).await;

    let stored_text = "Customer read out [card number removed] for order ORD-2024-000123; call back on 01484 840048";
    assert_eq!(body["fields"]["notes"]["summary"]["text"], stored_text);
    let redactions: Vec<_> = body["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["action"] == "redact")
        .collect();
    assert_eq!(redactions.len(), 1, "{body}");
    assert_eq!(redactions[0]["path"], "/notes/summary/text");
    assert_eq!(redactions[0]["clause"], "2.1.3");
    assert_eq!(redactions[0]["plugin"], "card-redaction");

    let id = body["id"].as_str().unwrap();
    let (status, read) = env.get(&format!("/v1/records/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(read["fields"]["notes"]["summary"]["text"], stored_text);
    // The card number is nowhere in the stored record, nor in the audit log.
    let stored = env.gateway().state().store.get(id).unwrap().unwrap();
    assert!(!serde_json::to_string(&stored).unwrap().contains("4111"));
    assert!(!format!("{:?}", env.audit()).contains("4111"));
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn phone_numbers_order_numbers_and_failing_digit_runs_are_left_alone() {
    let env = TestEnv::provu().await;
    let text =
        "Call +44 1484 840048 or 07700 900123, order 2024000123456789, ref 4111 1111 1111 1112";
    let body = env.create(&call_recording("cust-2", text)).await;
    assert_eq!(body["fields"]["notes"]["summary"]["text"], text);
    assert!(
        body["decisions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["action"] != "redact"),
        "{body}"
    );
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn every_card_in_every_string_field_is_redacted_with_its_path() {
    let env = TestEnv::provu().await;
    let mut record = call_recording(
        "cust-3",
        "Amex 3782 822463 10005 then Mastercard 5555555555554444",
    );
    record["fields"]["transcript"] = json!("JCB 3530111333300000 said twice");
    record["fields"]["notes"]["lines"] = json!(["fine", "Diners 3056-9309-0259-04"]);
    let body = env.create(&record).await;
    let mut paths: Vec<&str> = body["decisions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["action"] == "redact")
        .map(|d| d["path"].as_str().unwrap())
        .collect();
    paths.sort_unstable();
    assert_eq!(
        paths,
        ["/notes/lines/1", "/notes/summary/text", "/transcript"]
    );
    assert_eq!(
        body["fields"]["notes"]["summary"]["text"],
        "Amex [card number removed] then Mastercard [card number removed]"
    );
    assert_eq!(
        body["fields"]["notes"]["lines"],
        json!(["fine", "Diners [card number removed]"])
    );
    env.stop().await;
}
