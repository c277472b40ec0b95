//! Trying a candidate bundle before activating it: shadow runs over a tenant's live writes,
//! and impact reports over its stored records.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use super::auth::Caller;
use super::error::ApiError;
use super::extract::{ApiJson, ApiQuery, with_state};
use crate::service::executor::Admission;
use crate::service::shadow::Shadow;
use crate::state::AppState;

use super::admin::{audit_tenant, entry};

/// `POST /v1/admin/shadow` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ShadowBody {
    /// The candidate bundle (a registered one).
    bundle: String,
}

async fn load_candidate(
    state: &Arc<AppState>,
    id: String,
) -> Result<Arc<crate::bundle::Policy>, ApiError> {
    let entry = entry(state, id).await?;
    let policy = with_state(state, move |st| {
        let components = st.registry.components(&entry.package)?;
        Ok(crate::bundle::load(
            entry.package,
            &components,
            &st.runtime,
            Some(&st.cache),
        )?)
    })
    .await?;
    Ok(Arc::new(policy))
}

/// The tenants' shadow runs.
type Shadows = HashMap<String, Arc<Shadow>>;

/// Changes the tenants' shadow runs; returns them as they were.
fn change_shadows(state: &AppState, mut change: impl FnMut(&mut Shadows)) -> Arc<Shadows> {
    state.shadows.rcu(|runs| {
        let mut runs = Shadows::clone(runs);
        change(&mut runs);
        runs
    })
}

/// The 404 of the shadow routes when the tenant has no shadow run.
fn no_shadow() -> ApiError {
    ApiError::not_found("no shadow run is in progress")
}

/// `POST /v1/admin/shadow`: starts a shadow run of a candidate bundle over the caller's
/// tenant's writes (replacing the tenant's run, if any).
#[utoipa::path(
    post,
    path = "/shadow",
    request_body = ShadowBody,
    responses(
        (status = 201, description = "The shadow run started.", body = super::openapi::shapes::Report),
        (status = 404, description = "No such bundle.", body = super::error::ErrorBody),
        (status = 409, description = "The bundle is the active one.", body = super::error::ErrorBody),
        super::openapi::responses::InvalidBundle,
        super::openapi::responses::StorageUnavailable,
    ),
)]
pub async fn start_shadow(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    ApiJson(body): ApiJson<ShadowBody>,
) -> Result<Response, ApiError> {
    let candidate = load_candidate(&state, body.bundle).await?;
    let active = state.policy_for(caller.tenant());
    if candidate.id == active.id {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("{} is the active bundle; shadow a candidate", active.id),
        ));
    }
    let now = state.clock.now_ms();
    audit_tenant(
        &state,
        &caller,
        "policy.shadow-started",
        now,
        &candidate.id,
        json!({"digest": candidate.digest, "active": active.id}),
    )
    .await?;
    let shadow = Arc::new(Shadow::new(candidate, &caller.actor(), now));
    let report = shadow.report();
    let tenant = caller.tenant();
    change_shadows(&state, |runs| {
        runs.insert(tenant.to_string(), shadow.clone());
    });
    Ok((StatusCode::CREATED, Json(report)).into_response())
}

/// `GET /v1/admin/shadow`: the report of the caller's tenant's shadow run.
#[utoipa::path(
    get,
    path = "/shadow",
    responses(
        (status = 200, description = "The shadow run's report.", body = super::openapi::shapes::Report),
        (status = 404, description = "No shadow run is in progress.", body = super::error::ErrorBody),
    ),
)]
pub async fn shadow_report(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> Result<Response, ApiError> {
    match state.shadows.load().get(caller.tenant()) {
        Some(s) => Ok(Json(s.report()).into_response()),
        None => Err(no_shadow()),
    }
}

/// `DELETE /v1/admin/shadow`: stops the caller's tenant's shadow run; returns its final
/// report.
#[utoipa::path(
    delete,
    path = "/shadow",
    responses(
        (status = 200, description = "The final report.", body = super::openapi::shapes::Report),
        (status = 404, description = "No shadow run is in progress.", body = super::error::ErrorBody),
        super::openapi::responses::StorageUnavailable,
    ),
)]
pub async fn stop_shadow(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> Result<Response, ApiError> {
    let tenant = caller.tenant();
    let before = change_shadows(&state, |runs| {
        runs.remove(tenant);
    });
    let Some(shadow) = before.get(tenant).cloned() else {
        return Err(no_shadow());
    };
    let now = state.clock.now_ms();
    let report = shadow.stop(now);
    audit_tenant(
        &state,
        &caller,
        "policy.shadow-stopped",
        now,
        &report.candidate,
        json!({"observed": report.observed, "differing": report.differing,
               "skipped": report.skipped}),
    )
    .await?;
    Ok(Json(report).into_response())
}

/// `GET /v1/admin/bundles/{id}/impact` query.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ImpactQuery {
    /// Start after this record id.
    #[serde(default)]
    after: String,
    /// Most records to examine (default and maximum 10,000).
    #[serde(default)]
    limit: Option<usize>,
}

/// `GET /v1/admin/bundles/{id}/impact`: what activating the bundle for the caller's tenant
/// would delete, redact, reject or stop disclosing among the tenant's stored records now.
#[utoipa::path(
    get,
    path = "/bundles/{id}/impact",
    params(("id" = String, Path, description = "The bundle id, `name@version`."), ImpactQuery),
    responses(
        (status = 200, description = "The impact report.", body = super::openapi::shapes::Report),
        super::openapi::responses::InvalidBundle,
        super::openapi::responses::ShuttingDown,
    ),
)]
pub async fn impact(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    ApiQuery(q): ApiQuery<ImpactQuery>,
) -> Result<Response, ApiError> {
    let candidate = load_candidate(&state, id).await?;
    let tenant = caller.tenant().to_string();
    let active = state.policy_for(&tenant);
    let st = state.clone();
    let cand = candidate.clone();
    // Two pipelines' worth of plugin instances: the active bundle's and the candidate's.
    let report = state
        .executor
        .run(Admission::Wait, 2, move |worker| {
            crate::service::impact::report(
                &st,
                worker,
                &tenant,
                &active,
                &cand,
                &q.after,
                q.limit.unwrap_or(crate::service::impact::MAX_RECORDS),
            )
        })
        .await?
        .map_err(|e| ApiError::internal(&e))?;
    audit_tenant(
        &state,
        &caller,
        "policy.impact-reported",
        state.clock.now_ms(),
        &candidate.id,
        json!({"examined": report.examined}),
    )
    .await?;
    Ok(Json(report).into_response())
}
