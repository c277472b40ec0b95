//! `GET /v1/admin/backup`: a consistent snapshot of the whole store, streamed while the
//! gateway keeps serving (see [`crate::backup`]). The snapshot is plaintext: `sluice backup
//! --url` encrypts it on the operator's side, so the gateway never holds the backup key.

use std::io::{self, Write};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use tokio::sync::mpsc;

use super::auth::Actor;
use super::error::ApiError;
use crate::state::AppState;
use crate::store::{AuditEntry, Op};

/// Bytes per body chunk.
const CHUNK: usize = 64 << 10;

/// `GET /v1/admin/backup`: the snapshot as `application/octet-stream`.
///
/// The backup is audited before the snapshot is taken, so the snapshot holds the record of
/// its own making. A failure part-way cuts the response short, which the client detects
/// (the snapshot declares its tables, and `sluice backup` checks the file it wrote).
#[utoipa::path(
    get,
    path = "/backup",
    responses(
        (status = 200, description = "The snapshot (plaintext; `sluice backup --url` encrypts it).",
            content_type = "application/octet-stream", body = super::openapi::shapes::Binary),
        super::openapi::responses::StorageUnavailable,
    ),
)]
pub async fn backup(
    State(state): State<Arc<AppState>>,
    Actor(actor): Actor,
) -> Result<Response, ApiError> {
    let audit = AuditEntry::admin(
        "backup.created",
        state.clock.now_ms(),
        &actor,
        None,
        serde_json::json!({
            "action": "backup",
            "snapshot_format": crate::backup::SNAPSHOT_FORMAT,
            "store_format": crate::store::tables::FORMAT,
        }),
    );
    state.store.write(vec![Op::Audit(audit)]).await?;

    // Begin the read transaction before answering, so that a failure to start is a 500.
    let db = state.store.db();
    let snapshot = tokio::task::spawn_blocking(move || db.snapshot())
        .await
        .map_err(|e| ApiError::internal(&anyhow::anyhow!("backup task failed: {e}")))?
        .map_err(|e| ApiError::internal(&e))?;
    let created_at = state.clock.now_ms();
    let (tx, rx) = mpsc::channel(8);
    tokio::task::spawn_blocking(move || {
        let mut out = ChannelWriter {
            tx: tx.clone(),
            buf: Vec::with_capacity(CHUNK),
        };
        let dumped = snapshot.dump(created_at, &mut out);
        match dumped {
            Ok(summary) => tracing::info!(
                tables = summary.tables,
                rows = summary.rows,
                audit_entries = summary.audit_entries,
                "backup snapshot sent"
            ),
            Err(e) => {
                tracing::error!(error = format!("{e:#}"), "backup snapshot failed");
                // An error item makes the server cut the response short.
                let _ = tx.blocking_send(Err(io::Error::other("the snapshot failed")));
            }
        }
    });
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        Body::from_stream(Chunks(rx)),
    )
        .into_response())
}

/// Sends what is written to it as body chunks.
struct ChannelWriter {
    tx: mpsc::Sender<io::Result<Bytes>>,
    buf: Vec<u8>,
}

impl ChannelWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx.blocking_send(Ok(chunk)).map_err(|_| {
            io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the client stopped reading the backup",
            )
        })
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

/// The body chunks, as a stream.
struct Chunks(mpsc::Receiver<io::Result<Bytes>>);

impl futures_core::Stream for Chunks {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx)
    }
}
