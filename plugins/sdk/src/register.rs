//! The subprocessor register (clause 3.2), which the host injects into the configuration of
//! every disclosure and forwarder plugin under the key `register` (id -> entry).

use std::collections::BTreeMap;

use serde::Deserialize;

/// What a manufacturer's own provisioning server may receive of a device (clause 2.2.2:
/// "usernames, passwords and other SIP details"), with everything below each pointer. The
/// disclosure rules and the provisioning forwarder both send exactly this.
pub const VENDOR_PROVISIONING_FIELDS: &[&str] = &[
    "/mac",
    "/username",
    "/password",
    "/display_name",
    "/sip_server",
    "/sip_settings",
];

/// The register as the host injects it: subprocessor id -> entry.
pub type Register = BTreeMap<String, Subprocessor>;

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

    /// `Err` when a transfer to this subprocessor would leave the EEA without safeguards
    /// (clause 3.1): the error names it as `role` `id` (`courier `dpd``).
    pub fn check_transfer(&self, role: &str, id: &str) -> Result<(), String> {
        if self.unsafe_transfer() {
            Err(format!(
                "{role} `{id}` is outside the EEA, or the register does not say, and the \
                 register records no safeguards (clause 3.1)"
            ))
        } else {
            Ok(())
        }
    }
}

/// Every problem of the register's entries, one line each: an entry must give its
/// `category` and say whether it is `outside_eea`.
pub fn problems(register: &Register) -> Vec<String> {
    let mut problems = Vec::new();
    for (id, entry) in register {
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

/// A disclosure or forwarder plugin's configuration struct, with the two keys the host
/// injects into it appended: `register` (the subprocessor [`Register`] of clause 3.2) and
/// `purposes` (the bundle's purposes). Both default to empty.
///
/// ```ignore
/// sluice_plugin_sdk::with_injected_keys! {
///     /// Configuration of the plugin.
///     #[derive(Debug, Deserialize)]
///     #[serde(deny_unknown_fields)]
///     pub struct Config {
///         /// The clause each delivery cites.
///         #[serde(default = "default_clause")]
///         pub clause: String,
///     }
/// }
/// ```
#[macro_export]
macro_rules! with_injected_keys {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $($(#[$field_meta:meta])* $field_vis:vis $field:ident: $ty:ty),* $(,)?
        }
    ) => {
        $(#[$meta])*
        $vis struct $name {
            $($(#[$field_meta])* $field_vis $field: $ty,)*
            /// Injected by the host: the subprocessor register of clause 3.2, id -> entry.
            #[serde(default)]
            pub register: $crate::register::Register,
            /// Injected by the host: the bundle's purposes.
            #[serde(default)]
            pub purposes: Vec<String>,
        }
    };
}
