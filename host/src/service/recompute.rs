//! Retention follows policy changes: when an activation changes how a scope's bundle
//! schedules deletions, the schedule of every stored record of that scope is recomputed
//! with the new bundle's retention plugins, in the background, in batches. A scope is one
//! tenant (its records, walked through the `tenant_records` index) or the gateway default
//! (the records of every tenant without a bundle of its own).
//!
//! Progress is kept in the store's metadata (`retention.recompute` for the default,
//! `retention.recompute.<tenant>` for a tenant's own), written in the same transaction as
//! each batch's new schedules, so a restart resumes after the last batch. Shortening a
//! period makes what is now overdue due at once (the next sweep deletes it); lengthening
//! one keeps what is now within it.

use std::collections::BTreeMap;
use std::sync::Arc;

use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use crate::bundle::Policy;
use crate::clock::SharedClock;
use crate::clock::rfc3339_ms;
use crate::record::{Expiry, StoredRecord};
use crate::runtime::World;
use crate::service::executor::{Admission, Lane};
use crate::state::{AppState, Policies};
use crate::store::{AuditEntry, Op};

/// The metadata key of the default's progress; a tenant's is `retention.recompute.<tenant>`.
pub const META_KEY: &str = "retention.recompute";

/// Records examined per transaction.
const BATCH: usize = 256;

/// The metadata key of `scope`'s progress.
pub fn meta_key(scope: Option<&str>) -> String {
    scope.map_or_else(|| META_KEY.to_string(), |t| format!("{META_KEY}.{t}"))
}

/// The progress of a recomputation, as `GET /v1/admin/retention` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// The tenant whose records are recomputed; `None` for the default's scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
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
    /// The default's scope: the counts of each tenant's records (what a tenant is shown).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tenants: BTreeMap<String, Counts>,
    /// When it started (RFC 3339).
    pub started_at: String,
    /// When it finished (RFC 3339), `None` while running.
    pub finished_at: Option<String>,
}

/// One tenant's share of the default's recomputation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Records examined.
    pub examined: u64,
    /// Records whose schedule changed.
    pub rescheduled: u64,
    /// Records whose schedule could not be computed.
    pub failed: u64,
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

/// The progress of `scope`'s recomputation, if one ever ran.
pub fn progress(state: &AppState, scope: Option<&str>) -> Result<Option<Progress>> {
    state
        .store
        .meta(&meta_key(scope))?
        .map(|v| serde_json::from_str(&v).context("decoding the recompute progress"))
        .transpose()
}

/// The recomputation `tenant` is shown: of its own records when it runs on a bundle of its
/// own; otherwise the later of its own (going back to the default) and its share of the
/// default's, without the default's cursor or other tenants' counts.
pub fn view(state: &AppState, tenant: &str) -> Result<Option<Progress>> {
    let own = progress(state, Some(tenant))?;
    if state.policies().has_own(tenant) {
        return Ok(own);
    }
    let shared = progress(state, None)?.map(|mut p| {
        let counts = p.tenants.remove(tenant).unwrap_or_default();
        Progress {
            tenant: None,
            after: String::new(),
            examined: counts.examined,
            rescheduled: counts.rescheduled,
            failed: counts.failed,
            tenants: BTreeMap::new(),
            ..p
        }
    });
    Ok(match (own, shared) {
        (Some(o), Some(s)) if o.started_at >= s.started_at => Some(o),
        (o, s) => s.or(o),
    })
}

/// Starts a recomputation of `scope`'s records if `new` schedules differently from
/// `previous`; returns whether it did. `followed` says the scope ran on the default
/// before (a tenant without a bundle of its own): when the default's own recomputation
/// has not reached all of its records yet, the tenant's are recomputed all the same, since
/// the default's run leaves the records of a tenant with a bundle of its own alone.
pub async fn on_change(
    state: &AppState,
    scope: Option<&str>,
    previous: &Policy,
    new: &Policy,
    followed: bool,
) -> Result<bool> {
    let fp = fingerprint(new);
    let unfinished_default = scope.is_some()
        && followed
        && progress(state, None)?.is_some_and(|p| p.finished_at.is_none());
    if fp == fingerprint(previous) && !unfinished_default {
        return Ok(false);
    }
    let progress = Progress {
        tenant: scope.map(str::to_string),
        bundle: new.id.clone(),
        fingerprint: fp,
        after: String::new(),
        examined: 0,
        rescheduled: 0,
        failed: 0,
        tenants: BTreeMap::new(),
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
        key: meta_key(progress.tenant.as_deref()),
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

/// The policy a scope's recomputation applies, if it is still the one in force there
/// (a recomputation superseded by a later change of the scope's retention stops).
fn policy_of(policies: &Policies, progress: &Progress) -> Option<Arc<Policy>> {
    let policy = policies.of(progress.tenant.as_deref());
    (fingerprint(policy) == progress.fingerprint).then(|| policy.clone())
}

/// Works through the pending recomputations, if any, to their end, one batch of each scope
/// in turn. Public for tests, which may drive it directly.
pub async fn run(state: &Arc<AppState>) -> Result<()> {
    loop {
        let mut pending = Vec::new();
        for (_, value) in state.store.meta_family(META_KEY)? {
            let progress: Progress =
                serde_json::from_str(&value).context("decoding the recompute progress")?;
            if progress.finished_at.is_none() {
                pending.push(progress);
            }
        }
        let mut worked = false;
        for progress in pending {
            // Superseded: the change that replaced the scope's bundle started its own.
            let Some(policy) = policy_of(&state.policies(), &progress) else {
                continue;
            };
            step(state, policy, progress).await?;
            worked = true;
        }
        if !worked {
            return Ok(());
        }
    }
}

/// One batch of a scope's recomputation, committed with its progress.
async fn step(state: &Arc<AppState>, policy: Arc<Policy>, mut progress: Progress) -> Result<()> {
    let st = state.clone();
    let (scope, after) = (progress.tenant.clone(), progress.after.clone());
    let pol = policy.clone();
    let (last, ops, outcomes) = state
        .executor
        .run(Admission::Wait, 1, move |worker| {
            let records = match &scope {
                Some(t) => st.store.tenant_records_after(t, &after, BATCH)?,
                None => st.store.records_after(&after, BATCH)?,
            };
            let last = records.last().map(|r| r.id.clone());
            // The default's run leaves the records of tenants with a bundle of their own alone.
            let policies = st.policies();
            let records: Vec<StoredRecord> = match &scope {
                Some(_) => records,
                None => records
                    .into_iter()
                    .filter(|r| !policies.has_own(&r.tenant))
                    .collect(),
            };
            let (ops, outcomes) = batch(&mut worker.dry_lane(), &st.clock, &pol, &records);
            Ok::<_, anyhow::Error>((last, ops, outcomes))
        })
        .await
        .context("the recompute batch")??;
    let Some(last) = last else {
        progress.finished_at = Some(rfc3339_ms(state.clock.now_ms()));
        state
            .store
            .write(vec![set(&progress)?])
            .await
            .map_err(anyhow::Error::from)?;
        tracing::info!(bundle = %progress.bundle, tenant = ?progress.tenant,
            examined = progress.examined, rescheduled = progress.rescheduled,
            failed = progress.failed, "retention schedule recomputed for the stored records");
        return Ok(());
    };
    // A record written since it was read has a schedule of its own write (that op finds
    // another revision and changes nothing); it is counted all the same.
    for (tenant, outcome) in outcomes {
        let (rescheduled, failed) = (
            u64::from(outcome == Outcome::Rescheduled),
            u64::from(outcome == Outcome::Failed),
        );
        progress.examined += 1;
        progress.rescheduled += rescheduled;
        progress.failed += failed;
        if progress.tenant.is_none() {
            let counts = progress.tenants.entry(tenant).or_default();
            counts.examined += 1;
            counts.rescheduled += rescheduled;
            counts.failed += failed;
        }
    }
    progress.after = last;
    let mut ops = ops;
    ops.push(set(&progress)?);
    state.store.write(ops).await.map_err(anyhow::Error::from)?;
    Ok(())
}

/// What became of one record's schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Unchanged,
    Rescheduled,
    Failed,
}

/// The reschedule ops of `records` under `policy`, and each record's tenant and outcome.
fn batch<'a>(
    lane: &mut Lane<'a>,
    clock: &SharedClock,
    policy: &'a Policy,
    records: &[StoredRecord],
) -> (Vec<Op>, Vec<(String, Outcome)>) {
    let now = clock.now_secs();
    let mut ops = Vec::new();
    let mut outcomes = Vec::with_capacity(records.len());
    for record in records {
        let expiries = match lane.schedule(policy, record, now) {
            Ok(e) => e,
            Err(e) => {
                tracing::warn!(record = %record.id, error = %e, "retention recompute: schedule kept");
                outcomes.push((record.tenant.clone(), Outcome::Failed));
                continue;
            }
        };
        if same(&expiries, &record.expiries) {
            outcomes.push((record.tenant.clone(), Outcome::Unchanged));
            continue;
        }
        outcomes.push((record.tenant.clone(), Outcome::Rescheduled));
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
        let about = record.about();
        ops.push(Op::Reschedule {
            id: record.id.clone(),
            revision: record.revision,
            expiries,
            bundle: policy.id.clone(),
            audit: AuditEntry::about(
                "retention.rescheduled",
                clock.now_ms(),
                about,
                &policy.id,
                &decisions,
            ),
        });
    }
    (ops, outcomes)
}

fn same(a: &[Expiry], b: &[Expiry]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.path == y.path && x.due == y.due && x.clause == y.clause)
}
