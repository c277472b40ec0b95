//! Forwarder plugin: what a device's vendor receives when ProVu provisions it (clause 2.2.2).
//!
//! For each record of the configured kind, the vendor named by `/vendor` (a manufacturer of
//! the subprocessor register) always gets one delivery at its `redirection` endpoint: the
//! device's `/mac` and the `/provisioning_url` its redirection server should send the device
//! to. Only when `/provisioning_host` is `"vendor"` (the device is provisioned on the
//! vendor's own server) does it get a second delivery at its `provisioning` endpoint: the
//! record's `/mac`, `/username`, `/password`, `/display_name`, `/sip_server` and everything
//! below `/sip_settings`, under the same paths. Nothing else is ever sent; records of other
//! kinds cause no deliveries. A vendor that is not a manufacturer of the register, or that
//! is outside the EEA without safeguards (clause 3.1), is an error: the write is refused.
//!
//! Configuration (`provisioning_url` is required and must contain `{mac}`):
//! ```toml
//! config = { provisioning_url = "https://provisioning.provu.co.uk/devices/{mac}",
//!            kind = "device-provisioning", clause = "2.2.2" }
//! ```
//! The host adds the subprocessor `register` and the bundle's `purposes`.

pub mod config;
pub mod rules;

#[cfg(test)]
mod tests;

sluice_plugin_sdk::export_forwarder_rules!(crate::config::Config, crate::rules::forward);
