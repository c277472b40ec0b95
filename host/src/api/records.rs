//! Record routes: write, batch write, read, rectify, delete, list by subject.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::auth::Caller;
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiJson, parse_object};
use super::views::{WriteResponse, read_view};
use crate::bundle::Policy;
use crate::pipeline::{self, Disclosure, Outcome, PipelineError, ReadRequest, WriteInput};
use crate::record::{Decision, StoredRecord};
use crate::service::executor::Admission;
use crate::state::AppState;
use crate::store::{About, AuditEntry, Op, OpResult};

/// How often an update is retried when the record changed under it.
const UPDATE_ATTEMPTS: usize = 8;
/// The longest subject key accepted.
const MAX_SUBJECT: usize = 512;

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

/// The clause a subject key holding a card number is refused under ("we do not store credit
/// card information"). The subject is the one part of a record no plugin rewrites (it is the
/// key of the subject and of the subject index), so the gateway refuses it itself.
pub const CARD_SUBJECT_CLAUSE: &str = "2.1.2";

pub(super) fn check_subject(subject: &str) -> Result<(), ApiError> {
    if subject.trim().is_empty() {
        return Err(ApiError::bad_request("`subject` must not be empty"));
    }
    if subject.len() > MAX_SUBJECT {
        return Err(ApiError::bad_request(format!(
            "`subject` is longer than {MAX_SUBJECT} bytes"
        )));
    }
    if sluice_rules::card::contains_card_number(subject) {
        return Err(ApiError::refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            &Decision {
                plugin: "gateway".into(),
                action: crate::record::Action::Reject,
                path: None,
                clause: CARD_SUBJECT_CLAUSE.into(),
                reason: "`subject` holds a card number: card data is never stored, not even \
                         as a subject key"
                    .into(),
            },
        ));
    }
    Ok(())
}

/// Checks a record's fields against the gateway's shape limits, before any plugin sees them
/// (422 naming the limit and where it was hit).
pub(super) fn check_shape(
    limits: &crate::shape::ShapeLimits,
    fields: &Value,
) -> Result<(), ApiError> {
    limits.check(fields).map_err(|e| {
        let mut err = ApiError::over_limit(
            StatusCode::UNPROCESSABLE_ENTITY,
            e.to_string(),
            e.limit,
            e.max as u64,
        );
        if !e.path.is_empty() {
            err.body.path = Some(e.path);
        }
        err
    })
}

fn new_input(
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

/// Runs the write chain of `tenant`'s policy over `inputs` (all of that tenant) off the
/// async workers, with one set of plugin instances for the whole request.
async fn run_chain(
    state: &Arc<AppState>,
    tenant: &str,
    inputs: Vec<WriteInput>,
) -> Result<
    (
        Arc<Policy>,
        Vec<(WriteInput, Result<Outcome, PipelineError>)>,
    ),
    ApiError,
> {
    let policy = state.policy_for(tenant);
    let now = state.clock.now_secs();
    let pol = policy.clone();
    let results = state
        .executor
        .run(Admission::Queued, 1, move |worker| {
            let mut lane = worker.lane();
            inputs
                .into_iter()
                .map(|input| {
                    let outcome = lane.write(&pol, &input, now);
                    (input, outcome)
                })
                .collect::<Vec<_>>()
        })
        .await?;
    crate::shadow::observe(
        &state.shadows,
        &state.executor,
        tenant,
        &policy,
        &results,
        now,
    );
    Ok((policy, results))
}

fn audit_entry(
    input: &WriteInput,
    bundle: &str,
    event: &str,
    decisions: &[Decision],
    at: i64,
) -> AuditEntry {
    AuditEntry::about(
        event,
        at,
        about(
            input.tenant.as_str(),
            &input.id,
            &input.kind,
            &input.subject,
        ),
        bundle,
        decisions,
    )
}

/// Names the caller in the audit entry of a write; `request` marks it as a data subject's
/// request (e.g. a rectification).
fn attribute(op: &mut Option<Op>, actor: &str, request: Option<&Value>) {
    let audit = match op {
        Some(Op::Put { audit, .. } | Op::Delete { audit, .. } | Op::Audit(audit)) => audit,
        _ => return,
    };
    audit.actor = Some(actor.to_string());
    if let Some(r) = request {
        audit.detail = Some(r.clone());
    }
}

fn about<'a>(tenant: &'a str, id: &'a str, kind: &'a str, subject: &'a str) -> About<'a> {
    About {
        tenant,
        id,
        kind,
        subject,
    }
}

/// What a processed write turns into.
enum Planned {
    /// Store it; answer with `status`.
    Store(Box<StoredRecord>, StatusCode),
    /// Refused by the policy (the audit entry is written); `erase` deletes the stored record.
    Refuse(Decision, bool),
    /// Refused before any write.
    Fail(ApiError),
}

fn plan(
    policy: &Policy,
    input: WriteInput,
    outcome: Result<Outcome, PipelineError>,
    expect: Option<u64>,
    now_ms: i64,
) -> (Planned, Option<Op>) {
    match outcome {
        Err(e) => (Planned::Fail(e.into()), None),
        Ok(Outcome::Rejected(r)) => {
            let mut decisions = r.decisions.clone();
            decisions.push(r.decision.clone());
            let erase = r.erase && expect.is_some();
            let op = if erase {
                Op::Delete {
                    id: input.id.clone(),
                    tenant: input.tenant.clone(),
                    audit: audit_entry(&input, &policy.id, "record.erased", &decisions, now_ms),
                }
            } else {
                Op::Audit(audit_entry(
                    &input,
                    &policy.id,
                    "record.rejected",
                    &decisions,
                    now_ms,
                ))
            };
            (Planned::Refuse(r.decision, erase), Some(op))
        }
        Ok(Outcome::Accepted(a)) => {
            let event = if expect.is_some() {
                "record.updated"
            } else {
                "record.created"
            };
            let audit = audit_entry(&input, &policy.id, event, &a.decisions, now_ms);
            let index = policy
                .kinds
                .get(&input.kind)
                .map(|k| crate::record::index_entries(&a.fields, &k.index))
                .unwrap_or_default();
            let record = StoredRecord {
                id: input.id,
                tenant: input.tenant,
                kind: input.kind,
                subject: input.subject,
                fields: a.fields,
                created_at: input.created_at,
                updated_at: input.updated_at,
                revision: expect.map_or(1, |r| r + 1),
                bundle: policy.id.clone(),
                plugins: a.plugins,
                decisions: a.decisions,
                expiries: a.expiries,
                deliveries: a.deliveries,
                index,
                retention_bundle: None,
                deadlines: a.deadlines,
            };
            let status = if expect.is_some() {
                StatusCode::OK
            } else {
                StatusCode::CREATED
            };
            let mut put = match crate::store::PutRecord::new(&record) {
                Ok(r) => Box::new(r),
                Err(e) => return (Planned::Fail(ApiError::internal(&e)), None),
            };
            put.deliveries = outbox_entries(policy, &record, now_ms);
            let op = Op::Put {
                record: put,
                expect,
                audit,
            };
            (Planned::Store(Box::new(record), status), Some(op))
        }
    }
}

/// The outbox entries of a stored record's deliveries. A delivery to a recipient the
/// register does not list (3.2), or outside the EEA without safeguards (3.1), is refused
/// here: it is kept and audited, never sent.
fn outbox_entries(
    policy: &Policy,
    record: &StoredRecord,
    now_ms: i64,
) -> Vec<crate::outbox::Entry> {
    use crate::outbox::{Entry, Mode, State};
    record
        .deliveries
        .iter()
        .map(|d| {
            let sub = policy.register.get(&d.vendor);
            let (state, clause, error) = match sub {
                None => (
                    State::Refused,
                    "3.2".to_string(),
                    Some(format!(
                        "`{}` is not in the subprocessor register",
                        d.vendor
                    )),
                ),
                Some(s) if s.transfer_forbidden() => (
                    State::Refused,
                    "3.1".to_string(),
                    Some(format!(
                        "`{}` processes data outside the EEA without adequate safeguards",
                        d.vendor
                    )),
                ),
                Some(_) => (State::Pending, d.clause.clone(), None),
            };
            Entry {
                seq: 0,
                id: uuid::Uuid::now_v7().to_string(),
                record: record.id.clone(),
                tenant: record.tenant.clone(),
                kind: record.kind.clone(),
                subject: crate::store::subject_digest(&record.tenant, &record.subject),
                vendor: d.vendor.clone(),
                endpoint: d.endpoint.clone(),
                payload: d.payload.clone(),
                clause,
                plugin: d.plugin.clone(),
                bundle: record.bundle.clone(),
                mode: sub.map_or(Mode::Pull, |s| s.delivery.mode),
                state,
                attempts: 0,
                next_at: now_ms,
                created_at: now_ms,
                updated_at: now_ms,
                last_error: error,
                delivered_at: None,
                payload_digest: None,
                paths: Vec::new(),
            }
        })
        .collect()
}

/// The answer to one planned write once its transaction committed.
fn answer(
    state: &AppState,
    planned: Planned,
    result: Option<OpResult>,
) -> Result<(StatusCode, WriteResponse), ApiError> {
    match (planned, result) {
        (Planned::Fail(e), _) => Err(e),
        (Planned::Store(mut record, status), Some(OpResult::Done(revision))) => {
            record.revision = revision;
            state.metrics.decisions(&record.decisions);
            Ok((status, WriteResponse::from(*record)))
        }
        (Planned::Refuse(decision, erase), Some(OpResult::Done(_) | OpResult::NotFound)) => {
            state.metrics.decisions(std::iter::once(&decision));
            let mut e = ApiError::refused(StatusCode::UNPROCESSABLE_ENTITY, &decision);
            e.body.erased = erase;
            Err(e)
        }
        (_, Some(OpResult::NotFound)) => Err(ApiError::not_found("no such record")),
        (_, Some(OpResult::Conflict)) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "the record changed while the update was processed; retry",
        )),
        (_, other) => Err(ApiError::internal(&anyhow::anyhow!(
            "unexpected store result {other:?}"
        ))),
    }
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
        (status = 503, description = "A plugin failed, storage is unavailable, or the gateway is saturated (retry after `Retry-After` seconds); nothing was stored or sent.", body = super::error::ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait before retrying."))),
    ),
)]
pub async fn create(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    ApiJson(body): ApiJson<NewRecord>,
) -> Result<Response, ApiError> {
    let now_ms = state.clock.now_ms();
    let input = new_input(&state, caller.tenant(), body, now_ms)?;
    let (policy, mut results) = run_chain(&state, caller.tenant(), vec![input]).await?;
    let (input, outcome) = results.pop().expect("one input, one result");
    let (planned, mut op) = plan(&policy, input, outcome, None, now_ms);
    attribute(&mut op, &caller.actor(), None);
    let result = match op {
        Some(op) => {
            let result = state.store.write(vec![op]).await?.pop();
            state.outbox_wake.notify_one();
            result
        }
        None => None,
    };
    let (status, body) = answer(&state, planned, result)?;
    Ok((status, Json(body)).into_response())
}

/// One line of the `POST /v1/records:batch` response.
#[derive(Serialize)]
struct BatchLine {
    /// 1-based line number of the request body.
    line: usize,
    /// The HTTP status this record would have had on its own.
    status: u16,
    #[serde(flatten)]
    body: Value,
}

/// `POST /v1/records:batch`: NDJSON in (one record per line), NDJSON out (one result per
/// record line, in order). A rejected line does not stop the others.
///
/// The body is read as a stream: lines are gathered into chunks of about one record's limit
/// (`--max-body-kib`); each chunk runs through the policy and commits in one durable
/// transaction before more of the body is read, so memory follows the lines in flight, not
/// the body's size. Each line is held to the per-record limit and gets the status it would
/// have had alone. If the body stops early (over `--max-batch-body-kib`, cut by the body
/// timeout, malformed), the lines read before stay answered and one last line, numbered as
/// the first line not processed, says why the rest was not.
#[utoipa::path(
    post,
    path = "/v1/records:batch",
    request_body(content = Vec<NewRecord>, content_type = "application/x-ndjson",
        description = "One record (as for `POST /v1/records`) per line; described as the array of the lines."),
    responses(
        (status = 200, description = "One line per record line, in order: its number, its status and the body it would have had on its own (a write or an `ErrorBody`).",
            content_type = "application/x-ndjson", body = Vec<super::openapi::shapes::BatchLine>),
        (status = 400, description = "The body is not UTF-8 or holds no record.", body = super::error::ErrorBody),
        (status = 503, description = "A plugin failed, storage is unavailable, or the gateway is saturated (retry after `Retry-After` seconds); nothing was stored or sent.", body = super::error::ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait before retrying."))),
    ),
)]
pub async fn batch(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    headers: axum::http::HeaderMap,
    share: Option<axum::Extension<super::body::BatchShare>>,
    body: axum::body::Body,
) -> Result<Response, ApiError> {
    use super::ndjson::{Piece, Splitter};
    use futures_util::StreamExt as _;
    super::body::expect_ndjson(&headers)?;
    let max_line = state.options.max_body;
    let share = share.map(|axum::Extension(s)| s.0);
    let mut stream = body.into_data_stream();
    let mut splitter = Splitter::new(max_line);
    let mut pieces = Vec::new();
    let mut pending = 0usize;
    let mut out = Vec::new();
    let mut answered = 0usize;
    let mut stopped: Option<ApiError> = None;
    loop {
        let last = match stream.next().await {
            Some(Ok(data)) => {
                pending += splitter.feed(&data, &mut pieces);
                false
            }
            Some(Err(e)) => {
                stopped = Some(body_stopped(&state, &e));
                break;
            }
            None => {
                pending += splitter.finish(&mut pieces);
                true
            }
        };
        if pending >= max_line || (last && !pieces.is_empty()) {
            let lines = std::mem::take(&mut pieces);
            pending = 0;
            match batch_chunk(&state, &caller, lines).await {
                Ok(results) => {
                    answered += results.len();
                    write_batch_lines(&mut out, results)?;
                    if let Some(s) = &share
                        && !grow_share(&state, s, out.len())
                    {
                        stopped = Some(ApiError::saturated(
                            "the gateway's memory for request bodies is in use",
                        ));
                        break;
                    }
                }
                // Nothing of the batch was stored yet: the whole request failed.
                Err(e) if answered == 0 => return Err(e),
                Err(e) => {
                    stopped = Some(e);
                    break;
                }
            }
        }
        if last {
            break;
        }
    }
    if let Some(e) = stopped {
        if answered == 0 {
            return Err(e);
        }
        let first = pieces
            .first()
            .map(|p| match p {
                Piece::Line(n, _) | Piece::TooLong(n) => *n,
            })
            .unwrap_or_else(|| splitter.next_line());
        let mut e = e;
        e.body.error = format!(
            "{}; this line and the ones after it were not processed",
            e.body.error
        );
        write_batch_lines(&mut out, vec![(first, Err(e))])?;
    } else if answered == 0 {
        return Err(ApiError::bad_request(
            "the batch holds no records (NDJSON: one JSON record per line)",
        ));
    }
    Ok(([(header::CONTENT_TYPE, "application/x-ndjson")], out).into_response())
}

/// Why a batch body stopped before its end.
fn body_stopped(state: &AppState, e: &axum::Error) -> ApiError {
    use std::error::Error as _;
    let mut source = e.source();
    while let Some(s) = source {
        if s.is::<http_body_util::LengthLimitError>() {
            return super::body::too_large(state.options.max_batch_body, "max-batch-body-kib");
        }
        source = s.source();
    }
    ApiError::bad_request(format!(
        "the request body could not be read to its end: {e}"
    ))
}

/// Holds `response` bytes of the batch's answer in its share of the body budget, on top of
/// its window of lines, if the budget has them now. A batch never waits for more while it
/// holds some (two batches could wait for each other); one whose answer outgrows what it
/// reserved and finds the budget spent stops there.
fn grow_share(
    state: &AppState,
    share: &std::sync::Mutex<crate::budget::Reservation>,
    response: usize,
) -> bool {
    let want = super::body::batch_window(state) + response;
    let mut r = share.lock().expect("the batch share lock is not poisoned");
    let held = r.bytes();
    if held >= want || r.try_grow(want - held) {
        return true;
    }
    state.metrics.shed("body-memory");
    false
}

type LineResult = (usize, Result<(StatusCode, WriteResponse), ApiError>);

/// Runs one chunk of batch lines through the policy and commits it.
async fn batch_chunk(
    state: &Arc<AppState>,
    caller: &Caller,
    pieces: Vec<super::ndjson::Piece>,
) -> Result<Vec<LineResult>, ApiError> {
    use super::ndjson::Piece;
    let now_ms = state.clock.now_ms();
    // Parsing happens off the async workers, like the plugins.
    let st = state.clone();
    let tenant = caller.tenant().to_string();
    let parsed = tokio::task::spawn_blocking(move || {
        pieces
            .into_iter()
            .map(|p| match p {
                Piece::TooLong(n) => (
                    n,
                    Err(super::body::too_large(st.options.max_body, "max-body-kib")),
                ),
                Piece::Line(n, bytes) => {
                    let input = parse_object::<NewRecord>(&bytes)
                        .map_err(|mut e| {
                            e.body.error = format!("line {n}: {}", e.body.error);
                            e
                        })
                        .and_then(|r| new_input(&st, &tenant, r, now_ms));
                    (n, input)
                }
            })
            .collect::<Vec<_>>()
    })
    .await
    .map_err(|e| ApiError::internal(&anyhow::anyhow!("batch parse task failed: {e}")))?;
    let mut lines = Vec::with_capacity(parsed.len());
    let mut inputs = Vec::new();
    for (n, input) in parsed {
        match input {
            Ok(i) => {
                inputs.push(i);
                lines.push((n, Ok(())));
            }
            Err(e) => lines.push((n, Err(e))),
        }
    }
    let (policy, results) = if inputs.is_empty() {
        (state.policy_for(caller.tenant()), Vec::new())
    } else {
        run_chain(state, caller.tenant(), inputs).await?
    };
    let actor = caller.actor();
    let mut planned = Vec::with_capacity(results.len());
    let mut ops = Vec::new();
    for (input, outcome) in results {
        let (p, mut op) = plan(&policy, input, outcome, None, now_ms);
        attribute(&mut op, &actor, None);
        planned.push((p, op.is_some()));
        ops.extend(op);
    }
    let mut op_results = if ops.is_empty() {
        Vec::new().into_iter()
    } else {
        let results = state.store.write(ops).await?;
        state.outbox_wake.notify_one();
        results.into_iter()
    };
    let mut planned = planned.into_iter();
    Ok(lines
        .into_iter()
        .map(|(n, parsed)| {
            let result = parsed.and_then(|()| {
                let (p, has_op) = planned.next().expect("one plan per parsed line");
                let r = if has_op { op_results.next() } else { None };
                answer(state, p, r)
            });
            (n, result)
        })
        .collect())
}

/// Appends the NDJSON lines of `results` to `out`.
fn write_batch_lines(out: &mut Vec<u8>, results: Vec<LineResult>) -> Result<(), ApiError> {
    for (line, result) in results {
        let entry = match result {
            Ok((status, body)) => BatchLine {
                line,
                status: status.as_u16(),
                body: serde_json::to_value(body).unwrap_or(Value::Null),
            },
            Err(e) => BatchLine {
                line,
                status: e.status.as_u16(),
                body: serde_json::to_value::<ErrorBody>(*e.body).unwrap_or(Value::Null),
            },
        };
        serde_json::to_writer(&mut *out, &entry).map_err(|e| ApiError::internal(&e.into()))?;
        out.push(b'\n');
    }
    Ok(())
}

/// The record `id` of `tenant` (another tenant's record is as absent as a missing one).
fn load(state: &AppState, tenant: &str, id: &str) -> Result<StoredRecord, ApiError> {
    match state.store.get(id) {
        Ok(Some(r)) if r.tenant == tenant => Ok(r),
        Ok(_) => Err(ApiError::not_found(format!("no record with id `{id}`"))),
        Err(e) => Err(ApiError::internal(&e)),
    }
}

/// [`load`] on a blocking thread (redb reads may touch the disk).
pub(super) async fn load_off_runtime(
    state: &Arc<AppState>,
    tenant: &str,
    id: &str,
) -> Result<StoredRecord, ApiError> {
    let st = state.clone();
    let (tenant, id) = (tenant.to_string(), id.to_string());
    tokio::task::spawn_blocking(move || load(&st, &tenant, &id))
        .await
        .map_err(|e| ApiError::internal(&anyhow::anyhow!("read task failed: {e}")))?
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
                clause: "3.2".into(),
                reason: format!("`{id}` is not a subprocessor of the register"),
            };
            return Err(ApiError::refused(StatusCode::FORBIDDEN, &decision));
        }
    }
    Ok(request)
}

/// Runs the read chain over `records` off the async workers.
pub(super) async fn disclose_all(
    state: &Arc<AppState>,
    policy: Arc<Policy>,
    records: Vec<StoredRecord>,
    request: ReadRequest,
) -> Result<Vec<(StoredRecord, Disclosure)>, ApiError> {
    let st = state.clone();
    let (policy_id, audience, purpose) = (
        policy.id.clone(),
        request.audience.clone(),
        request.purpose.clone(),
    );
    let disclosed = state
        .executor
        .run(Admission::Queued, 1, move |worker| {
            let mut lane = worker.lane();
            let now = st.clock.now_secs();
            let mut out = Vec::with_capacity(records.len());
            let mut rights = std::collections::HashMap::new();
            for record in records {
                let digest = crate::store::subject_digest(&record.tenant, &record.subject);
                if !rights.contains_key(&digest) {
                    let r = st
                        .store
                        .rights(&digest)
                        .map_err(|e| ApiError::internal(&e))?;
                    rights.insert(digest.clone(), r);
                }
                if let Some(refusal) = rights[&digest].refusal(&request.purpose) {
                    st.metrics.decisions(std::iter::once(&refusal));
                    out.push((record, Disclosure::Refused(refusal)));
                    continue;
                }
                match lane.read(&policy, &record, &request, now) {
                    Ok(d) => {
                        match &d {
                            Disclosure::Permitted { decisions, .. } => {
                                st.metrics.decisions(decisions)
                            }
                            Disclosure::Refused(decision) => {
                                st.metrics.decisions(std::iter::once(decision))
                            }
                        }
                        out.push((record, d));
                    }
                    Err(e) => return Err(ApiError::from(e)),
                }
            }
            Ok::<_, ApiError>(out)
        })
        .await??;
    // Every disclosure and refusal is in the audit log before the data leaves.
    let at = state.clock.now_ms();
    let ops: Vec<Op> = disclosed
        .iter()
        .map(|(record, d)| {
            let (event, decisions) = match d {
                Disclosure::Permitted { decisions, .. } => {
                    ("record.disclosed", decisions.as_slice())
                }
                Disclosure::Refused(decision) => ("record.refused", std::slice::from_ref(decision)),
            };
            let audit = AuditEntry {
                audience: Some(audience.clone()),
                purpose: Some(purpose.clone()),
                ..AuditEntry::about(
                    event,
                    at,
                    about(&record.tenant, &record.id, &record.kind, &record.subject),
                    &policy_id,
                    decisions,
                )
            };
            match d {
                // A subprocessor that saw the record is one of its recipients.
                Disclosure::Permitted { fields, decisions } if audience != pipeline::INTERNAL => {
                    Op::Disclosed {
                        audit,
                        recipient: crate::outbox::Recipient {
                            at,
                            who: audience.clone(),
                            via: "disclosure".into(),
                            paths: crate::outbox::leaves(fields),
                            clause: decisions
                                .iter()
                                .map(|d| d.clause.as_str())
                                .collect::<Vec<_>>()
                                .join(", "),
                            delivery: None,
                            purpose: Some(purpose.clone()),
                        },
                    }
                }
                _ => Op::Audit(audit),
            }
        })
        .collect();
    if !ops.is_empty() {
        state.store.write(ops).await?;
    }
    Ok(disclosed)
}

/// The permitted views of disclosed records (refused ones are left out).
pub(super) fn permitted_views(
    disclosed: Vec<(StoredRecord, Disclosure)>,
    internal: bool,
) -> Vec<Value> {
    disclosed
        .into_iter()
        .filter_map(|(record, d)| match d {
            Disclosure::Permitted { fields, decisions } => {
                Some(read_view(&record, fields, decisions, internal))
            }
            Disclosure::Refused(_) => None,
        })
        .collect()
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
        (status = 503, description = "A plugin failed, storage is unavailable, or the gateway is saturated (retry after `Retry-After` seconds); nothing was stored or sent.", body = super::error::ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait before retrying."))),
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
        (status = 503, description = "A plugin failed, storage is unavailable, or the gateway is saturated (retry after `Retry-After` seconds); nothing was stored or sent.", body = super::error::ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait before retrying."))),
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
        tokio::task::spawn_blocking(move || st.store.search(&tenant, &kind_name, &path, &value))
            .await
            .map_err(|e| ApiError::internal(&anyhow::anyhow!("read task failed: {e}")))?
            .map_err(|e| ApiError::internal(&e))?
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
        (status = 503, description = "A plugin failed, storage is unavailable, or the gateway is saturated (retry after `Retry-After` seconds); nothing was stored or sent.", body = super::error::ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait before retrying."))),
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
    check_shape(&state.options.shape, &patch.fields)?;
    // Updates of one record through this gateway queue here; the revision check below still
    // catches changes made meanwhile by the sweeper.
    let _serialized = state.update_lock(&id).lock().await;
    let request = uuid::Uuid::now_v7().to_string();
    let rectification =
        serde_json::json!({"right": "rectification", "request": request, "clause": "9"});
    for _ in 0..UPDATE_ATTEMPTS {
        let current = load_off_runtime(&state, caller.tenant(), &id).await?;
        let now_ms = state.clock.now_ms();
        let mut fields = current.fields.clone();
        json_patch::merge(&mut fields, &patch.fields);
        check_shape(&state.options.shape, &fields)?;
        let input = WriteInput {
            id: current.id.clone(),
            tenant: current.tenant.clone(),
            kind: current.kind.clone(),
            subject: current.subject.clone(),
            fields,
            created_at: current.created_at,
            updated_at: now_ms,
        };
        let (policy, mut results) = run_chain(&state, caller.tenant(), vec![input]).await?;
        let (input, outcome) = results.pop().expect("one input, one result");
        // A rectification may shorten retention, never lengthen or cancel it.
        let outcome = outcome.map(|o| match o {
            Outcome::Accepted(mut a) => {
                pipeline::hold_to_deadlines(&current, &mut a, now_ms.div_euclid(1000));
                Outcome::Accepted(a)
            }
            rejected => rejected,
        });
        let (planned, mut op) = plan(&policy, input, outcome, Some(current.revision), now_ms);
        attribute(&mut op, &caller.actor(), Some(&rectification));
        let result = match op {
            Some(op) => {
                let result = state.store.write(vec![op]).await?.pop();
                state.outbox_wake.notify_one();
                result
            }
            None => None,
        };
        if result == Some(OpResult::Conflict) {
            continue;
        }
        let (status, body) = answer(&state, planned, result)?;
        let mut body = serde_json::to_value(body).map_err(|e| ApiError::internal(&e.into()))?;
        body["request"] = serde_json::json!({
            "id": request,
            "right": "rectification",
            "clause": "9",
            "status": "completed",
            "completed_at": crate::clock::rfc3339_ms(now_ms),
        });
        return Ok((status, Json(body)).into_response());
    }
    Err(ApiError::new(
        StatusCode::CONFLICT,
        "the record kept changing while the update was processed; retry",
    ))
}

/// `DELETE /v1/records/{id}`
#[utoipa::path(
    delete,
    path = "/v1/records/{id}",
    params(("id" = String, Path, description = "The record id.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 503, description = "Storage is unavailable.", body = super::error::ErrorBody),
    ),
)]
pub async fn delete(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let current = load_off_runtime(&state, caller.tenant(), &id).await?;
    let input = WriteInput {
        id: current.id.clone(),
        tenant: current.tenant.clone(),
        kind: current.kind.clone(),
        subject: current.subject.clone(),
        fields: Value::Null,
        created_at: current.created_at,
        updated_at: current.updated_at,
    };
    let audit = audit_entry(
        &input,
        &current.bundle,
        "record.deleted",
        &[],
        state.clock.now_ms(),
    );
    let op = Op::Delete {
        id: id.clone(),
        tenant: current.tenant.clone(),
        audit: AuditEntry {
            actor: Some(caller.actor()),
            ..audit
        },
    };
    match state.store.write(vec![op]).await?.pop() {
        Some(OpResult::Done(_)) => Ok(StatusCode::NO_CONTENT.into_response()),
        _ => Err(ApiError::not_found(format!("no record with id `{id}`"))),
    }
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
        (status = 503, description = "A plugin failed, storage is unavailable, or the gateway is saturated (retry after `Retry-After` seconds); nothing was stored or sent.", body = super::error::ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait before retrying."))),
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

/// Every stored record of `subject` in `tenant`.
pub(super) async fn subject_records(
    state: &Arc<AppState>,
    tenant: &str,
    subject: &str,
) -> Result<Vec<StoredRecord>, ApiError> {
    let st = state.clone();
    let (t, s) = (tenant.to_string(), subject.to_string());
    tokio::task::spawn_blocking(move || st.store.by_subject(&t, &s))
        .await
        .map_err(|e| ApiError::internal(&anyhow::anyhow!("read task failed: {e}")))?
        .map_err(|e| ApiError::internal(&e))
}
