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
    /// The chain the entry belongs to: the id of the gateway process (or command) that
    /// wrote it (assigned by the store). Each writer keeps a hash chain of its own, so that
    /// gateways sharing one store never wait on one chain's head; `""` for entries written
    /// before chains had writers (the legacy chain).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub writer: String,
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
            writer: String::new(),
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
            writer: String::new(),
        }
    }
}

/// `sha256:<hex>` of an audit entry's stored bytes.
pub fn link(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// The metadata key under which the store records the head of `writer`'s audit chain: the
/// link of its last entry.
pub fn head_key(writer: &str) -> String {
    if writer.is_empty() {
        LEGACY_HEAD.to_string()
    } else {
        format!("{LEGACY_HEAD}.{writer}")
    }
}

/// The metadata key of the legacy chain's head (entries without a writer).
pub const LEGACY_HEAD: &str = "audit.head";

/// Checks audit chains entry by entry, in sequence order: each writer's entries link to
/// that writer's previous entry, and at the end each chain's last entry is its recorded
/// head. Every backend feeds it its entries and heads, so the rules are the same everywhere.
#[derive(Debug, Default)]
pub struct ChainCheck {
    /// Per writer: the link of its last entry and that entry's sequence number.
    chains: std::collections::BTreeMap<String, (String, u64)>,
    last_seq: u64,
    entries: u64,
}

impl ChainCheck {
    /// Checks the next entry, `bytes` as stored under sequence number `seq`; `Err` is the
    /// verdict when it breaks a chain.
    pub fn entry(&mut self, seq: u64, bytes: &[u8]) -> Result<(), Verdict> {
        let broken = |seq, reason| Err(Verdict::Broken { seq, reason });
        let entry: AuditEntry = match serde_json::from_slice(bytes) {
            Ok(e) => e,
            Err(e) => {
                return broken(
                    seq,
                    format!("entry {seq} is not a readable audit entry ({e})"),
                );
            }
        };
        if entry.seq != seq {
            return broken(seq, format!("entry {seq} says it is entry {}", entry.seq));
        }
        if seq <= self.last_seq {
            return broken(
                seq,
                format!("entry {seq} comes after entry {}", self.last_seq),
            );
        }
        let (prev, prev_seq) = self
            .chains
            .get(&entry.writer)
            .map_or(("", 0), |(link, seq)| (link.as_str(), *seq));
        // Legacy entries written before the chain existed carry no link; their chain starts
        // after them. An entry with a writer always links to its writer's previous entry
        // (`""` for the first one).
        let legacy_unlinked = entry.writer.is_empty() && entry.prev.is_empty();
        if !legacy_unlinked && entry.prev != prev {
            return if prev_seq == 0 {
                broken(
                    seq,
                    format!("entry {seq} links to an entry its chain does not have"),
                )
            } else {
                broken(
                    prev_seq,
                    format!("entry {prev_seq} does not match the hash entry {seq} recorded for it"),
                )
            };
        }
        self.chains.insert(entry.writer, (link(bytes), seq));
        self.last_seq = seq;
        self.entries += 1;
        Ok(())
    }

    /// The verdict, given every recorded chain head as `(writer, head)`: each chain's last
    /// entry must be its recorded head, and each writer's chain must have a recorded head
    /// (the legacy chain of a log older than heads may lack one).
    pub fn finish(self, heads: impl IntoIterator<Item = (String, String)>) -> Verdict {
        let mut chains = self.chains;
        for (writer, head) in heads {
            match chains.remove(&writer) {
                Some((last, seq)) if last != head => {
                    let chain = if writer.is_empty() {
                        "the legacy chain".to_string()
                    } else {
                        format!("the chain of writer {writer}")
                    };
                    return Verdict::Broken {
                        seq,
                        reason: format!(
                            "entry {seq}, the last of {chain}, does not match the recorded head of the chain"
                        ),
                    };
                }
                Some(_) => {}
                None => {
                    return Verdict::Broken {
                        seq: self.last_seq,
                        reason: format!(
                            "the entries of the chain of writer `{writer}` are missing: its recorded head matches none"
                        ),
                    };
                }
            }
        }
        if let Some((writer, (_, seq))) = chains.into_iter().find(|(w, _)| !w.is_empty()) {
            return Verdict::Broken {
                seq,
                reason: format!(
                    "entry {seq}, the last of the chain of writer {writer}, has no recorded head"
                ),
            };
        }
        Verdict::Intact {
            entries: self.entries,
        }
    }
}

/// What checking an audit chain found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every entry links to the one before it in its writer's chain, and each chain's last
    /// entry to the chain's recorded head.
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
