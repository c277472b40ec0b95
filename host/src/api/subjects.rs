//! Subject routes beyond listing: marketing permissions, and the data subject's rights of
//! clause 9 (access, erasure, restriction, objection).

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::auth::Caller;
use super::error::ApiError;
use super::extract::blocking_task;
use super::records::{ReadQuery, read_request};
use super::views::recipient_view;
use crate::clause;
use crate::pipeline::Disclosure;
use crate::record::Decision;
use crate::service::reads::{disclose_all, subject_records};
use crate::service::rights;
use crate::service::writes::check_subject;
use crate::state::AppState;

/// `?purpose=`
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PermissionQuery {
    /// `email-marketing` or `telephone-marketing` (or `direct-marketing`).
    pub purpose: Option<String>,
}

/// One record's part in the answer.
#[derive(Debug, Serialize)]
struct Basis {
    id: String,
    kind: String,
    #[serde(flatten)]
    decision: Decision,
}

/// `GET /v1/subjects/{subject}/permissions?purpose=email-marketing|telephone-marketing`:
/// may the service contact the subject for this purpose? Each of the subject's records is
/// put to the bundle's disclosure rules for an internal read with that purpose (consent
/// basis and opt-out for email, 2.1.4; legitimate interest and opt-out for calls, 2.1.5).
/// Allowed when some record permits it and no record of a permitting kind refuses it (an
/// opt-out anywhere wins).
#[utoipa::path(
    get,
    path = "/v1/subjects/{subject}/permissions",
    params(("subject" = String, Path, description = "The data subject's key."), PermissionQuery),
    responses(
        (status = 200, description = "Whether the service may contact the subject for the purpose, and why.", body = super::openapi::shapes::Permission),
        (status = 400, description = "A bad subject or purpose.", body = super::error::ErrorBody),
        (status = 422, description = "The subject holds a card number.", body = super::error::ErrorBody),
        (status = 503, description = "A plugin failed, storage is unavailable, or the gateway is saturated (retry after `Retry-After` seconds).", body = super::error::ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait before retrying."))),
    ),
)]
pub async fn permissions(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(subject): Path<String>,
    Query(q): Query<PermissionQuery>,
) -> Result<Response, ApiError> {
    check_subject(&subject)?;
    let purpose = q.purpose.unwrap_or_default();
    let Some(default_clause) = clause::MARKETING_PURPOSES
        .contains(&purpose.as_str())
        .then(|| clause::objection(&purpose))
    else {
        let names = clause::MARKETING_PURPOSES;
        return Err(ApiError::bad_request(format!(
            "`purpose` must be one of: {}",
            names.join(", ")
        )));
    };
    let policy = state.policy_for(caller.tenant());
    let request = read_request(
        &policy,
        ReadQuery {
            audience: None,
            purpose: Some(purpose.clone()),
        },
    )?;
    let records = subject_records(&state, caller.tenant(), &subject).await?;
    let disclosed = disclose_all(&state, policy, records, request).await?;

    let mut permits = Vec::new();
    let mut refusals = Vec::new();
    for (record, d) in disclosed {
        let (list, decision) = match d {
            Disclosure::Permitted { decisions, .. } => match decisions.into_iter().last() {
                Some(decision) => (&mut permits, decision),
                None => continue,
            },
            Disclosure::Refused(decision) => (&mut refusals, decision),
        };
        list.push(Basis {
            id: record.id,
            kind: record.kind,
            decision,
        });
    }
    let permitting: BTreeSet<&str> = permits.iter().map(|b| b.kind.as_str()).collect();
    let blocking = refusals
        .iter()
        .find(|b| permitting.contains(b.kind.as_str()));
    let allowed = !permits.is_empty() && blocking.is_none();
    let (clause, reason) = match (allowed, blocking, permits.first(), refusals.first()) {
        (true, _, Some(p), _) => (p.decision.clause.clone(), p.decision.reason.clone()),
        (_, Some(b), _, _) | (_, None, _, Some(b)) => {
            (b.decision.clause.clone(), b.decision.reason.clone())
        }
        _ => (
            (*default_clause).to_string(),
            format!("no record of the subject gives a basis for {purpose}"),
        ),
    };
    let mut records = permits;
    records.extend(refusals);
    Ok(Json(serde_json::json!({
        "subject": subject,
        "purpose": purpose,
        "allowed": allowed,
        "clause": clause,
        "reason": reason,
        "records": records,
    }))
    .into_response())
}

/// `GET /v1/subjects/{subject}/export`: the right of access and portability (clause 9). A
/// machine-readable export of every record about the subject in this tenant: its fields as
/// stored, the decisions applied (with their clauses), the deletions still scheduled, and
/// everyone its data was delivered or disclosed to. The request is audited (`rights.access`)
/// with its id; the export carries the id, its status and its completion time.
#[utoipa::path(
    get,
    path = "/v1/subjects/{subject}/export",
    params(("subject" = String, Path, description = "The data subject's key.")),
    responses(
        (status = 200, description = "Every record about the subject, with its decisions, expiries and recipients.", body = super::openapi::shapes::Export),
        super::openapi::responses::BadSubject,
        super::openapi::responses::StorageUnavailable,
    ),
)]
pub async fn export(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(subject): Path<String>,
) -> Result<Response, ApiError> {
    check_subject(&subject)?;
    let records = subject_records(&state, caller.tenant(), &subject).await?;
    let st = state.clone();
    let ids: Vec<String> = records.iter().map(|r| r.id.clone()).collect();
    let recipients = blocking_task("export", move || {
        ids.iter()
            .map(|id| st.store.recipients(id))
            .collect::<anyhow::Result<Vec<_>>>()
    })
    .await?;
    let request = uuid::Uuid::now_v7().to_string();
    let now = state.clock.now_ms();
    let items: Vec<serde_json::Value> = records
        .iter()
        .zip(recipients)
        .map(|(r, recipients)| {
            let view = super::views::RecordView::of(r, r.fields.clone(), Vec::new());
            let mut v = serde_json::to_value(view).unwrap_or_default();
            if let Some(o) = v.as_object_mut() {
                o.remove("disclosure");
                o.insert(
                    "recipients".into(),
                    recipients.iter().map(recipient_view).collect(),
                );
            }
            v
        })
        .collect();
    let audit = crate::store::AuditEntry {
        subject: Some(crate::store::subject_digest(caller.tenant(), &subject)),
        tenant: caller.tenant().to_string(),
        ..crate::store::AuditEntry::admin(
            "rights.access",
            now,
            &caller.actor(),
            None,
            serde_json::json!({"request": request, "records": items.len(), "clause": clause::RIGHTS}),
        )
    };
    state
        .store
        .write(vec![crate::store::Op::Audit(audit)])
        .await?;
    Ok(Json(serde_json::json!({
        "request": request,
        "right": "access",
        "clause": clause::RIGHTS,
        "status": "completed",
        "completed_at": crate::clock::rfc3339_ms(now),
        "subject": subject,
        "records": items,
    }))
    .into_response())
}

/// `POST /v1/subjects/{subject}/objections` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Objection {
    /// The purpose objected to (one of the bundle's purposes).
    purpose: String,
}

/// `POST /v1/subjects/{subject}/restriction`: restriction of processing (clause 9). The data
/// is kept; reads, disclosures and forwards are refused (403, clause 9) except for the
/// purposes a restriction allows (`legal-claim`); pending deliveries are refused.
#[utoipa::path(
    post,
    path = "/v1/subjects/{subject}/restriction",
    params(("subject" = String, Path, description = "The data subject's key.")),
    responses(
        (status = 200, description = "Processing of the subject's data is restricted.", body = super::openapi::shapes::StandingRequest),
        super::openapi::responses::BadSubject,
        super::openapi::responses::StorageUnavailable,
    ),
)]
pub async fn restrict(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(subject): Path<String>,
) -> Result<Response, ApiError> {
    rights_exercise(
        &state,
        &caller,
        &subject,
        "restriction",
        clause::RIGHTS,
        |r, since| r.restricted = Some(since),
        serde_json::json!({"restricted": true}),
    )
    .await
}

/// `DELETE /v1/subjects/{subject}/restriction`: the restriction is lifted.
#[utoipa::path(
    delete,
    path = "/v1/subjects/{subject}/restriction",
    params(("subject" = String, Path, description = "The data subject's key.")),
    responses(
        (status = 200, description = "The restriction is lifted.", body = super::openapi::shapes::StandingRequest),
        super::openapi::responses::BadSubject,
        super::openapi::responses::StorageUnavailable,
    ),
)]
pub async fn lift_restriction(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(subject): Path<String>,
) -> Result<Response, ApiError> {
    rights_exercise(
        &state,
        &caller,
        &subject,
        "restriction-lifted",
        clause::RIGHTS,
        |r, _| r.restricted = None,
        serde_json::json!({"restricted": false}),
    )
    .await
}

/// `POST /v1/subjects/{subject}/objections {"purpose"}`: from now on the subject's data is
/// not read, disclosed or used for that purpose (2.1.4 and 2.1.5 for marketing).
#[utoipa::path(
    post,
    path = "/v1/subjects/{subject}/objections",
    params(("subject" = String, Path, description = "The data subject's key.")),
    request_body = Objection,
    responses(
        (status = 200, description = "The objection is recorded.", body = super::openapi::shapes::StandingRequest),
        (status = 400, description = "A bad subject, or not a purpose of the bundle.", body = super::error::ErrorBody),
        (status = 422, description = "The subject holds a card number, or the body is of the wrong shape.", body = super::error::ErrorBody),
        super::openapi::responses::StorageUnavailable,
    ),
)]
pub async fn object(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(subject): Path<String>,
    super::extract::ApiJson(body): super::extract::ApiJson<Objection>,
) -> Result<Response, ApiError> {
    if !state
        .policy_for(caller.tenant())
        .purposes
        .contains(&body.purpose)
    {
        return Err(ApiError::bad_request(format!(
            "`{}` is not a purpose of the bundle",
            body.purpose
        )));
    }
    let clause = clause::objection(&body.purpose);
    let purpose = body.purpose.clone();
    rights_exercise(
        &state,
        &caller,
        &subject,
        "objection",
        clause,
        move |r, since| {
            r.objections.entry(purpose).or_insert(since);
        },
        serde_json::json!({"purpose": body.purpose}),
    )
    .await
}

/// `POST /v1/subjects/{subject}/erasure`: the right to erasure (clause 9). Every record about
/// the subject in the caller's tenant is deleted, except what the policy requires to keep
/// (the kind's `keep_on_erasure`: e.g. a shipped delivery's address as proof of shipping,
/// 2.2.1; an existing customer's or supplier's contact name, 2.1.1), which stays reduced to
/// those fields. Pending deliveries of erased data are cancelled and no copy of it stays in
/// the outbox. All in one transaction; the answer lists what was erased and what was kept
/// under which clause. Audited per record (`rights.erased`) and as a request
/// (`rights.erasure`), with paths and clauses only.
#[utoipa::path(
    post,
    path = "/v1/subjects/{subject}/erasure",
    params(("subject" = String, Path, description = "The data subject's key.")),
    responses(
        (status = 200, description = "What was erased and what was kept, under which clause.", body = super::openapi::shapes::Erasure),
        super::openapi::responses::BadSubject,
        (status = 409, description = "The subject's records kept changing; retry.", body = super::error::ErrorBody),
        super::openapi::responses::StorageUnavailable,
    ),
)]
pub async fn erase(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(subject): Path<String>,
) -> Result<Response, ApiError> {
    let actor = caller.actor();
    let body = rights::erase(&state, caller.requester(&actor), &subject).await?;
    Ok(Json(body).into_response())
}

/// [`rights::exercise`] for `caller`, answered as JSON.
async fn rights_exercise(
    state: &Arc<AppState>,
    caller: &Caller,
    subject: &str,
    right: &str,
    clause: &str,
    change: impl FnOnce(&mut crate::rights::Rights, crate::rights::Since),
    extra: serde_json::Value,
) -> Result<Response, ApiError> {
    let actor = caller.actor();
    let by = caller.requester(&actor);
    let body = rights::exercise(state, by, subject, right, clause, change, extra).await?;
    Ok(Json(body).into_response())
}
