//! Forwarder plugin: what a drop-shipped order's courier receives (clause 2.2.1).
//!
//! For a record of the configured kind that is marked ready to ship (the boolean field
//! `ready_field` is `true`) and names a courier in `/courier` (an id of the subprocessor
//! register), the courier gets exactly one delivery at its `courier` endpoint: the record's
//! leaves within the configured `paths`, under the same paths. For ProVu these are the paths
//! its disclosure rules (`provu-disclosure`) let a courier see of its own deliveries:
//! `/name`, `/company`, `/address`, `/phone` and `/email`. Nothing else is ever sent. A record
//! of another kind, one not ready to ship (the field absent, `null` or `false`) or one that
//! names no courier causes no delivery. A ready-to-ship marker that is not a boolean, a
//! courier the register does not list as a courier, or one outside the EEA without
//! safeguards (clause 3.1) is an error: the write is refused.
//!
//! Configuration (all optional; ProVu's, the defaults):
//! ```toml
//! config = { paths = ["/name", "/company", "/address", "/phone", "/email"],
//!            ready_field = "/ready_to_ship", kind = "delivery", clause = "2.2.1" }
//! ```
//! The host adds the subprocessor `register` and the bundle's `purposes`.

pub mod config;
pub mod rules;

#[cfg(test)]
mod tests;

sluice_plugin_sdk::export_forwarder_rules!(crate::config::Config, crate::rules::forward);
