//! A vendor's (or courier's) HTTP server on loopback, where the gateway pushes deliveries.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context as _, Result};
use axum::http::{HeaderMap, StatusCode, Uri};
use serde_json::Value;

use crate::http::wait_until;

/// An HTTP server on a free loopback port, serving until it is dropped.
pub struct Loopback {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    task: tokio::task::JoinHandle<()>,
}

impl Loopback {
    /// Serves `app` on a free loopback port (on the current tokio runtime).
    pub async fn serve(app: axum::Router) -> Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .context("binding a loopback port")?;
        let url = format!("http://{}", listener.local_addr()?);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self { url, task })
    }
}

impl Drop for Loopback {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The value of header `name` of a request, empty when it has none (or none in text).
pub fn header(headers: &HeaderMap, name: &str) -> String {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// A vendor's HTTP server on loopback, recording every request it accepts.
pub struct VendorServer {
    /// `http://127.0.0.1:PORT`
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
    up: Arc<AtomicBool>,
    attempts: Arc<AtomicUsize>,
    _server: Loopback,
}

/// One request a [`VendorServer`] accepted.
#[derive(Debug, Clone)]
pub struct Received {
    /// The request path.
    pub path: String,
    /// The `Idempotency-Key` header.
    pub key: String,
    /// The `Sluice-Signature` header.
    pub signature: String,
    /// The raw body.
    pub raw: Vec<u8>,
    /// The body as JSON.
    pub body: Value,
}

impl VendorServer {
    /// Starts a server that accepts (200) every request at once while up, and answers 503
    /// while down.
    pub async fn start() -> Self {
        Self::start_slow(Duration::ZERO).await
    }

    /// [`VendorServer::start`] for a slow vendor: a request it accepts is recorded at once
    /// and answered `delay` later.
    pub async fn start_slow(delay: Duration) -> Self {
        let received: Arc<Mutex<Vec<Received>>> = Arc::default();
        let up = Arc::new(AtomicBool::new(true));
        let attempts = Arc::new(AtomicUsize::new(0));
        let (r, u, a) = (received.clone(), up.clone(), attempts.clone());
        let app = axum::Router::new().fallback(
            move |uri: Uri, headers: HeaderMap, body: axum::body::Bytes| {
                let (r, u, a) = (r.clone(), u.clone(), a.clone());
                async move {
                    a.fetch_add(1, Ordering::SeqCst);
                    if !u.load(Ordering::SeqCst) {
                        return StatusCode::SERVICE_UNAVAILABLE;
                    }
                    r.lock().unwrap().push(Received {
                        path: uri.path().to_string(),
                        key: header(&headers, "idempotency-key"),
                        signature: header(&headers, "sluice-signature"),
                        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
                        raw: body.to_vec(),
                    });
                    if !delay.is_zero() {
                        tokio::time::sleep(delay).await;
                    }
                    StatusCode::OK
                }
            },
        );
        let server = Loopback::serve(app)
            .await
            .expect("starting the vendor's server");
        Self {
            url: server.url.clone(),
            received,
            up,
            attempts,
            _server: server,
        }
    }

    /// What it received so far.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// The idempotency keys of what it received so far, in order.
    pub fn keys(&self) -> Vec<String> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .map(|r| r.key.clone())
            .collect()
    }

    /// Requests that reached it, accepted or not.
    pub fn attempts(&self) -> usize {
        self.attempts.load(Ordering::SeqCst)
    }

    /// Brings it up (accepting) or down (503).
    pub fn set_up(&self, up: bool) {
        self.up.store(up, Ordering::SeqCst);
    }

    /// Waits (up to 10 s) until it has received `n` requests.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        let reached = wait_until(Duration::from_secs(10), || self.received().len() >= n).await;
        assert!(
            reached,
            "the vendor received {} of {n} requests",
            self.received().len()
        );
        self.received()
    }
}
