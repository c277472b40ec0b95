//! The delivery workers: push each due delivery to its vendor's endpoint, signed, with its
//! idempotency key, at most `concurrency` at a time per vendor, and record the outcome.
//!
//! A push is `POST <endpoint URL>` with the payload (in the vendor's shape) as JSON and the
//! headers `Idempotency-Key` (stable across retries), `Sluice-Signature: sha256=<hex>` (HMAC-
//! SHA256 of the body with the vendor's secret), `Sluice-Clause` and `Sluice-Endpoint`. Any
//! 2xx answer delivers it; anything else (or no answer within the timeout) is a failed
//! attempt, retried after a backoff until the attempts or the age run out.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

pub use super::push::{DeliveryOptions, VendorSecrets, shaped, signature};
use super::{Attempt, Entry};
use crate::state::AppState;
use crate::store::{Op, OpResult, OutboxOp};

/// Runs the delivery workers until `stop` turns true.
///
/// The worker claims the deliveries it pushes ([`OutboxOp::Claim`]) in the store, under the
/// store's writer id, for [`lease`]: a claimed delivery is due for no other worker (of this
/// gateway or another on the same store) until its outcome is recorded or the lease runs
/// out. It claims only what it can start at once: at most `concurrency` pushes in flight per
/// vendor, [`IN_FLIGHT`] in all.
pub fn spawn(state: Arc<AppState>, mut stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let options = state.options.delivery.clone();
        let client = match reqwest::Client::builder()
            .timeout(options.timeout)
            .no_proxy()
            .build()
        {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "cannot build the delivery HTTP client; deliveries wait");
                return;
            }
        };
        let worker = state.store.writer().to_string();
        let per_vendor = options.concurrency.max(1);
        // Pushes in flight, per vendor.
        let in_flight: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let mut tasks = tokio::task::JoinSet::new();
        loop {
            update_gauges(&state).await;
            let (room, busy) = match in_flight.lock() {
                Ok(f) => (
                    f.iter()
                        .map(|(vendor, n)| (vendor.clone(), per_vendor.saturating_sub(*n)))
                        .collect::<Vec<_>>(),
                    f.values().sum::<usize>(),
                ),
                Err(_) => return,
            };
            if busy < IN_FLIGHT {
                match claim(&state, &worker, room, per_vendor, IN_FLIGHT - busy).await {
                    Ok(claimed) => {
                        for entry in claimed {
                            if let Ok(mut f) = in_flight.lock() {
                                *f.entry(entry.vendor.clone()).or_default() += 1;
                            }
                            let (state, client, in_flight, worker) = (
                                state.clone(),
                                client.clone(),
                                in_flight.clone(),
                                worker.clone(),
                            );
                            tasks.spawn(async move {
                                let vendor = entry.vendor.clone();
                                push_and_record(&state, &client, &worker, entry).await;
                                if let Ok(mut f) = in_flight.lock()
                                    && let Some(n) = f.get_mut(&vendor)
                                {
                                    *n -= 1;
                                    if *n == 0 {
                                        f.remove(&vendor);
                                    }
                                }
                                state.outbox_wake.notify_one();
                            });
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "claiming deliveries failed; will retry"),
                }
            }
            while tasks.try_join_next().is_some() {}
            tokio::select! {
                () = state.outbox_wake.notified() => {}
                () = tokio::time::sleep(options.poll) => {}
                _ = stop.changed() => {
                    // Pushes in flight are abandoned: they are still pending in the outbox,
                    // and are sent again (same idempotency key) once their claim is released:
                    // when the gateway opens the store again, or when the lease runs out.
                    tasks.abort_all();
                    return;
                }
            }
        }
    })
}

/// Most pushes in flight at once, over all vendors.
pub const IN_FLIGHT: usize = 512;

/// How long a worker's claim on a delivery holds: long enough for a push that times out and
/// the recording of its outcome, so that no two workers attempt one delivery at once.
pub fn lease(options: &DeliveryOptions) -> std::time::Duration {
    options.timeout * 2 + std::time::Duration::from_secs(10)
}

/// Claims what is due now, when anything is (a read first, so that an idle queue costs no
/// write).
async fn claim(
    state: &Arc<AppState>,
    worker: &str,
    room: Vec<(String, usize)>,
    per_vendor: usize,
    limit: usize,
) -> anyhow::Result<Vec<Entry>> {
    let now = state.clock.now_ms();
    let st = state.clone();
    let due = tokio::task::spawn_blocking(move || st.store.outbox_due(now, 1)).await??;
    if due.is_empty() {
        return Ok(Vec::new());
    }
    let lease_ms = i64::try_from(lease(&state.options.delivery).as_millis()).unwrap_or(i64::MAX);
    let op = Op::Outbox(OutboxOp::Claim {
        by: worker.to_string(),
        now,
        lease_ms,
        limit,
        per_vendor,
        room,
    });
    match state.store.write(vec![op]).await?.pop() {
        Some(OpResult::Claimed(entries)) => Ok(entries),
        other => anyhow::bail!("unexpected answer to a claim: {other:?}"),
    }
}

async fn update_gauges(state: &Arc<AppState>) {
    let st = state.clone();
    if let Ok(Ok((depth, oldest))) =
        tokio::task::spawn_blocking(move || st.store.outbox_depth()).await
    {
        let age = oldest.map_or(0, |t| (state.clock.now_ms() - t).max(0) / 1000);
        state.metrics.outbox(depth, age);
    }
}

async fn push_and_record(
    state: &Arc<AppState>,
    client: &reqwest::Client,
    worker: &str,
    entry: Entry,
) {
    let attempt = push(state, client, &entry).await;
    let outcome = match &attempt {
        Attempt::Delivered => "delivered",
        Attempt::Failed(_) => "failed",
        Attempt::Refused { .. } => "refused",
    };
    if let Attempt::Failed(why) = &attempt {
        tracing::warn!(delivery = %entry.id, vendor = %entry.vendor, endpoint = %entry.endpoint,
            attempts = entry.attempts + 1, error = %why, "delivery attempt failed");
    }
    let op = Op::Outbox(OutboxOp::Attempted {
        by: worker.to_string(),
        id: entry.id.clone(),
        attempt,
        now: state.clock.now_ms(),
        retry: state.options.delivery.retry,
    });
    match state.store.write(vec![op]).await.map(|mut r| r.pop()) {
        Ok(Some(OpResult::Delivery(e))) => {
            let outcome = if e.state == super::State::Dead {
                "dead"
            } else {
                outcome
            };
            state.metrics.delivery(&e.vendor, outcome);
            if e.state == super::State::Dead {
                tracing::error!(delivery = %e.id, vendor = %e.vendor, attempts = e.attempts,
                    "delivery is dead-lettered; redrive it with POST /v1/admin/outbox/{{id}}/redrive");
            }
        }
        Ok(_) => {}
        Err(e) => {
            tracing::error!(error = %e, delivery = %entry.id, "recording a delivery attempt failed; it will be attempted again")
        }
    }
}

/// One push attempt, against the register of the bundle the delivery's tenant runs on.
async fn push(state: &AppState, client: &reqwest::Client, entry: &Entry) -> Attempt {
    let policy = state.policy_for(&entry.tenant);
    let sub = match crate::clause::registered(&policy.register, &entry.vendor) {
        Ok(sub) => sub,
        Err(why @ crate::clause::Unregistered::NotListed) => {
            return Attempt::Refused {
                clause: why.clause().into(),
                reason: format!(
                    "`{}` is no longer in the subprocessor register of {}",
                    entry.vendor, policy.id
                ),
            };
        }
        Err(why) => {
            return Attempt::Refused {
                clause: why.clause().into(),
                reason: why.reason(&entry.vendor),
            };
        }
    };
    let Some(url) = sub.delivery.endpoints.get(&entry.endpoint) else {
        return Attempt::Failed(format!(
            "the register gives `{}` no `{}` endpoint",
            entry.vendor, entry.endpoint
        ));
    };
    let Some(secret) = state.options.delivery.secrets.get(&entry.vendor) else {
        return Attempt::Failed(format!(
            "no secret is configured for `{}` (--vendor-secrets or SLUICE_VENDOR_SECRET_{})",
            entry.vendor,
            entry.vendor.to_uppercase().replace('-', "_")
        ));
    };
    let body = match serde_json::to_vec(&shaped(
        &entry.payload,
        sub.delivery.shapes.get(&entry.endpoint),
    )) {
        Ok(b) => b,
        Err(e) => return Attempt::Failed(format!("encoding the payload: {e}")),
    };
    let request = client
        .post(url)
        .header("content-type", "application/json")
        .header("idempotency-key", &entry.id)
        .header("sluice-signature", signature(secret, &body))
        .header("sluice-clause", &entry.clause)
        .header("sluice-endpoint", &entry.endpoint)
        .body(body);
    match request.send().await {
        Ok(r) if r.status().is_success() => Attempt::Delivered,
        Ok(r) => Attempt::Failed(format!("{url} answered {}", r.status())),
        Err(e) => Attempt::Failed(format!("{url}: {}", without_url(&e))),
    }
}

fn without_url(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    if let Some(url) = e.url() {
        s = s.replace(url.as_str(), "").trim().to_string();
    }
    let mut source = std::error::Error::source(e);
    while let Some(inner) = source {
        s.push_str(&format!(": {inner}"));
        source = inner.source();
    }
    s
}
