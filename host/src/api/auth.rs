//! Authentication and authorization of requests: every route but `/healthz` sits behind a
//! [`Gate`] naming the roles that may call it. The gate checks the bearer token (401 if it
//! is missing or not valid, 403 if its role may not call the route) and hands the token's
//! holder to the handler as a [`Caller`]. Tokens never reach a log: only their ids do.

use std::sync::Arc;

use axum::Json;
use axum::extract::{FromRequestParts, Path, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use super::error::ApiError;
use super::extract::{ApiJson, with_state};
use crate::auth::{DEFAULT_TENANT, Role, TokenRecord, TokenSpec};
use crate::state::AppState;

/// Services: the records of their tenant.
pub const SERVICE: &[Role] = &[Role::Service];
/// Data subjects' requests: filed by services for their tenant, or by compliance.
pub const RIGHTS: &[Role] = &[Role::Service, Role::Compliance];
/// Publishing policy.
pub const COMPLIANCE: &[Role] = &[Role::Compliance];
/// A vendor's own feed.
pub const VENDOR: &[Role] = &[Role::Vendor];
/// Tokens, the outbox, backups, metrics.
pub const ADMIN: &[Role] = &[Role::Admin];
/// Anyone with a valid token (e.g. the policy change notices).
pub const ANY: &[Role] = &[Role::Service, Role::Compliance, Role::Vendor, Role::Admin];

/// The roles a group of routes admits.
#[derive(Clone)]
pub struct Gate {
    state: Arc<AppState>,
    roles: &'static [Role],
}

impl Gate {
    /// A gate admitting `roles`.
    pub fn new(state: &Arc<AppState>, roles: &'static [Role]) -> Self {
        Self {
            state: state.clone(),
            roles,
        }
    }
}

fn unauthorized(error: &str) -> Response {
    let mut response = ApiError::new(StatusCode::UNAUTHORIZED, error).into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"sluice\""),
    );
    response
}

/// The middleware of a [`Gate`].
pub async fn gate(State(gate): State<Gate>, mut req: Request, next: Next) -> Response {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return unauthorized("a bearer token is required (Authorization: Bearer <token>)");
    };
    let token = match value.to_str().map_err(anyhow::Error::from) {
        Ok(v) => match crate::auth::bearer(v) {
            Ok(t) => t,
            Err(e) => return unauthorized(&e.to_string()),
        },
        Err(_) => return unauthorized("the Authorization header is not valid text"),
    };
    let Some(holder) = gate.state.tokens.authenticate(token) else {
        return unauthorized("the bearer token is not valid (unknown or revoked)");
    };
    if !gate.roles.contains(&holder.role) {
        let wanted = gate
            .roles
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(" or ");
        return ApiError::new(
            StatusCode::FORBIDDEN,
            format!(
                "this route needs a {wanted} token; token {} has role {}",
                holder.id, holder.role
            ),
        )
        .into_response();
    }
    req.extensions_mut().insert(Caller(holder));
    next.run(req).await
}

/// Who is calling: the holder of the request's token (set by the [`Gate`]).
#[derive(Debug, Clone)]
pub struct Caller(pub Arc<TokenRecord>);

impl Caller {
    /// The tenant whose records the caller reaches.
    pub fn tenant(&self) -> &str {
        self.0.tenant.as_deref().unwrap_or(DEFAULT_TENANT)
    }

    /// How the audit log names the caller.
    pub fn actor(&self) -> String {
        self.0.actor()
    }

    /// The caller as the requester of a data subject's request, `actor` being
    /// [`Self::actor`].
    pub(crate) fn requester<'a>(&'a self, actor: &'a str) -> crate::service::rights::Requester<'a> {
        crate::service::rights::Requester {
            tenant: self.tenant(),
            actor,
        }
    }

    /// Whose policy activations and change notices the caller sees: a service's or
    /// compliance token's, its tenant's (and the default's); an operator's, everything; a
    /// vendor's, the default's only (a vendor serves every tenant, and learns none of their
    /// own policies).
    pub fn view(&self) -> crate::registry::View<'_> {
        use crate::registry::View;
        match self.0.role {
            Role::Admin => View::All,
            Role::Vendor => View::Default,
            Role::Service | Role::Compliance => View::Tenant(self.tenant()),
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        // A route without a gate has no caller: refuse rather than serve it unauthenticated.
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "a bearer token is required"))
    }
}

/// A token record as the API shows it (times as RFC 3339).
fn view(record: &TokenRecord) -> serde_json::Value {
    let mut v = serde_json::to_value(record).unwrap_or_default();
    v["created_at"] = json!(crate::clock::rfc3339_ms(record.created_at));
    if let Some(at) = record.revoked_at {
        v["revoked_at"] = json!(crate::clock::rfc3339_ms(at));
    }
    v
}

/// `POST /v1/admin/tokens {"role","tenant"?,"vendor"?,"label"?}`: issues a token; the
/// response is the only place the token appears. A vendor token names a vendor of the
/// subprocessor register of an active bundle (422 and clause 3.2 otherwise).
#[utoipa::path(
    post,
    path = "/tokens",
    request_body = TokenSpec,
    responses(
        (status = 201, description = "Issued: the token (shown here only) and its record.", body = super::openapi::shapes::Issued),
        (status = 422, description = "The role and its bindings do not fit together, or a vendor token names no vendor of an active register (clause 3.2).", body = super::error::ErrorBody),
        super::openapi::responses::StorageUnavailable,
    ),
)]
pub async fn issue(
    State(state): State<Arc<AppState>>,
    Actor(actor): Actor,
    ApiJson(spec): ApiJson<TokenSpec>,
) -> Result<Response, ApiError> {
    let spec = spec
        .normalized()
        .and_then(|spec| {
            let policies = state.policies();
            spec.check_listed(|v| policies.any_register_has(v))
                .map(|()| spec)
        })
        .map_err(|e| {
            let mut error = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string());
            error.body.clause = e.clause().map(str::to_string);
            error
        })?;
    let now = state.clock.now_ms();
    let issued = with_state(&state, move |st| st.tokens.issue(spec, now, &actor)).await?;
    tracing::info!(token = %issued.record.id, role = %issued.record.role, "token issued");
    Ok((
        StatusCode::CREATED,
        Json(json!({ "token": issued.token, "record": view(&issued.record) })),
    )
        .into_response())
}

/// `GET /v1/admin/tokens`: every token issued (ids, roles, bindings; never the tokens).
#[utoipa::path(
    get,
    path = "/tokens",
    responses((status = 200, description = "Every token issued.", body = super::openapi::shapes::Tokens)),
)]
pub async fn list(State(state): State<Arc<AppState>>) -> Result<Response, ApiError> {
    let tokens = with_state(&state, |st| st.tokens.list()).await?;
    let tokens: Vec<serde_json::Value> = tokens.iter().map(view).collect();
    Ok(Json(json!({ "tokens": tokens })).into_response())
}

/// `DELETE /v1/admin/tokens/{id}`: revokes a token; it stops working at once.
#[utoipa::path(
    delete,
    path = "/tokens/{id}",
    params(("id" = String, Path, description = "The token id, `tok_...`.")),
    responses((status = 200, description = "Revoked.", body = super::openapi::shapes::Revoked)),
)]
pub async fn revoke(
    State(state): State<Arc<AppState>>,
    Actor(actor): Actor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let now = state.clock.now_ms();
    let key = id.clone();
    match with_state(&state, move |st| st.tokens.revoke(&key, now, &actor)).await? {
        Some(record) => {
            tracing::info!(token = %record.id, "token revoked");
            Ok(Json(json!({ "revoked": view(&record) })).into_response())
        }
        None => Err(ApiError::not_found(format!("no token with id `{id}`"))),
    }
}

/// Who makes an administrative change: the caller's token, as `role:token-id`.
pub struct Actor(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Actor {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let caller = Caller::from_request_parts(parts, state).await?;
        Ok(Actor(caller.actor()))
    }
}
