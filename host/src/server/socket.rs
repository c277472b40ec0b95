//! A connection's socket ([`ConnIo`]), the lingering close of a socket with unread bytes,
//! and the `503` answer to a connection over the cap ([`reject`]).

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::Instant;

use super::registry::Slot;
use super::state::ConnState;
use super::{DRAIN_LIMIT, MIN_LINGER, REJECT_HEAD, REJECT_READ};

/// A connection's socket: notes what arrives and leaves, and lingers when dropped if asked
/// to. Holds the connection's slot until the socket is closed.
pub(super) struct ConnIo {
    pub(super) stream: Option<TcpStream>,
    pub(super) state: Arc<ConnState>,
    pub(super) slot: Option<Slot>,
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
        self.state.wrote(n);
        Poll::Ready(Ok(n))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let n = ready!(self.stream().poll_write_vectored(cx, bufs))?;
        self.state.wrote(n);
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
pub(super) async fn reject(mut stream: TcpStream) {
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
