//! Request bodies before any handler reads them: their encoding (identity or gzip, nothing
//! else), their size per route (decoded bytes, so that a small gzip body cannot expand past
//! the limit), their media type, and their share of the gateway's body budget.
//!
//! One layer, [`admit`], on every route: for the holder of a valid token, it refuses an unknown `Content-Encoding` (415),
//! decodes gzip, applies the route's size limit to the decoded body (413 at once when the
//! declared length is over it) and holds the body's share of [`crate::budget::BodyBudget`]
//! until the handler has answered (503 with `Retry-After` when no share is freed in time).
//! Handlers check the media type ([`expect_json`], [`expect_ndjson`]).

use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use crate::budget::Reservation;
use crate::state::AppState;

/// The route of NDJSON batches, read as a stream.
pub const BATCH_ROUTE: &str = "/v1/records:batch";
/// The route of plugin uploads.
pub const PLUGINS_ROUTE: &str = "/v1/admin/plugins";
/// The route of bundle uploads.
pub const BUNDLES_ROUTE: &str = "/v1/admin/bundles";
/// Largest plugin component an upload accepts.
pub const MAX_COMPONENT: usize = 64 << 20;

/// The share of the body budget a batch holds, grown and shrunk as it reads its lines; in
/// the request's extensions for the batch handler.
#[derive(Clone, Debug)]
pub struct BatchShare(pub Arc<Mutex<Reservation>>);

/// A route's body limit: bytes, and the flag that sets it.
fn limit_of(state: &AppState, route: Option<&str>) -> (usize, &'static str) {
    match route {
        Some(BATCH_ROUTE) | Some(BUNDLES_ROUTE) => {
            (state.options.max_batch_body, "max-batch-body-kib")
        }
        Some(PLUGINS_ROUTE) => (MAX_COMPONENT, "max-component-kib"),
        _ => (state.options.max_body, "max-body-kib"),
    }
}

/// 413 for a body over `limit` bytes set by `flag`.
pub fn too_large(limit: usize, flag: &str) -> ApiError {
    ApiError::over_limit(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!(
            "the request body is larger than the limit of {} KiB (`{flag}`)",
            limit >> 10
        ),
        flag,
        (limit >> 10) as u64,
    )
}

/// Whether the body is gzip-compressed: `Content-Encoding` absent or `identity`, or one
/// `gzip`; anything else is refused with 415.
fn gzipped(headers: &HeaderMap) -> Result<bool, ApiError> {
    let mut codings = Vec::new();
    for value in headers.get_all(header::CONTENT_ENCODING) {
        let v = value
            .to_str()
            .map_err(|_| ApiError::unsupported_media("the Content-Encoding header is not ASCII"))?;
        codings.extend(
            v.split(',')
                .map(|c| c.trim().to_ascii_lowercase())
                .filter(|c| !c.is_empty() && c != "identity"),
        );
    }
    match codings.as_slice() {
        [] => Ok(false),
        [one] if one == "gzip" || one == "x-gzip" => Ok(true),
        _ => Err(ApiError::unsupported_media(format!(
            "Content-Encoding `{}` is not supported: send the body as is or gzip-compressed once",
            codings.join(", ")
        ))),
    }
}

/// The decoded stream of a gzip body.
fn gunzip(body: Body) -> Body {
    use futures_util::TryStreamExt as _;
    let compressed = body.into_data_stream().map_err(std::io::Error::other);
    let decoder = async_compression::tokio::bufread::GzipDecoder::new(
        tokio_util::io::StreamReader::new(compressed),
    );
    Body::from_stream(tokio_util::io::ReaderStream::new(decoder))
}

/// Decodes the body, applies the route's body limit to the decoded bytes and reserves the
/// body's share of the budget (see the module documentation).
pub async fn admit(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    match admitted(&state, req).await {
        Ok((req, held)) => {
            let response = next.run(req).await;
            drop(held);
            response
        }
        Err(e) => e.into_response(),
    }
}

async fn admitted(
    state: &AppState,
    req: Request,
) -> Result<(Request, Option<Arc<Mutex<Reservation>>>), ApiError> {
    let route = req.extensions().get::<MatchedPath>().map(|p| p.as_str());
    let (limit, flag) = limit_of(state, route);
    let streamed = route == Some(BATCH_ROUTE);
    let headers = req.headers();
    let gzip = gzipped(headers)?;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    let has_body = match declared {
        Some(n) => n > 0,
        None => headers.contains_key(header::TRANSFER_ENCODING),
    };
    // Only a valid token's holder gets a share of the budget: a request without one is
    // answered 401 by the gate before its body is read.
    let authenticated = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| crate::auth::bearer(v).ok())
        .is_some_and(|t| state.tokens.authenticate(t).is_some());
    if !has_body || !authenticated {
        return Ok((req, None));
    }
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large(limit, flag));
    }
    // The decoded length of a gzip body is unknown until it is read.
    let known = declared.filter(|_| !gzip);
    let share = if streamed {
        // A batch holds a window of lines in flight and its answer, which carries every
        // record it stored: about its own length. Both are reserved here, before it holds
        // anything, so that no batch ever waits for memory while holding some (see
        // `records::batch`).
        known.map_or(batch_window(state), |n| {
            n.saturating_mul(2 + PARSED_FACTOR)
                .min(batch_window(state))
                .saturating_add(n.saturating_mul(ANSWER_FACTOR_PERCENT) / 100)
        })
    } else {
        known.unwrap_or(limit).min(limit)
    };
    let reservation = state.body_budget.reserve(share).await.map_err(|_| {
        state.metrics.shed("body-memory");
        ApiError::saturated(
            "the gateway's memory for request bodies is in use; nothing was read, retry later",
        )
    })?;
    let (mut parts, body) = req.into_parts();
    let body = if gzip {
        parts.headers.remove(header::CONTENT_ENCODING);
        parts.headers.remove(header::CONTENT_LENGTH);
        gunzip(body)
    } else {
        body
    };
    let body = Body::new(http_body_util::Limited::new(body, limit));
    let mut req = Request::from_parts(parts, body);
    let held = Arc::new(Mutex::new(reservation));
    if streamed {
        req.extensions_mut().insert(BatchShare(held.clone()));
    }
    Ok((req, Some(held)))
}

/// The answer of a batch per byte of its body, in percent: every stored record as stored,
/// with its decisions.
const ANSWER_FACTOR_PERCENT: usize = 150;

/// Memory of parsed records per byte of their JSON text.
const PARSED_FACTOR: usize = 3;

/// The window of a batch: a chunk of lines read but not yet answered (about one record's
/// limit), their parsed records while the policy runs over them, and the line being read
/// (one record at the longest).
pub fn batch_window(state: &AppState) -> usize {
    (2 + PARSED_FACTOR) * state.options.max_body
}

/// The media type of a request, lower case, without parameters; refuses a `charset` other
/// than UTF-8 (the only one the gateway reads).
fn media_type(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Ok(None);
    };
    let value = value
        .to_str()
        .map_err(|_| ApiError::unsupported_media("the Content-Type header is not ASCII"))?;
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or("").trim().to_ascii_lowercase();
    for param in parts {
        let Some((name, v)) = param.split_once('=') else {
            continue;
        };
        if name.trim().eq_ignore_ascii_case("charset") {
            let v = v.trim().trim_matches('"');
            if !v.eq_ignore_ascii_case("utf-8") && !v.eq_ignore_ascii_case("utf8") {
                return Err(ApiError::unsupported_media(format!(
                    "charset `{v}` is not supported: bodies are UTF-8"
                )));
            }
        }
    }
    Ok(Some(essence))
}

/// Checks that a request body is JSON (`application/json` or `application/*+json`, UTF-8).
pub fn expect_json(headers: &HeaderMap) -> Result<(), ApiError> {
    match media_type(headers)? {
        Some(t)
            if t == "application/json"
                || (t.starts_with("application/") && t.ends_with("+json")) =>
        {
            Ok(())
        }
        Some(t) => Err(ApiError::unsupported_media(format!(
            "Content-Type `{t}` is not supported here: send `application/json`"
        ))),
        None => Err(ApiError::unsupported_media(
            "the request has no Content-Type: send `application/json`",
        )),
    }
}

/// Checks that a batch body is NDJSON (`application/x-ndjson`, or `application/jsonl`;
/// UTF-8).
pub fn expect_ndjson(headers: &HeaderMap) -> Result<(), ApiError> {
    match media_type(headers)? {
        Some(t) if t == "application/x-ndjson" || t == "application/jsonl" => Ok(()),
        Some(t) => Err(ApiError::unsupported_media(format!(
            "Content-Type `{t}` is not supported here: a batch is `application/x-ndjson` \
             (one JSON record per line)"
        ))),
        None => Err(ApiError::unsupported_media(
            "the request has no Content-Type: a batch is `application/x-ndjson`",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn with_type(t: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_str(t).unwrap());
        h
    }

    /// `check` accepts the Content-Types `good` and refuses `bad` ones (and none) with a 415.
    fn accepts(check: fn(&HeaderMap) -> Result<(), ApiError>, good: &[&str], bad: &[&str]) {
        for t in good {
            assert!(check(&with_type(t)).is_ok(), "{t}");
        }
        for t in bad {
            let e = check(&with_type(t)).unwrap_err();
            assert_eq!(e.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{t}");
        }
        assert_eq!(
            check(&HeaderMap::new()).unwrap_err().status,
            StatusCode::UNSUPPORTED_MEDIA_TYPE
        );
    }

    #[test]
    fn json_types_and_charsets() {
        accepts(
            expect_json,
            &[
                "application/json",
                "Application/JSON; charset=UTF-8",
                "application/merge-patch+json",
            ],
            &[
                "application/json; charset=utf-16",
                "text/plain",
                "application/x-ndjson",
                "application/json; charset=\"latin1\"",
            ],
        );
    }

    #[test]
    fn ndjson_types() {
        accepts(
            expect_ndjson,
            &["application/x-ndjson", "application/jsonl; charset=utf-8"],
            &[
                "application/json",
                "text/plain",
                "application/x-ndjson; charset=utf-16",
            ],
        );
    }
}
