//! Deletions survive a restore. A backup holds the database as it was when it was taken; a
//! record or field deleted afterwards (by retention, a deletion, an erasure or a refusal that
//! erased it) would come back with it. Every such deletion is in the audit log, by record id
//! and field path (never by value), so `sluice restore`, when it replaces a database,
//! collects the deletions that the replaced database's audit log holds after the backup's
//! last entry (the store's `forget::since`) and leaves them in the restored database (`meta`
//! [`META_KEY`]). The gateway applies them before it sweeps and serves ([`reapply`]),
//! through the writer, each as an [`Op::Forget`] with a `restore.reapplied` audit entry, so
//! nothing deleted before the restore is readable, deliverable or in a later backup after it.
//! Retention deletions are also redone by the catch-up sweep (the schedule is restored with
//! the records), so a backup restored without the database it replaces still loses what is
//! overdue before the first request.

use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};

use crate::clock::SharedClock;
use crate::record::Action;
use crate::store::audit::AuditDecision;
use crate::store::{AuditEntry, Op, Store};

/// The metadata key holding the deletions still to re-apply (a JSON list of [`Forget`]).
pub const META_KEY: &str = "restore.forget";

/// Deletions re-applied per transaction.
const BATCH: usize = 256;

/// One deletion to re-apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Forget {
    /// The audit entry that recorded it, in the replaced database.
    pub seq: u64,
    /// Its event (`record.deleted`, `rights.erased`, `retention.field-deleted`, ...).
    pub event: String,
    /// The record's tenant.
    pub tenant: String,
    /// The record.
    pub record: String,
    /// The record's kind.
    pub kind: Option<String>,
    /// The subject reference of the audit entry (a digest, never the key).
    pub subject: Option<String>,
    /// The fields deleted; empty when the whole record was.
    pub paths: Vec<String>,
    /// The clause of the deletion.
    pub clause: Option<String>,
}

/// What an audit entry deleted, if anything: `Some(paths)`, empty for the whole record.
fn deleted(entry: &AuditEntry) -> Option<Vec<String>> {
    let paths = || -> Vec<String> {
        entry
            .decisions
            .iter()
            .filter(|d| d.action == Action::Delete)
            .filter_map(|d| d.path.clone())
            .collect()
    };
    match entry.event.as_str() {
        "record.deleted" | "record.erased" | "retention.record-deleted" => Some(Vec::new()),
        "rights.erased" => {
            let whole = entry
                .detail
                .as_ref()
                .and_then(|d| d.get("deleted"))
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(true);
            Some(if whole { Vec::new() } else { paths() })
        }
        "retention.field-deleted" => {
            let p = paths();
            // A field deletion names its field; without one there is nothing to redo.
            (!p.is_empty()).then_some(p)
        }
        "restore.reapplied" => Some(paths()),
        _ => None,
    }
}

/// The deletion audit entry `entry` (number `seq`) recorded, if it recorded one.
pub fn of_entry(seq: u64, entry: &AuditEntry) -> Option<Forget> {
    let (Some(record), Some(paths)) = (entry.record.clone(), deleted(entry)) else {
        return None;
    };
    Some(Forget {
        seq,
        event: entry.event.clone(),
        tenant: entry.tenant.clone(),
        record,
        kind: entry.kind.clone(),
        subject: entry.subject.clone(),
        paths,
        clause: entry.decisions.iter().map(|d| d.clause.clone()).next(),
    })
}

/// Applies the deletions a restore left, if any; returns how many. Runs before the gateway
/// sweeps or serves.
pub async fn reapply(store: &Store, clock: &SharedClock) -> Result<usize> {
    let Some(text) = store.meta(META_KEY)? else {
        return Ok(0);
    };
    let forgets: Vec<Forget> =
        serde_json::from_str(&text).context("decoding the deletions left by a restore")?;
    if forgets.is_empty() {
        return Ok(0);
    }
    let now = clock.now_ms();
    for chunk in forgets.chunks(BATCH) {
        let ops = chunk
            .iter()
            .map(|f| Op::Forget {
                id: f.record.clone(),
                paths: f.paths.clone(),
                audit: entry(f, now),
            })
            .collect();
        store.write(ops).await.map_err(anyhow::Error::from)?;
    }
    store
        .write(vec![Op::SetMeta {
            key: META_KEY.into(),
            value: "[]".into(),
        }])
        .await
        .map_err(anyhow::Error::from)?;
    tracing::info!(
        deletions = forgets.len(),
        "restore: re-applied the deletions made after the backup was taken"
    );
    Ok(forgets.len())
}

/// The audit entry of a re-applied deletion: paths and clause, and the entry it repeats.
fn entry(f: &Forget, at: i64) -> AuditEntry {
    let clause = f.clause.clone().unwrap_or_default();
    let decisions = if f.paths.is_empty() {
        vec![AuditDecision {
            plugin: "gateway".into(),
            action: Action::Delete,
            path: None,
            clause,
        }]
    } else {
        f.paths
            .iter()
            .map(|p| AuditDecision {
                plugin: "gateway".into(),
                action: Action::Delete,
                path: Some(p.clone()),
                clause: clause.clone(),
            })
            .collect()
    };
    AuditEntry {
        seq: 0,
        at,
        event: "restore.reapplied".into(),
        tenant: f.tenant.clone(),
        record: Some(f.record.clone()),
        kind: f.kind.clone(),
        subject: f.subject.clone(),
        bundle: None,
        decisions,
        audience: None,
        purpose: None,
        actor: None,
        detail: Some(serde_json::json!({"repeats": f.seq, "event": f.event})),
        prev: String::new(),
        writer: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn audit(
        event: &str,
        decisions: &[(Option<&str>, Action)],
        detail: Option<serde_json::Value>,
    ) -> AuditEntry {
        AuditEntry {
            seq: 1,
            at: 0,
            event: event.into(),
            tenant: "t".into(),
            record: Some("r".into()),
            kind: Some("k".into()),
            subject: None,
            bundle: None,
            decisions: decisions
                .iter()
                .map(|(p, a)| AuditDecision {
                    plugin: "p".into(),
                    action: *a,
                    path: p.map(str::to_string),
                    clause: "9".into(),
                })
                .collect(),
            audience: None,
            purpose: None,
            actor: None,
            detail,
            prev: String::new(),
            writer: String::new(),
        }
    }

    #[test]
    fn deletions_are_read_from_their_audit_entries() {
        assert_eq!(deleted(&audit("record.deleted", &[], None)), Some(vec![]));
        assert_eq!(
            deleted(&audit(
                "retention.record-deleted",
                &[(None, Action::Delete)],
                None
            )),
            Some(vec![])
        );
        assert_eq!(
            deleted(&audit(
                "retention.field-deleted",
                &[(Some("/password"), Action::Delete)],
                None
            )),
            Some(vec!["/password".to_string()])
        );
        let partial = audit(
            "rights.erased",
            &[
                (Some("/phone"), Action::Delete),
                (Some("/email"), Action::Delete),
            ],
            Some(serde_json::json!({"deleted": false})),
        );
        assert_eq!(
            deleted(&partial),
            Some(vec!["/phone".to_string(), "/email".to_string()])
        );
        let whole = audit(
            "rights.erased",
            &[(Some("/name"), Action::Delete)],
            Some(serde_json::json!({"deleted": true})),
        );
        assert_eq!(deleted(&whole), Some(vec![]));
        assert_eq!(deleted(&audit("record.created", &[], None)), None);
        assert_eq!(deleted(&audit("record.disclosed", &[], None)), None);
    }
}
