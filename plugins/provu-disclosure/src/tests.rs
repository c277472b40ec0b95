//! Native tests of the disclosure rules.

use serde_json::{Value, json};
use sluice_plugin_sdk::testing::{self, leaves};

use crate::config::Config;
use crate::rules::{Audience, Decision, Record, disclose};

/// The register and purposes the host injects, plus `extra` keys of the plugin's own.
fn config(extra: Value) -> Config {
    let cfg = json!({
        "register": {
            "dpd": { "name": "DPD", "category": "courier", "outside_eea": false, "safeguards": false,
                     "endpoints": { "courier": "https://dpd.example/api" } },
            "apc": { "name": "APC", "category": "courier", "outside_eea": false, "safeguards": false },
            "fedex": { "name": "FedEx", "category": "courier", "outside_eea": true, "safeguards": false },
            "yealink": { "name": "Yealink", "category": "manufacturer", "outside_eea": true, "safeguards": true },
            "snom": { "name": "Snom", "category": "manufacturer", "outside_eea": false, "safeguards": false },
            "creditsafe": { "name": "CreditSafe", "category": "other", "outside_eea": false, "safeguards": false },
            "vtech": { "name": "VTech", "category": "manufacturer" },
        },
        "purposes": [
            "delivery", "fulfilment", "redirection", "provisioning", "credit-check", "support",
            "email-marketing", "telephone-marketing", "direct-marketing", "newsletter", "quote",
        ],
    });
    testing::parsed(cfg, extra)
}

fn decide(kind: &str, fields: Value, audience: &str, purpose: &str) -> Decision {
    decide_with(&config(json!({})), kind, fields, audience, purpose)
}

fn decide_with(cfg: &Config, kind: &str, fields: Value, audience: &str, purpose: &str) -> Decision {
    let leaves = leaves(&fields);
    let record = Record {
        kind,
        fields: &leaves,
    };
    disclose(
        cfg,
        &record,
        Audience {
            name: audience,
            purpose,
        },
    )
}

/// The paths and clause of a permit; panics on a refusal.
fn permitted(decision: Decision) -> (Vec<&'static str>, &'static str) {
    let p = decision.expect("permitted");
    (p.paths.to_vec(), p.clause)
}

/// The clause and path of a refusal; panics on a permit.
fn refused(decision: Decision) -> (&'static str, Option<&'static str>) {
    let r = decision.expect_err("refused");
    (r.clause, r.path)
}

fn delivery(courier: &str) -> Value {
    json!({
        "name": "Ada Lovelace", "company": "Analytical Ltd",
        "address": { "line1": "1 Engine St", "city": "London", "postcode": "N1 1AA", "country": "GB" },
        "courier": courier, "order_ref": "SO-1001", "phone": "+44 20 7946 0000",
        "email": "ada@example.com", "shipped_at": "2025-01-02T10:00:00Z",
    })
}

fn device(vendor: &str, host: &str) -> Value {
    json!({
        "mac": "00:15:65:aa:bb:cc", "vendor": vendor, "username": "1001", "sip_server": "sip.example",
        "display_name": "Reception", "password": "s3cret!", "sip_settings": { "transport": "tls" },
        "provisioned_at": "2025-01-02T10:00:00Z", "provisioning_host": host,
    })
}

fn web_form(purpose: &str, share_with: Value) -> Value {
    json!({
        "form": "contact-us", "purpose": purpose,
        "fields": { "name": "Ada", "email": "ada@example.com" }, "share_with": share_with,
    })
}

const COURIER_PATHS: &[&str] = &["/name", "/company", "/address", "/phone", "/email"];

// Purposes (clause 3).

#[test]
fn refuses_a_purpose_the_bundle_does_not_declare() {
    let d = decide("contact", json!({}), "internal", "profiling");
    let r = d.expect_err("refused");
    assert_eq!(r.clause, "3");
    assert!(r.reason.contains("`profiling`"), "{}", r.reason);
}

#[test]
fn refuses_every_purpose_when_the_bundle_declares_none() {
    let cfg: Config = serde_json::from_value(json!({})).unwrap();
    assert_eq!(
        refused(decide_with(
            &cfg,
            "contact",
            json!({}),
            "internal",
            "support"
        ))
        .0,
        "3"
    );
}

#[test]
fn lets_an_internal_read_give_no_purpose() {
    assert_eq!(
        permitted(decide("contact", json!({}), "internal", "")),
        (vec![""], "2.1.1")
    );
}

#[test]
fn refuses_a_subprocessor_read_that_gives_no_purpose() {
    assert_eq!(
        refused(decide("delivery", delivery("dpd"), "subprocessor:dpd", "")).0,
        "3"
    );
}

#[test]
fn checks_the_purpose_before_the_audience() {
    assert_eq!(
        refused(decide("contact", json!({}), "public", "profiling")).0,
        "3"
    );
}

// Internal reads.

#[test]
fn gives_the_calling_service_the_whole_record_under_the_kinds_clause() {
    for (kind, clause) in [
        ("contact", "2.1.1"),
        ("call-recording", "2.1.3"),
        ("marketing-subscription", "2.1.4"),
        ("delivery", "2.2.1"),
        ("device-provisioning", "2.2.2"),
        ("provisioning-request", "2.2.2"),
        ("invoice", "2"),
    ] {
        assert_eq!(
            permitted(decide(kind, json!({}), "internal", "support")),
            (vec![""], clause),
            "{kind}"
        );
        assert_eq!(
            permitted(decide(kind, json!({}), "internal", "")),
            (vec![""], clause),
            "{kind}"
        );
    }
}

#[test]
fn uses_web_form_data_for_the_purpose_the_form_states() {
    let d = decide(
        "web-form",
        web_form("quote", json!([])),
        "internal",
        "quote",
    );
    assert_eq!(permitted(d), (vec![""], "2.3.1"));
}

#[test]
fn refuses_web_form_data_for_any_other_purpose() {
    let r = decide(
        "web-form",
        web_form("quote", json!([])),
        "internal",
        "support",
    )
    .expect_err("refused");
    assert_eq!((r.clause, r.path), ("2.3.1", Some("/purpose")));
    assert!(r.reason.contains("(quote)"), "{}", r.reason);
}

#[test]
fn refuses_web_form_data_without_a_purpose_even_internally() {
    let d = decide("web-form", web_form("quote", json!([])), "internal", "");
    assert_eq!(refused(d), ("2.3.1", Some("/purpose")));
}

#[test]
fn refuses_web_form_data_when_the_form_states_no_purpose() {
    let d = decide("web-form", json!({ "form": "contact-us" }), "internal", "");
    assert_eq!(refused(d).0, "2.3.1");
}

#[test]
fn sends_email_marketing_to_subscribers_who_have_not_opted_out() {
    let sub = json!({ "email": "ada@example.com", "basis": "consent", "opted_out_at": null });
    for purpose in ["email-marketing", "direct-marketing"] {
        let d = decide("marketing-subscription", sub.clone(), "internal", purpose);
        assert_eq!(permitted(d), (vec![""], "2.1.4"), "{purpose}");
    }
}

#[test]
fn refuses_email_marketing_to_subscribers_who_opted_out() {
    let sub = json!({ "email": "ada@example.com", "opted_out_at": "2025-02-01T00:00:00Z" });
    for purpose in ["email-marketing", "direct-marketing"] {
        let d = decide("marketing-subscription", sub.clone(), "internal", purpose);
        assert_eq!(refused(d), ("2.1.4", Some("/opted_out_at")), "{purpose}");
    }
}

#[test]
fn refuses_email_marketing_to_anyone_but_subscribers() {
    for purpose in ["email-marketing", "direct-marketing"] {
        for kind in ["contact", "delivery", "call-recording"] {
            let r = decide(kind, json!({}), "internal", purpose).expect_err("refused");
            assert_eq!(r.clause, "2.1.4");
            assert!(r.reason.contains(kind), "{}", r.reason);
        }
    }
}

#[test]
fn calls_contacts_for_telephone_marketing_on_legitimate_interest() {
    let contact = json!({ "name": "Ada", "phone": "+44 20 7946 0000" });
    let d = decide("contact", contact, "internal", "telephone-marketing");
    assert_eq!(permitted(d), (vec![""], "2.1.5"));
}

#[test]
fn refuses_telephone_marketing_to_contacts_who_opted_out() {
    let contact = json!({ "name": "Ada", "telephone_opt_out_at": "2025-02-01T00:00:00Z" });
    let d = decide("contact", contact, "internal", "telephone-marketing");
    assert_eq!(refused(d), ("2.1.5", Some("/telephone_opt_out_at")));
}

#[test]
fn calls_subscribers_for_telephone_marketing_unless_they_opted_out() {
    let d = decide(
        "marketing-subscription",
        json!({}),
        "internal",
        "telephone-marketing",
    );
    assert_eq!(permitted(d), (vec![""], "2.1.4"));
    let opted_out = json!({ "opted_out_at": "2025-02-01T00:00:00Z" });
    let d = decide(
        "marketing-subscription",
        opted_out,
        "internal",
        "telephone-marketing",
    );
    assert_eq!(refused(d), ("2.1.4", Some("/opted_out_at")));
}

#[test]
fn refuses_telephone_marketing_to_other_kinds() {
    let d = decide(
        "delivery",
        delivery("dpd"),
        "internal",
        "telephone-marketing",
    );
    assert_eq!(refused(d), ("2.1.5", None));
}

// Subprocessors: the register, marketing and the EEA.

#[test]
fn refuses_a_subprocessor_not_in_the_register() {
    let r =
        decide("delivery", delivery("ups"), "subprocessor:ups", "delivery").expect_err("refused");
    assert_eq!(r.clause, "3.2");
    assert_eq!(r.reason, "`ups` is not a subprocessor of the register");
}

#[test]
fn refuses_an_audience_of_any_other_form() {
    for audience in ["dpd", "vendor:dpd", "Internal", ""] {
        let d = decide("delivery", delivery("dpd"), audience, "delivery");
        assert_eq!(refused(d).0, "3.2", "{audience}");
    }
}

#[test]
fn never_shares_with_a_subprocessor_for_direct_marketing() {
    for purpose in ["email-marketing", "telephone-marketing", "direct-marketing"] {
        let d = decide("contact", json!({}), "subprocessor:creditsafe", purpose);
        assert_eq!(refused(d).0, "3", "{purpose}");
    }
}

#[test]
fn takes_the_marketing_purposes_from_the_configuration() {
    let cfg = config(json!({ "marketing_purposes": ["newsletter"] }));
    let share = web_form("newsletter", json!(["creditsafe"]));
    let d = decide_with(
        &cfg,
        "web-form",
        share,
        "subprocessor:creditsafe",
        "newsletter",
    );
    assert_eq!(refused(d).0, "3");
}

#[test]
fn refuses_a_transfer_outside_the_eea_without_safeguards() {
    let d = decide(
        "delivery",
        delivery("fedex"),
        "subprocessor:fedex",
        "delivery",
    );
    assert_eq!(refused(d).0, "3.1");
}

#[test]
fn allows_a_transfer_outside_the_eea_with_safeguards() {
    let d = decide(
        "device-provisioning",
        device("yealink", "own"),
        "subprocessor:yealink",
        "redirection",
    );
    assert_eq!(permitted(d), (vec!["/mac"], "2.2.2"));
}

#[test]
fn treats_a_register_entry_that_does_not_say_where_it_is_as_outside_the_eea() {
    let d = decide(
        "device-provisioning",
        device("vtech", "own"),
        "subprocessor:vtech",
        "redirection",
    );
    assert_eq!(refused(d).0, "3.1");
}

// Couriers (clause 2.2.1).

#[test]
fn gives_a_courier_the_delivery_details_of_its_own_deliveries() {
    for purpose in ["delivery", "fulfilment"] {
        let d = decide("delivery", delivery("dpd"), "subprocessor:dpd", purpose);
        assert_eq!(permitted(d), (COURIER_PATHS.to_vec(), "2.2.1"), "{purpose}");
    }
}

#[test]
fn refuses_a_courier_another_couriers_delivery() {
    let r =
        decide("delivery", delivery("apc"), "subprocessor:dpd", "delivery").expect_err("refused");
    assert_eq!((r.clause, r.path), ("2.2.1", Some("/courier")));
    assert_eq!(r.reason, "this delivery is for another courier");
}

#[test]
fn refuses_a_courier_a_delivery_for_another_purpose() {
    let d = decide("delivery", delivery("dpd"), "subprocessor:dpd", "support");
    assert_eq!(refused(d).0, "2.2.1");
}

#[test]
fn refuses_a_courier_anything_but_deliveries() {
    let d = decide(
        "contact",
        json!({ "name": "Ada" }),
        "subprocessor:dpd",
        "delivery",
    );
    assert_eq!(refused(d).0, "2.2.1");
}

// Manufacturers (clause 2.2.2).

#[test]
fn gives_a_manufacturer_only_the_mac_address_for_redirection() {
    for host in ["own", "vendor"] {
        let d = decide(
            "device-provisioning",
            device("snom", host),
            "subprocessor:snom",
            "redirection",
        );
        assert_eq!(permitted(d), (vec!["/mac"], "2.2.2"), "{host}");
    }
}

#[test]
fn gives_sip_details_to_a_manufacturer_that_provisions_the_device_itself() {
    let d = decide(
        "device-provisioning",
        device("snom", "vendor"),
        "subprocessor:snom",
        "provisioning",
    );
    assert_eq!(
        permitted(d),
        (
            vec![
                "/mac",
                "/username",
                "/password",
                "/display_name",
                "/sip_server",
                "/sip_settings"
            ],
            "2.2.2"
        )
    );
}

#[test]
fn keeps_sip_credentials_on_provus_server_when_it_provisions_the_device() {
    let r = decide(
        "device-provisioning",
        device("snom", "own"),
        "subprocessor:snom",
        "provisioning",
    )
    .expect_err("refused");
    assert_eq!((r.clause, r.path), ("2.2.2", Some("/provisioning_host")));
    assert_eq!(
        r.reason,
        "provisioning happens on ProVu's own server: SIP credentials stay there"
    );
}

#[test]
fn keeps_sip_credentials_when_the_record_does_not_say_who_provisions() {
    let mut fields = device("snom", "vendor");
    fields.as_object_mut().unwrap().remove("provisioning_host");
    let d = decide(
        "device-provisioning",
        fields,
        "subprocessor:snom",
        "provisioning",
    );
    assert_eq!(refused(d).0, "2.2.2");
}

#[test]
fn refuses_a_manufacturer_its_own_devices_for_other_purposes() {
    let d = decide(
        "device-provisioning",
        device("snom", "vendor"),
        "subprocessor:snom",
        "support",
    );
    assert_eq!(refused(d).0, "2.2.2");
}

#[test]
fn refuses_a_manufacturer_another_vendors_device() {
    let d = decide(
        "device-provisioning",
        device("yealink", "vendor"),
        "subprocessor:snom",
        "redirection",
    );
    assert_eq!(refused(d), ("2.2.2", Some("/vendor")));
}

#[test]
fn refuses_a_manufacturer_anything_but_devices() {
    let d = decide(
        "delivery",
        delivery("snom"),
        "subprocessor:snom",
        "delivery",
    );
    assert_eq!(refused(d).0, "3");
}

// Web forms (clause 2.3.1).

#[test]
fn shares_web_form_data_with_a_party_the_form_names_for_its_purpose() {
    for id in ["creditsafe", "dpd", "snom"] {
        let form = web_form("quote", json!(["apc", id]));
        let d = decide("web-form", form, &format!("subprocessor:{id}"), "quote");
        assert_eq!(
            permitted(d),
            (vec!["/form", "/purpose", "/fields"], "2.3.1"),
            "{id}"
        );
    }
}

#[test]
fn refuses_web_form_data_to_a_party_the_form_does_not_name() {
    let form = web_form("quote", json!(["apc"]));
    let d = decide("web-form", form, "subprocessor:creditsafe", "quote");
    assert_eq!(refused(d), ("2.3.1", Some("/share_with")));
    let d = decide(
        "web-form",
        json!({ "purpose": "quote" }),
        "subprocessor:creditsafe",
        "quote",
    );
    assert_eq!(refused(d).0, "2.3.1");
}

#[test]
fn refuses_web_form_data_to_a_named_party_for_another_purpose() {
    let form = web_form("quote", json!(["creditsafe"]));
    let d = decide("web-form", form, "subprocessor:creditsafe", "support");
    assert_eq!(refused(d).0, "2.3.1");
}

// Other subprocessors (clause 3.2).

#[test]
fn gives_a_credit_agency_a_contacts_name_and_organisation_for_a_credit_check() {
    let contact =
        json!({ "name": "Ada", "organisation": "Analytical Ltd", "email": "ada@example.com" });
    let d = decide(
        "contact",
        contact,
        "subprocessor:creditsafe",
        "credit-check",
    );
    assert_eq!(permitted(d), (vec!["/name", "/organisation"], "3.2"));
}

#[test]
fn refuses_other_subprocessors_anything_but_a_credit_check_on_a_contact() {
    let d = decide("contact", json!({}), "subprocessor:creditsafe", "support");
    assert_eq!(refused(d).0, "3");
    let d = decide(
        "delivery",
        delivery("dpd"),
        "subprocessor:creditsafe",
        "credit-check",
    );
    assert_eq!(refused(d).0, "3");
}

#[test]
fn refuses_a_credit_check_by_anyone_but_the_other_subprocessors() {
    let d = decide("contact", json!({}), "subprocessor:dpd", "credit-check");
    assert_eq!(refused(d).0, "2.2.1");
    let d = decide("contact", json!({}), "subprocessor:snom", "credit-check");
    assert_eq!(refused(d).0, "3");
}

// Reasons and configuration.

#[test]
fn never_quotes_personal_data_in_a_reason() {
    let records = [
        ("delivery", delivery("dpd")),
        ("delivery", delivery("apc")),
        ("device-provisioning", device("snom", "own")),
        ("device-provisioning", device("snom", "vendor")),
        (
            "contact",
            json!({ "name": "Ada Lovelace", "organisation": "Analytical Ltd" }),
        ),
        (
            "marketing-subscription",
            json!({ "email": "ada@example.com", "opted_out_at": "2025-02-01T00:00:00Z" }),
        ),
    ];
    let secrets = [
        "Ada",
        "Analytical",
        "Engine",
        "ada@example.com",
        "7946",
        "00:15:65",
        "s3cret",
        "1001",
        "Reception",
        "2025",
    ];
    let audiences = [
        "internal",
        "subprocessor:dpd",
        "subprocessor:snom",
        "subprocessor:creditsafe",
        "subprocessor:ups",
    ];
    let purposes = [
        "",
        "delivery",
        "provisioning",
        "redirection",
        "credit-check",
        "email-marketing",
        "telephone-marketing",
        "support",
    ];
    for (kind, fields) in &records {
        for audience in audiences {
            for purpose in purposes {
                let reason = match decide(kind, fields.clone(), audience, purpose) {
                    Ok(p) => p.reason,
                    Err(r) => r.reason,
                };
                for secret in secrets {
                    assert!(
                        !reason.contains(secret),
                        "{kind} {audience} {purpose}: {reason}"
                    );
                }
            }
        }
    }
}

#[test]
fn accepts_a_configuration_with_only_the_injected_keys() {
    let cfg: Config = serde_json::from_value(json!({
        "register": { "dpd": { "name": "DPD", "category": "courier", "outside_eea": false, "safeguards": false } },
        "purposes": ["delivery"],
    }))
    .unwrap();
    assert_eq!(cfg.problems(), Vec::<String>::new());
    assert_eq!(
        cfg.marketing_purposes,
        ["email-marketing", "telephone-marketing", "direct-marketing"]
    );
}

#[test]
fn rejects_unknown_configuration_keys() {
    let err = serde_json::from_value::<Config>(json!({ "marketing_purpose": [] })).unwrap_err();
    assert!(err.to_string().contains("marketing_purpose"), "{err}");
}

#[test]
fn rejects_an_unknown_register_category() {
    let cfg = json!({ "register": { "x": { "category": "bank", "outside_eea": false } } });
    assert!(serde_json::from_value::<Config>(cfg).is_err());
}

#[test]
fn lists_every_configuration_problem() {
    let cfg: Config = serde_json::from_value(json!({
        "marketing_purposes": [],
        "register": { "vtech": { "name": "VTech" } },
    }))
    .unwrap();
    let problems = cfg.problems();
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert!(problems[0].contains("marketing_purposes"));
    assert!(problems[1].contains("`vtech`") && problems[1].contains("category"));
    assert!(problems[2].contains("`vtech`") && problems[2].contains("outside_eea"));
}

#[test]
fn rejects_an_empty_marketing_purpose() {
    let cfg: Config =
        serde_json::from_value(json!({ "marketing_purposes": ["email-marketing", " "] })).unwrap();
    assert_eq!(
        cfg.problems(),
        ["`marketing_purposes[1]` must not be empty"]
    );
}
