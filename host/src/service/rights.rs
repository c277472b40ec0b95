//! The data subject's rights (clause 9) that change what the gateway keeps: standing
//! requests (restriction, objections) and erasure, each one store transaction with its
//! audit entry.

use std::sync::Arc;

use serde_json::Value;

use crate::api::error::ApiError;
use crate::clause;
use crate::record::Decision;
use crate::service::reads::subject_records;
use crate::service::writes::check_subject;
use crate::state::AppState;

/// Who asks: the tenant whose data subject it is, and the caller the audit entry names.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Requester<'a> {
    /// The caller's tenant.
    pub tenant: &'a str,
    /// The caller, as `role:token-id`.
    pub actor: &'a str,
}

/// Attempts at an erasure whose records keep changing meanwhile.
pub(crate) const ERASURE_ATTEMPTS: usize = 5;

/// Records a change of a subject's standing requests and answers with the request.
pub(crate) async fn exercise(
    state: &Arc<AppState>,
    Requester { tenant, actor }: Requester<'_>,
    subject: &str,
    right: &str,
    clause: &str,
    change: impl FnOnce(&mut crate::rights::Rights, crate::rights::Since),
    extra: serde_json::Value,
) -> Result<Value, ApiError> {
    check_subject(subject)?;
    let digest = crate::store::subject_digest(tenant, subject);
    let st = state.clone();
    let d = digest.clone();
    let mut rights = tokio::task::spawn_blocking(move || st.store.rights(&d))
        .await
        .map_err(|e| ApiError::internal(&anyhow::anyhow!("rights task failed: {e}")))?
        .map_err(|e| ApiError::internal(&e))?;
    let request = uuid::Uuid::now_v7().to_string();
    let now = state.clock.now_ms();
    change(
        &mut rights,
        crate::rights::Since {
            request: request.clone(),
            at: now,
        },
    );
    let audit = crate::store::AuditEntry {
        subject: Some(digest.clone()),
        tenant: tenant.to_string(),
        ..crate::store::AuditEntry::admin(
            &format!("rights.{right}"),
            now,
            actor,
            None,
            serde_json::json!({"request": request, "clause": clause, "detail": extra}),
        )
    };
    let op = crate::store::Op::SetRights {
        subject: digest,
        rights,
        audit,
    };
    let refused = match state.store.write(vec![op]).await?.pop() {
        Some(crate::store::OpResult::Done(n)) => n,
        _ => 0,
    };
    let mut body = serde_json::json!({
        "request": request,
        "right": right,
        "clause": clause,
        "status": "completed",
        "completed_at": crate::clock::rfc3339_ms(now),
        "subject": subject,
    });
    if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
        b.extend(e.clone());
    }
    if refused > 0 {
        body["deliveries_refused"] = serde_json::json!(refused);
    }
    Ok(body)
}

pub(crate) async fn erase(
    state: &Arc<AppState>,
    Requester { tenant, actor }: Requester<'_>,
    subject: &str,
) -> Result<Value, ApiError> {
    use crate::erasure::Plan;
    check_subject(subject)?;
    let request = uuid::Uuid::now_v7().to_string();
    let digest = crate::store::subject_digest(tenant, subject);
    for _ in 0..ERASURE_ATTEMPTS {
        let records = subject_records(state, tenant, subject).await?;
        let policy = state.policy_for(tenant);
        let now = state.clock.now_ms();
        let mut ops = Vec::with_capacity(records.len());
        let mut report = Vec::with_capacity(records.len());
        let (mut erased_n, mut kept_n) = (0usize, 0usize);
        for record in &records {
            let rules = policy
                .kinds
                .get(&record.kind)
                .map_or(&[][..], |k| &k.keep_on_erasure[..]);
            let plan = crate::erasure::plan(rules, &record.fields);
            let (erased, kept, remains) = match plan {
                Plan::Delete { erased } => (erased, Vec::new(), None),
                Plan::Reduce {
                    fields,
                    erased,
                    kept,
                } => {
                    let reduced = crate::erasure::reduce(record, fields, &kept, now);
                    let put = crate::store::PutRecord::new(&reduced)
                        .map_err(|e| ApiError::internal(&e))?;
                    (erased, kept, Some(Box::new(put)))
                }
            };
            let deleted = remains.is_none();
            let decisions: Vec<Decision> = erased
                .iter()
                .map(|path| Decision {
                    plugin: "gateway".into(),
                    action: crate::record::Action::Delete,
                    path: Some(path.clone()),
                    clause: clause::RIGHTS.into(),
                    reason: String::new(),
                })
                .collect();
            let about = record.about();
            let audit = crate::store::AuditEntry {
                actor: Some(actor.to_string()),
                detail: Some(serde_json::json!({
                    "request": request,
                    "deleted": deleted,
                    "kept": kept.iter().map(|k| serde_json::json!({"path": k.path, "clause": k.clause})).collect::<Vec<_>>(),
                })),
                ..crate::store::AuditEntry::about(
                    "rights.erased",
                    now,
                    about,
                    &policy.id,
                    &decisions,
                )
            };
            if deleted {
                erased_n += 1;
            } else {
                kept_n += 1;
            }
            report.push(serde_json::json!({
                "id": record.id,
                "kind": record.kind,
                "deleted": deleted,
                "erased": erased,
                "kept": kept,
            }));
            ops.push(crate::store::Erasure {
                id: record.id.clone(),
                tenant: record.tenant.clone(),
                revision: record.revision,
                kept: remains,
                audit,
            });
        }
        let audit = crate::store::AuditEntry {
            subject: Some(digest.clone()),
            tenant: tenant.to_string(),
            ..crate::store::AuditEntry::admin(
                "rights.erasure",
                now,
                actor,
                Some(&policy.id),
                serde_json::json!({
                    "request": request,
                    "clause": clause::RIGHTS,
                    "records_deleted": erased_n,
                    "records_kept": kept_n,
                }),
            )
        };
        let op = crate::store::Op::Erase {
            records: ops,
            audit,
        };
        match state.store.write(vec![op]).await?.pop() {
            Some(crate::store::OpResult::Done(cancelled)) => {
                return Ok(serde_json::json!({
                    "request": request,
                    "right": "erasure",
                    "clause": clause::RIGHTS,
                    "status": "completed",
                    "completed_at": crate::clock::rfc3339_ms(now),
                    "subject": subject,
                    "bundle": policy.id,
                    "records": report,
                    "deliveries_cancelled": cancelled,
                }));
            }
            Some(crate::store::OpResult::Conflict) => continue,
            other => {
                return Err(ApiError::internal(&anyhow::anyhow!(
                    "unexpected store result {other:?}"
                )));
            }
        }
    }
    Err(ApiError::new(
        axum::http::StatusCode::CONFLICT,
        "the subject's records kept changing while the erasure was processed; retry",
    ))
}
