//! The outbox: deliveries to vendors and subprocessors, written in the same store
//! transaction as the record that caused them, then pushed by the delivery workers or pulled
//! by the vendor from its feed.
//!
//! This module holds the state machine of one delivery, as pure functions over [`Entry`], so
//! that the store applies exactly these transitions and a model-based test can check them:
//!
//! ```text
//!  enqueue --> pending --attempt ok / ack--> delivered
//!                 |  \--attempt failed--> pending (attempts + 1, next attempt after a backoff)
//!                 |   \--attempts or age exhausted--> dead --redrive--> pending
//!                 \--recipient outside the EEA without safeguards (3.1)--> refused
//!                  \--erasure of the record--> cancelled
//! ```

pub mod push;
pub mod worker;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Waiting to be pushed (or pulled and acknowledged).
    Pending,
    /// Received by the vendor (a 2xx answer to a push, or an acknowledged pull).
    Delivered,
    /// Given up after the configured attempts or age; can be redriven.
    Dead,
    /// Refused by the gateway (e.g. a transfer outside the EEA without safeguards, 3.1).
    Refused,
    /// Cancelled before delivery (e.g. the record was erased).
    Cancelled,
}

impl State {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Delivered => "delivered",
            State::Dead => "dead",
            State::Refused => "refused",
            State::Cancelled => "cancelled",
        }
    }
}

/// How a vendor receives its deliveries.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The gateway pushes each delivery to the vendor's endpoint.
    Push,
    /// The vendor pulls its feed and acknowledges a cursor.
    #[default]
    Pull,
}

/// One delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Entry {
    /// Position in the outbox (assigned by the store; the feed's cursor).
    pub seq: u64,
    /// The idempotency key, stable across retries (UUID v7).
    pub id: String,
    /// The record that caused it.
    pub record: String,
    /// The record's tenant.
    pub tenant: String,
    /// The record's kind.
    pub kind: String,
    /// The pseudonymous subject reference of the record (as in the audit log).
    pub subject: String,
    /// The recipient: an id of the subprocessor register.
    pub vendor: String,
    /// The recipient's endpoint kind (`redirection`, `provisioning`, `courier`, ...).
    pub endpoint: String,
    /// Exactly what the recipient may receive, as the forwarder computed it.
    pub payload: serde_json::Value,
    /// The clause that permits the transfer (or, when refused, forbids it).
    pub clause: String,
    /// The forwarder plugin.
    pub plugin: String,
    /// The bundle that decided.
    pub bundle: String,
    /// Push or pull.
    pub mode: Mode,
    /// Where it stands.
    pub state: State,
    /// Push attempts made.
    pub attempts: u32,
    /// When the next push attempt is due (ms since the epoch).
    pub next_at: i64,
    /// When it was enqueued (ms).
    pub created_at: i64,
    /// When it last changed state or was attempted (ms).
    pub updated_at: i64,
    /// Why the last attempt failed, or why it was refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When it was delivered (ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_at: Option<i64>,
    /// Once the delivery is settled (delivered, refused or cancelled), the payload itself is
    /// dropped (`payload` is `null`) and only this proof of what it was remains: the
    /// `sha256:<hex>` of its JSON text as it was last held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload_digest: Option<String>,
    /// The field paths (JSON Pointers) of the payload, kept when the payload is dropped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<String>,
    /// While a delivery worker pushes it: which one, and until when no other worker may
    /// attempt it (see [`claimed`]). Cleared by the attempt's outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim: Option<Claim>,
}

/// A delivery worker's claim on a pushed delivery: the lease that lets one worker at a time
/// attempt it, over every gateway of a store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Claim {
    /// The worker: the writer id of its gateway process.
    pub by: String,
    /// When the lease runs out (ms since the epoch): a worker that died holding it lets
    /// another take the delivery over then.
    pub until: i64,
}

impl Entry {
    /// The field paths of the payload: its leaves while it is held, the recorded ones once
    /// it was dropped.
    pub fn payload_paths(&self) -> Vec<String> {
        if self.payload.is_null() {
            self.paths.clone()
        } else {
            leaves(&self.payload)
        }
    }
}

/// Drops the payload of a settled delivery, keeping its digest and paths as the proof of
/// what the recipient received (or would have). A payload already dropped stays dropped.
pub fn settle(mut e: Entry) -> Entry {
    if !e.payload.is_null() {
        let text = serde_json::to_vec(&e.payload).unwrap_or_default();
        e.payload_digest = Some(format!("sha256:{}", hex::encode(Sha256::digest(&text))));
        e.paths = leaves(&e.payload);
        e.payload = serde_json::Value::Null;
    }
    e
}

/// Removes from `payload` everything that a retention deletion of the record's field at
/// `path`, whose value was `removed`, took away: the part at `path` itself (payloads use
/// the record's pointers for the fields they copy), and every other copy of a removed value:
/// a text leaf that is, or holds, the value (compared without regard to ASCII case) has it
/// replaced by [`SCRUBBED`]; an object member whose key holds it is removed; a number leaf
/// equal to a removed number is removed. Texts shorter than [`MIN_COPIED_TEXT`] characters and
/// numbers with fewer digits are matched at `path` only: short values (a PIN, an extension
/// number) are not specific enough to tell a copy from an unrelated equal value. Used for
/// delivery payloads and for the rest of the record itself. Returns the number of leaves
/// changed or removed.
pub fn scrub(payload: &mut serde_json::Value, path: &str, removed: &serde_json::Value) -> usize {
    if payload.is_null() {
        return 0;
    }
    let mut changed = 0;
    if !path.is_empty()
        && let Some(part) = payload.pointer(path)
    {
        let n = leaves(part).len().max(1);
        if crate::record::remove_at(payload, path) {
            changed += n;
        }
    }
    let mut texts = Vec::new();
    let mut numbers = Vec::new();
    collect_scalars(removed, &mut texts, &mut numbers);
    if texts.is_empty() && numbers.is_empty() {
        return changed;
    }
    changed + scrub_copies(payload, &texts, &numbers)
}

fn scrub_copies(
    v: &mut serde_json::Value,
    texts: &[String],
    numbers: &[serde_json::Number],
) -> usize {
    use serde_json::Value;
    match v {
        Value::String(s) => match replace_copies(s, texts) {
            Some(scrubbed) => {
                *s = scrubbed;
                1
            }
            None => 0,
        },
        Value::Array(items) => {
            let before = items.len();
            items.retain(|x| !matches!(x, Value::Number(n) if numbers.contains(n)));
            let mut n = before - items.len();
            for x in items.iter_mut() {
                n += scrub_copies(x, texts, numbers);
            }
            n
        }
        Value::Object(map) => {
            let before = map.len();
            map.retain(|k, x| {
                replace_copies(k, texts).is_none()
                    && !matches!(x, Value::Number(n) if numbers.contains(n))
            });
            let mut n = before - map.len();
            for x in map.values_mut() {
                n += scrub_copies(x, texts, numbers);
            }
            n
        }
        _ => 0,
    }
}

/// `s` with every occurrence of each of `texts` replaced by [`SCRUBBED`] (ASCII case
/// ignored), or `None` when it holds none.
fn replace_copies(s: &str, texts: &[String]) -> Option<String> {
    let mut out: Option<String> = None;
    for t in texts {
        let current = out.as_deref().unwrap_or(s);
        let folded = current.to_ascii_lowercase();
        let needle = t.to_ascii_lowercase();
        if !folded.contains(&needle) {
            continue;
        }
        // ASCII lowercasing keeps every byte offset, so positions in `folded` are positions
        // in `current`.
        let mut result = String::with_capacity(current.len());
        let mut last = 0;
        for (at, _) in folded.match_indices(&needle) {
            result.push_str(&current[last..at]);
            result.push_str(SCRUBBED);
            last = at + needle.len();
        }
        result.push_str(&current[last..]);
        out = Some(result);
    }
    out
}

/// What replaces a deleted value found in another field or inside a longer text.
pub const SCRUBBED: &str = "[deleted]";

/// The shortest text (in characters) and number (in digits) that counts as a copy wherever
/// it appears.
pub const MIN_COPIED_TEXT: usize = 8;

fn collect_scalars(
    v: &serde_json::Value,
    texts: &mut Vec<String>,
    numbers: &mut Vec<serde_json::Number>,
) {
    use serde_json::Value;
    match v {
        Value::String(s) if s.chars().count() >= MIN_COPIED_TEXT => texts.push(s.clone()),
        Value::Number(n)
            if n.to_string().bytes().filter(u8::is_ascii_digit).count() >= MIN_COPIED_TEXT =>
        {
            numbers.push(n.clone())
        }
        Value::Array(items) => items
            .iter()
            .for_each(|x| collect_scalars(x, texts, numbers)),
        Value::Object(map) => map
            .values()
            .for_each(|x| collect_scalars(x, texts, numbers)),
        _ => {}
    }
}

/// When retries stop, and how far apart they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts after which a delivery is dead.
    pub max_attempts: u32,
    /// Age (ms since enqueued) after which a failed delivery is dead.
    pub max_age_ms: i64,
    /// The first backoff (ms); each further one doubles.
    pub base_ms: i64,
    /// The longest backoff (ms).
    pub cap_ms: i64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 12,
            max_age_ms: 3 * 86_400_000,
            base_ms: 1_000,
            cap_ms: 600_000,
        }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempts + 1`: exponential from `base_ms`, capped, with a
    /// jitter of up to ±25% derived from the delivery's key (so retries of many deliveries
    /// spread out, and one delivery's schedule is reproducible).
    pub fn backoff(&self, id: &str, attempts: u32) -> i64 {
        let exp = self
            .base_ms
            .saturating_mul(1i64 << attempts.saturating_sub(1).min(30))
            .min(self.cap_ms)
            .max(1);
        let digest = Sha256::digest(format!("{id}/{attempts}").as_bytes());
        let unit = f64::from(u16::from_be_bytes([digest[0], digest[1]])) / f64::from(u16::MAX);
        let factor = 0.75 + unit * 0.5;
        ((exp as f64) * factor).round() as i64
    }
}

/// The outcome of one push attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// The vendor answered 2xx.
    Delivered,
    /// It did not (or could not be reached); why.
    Failed(String),
    /// The gateway refused to send it: the clause and why.
    Refused {
        /// The clause.
        clause: String,
        /// Why.
        reason: String,
    },
}

/// A delivery after one push attempt at `now` (ms). Only a pending delivery changes.
pub fn attempted(entry: &Entry, attempt: &Attempt, now: i64, retry: &RetryPolicy) -> Entry {
    let mut e = entry.clone();
    if e.state != State::Pending {
        return e;
    }
    e.updated_at = now;
    e.claim = None;
    match attempt {
        Attempt::Delivered => {
            e.attempts += 1;
            e.state = State::Delivered;
            e.delivered_at = Some(now);
            e.last_error = None;
            return settle(e);
        }
        Attempt::Failed(why) => {
            e.attempts += 1;
            e.last_error = Some(why.clone());
            let next = now.saturating_add(retry.backoff(&e.id, e.attempts));
            if e.attempts >= retry.max_attempts
                || next.saturating_sub(e.created_at) > retry.max_age_ms
            {
                e.state = State::Dead;
            } else {
                e.next_at = next;
            }
        }
        Attempt::Refused { clause, reason } => {
            e.state = State::Refused;
            e.clause = clause.clone();
            e.last_error = Some(reason.clone());
            return settle(e);
        }
    }
    e
}

/// A dead delivery put back in the queue at `now`, with its attempts reset; `None` for any
/// other state.
pub fn redriven(entry: &Entry, now: i64) -> Option<Entry> {
    (entry.state == State::Dead).then(|| Entry {
        state: State::Pending,
        attempts: 0,
        next_at: now,
        updated_at: now,
        claim: None,
        ..entry.clone()
    })
}

/// A pending pulled delivery acknowledged by its vendor at `now`; `None` for any other.
pub fn acknowledged(entry: &Entry, now: i64) -> Option<Entry> {
    (entry.state == State::Pending && entry.mode == Mode::Pull).then(|| {
        settle(Entry {
            state: State::Delivered,
            delivered_at: Some(now),
            updated_at: now,
            claim: None,
            ..entry.clone()
        })
    })
}

/// A pending delivery cancelled at `now`; `None` for any other.
pub fn cancelled(entry: &Entry, now: i64) -> Option<Entry> {
    (entry.state == State::Pending).then(|| {
        settle(Entry {
            state: State::Cancelled,
            updated_at: now,
            claim: None,
            ..entry.clone()
        })
    })
}

/// Whether the push worker should pick the entry up (from the due index).
pub fn is_queued(entry: &Entry) -> bool {
    entry.state == State::Pending && entry.mode == Mode::Push
}

/// When a queued delivery may next be claimed (ms): its next attempt's due time, or the end
/// of the lease of the worker that holds it, whichever is later. The due index is keyed by
/// it.
pub fn due_at(entry: &Entry) -> i64 {
    entry
        .claim
        .as_ref()
        .map_or(entry.next_at, |c| c.until.max(entry.next_at))
}

/// A queued delivery due at `now` claimed by worker `by` for `lease_ms`; `None` when it is
/// not queued or not due (its next attempt is later, or another worker's lease still runs).
pub fn claimed(entry: &Entry, by: &str, now: i64, lease_ms: i64) -> Option<Entry> {
    (is_queued(entry) && due_at(entry) <= now).then(|| Entry {
        claim: Some(Claim {
            by: by.to_string(),
            until: now.saturating_add(lease_ms.max(1)),
        }),
        ..entry.clone()
    })
}

/// Whether the outcome of an attempt by worker `by` is stale: another worker has claimed the
/// delivery since (`by`'s lease ran out), and only a delivery to the vendor is news to it.
pub fn is_stale(entry: &Entry, by: &str, attempt: &Attempt) -> bool {
    entry.claim.as_ref().is_some_and(|c| c.by != by) && *attempt != Attempt::Delivered
}

/// Someone who received a record's data: a delivery or a disclosure.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    /// When (ms since the epoch).
    pub at: i64,
    /// Who: `subprocessor:ID`.
    pub who: String,
    /// `delivery` or `disclosure`.
    pub via: String,
    /// The field paths received (JSON Pointers).
    pub paths: Vec<String>,
    /// The clause that permitted it.
    pub clause: String,
    /// For a delivery: its idempotency key and endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<String>,
    /// For a disclosure: the purpose named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
}

pub use crate::record::leaves;

#[cfg(test)]
mod tests;
