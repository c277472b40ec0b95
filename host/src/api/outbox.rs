//! The outbox routes: `/v1/admin/outbox` (inspect, redrive), the vendor pull feed
//! `/v1/vendor/feed`, and a record's recipients.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::Actor;
use super::auth::Caller;
use super::error::ApiError;
use super::extract::ApiJson;
use super::extract::{ApiQuery, with_state};
use super::views::recipient_view;
use crate::outbox::{Entry, State as DeliveryState};
use crate::state::AppState;
use crate::store::{Op, OpResult, OutboxFilter, OutboxOp};

/// Most deliveries one page lists.
const MAX_PAGE: usize = 1000;

/// `GET /v1/admin/outbox` query.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// `pending`, `delivered`, `dead`, `refused` or `cancelled`.
    #[serde(default)]
    #[param(inline)]
    state: Option<DeliveryState>,
    /// Only this vendor's.
    #[serde(default)]
    vendor: Option<String>,
    /// Only this record's.
    #[serde(default)]
    record: Option<String>,
    /// After this sequence number.
    #[serde(default)]
    after: u64,
    /// At most this many (default and maximum 1,000).
    #[serde(default)]
    limit: Option<usize>,
}

/// The size of a page: `limit`, at most (and by default) [`MAX_PAGE`].
fn page_size(limit: Option<usize>) -> usize {
    limit.unwrap_or(MAX_PAGE).clamp(1, MAX_PAGE)
}

fn page(entries: &[Entry], limit: usize) -> Option<u64> {
    (entries.len() == limit)
        .then(|| entries.last().map(|e| e.seq))
        .flatten()
}

/// `GET /v1/admin/outbox[?state=&vendor=&record=&after=&limit=]`
#[utoipa::path(
    get,
    path = "/outbox",
    params(ListQuery),
    responses((status = 200, description = "A page of deliveries, oldest first.", body = super::openapi::shapes::Outbox)),
)]
pub async fn list(
    State(state): State<Arc<AppState>>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Response, ApiError> {
    let limit = page_size(q.limit);
    let filter = OutboxFilter {
        state: q.state,
        vendor: q.vendor,
        record: q.record,
    };
    let (entries, (pending, oldest)) = with_state(&state, move |st| {
        Ok((
            st.store.deliveries(&filter, q.after, limit)?,
            st.store.outbox_depth()?,
        ))
    })
    .await?;
    let next = page(&entries, limit);
    Ok(Json(json!({
        "pending": pending,
        "oldest_pending_at": oldest.map(crate::clock::rfc3339_ms),
        "deliveries": entries,
        "next": next,
    }))
    .into_response())
}

async fn delivery(state: &Arc<AppState>, id: String) -> Result<Entry, ApiError> {
    let wanted = id.clone();
    with_state(state, move |st| st.store.delivery(&wanted))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no delivery {id}")))
}

/// `GET /v1/admin/outbox/{id}`
#[utoipa::path(
    get,
    path = "/outbox/{id}",
    params(("id" = String, Path, description = "The delivery id.")),
    responses((status = 200, description = "The delivery.", body = crate::outbox::Entry)),
)]
pub async fn show(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(delivery(&state, id).await?).into_response())
}

/// `POST /v1/admin/outbox/{id}/redrive`: a dead delivery goes back in the queue.
#[utoipa::path(
    post,
    path = "/outbox/{id}/redrive",
    params(("id" = String, Path, description = "The delivery id.")),
    responses(
        (status = 200, description = "The delivery, pending again.", body = crate::outbox::Entry),
        (status = 409, description = "The delivery is not dead.", body = super::error::ErrorBody),
        super::openapi::responses::StorageUnavailable,
    ),
)]
pub async fn redrive(
    State(state): State<Arc<AppState>>,
    Actor(actor): Actor,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let op = Op::Outbox(OutboxOp::Redrive {
        id: id.clone(),
        now: state.clock.now_ms(),
        actor,
    });
    match state.store.write(vec![op]).await?.pop() {
        Some(OpResult::Delivery(e)) => {
            state.outbox_wake.notify_one();
            Ok(Json(*e).into_response())
        }
        Some(OpResult::NotFound) => Err(ApiError::not_found(format!("no delivery {id}"))),
        _ => {
            let e = delivery(&state, id).await?;
            Err(ApiError::new(
                StatusCode::CONFLICT,
                format!(
                    "delivery {} is {}; only a dead delivery can be redriven",
                    e.id,
                    e.state.as_str()
                ),
            ))
        }
    }
}

/// `GET /v1/vendor/feed` query.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FeedQuery {
    /// The vendor (an id of the subprocessor register); optional: the token names it.
    #[serde(default)]
    vendor: Option<String>,
    /// The cursor: deliveries after it. Default: the last acknowledged one.
    #[serde(default)]
    after: Option<u64>,
    /// At most this many (default and maximum 1,000).
    #[serde(default)]
    limit: Option<usize>,
}

/// The vendor whose feed the caller reads: the one its token names (a `vendor` named in the
/// request must be the same).
fn own_vendor(state: &AppState, caller: &Caller, named: Option<&str>) -> Result<String, ApiError> {
    let Some(vendor) = caller.0.vendor.clone() else {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "the token names no vendor",
        ));
    };
    if let Some(named) = named
        && named != vendor
    {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            format!(
                "token {} reads the feed of `{vendor}` only, not `{named}`",
                caller.0.id
            ),
        ));
    }
    known_vendor(state, &vendor)?;
    Ok(vendor)
}

/// A vendor's feed gathers the deliveries of every tenant: it exists when the register of
/// any active bundle lists the vendor.
fn known_vendor(state: &AppState, vendor: &str) -> Result<(), ApiError> {
    if state.policies().any_register_has(vendor) {
        Ok(())
    } else {
        Err(ApiError {
            retry_after: None,
            status: StatusCode::NOT_FOUND,
            body: Box::new(super::error::ErrorBody {
                error: format!("`{vendor}` is not in the subprocessor register"),
                clause: Some(crate::clause::REGISTER.into()),
                ..Default::default()
            }),
        })
    }
}

/// `GET /v1/vendor/feed[?after=CURSOR&limit=]`: the calling vendor's deliveries, each with
/// its cursor, in the vendor's payload shape.
///
/// Serving a page raises the vendor's served mark to the page's end (`next`), durably and
/// before the page is answered: an acknowledgement may reach that far and no further. The
/// mark is per vendor, not per tenant, like the feed itself (it gathers the deliveries of
/// every tenant, and a vendor token is bound to no tenant).
#[utoipa::path(
    get,
    path = "/v1/vendor/feed",
    params(FeedQuery),
    responses(
        (status = 200, description = "The vendor's deliveries after the cursor.", body = super::openapi::shapes::Feed),
        (status = 404, description = "The vendor is in no active bundle's register (clause 3.2).", body = super::error::ErrorBody),
    ),
)]
pub async fn feed(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    ApiQuery(q): ApiQuery<FeedQuery>,
) -> Result<Response, ApiError> {
    let own = own_vendor(&state, &caller, q.vendor.as_deref())?;
    let limit = page_size(q.limit);
    let vendor = own.clone();
    let (entries, end, marks) = with_state(&state, move |st| {
        let marks = st.store.feed_marks(&vendor)?;
        let filter = OutboxFilter {
            vendor: Some(vendor),
            ..OutboxFilter::default()
        };
        let after = q.after.unwrap_or(marks.acknowledged);
        let page = st.store.deliveries(&filter, after, limit)?;
        let end = page.last().map(|e| e.seq);
        // Refused and cancelled deliveries were never the vendor's to receive.
        let entries: Vec<Entry> = page
            .into_iter()
            .filter(|e| matches!(e.state, DeliveryState::Pending | DeliveryState::Delivered))
            .collect();
        Ok((entries, end, marks))
    })
    .await?;
    // The page is served: the vendor may acknowledge up to its end from now on. Recorded
    // (durably, through the writer) before the vendor sees the page.
    let served = match end {
        Some(end) if end > marks.served => {
            let op = Op::Outbox(OutboxOp::Served {
                vendor: own.clone(),
                cursor: end,
            });
            match state.store.write(vec![op]).await?.pop() {
                Some(OpResult::Done(served)) => served,
                _ => end,
            }
        }
        _ => marks.served,
    };
    // Each delivery in the shape the register of its tenant's bundle gives the vendor.
    let policies = state.policies();
    let items: Vec<Value> = entries
        .iter()
        .map(|e| {
            let shapes = policies
                .get(&e.tenant)
                .register
                .get(&own)
                .map(|s| &s.delivery.shapes);
            json!({
                "cursor": e.seq,
                "id": e.id,
                "endpoint": e.endpoint,
                "clause": e.clause,
                // A delivered entry keeps no payload, only its digest and paths.
                "payload": if e.payload.is_null() {
                    Value::Null
                } else {
                    crate::outbox::worker::shaped(
                        &e.payload,
                        shapes.and_then(|s| s.get(&e.endpoint)),
                    )
                },
                "payload_digest": e.payload_digest,
                "paths": e.payload_paths(),
                "created_at": crate::clock::rfc3339_ms(e.created_at),
                "state": e.state,
            })
        })
        .collect();
    Ok(Json(json!({
        "vendor": own,
        "acknowledged": marks.acknowledged,
        "served": served,
        "deliveries": items,
        // The end of the page (past any refused or cancelled delivery it skipped): the
        // cursor to read on from and to acknowledge.
        "next": end,
    }))
    .into_response())
}

/// `POST /v1/vendor/feed/ack` body.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Ack {
    /// The vendor (optional: the token names it).
    #[serde(default)]
    vendor: Option<String>,
    /// The last cursor received and processed.
    cursor: u64,
}

/// `POST /v1/vendor/feed/ack {"vendor","cursor"}`: the vendor has received everything up to
/// `cursor`; its pulled deliveries up to there are delivered. The cursor may not go back
/// (behind the acknowledged cursor) nor beyond the highest cursor the feed served the
/// vendor: 400, and nothing changes. Acknowledging the acknowledged cursor again delivers
/// nothing more.
#[utoipa::path(
    post,
    path = "/v1/vendor/feed/ack",
    request_body = Ack,
    responses(
        (status = 200, description = "Acknowledged.", body = super::openapi::shapes::Acked),
        (status = 400, description = "Malformed JSON, or a cursor behind the acknowledged one or beyond the highest one the feed served; nothing changes.", body = super::error::ErrorBody),
        (status = 404, description = "The vendor is in no active bundle's register (clause 3.2).", body = super::error::ErrorBody),
        super::openapi::responses::StorageUnavailable,
    ),
)]
pub async fn ack(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    ApiJson(body): ApiJson<Ack>,
) -> Result<Response, ApiError> {
    let vendor = own_vendor(&state, &caller, body.vendor.as_deref())?;
    let op = Op::Outbox(OutboxOp::Ack {
        vendor: vendor.clone(),
        cursor: body.cursor,
        now: state.clock.now_ms(),
    });
    let delivered = match state.store.write(vec![op]).await?.pop() {
        Some(OpResult::Done(n)) => n,
        Some(OpResult::AckOutOfRange(marks)) => {
            let cursor = body.cursor;
            return Err(ApiError::bad_request(if cursor < marks.acknowledged {
                format!(
                    "cursor {cursor} is behind the acknowledged cursor {}",
                    marks.acknowledged
                )
            } else {
                format!(
                    "cursor {cursor} is beyond the last entry served to vendor {vendor} ({})",
                    marks.served
                )
            }));
        }
        other => {
            return Err(ApiError::internal(&anyhow::anyhow!(
                "unexpected result of an ack: {other:?}"
            )));
        }
    };
    Ok(Json(json!({
        "vendor": vendor,
        "cursor": body.cursor,
        "delivered": delivered,
    }))
    .into_response())
}

/// `GET /v1/records/{id}/recipients`: everyone who received the record's data (deliveries
/// and disclosures to subprocessors): who, which field paths, when, under which clause.
#[utoipa::path(
    get,
    path = "/v1/records/{id}/recipients",
    params(("id" = String, Path, description = "The record id.")),
    responses((status = 200, description = "Everyone who received the record's data.", body = super::openapi::shapes::Recipients)),
)]
pub async fn recipients(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let wanted = id.clone();
    let (record, list) = with_state(&state, move |st| {
        Ok((st.store.get(&wanted)?, st.store.recipients(&wanted)?))
    })
    .await?;
    match record {
        Some(r) if r.tenant == caller.tenant() => {}
        _ => return Err(ApiError::not_found("no such record")),
    }
    let list: Vec<Value> = list.iter().map(recipient_view).collect();
    Ok(Json(json!({ "record": id, "recipients": list })).into_response())
}
