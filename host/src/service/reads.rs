//! Reads of records: loading them for a tenant, the read chain of the caller's policy with
//! the subject's standing requests (objections, restrictions), and the audit entries of
//! every disclosure and refusal, written before the data leaves.

use std::sync::Arc;

use crate::api::error::ApiError;
use crate::bundle::Policy;
use crate::pipeline::{self, Disclosure, ReadRequest};
use crate::record::StoredRecord;
use crate::service::executor::Admission;
use crate::state::AppState;
use crate::store::{AuditEntry, Op};

/// The record `id` of `tenant` (another tenant's record is as absent as a missing one).
pub(crate) fn load(state: &AppState, tenant: &str, id: &str) -> Result<StoredRecord, ApiError> {
    match state.store.get(id) {
        Ok(Some(r)) if r.tenant == tenant => Ok(r),
        Ok(_) => Err(ApiError::not_found(format!("no record with id `{id}`"))),
        Err(e) => Err(ApiError::internal(&e)),
    }
}

/// [`load`] on a blocking thread (store reads may touch the disk).
pub(crate) async fn load_off_runtime(
    state: &Arc<AppState>,
    tenant: &str,
    id: &str,
) -> Result<StoredRecord, ApiError> {
    let st = state.clone();
    let (tenant, id) = (tenant.to_string(), id.to_string());
    tokio::task::spawn_blocking(move || load(&st, &tenant, &id))
        .await
        .map_err(|e| ApiError::internal(&anyhow::anyhow!("read task failed: {e}")))?
}

/// Runs the read chain over `records` off the async workers.
pub(crate) async fn disclose_all(
    state: &Arc<AppState>,
    policy: Arc<Policy>,
    records: Vec<StoredRecord>,
    request: ReadRequest,
) -> Result<Vec<(StoredRecord, Disclosure)>, ApiError> {
    let st = state.clone();
    let (policy_id, audience, purpose) = (
        policy.id.clone(),
        request.audience.clone(),
        request.purpose.clone(),
    );
    let disclosed = state
        .executor
        .run(Admission::Queued, 1, move |worker| {
            let mut lane = worker.lane();
            let now = st.clock.now_secs();
            let mut out = Vec::with_capacity(records.len());
            let mut rights = std::collections::HashMap::new();
            for record in records {
                let digest = crate::store::subject_digest(&record.tenant, &record.subject);
                if !rights.contains_key(&digest) {
                    let r = st
                        .store
                        .rights(&digest)
                        .map_err(|e| ApiError::internal(&e))?;
                    rights.insert(digest.clone(), r);
                }
                if let Some(refusal) = rights[&digest].refusal(&request.purpose) {
                    st.metrics.decisions(std::iter::once(&refusal));
                    out.push((record, Disclosure::Refused(refusal)));
                    continue;
                }
                match lane.read(&policy, &record, &request, now) {
                    Ok(d) => {
                        match &d {
                            Disclosure::Permitted { decisions, .. } => {
                                st.metrics.decisions(decisions)
                            }
                            Disclosure::Refused(decision) => {
                                st.metrics.decisions(std::iter::once(decision))
                            }
                        }
                        out.push((record, d));
                    }
                    Err(e) => return Err(ApiError::from(e)),
                }
            }
            Ok::<_, ApiError>(out)
        })
        .await??;
    // Every disclosure and refusal is in the audit log before the data leaves.
    let at = state.clock.now_ms();
    let ops: Vec<Op> = disclosed
        .iter()
        .map(|(record, d)| {
            let (event, decisions) = match d {
                Disclosure::Permitted { decisions, .. } => {
                    ("record.disclosed", decisions.as_slice())
                }
                Disclosure::Refused(decision) => ("record.refused", std::slice::from_ref(decision)),
            };
            let audit = AuditEntry {
                audience: Some(audience.clone()),
                purpose: Some(purpose.clone()),
                ..AuditEntry::about(event, at, record.about(), &policy_id, decisions)
            };
            match d {
                // A subprocessor that saw the record is one of its recipients.
                Disclosure::Permitted { fields, decisions } if audience != pipeline::INTERNAL => {
                    Op::Disclosed {
                        audit,
                        recipient: crate::outbox::Recipient {
                            at,
                            who: audience.clone(),
                            via: "disclosure".into(),
                            paths: crate::outbox::leaves(fields),
                            clause: decisions
                                .iter()
                                .map(|d| d.clause.as_str())
                                .collect::<Vec<_>>()
                                .join(", "),
                            delivery: None,
                            purpose: Some(purpose.clone()),
                        },
                    }
                }
                _ => Op::Audit(audit),
            }
        })
        .collect();
    if !ops.is_empty() {
        state.store.write(ops).await?;
    }
    Ok(disclosed)
}

/// Every stored record of `subject` in `tenant`.
pub(crate) async fn subject_records(
    state: &Arc<AppState>,
    tenant: &str,
    subject: &str,
) -> Result<Vec<StoredRecord>, ApiError> {
    let st = state.clone();
    let (t, s) = (tenant.to_string(), subject.to_string());
    tokio::task::spawn_blocking(move || st.store.by_subject(&t, &s))
        .await
        .map_err(|e| ApiError::internal(&anyhow::anyhow!("read task failed: {e}")))?
        .map_err(|e| ApiError::internal(&e))
}
