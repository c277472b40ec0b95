//! Retention follows policy changes: when an activated bundle schedules deletions
//! differently from the one before, the schedule of every stored record is recomputed with
//! the new bundle's retention plugins, in the background, in batches.
//!
//! Progress is kept in the store's metadata (`retention.recompute`), written in the same
//! transaction as each batch's new schedules, so a restart resumes after the last batch.
//! Shortening a period makes what is now overdue due at once (the next sweep deletes it);
//! lengthening one keeps what is now within it.

use std::sync::Arc;

use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use crate::bundle::Policy;
use crate::clock::rfc3339_ms;
use crate::gateway::AppState;
use crate::pipeline::{self, Instances};
use crate::record::Expiry;
use crate::runtime::World;
use crate::store::{About, AuditEntry, Op};

/// The metadata key of the progress.
pub const META_KEY: &str = "retention.recompute";

/// Records examined per transaction.
const BATCH: usize = 256;

/// The progress of a recomputation, as `GET /v1/admin/retention` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// The bundle whose retention is applied.
    pub bundle: String,
    /// Its retention fingerprint (see [`fingerprint`]).
    pub fingerprint: String,
    /// The id of the last record examined (`""`: none yet).
    pub after: String,
    /// Records examined so far.
    pub examined: u64,
    /// Records whose schedule changed.
    pub rescheduled: u64,
    /// Records whose schedule could not be computed (a plugin failed); they keep their
    /// schedule and are listed in the log and the audit log.
    pub failed: u64,
    /// When it started (RFC 3339).
    pub started_at: String,
    /// When it finished (RFC 3339), `None` while running.
    pub finished_at: Option<String>,
}

/// A digest of everything that decides a policy's retention: per kind, the retention
/// plugins (by component digest) and their configuration, in order.
pub fn fingerprint(policy: &Policy) -> String {
    let mut kinds: Vec<_> = policy.kinds.iter().collect();
    kinds.sort_by(|a, b| a.0.cmp(b.0));
    let mut h = Sha256::new();
    for (name, kind) in kinds {
        h.update(name.as_bytes());
        h.update([0]);
        for step in kind
            .chain
            .iter()
            .filter(|s| s.plugin.world == World::Retention)
        {
            h.update(step.plugin.digest.as_bytes());
            h.update([0]);
            h.update(step.config.as_bytes());
            h.update([0]);
        }
        h.update([1]);
    }
    format!("sha256:{}", hex::encode(h.finalize()))
}

/// The current progress, if a recomputation ever ran.
pub fn progress(state: &AppState) -> Result<Option<Progress>> {
    state
        .store
        .meta(META_KEY)?
        .map(|v| serde_json::from_str(&v).context("decoding the recompute progress"))
        .transpose()
}

/// Starts a recomputation if `new` schedules differently from `previous`; returns whether
/// it did.
pub async fn on_activation(state: &AppState, previous: &Policy, new: &Policy) -> Result<bool> {
    let fp = fingerprint(new);
    if fp == fingerprint(previous) {
        return Ok(false);
    }
    let progress = Progress {
        bundle: new.id.clone(),
        fingerprint: fp,
        after: String::new(),
        examined: 0,
        rescheduled: 0,
        failed: 0,
        started_at: rfc3339_ms(state.clock.now_ms()),
        finished_at: None,
    };
    state
        .store
        .write(vec![set(&progress)?])
        .await
        .map_err(anyhow::Error::from)?;
    state.recompute.notify_one();
    Ok(true)
}

fn set(progress: &Progress) -> Result<Op> {
    Ok(Op::SetMeta {
        key: META_KEY.into(),
        value: serde_json::to_string(progress)?,
    })
}

/// Runs recomputations whenever one is started (and once at start, to resume one a
/// restart interrupted), until `stop` turns true.
pub fn spawn(state: Arc<AppState>, mut stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            // Stopping abandons the run between batches; each batch and its progress commit
            // together, so the next start resumes where this one stopped.
            tokio::select! {
                result = run(&state) => if let Err(e) = result {
                    tracing::error!(error = format!("{e:#}"), "retention recompute failed; will retry on the next activation or restart");
                },
                _ = stop.changed() => return,
            }
            tokio::select! {
                () = state.recompute.notified() => {}
                _ = stop.changed() => return,
            }
        }
    })
}

/// Works through the pending recomputation, if any, to its end. Public for tests, which
/// may drive it directly.
pub async fn run(state: &Arc<AppState>) -> Result<()> {
    loop {
        let Some(mut progress) = progress(state)? else {
            return Ok(());
        };
        if progress.finished_at.is_some() {
            return Ok(());
        }
        let policy = state.policy();
        if fingerprint(&policy) != progress.fingerprint {
            // Superseded: the activation that replaced the bundle started its own.
            return Ok(());
        }
        let st = state.clone();
        let after = progress.after.clone();
        let pol = policy.clone();
        let permit = state
            .pipelines
            .clone()
            .acquire_owned()
            .await
            .context("the gateway is shutting down")?;
        let (examined, last, ops, failed) = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            batch(&st, &pol, &after)
        })
        .await
        .context("joining the recompute batch")??;
        if examined == 0 {
            progress.finished_at = Some(rfc3339_ms(state.clock.now_ms()));
            state
                .store
                .write(vec![set(&progress)?])
                .await
                .map_err(anyhow::Error::from)?;
            tracing::info!(bundle = %progress.bundle, examined = progress.examined,
                rescheduled = progress.rescheduled, failed = progress.failed,
                "retention schedule recomputed for the stored records");
            return Ok(());
        }
        // A record written since it was read has a schedule of its own write (that op
        // finds another revision and changes nothing); it is counted all the same.
        progress.rescheduled += ops.len() as u64;
        progress.examined += examined as u64;
        progress.failed += failed;
        progress.after = last;
        let mut ops = ops;
        ops.push(set(&progress)?);
        state.store.write(ops).await.map_err(anyhow::Error::from)?;
    }
}

type Batch = (usize, String, Vec<Op>, u64);

fn batch(state: &AppState, policy: &Policy, after: &str) -> Result<Batch> {
    let records = state.store.records_after(after, BATCH)?;
    let now = state.clock.now_secs();
    let mut instances = Instances::new(&state.runtime);
    let mut ops = Vec::new();
    let mut failed = 0;
    for record in &records {
        let expiries = match pipeline::schedule(policy, record, now, &mut instances, &state.metrics)
        {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(record = %record.id, error = %e, "retention recompute: schedule kept");
                failed += 1;
                // A failed instance is not reused.
                instances = Instances::new(&state.runtime);
                continue;
            }
        };
        if same(&expiries, &record.expiries) {
            continue;
        }
        let decisions: Vec<crate::record::Decision> = expiries
            .iter()
            .map(|e| crate::record::Decision {
                plugin: e.plugin.clone(),
                action: crate::record::Action::ScheduleDeletion,
                path: (!e.path.is_empty()).then(|| e.path.clone()),
                clause: e.clause.clone(),
                reason: String::new(),
            })
            .collect();
        let about = About {
            tenant: &record.tenant,
            id: &record.id,
            kind: &record.kind,
            subject: &record.subject,
        };
        ops.push(Op::Reschedule {
            id: record.id.clone(),
            revision: record.revision,
            expiries,
            bundle: policy.id.clone(),
            audit: AuditEntry::about(
                "retention.rescheduled",
                state.clock.now_ms(),
                about,
                &policy.id,
                &decisions,
            ),
        });
    }
    let last = records.last().map(|r| r.id.clone()).unwrap_or_default();
    Ok((records.len(), last, ops, failed))
}

fn same(a: &[Expiry], b: &[Expiry]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.path == y.path && x.due == y.due && x.clause == y.clause)
}
