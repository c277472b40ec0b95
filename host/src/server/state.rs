//! What the connection layer knows of a connection ([`ConnState`]): its requests in flight,
//! its deadlines, whether it was evicted, and how long its close lingers.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

use super::ConnectionLimits;

/// When a connection is due to close.
pub(super) enum Deadline {
    /// At once (evicted).
    Now(&'static str),
    /// At that instant, unless something happens first.
    At(Instant, &'static str),
    /// Not while a handler runs.
    None,
}

/// What the connection layer knows of a connection, shared by its I/O, its requests and
/// the registry. Times are milliseconds since `epoch`.
pub(super) struct ConnState {
    pub(super) epoch: Instant,
    /// Requests whose handler is running.
    pub(super) handling: AtomicU32,
    /// Responses being written (the body not yet finished).
    pub(super) responding: AtomicU32,
    /// Requests received so far.
    pub(super) served: AtomicU64,
    /// When the last response finished (or the connection was accepted).
    pub(super) idle_since: AtomicU64,
    /// One more than when the first byte of a request head arrived with no request in
    /// flight; 0 when no head is being read.
    pub(super) head_started: AtomicU64,
    /// When a byte was last written.
    pub(super) last_write: AtomicU64,
    /// One more than the instant until which a close lingers; 0: it does not.
    pub(super) linger_until: AtomicU64,
    /// Set by the registry to make room for a new connection.
    pub(super) evicted: AtomicBool,
    /// Set when the connection task has ended (it may still linger).
    pub(super) closed: AtomicBool,
    /// Wakes the watchdog when any of the above changes.
    pub(super) wake: Notify,
}

impl ConnState {
    pub(super) fn new() -> Self {
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

    pub(super) fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    pub(super) fn at(&self, ms: u64) -> Instant {
        self.epoch + Duration::from_millis(ms)
    }

    /// No request in flight: no handler running and no response being written.
    pub(super) fn is_idle(&self) -> bool {
        self.handling.load(Ordering::Acquire) == 0 && self.responding.load(Ordering::Acquire) == 0
    }

    pub(super) fn deadline(&self, limits: &ConnectionLimits) -> Deadline {
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
    pub(super) fn start_request(self: &Arc<Self>) -> Handling {
        self.handling.fetch_add(1, Ordering::AcqRel);
        self.served.fetch_add(1, Ordering::AcqRel);
        self.head_started.store(0, Ordering::Release);
        Handling(self.clone())
    }

    /// Makes the close of this connection linger until `until` (the latest asked for).
    pub(super) fn linger(&self, until: Instant) {
        let ms = u64::try_from(until.saturating_duration_since(self.epoch).as_millis())
            .unwrap_or(u64::MAX - 1);
        self.linger_until.fetch_max(ms + 1, Ordering::AcqRel);
    }

    /// A request in flight of `counter` (handlers running, or responses being written)
    /// ended.
    fn done(&self, counter: &AtomicU32) {
        counter.fetch_sub(1, Ordering::AcqRel);
        if self.is_idle() {
            self.idle_since.store(self.now(), Ordering::Release);
        }
        self.wake.notify_one();
    }

    /// `n` bytes were written.
    pub(super) fn wrote(&self, n: usize) {
        if n > 0 {
            self.last_write.store(self.now(), Ordering::Release);
        }
    }
}

/// A running handler; dropped when it returns (or is cancelled).
pub(super) struct Handling(Arc<ConnState>);

impl Handling {
    /// The handler returned: its response is being written until the body is dropped.
    pub(super) fn responding(self) -> Responding {
        let state = self.0.clone();
        state.responding.fetch_add(1, Ordering::AcqRel);
        state.last_write.store(state.now(), Ordering::Release);
        drop(self);
        Responding(state)
    }
}

impl Drop for Handling {
    fn drop(&mut self) {
        self.0.done(&self.0.handling);
    }
}

/// A response being written; dropped with its body.
pub(super) struct Responding(Arc<ConnState>);

impl Drop for Responding {
    fn drop(&mut self) {
        self.0.done(&self.0.responding);
    }
}
