//! The writes the store applies and what they return, in the gateway's own terms: every
//! backend applies a set of [`Op`]s atomically, in one durable transaction.

use anyhow::Result;

use super::AuditEntry;
use crate::record::StoredRecord;

/// A write, applied atomically with the others of its transaction.
#[derive(Debug)]
pub enum Op {
    /// Stores a record: a new one, or a new revision of an existing one.
    Put {
        /// The record, serialized by the caller (off the writer thread).
        record: Box<PutRecord>,
        /// `None` for a new record, else the revision the update was computed from.
        expect: Option<u64>,
        /// The audit entry.
        audit: AuditEntry,
    },
    /// Deletes a record of `tenant`.
    Delete {
        /// Record id.
        id: String,
        /// The tenant that owns it.
        tenant: String,
        /// The audit entry.
        audit: AuditEntry,
    },
    /// Appends an audit entry only (e.g. a rejected write).
    Audit(AuditEntry),
    /// Replaces the retention schedule of record `id` (at `revision`; a record changed
    /// since is left alone, its write computed a schedule of its own).
    Reschedule {
        /// Record id.
        id: String,
        /// The revision the schedule was computed from.
        revision: u64,
        /// The new schedule.
        expiries: Vec<crate::record::Expiry>,
        /// The bundle whose retention rules computed it.
        bundle: String,
        /// The audit entry.
        audit: AuditEntry,
    },
    /// A change of outbox deliveries.
    Outbox(OutboxOp),
    /// Appends the audit entry of a disclosure and adds the audience to the record's
    /// recipients.
    Disclosed {
        /// The audit entry.
        audit: AuditEntry,
        /// Who received what.
        recipient: crate::outbox::Recipient,
    },
    /// Records a subject's standing requests (restriction, objections); while restricted,
    /// its pending deliveries are refused (clause 9).
    SetRights {
        /// The subject digest.
        subject: String,
        /// The rights now in force.
        rights: crate::rights::Rights,
        /// The audit entry.
        audit: AuditEntry,
    },
    /// Erasure of a data subject's records (clause 9), all or nothing: each record is
    /// deleted or reduced to what the policy keeps; every delivery of an erased record is
    /// cancelled if still pending and its payload forgotten. Answers the number of
    /// deliveries cancelled; a record changed since the plan was made answers
    /// [`OpResult::Conflict`] and nothing is applied.
    Erase {
        /// One plan per record.
        records: Vec<Erasure>,
        /// The audit entry of the request.
        audit: AuditEntry,
    },
    /// Sets a metadata value (e.g. the progress of a background job).
    SetMeta {
        /// The key.
        key: String,
        /// The value.
        value: String,
    },
    /// Deletes again what was deleted after a restored backup was taken (see
    /// `crate::forgetting`): the record `id` whole when `paths` is empty, else the fields at
    /// `paths` with every copy of them, as a retention deletion does; with `audit`. A record
    /// that is no longer there answers `NotFound`, a field no longer there is skipped.
    Forget {
        /// The record.
        id: String,
        /// The fields; empty for the whole record.
        paths: Vec<String>,
        /// The audit entry (`restore.reapplied`).
        audit: AuditEntry,
    },
    /// Deletes what is due at `now` (seconds since the epoch), at most `limit` expiries.
    Sweep {
        /// Seconds since the epoch.
        now: i64,
        /// Most expiries handled in this transaction.
        limit: usize,
    },
}

/// What an erasure does to one record.
#[derive(Debug)]
pub struct Erasure {
    /// Record id.
    pub id: String,
    /// Its tenant.
    pub tenant: String,
    /// The revision the plan was made from.
    pub revision: u64,
    /// The record as it remains (the next revision), or `None` to delete it.
    pub kept: Option<Box<PutRecord>>,
    /// The audit entry of the record's erasure.
    pub audit: AuditEntry,
}

/// A record ready to be written: its encoding and what the writer needs to index it.
#[derive(Debug)]
pub struct PutRecord {
    pub(crate) id: String,
    pub(crate) tenant: String,
    pub(crate) kind: String,
    pub(crate) subject: String,
    pub(crate) revision: u64,
    pub(crate) expiries: Vec<crate::record::Expiry>,
    pub(crate) index: Vec<crate::record::IndexEntry>,
    pub(crate) bytes: Vec<u8>,
    /// The deliveries the write causes, enqueued in the same transaction.
    pub deliveries: Vec<crate::outbox::Entry>,
}

impl PutRecord {
    /// Encodes `record`, whose `revision` must be the one that follows the revision the
    /// write expects (1 for a new record).
    pub fn new(record: &StoredRecord) -> Result<Self> {
        let bytes = serde_json::to_vec(record)?;
        Ok(Self {
            id: record.id.clone(),
            tenant: record.tenant.clone(),
            kind: record.kind.clone(),
            subject: record.subject.clone(),
            revision: record.revision,
            expiries: record.expiries.clone(),
            index: record.index.clone(),
            bytes,
            deliveries: Vec::new(),
        })
    }
}

/// A change of outbox deliveries (see [`crate::outbox`] for the transitions).
#[derive(Debug)]
pub enum OutboxOp {
    /// Claims for worker `by`, for `lease_ms`, up to `limit` pushed deliveries due at `now`
    /// (ms), most overdue first, and at most `room` of a vendor's: the entry for the vendor,
    /// else `per_vendor` (see [`crate::outbox::claimed`]). Answers [`OpResult::Claimed`]. A
    /// claimed delivery is not due again until its attempt is recorded or the lease runs
    /// out, so the workers of every gateway on one store share the work, one attempt at a
    /// time per delivery.
    Claim {
        /// The worker (its gateway's writer id).
        by: String,
        /// When (ms).
        now: i64,
        /// How long the claim holds (ms).
        lease_ms: i64,
        /// Most deliveries claimed.
        limit: usize,
        /// Most deliveries claimed of a vendor not in `room`.
        per_vendor: usize,
        /// Per vendor with pushes in flight: how many more it may take.
        room: Vec<(String, usize)>,
    },
    /// The result of a push attempt of delivery `id` at `now` (ms) by worker `by`. The outcome
    /// of a worker whose claim another worker has taken over since is stale and changes
    /// nothing, unless it delivered (see [`crate::outbox::is_stale`]).
    Attempted {
        /// The worker that attempted it.
        by: String,
        /// The idempotency key.
        id: String,
        /// What happened.
        attempt: crate::outbox::Attempt,
        /// When (ms).
        now: i64,
        /// The retry policy in force.
        retry: crate::outbox::RetryPolicy,
    },
    /// Puts dead delivery `id` back in the queue.
    Redrive {
        /// The idempotency key.
        id: String,
        /// When (ms).
        now: i64,
        /// Who asked.
        actor: String,
    },
    /// The feed served `vendor` a page ending at `cursor`: raises the vendor's served mark
    /// to `cursor` (never lowers it).
    Served {
        /// The vendor.
        vendor: String,
        /// The last cursor of the page served.
        cursor: u64,
    },
    /// `vendor` acknowledges its feed up to `cursor` (inclusive): its pulled deliveries
    /// after the acknowledged cursor up to there are delivered. Refused, changing nothing,
    /// with [`OpResult::AckOutOfRange`] when `cursor` is behind the acknowledged cursor or
    /// beyond the vendor's served mark.
    Ack {
        /// The vendor.
        vendor: String,
        /// The last sequence number received.
        cursor: u64,
        /// When (ms).
        now: i64,
    },
    /// Cancels every pending delivery of record `record`.
    Cancel {
        /// The record id.
        record: String,
        /// When (ms).
        now: i64,
    },
}

/// What became of one [`Op`].
#[derive(Debug, Clone, PartialEq)]
pub enum OpResult {
    /// Applied; for a put, the stored revision.
    Done(u64),
    /// No such record (for this tenant).
    NotFound,
    /// The record changed since it was read; read again and retry.
    Conflict,
    /// The deletions a sweep made.
    Swept(Vec<Swept>),
    /// The delivery as it now stands (for an attempt or a redrive).
    Delivery(Box<crate::outbox::Entry>),
    /// The deliveries claimed, each with its claim.
    Claimed(Vec<crate::outbox::Entry>),
    /// An acknowledgement outside the range the vendor may acknowledge; nothing applied.
    AckOutOfRange(FeedMarks),
}

/// Where a vendor's feed stands (per vendor: a feed gathers the deliveries of every
/// tenant, and vendor tokens are bound to no tenant). Both marks live in table `meta` and
/// change only through the writer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FeedMarks {
    /// The cursor the vendor last acknowledged (0: none).
    pub acknowledged: u64,
    /// The highest cursor the feed served the vendor: the end of the furthest page
    /// `GET /v1/vendor/feed` returned. An acknowledgement may not go beyond it. A database
    /// written before the mark existed counts its acknowledged cursor as served.
    pub served: u64,
}

/// One deletion made by the retention sweeper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Swept {
    /// Record id.
    pub id: String,
    /// The field deleted; `""` for the whole record.
    pub path: String,
    /// The clause.
    pub clause: String,
}

/// Why a write failed: the storage itself (I/O, a full disk, a closed store).
#[derive(Debug, thiserror::Error)]
#[error("storage failure: {0}")]
pub struct StoreError(pub String);
