//! `/v1/admin/...`: publishing policy to the running gateway (plugins, bundles, activation,
//! rollback, shadow runs, impact reports), and `GET /v1/policy/changes`.
//!
//! Uploads are global (content-addressed, and a bundle id never changes); everything else
//! acts on, and shows, the caller's tenant only: its active bundle (its own, or the gateway
//! default), its activations and the default's, its shadow run, its records in impact
//! reports and retention recomputes. Every change is audited with who made it: the id and
//! role of the caller's token, and the tenant.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::Actor;
use super::auth::Caller;
use super::error::ApiError;
use super::extract::{ApiJson, ApiQuery, with_state};
use crate::bundle::package::Package;
use crate::registry::BundleEntry;
use crate::runtime::World;
use crate::service::policy::{self as control, Source};
use crate::state::AppState;
use crate::store::AuditEntry;

/// `POST /v1/admin/plugins` query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PluginQuery {
    /// The plugin's name.
    name: String,
    /// Its version.
    #[serde(default)]
    version: String,
    /// The world it implements.
    #[param(inline)]
    world: World,
}

/// `POST /v1/admin/plugins?name=&version=&world=` with the component as the body.
#[utoipa::path(
    post,
    path = "/plugins",
    params(PluginQuery),
    request_body(content = super::openapi::shapes::Binary, content_type = "application/wasm",
        description = "The plugin's component (a wasm32-wasip2 `.wasm` file)."),
    responses(
        (status = 201, description = "Stored.", body = super::openapi::shapes::Report),
        (status = 200, description = "Already stored.", body = super::openapi::shapes::Report),
        (status = 400, description = "An empty body or a bad query.", body = super::error::ErrorBody),
        super::openapi::responses::InvalidBundle,
        (status = 409, description = "The name is taken by another component.", body = super::error::ErrorBody),
    ),
)]
pub async fn upload_plugin(
    State(state): State<Arc<AppState>>,
    Actor(actor): Actor,
    ApiQuery(q): ApiQuery<PluginQuery>,
    body: Bytes,
) -> Result<Response, ApiError> {
    if body.is_empty() {
        return Err(ApiError::bad_request(
            "the body must be the plugin's component (a wasm32-wasip2 .wasm file)",
        ));
    }
    let (info, created) =
        control::upload_plugin(&state, &q.name, &q.version, q.world, body.to_vec(), &actor).await?;
    Ok((created_or_ok(created), Json(info)).into_response())
}

/// `GET /v1/admin/plugins`
#[utoipa::path(
    get,
    path = "/plugins",
    responses((status = 200, description = "Every uploaded plugin.", body = super::openapi::shapes::Plugins)),
)]
pub async fn list_plugins(State(state): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let plugins = with_state(&state, |st| st.registry.plugins()).await?;
    Ok(Json(json!({ "plugins": plugins })).into_response())
}

/// `POST /v1/admin/bundles` query.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct BundleQuery {
    /// Activate the bundle once stored.
    #[serde(default)]
    activate: bool,
}

/// `POST /v1/admin/bundles[?activate=true]` with a package (`{"manifest","plugins","cases",
/// "signature"}`) as the body.
#[utoipa::path(
    post,
    path = "/bundles",
    params(BundleQuery),
    request_body(content = Object, description = "A package: `{\"manifest\",\"plugins\",\"cases\",\"signature\"}`."),
    responses(
        (status = 201, description = "Stored (and activated with `activate=true`).", body = super::openapi::shapes::BundleSummary),
        (status = 200, description = "Already stored.", body = super::openapi::shapes::BundleSummary),
        super::openapi::responses::InvalidBundle,
        (status = 409, description = "Another bundle has that id.", body = super::error::ErrorBody),
        super::openapi::responses::ShuttingDown,
    ),
)]
pub async fn upload_bundle(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    ApiQuery(q): ApiQuery<BundleQuery>,
    ApiJson(package): ApiJson<Package>,
) -> Result<Response, ApiError> {
    let actor = caller.actor();
    let (entry, created) = control::upload_bundle(&state, package, Source::Api, &actor).await?;
    let mut body = summary(&state, caller.tenant(), &entry)?;
    if q.activate {
        let report =
            control::activate(&state, Some(caller.tenant()), &entry.id, "activate", &actor).await?;
        body["activation"] = serde_json::to_value(report).unwrap_or_default();
        body["state"] = json!("active");
    }
    Ok((created_or_ok(created), Json(body)).into_response())
}

/// 201 for an upload that stored something new, 200 for one already stored.
fn created_or_ok(created: bool) -> StatusCode {
    if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    }
}

/// A bundle as listed: everything but the package's contents, plus its state for `tenant`.
fn summary(state: &AppState, tenant: &str, entry: &BundleEntry) -> Result<Value, ApiError> {
    let active = state.policy_for(tenant);
    let shadows = state.shadows.load();
    let st = if active.id == entry.id {
        "active"
    } else if shadows
        .get(tenant)
        .is_some_and(|s| s.candidate.id == entry.id)
    {
        "shadow"
    } else {
        "available"
    };
    let plugins = serde_json::to_value(&entry.package.plugins).unwrap_or_default();
    Ok(json!({
        "id": entry.id,
        "name": entry.name,
        "version": entry.version,
        "digest": entry.digest,
        "state": st,
        "signed_by": entry.signed_by,
        "published_by": entry.published_by,
        "published_at": entry.published_at,
        "plugins": plugins,
        "cases": entry.package.cases.keys().collect::<Vec<_>>(),
    }))
}

/// `GET /v1/admin/bundles`: every bundle, with its state and activations for the caller's
/// tenant.
#[utoipa::path(
    get,
    path = "/bundles",
    responses((status = 200, description = "Every bundle, with its state for the caller's tenant.", body = super::openapi::shapes::Bundles)),
)]
pub async fn list_bundles(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> Result<Response, ApiError> {
    let tenant = caller.tenant().to_string();
    let (bundles, activations) = with_state(&state, move |st| {
        let view = crate::registry::View::Tenant(&tenant);
        Ok((st.registry.bundles()?, st.registry.activations_for(view)?))
    })
    .await?;
    let list: Vec<Value> = bundles
        .iter()
        .map(|b| {
            let mut v = summary(&state, caller.tenant(), b)?;
            v["activations"] = json!(activations.iter().filter(|a| a.bundle == b.id).count());
            Ok(v)
        })
        .collect::<Result<_, ApiError>>()?;
    let active = state.policy_for(caller.tenant()).id.clone();
    Ok(Json(json!({ "active": active, "bundles": list })).into_response())
}

pub(super) async fn entry(state: &Arc<AppState>, id: String) -> Result<BundleEntry, ApiError> {
    let wanted = id.clone();
    with_state(state, move |st| st.registry.bundle(&wanted))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no bundle {id} in the registry")))
}

/// `GET /v1/admin/bundles/{id}`: the bundle, with its manifest and cases.
#[utoipa::path(
    get,
    path = "/bundles/{id}",
    params(("id" = String, Path, description = "The bundle id, `name@version`.")),
    responses((status = 200, description = "The bundle, with `manifest` and `signature`.", body = super::openapi::shapes::BundleSummary)),
)]
pub async fn show_bundle(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let entry = entry(&state, id).await?;
    let mut body = summary(&state, caller.tenant(), &entry)?;
    body["manifest"] = json!(entry.package.manifest);
    body["signature"] = serde_json::to_value(&entry.package.signature).unwrap_or_default();
    Ok(Json(body).into_response())
}

/// `POST /v1/admin/bundles/{id}/activate`: activates the bundle for the caller's tenant.
#[utoipa::path(
    post,
    path = "/bundles/{id}/activate",
    params(("id" = String, Path, description = "The bundle id, `name@version`.")),
    responses(
        (status = 200, description = "Activated.", body = super::openapi::shapes::Report),
        super::openapi::responses::InvalidBundle,
        (status = 409, description = "The bundle cannot be activated now.", body = super::error::ErrorBody),
        super::openapi::responses::ShuttingDown,
    ),
)]
pub async fn activate(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let report = control::activate(
        &state,
        Some(caller.tenant()),
        &id,
        "activate",
        &caller.actor(),
    )
    .await?;
    Ok(Json(report).into_response())
}

/// `POST /v1/admin/rollback` body (optional).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RollbackBody {
    /// The bundle to go back to; default: the one the tenant ran on before the current one
    /// (the gateway default when it had no earlier bundle of its own).
    #[serde(default)]
    to: Option<String>,
}

/// `POST /v1/admin/rollback`: rolls the caller's tenant back.
#[utoipa::path(
    post,
    path = "/rollback",
    request_body(content = Option<RollbackBody>, description = "Optional: the bundle to go back to."),
    responses(
        (status = 200, description = "Rolled back.", body = super::openapi::shapes::Report),
        (status = 404, description = "No such bundle, or nothing to roll back to.", body = super::error::ErrorBody),
        (status = 409, description = "Nothing to roll back to.", body = super::error::ErrorBody),
        super::openapi::responses::InvalidBundle,
        super::openapi::responses::ShuttingDown,
    ),
)]
pub async fn rollback(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body: RollbackBody = if body.iter().all(u8::is_ascii_whitespace) {
        RollbackBody::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::bad_request(format!("invalid rollback body: {e}")))?
    };
    let report =
        control::rollback(&state, caller.tenant(), body.to.as_deref(), &caller.actor()).await?;
    Ok(Json(report).into_response())
}

/// `POST /v1/admin/reload` (operators): reloads the gateway's policy directory through the
/// gate as the gateway default.
#[utoipa::path(
    post,
    path = "/reload",
    responses(
        (status = 200, description = "Reloaded.", body = super::openapi::shapes::Report),
        (status = 404, description = "The gateway has no policy directory.", body = super::error::ErrorBody),
        (status = 409, description = "The directory's bundle cannot be activated.", body = super::error::ErrorBody),
        super::openapi::responses::InvalidBundle,
        super::openapi::responses::ShuttingDown,
    ),
)]
pub async fn reload(
    State(state): State<Arc<AppState>>,
    Actor(actor): Actor,
) -> Result<Response, ApiError> {
    let report = control::reload_dir(&state, &actor).await?;
    Ok(Json(report).into_response())
}

/// `GET /v1/admin/active`: the bundle the caller's tenant runs on, the activation that put
/// it there and the retention recompute of the tenant's records.
#[utoipa::path(
    get,
    path = "/active",
    responses((status = 200, description = "The tenant's active bundle.", body = super::openapi::shapes::Active)),
)]
pub async fn active(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> Result<Response, ApiError> {
    let tenant = caller.tenant().to_string();
    let policies = state.policies();
    let policy = policies.get(&tenant).clone();
    let own = policies.has_own(&tenant);
    drop(policies);
    let (activation, progress) = with_state(&state, move |st| {
        let view = crate::registry::View::Tenant(&tenant);
        let activation = st
            .registry
            .activations_for(view)?
            .into_iter()
            .rev()
            // With a bundle of its own, the tenant's last activation; otherwise the later
            // of the default's last and the tenant's going back to the default.
            .find(|a| !own || a.tenant.is_some());
        Ok((activation, crate::service::recompute::view(st, &tenant)?))
    })
    .await?;
    Ok(Json(json!({
        "bundle": policy.id,
        "digest": policy.digest,
        "signed_by": policy.package.signature.as_ref().map(|s| s.key.clone()),
        "plugins": policy.plugins.values()
            .map(|p| json!({"name": p.name, "digest": p.digest, "world": p.world}))
            .collect::<Vec<_>>(),
        "activation": activation,
        "retention_recompute": progress,
    }))
    .into_response())
}

/// `GET /v1/admin/activations`: the activations of the gateway default and of the caller's
/// tenant, oldest first.
#[utoipa::path(
    get,
    path = "/activations",
    responses((status = 200, description = "The activations.", body = super::openapi::shapes::Activations)),
)]
pub async fn activations(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> Result<Response, ApiError> {
    let tenant = caller.tenant().to_string();
    let list = with_state(&state, move |st| {
        st.registry
            .activations_for(crate::registry::View::Tenant(&tenant))
    })
    .await?;
    Ok(Json(json!({ "activations": list })).into_response())
}

/// `GET /v1/admin/retention`: the progress of the retention recompute of the caller's
/// tenant's records.
#[utoipa::path(
    get,
    path = "/retention",
    responses((status = 200, description = "The recompute's progress.", body = super::openapi::shapes::Retention)),
)]
pub async fn retention(
    State(state): State<Arc<AppState>>,
    caller: Caller,
) -> Result<Response, ApiError> {
    let tenant = caller.tenant().to_string();
    let progress = with_state(&state, move |st| {
        crate::service::recompute::view(st, &tenant)
    })
    .await?;
    Ok(Json(json!({ "recompute": progress })).into_response())
}

/// Audits an administrative change of `caller`'s tenant's policy, naming the tenant.
pub(super) async fn audit_tenant(
    state: &Arc<AppState>,
    caller: &Caller,
    event: &str,
    at: i64,
    bundle: &str,
    mut detail: Value,
) -> Result<(), ApiError> {
    detail["tenant"] = json!(caller.tenant());
    let entry = AuditEntry {
        tenant: caller.tenant().to_string(),
        ..AuditEntry::admin(event, at, &caller.actor(), Some(bundle), detail)
    };
    with_state(state, move |st| st.registry.audit(entry)).await
}

/// `GET /v1/policy/changes[?after=N]`: the policy change notices (clause 8) the caller may
/// see (see [`Caller::view`]), oldest first.
#[utoipa::path(
    get,
    path = "/v1/policy/changes",
    params(("after" = Option<u64>, Query, description = "Only the notices after this number.")),
    responses((status = 200, description = "The policy change notices (clause 8).", body = super::openapi::shapes::Changes)),
)]
pub async fn changes(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    ApiQuery(q): ApiQuery<BTreeMap<String, String>>,
) -> Result<Response, ApiError> {
    let after = match q.get("after") {
        None => 0,
        Some(v) => v
            .parse()
            .map_err(|_| ApiError::bad_request("`after` must be a notice number"))?,
    };
    let notices = with_state(&state, move |st| st.registry.notices(after, caller.view())).await?;
    Ok(Json(json!({ "clause": crate::clause::CHANGES, "changes": notices })).into_response())
}
