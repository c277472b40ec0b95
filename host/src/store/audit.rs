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

/// The record an audit entry is about.
#[derive(Debug, Clone, Copy)]
pub struct About<'a> {
    /// The tenant.
    pub tenant: &'a str,
    /// The record id.
    pub id: &'a str,
    /// The record kind.
    pub kind: &'a str,
    /// The data subject's key (only its digest is kept).
    pub subject: &'a str,
}

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

/// The metadata key of the hash of the last audit entry's bytes: the head of the chain.
pub const HEAD: &str = "audit.head";

/// `sha256:<hex>` of an audit entry's stored bytes.
pub fn link(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// The hash chain's head in a write transaction: the recorded head, or (for a log written
/// before the chain existed) the hash of the last entry, or `""` for an empty log.
pub(crate) fn head(
    audit: &redb::Table<'_, u64, &'static [u8]>,
    meta: &redb::Table<'_, &'static str, &'static str>,
) -> anyhow::Result<String> {
    use redb::ReadableTable as _;
    if let Some(h) = meta.get(HEAD)? {
        return Ok(h.value().to_string());
    }
    Ok(audit
        .last()?
        .map(|(_, v)| link(v.value()))
        .unwrap_or_default())
}

/// Appends `entry` to the audit log in a write transaction, chained to the entry before it;
/// returns its sequence number.
pub(crate) fn append(txn: &redb::WriteTransaction, mut entry: AuditEntry) -> anyhow::Result<u64> {
    use redb::ReadableTable as _;
    let mut audit = txn.open_table(super::tables::AUDIT)?;
    let mut meta = txn.open_table(super::tables::META)?;
    let seq = audit.last()?.map_or(1, |(k, _)| k.value() + 1);
    entry.seq = seq;
    entry.prev = head(&audit, &meta)?;
    let bytes = serde_json::to_vec(&entry)?;
    audit.insert(seq, bytes.as_slice())?;
    meta.insert(HEAD, link(&bytes).as_str())?;
    Ok(seq)
}

/// What [`verify`] found.
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

/// Checks the audit log's hash chain in `db`: each entry names the hash of the one before
/// (`prev`), and the recorded head is the hash of the last one.
pub fn verify(db: &redb::Database) -> anyhow::Result<Verdict> {
    use redb::{ReadableDatabase as _, ReadableTable as _};
    let txn = db.begin_read()?;
    let audit = txn.open_table(super::tables::AUDIT)?;
    let meta = txn.open_table(super::tables::META)?;
    let mut prev = String::new();
    let mut prev_seq = 0;
    let mut entries = 0;
    for item in audit.iter()? {
        let (k, v) = item?;
        let seq = k.value();
        let entry: AuditEntry = match serde_json::from_slice(v.value()) {
            Ok(e) => e,
            Err(e) => {
                return Ok(Verdict::Broken {
                    seq,
                    reason: format!("entry {seq} is not a readable audit entry ({e})"),
                });
            }
        };
        if entry.seq != seq {
            return Ok(Verdict::Broken {
                seq,
                reason: format!("entry {seq} says it is entry {}", entry.seq),
            });
        }
        // Entries written before the chain existed carry no link; the chain starts after.
        if !entry.prev.is_empty() && entry.prev != prev {
            return Ok(Verdict::Broken {
                seq: prev_seq,
                reason: format!(
                    "entry {prev_seq} does not match the hash entry {seq} recorded for it"
                ),
            });
        }
        prev = link(v.value());
        prev_seq = seq;
        entries += 1;
    }
    if let Some(head) = meta.get(HEAD)?
        && head.value() != prev
    {
        return Ok(Verdict::Broken {
            seq: prev_seq,
            reason: format!(
                "entry {prev_seq}, the last, does not match the recorded head of the chain"
            ),
        });
    }
    Ok(Verdict::Intact { entries })
}
/// The pseudonymous subject reference used in audit entries.
pub fn subject_digest(tenant: &str, subject: &str) -> String {
    let mut h = Sha256::new();
    h.update(tenant.as_bytes());
    h.update([0]);
    h.update(subject.as_bytes());
    format!("sha256:{}", hex::encode(h.finalize()))
}
