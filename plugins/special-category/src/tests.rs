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
    Plugin::admit(context(&config, NOW), record("contact", &fields, NOW))
}

/// The rejection's path and reason.
fn rejected(config: Json, fields: Json) -> (String, String) {
    let r = admit(config, fields).expect_err("rejected");
    assert!(!r.erase);
    (r.path.expect("a path"), r.reason)
}

#[test]
fn a_special_category_field_is_rejected_with_its_path_category_and_clause() {
    let r = admit(json!({}), json!({ "name": "A. Person", "ethnicity": "x" })).unwrap_err();
    assert_eq!(r.clause, "2.4");
    assert_eq!(r.path.as_deref(), Some("/ethnicity"));
    assert_eq!(
        r.reason,
        "special category data (race or ethnicity) is not collected: field `ethnicity`"
    );
    assert!(!r.erase);
}

#[test]
fn every_default_category_is_rejected() {
    let cases = [
        ("ethnic_origin", "race or ethnicity"),
        ("religion", "religious or philosophical beliefs"),
        ("sexLife", "sex life"),
        ("sexualOrientation", "sexual orientation"),
        ("political_party", "political opinions"),
        ("trade_union", "trade union membership"),
        ("health_notes", "health"),
        ("dna_profile", "genetic data"),
        ("fingerprint_hash", "biometric data"),
        ("criminal_record", "criminal convictions and offences"),
    ];
    for (name, category) in cases {
        let (path, reason) = rejected(json!({}), json!({ name: "x" }));
        assert_eq!(path, format!("/{name}"));
        assert!(reason.contains(&format!("({category})")), "{reason}");
    }
}

#[test]
fn the_path_stops_at_the_matching_key_at_any_depth() {
    let (path, reason) = rejected(
        json!({}),
        json!({ "profile": { "medical_history": [ { "text": "x" } ] } }),
    );
    assert_eq!(path, "/profile/medical_history");
    assert!(reason.ends_with("field `medical_history`"));
    let (path, _) = rejected(json!({}), json!({ "notes": [ "a", { "religion": "x" } ] }));
    assert_eq!(path, "/notes/1/religion");
}

#[test]
fn a_key_holding_an_empty_object_or_null_is_still_rejected() {
    assert_eq!(rejected(json!({}), json!({ "health": {} })).0, "/health");
    assert_eq!(rejected(json!({}), json!({ "health": null })).0, "/health");
}

#[test]
fn escaped_keys_are_matched_unescaped_and_reported_escaped() {
    let (path, reason) = rejected(json!({}), json!({ "a/b": { "health/notes": 1 } }));
    assert_eq!(path, "/a~1b/health~1notes");
    assert!(reason.ends_with("field `health/notes`"), "{reason}");
}

#[test]
fn values_are_never_read() {
    let notes = admit(
        json!({}),
        json!({ "notes": "religion, health and ethnicity were discussed", "tags": ["health"] }),
    );
    assert!(notes.unwrap().is_empty());
}

#[test]
fn ordinary_provu_records_are_accepted_without_notes() {
    for fields in [
        json!({ "name": "A", "organisation": "B", "relationship": "customer", "email": "a@b",
                "phone": "1", "job_title": "t", "left_organisation_at": "2026-01-01T00:00:00Z" }),
        json!({ "direction": "inbound", "party_number": "01484 840048", "started_at": "x",
                "recording_ref": "r", "agent": "a", "duration_seconds": 3, "purpose": "p",
                "transcript": "t", "notes": { "summary": { "text": "x" } } }),
        json!({ "name": "A", "company": "C", "address": { "line1": "1", "line2": "2",
                "city": "c", "postcode": "p", "country": "GB" }, "courier": "dpd",
                "order_ref": "o", "shipped_at": "s" }),
        json!({ "mac": "m", "vendor": "snom", "username": "u", "sip_server": "s",
                "display_name": "d", "password": "p", "sip_settings": { "transport": "tls" },
                "provisioned_at": "p", "provisioning_host": "own" }),
        json!({ "basis": "opt-in", "joined_at": "j", "consent_evidence": "e", "enquiry_at": "e",
                "opted_out_at": "o", "tracking": { "opens": 1, "last_opened": "l",
                "unsubscribes": 0 } }),
        json!({ "ip": "192.0.2.1", "requested_at": "r", "path": "/p", "status": 200,
                "user_agent": "u", "form": "f", "fields": {}, "share_with": [],
                "date_of_birth": "2000-01-01", "age": 26 }),
        json!({}),
    ] {
        assert!(
            admit(json!({}), fields.clone()).unwrap().is_empty(),
            "{fields}"
        );
    }
}

#[test]
fn categories_replace_the_default_vocabulary() {
    let config = json!({ "categories": { "hobbies": ["golf", "chess club"] } });
    assert!(
        admit(config.clone(), json!({ "ethnicity": "x" }))
            .unwrap()
            .is_empty()
    );
    let (path, reason) = rejected(config, json!({ "chessClubMember": true }));
    assert_eq!(path, "/chessClubMember");
    assert_eq!(
        reason,
        "special category data (hobbies) is not collected: field `chessClubMember`"
    );
}

#[test]
fn extra_adds_terms_to_the_vocabulary() {
    let config = json!({ "extra": { "health": ["sick note"], "hobbies": ["golf"] } });
    assert!(
        rejected(config.clone(), json!({ "sickNote": "x" }))
            .1
            .contains("(health)")
    );
    assert!(
        rejected(config.clone(), json!({ "golf": "x" }))
            .1
            .contains("(hobbies)")
    );
    assert!(
        rejected(config, json!({ "religion": "x" }))
            .1
            .contains("(religious")
    );
}

#[test]
fn extra_also_extends_a_replacement_vocabulary() {
    let config = json!({ "categories": { "a": ["alpha"] }, "extra": { "b": ["beta"] } });
    assert!(
        rejected(config.clone(), json!({ "beta_x": 1 }))
            .1
            .contains("(b)")
    );
    assert!(admit(config, json!({ "health": 1 })).unwrap().is_empty());
}

#[test]
fn the_clause_is_configurable() {
    let r = admit(json!({ "clause": "2.4.1" }), json!({ "dna": "x" })).unwrap_err();
    assert_eq!(r.clause, "2.4.1");
}

#[test]
fn the_default_configuration_is_valid() {
    assert_eq!(check(json!({})), Ok(()));
    assert_eq!(
        check(json!({ "clause": "2.4", "extra": {}, "categories": { "a": ["b c"] } })),
        Ok(())
    );
}

#[test]
fn every_configuration_problem_is_listed() {
    let problems = check(json!({
        "clause": " ",
        "categories": {},
        "extra": { "": ["x"], "empty": [], "blank": ["ok", "--"] },
    }))
    .unwrap_err();
    testing::assert_problems(
        &problems,
        &[
            "`clause`",
            "`categories` must name at least one category",
            "a category name must not be empty",
            "\"--\" must hold a letter or digit",
            "`extra.empty`: give at least one term",
        ],
    );
}

#[test]
fn unknown_configuration_keys_are_refused() {
    let problems = check(json!({ "category": {} })).unwrap_err();
    assert!(
        problems[0].contains("unknown field `category`"),
        "{problems:?}"
    );
}

#[test]
fn a_bad_configuration_at_call_time_rejects_the_record() {
    let r = admit(json!({ "extra": ["x"] }), json!({ "name": "x" })).unwrap_err();
    assert_eq!(r.clause, "2.4");
    assert!(r.reason.contains("misconfigured"));
    assert!(r.path.is_none());
}

#[test]
fn names_of_conditions_treatments_faiths_identities_and_biometrics_are_rejected() {
    let cases = [
        ("hiv_status", "health"),
        ("cancer", "health"),
        ("diabetes", "health"),
        ("therapy", "health"),
        ("disabled_person", "health"),
        ("maternity", "health"),
        ("saúde", "health"),
        ("hälsa", "health"),
        ("υγεία", "health"),
        ("здоровье", "health"),
        ("Krankengeschichte", "health"),
        ("ΘΡΗΣΚΕΙΑ", "religious or philosophical beliefs"),
        ("fackförening", "trade union membership"),
        ("ADN", "genetic data"),
        ("biométrie", "biometric data"),
        ("casier_judiciaire", "criminal convictions and offences"),
        ("probation", "criminal convictions and offences"),
        ("tribe", "race or ethnicity"),
        ("is_blind", "health"),
        ("muslim", "religious or philosophical beliefs"),
        ("church", "religious or philosophical beliefs"),
        ("transgender", "sexual orientation"),
        ("lgbt", "sexual orientation"),
        ("face_id", "biometric data"),
        ("dbs_check", "criminal convictions and offences"),
        ("Gesundheit", "health"),
        ("santé", "health"),
        ("zdrowie", "health"),
        ("religion", "religious or philosophical beliefs"),
    ];
    for (name, category) in cases {
        let (path, reason) = rejected(json!({}), json!({ "contact": { name: "x" } }));
        assert_eq!(path, format!("/contact/{name}"));
        assert!(
            reason.contains(&format!("({category})")),
            "{name}: {reason}"
        );
    }
}

#[test]
fn disguised_names_are_rejected_and_shown_as_written() {
    let cases = [
        ("r\u{435}ligion", "religious", "r\u{435}ligion"),
        ("ｈｅａｌｔｈ", "health", "ｈｅａｌｔｈ"),
        ("hea\u{ad}lth", "health", "hea\\u{ad}lth"),
        ("he\u{200b}alth", "health", "he\\u{200b}alth"),
        ("rel1gion", "religious", "rel1gion"),
        ("HIVstatus", "health", "HIVstatus"),
        ("hea-lth", "health", "hea-lth"),
        ("h.e.a.l.t.h", "health", "h.e.a.l.t.h"),
        (
            "sexUal_orientation",
            "sexual orientation",
            "sexUal_orientation",
        ),
        ("criMinal_record", "criminal", "criMinal_record"),
        ("xtrade_union", "trade union", "xtrade_union"),
        ("trade_unionx", "trade union", "trade_unionx"),
    ];
    for (name, category, shown) in cases {
        let (path, reason) = rejected(json!({}), json!({ name: 1 }));
        assert_eq!(path, format!("/{name}"));
        assert!(reason.contains(&format!("({category}")), "{reason}");
        assert!(reason.ends_with(&format!("field `{shown}`")), "{reason}");
    }
}

#[test]
fn technical_and_ordinary_names_are_accepted() {
    let fields = json!({
        "health_check_url": "u", "healthcheck": true, "healthz": "ok", "service_health": 1,
        "disk_health": 1, "race_condition": false, "trace_id": "t", "party_number": "p",
        "union_id": 1, "is_disabled": false, "dnd_disabled": true, "std_code": "01484",
        "sip_settings": { "tls_fingerprint": "ab:cd", "transport": "tls" },
        "hospitality": "yes", "gender": "f", "nationality": "GB", "marital_status": "m",
        "voice_id": "Amy", "blind_transfer": true, "diagnostics": {}, "stroke_width": 2,
    });
    assert!(admit(json!({}), fields).unwrap().is_empty());
    // Settings flags, and organisations, products and places.
    let fields = json!({
        "sip_settings": { "lines": [{ "disabled": true, "enabled": false }] },
        "codecs": { "g729": { "disabled": true } },
        "health_score": 3, "healthcare_customer": true, "pharmacy_supplier": "s",
        "clinic_address": "a", "hearing_aid_reseller": true, "biometric_device_sku": "k",
        "fingerprint_reader_model": "m", "church_street": "c", "temple_bar": "t",
        "political_risk": 1, "criminal_law_firm": "f", "conviction_rate": 0.1,
        "aids_and_appliances": "a", "sick_day_policy": "p", "ethnic_food_supplier": "e",
        "blind_copy": "b", "probation_end_date": "2026-01-01", "sim_adn_entries": 3,
    });
    assert!(admit(json!({}), fields).unwrap().is_empty());
}

#[test]
fn configured_terms_are_read_like_field_names() {
    let config = json!({ "extra": { "hobbies": ["golf", "fishing trips"] } });
    for name in [
        "ＧＯＬＦ",
        "golfStatus",
        "FishingTrips",
        "fishingtripsbooked",
    ] {
        assert!(
            rejected(config.clone(), json!({ name: 1 }))
                .1
                .contains("(hobbies)"),
            "{name}"
        );
    }
    assert!(admit(config, json!({ "golfer_id": 1 })).unwrap().is_empty());
}

/// Not a check: prints what matching the keys of a 20-key record costs, with the vocabulary
/// kept by the instance and with the vocabulary built afresh (as for a new instance).
#[test]
fn cost_of_a_twenty_key_record() {
    let fields = json!({
        "name": "A", "organisation": "B", "relationship": "customer", "email": "a@b",
        "phone": "1", "job_title": "t", "left_organisation_at": "x", "telephone_opt_out_at": "x",
        "order_ref": "o", "courier": "dpd", "shipped_at": "s", "ready_to_ship": true,
        "line1": "1", "line2": "2", "city": "c", "postcode": "p", "country": "GB",
        "notes": "n", "health_check_url": "u", "displayName": "d",
    });
    let record = sluice_plugin_sdk::testing::record("contact", &fields, NOW);
    assert_eq!(record.fields.len(), 20);
    let keys: Vec<String> = record
        .fields
        .iter()
        .flat_map(|f| sluice_plugin_sdk::pointer::segments(&f.path).collect::<Vec<_>>())
        .map(|s| s.into_owned())
        .collect();
    let rounds = 2_000;
    let vocabulary = sluice_rules::names::Vocabulary::special_categories();
    let start = std::time::Instant::now();
    for _ in 0..rounds {
        for key in &keys {
            assert!(std::hint::black_box(&vocabulary).find(key).is_none());
        }
    }
    let kept = start.elapsed() / rounds;
    let start = std::time::Instant::now();
    for _ in 0..rounds {
        let vocabulary =
            std::hint::black_box(sluice_rules::names::Vocabulary::special_categories());
        for key in &keys {
            assert!(vocabulary.find(key).is_none());
        }
    }
    let fresh = start.elapsed() / rounds;
    let start = std::time::Instant::now();
    for _ in 0..rounds {
        let notes = Plugin::admit(context(&json!({}), NOW), record.clone());
        assert!(notes.unwrap().is_empty());
    }
    let admitted = start.elapsed() / rounds;
    println!(
        "{} keys: {kept:?} per record with the kept vocabulary, {fresh:?} building it \
         afresh, {admitted:?} per admit call",
        keys.len()
    );
}

#[test]
fn sibling_keys_that_differ_inside_a_character_are_each_read() {
    // `é` and `è` share their first byte: the walk must not cut the path inside it.
    assert!(admit(json!({}), json!({ "caf\u{e9}": 1, "caf\u{e8}": 2 })).is_ok());
    let (path, _) = rejected(
        json!({}),
        json!({ "k\u{e9}": 1, "k\u{e8}": { "health": 1 } }),
    );
    assert_eq!(path, "/k\u{e8}/health");
}
