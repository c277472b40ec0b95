//! `POST /v1/records:batch`: NDJSON in, one result line per record out, written in chunks
//! as the body streams in, each chunk through the write chain and one store transaction.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;

use super::auth::Caller;
use super::error::{ApiError, ErrorBody};
use super::extract::parse_object;
use super::records::{NewRecord, new_input};
use super::views::WriteResponse;
use crate::service::writes::{answer, attribute, plan, run_chain};
use crate::state::AppState;

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
        super::openapi::responses::Saturated,
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
