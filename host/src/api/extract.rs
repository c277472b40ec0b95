//! What the handlers share to take a request apart: the JSON body and query extractors,
//! whose rejections are JSON [`ApiError`]s, and running a blocking store or registry call
//! off the async workers.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;

use super::error::ApiError;
use crate::state::AppState;

/// JSON body extractor whose rejections are [`ApiError`]s (JSON bodies, named problems):
/// `application/json` in UTF-8 (415 otherwise), a JSON object (every request body of the API
/// is one; an array that serde could read as a struct is refused), malformed JSON a 400 and a
/// well-formed body of the wrong shape a 422.
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        super::body::expect_json(req.headers())?;
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| match e.status() {
                StatusCode::PAYLOAD_TOO_LARGE => ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "request body is larger than the limit",
                ),
                status => ApiError::new(status, e.body_text()),
            })?;
        parse_object(&bytes).map(Self)
    }
}

/// Parses a JSON object into `T` (see [`ApiJson`]).
pub(super) fn parse_object<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => {}
        None => {
            return Err(ApiError::bad_request(
                "the request body is empty: send a JSON object",
            ));
        }
        Some(_) => {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "the request body must be a JSON object",
            ));
        }
    }
    serde_json::from_slice(bytes).map_err(|e| {
        let status = match e.classify() {
            serde_json::error::Category::Data => StatusCode::UNPROCESSABLE_ENTITY,
            _ => StatusCode::BAD_REQUEST,
        };
        ApiError::new(status, format!("invalid JSON body: {e}"))
    })
}

/// Query-string extractor whose rejections are JSON [`ApiError`]s.
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(v)| Self(v))
            .map_err(|e| ApiError::bad_request(e.body_text()))
    }
}

/// Runs a blocking registry or store read off the async workers.
pub(super) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    blocking_task("blocking", f).await
}

/// [`blocking`] on a clone of the shared state.
pub(super) async fn with_state<T: Send + 'static>(
    state: &Arc<AppState>,
    f: impl FnOnce(&Arc<AppState>) -> anyhow::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    let st = state.clone();
    blocking(move || f(&st)).await
}

/// [`blocking`], naming the task (`task`) in the log when it fails to run to its end.
pub(super) async fn blocking_task<T: Send + 'static>(
    task: &str,
    f: impl FnOnce() -> anyhow::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(&anyhow::anyhow!("{task} task failed: {e}")))?
        .map_err(|e| ApiError::internal(&e))
}
