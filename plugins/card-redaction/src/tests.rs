//! Native tests of the plugin through its exported interface.

use serde_json::{Value as Json, json};
use sluice_plugin_sdk::redaction::exports::sluice::policy::redact::{Change, Edit, Guest};
use sluice_plugin_sdk::testing::{self, NOW, context, record};
use sluice_plugin_sdk::types::Value;

use crate::Plugin;

const VISA: &str = "4111111111111111";

fn check(config: Json) -> Result<(), Vec<String>> {
    Plugin::check_config(config.to_string())
}

fn redact(config: Json, fields: Json) -> Vec<Edit> {
    Plugin::redact(context(&config, NOW), record("contact", &fields, NOW)).unwrap()
}

/// Asserts that a record of `fields` gets no edits under `config`.
#[track_caller]
fn assert_left_alone(config: Json, fields: Json) {
    let edits = redact(config, fields);
    assert!(edits.is_empty(), "{edits:?}");
}

fn removed(edits: &[Edit]) -> Vec<&str> {
    edits
        .iter()
        .filter(|e| matches!(e.change, Change::Remove))
        .map(|e| e.path.as_str())
        .collect()
}

fn redacted(edits: &[Edit]) -> Vec<(&str, &str)> {
    edits
        .iter()
        .filter_map(|e| match &e.change {
            Change::Redact(Value::Text(t)) => Some((e.path.as_str(), t.as_str())),
            _ => None,
        })
        .collect()
}

// ---- Card numbers in text (the original behaviour). ----

#[test]
fn card_numbers_in_nested_text_are_redacted_with_the_default_marker() {
    let edits = redact(
        json!({}),
        json!({ "notes": { "summary": { "text": format!("read out {VISA} twice") } } }),
    );
    assert_eq!(
        redacted(&edits),
        [(
            "/notes/summary/text",
            "read out [card number removed] twice"
        )]
    );
    assert_eq!(edits[0].clause, "2.1.2");
    assert_eq!(
        edits[0].reason,
        "card number (Visa) replaced: card data is never stored"
    );
}

#[test]
fn the_clause_and_marker_are_configurable() {
    let edits = redact(
        json!({ "clause": "2.1.3", "marker": "****" }),
        json!({ "transcript": format!("card {VISA}") }),
    );
    assert_eq!(redacted(&edits), [("/transcript", "card ****")]);
    assert_eq!(edits[0].clause, "2.1.3");
}

#[test]
fn text_without_card_numbers_is_left_alone() {
    assert_left_alone(
        json!({}),
        json!({ "phone": "+44 1484 840048", "order_ref": "ORD-2024-000123", "n": 4111 }),
    );
}

// ---- Fields named for card data. ----

#[test]
fn fields_named_for_card_data_are_removed_in_any_naming_style() {
    let edits = redact(
        json!({}),
        json!({
            "name": "A. Person",
            "card_number": VISA,
            "payment": {
                "cardNumber": "4111 1111 1111 1111",
                "CVV": "123",
                "Card-Expiry": "12/27",
                "method": "card",
            },
            "PAN": "5555555555554444",
            "cvc": 123,
            "cvv2": null,
            "card security code": "999",
        }),
    );
    // Test records list keys in sorted order (serde_json's map), and so do the edits.
    assert_eq!(
        removed(&edits),
        [
            "/PAN",
            "/card security code",
            "/card_number",
            "/cvc",
            "/cvv2",
            "/payment/CVV",
            "/payment/Card-Expiry",
            "/payment/cardNumber",
        ]
    );
    assert!(
        redacted(&edits).is_empty(),
        "removed text is not also redacted"
    );
    for edit in &edits {
        assert_eq!(edit.clause, "2.1.2");
    }
}

#[test]
fn the_reason_names_the_field_but_never_its_value() {
    let edits = redact(json!({}), json!({ "payment": { "cardNumber": VISA } }));
    assert_eq!(edits.len(), 1);
    assert_eq!(
        edits[0].reason,
        "field named for card data (cardNumber) removed: card data is never stored"
    );
    assert!(!edits[0].reason.contains("4111"));
}

#[test]
fn a_removed_object_gives_one_edit_however_many_leaves_it_holds() {
    let edits = redact(
        json!({}),
        json!({
            "card_number": { "digits": VISA, "spaced": "4111 1111 1111 1111", "list": [1, 2] },
            "note": "fine",
        }),
    );
    assert_eq!(removed(&edits), ["/card_number"]);
    assert_eq!(edits.len(), 1);
}

#[test]
fn the_first_matching_segment_is_removed_with_everything_below_it() {
    let edits = redact(
        json!({}),
        json!({ "pan": { "cvv": "123", "card_number": VISA } }),
    );
    assert_eq!(removed(&edits), ["/pan"]);
}

#[test]
fn card_fields_inside_arrays_are_removed_element_by_element() {
    let edits = redact(
        json!({}),
        json!({ "cards": [ { "pan": VISA, "label": "a" }, { "pan": "5555555555554444" } ] }),
    );
    assert_eq!(removed(&edits), ["/cards/0/pan", "/cards/1/pan"]);
}

#[test]
fn removals_come_before_redactions() {
    let edits = redact(
        json!({}),
        json!({ "a_note": format!("card {VISA}"), "z": { "cvv": "123" } }),
    );
    let order: Vec<&str> = edits
        .iter()
        .map(|e| match e.change {
            Change::Remove => "remove",
            Change::Redact(_) => "redact",
            Change::Normalise(_) => "normalise",
        })
        .collect();
    assert_eq!(order, ["remove", "redact"]);
    assert_eq!(edits[0].path, "/z/cvv");
    assert_eq!(edits[1].path, "/a_note");
}

#[test]
fn escaped_keys_keep_their_escaping_in_the_removed_path() {
    let edits = redact(json!({}), json!({ "a/b": { "c~d": { "cvv": "1" } } }));
    assert_eq!(removed(&edits), ["/a~1b/c~0d/cvv"]);
}

#[test]
fn array_indices_and_unrelated_names_are_not_removed() {
    assert_left_alone(
        json!({ "remove_fields": ["card_number"] }),
        json!({ "panel": "x", "span": "y", "card_numbers_seen": 2, "list": ["a", "b"] }),
    );
}

#[test]
fn remove_fields_replaces_the_default_list() {
    let edits = redact(
        json!({ "remove_fields": ["iban", "Sort Code"] }),
        json!({ "card_number": VISA, "IBAN": "GB82", "sort_code": "12-34-56" }),
    );
    assert_eq!(removed(&edits), ["/IBAN", "/sort_code"]);
    assert_eq!(
        redacted(&edits),
        [("/card_number", "[card number removed]")]
    );
}

#[test]
fn an_empty_remove_list_only_redacts() {
    assert_left_alone(json!({ "remove_fields": [] }), json!({ "cvv": "123" }));
}

// ---- Configuration. ----

#[test]
fn the_default_configuration_is_valid() {
    assert_eq!(check(json!({})), Ok(()));
    assert_eq!(
        check(json!({ "clause": "2.1.3", "marker": "[x]", "remove_fields": ["cvv"] })),
        Ok(())
    );
}

#[test]
fn every_configuration_problem_is_listed() {
    let problems = check(json!({
        "clause": "",
        "marker": VISA,
        "remove_fields": ["cvv", "--", "0"],
    }))
    .unwrap_err();
    testing::assert_problems(
        &problems,
        &[
            "`clause`",
            "`marker`",
            "\"--\" must hold a letter or digit",
            "\"0\" is a number",
        ],
    );
}

#[test]
fn unknown_configuration_keys_are_refused() {
    let problems = check(json!({ "remove": ["cvv"] })).unwrap_err();
    assert!(
        problems[0].contains("unknown field `remove`"),
        "{problems:?}"
    );
}

// ---- Card numbers in numbers. ----

/// The removals, with their reasons.
fn removals(edits: &[Edit]) -> Vec<(&str, &str)> {
    edits
        .iter()
        .filter(|e| matches!(e.change, Change::Remove))
        .map(|e| (e.path.as_str(), e.reason.as_str()))
        .collect()
}

#[test]
fn a_card_number_held_in_a_json_integer_is_removed() {
    let edits = redact(
        json!({}),
        json!({
            "paid_with": 4_111_111_111_111_111_i64,
            "order": { "amex": 378_282_246_310_005_i64, "maestro": [501_800_000_009_i64] },
            "negative": -5_555_555_555_554_444_i64,
        }),
    );
    let reason = |n: &str| {
        format!("number field holding a card number ({n}) removed: card data is never stored")
    };
    let (visa, amex, maestro, mc) = (
        reason("Visa"),
        reason("American Express"),
        reason("Maestro"),
        reason("Mastercard"),
    );
    assert_eq!(
        removals(&edits),
        [
            ("/negative", mc.as_str()),
            ("/order/amex", amex.as_str()),
            ("/order/maestro/0", maestro.as_str()),
            ("/paid_with", visa.as_str()),
        ]
    );
    // Never replaced by the marker, a text that would break the field's type.
    assert!(
        edits.iter().all(|e| !matches!(e.change, Change::Redact(_))),
        "{edits:?}"
    );
    for e in &edits {
        assert!(!e.reason.contains("4111") && !e.reason.contains("3782"));
        assert_eq!(e.clause, "2.1.2");
    }
}

#[test]
fn a_float_holding_a_card_number_exactly_is_removed() {
    let edits = redact(
        json!({ "marker": "[x]" }),
        json!({ "as_float": 4_111_111_111_111_111.0_f64, "price": 12.5, "big": 4.111_111_111_111_111e18 }),
    );
    assert_eq!(removed(&edits), ["/as_float"]);
    assert_eq!(edits.len(), 1);
}

#[test]
fn number_removals_come_after_named_removals_and_before_redactions() {
    let edits = redact(
        json!({}),
        json!({ "a_note": format!("card {VISA}"), "b_num": 4_111_111_111_111_111_i64, "z": { "cvv": "123" } }),
    );
    let order: Vec<(&str, bool)> = edits
        .iter()
        .map(|e| (e.path.as_str(), matches!(e.change, Change::Remove)))
        .collect();
    assert_eq!(
        order,
        [("/z/cvv", true), ("/b_num", true), ("/a_note", false)]
    );
}

#[test]
fn integers_that_are_not_card_numbers_are_left_alone() {
    assert_left_alone(
        json!({}),
        json!({
            "luhn_fails": 4_111_111_111_111_112_i64,
            "phone": 441_484_840_048_i64,
            "timestamp_ms": 1_781_438_400_000_i64,
            "timestamp_us": 1_781_438_400_000_000_i64,
            "count": 4111,
            "max": i64::MAX,
            "min": i64::MIN,
        }),
    );
}

// ---- Card numbers in keys. ----

#[test]
fn a_card_number_in_a_key_removes_the_field_at_that_key() {
    let edits = redact(
        json!({}),
        json!({
            "notes": {
                "4111 1111 1111 1111": { "amount": 12, "ok": true },
                "+44 1484 840048": "call back",
                "other": "fine",
            },
        }),
    );
    assert_eq!(removed(&edits), ["/notes/4111 1111 1111 1111"]);
    assert_eq!(edits.len(), 1, "one removal however many leaves: {edits:?}");
    assert_eq!(edits[0].clause, "2.1.2");
    assert_eq!(
        edits[0].reason,
        "field whose name holds a card number removed: card data is never stored"
    );
    assert!(!edits[0].reason.contains("4111"));
}

#[test]
fn a_card_number_in_a_key_is_found_in_any_notation_and_after_unescaping() {
    let edits = redact(
        json!({ "clause": "2.1.3" }),
        json!({
            "cards": [ { "5555555555554444": 1 } ],
            "4111/1111/1111/1111": "slashes",
            "x~４１１１ １１１１ １１１１ １１１１": "tilde and full-width digits",
            "ids": { "378282246310005": [] },
        }),
    );
    assert_eq!(
        removed(&edits),
        [
            "/4111~11111~11111~11111",
            "/cards/0/5555555555554444",
            "/ids/378282246310005",
            "/x~0４１１１ １１１１ １１１１ １１１１",
        ]
    );
    for edit in &edits {
        assert_eq!(edit.clause, "2.1.3");
        assert!(!edit.reason.contains("4111") && !edit.reason.contains("5555"));
    }
}

#[test]
fn the_first_matching_segment_wins_between_names_and_card_numbers() {
    let edits = redact(
        json!({}),
        json!({ "pan": { "4111111111111111": 1 }, "4111111111111111": { "cvv": "1" } }),
    );
    assert_eq!(removed(&edits), ["/4111111111111111", "/pan"]);
    assert_eq!(
        edits[1].reason,
        "field named for card data (pan) removed: card data is never stored"
    );
}

#[test]
fn keys_with_other_numbers_are_kept() {
    assert_left_alone(
        json!({}),
        json!({
            "2026-11-25T09:30:00Z": "a",
            "+44 (0)1484 840048": "b",
            "ORD-2024-000123": "c",
            "GB29 NWBK 6016 1331 9268 19": "d",
            "0190e7a8-0000-7000-8000-000000000001": "e",
            "4111111111111112": "f",
        }),
    );
}

// ---- Card numbers in Unicode notations, in nested text. ----

#[test]
fn cards_in_unicode_notations_inside_nested_text_are_redacted_in_place() {
    let edits = redact(
        json!({}),
        json!({
            "ticket": {
                "messages": [
                    { "body": "Grüße — meine Karte: 4111\u{a0}1111\u{a0}1111\u{a0}1111, danke 🙂" },
                    { "body": "card 5555\u{200b}5555\u{200b}5555\u{200b}4444 (zero-width)" },
                    { "body": "カード番号は４１１１－１１１１－１１１１－１１１１です。" },
                    { "body": "read out: 3 7 8 2 8 2 2 4 6 3 1 0 0 0 5 — thanks" },
                    { "body": "call +44 (0)1484 840048 or (555) 123-4567, IBAN GB29 NWBK 6016 1331 9268 19" },
                ],
            },
        }),
    );
    assert_eq!(
        redacted(&edits),
        [
            (
                "/ticket/messages/0/body",
                "Grüße — meine Karte: [card number removed], danke 🙂"
            ),
            (
                "/ticket/messages/1/body",
                "card [card number removed] (zero-width)"
            ),
            (
                "/ticket/messages/2/body",
                "カード番号は[card number removed]です。"
            ),
            (
                "/ticket/messages/3/body",
                "read out: [card number removed] — thanks"
            ),
        ]
    );
    let networks: Vec<&str> = edits.iter().map(|e| e.reason.as_str()).collect();
    assert_eq!(
        networks,
        [
            "card number (Visa) replaced: card data is never stored",
            "card number (Mastercard) replaced: card data is never stored",
            "card number (Visa) replaced: card data is never stored",
            "card number (American Express) replaced: card data is never stored",
        ]
    );
}

#[test]
fn the_text_around_a_card_is_kept_byte_for_byte() {
    let before = "«Zahlung» 🙂\u{200b} per ";
    let after = " — 日本語\tend\u{a0}";
    let edits = redact(
        json!({}),
        json!({ "note": format!("{before}(4111) 1111 1111 1111{after}") }),
    );
    assert_eq!(
        redacted(&edits),
        [(
            "/note",
            format!("{before}[card number removed]{after}").as_str()
        )]
    );
}
