//! The HTTP API (axum). The router is a value: [`router`] builds it from the shared state,
//! tests drive it over a real socket.

pub mod admin;
mod auth;
mod backup;
pub mod body;
mod error;
mod ndjson;
mod outbox;
mod records;
mod subjects;
mod views;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tower_http::catch_panic::CatchPanicLayer;

pub use error::{ApiError, ErrorBody};
pub use views::{DecisionView, RecordView, WriteResponse};

use crate::gateway::AppState;

/// Builds the router. Every route but `/healthz` sits behind a [`auth::Gate`] naming the
/// roles that may call it.
pub fn router(state: Arc<AppState>) -> Router {
    let batch_limit = state.options.max_batch_body;
    let gated = |roles| middleware::from_fn_with_state(auth::Gate::new(&state, roles), auth::gate);
    let service = Router::new()
        .route("/v1/records", post(records::create).get(records::search))
        .route(
            body::BATCH_ROUTE,
            post(records::batch).layer(DefaultBodyLimit::max(batch_limit)),
        )
        .route(
            "/v1/records/{id}",
            get(records::read)
                .patch(records::update)
                .delete(records::delete),
        )
        .route("/v1/records/{id}/recipients", get(outbox::recipients))
        .route("/v1/subjects/{subject}/records", get(records::by_subject))
        .route(
            "/v1/subjects/{subject}/permissions",
            get(subjects::permissions),
        )
        .route_layer(gated(auth::SERVICE));
    let rights = Router::new()
        .route("/v1/subjects/{subject}/export", get(subjects::export))
        .route(
            "/v1/subjects/{subject}/restriction",
            post(subjects::restrict).delete(subjects::lift_restriction),
        )
        .route("/v1/subjects/{subject}/objections", post(subjects::object))
        .route("/v1/subjects/{subject}/erasure", post(subjects::erase))
        .route_layer(gated(auth::RIGHTS));
    let vendor = Router::new()
        .route("/v1/vendor/feed", get(outbox::feed))
        .route("/v1/vendor/feed/ack", post(outbox::ack))
        .route_layer(gated(auth::VENDOR));
    let anyone = Router::new()
        .route("/v1/policy/changes", get(admin::changes))
        .route_layer(gated(auth::ANY));
    let admin = Router::new()
        .route("/metrics", get(metrics))
        .nest("/v1/admin", operator_routes())
        .route_layer(gated(auth::ADMIN));
    let compliance = Router::new()
        .nest("/v1/admin", policy_routes(&state))
        .route_layer(gated(auth::COMPLIANCE));
    Router::new()
        .merge(service)
        .merge(rights)
        .merge(vendor)
        .merge(anyone)
        .merge(admin)
        .merge(compliance)
        .route("/healthz", get(healthz))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(state.options.max_body))
        .layer(middleware::from_fn_with_state(state.clone(), body::admit))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            count_requests,
        ))
        .layer(CatchPanicLayer::custom(panicked))
        .with_state(state)
}

use body::MAX_COMPONENT;

/// `/v1/admin/...` routes of compliance: publishing policy.
fn policy_routes(state: &Arc<AppState>) -> Router<Arc<AppState>> {
    Router::new()
        .route(
            "/plugins",
            post(admin::upload_plugin)
                .get(admin::list_plugins)
                .layer(DefaultBodyLimit::max(MAX_COMPONENT)),
        )
        .route(
            "/bundles",
            post(admin::upload_bundle)
                .get(admin::list_bundles)
                .layer(DefaultBodyLimit::max(state.options.max_batch_body)),
        )
        .route("/bundles/{id}", get(admin::show_bundle))
        .route("/bundles/{id}/activate", post(admin::activate))
        .route("/bundles/{id}/impact", get(admin::impact))
        .route("/rollback", post(admin::rollback))
        .route("/active", get(admin::active))
        .route("/activations", get(admin::activations))
        .route("/retention", get(admin::retention))
        .route(
            "/shadow",
            post(admin::start_shadow)
                .get(admin::shadow_report)
                .delete(admin::stop_shadow),
        )
}

/// `/v1/admin/...` routes of operators: tokens, the outbox, backups, and reloading the
/// policy directory (it changes the default of every tenant without a bundle of its own).
fn operator_routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/reload", post(admin::reload))
        .route("/tokens", post(auth::issue).get(auth::list))
        .route("/tokens/{id}", axum::routing::delete(auth::revoke))
        .route("/outbox", get(outbox::list))
        .route("/outbox/{id}", get(outbox::show))
        .route("/outbox/{id}/redrive", post(outbox::redrive))
        .route("/backup", get(backup::backup))
}

async fn healthz(State(state): State<Arc<AppState>>) -> Response {
    axum::Json(serde_json::json!({
        "status": "ok",
        "bundle": state.default_policy().id,
    }))
    .into_response()
}

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
