//! Native tests of the forwarding rule.

use serde_json::{Value, json};
use sluice_plugin_sdk::testing::{self, leaves};
use sluice_plugin_sdk::types::Field;

use crate::config::{Config, PROVU_COURIER_PATHS};
use crate::rules::{Delivery, forward};

/// The plugin's own `extra` keys, plus the register and purposes the host injects.
fn config(extra: Value) -> Config {
    let cfg = json!({
        "register": {
            "dpd": { "name": "DPD", "category": "courier", "outside_eea": false, "safeguards": false,
                     "endpoints": { "courier": "https://dpd.example/api" } },
            "fedex": { "name": "FedEx", "category": "courier", "outside_eea": true, "safeguards": true },
            "ups": { "name": "UPS", "category": "courier", "outside_eea": true, "safeguards": false },
            "yealink": { "name": "Yealink", "category": "manufacturer", "outside_eea": true, "safeguards": true },
            "creditsafe": { "name": "CreditSafe", "category": "other", "outside_eea": false, "safeguards": false },
        },
        "purposes": ["delivery", "fulfilment"],
    });
    testing::parsed(cfg, extra)
}

fn delivery(courier: &str, ready: Value) -> Value {
    json!({
        "name": "Grace Hopper", "company": "Hopper Labs",
        "address": { "line1": "1 Savile Street", "city": "Huddersfield", "postcode": "HD3 4PG", "country": "GB" },
        "courier": courier, "order_ref": "ORD-2026-004242", "phone": "07700 900123",
        "email": "grace@example.co.uk", "shipped_at": "2026-11-20T10:00:00Z", "ready_to_ship": ready,
    })
}

/// A delivery as (vendor, endpoint, payload as path -> JSON value, clause, reason).
type Flat = (String, String, Vec<(String, Value)>, String, String);

fn flat(delivery: Delivery<'_, Field>) -> Flat {
    (
        delivery.vendor.into(),
        delivery.endpoint.into(),
        delivery
            .payload
            .into_iter()
            .map(|f| (f.path.clone(), testing::to_json(&f.value)))
            .collect(),
        delivery.clause.into(),
        delivery.reason.into(),
    )
}

fn run(cfg: &Config, kind: &str, fields: &Value) -> Result<Option<Flat>, String> {
    let leaves = leaves(fields);
    forward(cfg, kind, &leaves).map(|d| d.map(flat))
}

/// What the default configuration sends for a delivery to `courier` whose ready-to-ship
/// marker is `ready`.
fn send(courier: &str, ready: Value) -> Result<Option<Flat>, String> {
    run(&config(json!({})), "delivery", &delivery(courier, ready))
}

fn paths(payload: &[(String, Value)]) -> Vec<&str> {
    payload.iter().map(|(p, _)| p.as_str()).collect()
}

#[test]
fn sends_the_couriers_projection_once_the_order_is_ready_to_ship() {
    let out = send("dpd", json!(true)).unwrap();
    assert_eq!(
        out,
        Some((
            "dpd".into(),
            "courier".into(),
            vec![
                ("/address/city".into(), json!("Huddersfield")),
                ("/address/country".into(), json!("GB")),
                ("/address/line1".into(), json!("1 Savile Street")),
                ("/address/postcode".into(), json!("HD3 4PG")),
                ("/company".into(), json!("Hopper Labs")),
                ("/email".into(), json!("grace@example.co.uk")),
                ("/name".into(), json!("Grace Hopper")),
                ("/phone".into(), json!("07700 900123")),
            ],
            "2.2.1".into(),
            "delivery details for the courier chosen to deliver the order".into(),
        ))
    );
}

#[test]
fn never_sends_fields_outside_the_projection() {
    let mut fields = delivery("dpd", json!(true));
    fields["notes"] = json!({ "gate": "code 1234" });
    fields["address_history"] = json!(["2 Old Road"]);
    fields["names"] = json!("x");
    let (_, _, payload, _, _) = run(&config(json!({})), "delivery", &fields)
        .unwrap()
        .unwrap();
    for path in paths(&payload) {
        assert!(
            PROVU_COURIER_PATHS
                .iter()
                .any(|p| path == *p || path.starts_with(&format!("{p}/"))),
            "{path} was sent"
        );
    }
    assert_eq!(payload.len(), 8);
}

#[test]
fn sends_only_the_projected_fields_the_record_has() {
    let fields = json!({
        "name": "Grace Hopper", "address": { "line1": "1 Savile Street" }, "courier": "dpd",
        "ready_to_ship": true,
    });
    let (_, _, payload, _, _) = run(&config(json!({})), "delivery", &fields)
        .unwrap()
        .unwrap();
    assert_eq!(paths(&payload), ["/address/line1", "/name"]);
}

#[test]
fn sends_nothing_until_the_order_is_ready_to_ship() {
    let cfg = config(json!({}));
    for ready in [json!(false), json!(null)] {
        assert_eq!(
            run(&cfg, "delivery", &delivery("dpd", ready.clone())),
            Ok(None),
            "{ready}"
        );
    }
    let mut fields = delivery("dpd", json!(true));
    fields.as_object_mut().unwrap().remove("ready_to_ship");
    assert_eq!(run(&cfg, "delivery", &fields), Ok(None));
}

#[test]
fn refuses_a_ready_to_ship_marker_that_is_not_a_boolean() {
    for ready in [json!("yes"), json!(1), json!({ "at": "now" })] {
        let err = send("dpd", ready.clone()).unwrap_err();
        assert_eq!(
            err,
            "`/ready_to_ship` of a `delivery` record must be a boolean (true when it is ready to \
             ship)",
            "{ready}"
        );
    }
}

#[test]
fn forwards_nothing_for_other_kinds() {
    let out = run(&config(json!({})), "contact", &delivery("dpd", json!(true)));
    assert_eq!(out, Ok(None));
}

#[test]
fn forwards_nothing_when_the_record_names_no_courier() {
    let cfg = config(json!({}));
    let mut fields = delivery("dpd", json!(true));
    fields.as_object_mut().unwrap().remove("courier");
    assert_eq!(run(&cfg, "delivery", &fields), Ok(None));
    fields["courier"] = json!(null);
    assert_eq!(run(&cfg, "delivery", &fields), Ok(None));
}

#[test]
fn checks_the_courier_only_for_a_delivery_it_sends() {
    let cfg = config(json!({}));
    for courier in ["acme", "yealink", "ups"] {
        assert_eq!(
            run(&cfg, "delivery", &delivery(courier, json!(false))),
            Ok(None)
        );
    }
}

#[test]
fn refuses_a_courier_not_in_the_register() {
    let cfg = config(json!({}));
    for courier in [json!("acme"), json!(""), json!(42), json!({ "id": "dpd" })] {
        let mut fields = delivery("dpd", json!(true));
        fields["courier"] = courier.clone();
        let err = run(&cfg, "delivery", &fields).unwrap_err();
        assert_eq!(
            err,
            "`/courier` of a `delivery` record names no subprocessor of the register (clause 3.2)",
            "{courier}"
        );
    }
}

#[test]
fn refuses_a_subprocessor_that_is_not_a_courier() {
    for vendor in ["yealink", "creditsafe"] {
        let err = send(vendor, json!(true)).unwrap_err();
        assert_eq!(
            err,
            format!("`{vendor}` is not a courier of the subprocessor register (clause 3.2.1)")
        );
    }
}

#[test]
fn refuses_a_courier_outside_the_eea_without_safeguards() {
    let err = send("ups", json!(true)).unwrap_err();
    assert!(err.contains("`ups`") && err.contains("3.1"), "{err}");
}

#[test]
fn sends_to_a_courier_outside_the_eea_with_safeguards() {
    let out = send("fedex", json!(true)).unwrap().unwrap();
    assert_eq!((out.0.as_str(), out.1.as_str()), ("fedex", "courier"));
}

#[test]
fn takes_the_kind_ready_field_paths_and_clause_from_the_configuration() {
    let cfg = config(json!({
        "kind": "shipment", "ready_field": "/status/ready", "paths": ["/name", "/address/postcode"],
        "clause": "2.2.1(a)",
    }));
    let mut fields = delivery("dpd", json!(true));
    assert_eq!(run(&cfg, "delivery", &fields), Ok(None));
    assert_eq!(run(&cfg, "shipment", &fields), Ok(None));
    fields["status"] = json!({ "ready": true });
    let (vendor, _, payload, clause, _) = run(&cfg, "shipment", &fields).unwrap().unwrap();
    assert_eq!(vendor, "dpd");
    assert_eq!(paths(&payload), ["/address/postcode", "/name"]);
    assert_eq!(clause, "2.2.1(a)");
}

#[test]
fn never_quotes_personal_data_in_an_error() {
    let mut fields = delivery("Grace Hopper", json!(true));
    let err = run(&config(json!({})), "delivery", &fields).unwrap_err();
    assert!(!err.contains("Grace"), "{err}");
    fields["courier"] = json!("dpd");
    fields["ready_to_ship"] = json!("grace@example.co.uk");
    let err = run(&config(json!({})), "delivery", &fields).unwrap_err();
    assert!(!err.contains("grace"), "{err}");
}

#[test]
fn fails_closed_on_an_invalid_configuration() {
    let cfg = config(json!({ "paths": [] }));
    let err = run(&cfg, "delivery", &delivery("dpd", json!(true))).unwrap_err();
    assert!(
        err.starts_with("invalid configuration: `paths` must not be empty"),
        "{err}"
    );
}

#[test]
fn sends_by_default_what_provu_disclosure_shows_a_courier_for_delivery() {
    let cfg: provu_disclosure::config::Config = serde_json::from_value(json!({
        "register": { "dpd": { "name": "DPD", "category": "courier", "outside_eea": false } },
        "purposes": ["delivery"],
    }))
    .unwrap();
    let fields = leaves(&delivery("dpd", json!(true)));
    let record = provu_disclosure::rules::Record {
        kind: "delivery",
        fields: &fields,
    };
    let audience = provu_disclosure::rules::Audience {
        name: "subprocessor:dpd",
        purpose: "delivery",
    };
    let permit = provu_disclosure::rules::disclose(&cfg, &record, audience).unwrap();
    assert_eq!(
        (permit.paths, permit.clause),
        (PROVU_COURIER_PATHS, "2.2.1")
    );
    let ours: Config = serde_json::from_value(json!({})).unwrap();
    assert_eq!(ours.paths, PROVU_COURIER_PATHS);
}

#[test]
fn accepts_the_documented_configuration_with_its_defaults() {
    let cfg: Config = serde_json::from_value(json!({})).unwrap();
    assert_eq!(cfg.problems(), Vec::<String>::new());
    assert_eq!(
        (
            cfg.ready_field.as_str(),
            cfg.kind.as_str(),
            cfg.clause.as_str()
        ),
        ("/ready_to_ship", "delivery", "2.2.1")
    );
    let documented: Config = serde_json::from_value(json!({
        "paths": ["/name", "/company", "/address", "/phone", "/email"],
        "ready_field": "/ready_to_ship", "kind": "delivery", "clause": "2.2.1",
    }))
    .unwrap();
    assert_eq!(documented.problems(), Vec::<String>::new());
    assert!(config(json!({})).problems().is_empty());
}

#[test]
fn lists_every_configuration_problem() {
    let cfg: Config = serde_json::from_value(json!({
        "paths": ["", "name", "/phone"],
        "ready_field": "ready_to_ship",
        "kind": " ",
        "clause": "",
        "register": { "dhl": { "name": "DHL" } },
    }))
    .unwrap();
    assert_eq!(
        cfg.problems(),
        [
            "`paths[0]` is `\"\"`, the whole record: list the fields the courier needs",
            "`paths[1]` must be a JSON Pointer starting with `/`, e.g. \"/address\"",
            "`ready_field` must be a JSON Pointer starting with `/`, e.g. \"/ready_to_ship\"",
            "`kind` must not be empty",
            "`clause` must not be empty",
            "register entry `dhl` needs a `category` (courier, manufacturer or other)",
            "register entry `dhl` needs `outside_eea`",
        ]
    );
    let cfg: Config = serde_json::from_value(json!({ "paths": [] })).unwrap();
    assert_eq!(cfg.problems().len(), 1);
}

#[test]
fn check_config_lists_the_problems_or_the_parse_error() {
    let check = |text: &str| sluice_plugin_sdk::check_config(text, Config::problems);
    assert_eq!(check("{}"), Ok(()));
    assert_eq!(
        check(r#"{"paths": [], "clause": ""}"#).unwrap_err().len(),
        2
    );
    let err = check(r#"{"ready": "/x"}"#).unwrap_err();
    assert_eq!(err.len(), 1);
    assert!(err[0].contains("ready"), "{err:?}");
}

#[test]
fn rejects_unknown_configuration_keys() {
    let err = serde_json::from_value::<Config>(json!({ "fields": ["/name"] })).unwrap_err();
    assert!(err.to_string().contains("fields"), "{err}");
}
