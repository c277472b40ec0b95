//! The plugin's configuration, including the two keys the host injects into every
//! disclosure and forwarder plugin (`register`, `purposes`).

use std::collections::BTreeMap;

use serde::Deserialize;

/// Configuration of the disclosure plugin.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Purposes that are direct marketing: never a reason to share a record with a third
    /// party (clause 3).
    ///
    /// `marketing_purposes = ["email-marketing", "telephone-marketing", "direct-marketing"]`
    #[serde(default = "default_marketing_purposes")]
    pub marketing_purposes: Vec<String>,
    /// Injected by the host: the subprocessor register of clause 3.2, id -> entry.
    #[serde(default)]
    pub register: BTreeMap<String, Subprocessor>,
    /// Injected by the host: the bundle's purposes.
    #[serde(default)]
    pub purposes: Vec<String>,
}

fn default_marketing_purposes() -> Vec<String> {
    ["email-marketing", "telephone-marketing", "direct-marketing"]
        .map(String::from)
        .to_vec()
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
        if self.marketing_purposes.is_empty() {
            problems.push(
                "`marketing_purposes` must not be empty: clause 3 forbids sharing for direct \
                 marketing"
                    .into(),
            );
        }
        for (i, purpose) in self.marketing_purposes.iter().enumerate() {
            if purpose.trim().is_empty() {
                problems.push(format!("`marketing_purposes[{i}]` must not be empty"));
            }
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
