//! Record routes: write, batch write, read, rectify, delete, list by subject.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;

use super::auth::Caller;
use super::error::ApiError;
use super::extract::{ApiJson, blocking_task};
use super::views::permitted_views;
use super::views::{WriteResponse, read_view};
use crate::bundle::Policy;
use crate::pipeline::{self, Disclosure, ReadRequest, WriteInput};
use crate::record::Decision;
use crate::service::reads::{disclose_all, load_off_runtime, subject_records};
use crate::service::writes::{self, check_shape, check_subject};
use crate::state::AppState;

/// `POST /v1/records` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRecord {
    /// One of the bundle's kinds.
    pub kind: String,
    /// The data subject's key.
    pub subject: String,
    /// The fields (a JSON object).
    #[schema(value_type = Object)]
    pub fields: Value,
}

/// `PATCH /v1/records/{id}` body: a JSON merge patch (RFC 7396) of the fields; `null`
/// removes a field.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Patch {
    /// The changes.
    #[schema(value_type = Object)]
    pub fields: Value,
}

/// `GET /v1/records/{id}` query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReadQuery {
    /// `internal` (default) or `subprocessor:ID`.
    pub audience: Option<String>,
    /// The purpose of the read.
    pub purpose: Option<String>,
}

pub(super) fn new_input(
    state: &AppState,
    tenant: &str,
    body: NewRecord,
    now_ms: i64,
) -> Result<WriteInput, ApiError> {
    check_subject(&body.subject)?;
    check_shape(&state.options.shape, &body.fields)?;
    Ok(WriteInput {
        id: uuid::Uuid::now_v7().to_string(),
        tenant: tenant.to_string(),
        kind: body.kind,
        subject: body.subject,
        fields: body.fields,
        created_at: now_ms,
        updated_at: now_ms,
    })
}

/// `POST /v1/records`
#[utoipa::path(
    post,
    path = "/v1/records",
    request_body = NewRecord,
    responses(
        (status = 201, description = "Stored: the record as stored, with every decision.", body = WriteResponse),
        (status = 400, description = "Malformed JSON, or an empty or too long subject.", body = super::error::ErrorBody),
        (status = 422, description = "Refused by the policy (naming the clause), or not a record of its kind.", body = super::error::ErrorBody),
        super::openapi::responses::Saturated,
    ),
)]
pub async fn create(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    ApiJson(body): ApiJson<NewRecord>,
) -> Result<Response, ApiError> {
    let input = new_input(&state, caller.tenant(), body, state.clock.now_ms())?;
    let (status, body) = writes::create(&state, &caller.actor(), input).await?;
    Ok((status, Json(body)).into_response())
}

/// Checks a read's audience and purpose against the bundle: an unknown purpose or a
/// malformed audience is a bad request; an audience outside the register is refused (3.2).
pub(super) fn read_request(policy: &Policy, q: ReadQuery) -> Result<ReadRequest, ApiError> {
    let request = ReadRequest {
        audience: q.audience.unwrap_or_else(|| pipeline::INTERNAL.to_string()),
        purpose: q.purpose.unwrap_or_default(),
    };
    if !request.purpose.is_empty() && !policy.purposes.contains(&request.purpose) {
        return Err(ApiError::bad_request(format!(
            "unknown purpose `{}` (purposes of {}: {})",
            request.purpose,
            policy.id,
            policy.purposes.join(", ")
        )));
    }
    if request.audience != pipeline::INTERNAL {
        let Some(id) = request.audience.strip_prefix("subprocessor:") else {
            return Err(ApiError::bad_request(format!(
                "audience `{}` must be `internal` or `subprocessor:ID`",
                request.audience
            )));
        };
        if !policy.register.contains_key(id) {
            let decision = Decision {
                plugin: "gateway".into(),
                action: crate::record::Action::Refuse,
                path: None,
                clause: crate::clause::REGISTER.into(),
                reason: format!("`{id}` is not a subprocessor of the register"),
            };
            return Err(ApiError::refused(StatusCode::FORBIDDEN, &decision));
        }
    }
    Ok(request)
}

/// `GET /v1/records/{id}?audience=&purpose=`: the record as the audience may see it for the
/// purpose; `403 {"error","clause"}` when the policy refuses.
#[utoipa::path(
    get,
    path = "/v1/records/{id}",
    params(("id" = String, Path, description = "The record id."), ReadQuery),
    responses(
        (status = 200, description = "The record as the audience may see it.", body = super::openapi::ReadResult),
        (status = 400, description = "An unknown purpose or a malformed audience.", body = super::error::ErrorBody),
        (status = 403, description = "The policy refuses the read (naming the clause), or the token's role may not call this route.", body = super::error::ErrorBody),
        super::openapi::responses::Saturated,
    ),
)]
pub async fn read(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    Query(q): Query<ReadQuery>,
) -> Result<Response, ApiError> {
    let policy = state.policy_for(caller.tenant());
    let request = read_request(&policy, q)?;
    let internal = request.audience == pipeline::INTERNAL;
    let record = load_off_runtime(&state, caller.tenant(), &id).await?;
    let mut disclosed = disclose_all(&state, policy, vec![record], request).await?;
    match disclosed.pop() {
        Some((record, Disclosure::Permitted { fields, decisions })) => {
            Ok(Json(read_view(&record, fields, decisions, internal)).into_response())
        }
        Some((_, Disclosure::Refused(decision))) => {
            Err(ApiError::refused(StatusCode::FORBIDDEN, &decision))
        }
        None => Err(ApiError::internal(&anyhow::anyhow!(
            "a read produced no disclosure"
        ))),
    }
}

/// `GET /v1/records?kind=KIND&FIELD=VALUE[&purpose=]`: the records of a kind whose
/// searchable field (the kind's `index`; `address.postcode` or `/address/postcode`) has
/// the value, as the calling service may see them.
#[utoipa::path(
    get,
    path = "/v1/records",
    params(
        ("kind" = String, Query, description = "The kind."),
        ("purpose" = Option<String>, Query, description = "The purpose of the read."),
    ),
    responses(
        (status = 200, description = "The matching records the caller may see. Name exactly one searchable field of the kind as a further query parameter, e.g. `mac=00:15:65:aa:bb:cc`.", body = super::openapi::shapes::Search),
        (status = 400, description = "No kind, not exactly one searchable field, or a bad value.", body = super::error::ErrorBody),
        (status = 422, description = "An unknown kind.", body = super::error::ErrorBody),
        super::openapi::responses::Saturated,
    ),
)]
pub async fn search(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(mut q): Query<std::collections::BTreeMap<String, String>>,
) -> Result<Response, ApiError> {
    let policy = state.policy_for(caller.tenant());
    let Some(kind_name) = q.remove("kind") else {
        return Err(ApiError::bad_request(
            "`kind` is required, with one searchable field, e.g. ?kind=device-provisioning&mac=00:15:65:aa:bb:cc",
        ));
    };
    let purpose = q.remove("purpose");
    let kind = pipeline::kind(&policy, &kind_name)?;
    let mut fields = q.into_iter();
    let (Some((name, value)), None) = (fields.next(), fields.next()) else {
        return Err(ApiError::bad_request(format!(
            "name exactly one searchable field of `{kind_name}` (searchable: {})",
            kind.index.join(", ")
        )));
    };
    let path = if name.starts_with('/') {
        name.clone()
    } else {
        format!("/{}", name.replace('.', "/"))
    };
    if !kind.index.contains(&path) {
        return Err(ApiError::bad_request(format!(
            "`{name}` is not searchable for `{kind_name}` (searchable: {})",
            kind.index.join(", ")
        )));
    }
    let value = match crate::bundle::schema::field_type(&kind.fields, &path) {
        Some(crate::bundle::schema::FieldType::Mac) => sluice_rules::mac::normalise(&value)
            .ok_or_else(|| ApiError::bad_request(format!("`{value}` is not a MAC address")))?,
        _ => value,
    };
    let request = read_request(
        &policy,
        ReadQuery {
            audience: None,
            purpose,
        },
    )?;
    let records = {
        let st = state.clone();
        let kind_name = kind_name.clone();
        let tenant = caller.tenant().to_string();
        blocking_task("read", move || {
            st.store.search(&tenant, &kind_name, &path, &value)
        })
        .await?
    };
    let views = permitted_views(disclose_all(&state, policy, records, request).await?, true);
    Ok(Json(serde_json::json!({ "kind": kind_name, "records": views })).into_response())
}

/// `PATCH /v1/records/{id}`: rectification. Merges the fields and runs the whole chain
/// again; applied only on the revision it was computed from (retried otherwise).
#[utoipa::path(
    patch,
    path = "/v1/records/{id}",
    params(("id" = String, Path, description = "The record id.")),
    request_body = Patch,
    responses(
        (status = 200, description = "Rectified: the record as stored, and the request.", body = super::openapi::shapes::Rectified),
        (status = 409, description = "The record kept changing; retry.", body = super::error::ErrorBody),
        (status = 422, description = "Refused by the policy (naming the clause; `erased` when the record was deleted), or the result is not a record of its kind.", body = super::error::ErrorBody),
        super::openapi::responses::Saturated,
    ),
)]
pub async fn update(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    ApiJson(patch): ApiJson<Patch>,
) -> Result<Response, ApiError> {
    if !patch.fields.is_object() {
        return Err(ApiError::bad_request(
            "`fields` must be a JSON object (a JSON merge patch)",
        ));
    }
    let (status, body) =
        writes::rectify(&state, caller.tenant(), &caller.actor(), &id, &patch.fields).await?;
    Ok((status, Json(body)).into_response())
}

/// `DELETE /v1/records/{id}`
#[utoipa::path(
    delete,
    path = "/v1/records/{id}",
    params(("id" = String, Path, description = "The record id.")),
    responses(
        (status = 204, description = "Deleted."),
        super::openapi::responses::StorageUnavailable,
    ),
)]
pub async fn delete(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    writes::delete(&state, caller.tenant(), &caller.actor(), &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /v1/subjects/{subject}/records[?purpose=]`: every record about the subject, as the
/// calling service may see it.
#[utoipa::path(
    get,
    path = "/v1/subjects/{subject}/records",
    params(("subject" = String, Path, description = "The data subject's key."), ReadQuery),
    responses(
        (status = 200, description = "The subject's records the audience may see.", body = super::openapi::shapes::SubjectRecords),
        (status = 400, description = "A bad subject, purpose or audience.", body = super::error::ErrorBody),
        (status = 422, description = "The subject holds a card number.", body = super::error::ErrorBody),
        super::openapi::responses::Saturated,
    ),
)]
pub async fn by_subject(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(subject): Path<String>,
    Query(q): Query<ReadQuery>,
) -> Result<Response, ApiError> {
    check_subject(&subject)?;
    let policy = state.policy_for(caller.tenant());
    let request = read_request(&policy, q)?;
    let internal = request.audience == pipeline::INTERNAL;
    let records = subject_records(&state, caller.tenant(), &subject).await?;
    let views = permitted_views(
        disclose_all(&state, policy, records, request).await?,
        internal,
    );
    Ok(Json(serde_json::json!({ "subject": subject, "records": views })).into_response())
}
