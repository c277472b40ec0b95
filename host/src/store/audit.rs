//! Audit entries: what happened, to which record, under which clause. Entries name field
//! paths, clauses and a digest of the subject; they never hold the personal data itself.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::record::{Action, Decision};

/// One decision as the audit log keeps it (no free text that might quote data).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditDecision {
    /// The plugin (or `gateway`).
    pub plugin: String,
    /// What was done.
    pub action: Action,
    /// The field concerned.
    pub path: Option<String>,
    /// The clause.
    pub clause: String,
}

impl From<&Decision> for AuditDecision {
    fn from(d: &Decision) -> Self {
        Self {
            plugin: d.plugin.clone(),
            action: d.action,
            path: d.path.clone(),
            clause: d.clause.clone(),
        }
    }
}

/// An audit entry before the store gives it its sequence number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// Position in the log (assigned by the store; 1-based).
    #[serde(default)]
    pub seq: u64,
    /// Milliseconds since the epoch.
    pub at: i64,
    /// What happened: `record.created`, `record.updated`, `record.deleted`,
    /// `record.rejected`, `record.erased`, `record.disclosed`, `record.refused`,
    /// `retention.field-deleted`, `retention.record-deleted`.
    pub event: String,
    /// The tenant.
    pub tenant: String,
    /// The record id.
    pub record: Option<String>,
    /// The record kind.
    pub kind: Option<String>,
    /// `sha256:<hex>` of `tenant \0 subject`: links entries about one subject without
    /// storing the subject's key.
    pub subject: Option<String>,
    /// The bundle that decided.
    pub bundle: Option<String>,
    /// The decisions.
    #[serde(default)]
    pub decisions: Vec<AuditDecision>,
    /// For a read: who read (`internal` or `subprocessor:ID`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// For a read: the purpose named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    /// For an administrative action: who did it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// For an administrative action: what it concerned (digests, versions, counts; never
    /// personal data).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<serde_json::Value>,
    /// `sha256:<hex>` of the previous entry's stored bytes: the hash chain that makes the log
    /// tamper-evident (`sluice audit verify`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub prev: String,
}

pub use crate::record::About;

impl AuditEntry {
    /// An entry for `event` about a record, decided by `bundle`.
    pub fn about(
        event: &str,
        at: i64,
        record: About<'_>,
        bundle: &str,
        decisions: &[Decision],
    ) -> Self {
        Self {
            seq: 0,
            at,
            event: event.into(),
            tenant: record.tenant.to_string(),
            record: Some(record.id.to_string()),
            kind: Some(record.kind.to_string()),
            subject: Some(subject_digest(record.tenant, record.subject)),
            bundle: Some(bundle.to_string()),
            decisions: decisions.iter().map(AuditDecision::from).collect(),
            audience: None,
            purpose: None,
            actor: None,
            detail: None,
            prev: String::new(),
        }
    }

    /// An entry for an administrative `event` (e.g. `policy.activated`) by `actor`.
    pub fn admin(
        event: &str,
        at: i64,
        actor: &str,
        bundle: Option<&str>,
        detail: serde_json::Value,
    ) -> Self {
        Self {
            seq: 0,
            at,
            event: event.into(),
            tenant: String::new(),
            record: None,
            kind: None,
            subject: None,
            bundle: bundle.map(str::to_string),
            decisions: Vec::new(),
            audience: None,
            purpose: None,
            actor: Some(actor.to_string()),
            detail: Some(detail),
            prev: String::new(),
        }
    }
}

/// `sha256:<hex>` of an audit entry's stored bytes.
pub fn link(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// What checking an audit chain found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every entry links to the one before and the last one to the recorded head.
    Intact {
        /// Entries checked.
        entries: u64,
    },
    /// The first entry that does not match the chain, and why.
    Broken {
        /// Its sequence number.
        seq: u64,
        /// Why.
        reason: String,
    },
}

/// The pseudonymous subject reference used in audit entries.
pub fn subject_digest(tenant: &str, subject: &str) -> String {
    let mut h = Sha256::new();
    h.update(tenant.as_bytes());
    h.update([0]);
    h.update(subject.as_bytes());
    format!("sha256:{}", hex::encode(h.finalize()))
}
