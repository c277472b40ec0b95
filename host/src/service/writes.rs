//! Writes of records: the write chain of the caller's policy over a request's records,
//! and what becomes of each outcome (the record and its index entries, its audit entry, its
//! deliveries) in one store transaction, and the answer once it committed.

use std::sync::Arc;

use axum::http::StatusCode;
use serde_json::Value;

use crate::api::error::ApiError;
use crate::api::views::WriteResponse;
use crate::bundle::Policy;
use crate::clause;
use crate::pipeline::{self, Outcome, PipelineError, WriteInput};
use crate::record::{Decision, StoredRecord};
use crate::service::executor::Admission;
use crate::service::reads::load_off_runtime;
use crate::state::AppState;
use crate::store::{AuditEntry, Op, OpResult};

/// How often an update is retried when the record changed under it.
pub(crate) const UPDATE_ATTEMPTS: usize = 8;
/// The longest subject key accepted.
pub(crate) const MAX_SUBJECT: usize = 512;

/// The clause a subject key holding a card number is refused under ("we do not store credit
/// card information"). The subject is the one part of a record no plugin rewrites (it is the
/// key of the subject and of the subject index), so the gateway refuses it itself.
pub const CARD_SUBJECT_CLAUSE: &str = clause::CARD;

pub(crate) fn check_subject(subject: &str) -> Result<(), ApiError> {
    if subject.trim().is_empty() {
        return Err(ApiError::bad_request("`subject` must not be empty"));
    }
    if subject.len() > MAX_SUBJECT {
        return Err(ApiError::bad_request(format!(
            "`subject` is longer than {MAX_SUBJECT} bytes"
        )));
    }
    if sluice_rules::card::contains_card_number(subject) {
        return Err(ApiError::refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            &Decision {
                plugin: "gateway".into(),
                action: crate::record::Action::Reject,
                path: None,
                clause: CARD_SUBJECT_CLAUSE.into(),
                reason: "`subject` holds a card number: card data is never stored, not even \
                         as a subject key"
                    .into(),
            },
        ));
    }
    Ok(())
}

/// Checks a record's fields against the gateway's shape limits, before any plugin sees them
/// (422 naming the limit and where it was hit).
pub(crate) fn check_shape(
    limits: &crate::shape::ShapeLimits,
    fields: &Value,
) -> Result<(), ApiError> {
    limits.check(fields).map_err(|e| {
        let mut err = ApiError::over_limit(
            StatusCode::UNPROCESSABLE_ENTITY,
            e.to_string(),
            e.limit,
            e.max as u64,
        );
        if !e.path.is_empty() {
            err.body.path = Some(e.path);
        }
        err
    })
}

/// Runs the write chain of `tenant`'s policy over `inputs` (all of that tenant) off the
/// async workers, with one set of plugin instances for the whole request.
pub(crate) async fn run_chain(
    state: &Arc<AppState>,
    tenant: &str,
    inputs: Vec<WriteInput>,
) -> Result<
    (
        Arc<Policy>,
        Vec<(WriteInput, Result<Outcome, PipelineError>)>,
    ),
    ApiError,
> {
    let policy = state.policy_for(tenant);
    let now = state.clock.now_secs();
    let pol = policy.clone();
    let results = state
        .executor
        .run(Admission::Queued, 1, move |worker| {
            let mut lane = worker.lane();
            inputs
                .into_iter()
                .map(|input| {
                    let outcome = lane.write(&pol, &input, now);
                    (input, outcome)
                })
                .collect::<Vec<_>>()
        })
        .await?;
    crate::service::shadow::observe(
        &state.shadows,
        &state.executor,
        tenant,
        &policy,
        &results,
        now,
    );
    Ok((policy, results))
}

pub(crate) fn audit_entry(
    input: &WriteInput,
    bundle: &str,
    event: &str,
    decisions: &[Decision],
    at: i64,
) -> AuditEntry {
    AuditEntry::about(event, at, input.about(), bundle, decisions)
}

/// Names the caller in the audit entry of a write; `request` marks it as a data subject's
/// request (e.g. a rectification).
pub(crate) fn attribute(op: &mut Option<Op>, actor: &str, request: Option<&Value>) {
    let audit = match op {
        Some(Op::Put { audit, .. } | Op::Delete { audit, .. } | Op::Audit(audit)) => audit,
        _ => return,
    };
    audit.actor = Some(actor.to_string());
    if let Some(r) = request {
        audit.detail = Some(r.clone());
    }
}

/// What a processed write turns into.
pub(crate) enum Planned {
    /// Store it; answer with `status`.
    Store(Box<StoredRecord>, StatusCode),
    /// Refused by the policy (the audit entry is written); `erase` deletes the stored record.
    Refuse(Decision, bool),
    /// Refused before any write.
    Fail(ApiError),
}

pub(crate) fn plan(
    policy: &Policy,
    input: WriteInput,
    outcome: Result<Outcome, PipelineError>,
    expect: Option<u64>,
    now_ms: i64,
) -> (Planned, Option<Op>) {
    match outcome {
        Err(e) => (Planned::Fail(e.into()), None),
        Ok(Outcome::Rejected(r)) => {
            let mut decisions = r.decisions.clone();
            decisions.push(r.decision.clone());
            let erase = r.erase && expect.is_some();
            let op = if erase {
                Op::Delete {
                    id: input.id.clone(),
                    tenant: input.tenant.clone(),
                    audit: audit_entry(&input, &policy.id, "record.erased", &decisions, now_ms),
                }
            } else {
                Op::Audit(audit_entry(
                    &input,
                    &policy.id,
                    "record.rejected",
                    &decisions,
                    now_ms,
                ))
            };
            (Planned::Refuse(r.decision, erase), Some(op))
        }
        Ok(Outcome::Accepted(a)) => {
            let event = if expect.is_some() {
                "record.updated"
            } else {
                "record.created"
            };
            let audit = audit_entry(&input, &policy.id, event, &a.decisions, now_ms);
            let index = policy
                .kinds
                .get(&input.kind)
                .map(|k| crate::record::index_entries(&a.fields, &k.index))
                .unwrap_or_default();
            let record = StoredRecord {
                id: input.id,
                tenant: input.tenant,
                kind: input.kind,
                subject: input.subject,
                fields: a.fields,
                created_at: input.created_at,
                updated_at: input.updated_at,
                revision: expect.map_or(1, |r| r + 1),
                bundle: policy.id.clone(),
                plugins: a.plugins,
                decisions: a.decisions,
                expiries: a.expiries,
                deliveries: a.deliveries,
                index,
                retention_bundle: None,
                deadlines: a.deadlines,
            };
            let status = if expect.is_some() {
                StatusCode::OK
            } else {
                StatusCode::CREATED
            };
            let mut put = match crate::store::PutRecord::new(&record) {
                Ok(r) => Box::new(r),
                Err(e) => return (Planned::Fail(ApiError::internal(&e)), None),
            };
            put.deliveries = outbox_entries(policy, &record, now_ms);
            let op = Op::Put {
                record: put,
                expect,
                audit,
            };
            (Planned::Store(Box::new(record), status), Some(op))
        }
    }
}

/// The outbox entries of a stored record's deliveries. A delivery to a recipient the
/// register does not list (3.2), or outside the EEA without safeguards (3.1), is refused
/// here: it is kept and audited, never sent.
pub(crate) fn outbox_entries(
    policy: &Policy,
    record: &StoredRecord,
    now_ms: i64,
) -> Vec<crate::outbox::Entry> {
    use crate::outbox::{Entry, Mode, State};
    record
        .deliveries
        .iter()
        .map(|d| {
            let sub = policy.register.get(&d.vendor);
            let (state, clause, error) = match clause::registered(&policy.register, &d.vendor) {
                Err(why) => (
                    State::Refused,
                    why.clause().to_string(),
                    Some(why.reason(&d.vendor)),
                ),
                Ok(_) => (State::Pending, d.clause.clone(), None),
            };
            Entry {
                seq: 0,
                id: uuid::Uuid::now_v7().to_string(),
                record: record.id.clone(),
                tenant: record.tenant.clone(),
                kind: record.kind.clone(),
                subject: crate::store::subject_digest(&record.tenant, &record.subject),
                vendor: d.vendor.clone(),
                endpoint: d.endpoint.clone(),
                payload: d.payload.clone(),
                clause,
                plugin: d.plugin.clone(),
                bundle: record.bundle.clone(),
                mode: sub.map_or(Mode::Pull, |s| s.delivery.mode),
                state,
                attempts: 0,
                next_at: now_ms,
                created_at: now_ms,
                updated_at: now_ms,
                last_error: error,
                delivered_at: None,
                payload_digest: None,
                paths: Vec::new(),
                claim: None,
            }
        })
        .collect()
}

/// The answer to one planned write once its transaction committed.
pub(crate) fn answer(
    state: &AppState,
    planned: Planned,
    result: Option<OpResult>,
) -> Result<(StatusCode, WriteResponse), ApiError> {
    match (planned, result) {
        (Planned::Fail(e), _) => Err(e),
        (Planned::Store(mut record, status), Some(OpResult::Done(revision))) => {
            record.revision = revision;
            state.metrics.decisions(&record.decisions);
            Ok((status, WriteResponse::from(*record)))
        }
        (Planned::Refuse(decision, erase), Some(OpResult::Done(_) | OpResult::NotFound)) => {
            state.metrics.decisions(std::iter::once(&decision));
            let mut e = ApiError::refused(StatusCode::UNPROCESSABLE_ENTITY, &decision);
            e.body.erased = erase;
            Err(e)
        }
        (_, Some(OpResult::NotFound)) => Err(ApiError::not_found("no such record")),
        (_, Some(OpResult::Conflict)) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "the record changed while the update was processed; retry",
        )),
        (_, other) => Err(ApiError::internal(&anyhow::anyhow!(
            "unexpected store result {other:?}"
        ))),
    }
}

/// Writes one new record: the chain, then (unless it failed) one store transaction, then the
/// answer. `actor` is named in the audit entry.
pub(crate) async fn create(
    state: &Arc<AppState>,
    actor: &str,
    input: WriteInput,
) -> Result<(StatusCode, WriteResponse), ApiError> {
    let now_ms = input.updated_at;
    let tenant = input.tenant.clone();
    let (policy, mut results) = run_chain(state, &tenant, vec![input]).await?;
    let (input, outcome) = results.pop().expect("one input, one result");
    let (planned, mut op) = plan(&policy, input, outcome, None, now_ms);
    attribute(&mut op, actor, None);
    let result = commit(state, op).await?;
    answer(state, planned, result)
}

/// Rectifies record `id` of `tenant` (clause 9): merges `patch` into its fields and runs the
/// whole chain again; applied only on the revision it was computed from, retried otherwise.
/// A rectification may shorten retention, never lengthen or cancel it.
pub(crate) async fn rectify(
    state: &Arc<AppState>,
    tenant: &str,
    actor: &str,
    id: &str,
    patch: &Value,
) -> Result<(StatusCode, Value), ApiError> {
    check_shape(&state.options.shape, patch)?;
    // Updates of one record through this gateway queue here; the revision check below still
    // catches changes made meanwhile by the sweeper.
    let _serialized = state.update_lock(id).lock().await;
    let request = uuid::Uuid::now_v7().to_string();
    let rectification =
        serde_json::json!({"right": "rectification", "request": request, "clause": clause::RIGHTS});
    for _ in 0..UPDATE_ATTEMPTS {
        let current = load_off_runtime(state, tenant, id).await?;
        let now_ms = state.clock.now_ms();
        let mut fields = current.fields.clone();
        json_patch::merge(&mut fields, patch);
        check_shape(&state.options.shape, &fields)?;
        let input = WriteInput::revision_of(&current, fields, now_ms);
        let (policy, mut results) = run_chain(state, tenant, vec![input]).await?;
        let (input, outcome) = results.pop().expect("one input, one result");
        let outcome = outcome.map(|o| match o {
            Outcome::Accepted(mut a) => {
                pipeline::hold_to_deadlines(&current, &mut a, now_ms.div_euclid(1000));
                Outcome::Accepted(a)
            }
            rejected => rejected,
        });
        let (planned, mut op) = plan(&policy, input, outcome, Some(current.revision), now_ms);
        attribute(&mut op, actor, Some(&rectification));
        let result = commit(state, op).await?;
        if result == Some(OpResult::Conflict) {
            continue;
        }
        let (status, body) = answer(state, planned, result)?;
        let mut body = serde_json::to_value(body).map_err(|e| ApiError::internal(&e.into()))?;
        body["request"] = serde_json::json!({
            "id": request,
            "right": "rectification",
            "clause": clause::RIGHTS,
            "status": "completed",
            "completed_at": crate::clock::rfc3339_ms(now_ms),
        });
        return Ok((status, body));
    }
    Err(ApiError::new(
        StatusCode::CONFLICT,
        "the record kept changing while the update was processed; retry",
    ))
}

/// Deletes record `id` of `tenant` at the service's request, with its audit entry naming
/// `actor`.
pub(crate) async fn delete(
    state: &Arc<AppState>,
    tenant: &str,
    actor: &str,
    id: &str,
) -> Result<(), ApiError> {
    let current = load_off_runtime(state, tenant, id).await?;
    let input = WriteInput::revision_of(&current, Value::Null, current.updated_at);
    let audit = audit_entry(
        &input,
        &current.bundle,
        "record.deleted",
        &[],
        state.clock.now_ms(),
    );
    let op = Op::Delete {
        id: id.to_string(),
        tenant: current.tenant.clone(),
        audit: AuditEntry {
            actor: Some(actor.to_string()),
            ..audit
        },
    };
    match state.store.write(vec![op]).await?.pop() {
        Some(OpResult::Done(_)) => Ok(()),
        _ => Err(ApiError::not_found(format!("no record with id `{id}`"))),
    }
}

/// Commits a planned write's op, if it has one, and wakes the delivery workers.
async fn commit(state: &AppState, op: Option<Op>) -> Result<Option<OpResult>, ApiError> {
    let Some(op) = op else {
        return Ok(None);
    };
    let result = state.store.write(vec![op]).await?.pop();
    state.outbox_wake.notify_one();
    Ok(result)
}
