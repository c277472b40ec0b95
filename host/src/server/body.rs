//! The bodies the connection layer wraps: a request body with a bound on the time spent
//! waiting for it ([`TimedBody`]), and a response body that keeps its connection busy until
//! it is written ([`ServedBody`]).

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::body::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::body::Incoming;
use tokio::time::{Instant, Sleep};

use super::state::Responding;

/// What the connection layer learns of a request body.
#[derive(Default)]
pub(super) struct BodyWatch {
    /// It was read to the end.
    pub(super) finished: AtomicBool,
    /// It missed its deadline.
    pub(super) timed_out: AtomicBool,
}

/// A request body with a bound on the total time spent waiting for it.
pub(super) struct TimedBody {
    pub(super) inner: Incoming,
    /// Waiting time left.
    pub(super) left: Duration,
    /// When the current wait for the client began.
    pub(super) waiting_since: Option<Instant>,
    /// The end of the current wait's share of `left`.
    pub(super) sleep: Option<Pin<Box<Sleep>>>,
    pub(super) watch: Arc<BodyWatch>,
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
pub(super) struct ServedBody {
    pub(super) inner: axum::body::Body,
    pub(super) _responding: Responding,
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
