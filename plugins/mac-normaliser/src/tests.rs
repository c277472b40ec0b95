//! Native tests of the plugin through its exported interface.

use serde_json::{Value as Json, json};
use sluice_plugin_sdk::redaction::exports::sluice::policy::redact::{Change, Edit, Guest};
use sluice_plugin_sdk::testing::{self, NOW, context, record};
use sluice_plugin_sdk::types::Value;

use crate::Plugin;

fn check(config: Json) -> Result<(), Vec<String>> {
    Plugin::check_config(config.to_string())
}

fn redact(config: Json, fields: Json) -> Vec<Edit> {
    Plugin::redact(
        context(&config, NOW),
        record("device-provisioning", &fields, NOW),
    )
    .unwrap()
}

/// An edit as comparable text: path, change, clause, reason.
fn show(edit: &Edit) -> [String; 4] {
    [
        edit.path.clone(),
        format!("{:?}", edit.change),
        edit.clause.clone(),
        edit.reason.clone(),
    ]
}

fn normalised(path: &str, canonical: &str) -> [String; 4] {
    show(&Edit {
        path: path.into(),
        change: Change::Normalise(Value::Text(canonical.into())),
        clause: "2.2.2".into(),
        reason: "MAC address stored in canonical form".into(),
    })
}

#[test]
fn a_mac_in_another_notation_is_normalised() {
    for mac in [
        "00:15:65:AA:BB:CC",
        "00-15-65-aa-bb-cc",
        "0015.65aa.bbcc",
        "001565AABBCC",
        " 00:15:65:aa:bb:cc ",
    ] {
        let edits = redact(json!({}), json!({ "mac": mac, "vendor": "yealink" }));
        let edits: Vec<_> = edits.iter().map(show).collect();
        assert_eq!(edits, [normalised("/mac", "00:15:65:aa:bb:cc")], "{mac:?}");
    }
}

#[test]
fn a_mac_already_in_canonical_form_is_left_alone() {
    assert!(redact(json!({}), json!({ "mac": "00:15:65:aa:bb:cc" })).is_empty());
}

#[test]
fn text_that_is_not_a_mac_is_left_alone() {
    for text in [
        "",
        "not a mac",
        "00:15-65:aa:bb:cc",
        "00:15:65:aa:bb",
        "0015:65aa:bbcc",
    ] {
        assert!(
            redact(json!({}), json!({ "mac": text })).is_empty(),
            "{text:?}"
        );
    }
}

#[test]
fn absent_and_non_text_fields_are_left_alone() {
    assert!(redact(json!({}), json!({ "vendor": "snom" })).is_empty());
    assert!(redact(json!({}), json!({ "mac": 1565 })).is_empty());
    assert!(redact(json!({}), json!({ "mac": null })).is_empty());
    assert!(redact(json!({}), json!({ "mac": { "value": "0015.65aa.bbcc" } })).is_empty());
}

#[test]
fn only_the_configured_fields_are_normalised() {
    let config = json!({ "fields": ["/device/mac", "/wan_mac"], "clause": "9.9" });
    let edits = redact(
        config,
        json!({
            "mac": "0015.65aa.bbcc",
            "device": { "mac": "AA-BB-CC-DD-EE-FF" },
            "wan_mac": "aabbccddeeff",
        }),
    );
    let paths: Vec<&str> = edits.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["/device/mac", "/wan_mac"]);
    assert!(edits.iter().all(|e| e.clause == "9.9"));
    assert_eq!(show(&edits[0]), {
        let mut e = normalised("/device/mac", "aa:bb:cc:dd:ee:ff");
        e[2] = "9.9".into();
        e
    });
}

#[test]
fn the_default_configuration_is_valid() {
    assert_eq!(check(json!({})), Ok(()));
    assert_eq!(
        check(json!({ "fields": ["/mac", "/a/b"], "clause": "2.2.2" })),
        Ok(())
    );
}

#[test]
fn every_configuration_problem_is_listed() {
    let problems = check(json!({ "clause": " ", "fields": ["mac", "/x", "/x"] })).unwrap_err();
    testing::assert_problems(
        &problems,
        &[
            "`clause`",
            "\"mac\" must be a JSON Pointer",
            "listed more than once",
        ],
    );
    let problems = check(json!({ "fields": [] })).unwrap_err();
    assert_eq!(problems, ["`fields` must name at least one field"]);
}

#[test]
fn unknown_configuration_keys_are_refused() {
    let problems = check(json!({ "field": ["/mac"] })).unwrap_err();
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0].contains("unknown field `field`"),
        "{problems:?}"
    );
}

#[test]
fn a_bad_configuration_at_call_time_is_a_plugin_error() {
    let err = Plugin::redact(
        context(&json!({ "fields": "/mac" }), NOW),
        record("x", &json!({}), NOW),
    );
    assert!(err.unwrap_err().starts_with("invalid configuration"));
}
