//! Native tests of the plugin through its exported interface.

use serde_json::{Value as Json, json};
use sluice_plugin_sdk::admission::exports::sluice::policy::admit::{Guest, Rejection};
use sluice_plugin_sdk::testing::{self, NOW, context, record};
use sluice_plugin_sdk::types::Note;

use crate::Plugin;

fn check(config: Json) -> Result<(), Vec<String>> {
    Plugin::check_config(config.to_string())
}

fn admit(config: Json, fields: Json) -> Result<Vec<Note>, Rejection> {
    Plugin::admit(context(&config, NOW), record("web-form", &fields, NOW))
}

fn accepted(config: Json, fields: Json) -> bool {
    match admit(config, fields) {
        Ok(notes) => {
            assert!(notes.is_empty());
            true
        }
        Err(_) => false,
    }
}

#[test]
fn a_date_of_birth_under_16_is_rejected_and_erased() {
    // 16 tomorrow.
    let r = admit(
        json!({}),
        json!({ "name": "x", "date_of_birth": "2010-06-15" }),
    )
    .unwrap_err();
    assert_eq!(r.clause, "6");
    assert_eq!(r.path.as_deref(), Some("/date_of_birth"));
    assert_eq!(
        r.reason,
        "the data subject is under 16 (clause 6): ProVu does not collect children's data"
    );
    assert!(r.erase);
    assert!(!r.reason.contains("2010"));
}

#[test]
fn a_date_of_birth_of_16_or_more_is_accepted_without_notes() {
    for dob in ["2010-06-14", "1970-01-01"] {
        assert!(
            accepted(json!({}), json!({ "date_of_birth": dob })),
            "{dob}"
        );
    }
}

#[test]
fn a_date_of_birth_may_be_an_rfc3339_timestamp() {
    for (dob, adult) in [
        ("2012-01-01T00:00:00Z", false),
        ("2000-01-01T00:00:00+01:00", true),
    ] {
        assert_eq!(accepted(json!({}), json!({ "dob": dob })), adult, "{dob}");
    }
}

#[test]
fn date_of_birth_names_match_in_any_style_and_at_any_depth() {
    for name in [
        "date_of_birth",
        "dateOfBirth",
        "DOB",
        "birth-date",
        "Birthdate",
    ] {
        let r = admit(json!({}), json!({ "subject": { name: "2015-03-01" } })).unwrap_err();
        assert_eq!(r.path, Some(format!("/subject/{name}")));
    }
    let r = admit(
        json!({}),
        json!({ "children": [ { "dob": "2015-03-01" } ] }),
    )
    .unwrap_err();
    assert_eq!(r.path.as_deref(), Some("/children/0/dob"));
}

#[test]
fn only_the_last_segment_is_a_field_name() {
    // `/dob/value` is not named like a date of birth.
    assert!(accepted(
        json!({}),
        json!({ "dob": { "value": "2015-03-01" } })
    ));
}

#[test]
fn an_unparseable_date_of_birth_is_not_a_rejection() {
    for dob in ["15/03/2015", "", "yesterday", "2015-02-30"] {
        assert!(
            accepted(json!({}), json!({ "date_of_birth": dob })),
            "{dob:?}"
        );
    }
    assert!(accepted(json!({}), json!({ "date_of_birth": 2015 })));
    assert!(accepted(json!({}), json!({ "date_of_birth": null })));
}

#[test]
fn an_age_under_16_is_rejected_whatever_its_number_type() {
    for age in [
        json!(15),
        json!(0),
        json!(15.9),
        json!("15"),
        json!(" 12.5 "),
    ] {
        let r = admit(json!({}), json!({ "age": age.clone() })).unwrap_err();
        assert_eq!(r.path.as_deref(), Some("/age"), "{age}");
        assert!(r.erase);
    }
}

#[test]
fn an_age_of_16_or_more_or_not_a_number_is_accepted() {
    for age in [
        json!(16),
        json!(16.0),
        json!(40),
        json!("16"),
        json!("sixteen"),
        json!("15 years"),
        json!(null),
        json!(true),
        json!({}),
    ] {
        assert!(accepted(json!({}), json!({ "age": age.clone() })), "{age}");
    }
}

#[test]
fn min_age_and_clause_are_configurable() {
    let config = json!({ "min_age": 18, "clause": "6.1" });
    let r = admit(config.clone(), json!({ "age": 17 })).unwrap_err();
    assert_eq!(r.clause, "6.1");
    assert_eq!(
        r.reason,
        "the data subject is under 18 (clause 6.1): ProVu does not collect children's data"
    );
    assert!(accepted(config, json!({ "age": 18 })));
}

#[test]
fn field_names_are_configurable() {
    let config = json!({ "date_of_birth_fields": ["born"], "age_fields": ["ageYears"] });
    assert!(accepted(
        config.clone(),
        json!({ "date_of_birth": "2015-01-01", "age": 3 })
    ));
    assert!(!accepted(config.clone(), json!({ "born": "2015-01-01" })));
    assert!(!accepted(config, json!({ "age_years": 3 })));
}

#[test]
fn ordinary_records_are_accepted_without_notes() {
    assert!(accepted(
        json!({}),
        json!({ "name": "x", "email": "a@b", "page": 15 })
    ));
    assert!(accepted(json!({}), json!({})));
}

#[test]
fn the_default_configuration_is_valid() {
    assert_eq!(check(json!({})), Ok(()));
    assert_eq!(
        check(json!({ "min_age": 13, "date_of_birth_fields": [], "age_fields": ["age"] })),
        Ok(())
    );
}

#[test]
fn every_configuration_problem_is_listed() {
    let problems = check(json!({
        "clause": "",
        "min_age": 0,
        "date_of_birth_fields": ["dob", "__"],
        "age_fields": ["D-O-B"],
    }))
    .unwrap_err();
    testing::assert_problems(
        &problems,
        &[
            "`clause`",
            "`min_age` must be between 1 and 150",
            "\"__\" must hold a letter or digit",
            "\"D-O-B\" is in both",
        ],
    );
    let problems = check(json!({ "date_of_birth_fields": [], "age_fields": [] })).unwrap_err();
    testing::assert_problems(&problems, &["at least one field name"]);
    assert!(check(json!({ "min_age": -1 })).is_err());
}

#[test]
fn unknown_configuration_keys_are_refused() {
    let problems = check(json!({ "minimum_age": 16 })).unwrap_err();
    assert!(
        problems[0].contains("unknown field `minimum_age`"),
        "{problems:?}"
    );
}

#[test]
fn a_bad_configuration_at_call_time_rejects_without_erasing() {
    let r = admit(json!({ "min_age": "16" }), json!({ "name": "x" })).unwrap_err();
    assert!(r.reason.contains("misconfigured"));
    assert!(!r.erase);
}
