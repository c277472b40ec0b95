//! The route table: every route with its handler, its body limit and the roles its gate
//! admits, the middleware around them, and the OpenAPI document built from the same table.

use std::sync::Arc;
use std::sync::OnceLock;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;
use utoipa::openapi::OpenApi;
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouter};
use utoipa_axum::routes;

use super::body::MAX_COMPONENT;
use super::error::ApiError;
use super::{admin, auth, backup, batch, body, candidates, openapi, outbox, records, subjects};
use crate::auth::Role;
use crate::state::AppState;

/// The body limits of the routes that take a body.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most bytes of a body (every route).
    pub body: usize,
    /// Most bytes of a batch body or a bundle package.
    pub batch: usize,
}

impl Default for Limits {
    fn default() -> Self {
        let options = crate::state::Options::new();
        Self {
            body: options.max_body,
            batch: options.max_batch_body,
        }
    }
}

/// A group of routes and the roles its gate admits (`None`: no token needed).
struct Group {
    roles: Option<&'static [Role]>,
    routes: OpenApiRouter<Arc<AppState>>,
}

impl Group {
    /// Routes behind a gate of `roles`, documented as needing them and tagged `tag`.
    fn gated(tag: &str, roles: &'static [Role], mut routes: OpenApiRouter<Arc<AppState>>) -> Self {
        openapi::gated(routes.get_openapi_mut(), tag, roles);
        Self {
            roles: Some(roles),
            routes,
        }
    }

    /// Routes anyone may call.
    fn public(tag: &str, mut routes: OpenApiRouter<Arc<AppState>>) -> Self {
        openapi::public(routes.get_openapi_mut(), tag);
        Self {
            roles: None,
            routes,
        }
    }
}

/// Applies a body limit to the routes of one `routes!` entry.
fn limited(
    (schemas, paths, method): UtoipaMethodRouter<Arc<AppState>>,
    max: usize,
) -> UtoipaMethodRouter<Arc<AppState>> {
    (schemas, paths, method.layer(DefaultBodyLimit::max(max)))
}

/// The route table: every route, grouped by the roles that may call it. The router and
/// the OpenAPI document are both built from it.
fn groups(limits: &Limits) -> Vec<Group> {
    let service = OpenApiRouter::new()
        .routes(routes!(records::create, records::search))
        .routes(limited(routes!(batch::batch), limits.batch))
        .routes(routes!(records::read, records::update, records::delete))
        .routes(routes!(outbox::recipients))
        .routes(routes!(records::by_subject))
        .routes(routes!(subjects::permissions));
    let rights = OpenApiRouter::new()
        .routes(routes!(subjects::export))
        .routes(routes!(subjects::restrict, subjects::lift_restriction))
        .routes(routes!(subjects::object))
        .routes(routes!(subjects::erase));
    let vendor = OpenApiRouter::new()
        .routes(routes!(outbox::feed))
        .routes(routes!(outbox::ack));
    let anyone = OpenApiRouter::new().routes(routes!(admin::changes));
    let operators = OpenApiRouter::new()
        .routes(routes!(metrics))
        .nest("/v1/admin", operator_routes());
    let compliance = OpenApiRouter::new().nest("/v1/admin", policy_routes(limits));
    let public = OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(serve));
    vec![
        Group::gated("service", auth::SERVICE, service),
        Group::gated("rights", auth::RIGHTS, rights),
        Group::gated("vendor", auth::VENDOR, vendor),
        Group::gated("any", auth::ANY, anyone),
        Group::gated("admin", auth::ADMIN, operators),
        Group::gated("compliance", auth::COMPLIANCE, compliance),
        Group::public("public", public),
    ]
}

/// Every route, with its documentation; the gates need the state, so [`router`] adds them.
fn api(limits: &Limits) -> OpenApiRouter<Arc<AppState>> {
    groups(limits)
        .into_iter()
        .fold(OpenApiRouter::with_openapi(openapi::base()), |api, g| {
            api.merge(g.routes)
        })
}

/// Builds the router. Every route but `/healthz` and `/openapi.json` sits behind a
/// [`auth::Gate`] naming the roles that may call it.
pub fn router(state: Arc<AppState>) -> Router {
    let limits = Limits {
        body: state.options.max_body,
        batch: state.options.max_batch_body,
    };
    let gated = |roles| middleware::from_fn_with_state(auth::Gate::new(&state, roles), auth::gate);
    let api = groups(&limits)
        .into_iter()
        .fold(OpenApiRouter::new(), |api, g| {
            let routes = match g.roles {
                Some(roles) => g.routes.route_layer(gated(roles)),
                None => g.routes,
            };
            api.merge(routes)
        });
    let (router, _) = api.split_for_parts();
    router
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn(json_errors))
        .layer(DefaultBodyLimit::max(limits.body))
        .layer(middleware::from_fn_with_state(state.clone(), body::admit))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            count_requests,
        ))
        .layer(CatchPanicLayer::custom(panicked))
        .with_state(state)
}

/// `/v1/admin/...` routes of compliance: publishing policy.
fn policy_routes(limits: &Limits) -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(limited(
            routes!(admin::upload_plugin, admin::list_plugins),
            MAX_COMPONENT,
        ))
        .routes(limited(
            routes!(admin::upload_bundle, admin::list_bundles),
            limits.batch,
        ))
        .routes(routes!(admin::show_bundle))
        .routes(routes!(admin::activate))
        .routes(routes!(candidates::impact))
        .routes(routes!(admin::rollback))
        .routes(routes!(admin::active))
        .routes(routes!(admin::activations))
        .routes(routes!(admin::retention))
        .routes(routes!(
            candidates::start_shadow,
            candidates::shadow_report,
            candidates::stop_shadow
        ))
}

/// `/v1/admin/...` routes of operators: tokens, the outbox, backups, and reloading the
/// policy directory (it changes the default of every tenant without a bundle of its own).
fn operator_routes() -> OpenApiRouter<Arc<AppState>> {
    OpenApiRouter::new()
        .routes(routes!(admin::reload))
        .routes(routes!(auth::issue, auth::list))
        .routes(routes!(auth::revoke))
        .routes(routes!(outbox::list))
        .routes(routes!(outbox::show))
        .routes(routes!(outbox::redrive))
        .routes(routes!(backup::backup))
}

/// `GET /healthz`: the gateway is up, runs the default bundle named, on the store named; and
/// which gateway answered.
#[utoipa::path(
    get,
    path = "/healthz",
    responses((status = 200, description = "Up.", body = openapi::shapes::Health)),
)]
async fn healthz(State(state): State<Arc<AppState>>) -> Response {
    axum::Json(serde_json::json!({
        "status": "ok",
        "bundle": state.default_policy().id,
        "store": state.store.backend(),
        "gateway": state.store.writer(),
    }))
    .into_response()
}

/// `GET /metrics`: the gateway's metrics.
#[utoipa::path(
    get,
    path = "/metrics",
    responses((status = 200, description = "The metrics, in the OpenMetrics text format.",
        content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8", body = String)),
)]
async fn metrics(State(state): State<Arc<AppState>>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        state.metrics.encode(),
    )
        .into_response()
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method not allowed on this route",
    )
}

fn panicked(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
}

async fn count_requests(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let method = req.method().as_str().to_string();
    let response = next.run(req).await;
    state
        .metrics
        .request(&route, &method, response.status().as_u16());
    response
}

/// Gives every error answer a JSON [`ErrorBody`]: axum's own rejections (a path that is not
/// valid UTF-8, a query string of the wrong shape, ...) answer in plain text; their text
/// becomes the body's `error`. Headers such as `WWW-Authenticate`, `Allow` and
/// `Retry-After` are kept.
async fn json_errors(req: Request, next: Next) -> Response {
    /// Most bytes of a plain-text error kept.
    const MAX_TEXT: usize = 4096;
    let response = next.run(req).await;
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = match axum::body::to_bytes(body, MAX_TEXT).await {
        Ok(b) if !b.is_empty() => String::from_utf8_lossy(&b).into_owned(),
        _ => status
            .canonical_reason()
            .unwrap_or("request failed")
            .to_lowercase(),
    };
    parts.headers.remove(header::CONTENT_TYPE);
    parts.headers.remove(header::CONTENT_LENGTH);
    let json = ApiError::new(status, text).into_response();
    let (json_parts, json_body) = json.into_parts();
    parts.headers.extend(json_parts.headers);
    Response::from_parts(parts, json_body)
}

/// The document, built once.
pub fn document() -> &'static OpenApi {
    static DOC: OnceLock<OpenApi> = OnceLock::new();
    DOC.get_or_init(|| {
        let (_, doc) = api(&Limits::default()).split_for_parts();
        openapi::finish(doc)
    })
}

/// The document as pretty-printed JSON with a final newline (the form of `host/openapi.json`).
pub fn json() -> &'static str {
    static JSON: OnceLock<String> = OnceLock::new();
    JSON.get_or_init(|| {
        let mut text = document()
            .to_pretty_json()
            .expect("the OpenAPI document serializes");
        text.push('\n');
        text
    })
}

/// `GET /openapi.json`: this document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    responses((status = 200, description = "The OpenAPI 3.1 document of this API.",
        content_type = "application/json", body = Object)),
)]
pub async fn serve() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], json()).into_response()
}
