//! The plugin's configuration, including the two keys the host injects into every
//! disclosure and forwarder plugin (`register`, `purposes`).

use std::collections::BTreeMap;

use serde::Deserialize;

/// Configuration of the provisioning forwarder.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the vendor's redirection server sends the device: ProVu's provisioning server.
    /// Required; `{mac}` is replaced by the device's MAC address.
    ///
    /// `provisioning_url = "https://provisioning.provu.co.uk/devices/{mac}"`
    #[serde(default)]
    pub provisioning_url: String,
    /// The record kind that describes a device to provision.
    ///
    /// `kind = "device-provisioning"`
    #[serde(default = "default_kind")]
    pub kind: String,
    /// The clause each delivery cites.
    ///
    /// `clause = "2.2.2"`
    #[serde(default = "default_clause")]
    pub clause: String,
    /// Injected by the host: the subprocessor register of clause 3.2, id -> entry.
    #[serde(default)]
    pub register: BTreeMap<String, Subprocessor>,
    /// Injected by the host: the bundle's purposes (not used by this plugin).
    #[serde(default)]
    pub purposes: Vec<String>,
}

fn default_kind() -> String {
    "device-provisioning".into()
}

fn default_clause() -> String {
    "2.2.2".into()
}

/// One entry of the subprocessor register (clause 3.2). Extra keys (e.g. `endpoints`) are
/// ignored.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Subprocessor {
    /// The subprocessor's name, as the policy lists it.
    pub name: String,
    /// Which list of clause 3.2 the subprocessor is on; `None` when the entry gives none
    /// (then no category rule permits anything).
    pub category: Option<Category>,
    /// Whether the subprocessor is outside the EEA; `None` when the entry does not say,
    /// which is treated as outside (clause 3.1, fail closed).
    pub outside_eea: Option<bool>,
    /// Whether transfers to it are covered by adequate safeguards (clause 3.1).
    pub safeguards: bool,
}

/// The lists of clause 3.2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    /// 3.2.1 Couriers.
    Courier,
    /// 3.2.2 Product manufacturers.
    Manufacturer,
    /// 3.2.3 Other.
    Other,
}

impl Subprocessor {
    /// Whether a transfer to this subprocessor would leave the EEA without safeguards.
    pub fn unsafe_transfer(&self) -> bool {
        self.outside_eea.unwrap_or(true) && !self.safeguards
    }
}

impl Config {
    /// Every problem of the configuration, one line each.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.provisioning_url.trim().is_empty() {
            problems.push(
                "`provisioning_url` is required, e.g. \
                 \"https://provisioning.provu.co.uk/devices/{mac}\""
                    .into(),
            );
        } else if !self.provisioning_url.contains(MAC_PLACEHOLDER) {
            problems.push(format!(
                "`provisioning_url` must contain `{MAC_PLACEHOLDER}`, where the MAC address goes"
            ));
        }
        if self.kind.trim().is_empty() {
            problems.push("`kind` must not be empty".into());
        }
        if self.clause.trim().is_empty() {
            problems.push("`clause` must not be empty".into());
        }
        for (id, entry) in &self.register {
            if entry.category.is_none() {
                problems.push(format!(
                    "register entry `{id}` needs a `category` (courier, manufacturer or other)"
                ));
            }
            if entry.outside_eea.is_none() {
                problems.push(format!("register entry `{id}` needs `outside_eea`"));
            }
        }
        problems
    }
}

/// The placeholder of `provisioning_url` that the MAC address replaces.
pub const MAC_PLACEHOLDER: &str = "{mac}";
