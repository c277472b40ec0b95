//! The retention sweeper: deletes the fields and records whose time has come.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::state::AppState;
use crate::store::{Op, OpResult, StoreError};

/// Most expiries handled per transaction; a sweep runs transactions until none are due.
const BATCH: usize = 1000;

/// Deletes everything due now, writing an audit entry per deletion. Returns how many
/// deletions were made.
pub async fn sweep(state: &AppState) -> Result<usize, StoreError> {
    let mut total = 0;
    loop {
        let now = state.clock.now_secs();
        let results = state
            .store
            .write(vec![Op::Sweep { now, limit: BATCH }])
            .await?;
        let Some(OpResult::Swept(swept)) = results.into_iter().next() else {
            return Err(StoreError("the sweep returned no result".into()));
        };
        for s in &swept {
            state
                .metrics
                .sweeper_deletion(if s.path.is_empty() { "record" } else { "field" });
            tracing::info!(record = %s.id, path = %s.path, clause = %s.clause, "retention deletion");
        }
        total += swept.len();
        if swept.len() < BATCH {
            return Ok(total);
        }
    }
}

/// Runs [`sweep`] every `interval` (the first one `interval` from now: the gateway sweeps
/// once before it starts serving) until `stop` turns true.
pub fn spawn(
    state: Arc<AppState>,
    interval: Duration,
    mut stop: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let interval = interval.max(Duration::from_millis(10));
        let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {
                    if let Err(e) = sweep(&state).await {
                        tracing::error!(error = %e, "retention sweep failed; will retry");
                    }
                }
                _ = stop.changed() => return,
            }
        }
    })
}
