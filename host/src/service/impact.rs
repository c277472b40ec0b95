//! The impact report of a candidate bundle over one tenant's stored records: what activating
//! it for that tenant would delete, redact, reject or stop disclosing now, compared with the
//! bundle the tenant runs on. Only the tenant's own records are walked (the
//! `tenant_records` index), so neither the report, its cursor nor the time it takes depend
//! on other tenants' records. Nothing is changed; the candidate runs in the sandbox like
//! any policy.

use serde::Serialize;

use crate::bundle::Policy;
use crate::pipeline::{self, Disclosure, Outcome, ReadRequest, WriteInput};
use crate::record::{Action, StoredRecord, leaves};
use crate::service::executor::{Lane, Worker};
use crate::state::AppState;

/// Most records one report examines; a report that stops there gives the cursor to go on.
pub const MAX_RECORDS: usize = 10_000;

/// The impact of a candidate bundle.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Impact {
    /// The candidate.
    pub candidate: String,
    /// The active bundle it is compared with.
    pub active: String,
    /// Records examined (of the caller's tenant).
    pub examined: u64,
    /// When more of the tenant's records remain: pass it as `after` to continue.
    pub next: Option<String>,
    /// Fields and records the candidate's retention makes due now.
    pub would_delete: Vec<Deletion>,
    /// Stored fields the candidate's write chain would redact, normalise or remove.
    pub would_redact: Vec<Edit>,
    /// Stored records the candidate's admission would refuse.
    pub would_reject: Vec<Edit>,
    /// Reads the active bundle permits and the candidate refuses or narrows.
    pub would_stop_disclosing: Vec<Withheld>,
    /// Records the candidate could not process (a plugin failed).
    pub failed: Vec<String>,
}

/// A deletion the candidate would make now.
#[derive(Debug, Clone, Serialize)]
pub struct Deletion {
    /// The record.
    pub record: String,
    /// The field; `None` for the whole record.
    pub path: Option<String>,
    /// The clause.
    pub clause: String,
    /// When it falls due under the candidate (RFC 3339).
    pub due: String,
}

/// A change of stored data, or a refusal, by the candidate's write chain.
#[derive(Debug, Clone, Serialize)]
pub struct Edit {
    /// The record.
    pub record: String,
    /// The plugin.
    pub plugin: String,
    /// What it would do.
    pub action: Action,
    /// The field; `None` for the whole record.
    pub path: Option<String>,
    /// The clause.
    pub clause: String,
}

/// A disclosure the candidate would stop or narrow.
#[derive(Debug, Clone, Serialize)]
pub struct Withheld {
    /// The record.
    pub record: String,
    /// Who reads.
    pub audience: String,
    /// Why.
    pub purpose: String,
    /// The clause of the candidate's refusal; `None` when it narrows the projection.
    pub clause: Option<String>,
    /// The fields (JSON Pointers) disclosed now and no longer under the candidate.
    pub paths: Vec<String>,
}

/// Computes the impact of `candidate` over up to `limit` stored records of `tenant` after
/// `after`, against `active` (the bundle the tenant runs on). Blocks (runs plugins); call
/// it off the async workers.
pub fn report(
    state: &AppState,
    worker: &Worker,
    tenant: &str,
    active: &Policy,
    candidate: &Policy,
    after: &str,
    limit: usize,
) -> anyhow::Result<Impact> {
    let limit = limit.clamp(1, MAX_RECORDS);
    let records = state.store.tenant_records_after(tenant, after, limit + 1)?;
    let now = state.clock.now_secs();
    let more = records.len() > limit;
    let mut out = Impact {
        candidate: candidate.id.clone(),
        active: active.id.clone(),
        ..Impact::default()
    };
    let mut live = worker.dry_lane();
    let mut cand = worker.dry_lane();
    for record in records.iter().take(limit) {
        out.examined += 1;
        if examine(
            active, candidate, record, now, &mut live, &mut cand, &mut out,
        )
        .is_err()
        {
            out.failed.push(record.id.clone());
        }
        if more {
            out.next = Some(record.id.clone());
        }
    }
    if !more {
        out.next = None;
    }
    Ok(out)
}

fn examine<'a>(
    active: &'a Policy,
    candidate: &'a Policy,
    record: &StoredRecord,
    now: i64,
    live: &mut Lane<'a>,
    cand: &mut Lane<'a>,
    out: &mut Impact,
) -> Result<(), pipeline::PipelineError> {
    for e in cand.schedule(candidate, record, now)? {
        if e.due <= now {
            out.would_delete.push(Deletion {
                record: record.id.clone(),
                path: (!e.path.is_empty()).then(|| e.path.clone()),
                clause: e.clause,
                due: crate::clock::rfc3339_secs(e.due),
            });
        }
    }
    let input = WriteInput::revision_of(record, record.fields.clone(), record.updated_at);
    match cand.write(candidate, &input, now) {
        Ok(Outcome::Accepted(a)) => {
            for d in a.decisions.iter().filter(|d| {
                matches!(
                    d.action,
                    Action::Redact | Action::Normalise | Action::Remove
                )
            }) {
                out.would_redact.push(Edit {
                    record: record.id.clone(),
                    plugin: d.plugin.clone(),
                    action: d.action,
                    path: d.path.clone(),
                    clause: d.clause.clone(),
                });
            }
        }
        Ok(Outcome::Rejected(r)) => out.would_reject.push(Edit {
            record: record.id.clone(),
            plugin: r.decision.plugin,
            action: Action::Reject,
            path: r.decision.path,
            clause: r.decision.clause,
        }),
        // A stored record that no longer fits the candidate's schema is refused too.
        Err(pipeline::PipelineError::Schema { clause, problems }) => out.would_reject.push(Edit {
            record: record.id.clone(),
            plugin: "gateway".into(),
            action: Action::Reject,
            path: problems.first().map(|p| p.path.clone()),
            clause: clause.unwrap_or_default(),
        }),
        Err(pipeline::PipelineError::UnknownKind { .. }) => out.would_reject.push(Edit {
            record: record.id.clone(),
            plugin: "gateway".into(),
            action: Action::Reject,
            path: None,
            clause: String::new(),
        }),
        Err(e) => return Err(e),
    }
    let mut audiences = vec![pipeline::INTERNAL.to_string()];
    audiences.extend(
        active
            .register
            .keys()
            .map(|id| format!("subprocessor:{id}")),
    );
    let mut purposes = active.purposes.clone();
    if purposes.is_empty() {
        purposes.push(String::new());
    }
    for audience in &audiences {
        for purpose in &purposes {
            let request = ReadRequest {
                audience: audience.clone(),
                purpose: purpose.clone(),
            };
            let Disclosure::Permitted { fields: before, .. } =
                live.read(active, record, &request, now)?
            else {
                continue;
            };
            let withheld = match cand.read(candidate, record, &request, now)? {
                Disclosure::Refused(d) => Some((Some(d.clause), leaves(&before))),
                Disclosure::Permitted { fields: after, .. } => {
                    let kept = leaves(&after);
                    let lost: Vec<String> = leaves(&before)
                        .into_iter()
                        .filter(|p| !kept.contains(p))
                        .collect();
                    (!lost.is_empty()).then_some((None, lost))
                }
            };
            if let Some((clause, paths)) = withheld {
                out.would_stop_disclosing.push(Withheld {
                    record: record.id.clone(),
                    audience: audience.clone(),
                    purpose: purpose.clone(),
                    clause,
                    paths,
                });
            }
        }
    }
    Ok(())
}
