//! The connection layer: the accept loop and the handling of each HTTP/1.1 connection,
//! with every resource a client can hold bounded.
//!
//! - **Connections** are capped at [`ConnectionLimits::max_connections`], and never at more
//!   than the file-descriptor soft limit minus [`FD_RESERVE`] (the database, the compiled
//!   plugin cache, outbound vendor pushes and the over-cap answers need descriptors too), so
//!   the process does not run into `EMFILE`. The gateway raises its soft limit to the hard
//!   limit at start ([`raise_fd_limit`]).
//! - **At the cap**, a new connection takes the place of the connection that has been idle
//!   longest (no request in flight: a keep-alive connection between requests, or one that
//!   has not finished sending its request head); the idle one is closed, and the loop
//!   accepts again only once its socket is (so the descriptors in use never exceed the cap
//!   by more than the one connection being admitted). Idle connections
//!   cost the gateway nothing but a descriptor, so a flood of them cannot lock out a new
//!   client (`/healthz` keeps answering). Only when every connection has a request in
//!   flight is the new one answered `503` with `Retry-After` and closed; at most
//!   [`OVERFLOW`] such answers are written at once, and past that the loop stops
//!   accepting until one is done (the kernel's backlog holds the rest).
//! - **Timeouts**: a connection has [`ConnectionLimits::header_timeout`] from its first byte
//!   (for its first request: from being accepted) to finish a request head;
//!   [`ConnectionLimits::idle_timeout`] with no request in flight after a response before it
//!   is closed (and as long without a byte written while a response is being sent); and a
//!   request has [`ConnectionLimits::body_timeout`] of waiting in total to deliver its
//!   whole body: the time the gateway waits for the client's bytes counts, the time it
//!   spends on what it has read (a streamed batch commits chunk by chunk) does not. A
//!   body that misses that deadline (trickling, shorter than its
//!   `Content-Length`, or a chunked body that never ends) is answered `408` with the JSON
//!   error body. A request in flight (its handler running, e.g. waiting on plugins) is never
//!   idle, however silent the client.
//! - **Unread bodies**: when a response is sent before its request body was read to the end
//!   (a `413` from a body limit, a `408`, a `401` that never looked at the body), the
//!   response says `Connection: close`, and the connection closes *lingering*: it shuts its
//!   write side (the client gets the whole response and an end of stream), then reads and
//!   discards what the client still sends, for at most [`DRAIN_LIMIT`] bytes and until the
//!   request's body deadline (at least [`MIN_LINGER`]). Closing a socket with unread bytes
//!   makes the kernel send a reset, which throws away the response the client has not read
//!   yet; a client that sends its whole body before reading (no `Expect: 100-continue`)
//!   would see `ECONNRESET` instead of the `413`.
//!
//! Graceful shutdown stops accepting, closes the idle connections, lets the requests in
//! flight finish, and returns once every connection is closed.
//!
//! This module holds the limits and the accept loop; `connection` serves one connection
//! and its requests, `state` is what the layer knows of a connection, `body` the request
//! and response bodies it wraps, `socket` the socket, its lingering close and the `503`
//! over the cap, and `registry` the open connections and which one makes room.

mod body;
mod connection;
mod registry;
mod socket;
mod state;
#[cfg(test)]
mod tests;

use std::io;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, mpsc, watch};
use tokio::time::Instant;

use connection::connection;
use registry::Registry;
use socket::reject;

/// The bounds of the connection layer.
#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// Most connections open at once (lowered to the descriptor budget, see
    /// [`effective_cap`]).
    pub max_connections: usize,
    /// Time to finish a request head, from its first byte (from being accepted, for the
    /// first request of a connection).
    pub header_timeout: Duration,
    /// Time to deliver a whole request body, from the end of its head.
    pub body_timeout: Duration,
    /// Time a connection may stay open with no request in flight (and a response may go
    /// without a byte written).
    pub idle_timeout: Duration,
}

impl Default for ConnectionLimits {
    /// 1024 connections, 10 s for a head, 30 s for a body, 60 s idle.
    fn default() -> Self {
        Self {
            max_connections: 1024,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
        }
    }
}

/// File descriptors kept out of the connection budget: standard streams, the runtime's
/// epoll and wakers, the database, the compiled-plugin cache, the policy directory,
/// outbound vendor pushes (a few per vendor), and [`OVERFLOW`] over-cap answers.
pub const FD_RESERVE: u64 = 64 + OVERFLOW as u64;

/// Over-cap connections answered `503` at once; past that the accept loop waits.
pub const OVERFLOW: usize = 16;

/// Most bytes a lingering close reads and discards.
pub const DRAIN_LIMIT: usize = 64 << 20;

/// Shortest lingering close (when the request's body deadline has already passed).
pub const MIN_LINGER: Duration = Duration::from_secs(1);

/// Pause after an accept error such as `EMFILE` before accepting again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// At most one log line per this long for accept errors and over-cap answers.
const LOG_EVERY: Duration = Duration::from_secs(10);

/// How long a connection being closed (timed out, evicted, shutting down) gets to flush
/// what it has written before it is dropped.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// How long, and how many bytes, an over-cap connection gets to send its request head
/// before it is answered `503`.
const REJECT_READ: Duration = Duration::from_secs(1);
const REJECT_HEAD: usize = 16 << 10;

/// Raises the file-descriptor soft limit to the hard limit and logs the result; returns the
/// soft limit in force (`None` where it cannot be read).
pub fn raise_fd_limit() -> Option<u64> {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(soft) => {
            tracing::info!(limit = soft, "file descriptor limit");
            Some(soft)
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not raise the file descriptor limit");
            rlimit::Resource::NOFILE.get().ok().map(|(soft, _)| soft)
        }
    }
}

/// The connection cap in force: `wanted`, lowered to the descriptor soft limit minus
/// [`FD_RESERVE`] (at least 1).
pub fn effective_cap(wanted: usize, fd_soft_limit: Option<u64>) -> usize {
    let budget = fd_soft_limit.map_or(usize::MAX, |soft| {
        usize::try_from(soft.saturating_sub(FD_RESERVE)).unwrap_or(usize::MAX)
    });
    wanted.min(budget).max(1)
}

/// Serves `app` on `listener` within `limits` until `stop` turns true, then shuts down
/// gracefully (see the module docs) and returns.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    fd_soft_limit: Option<u64>,
    mut stop: watch::Receiver<bool>,
) -> io::Result<()> {
    let cap = effective_cap(limits.max_connections, fd_soft_limit);
    if cap < limits.max_connections {
        tracing::warn!(
            cap,
            wanted = limits.max_connections,
            fd_limit = fd_soft_limit,
            "connection cap lowered to the file descriptor budget"
        );
    } else {
        tracing::info!(cap, "connection cap");
    }
    let shared = Arc::new(Shared {
        app,
        limits,
        registry: Registry::new(cap),
    });
    let overflow = Arc::new(Semaphore::new(OVERFLOW));
    // Every connection task holds a sender; `recv` ends once all of them are gone.
    let (open_tx, mut open_rx) = mpsc::channel::<()>(1);
    let (closing_tx, closing_rx) = watch::channel(false);
    let mut accept_log = RateLimited::new();
    let mut reject_log = RateLimited::new();
    loop {
        let room = tokio::select! {
            biased;
            _ = stop.wait_for(|s| *s) => false,
            () = shared.registry.room() => true,
        };
        if !room {
            break;
        }
        let accepted = tokio::select! {
            biased;
            _ = stop.wait_for(|s| *s) => break,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            // The peer gave up before the connection was accepted: nothing to do.
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                // EMFILE, ENFILE, ENOBUFS...: accepting again at once would fail again.
                if let Some(suppressed) = accept_log.ready() {
                    tracing::error!(error = %e, suppressed, "accepting a connection failed; backing off");
                }
                tokio::select! {
                    _ = stop.wait_for(|s| *s) => break,
                    () = tokio::time::sleep(ACCEPT_BACKOFF) => continue,
                }
            }
        };
        let _ = stream.set_nodelay(true);
        match shared.registry.admit() {
            Some((state, slot)) => {
                let shared = shared.clone();
                let closing = closing_rx.clone();
                let open = open_tx.clone();
                tokio::spawn(async move {
                    connection(shared, stream, state, slot, closing).await;
                    drop(open);
                });
            }
            None => {
                if let Some(suppressed) = reject_log.ready() {
                    tracing::warn!(
                        cap,
                        suppressed,
                        "every connection has a request in flight: answering 503"
                    );
                }
                let permit = match overflow.clone().try_acquire_owned() {
                    Ok(p) => p,
                    // Saturated: stop accepting until an answer is done.
                    Err(_) => tokio::select! {
                        _ = stop.wait_for(|s| *s) => break,
                        p = overflow.clone().acquire_owned() => p.expect("the semaphore is never closed"),
                    },
                };
                tokio::spawn(async move {
                    reject(stream).await;
                    drop(permit);
                });
            }
        }
    }
    drop(listener);
    let _ = closing_tx.send(true);
    drop(open_tx);
    let _ = open_rx.recv().await;
    Ok(())
}

/// Accept errors that concern one connection only.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// What every connection shares.
struct Shared {
    app: Router,
    limits: ConnectionLimits,
    registry: Registry,
}

/// Lets one log line through per [`LOG_EVERY`], counting the ones held back.
struct RateLimited {
    last: Option<Instant>,
    suppressed: u64,
}

impl RateLimited {
    fn new() -> Self {
        Self {
            last: None,
            suppressed: 0,
        }
    }

    /// `Some(lines held back since the last one)` when a line may be logged now.
    fn ready(&mut self) -> Option<u64> {
        let now = Instant::now();
        if self.last.is_some_and(|l| now.duration_since(l) < LOG_EVERY) {
            self.suppressed += 1;
            return None;
        }
        self.last = Some(now);
        Some(std::mem::take(&mut self.suppressed))
    }
}
