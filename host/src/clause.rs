//! The clauses of the privacy policy that the gateway itself enforces, outside any plugin,
//! and the checks they name. The bundle's plugins cite the clauses of their own decisions;
//! these are the ones the host cites: a card number where none may be (a subject key, a
//! token label), the subprocessor register, the data subject's rights.

use std::collections::BTreeMap;

use crate::bundle::Subprocessor;

/// 2.1.2, "we do not store credit card information": a card number in a subject key or a
/// token label.
pub const CARD: &str = "2.1.2";
/// 2.1.4: marketing by email and direct marketing need the subject's permission.
pub const EMAIL_MARKETING: &str = "2.1.4";
/// 2.1.5: marketing by telephone needs the subject's permission.
pub const TELEPHONE_MARKETING: &str = "2.1.5";
/// 3: personal data is disclosed only as the policy says (no disclosure rule covers it).
pub const DISCLOSURE: &str = "3";
/// 3.1: no transfer outside the EEA without adequate safeguards.
pub const TRANSFERS: &str = "3.1";
/// 3.2: personal data goes only to the subprocessors of the register.
pub const REGISTER: &str = "3.2";
/// 8: changes to the policy are notified.
pub const CHANGES: &str = "8";
/// 9: the data subject's rights (access, rectification, erasure, restriction, objection,
/// portability).
pub const RIGHTS: &str = "9";

/// The marketing purposes a permission can be asked for or objected to.
pub const MARKETING_PURPOSES: &[&str] =
    &["email-marketing", "telephone-marketing", "direct-marketing"];

/// The clause that governs an objection to `purpose`, or a permission for it.
pub fn objection(purpose: &str) -> &'static str {
    match purpose {
        "email-marketing" | "direct-marketing" => EMAIL_MARKETING,
        "telephone-marketing" => TELEPHONE_MARKETING,
        _ => RIGHTS,
    }
}

/// Why the register lets no data go to a subprocessor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unregistered {
    /// It is not in the register (3.2).
    NotListed,
    /// It processes data outside the EEA without adequate safeguards (3.1).
    OutsideEea,
}

impl Unregistered {
    /// Why, for the audit log and the vendor's feed.
    pub fn reason(self, vendor: &str) -> String {
        match self {
            Self::NotListed => format!("`{vendor}` is not in the subprocessor register"),
            Self::OutsideEea => {
                format!("`{vendor}` processes data outside the EEA without adequate safeguards")
            }
        }
    }

    /// The clause it breaks.
    pub fn clause(self) -> &'static str {
        match self {
            Self::NotListed => REGISTER,
            Self::OutsideEea => TRANSFERS,
        }
    }
}

/// The register's entry of `vendor`, if data may go to it (3.2, 3.1).
pub fn registered<'r>(
    register: &'r BTreeMap<String, Subprocessor>,
    vendor: &str,
) -> Result<&'r Subprocessor, Unregistered> {
    match register.get(vendor) {
        None => Err(Unregistered::NotListed),
        Some(s) if s.transfer_forbidden() => Err(Unregistered::OutsideEea),
        Some(s) => Ok(s),
    }
}
