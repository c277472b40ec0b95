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

use std::convert::Infallible;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use axum::response::IntoResponse as _;
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore, mpsc, watch};
use tokio::time::{Instant, Sleep};

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

/// Serves one connection until it closes, times out, is evicted or the server shuts down.
async fn connection(
    shared: Arc<Shared>,
    stream: TcpStream,
    state: Arc<ConnState>,
    slot: Slot,
    mut closing: watch::Receiver<bool>,
) {
    let io = ConnIo {
        stream: Some(stream),
        state: state.clone(),
        slot: Some(slot),
    };
    let service = {
        let (shared, state) = (shared.clone(), state.clone());
        hyper::service::service_fn(move |req| handle(shared.clone(), state.clone(), req))
    };
    // No hyper timer: its header timeout also runs while a keep-alive connection waits for
    // the next request, which would make the idle timeout the header timeout. The watchdog
    // below keeps both.
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(true)
        .serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    let mut shutting = false;
    let mut grace: Option<Pin<Box<Sleep>>> = None;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                break;
            }
            reason = watchdog(&state, &shared.limits), if grace.is_none() => {
                tracing::debug!(reason, "closing a connection");
                if state.served.load(Ordering::Acquire) == 0 {
                    // Nothing was ever answered on it: nothing to flush.
                    break;
                }
                conn.as_mut().graceful_shutdown();
                grace = Some(Box::pin(tokio::time::sleep(CLOSE_GRACE)));
            }
            _ = closing.wait_for(|c| *c), if !shutting => {
                shutting = true;
                if state.served.load(Ordering::Acquire) == 0
                    && state.handling.load(Ordering::Acquire) == 0
                {
                    break;
                }
                // Closes at once if idle; else after the request in flight.
                conn.as_mut().graceful_shutdown();
            }
            () = async { grace.as_mut().expect("guarded").await }, if grace.is_some() => break,
        }
    }
    state.closed.store(true, Ordering::Release);
}

/// Completes when the connection should be closed, naming why.
async fn watchdog(state: &ConnState, limits: &ConnectionLimits) -> &'static str {
    loop {
        let notified = state.wake.notified();
        tokio::pin!(notified);
        // Register before reading the state, so that no change is missed.
        notified.as_mut().enable();
        match state.deadline(limits) {
            Deadline::Now(reason) => return reason,
            Deadline::At(at, reason) => {
                if at <= Instant::now() {
                    return reason;
                }
                tokio::select! {
                    () = tokio::time::sleep_until(at) => {}
                    () = notified => {}
                }
            }
            Deadline::None => notified.await,
        }
    }
}

/// When a connection is due to close.
enum Deadline {
    /// At once (evicted).
    Now(&'static str),
    /// At that instant, unless something happens first.
    At(Instant, &'static str),
    /// Not while a handler runs.
    None,
}

/// What the connection layer knows of a connection, shared by its I/O, its requests and
/// the registry. Times are milliseconds since `epoch`.
struct ConnState {
    epoch: Instant,
    /// Requests whose handler is running.
    handling: AtomicU32,
    /// Responses being written (the body not yet finished).
    responding: AtomicU32,
    /// Requests received so far.
    served: AtomicU64,
    /// When the last response finished (or the connection was accepted).
    idle_since: AtomicU64,
    /// One more than when the first byte of a request head arrived with no request in
    /// flight; 0 when no head is being read.
    head_started: AtomicU64,
    /// When a byte was last written.
    last_write: AtomicU64,
    /// One more than the instant until which a close lingers; 0: it does not.
    linger_until: AtomicU64,
    /// Set by the registry to make room for a new connection.
    evicted: AtomicBool,
    /// Set when the connection task has ended (it may still linger).
    closed: AtomicBool,
    /// Wakes the watchdog when any of the above changes.
    wake: Notify,
}

impl ConnState {
    fn new() -> Self {
        Self {
            epoch: Instant::now(),
            handling: AtomicU32::new(0),
            responding: AtomicU32::new(0),
            served: AtomicU64::new(0),
            idle_since: AtomicU64::new(0),
            // The first request's head is due from the moment the connection is accepted.
            head_started: AtomicU64::new(1),
            last_write: AtomicU64::new(0),
            linger_until: AtomicU64::new(0),
            evicted: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            wake: Notify::new(),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn at(&self, ms: u64) -> Instant {
        self.epoch + Duration::from_millis(ms)
    }

    /// No request in flight: no handler running and no response being written.
    fn is_idle(&self) -> bool {
        self.handling.load(Ordering::Acquire) == 0 && self.responding.load(Ordering::Acquire) == 0
    }

    fn deadline(&self, limits: &ConnectionLimits) -> Deadline {
        if self.evicted.load(Ordering::Acquire) {
            return Deadline::Now("evicted to make room for a new connection");
        }
        if self.handling.load(Ordering::Acquire) > 0 {
            return Deadline::None;
        }
        if self.responding.load(Ordering::Acquire) > 0 {
            let last = self.last_write.load(Ordering::Acquire);
            return Deadline::At(
                self.at(last) + limits.idle_timeout,
                "the client stopped reading its response",
            );
        }
        match self.head_started.load(Ordering::Acquire) {
            0 => Deadline::At(
                self.at(self.idle_since.load(Ordering::Acquire)) + limits.idle_timeout,
                "idle timeout",
            ),
            started => Deadline::At(
                self.at(started - 1) + limits.header_timeout,
                "header timeout",
            ),
        }
    }

    /// A request head was read: its handler starts.
    fn start_request(self: &Arc<Self>) -> Handling {
        self.handling.fetch_add(1, Ordering::AcqRel);
        self.served.fetch_add(1, Ordering::AcqRel);
        self.head_started.store(0, Ordering::Release);
        Handling(self.clone())
    }

    /// Makes the close of this connection linger until `until` (the latest asked for).
    fn linger(&self, until: Instant) {
        let ms = u64::try_from(until.saturating_duration_since(self.epoch).as_millis())
            .unwrap_or(u64::MAX - 1);
        self.linger_until.fetch_max(ms + 1, Ordering::AcqRel);
    }
}

/// A running handler; dropped when it returns (or is cancelled).
struct Handling(Arc<ConnState>);

impl Handling {
    /// The handler returned: its response is being written until the body is dropped.
    fn responding(self) -> Responding {
        let state = self.0.clone();
        state.responding.fetch_add(1, Ordering::AcqRel);
        state.last_write.store(state.now(), Ordering::Release);
        drop(self);
        Responding(state)
    }
}

impl Drop for Handling {
    fn drop(&mut self) {
        self.0.handling.fetch_sub(1, Ordering::AcqRel);
        if self.0.is_idle() {
            self.0.idle_since.store(self.0.now(), Ordering::Release);
        }
        self.0.wake.notify_one();
    }
}

/// A response being written; dropped with its body.
struct Responding(Arc<ConnState>);

impl Drop for Responding {
    fn drop(&mut self) {
        self.0.responding.fetch_sub(1, Ordering::AcqRel);
        if self.0.is_idle() {
            self.0.idle_since.store(self.0.now(), Ordering::Release);
        }
        self.0.wake.notify_one();
    }
}

/// Handles one request: the body gets its deadline, the response its bookkeeping.
async fn handle(
    shared: Arc<Shared>,
    state: Arc<ConnState>,
    req: Request<Incoming>,
) -> Result<Response<ServedBody>, Infallible> {
    let handling = state.start_request();
    let deadline = Instant::now() + shared.limits.body_timeout;
    let has_body = !req.body().is_end_stream();
    let watch = Arc::new(BodyWatch::default());
    let req = req.map(|inner| TimedBody {
        inner,
        left: shared.limits.body_timeout,
        waiting_since: None,
        sleep: None,
        watch: watch.clone(),
    });
    // The router is always ready (`poll_ready` is a no-op) and never fails.
    let mut response = tower::Service::call(&mut shared.app.clone(), req)
        .await
        .unwrap_or_else(|e| match e {});
    if watch.timed_out.load(Ordering::Acquire) {
        let ms = shared.limits.body_timeout.as_millis();
        response = crate::api::ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            format!("the request body did not arrive within {ms} ms"),
        )
        .into_response();
    }
    if has_body && !watch.finished.load(Ordering::Acquire) {
        // The rest of the body is never read: the connection cannot carry another request.
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        state.linger(deadline.max(Instant::now() + MIN_LINGER));
    }
    let responding = handling.responding();
    Ok(response.map(|inner| ServedBody {
        inner,
        _responding: responding,
    }))
}

/// What the connection layer learns of a request body.
#[derive(Default)]
struct BodyWatch {
    /// It was read to the end.
    finished: AtomicBool,
    /// It missed its deadline.
    timed_out: AtomicBool,
}

/// A request body with a bound on the total time spent waiting for it.
struct TimedBody {
    inner: Incoming,
    /// Waiting time left.
    left: Duration,
    /// When the current wait for the client began.
    waiting_since: Option<Instant>,
    /// The end of the current wait's share of `left`.
    sleep: Option<Pin<Box<Sleep>>>,
    watch: Arc<BodyWatch>,
}

/// The error of a body that missed its deadline.
#[derive(Debug, thiserror::Error)]
#[error("the request body did not arrive in time")]
struct BodyTimeout;

impl TimedBody {
    fn timed_out(&self) -> Poll<Option<Result<Frame<Bytes>, axum::BoxError>>> {
        self.watch.timed_out.store(true, Ordering::Release);
        Poll::Ready(Some(Err(BodyTimeout.into())))
    }
}

impl HttpBody for TimedBody {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        if self.watch.finished.load(Ordering::Acquire) {
            return Poll::Ready(None);
        }
        if self.watch.timed_out.load(Ordering::Acquire) {
            return self.timed_out();
        }
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if polled.is_ready()
            && let Some(since) = self.waiting_since.take()
        {
            self.left = self.left.saturating_sub(since.elapsed());
        }
        match polled {
            Poll::Ready(None) => {
                self.watch.finished.store(true, Ordering::Release);
                Poll::Ready(None)
            }
            Poll::Ready(Some(frame)) => Poll::Ready(Some(frame.map_err(Into::into))),
            Poll::Pending => {
                if self.waiting_since.is_none() {
                    let now = Instant::now();
                    let until = now + self.left;
                    self.waiting_since = Some(now);
                    match self.sleep.as_mut() {
                        Some(sleep) => sleep.as_mut().reset(until),
                        None => self.sleep = Some(Box::pin(tokio::time::sleep_until(until))),
                    }
                }
                let sleep = self.sleep.as_mut().expect("set while waiting");
                ready!(sleep.as_mut().poll(cx));
                self.timed_out()
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.watch.finished.load(Ordering::Acquire) || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A response body that keeps its connection busy until it is written.
struct ServedBody {
    inner: axum::body::Body,
    _responding: Responding,
}

impl HttpBody for ServedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A connection's socket: notes what arrives and leaves, and lingers when dropped if asked
/// to. Holds the connection's slot until the socket is closed.
struct ConnIo {
    stream: Option<TcpStream>,
    state: Arc<ConnState>,
    slot: Option<Slot>,
}

impl ConnIo {
    fn stream(&mut self) -> Pin<&mut TcpStream> {
        Pin::new(
            self.stream
                .as_mut()
                .expect("the stream is present until drop"),
        )
    }
}

impl AsyncRead for ConnIo {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        ready!(self.stream().poll_read(cx, buf))?;
        let state = &self.state;
        if buf.filled().len() > before
            && state.is_idle()
            && state.head_started.load(Ordering::Acquire) == 0
        {
            // The first byte of the next request head: its header timeout starts.
            state.head_started.store(state.now() + 1, Ordering::Release);
            state.wake.notify_one();
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for ConnIo {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let n = ready!(self.stream().poll_write(cx, buf))?;
        if n > 0 {
            self.state
                .last_write
                .store(self.state.now(), Ordering::Release);
        }
        Poll::Ready(Ok(n))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let n = ready!(self.stream().poll_write_vectored(cx, bufs))?;
        if n > 0 {
            self.state
                .last_write
                .store(self.state.now(), Ordering::Release);
        }
        Poll::Ready(Ok(n))
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.as_ref().is_some_and(|s| s.is_write_vectored())
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.stream().poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.stream().poll_shutdown(cx)
    }
}

impl Drop for ConnIo {
    fn drop(&mut self) {
        let until = self.state.linger_until.load(Ordering::Acquire);
        let (Some(stream), true) = (self.stream.take(), until > 0) else {
            return;
        };
        let until = self.state.at(until - 1);
        let slot = self.slot.take();
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move {
                linger(stream, until).await;
                drop(slot);
            });
        }
    }
}

/// Closes `stream` lingering: shuts its write side, then reads and discards what the client
/// still sends until it closes, [`DRAIN_LIMIT`] bytes have come, or `until`.
async fn linger(mut stream: TcpStream, until: Instant) {
    let drain = async {
        let _ = stream.shutdown().await;
        let mut buf = vec![0u8; 16 << 10];
        let mut left = DRAIN_LIMIT;
        while left > 0 {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    };
    let _ = tokio::time::timeout_at(until, drain).await;
}

/// The answer to a connection over the cap: a minimal `503` with `Retry-After`, after its
/// request head (so that the client reads it as the answer to its request), then a short
/// lingering close.
async fn reject(mut stream: TcpStream) {
    const BODY: &str = r#"{"error":"the gateway is at its connection limit; retry later"}"#;
    let read_head = async {
        let mut head = Vec::with_capacity(1024);
        let mut buf = [0u8; 1024];
        while head.len() < REJECT_HEAD {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
            if head.windows(4).any(|w| w == b"\r\n\r\n") {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(REJECT_READ, read_head).await;
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\nretry-after: 1\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{BODY}",
        BODY.len()
    );
    let write = async {
        stream.write_all(response.as_bytes()).await?;
        stream.flush().await
    };
    if tokio::time::timeout(REJECT_READ, write).await.is_ok() {
        linger(stream, Instant::now() + MIN_LINGER).await;
    }
}

/// The open connections, for the cap and for choosing which idle one makes room.
struct Registry {
    cap: usize,
    inner: Arc<Mutex<RegistryInner>>,
    /// Told whenever a socket is closed.
    closed: Arc<Notify>,
}

#[derive(Default)]
struct RegistryInner {
    next: u64,
    open: std::collections::HashMap<u64, Arc<ConnState>>,
    /// Connections evicted whose socket is not closed yet: they still hold a descriptor.
    evicted: usize,
}

/// A connection's place in the registry, given back when its socket is closed.
struct Slot {
    id: u64,
    registry: Arc<Mutex<RegistryInner>>,
    closed: Arc<Notify>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(mut inner) = self.registry.lock()
            && inner.open.remove(&self.id).is_none()
        {
            inner.evicted = inner.evicted.saturating_sub(1);
        }
        self.closed.notify_one();
    }
}

impl Registry {
    fn new(cap: usize) -> Self {
        Self {
            cap,
            inner: Arc::default(),
            closed: Arc::new(Notify::new()),
        }
    }

    /// Waits while the sockets still open (evicted ones included) fill the cap and an
    /// evicted one is about to close: accepting now would hold one descriptor more than
    /// the cap for every eviction not yet done, and a flood of connections would run the
    /// process out of descriptors.
    async fn room(&self) {
        loop {
            let closed = self.closed.notified();
            tokio::pin!(closed);
            closed.as_mut().enable();
            {
                let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
                if inner.evicted == 0 || inner.open.len() + inner.evicted < self.cap {
                    return;
                }
            }
            closed.await;
        }
    }

    /// A place for a new connection: a free one, or the place of the connection idle
    /// longest (which is told to close). `None` when every connection is busy.
    fn admit(&self) -> Option<(Arc<ConnState>, Slot)> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.open.len() >= self.cap {
            let victim = inner
                .open
                .iter()
                .filter(|(_, s)| s.is_idle() && !s.closed.load(Ordering::Acquire))
                .min_by_key(|(_, s)| {
                    // Since when it has been idle, in one time base.
                    let since = match s.head_started.load(Ordering::Acquire) {
                        0 => s.idle_since.load(Ordering::Acquire),
                        started => started - 1,
                    };
                    s.at(since)
                })
                .map(|(id, _)| *id)?;
            let state = inner.open.remove(&victim).expect("listed above");
            inner.evicted += 1;
            state.evicted.store(true, Ordering::Release);
            state.wake.notify_one();
        }
        let id = inner.next;
        inner.next += 1;
        let state = Arc::new(ConnState::new());
        inner.open.insert(id, state.clone());
        Some((
            state,
            Slot {
                id,
                registry: self.inner.clone(),
                closed: self.closed.clone(),
            },
        ))
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_is_lowered_to_the_descriptor_budget() {
        assert_eq!(effective_cap(1024, None), 1024);
        assert_eq!(effective_cap(1024, Some(1 << 20)), 1024);
        assert_eq!(effective_cap(1024, Some(256)), 256 - FD_RESERVE as usize);
        assert_eq!(effective_cap(16, Some(256)), 16);
        assert_eq!(effective_cap(1024, Some(10)), 1);
    }

    #[test]
    fn log_lines_are_rate_limited() {
        let mut log = RateLimited::new();
        assert_eq!(log.ready(), Some(0));
        assert_eq!(log.ready(), None);
        assert_eq!(log.ready(), None);
        assert_eq!(log.suppressed, 2);
    }

    #[test]
    fn the_registry_makes_room_by_closing_the_connection_idle_longest() {
        let registry = Registry::new(2);
        let (a, _sa) = registry.admit().expect("a place");
        let (b, _sb) = registry.admit().expect("a place");
        // `a` is busy; `b` idle: the third connection takes `b`'s place.
        let _busy = a.start_request();
        let (c, _sc) = registry.admit().expect("b's place");
        assert!(b.evicted.load(Ordering::Acquire));
        assert!(!a.evicted.load(Ordering::Acquire));
        // Now `a` is busy and `c` idle... once `c` is busy too, nobody makes room.
        let _busy_c = c.start_request();
        assert!(registry.admit().is_none());
    }

    #[tokio::test]
    async fn no_connection_is_accepted_while_an_evicted_one_still_holds_its_descriptor() {
        let registry = Registry::new(1);
        let (_a, slot_a) = registry.admit().expect("a place");
        // At the cap, but nothing evicted: accept, and make room by evicting.
        registry.room().await;
        let (_b, _slot_b) = registry.admit().expect("a's place");
        // `a` is told to close but its socket is still open: wait.
        let waiting = tokio::time::timeout(Duration::from_millis(50), registry.room()).await;
        assert!(waiting.is_err(), "accepted over the cap");
        let room = tokio::spawn({
            let registry = Registry {
                cap: registry.cap,
                inner: registry.inner.clone(),
                closed: registry.closed.clone(),
            };
            async move { registry.room().await }
        });
        drop(slot_a);
        tokio::time::timeout(Duration::from_secs(5), room)
            .await
            .expect("room once a's socket is closed")
            .unwrap();
    }
}
