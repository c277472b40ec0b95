//! Native tests of the plugin through its exported interface.

use serde_json::{Value as Json, json};
use sluice_plugin_sdk::redaction::exports::sluice::policy::redact::{Change, Edit, Guest};
use sluice_plugin_sdk::testing::{context, record};
use sluice_plugin_sdk::types::Value;

use crate::Plugin;

/// 2026-06-14T12:00:00Z.
const NOW: i64 = 1_781_438_400;

const VISA: &str = "4111111111111111";

fn check(config: Json) -> Result<(), Vec<String>> {
    Plugin::check_config(config.to_string())
}

fn redact(config: Json, fields: Json) -> Vec<Edit> {
    Plugin::redact(context(&config, NOW), record("contact", &fields, NOW)).unwrap()
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
    let edits = redact(
        json!({}),
        json!({ "phone": "+44 1484 840048", "order_ref": "ORD-2024-000123", "n": 4111 }),
    );
    assert!(edits.is_empty());
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
    let edits = redact(
        json!({ "remove_fields": ["card_number"] }),
        json!({ "panel": "x", "span": "y", "card_numbers_seen": 2, "list": ["a", "b"] }),
    );
    assert!(edits.is_empty());
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
    let edits = redact(json!({ "remove_fields": [] }), json!({ "cvv": "123" }));
    assert!(edits.is_empty());
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
    assert_eq!(problems.len(), 4, "{problems:?}");
    assert!(problems[0].contains("`clause`"));
    assert!(problems[1].contains("`marker`"));
    assert!(problems[2].contains("\"--\" must hold a letter or digit"));
    assert!(problems[3].contains("\"0\" is a number"));
}

#[test]
fn unknown_configuration_keys_are_refused() {
    let problems = check(json!({ "remove": ["cvv"] })).unwrap_err();
    assert!(
        problems[0].contains("unknown field `remove`"),
        "{problems:?}"
    );
}
