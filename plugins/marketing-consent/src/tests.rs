//! Native tests of the plugin through its exported interface.

use serde_json::{Value as Json, json};
use sluice_plugin_sdk::admission::exports::sluice::policy::admit::{Guest, Rejection};
use sluice_plugin_sdk::testing::{self, NOW, context, record};
use sluice_plugin_sdk::types::Note;

use crate::Plugin;

const KIND: &str = "marketing-subscription";

fn check(config: Json) -> Result<(), Vec<String>> {
    Plugin::check_config(config.to_string())
}

fn admit(config: Json, fields: Json) -> Result<Vec<Note>, Rejection> {
    Plugin::admit(context(&config, NOW), record(KIND, &fields, NOW))
}

/// The basis named by the single note of an accepted record.
fn accepted_basis(config: Json, fields: Json) -> String {
    let notes = admit(config, fields).expect("accepted");
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].clause, "2.1.4");
    assert_eq!(notes[0].path.as_deref(), Some("/basis"));
    notes[0].reason.clone()
}

/// The rejection's path and reason.
fn rejected(config: Json, fields: Json) -> (String, String) {
    let r = admit(config, fields).expect_err("rejected");
    assert_eq!(r.clause, "2.1.4");
    assert!(!r.erase);
    (r.path.expect("a path"), r.reason)
}

/// Asserts that a subscriber of `basis` whose field `field` holds each of `times` is
/// accepted on that basis.
#[track_caller]
fn assert_accepted_at(basis: &str, field: &str, times: &[&str]) {
    for at in times {
        let fields = json!({ "basis": basis, field: at });
        assert_eq!(
            accepted_basis(json!({}), fields),
            format!("subscriber basis: {basis}"),
            "{at}"
        );
    }
}

/// The reasons of the rejections of a subscriber of `basis` whose field `field` holds each of
/// `times` (`None`: who has no such field), each rejection citing that field.
#[track_caller]
fn rejections_at(basis: &str, field: &str, times: &[Option<&str>]) -> Vec<String> {
    let mut reasons = Vec::new();
    for at in times {
        let mut fields = json!({ "basis": basis });
        if let Some(at) = at {
            fields[field] = json!(at);
        }
        let (path, reason) = rejected(json!({}), fields);
        assert_eq!(path, format!("/{field}"), "{at:?}");
        reasons.push(reason);
    }
    reasons
}

#[test]
fn other_kinds_are_accepted_without_notes() {
    let r = Plugin::admit(
        context(&json!({}), NOW),
        record("contact", &json!({ "name": "x" }), NOW),
    );
    assert!(r.unwrap().is_empty());
}

#[test]
fn an_opt_in_with_consent_evidence_is_accepted_with_a_note() {
    let reason = accepted_basis(
        json!({}),
        json!({ "basis": "opt-in", "consent_evidence": "form 12 ticked" }),
    );
    assert_eq!(reason, "subscriber basis: opt-in");
    let structured = json!({
        "basis": "opt-in",
        "consent_evidence": { "form": "newsletter", "at": "2026-01-01T00:00:00Z" },
    });
    assert_eq!(
        accepted_basis(json!({}), structured),
        "subscriber basis: opt-in"
    );
    let listed = json!({ "basis": "opt-in", "consent_evidence": [ { "ip": "192.0.2.1" } ] });
    assert_eq!(
        accepted_basis(json!({}), listed),
        "subscriber basis: opt-in"
    );
}

#[test]
fn an_opt_in_without_consent_evidence_is_rejected() {
    for evidence in [
        None,
        Some(json!("")),
        Some(json!("   ")),
        Some(json!(null)),
        Some(json!({})),
        Some(json!([])),
        Some(json!({ "form": null, "note": "" })),
        Some(json!(true)),
    ] {
        let mut fields = json!({ "basis": "opt-in" });
        if let Some(e) = &evidence {
            fields["consent_evidence"] = e.clone();
        }
        let (path, reason) = rejected(json!({}), fields);
        assert_eq!(path, "/consent_evidence", "{evidence:?}");
        assert_eq!(reason, "an opt-in needs consent evidence");
    }
}

#[test]
fn an_existing_customer_is_accepted() {
    let reason = accepted_basis(json!({}), json!({ "basis": "existing-customer" }));
    assert_eq!(reason, "subscriber basis: existing-customer");
}

#[test]
fn a_recent_enquiry_within_the_window_is_accepted() {
    let times = [
        "2026-06-04T12:00:00Z",
        "2026-06-14T12:00:00Z",
        "2025-12-16T12:00:00Z",
        "2025-12-16T13:00:00+01:00",
    ];
    assert_accepted_at("recent-enquiry", "enquiry_at", &times);
}

#[test]
fn an_enquiry_too_old_in_the_future_or_missing_is_rejected() {
    let times = [
        Some("2025-12-16T11:59:59Z"),
        Some("2020-01-01T00:00:00Z"),
        Some("2026-06-14T12:00:01Z"),
        Some("2026-06-14"),
        Some("soon"),
        None,
    ];
    for reason in rejections_at("recent-enquiry", "enquiry_at", &times) {
        assert!(reason.contains("no more than 180 days ago"), "{reason}");
        assert!(!reason.contains("2025") && !reason.contains("2020"));
    }
}

#[test]
fn the_enquiry_window_is_configurable() {
    let config = json!({ "enquiry_window_days": 7 });
    let fields = json!({ "basis": "recent-enquiry", "enquiry_at": "2026-06-04T12:00:00Z" });
    let (_, reason) = rejected(config.clone(), fields);
    assert!(reason.contains("no more than 7 days ago"), "{reason}");
    let fields = json!({ "basis": "recent-enquiry", "enquiry_at": "2026-06-08T12:00:00Z" });
    accepted_basis(config, fields);
}

#[test]
fn a_pre_gdpr_subscriber_who_joined_before_the_cutoff_is_accepted() {
    let times = [
        "2017-01-01T00:00:00Z",
        "2018-05-24T23:59:59Z",
        "2018-05-25T00:30:00+01:00",
        "2018-05-24",
    ];
    assert_accepted_at("pre-gdpr-list", "joined_at", &times);
}

#[test]
fn a_pre_gdpr_subscriber_who_joined_on_or_after_the_cutoff_is_rejected() {
    let times = [
        Some("2018-05-25T00:00:00Z"),
        Some("2018-05-24T23:30:00-01:00"),
        Some("2018-05-25"),
        Some("2024-01-01T00:00:00Z"),
        Some("long ago"),
        None,
    ];
    for reason in rejections_at("pre-gdpr-list", "joined_at", &times) {
        assert_eq!(
            reason,
            "only subscribers on the list before 25 May 2018 may be kept without fresh consent"
        );
    }
}

#[test]
fn the_cutoff_is_configurable_and_named_in_the_reason() {
    let config = json!({ "gdpr_cutoff": "2018-01-01" });
    let fields = json!({ "basis": "pre-gdpr-list", "joined_at": "2017-12-31T23:59:59Z" });
    accepted_basis(config.clone(), fields);
    let fields = json!({ "basis": "pre-gdpr-list", "joined_at": "2018-01-01T00:00:00Z" });
    let (_, reason) = rejected(config, fields);
    assert!(reason.contains("before 1 January 2018"), "{reason}");
}

#[test]
fn an_unknown_or_missing_basis_is_rejected_without_quoting_it() {
    for basis in [
        Some(json!("legitimate-interest")),
        Some(json!("Opt-In")),
        Some(json!("opt-in ")),
        Some(json!("")),
        Some(json!(1)),
        Some(json!(null)),
        None,
    ] {
        let mut fields = json!({ "consent_evidence": "x" });
        if let Some(b) = &basis {
            fields["basis"] = b.clone();
        }
        let (path, reason) = rejected(json!({}), fields);
        assert_eq!(path, "/basis", "{basis:?}");
        assert!(reason.contains("opt-in, existing-customer, recent-enquiry or pre-gdpr-list"));
        assert!(!reason.contains("legitimate"));
    }
}

#[test]
fn the_kind_and_clause_are_configurable() {
    let config = json!({ "kind": "newsletter", "clause": "2.1.4-b" });
    let r = Plugin::admit(context(&config, NOW), record(KIND, &json!({}), NOW));
    assert!(r.unwrap().is_empty());
    let r = Plugin::admit(
        context(&config, NOW),
        record("newsletter", &json!({ "basis": "x" }), NOW),
    );
    assert_eq!(r.unwrap_err().clause, "2.1.4-b");
}

#[test]
fn the_default_configuration_is_valid() {
    assert_eq!(check(json!({})), Ok(()));
    assert_eq!(
        check(
            json!({ "clause": "2.1.4", "kind": "k", "gdpr_cutoff": "2018-05-25",
                      "enquiry_window_days": 30 })
        ),
        Ok(())
    );
}

#[test]
fn every_configuration_problem_is_listed() {
    let problems = check(json!({
        "clause": "",
        "kind": " ",
        "gdpr_cutoff": "2018-05-25T00:00:00Z",
        "enquiry_window_days": 0,
    }))
    .unwrap_err();
    testing::assert_problems(
        &problems,
        &[
            "`clause`",
            "`kind`",
            "`gdpr_cutoff` must be a date written YYYY-MM-DD",
            "`enquiry_window_days` must be at least 1",
        ],
    );
    assert!(check(json!({ "gdpr_cutoff": "2018-02-30" })).is_err());
}

#[test]
fn unknown_configuration_keys_are_refused() {
    let problems = check(json!({ "cutoff": "2018-05-25" })).unwrap_err();
    assert!(
        problems[0].contains("unknown field `cutoff`"),
        "{problems:?}"
    );
}

#[test]
fn a_bad_configuration_at_call_time_rejects_the_record() {
    let r = admit(
        json!({ "gdpr_cutoff": "May 2018" }),
        json!({ "basis": "pre-gdpr-list" }),
    )
    .unwrap_err();
    assert!(r.reason.contains("misconfigured"));
    assert!(r.path.is_none());
}
