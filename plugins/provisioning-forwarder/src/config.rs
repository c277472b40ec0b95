//! The plugin's configuration, including the two keys the host injects into every
//! disclosure and forwarder plugin (`register`, `purposes`).

use serde::Deserialize;
use sluice_plugin_sdk::register;
pub use sluice_plugin_sdk::register::{Category, Subprocessor};

sluice_plugin_sdk::with_injected_keys! {
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
    }
}

sluice_plugin_sdk::config_defaults! {
    default_kind: String = "device-provisioning".into();
    default_clause: String = "2.2.2".into();
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
        sluice_plugin_sdk::require_text(&mut problems, "kind", &self.kind);
        sluice_plugin_sdk::require_text(&mut problems, "clause", &self.clause);
        problems.extend(register::problems(&self.register));
        problems
    }
}

/// The placeholder of `provisioning_url` that the MAC address replaces.
pub const MAC_PLACEHOLDER: &str = "{mac}";
