//! The plugin's configuration, including the two keys the host injects into every
//! disclosure and forwarder plugin (`register`, `purposes`).

use serde::Deserialize;
use sluice_plugin_sdk::register;
pub use sluice_plugin_sdk::register::{Category, Subprocessor};

sluice_plugin_sdk::with_injected_keys! {
    /// Configuration of the courier forwarder.
    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Config {
        /// What the courier receives of a delivery, as JSON Pointers, each with everything below
        /// it. ProVu's are the paths its disclosure rules let a courier see of its own deliveries
        /// (clause 2.2.1: "name, company name, address, contact number and email address"), the
        /// default:
        ///
        /// `paths = ["/name", "/company", "/address", "/phone", "/email"]`
        #[serde(default = "default_paths")]
        pub paths: Vec<String>,
        /// The boolean field that marks a delivery ready to ship; only `true` sends it.
        ///
        /// `ready_field = "/ready_to_ship"`
        #[serde(default = "default_ready_field")]
        pub ready_field: String,
        /// The record kind that describes a delivery.
        ///
        /// `kind = "delivery"`
        #[serde(default = "default_kind")]
        pub kind: String,
        /// The clause each delivery cites.
        ///
        /// `clause = "2.2.1"`
        #[serde(default = "default_clause")]
        pub clause: String,
    }
}

/// ProVu's courier projection (clause 2.2.1), the default of `paths`.
pub const PROVU_COURIER_PATHS: &[&str] = &["/name", "/company", "/address", "/phone", "/email"];

sluice_plugin_sdk::config_defaults! {
    default_paths: Vec<String> = PROVU_COURIER_PATHS.iter().map(|&p| p.into()).collect();
    default_ready_field: String = "/ready_to_ship".into();
    default_kind: String = "delivery".into();
    default_clause: String = "2.2.1".into();
}

impl Config {
    /// Every problem of the configuration, one line each.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.paths.is_empty() {
            problems.push(
                "`paths` must not be empty: it lists what the courier receives, e.g. \
                 [\"/name\", \"/address\"]"
                    .into(),
            );
        }
        for (i, path) in self.paths.iter().enumerate() {
            if path.is_empty() {
                problems.push(format!(
                    "`paths[{i}]` is `\"\"`, the whole record: list the fields the courier needs"
                ));
            } else if !path.starts_with('/') {
                problems.push(format!(
                    "`paths[{i}]` must be a JSON Pointer starting with `/`, e.g. \"/address\""
                ));
            }
        }
        if !self.ready_field.starts_with('/') {
            problems.push(
                "`ready_field` must be a JSON Pointer starting with `/`, e.g. \"/ready_to_ship\""
                    .into(),
            );
        }
        sluice_plugin_sdk::require_text(&mut problems, "kind", &self.kind);
        sluice_plugin_sdk::require_text(&mut problems, "clause", &self.clause);
        problems.extend(register::problems(&self.register));
        problems
    }
}
