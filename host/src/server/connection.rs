//! One HTTP/1.1 connection: hyper serving it, the watchdog that closes it when a deadline
//! passes or it is evicted, and the bookkeeping of each request it carries.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use axum::response::IntoResponse as _;
use http_body::Body as HttpBody;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::{Instant, Sleep};

use super::body::{BodyWatch, ServedBody, TimedBody};
use super::registry::Slot;
use super::socket::ConnIo;
use super::state::{ConnState, Deadline};
use super::{CLOSE_GRACE, ConnectionLimits, MIN_LINGER, Shared};

/// Serves one connection until it closes, times out, is evicted or the server shuts down.
pub(super) async fn connection(
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
        // The API's error body (`{"error": ...}`), written here: the connection layer sits
        // below the API.
        let error = format!("the request body did not arrive within {ms} ms");
        response = (
            StatusCode::REQUEST_TIMEOUT,
            axum::Json(serde_json::json!({ "error": error })),
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
