//! Native tests of the forwarding rules.

use serde_json::{Value, json};
use sluice_plugin_sdk::testing::{self, leaves};
use sluice_plugin_sdk::types::Field;

use crate::config::Config;
use crate::rules::{Delivery, Item, forward};

/// The plugin's own `extra` keys, plus the register and purposes the host injects.
fn config(extra: Value) -> Config {
    let cfg = json!({
        "provisioning_url": "https://provisioning.provu.co.uk/devices/{mac}",
        "register": {
            "yealink": { "name": "Yealink", "category": "manufacturer", "outside_eea": true, "safeguards": true,
                         "endpoints": { "redirection": "https://rps.yealink.example" } },
            "snom": { "name": "Snom", "category": "manufacturer", "outside_eea": false, "safeguards": false },
            "polycom": { "name": "Polycom", "category": "manufacturer", "outside_eea": true, "safeguards": false },
            "dpd": { "name": "DPD", "category": "courier", "outside_eea": false, "safeguards": false },
            "creditsafe": { "name": "CreditSafe", "category": "other", "outside_eea": false, "safeguards": false },
        },
        "purposes": ["provisioning", "redirection"],
    });
    testing::parsed(cfg, extra)
}

fn device(vendor: &str, host: &str) -> Value {
    json!({
        "mac": "00:15:65:aa:bb:cc", "vendor": vendor, "username": "1001", "sip_server": "sip.example",
        "display_name": "Reception", "password": "s3cret!",
        "sip_settings": { "transport": "tls", "codecs": ["g722", "pcma"], "srtp": true, "extra": {} },
        "provisioned_at": "2025-01-02T10:00:00Z", "provisioning_host": host,
    })
}

/// A delivery as (vendor, endpoint, payload as path -> JSON value, clause, reason).
type Flat = (String, String, Vec<(String, Value)>, String, String);

fn flat(deliveries: Vec<Delivery<'_, Field>>) -> Vec<Flat> {
    deliveries
        .into_iter()
        .map(|d| {
            let payload = d
                .payload
                .into_iter()
                .map(|item| match item {
                    Item::Field(f) => (f.path.clone(), testing::to_json(&f.value)),
                    Item::Text { path, value } => (path.into(), Value::String(value)),
                })
                .collect();
            (
                d.vendor.into(),
                d.endpoint.into(),
                payload,
                d.clause.into(),
                d.reason.into(),
            )
        })
        .collect()
}

fn run(cfg: &Config, kind: &str, fields: &Value) -> Result<Vec<Flat>, String> {
    let leaves = leaves(fields);
    forward(cfg, kind, &leaves).map(flat)
}

/// What the default configuration sends for a device of `vendor` provisioned by `host`.
fn send(vendor: &str, host: &str) -> Result<Vec<Flat>, String> {
    run(
        &config(json!({})),
        "device-provisioning",
        &device(vendor, host),
    )
}

fn paths(payload: &[(String, Value)]) -> Vec<&str> {
    payload.iter().map(|(p, _)| p.as_str()).collect()
}

#[test]
fn sends_only_the_mac_address_to_the_vendors_redirection_server() {
    let out = send("yealink", "own").unwrap();
    assert_eq!(
        out,
        [(
            "yealink".into(),
            "redirection".into(),
            vec![
                ("/mac".into(), json!("00:15:65:aa:bb:cc")),
                (
                    "/provisioning_url".into(),
                    json!("https://provisioning.provu.co.uk/devices/00:15:65:aa:bb:cc")
                ),
            ],
            "2.2.2".into(),
            "MAC address for the vendor's redirection server".into(),
        )]
    );
}

#[test]
fn sends_sip_details_to_a_vendor_that_provisions_the_device_itself() {
    let out = send("snom", "vendor").unwrap();
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].1, "redirection");
    let (vendor, endpoint, payload, clause, reason) = &out[1];
    assert_eq!(
        (vendor.as_str(), endpoint.as_str()),
        ("snom", "provisioning")
    );
    assert_eq!(
        (clause.as_str(), reason.as_str()),
        (
            "2.2.2",
            "SIP details for the vendor's own provisioning server"
        )
    );
    let mut got = paths(payload);
    got.sort_unstable();
    assert_eq!(
        got,
        [
            "/display_name",
            "/mac",
            "/password",
            "/sip_server",
            "/sip_settings/codecs/0",
            "/sip_settings/codecs/1",
            "/sip_settings/extra",
            "/sip_settings/srtp",
            "/sip_settings/transport",
            "/username",
        ]
    );
    assert!(payload.contains(&("/password".into(), json!("s3cret!"))));
    assert!(payload.contains(&("/sip_settings/srtp".into(), json!(true))));
    assert!(payload.contains(&("/sip_settings/extra".into(), json!({}))));
}

#[test]
fn never_sends_fields_outside_the_provisioning_details() {
    let mut fields = device("snom", "vendor");
    fields["notes"] = json!("customer said hi");
    fields["mac_history"] = json!(["00:15:65:00:00:01"]);
    let out = run(&config(json!({})), "device-provisioning", &fields).unwrap();
    let sent: Vec<&str> = out.iter().flat_map(|d| paths(&d.2)).collect();
    for path in sent {
        assert!(
            ![
                "/vendor",
                "/provisioned_at",
                "/provisioning_host",
                "/notes",
                "/mac_history/0"
            ]
            .contains(&path),
            "{path} was sent"
        );
    }
}

#[test]
fn sends_only_the_sip_details_the_record_has() {
    let fields = json!({ "mac": "00:15:65:aa:bb:cc", "vendor": "snom", "username": "1001", "provisioning_host": "vendor" });
    let out = run(&config(json!({})), "device-provisioning", &fields).unwrap();
    assert_eq!(paths(&out[1].2), ["/mac", "/username"]);
}

#[test]
fn keeps_sip_details_on_provus_server_unless_the_vendor_provisions() {
    let mut fields = device("snom", "vendor");
    fields.as_object_mut().unwrap().remove("provisioning_host");
    let out = run(&config(json!({})), "device-provisioning", &fields).unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].1, "redirection");
}

#[test]
fn forwards_nothing_for_other_kinds() {
    let out = run(&config(json!({})), "delivery", &device("snom", "vendor")).unwrap();
    assert!(out.is_empty());
}

#[test]
fn forwards_the_configured_kind_under_the_configured_clause() {
    let cfg = config(json!({ "kind": "handset", "clause": "2.2.2(b)" }));
    assert!(
        run(&cfg, "device-provisioning", &device("snom", "own"))
            .unwrap()
            .is_empty()
    );
    let out = run(&cfg, "handset", &device("snom", "own")).unwrap();
    assert_eq!(out[0].3, "2.2.2(b)");
}

#[test]
fn refuses_a_vendor_that_is_not_a_manufacturer_of_the_register() {
    for vendor in ["dpd", "creditsafe", "acme"] {
        let err = send(vendor, "vendor").unwrap_err();
        assert_eq!(
            err,
            format!("vendor `{vendor}` is not a manufacturer of the subprocessor register")
        );
    }
}

#[test]
fn refuses_a_vendor_outside_the_eea_without_safeguards() {
    let err = send("polycom", "own").unwrap_err();
    assert!(err.contains("`polycom`") && err.contains("3.1"), "{err}");
}

#[test]
fn refuses_a_device_without_a_vendor_or_a_mac_address() {
    let cfg = config(json!({}));
    let mut fields = device("snom", "own");
    fields.as_object_mut().unwrap().remove("vendor");
    assert!(
        run(&cfg, "device-provisioning", &fields)
            .unwrap_err()
            .contains("/vendor")
    );
    let mut fields = device("snom", "own");
    fields["mac"] = json!(null);
    assert!(
        run(&cfg, "device-provisioning", &fields)
            .unwrap_err()
            .contains("/mac")
    );
}

#[test]
fn percent_encodes_the_mac_address_in_the_provisioning_url() {
    let mut fields = device("snom", "own");
    fields["mac"] = json!("00:15/../admin?x=1");
    let out = run(&config(json!({})), "device-provisioning", &fields).unwrap();
    assert_eq!(
        out[0].2[1].1,
        json!("https://provisioning.provu.co.uk/devices/00:15%2F..%2Fadmin%3Fx%3D1")
    );
    assert_eq!(out[0].2[0].1, json!("00:15/../admin?x=1"));
}

#[test]
fn never_quotes_personal_data_in_an_error() {
    let mut fields = device("acme", "vendor");
    let err = run(&config(json!({})), "device-provisioning", &fields).unwrap_err();
    assert!(!err.contains("00:15") && !err.contains("s3cret"), "{err}");
    fields["vendor"] = json!("snom");
    fields["mac"] = json!(42);
    let err = run(&config(json!({})), "device-provisioning", &fields).unwrap_err();
    assert!(!err.contains("42"), "{err}");
}

#[test]
fn fails_closed_on_an_invalid_configuration() {
    let cfg = config(json!({ "provisioning_url": "https://provisioning.provu.co.uk/devices" }));
    let err = run(&cfg, "device-provisioning", &device("snom", "vendor")).unwrap_err();
    assert!(err.contains("{mac}"), "{err}");
}

#[test]
fn requires_a_provisioning_url_with_a_mac_placeholder() {
    let cfg: Config = serde_json::from_value(json!({})).unwrap();
    assert_eq!(cfg.problems().len(), 1);
    assert!(cfg.problems()[0].contains("`provisioning_url` is required"));
    let cfg: Config =
        serde_json::from_value(json!({ "provisioning_url": "https://p.example/x" })).unwrap();
    assert_eq!(
        cfg.problems(),
        ["`provisioning_url` must contain `{mac}`, where the MAC address goes"]
    );
}

#[test]
fn accepts_the_documented_configuration_with_its_defaults() {
    let cfg: Config = serde_json::from_value(json!({
        "provisioning_url": "https://provisioning.provu.co.uk/devices/{mac}",
    }))
    .unwrap();
    assert_eq!(cfg.problems(), Vec::<String>::new());
    assert_eq!(
        (cfg.kind.as_str(), cfg.clause.as_str()),
        ("device-provisioning", "2.2.2")
    );
    assert!(config(json!({})).problems().is_empty());
}

#[test]
fn lists_every_configuration_problem() {
    let cfg: Config = serde_json::from_value(json!({
        "provisioning_url": "",
        "kind": " ",
        "clause": "",
        "register": { "gigaset": { "name": "Gigaset" } },
    }))
    .unwrap();
    let problems = cfg.problems();
    assert_eq!(problems.len(), 5, "{problems:#?}");
}

#[test]
fn rejects_unknown_configuration_keys() {
    let err =
        serde_json::from_value::<Config>(json!({ "provisioning_uri": "x/{mac}" })).unwrap_err();
    assert!(err.to_string().contains("provisioning_uri"), "{err}");
}
