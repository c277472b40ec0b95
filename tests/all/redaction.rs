use serde_json::json;
use sluice_tests::{TestEnv, decisions};

use crate::call_recording;

#[tokio::test(flavor = "multi_thread")]
async fn card_number_in_nested_free_text_is_redacted_in_response_and_storage() {
    let env = TestEnv::provu().await;
    let text = "Customer read out 4111-1111-1111-1111 for order ORD-2024-000123; call back on 01484 840048";
    let body = env.create(&call_recording("cust-1", text)).await;

    let stored_text = "Customer read out [card number removed] for order ORD-2024-000123; call back on 01484 840048";
    assert_eq!(body["fields"]["notes"]["summary"]["text"], stored_text);
    let redactions = decisions(&body, "redact");
    assert_eq!(redactions.len(), 1, "{body}");
    assert_eq!(redactions[0]["path"], "/notes/summary/text");
    assert_eq!(redactions[0]["clause"], "2.1.3");
    assert_eq!(redactions[0]["plugin"], "card-redaction");

    let id = body["id"].as_str().unwrap();
    let (status, read) = env.get(&format!("/v1/records/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(read["fields"]["notes"]["summary"]["text"], stored_text);
    // The card number is nowhere in the stored record, nor in the audit log.
    // (The fields are searched for any part of it; ids, times and digests elsewhere may hold
    // the same four digits by chance, so the rest is searched for the number itself.)
    let stored = env.gateway().state().store.get(id).unwrap().unwrap();
    assert!(
        !serde_json::to_string(&stored.fields)
            .unwrap()
            .contains("4111")
    );
    let whole = serde_json::to_string(&stored).unwrap();
    let audit = format!("{:?}", env.audit());
    for number in ["4111-1111-1111-1111", "4111111111111111"] {
        assert!(!whole.contains(number), "{whole}");
        assert!(!audit.contains(number), "{audit}");
    }
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn phone_numbers_order_numbers_and_failing_digit_runs_are_left_alone() {
    let env = TestEnv::provu().await;
    let text =
        "Call +44 1484 840048 or 07700 900123, order 2024000123456789, ref 4111 1111 1111 1112";
    let body = env.create(&call_recording("cust-2", text)).await;
    assert_eq!(body["fields"]["notes"]["summary"]["text"], text);
    assert!(decisions(&body, "redact").is_empty(), "{body}");
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
    let mut paths: Vec<&str> = decisions(&body, "redact")
        .iter()
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

/// The digits of a stored record as one string, whatever characters stood between them
/// (full-width digits read as digits).
fn digits_of(record: &sluice::record::StoredRecord) -> String {
    let text = serde_json::to_string(record).unwrap();
    text.chars()
        .filter_map(|c| match c {
            '0'..='9' => Some(c),
            '０'..='９' => char::from_digit(c as u32 - '０' as u32, 10),
            '\u{660}'..='\u{669}' => char::from_digit(c as u32 - 0x660, 10),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn card_numbers_in_every_notation_shape_and_place_are_never_stored() {
    let env = TestEnv::provu().await;
    // Notations a hostile tester stored in clear before: every separator, invisible and
    // wide characters, parentheses, digit by digit, as typed by speech-to-text.
    let notations = [
        "4111.1111.1111.1111",
        "4111/1111/1111/1111",
        "4111_1111_1111_1111",
        "4111,1111,1111,1111",
        "4111\u{2013}1111\u{2013}1111\u{2013}1111",
        "4111\t1111\t1111\t1111",
        "4111\n1111\n1111\n1111",
        "4111  1111  1111  1111",
        "4111\u{a0}1111\u{a0}1111\u{a0}1111",
        "4111\u{202f}1111\u{202f}1111\u{202f}1111",
        "4111\u{200b}1111\u{200b}1111\u{200b}1111",
        "4111.1111-1111 1111",
        "４１１１ １１１１ １１１１ １１１１",
        "(4111) 1111 1111 1111",
        "4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1",
        "4111, 1111, 1111, 1111",
        "4111:1111:1111:1111",
        "4111|1111|1111|1111",
        "4111     1111     1111     1111",
        "41 11 11 11 11 11 11 11",
        "4-1-1-1-1-1-1-1-1-1-1-1-1-1-1-1",
        "\"4111\" \"1111\" \"1111\" \"1111\"",
        "<b>4111</b><b>1111</b><b>1111</b><b>1111</b>",
        "\u{664}\u{661}\u{661}\u{661} \u{661}\u{661}\u{661}\u{661} \u{661}\u{661}\u{661}\u{661} \u{661}\u{661}\u{661}\u{661}",
    ];
    for notation in notations {
        let record = call_recording("cust-9", &format!("paid with {notation} today"));
        let body = env.create(&record).await;
        let id = body["id"].as_str().unwrap();
        let stored = env.gateway().state().store.get(id).unwrap().unwrap();
        assert!(
            !digits_of(&stored).contains("4111111111111111"),
            "{notation:?} was stored: {}",
            stored.fields
        );
        // The marker takes the card's span; a quote or tag around its first and last
        // digit may stay.
        let text = stored.fields["notes"]["summary"]["text"].as_str().unwrap();
        assert!(
            text.starts_with("paid with ")
                && text.ends_with(" today")
                && text.contains("[card number removed]")
                && !text.chars().any(|c| c.is_numeric()),
            "{notation:?}: {text}"
        );
    }
    // A JSON number, an object key and a card deep in an array of a free object.
    let body = env
        .create(
            &json!({"kind": "web-form", "subject": "visitor-9", "fields": {
            "form": "quote", "purpose": "quote-request",
            "fields": {"paid_with": 4111111111111111i64,
                       "4111 1111 1111 1111": {"note": "key"},
                       "lines": [{"text": "ok"}, {"text": "card 5555 5555 5555 4444"}]}}}),
        )
        .await;
    let id = body["id"].as_str().unwrap();
    let stored = env.gateway().state().store.get(id).unwrap().unwrap();
    let digits = digits_of(&stored);
    assert!(!digits.contains("4111111111111111"), "{}", stored.fields);
    assert!(!digits.contains("5555555555554444"), "{}", stored.fields);
    // A number field holding a card is removed (a marker would break its type).
    assert!(
        stored.fields["fields"].get("paid_with").is_none(),
        "{}",
        stored.fields
    );
    assert_eq!(
        stored.fields["fields"]["lines"],
        json!([{"text": "ok"}, {"text": "card [card number removed]"}])
    );
    assert!(stored.fields["fields"].get("4111 1111 1111 1111").is_none());
    // Nor in the audit log, which names paths: the removed key is named by its path only in
    // the response, never stored in the audit entry's clear text with the number.
    // A refused record's audit entry names the field by a path without the number.
    let (status, refused) = env
        .post(
            "/v1/records",
            &json!({"kind": "web-form", "subject": "visitor-9", "fields": {
                "form": "quote", "purpose": "quote-request",
                "fields": {"diagnosis 4111 1111 1111 1111": "x"}}}),
        )
        .await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["clause"], "2.4");
    let audit = serde_json::to_string(&env.audit()).unwrap();
    let audit_digits: String = audit.chars().filter(char::is_ascii_digit).collect();
    assert!(!audit_digits.contains("4111111111111111"), "{audit}");
    env.stop().await;
}

/// Phone numbers, IBANs, dates, ids and a digit run failing the Luhn check: not card
/// numbers, whatever their length.
const NOT_CARDS: &[&str] = &[
    "+44 1484 840048",
    "+44 (0)1484 840048",
    "0044 1484 840048",
    "01484 840048",
    "(555) 123-4567",
    "+1 555 123 4567",
    "+49 30 12345678",
    "+33 1 23 45 67 89",
    "GB29 NWBK 6016 1331 9268 19",
    "DE89 3704 0044 0532 0130 00",
    "ORD-2024-000123",
    "2026-11-25T09:30:00Z",
    "20261125093000",
    "0190d2a4-7c1e-7b3a-9f3e-2c4b5d6e7f80",
    "192.168.100.200",
    "1,234,567.89",
    "4111 1111 1111 1112",
];

#[tokio::test(flavor = "multi_thread")]
async fn phone_numbers_ibans_dates_and_ids_survive_the_card_scan() {
    let env = TestEnv::provu().await;
    for &text in NOT_CARDS {
        let body = env.create(&call_recording("cust-8", text)).await;
        assert_eq!(body["fields"]["notes"]["summary"]["text"], text, "{text}");
    }
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn several_card_numbers_removed_from_one_array_leave_the_rest_in_order() {
    let env = TestEnv::provu().await;
    let mut record = call_recording("cust-7", "x");
    record["fields"]["notes"] = json!({"n": [4111111111111111i64, 7, 5500000000000004i64, 8,
                                             41111111111111111i64, "4111 1111 1111 1111"]});
    let (status, body) = env.post("/v1/records", &record).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(
        body["fields"]["notes"]["n"],
        json!([7, 8, 41111111111111111i64, "[card number removed]"])
    );
    env.stop().await;
}
