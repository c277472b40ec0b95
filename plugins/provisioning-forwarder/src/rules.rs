//! The forwarding rules, independent of the generated bindings so they are tested natively.
//!
//! Clause 2.2.2: the vendor's redirection server gets the MAC address (and where to send the
//! device); usernames, passwords and other SIP details go to the vendor only when the
//! device is provisioned on the vendor's own provisioning server. Nothing else is sent.

use std::fmt::Write as _;

use sluice_plugin_sdk::delivery::Payload;
use sluice_plugin_sdk::pointer;
use sluice_plugin_sdk::types::{Field, Value};
pub use sluice_plugin_sdk::view::{FieldView, Leaf};

use crate::config::{Category, Config, MAC_PLACEHOLDER};

/// One entry of a delivery's payload.
#[derive(Debug, PartialEq)]
pub enum Item<'a, F> {
    /// A leaf of the record, sent as it is.
    Field(&'a F),
    /// A value the plugin computes.
    Text {
        /// Its JSON Pointer in the payload.
        path: &'static str,
        /// Its value.
        value: String,
    },
}

impl Payload for Item<'_, Field> {
    fn into_field(self) -> Field {
        match self {
            Item::Field(f) => f.clone(),
            Item::Text { path, value } => Field {
                path: path.into(),
                value: Value::Text(value),
            },
        }
    }
}

/// One delivery to a vendor: its id in the subprocessor register, its endpoint kind, and
/// exactly what it receives.
pub type Delivery<'a, F> = sluice_plugin_sdk::delivery::Delivery<'a, Item<'a, F>>;

use sluice_plugin_sdk::register::VENDOR_PROVISIONING_FIELDS as PROVISIONING_PATHS;

/// Returns the deliveries caused by writing a record of `kind` with `fields`.
pub fn forward<'a, F: FieldView>(
    cfg: &'a Config,
    kind: &str,
    fields: &'a [F],
) -> Result<Vec<Delivery<'a, F>>, String> {
    sluice_plugin_sdk::without_problems(cfg.problems())?;
    if kind != cfg.kind {
        return Ok(Vec::new());
    }
    // A non-empty text leaf, with the field that holds it.
    let text_field = |path: &str| {
        let field = fields.iter().find(|f| f.path() == path)?;
        match field.leaf() {
            Leaf::Text(t) if !t.is_empty() => Some((field, t)),
            _ => None,
        }
    };
    let text = |path: &str| text_field(path).map(|(_, t)| t);

    let vendor = text("/vendor").ok_or_else(|| format!("a `{kind}` record needs a `/vendor`"))?;
    let entry = cfg
        .register
        .get(vendor)
        .filter(|e| e.category == Some(Category::Manufacturer))
        .ok_or_else(|| {
            format!("vendor `{vendor}` is not a manufacturer of the subprocessor register")
        })?;
    entry.check_transfer("vendor", vendor)?;
    let (mac_field, mac) =
        text_field("/mac").ok_or_else(|| format!("a `{kind}` record needs a `/mac` as text"))?;

    let mut deliveries = vec![Delivery {
        vendor,
        endpoint: "redirection",
        payload: vec![
            Item::Field(mac_field),
            Item::Text {
                path: "/provisioning_url",
                value: cfg
                    .provisioning_url
                    .replace(MAC_PLACEHOLDER, &url_encode(mac)),
            },
        ],
        clause: &cfg.clause,
        reason: "MAC address for the vendor's redirection server",
    }];
    if text("/provisioning_host") == Some("vendor") {
        deliveries.push(Delivery {
            vendor,
            endpoint: "provisioning",
            payload: fields
                .iter()
                .filter(|f| {
                    PROVISIONING_PATHS
                        .iter()
                        .any(|p| pointer::is_within(f.path(), p))
                })
                .map(Item::Field)
                .collect(),
            clause: &cfg.clause,
            reason: "SIP details for the vendor's own provisioning server",
        });
    }
    Ok(deliveries)
}

/// Percent-encodes everything but the unreserved characters and `:`, so that the MAC
/// address cannot change the URL around it.
fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}
