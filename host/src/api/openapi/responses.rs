//! Error responses that several operations give alike, named in their `responses(...)`
//! instead of spelled out in each.

use super::super::error::ErrorBody;

/// 503: the storage is unavailable.
#[derive(utoipa::IntoResponses)]
#[response(status = 503, description = "Storage is unavailable.")]
pub struct StorageUnavailable(ErrorBody);

/// 503 of a request that runs the policy: a plugin failed, the storage is unavailable or
/// the pipelines are saturated.
#[derive(utoipa::IntoResponses)]
#[response(
    status = 503,
    description = "A plugin failed, storage is unavailable, or the gateway is saturated (retry after `Retry-After` seconds); nothing was stored or sent.",
    headers(("Retry-After" = u64, description = "Seconds to wait before retrying."))
)]
pub struct Saturated(ErrorBody);

/// 503 of a policy change: the gateway is shutting down or saturated.
#[derive(utoipa::IntoResponses)]
#[response(
    status = 503,
    description = "The gateway is shutting down or saturated (retry after `Retry-After` seconds).",
    headers(("Retry-After" = u64, description = "Seconds to wait before retrying."))
)]
pub struct ShuttingDown(ErrorBody);

/// 422 of a policy change: the bundle does not pass the validation gate.
#[derive(utoipa::IntoResponses)]
#[response(
    status = 422,
    description = "The bundle or a plugin is not valid, a policy test case fails, or the signature is not trusted."
)]
pub struct InvalidBundle(ErrorBody);

/// The refusals of a data subject's key.
#[derive(utoipa::IntoResponses)]
pub enum BadSubject {
    /// 400: empty or too long.
    #[response(status = 400, description = "An empty or too long subject.")]
    Malformed(ErrorBody),
    /// 422: it holds a card number.
    #[response(status = 422, description = "The subject holds a card number.")]
    CardNumber(ErrorBody),
}
