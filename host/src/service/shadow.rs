//! Shadow runs: a candidate bundle processes a copy of one tenant's live writes beside the
//! bundle that tenant runs on, with no effect on what is stored, disclosed or forwarded.
//! Each tenant has at most one run, and sees only its own. The report lists the records
//! whose decisions differ: which plugin, which clause, before and after.
//!
//! The candidate runs after the live write, on its own blocking task, only when a pipeline
//! slot is free: a shadow run never slows live traffic (writes it had to skip are counted).
//! The report is kept in memory, up to [`MAX_DIFFERENCES`] records; the counters cover all.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use serde::Serialize;

use crate::bundle::Policy;
use crate::clock::rfc3339_ms;
use crate::pipeline::{Outcome, PipelineError, WriteInput};
use crate::record::{Action, Decision};
use crate::service::executor::Executor;

/// Most differing records a report lists.
pub const MAX_DIFFERENCES: usize = 1000;

/// A shadow run in progress.
#[derive(Debug)]
pub struct Shadow {
    /// The candidate bundle.
    pub candidate: Arc<Policy>,
    report: Mutex<Report>,
}

/// What a shadow run found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The candidate bundle.
    pub candidate: String,
    /// Its package digest.
    pub digest: String,
    /// Who started the run.
    pub started_by: String,
    /// When (RFC 3339).
    pub started_at: String,
    /// When it was stopped (RFC 3339), `None` while running.
    pub stopped_at: Option<String>,
    /// Writes the candidate processed beside the active bundle.
    pub observed: u64,
    /// Of those, writes whose decisions differ.
    pub differing: u64,
    /// Writes skipped because no pipeline slot was free.
    pub skipped: u64,
    /// The differing records (at most [`MAX_DIFFERENCES`]).
    pub differences: Vec<Difference>,
    /// Whether differing records were left out of `differences`.
    pub truncated: bool,
}

/// One record whose decisions differ.
#[derive(Debug, Clone, Serialize)]
pub struct Difference {
    /// The record id.
    pub record: String,
    /// The kind.
    pub kind: String,
    /// The active bundle that decided for real.
    pub active: String,
    /// The outcome under the active bundle (`accepted`, `rejected`, `failed`).
    pub before: String,
    /// The outcome under the candidate.
    pub after: String,
    /// Each decision that differs.
    pub changes: Vec<Change>,
}

/// A decision of one bundle and not of the other (or the same decision with another
/// clause or detail).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// The plugin.
    pub plugin: String,
    /// The action.
    pub action: Action,
    /// The field, `None` for the whole record.
    pub path: Option<String>,
    /// Under the active bundle: the clause (and detail), `None` if it did not decide this.
    pub before: Option<Effect>,
    /// Under the candidate.
    pub after: Option<Effect>,
}

/// What a decision says beyond its plugin, action and path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Effect {
    /// The clause.
    pub clause: String,
    /// For a scheduled deletion, when it is due; for a delivery, to whom.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

type Key = (String, Action, Option<String>);

fn effects(outcome: &Result<Outcome, PipelineError>) -> (String, BTreeMap<Key, Vec<Effect>>) {
    let mut out: BTreeMap<Key, Vec<Effect>> = BTreeMap::new();
    let mut add = |d: &Decision, detail: Option<String>| {
        out.entry((d.plugin.clone(), d.action, d.path.clone()))
            .or_default()
            .push(Effect {
                clause: d.clause.clone(),
                detail,
            });
    };
    let label = match outcome {
        Ok(Outcome::Accepted(a)) => {
            let mut expiries = a.expiries.iter();
            let mut deliveries = a.deliveries.iter();
            for d in &a.decisions {
                let detail = match d.action {
                    Action::ScheduleDeletion => {
                        expiries.next().map(|e| crate::clock::rfc3339_secs(e.due))
                    }
                    Action::Forward => deliveries
                        .next()
                        .map(|x| format!("{} {}", x.vendor, x.endpoint)),
                    _ => None,
                };
                add(d, detail);
            }
            "accepted"
        }
        Ok(Outcome::Rejected(r)) => {
            for d in &r.decisions {
                add(d, None);
            }
            add(&r.decision, None);
            "rejected"
        }
        Err(_) => "failed",
    };
    (label.to_string(), out)
}

/// The differences between the active outcome and the candidate's (empty: the same).
fn compare(
    active: &Result<Outcome, PipelineError>,
    candidate: &Result<Outcome, PipelineError>,
) -> (String, String, Vec<Change>) {
    let (before_label, before) = effects(active);
    let (after_label, after) = effects(candidate);
    let mut changes = Vec::new();
    let keys: std::collections::BTreeSet<&Key> = before.keys().chain(after.keys()).collect();
    for key in keys {
        let b = before.get(key).map(Vec::as_slice).unwrap_or_default();
        let a = after.get(key).map(Vec::as_slice).unwrap_or_default();
        if a == b {
            continue;
        }
        for i in 0..a.len().max(b.len()) {
            let (bi, ai) = (b.get(i), a.get(i));
            if bi != ai {
                changes.push(Change {
                    plugin: key.0.clone(),
                    action: key.1,
                    path: key.2.clone(),
                    before: bi.cloned(),
                    after: ai.cloned(),
                });
            }
        }
    }
    (before_label, after_label, changes)
}

impl Shadow {
    /// Starts a shadow run of `candidate`.
    pub fn new(candidate: Arc<Policy>, started_by: &str, now_ms: i64) -> Self {
        let report = Report {
            candidate: candidate.id.clone(),
            digest: candidate.digest.clone(),
            started_by: started_by.to_string(),
            started_at: rfc3339_ms(now_ms),
            stopped_at: None,
            observed: 0,
            differing: 0,
            skipped: 0,
            differences: Vec::new(),
            truncated: false,
        };
        Self {
            candidate,
            report: Mutex::new(report),
        }
    }

    /// The report so far.
    pub fn report(&self) -> Report {
        self.report
            .lock()
            .map(|r| r.clone())
            .unwrap_or_else(|e| e.into_inner().clone())
    }

    /// The final report, marked stopped at `now_ms`.
    pub fn stop(&self, now_ms: i64) -> Report {
        let mut r = self.report();
        r.stopped_at = Some(rfc3339_ms(now_ms));
        r
    }

    fn record(&self, f: impl FnOnce(&mut Report)) {
        let mut guard = self.report.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut guard);
    }
}

/// Runs `tenant`'s shadow candidate, if it has one, over writes of that tenant the active
/// bundle `active` just decided, in the background. `now` is the time the live writes ran
/// at (seconds).
pub fn observe(
    shadows: &ArcSwap<HashMap<String, Arc<Shadow>>>,
    executor: &Executor,
    tenant: &str,
    active: &Arc<Policy>,
    writes: &[(WriteInput, Result<Outcome, PipelineError>)],
    now: i64,
) {
    let shadows = shadows.load();
    if shadows.is_empty() {
        return;
    }
    let Some(shadow) = shadows.get(tenant).cloned() else {
        return;
    };
    drop(shadows);
    let skipped = shadow.clone();
    let writes = writes.to_vec();
    let count = writes.len() as u64;
    let active_id = active.id.clone();
    let started = executor.try_spawn(move |worker| {
        let candidate = shadow.candidate.clone();
        let mut lane = worker.dry_lane();
        for (input, live) in &writes {
            let shadowed = lane.write(&candidate, input, now);
            let (before, after, changes) = compare(live, &shadowed);
            shadow.record(|r| {
                r.observed += 1;
                if before == after && changes.is_empty() {
                    return;
                }
                r.differing += 1;
                if r.differences.len() >= MAX_DIFFERENCES {
                    r.truncated = true;
                    return;
                }
                r.differences.push(Difference {
                    record: input.id.clone(),
                    kind: input.kind.clone(),
                    active: active_id.clone(),
                    before,
                    after,
                    changes,
                });
            });
        }
    });
    if !started {
        skipped.record(|r| r.skipped += count);
    }
}
