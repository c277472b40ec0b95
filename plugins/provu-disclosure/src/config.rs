//! The plugin's configuration, including the two keys the host injects into every
//! disclosure and forwarder plugin (`register`, `purposes`).

use serde::Deserialize;
use sluice_plugin_sdk::register;
pub use sluice_plugin_sdk::register::{Category, Subprocessor};

sluice_plugin_sdk::with_injected_keys! {
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
    }
}

sluice_plugin_sdk::config_defaults! {
    default_marketing_purposes: Vec<String> =
        ["email-marketing", "telephone-marketing", "direct-marketing"].map(String::from).to_vec();
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
        problems.extend(register::problems(&self.register));
        problems
    }
}
