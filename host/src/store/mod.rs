//! The store: records, the index by subject, the retention schedule and the audit log, in
//! one redb database.
//!
//! All writes go through one writer thread that group-commits: it takes every write waiting
//! in its queue, applies them in one durable transaction, and only then acknowledges each.
//! A record, its index entries, its expiries and its audit entry are always in the same
//! transaction. Reads use redb's MVCC read transactions and never wait for the writer.

pub mod audit;
mod outbox;
pub mod tables;
mod writer;

use std::sync::Arc;
use std::thread::JoinHandle;

use anyhow::{Context as _, Result};
use cap_std::fs::{Dir, OpenOptions};
use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata};
use tokio::sync::{mpsc, oneshot};

pub use audit::{About, AuditDecision, AuditEntry, subject_digest};
pub use outbox::Filter as OutboxFilter;
use tables::{AUDIT, META, RECORDS, SUBJECTS};

use crate::metrics::Metrics;
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

/// Fills `tenant_records` from `records` when it is empty and `records` is not: a database
/// written before the table existed, or restored from a backup without it.
fn backfill_tenant_records(txn: &redb::WriteTransaction) -> Result<()> {
    #[derive(serde::Deserialize)]
    struct Owner {
        tenant: String,
    }
    let mut index = txn.open_table(tables::TENANT_RECORDS)?;
    if !index.is_empty()? {
        return Ok(());
    }
    let records = txn.open_table(RECORDS)?;
    let mut n = 0u64;
    for entry in records.iter()? {
        let (id, bytes) = entry?;
        let owner: Owner =
            serde_json::from_slice(bytes.value()).context("decoding a stored record")?;
        index.insert((owner.tenant.as_str(), id.value()), ())?;
        n += 1;
    }
    if n > 0 {
        tracing::info!(records = n, "indexed the stored records by tenant");
    }
    Ok(())
}

/// The records named by an index lookup, oldest first.
fn records_of(
    txn: &redb::ReadTransaction,
    ids: redb::MultimapValue<'_, &'static str>,
) -> Result<Vec<StoredRecord>> {
    let table = txn.open_table(RECORDS)?;
    let mut out = Vec::new();
    for id in ids {
        let id = id?;
        if let Some(bytes) = table.get(id.value())? {
            out.push(serde_json::from_slice::<StoredRecord>(bytes.value())?);
        }
    }
    out.sort_by(|a, b| {
        a.created_at
            .cmp(&b.created_at)
            .then_with(|| a.id.cmp(&b.id))
    });
    Ok(out)
}

/// A record ready to be written: its encoding and what the writer needs to index it.
#[derive(Debug)]
pub struct PutRecord {
    id: String,
    tenant: String,
    kind: String,
    subject: String,
    revision: u64,
    expiries: Vec<crate::record::Expiry>,
    index: Vec<crate::record::IndexEntry>,
    bytes: Vec<u8>,
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
    /// The result of a push attempt of delivery `id` at `now` (ms).
    Attempted {
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

struct Job {
    ops: Vec<Op>,
    reply: oneshot::Sender<Result<Vec<OpResult>, StoreError>>,
}

/// Handle to the store. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    db: Arc<Database>,
    jobs: mpsc::Sender<Job>,
    writer: Arc<std::sync::Mutex<Option<JoinHandle<()>>>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

impl Store {
    /// The page cache of a store opened with [`Store::open`].
    pub const DEFAULT_CACHE: usize = 128 << 20;

    /// Opens (or creates) the database in `data` and starts the writer.
    pub fn open(data: &Dir, metrics: Arc<Metrics>) -> Result<Self> {
        Self::open_with_cache(data, metrics, Self::DEFAULT_CACHE)
    }

    /// [`Store::open`] with a page cache of `cache` bytes: redb keeps up to that much of the
    /// file in memory (its own default, 1 GiB, would let the gateway's memory grow with the
    /// data written).
    pub fn open_with_cache(data: &Dir, metrics: Arc<Metrics>, cache: usize) -> Result<Self> {
        let file = data
            .open_with(
                tables::FILE,
                OpenOptions::new().read(true).write(true).create(true),
            )
            .with_context(|| format!("opening {}", tables::FILE))?
            .into_std();
        let db = Database::builder()
            .set_cache_size(cache)
            .create_with_backend(redb::backends::FileBackend::new(file)?)
            .with_context(|| format!("opening the redb database {}", tables::FILE))?;
        let txn = db.begin_write()?;
        {
            let mut meta = txn.open_table(META)?;
            let format = meta.get("format")?.map(|v| v.value().to_string());
            match format.as_deref() {
                None => {
                    meta.insert("format", tables::FORMAT)?;
                }
                Some(tables::FORMAT) => {}
                Some(other) => anyhow::bail!(
                    "{} has store format {other}; this gateway reads format {}",
                    tables::FILE,
                    tables::FORMAT
                ),
            }
            txn.open_table(RECORDS)?;
            txn.open_multimap_table(SUBJECTS)?;
            txn.open_table(tables::EXPIRIES)?;
            txn.open_multimap_table(tables::FIELDS)?;
            txn.open_table(AUDIT)?;
            txn.open_table(tables::COMPONENTS)?;
            txn.open_table(tables::PLUGINS)?;
            txn.open_table(tables::BUNDLES)?;
            txn.open_table(tables::ACTIVATIONS)?;
            txn.open_table(tables::NOTICES)?;
            txn.open_table(tables::OUTBOX)?;
            txn.open_table(tables::OUTBOX_KEYS)?;
            txn.open_table(tables::OUTBOX_DUE)?;
            txn.open_table(tables::OUTBOX_OPEN)?;
            txn.open_table(tables::FEED)?;
            txn.open_table(tables::SUBJECT_RIGHTS)?;
            txn.open_table(tables::OUTBOX_BY_RECORD)?;
            txn.open_table(tables::RECIPIENTS)?;
            txn.open_table(tables::TOKENS)?;
            backfill_tenant_records(&txn)?;
        }
        txn.commit()?;
        let db = Arc::new(db);
        let (tx, rx) = mpsc::channel(4096);
        let writer_db = db.clone();
        let handle = std::thread::Builder::new()
            .name("sluice-writer".into())
            .spawn(move || writer::run(&writer_db, rx, &metrics))
            .context("starting the store writer")?;
        Ok(Self {
            db,
            jobs: tx,
            writer: Arc::new(std::sync::Mutex::new(Some(handle))),
        })
    }

    /// Opens the database in `data` for a command run while the gateway is stopped (a
    /// running gateway holds the database's lock: the error then says `in_use`); `create`
    /// makes an empty one when there is none.
    pub fn open_stopped(data: &Dir, create: bool, in_use: &str) -> Result<Database> {
        let file = data
            .open_with(
                tables::FILE,
                OpenOptions::new().read(true).write(true).create(create),
            )
            .with_context(|| format!("opening {}", tables::FILE))?
            .into_std();
        let in_use = || format!("{} is in use: {in_use}", tables::FILE);
        let backend = redb::backends::FileBackend::new(file).with_context(in_use)?;
        match Database::builder().create_with_backend(backend) {
            Ok(db) => Ok(db),
            Err(redb::DatabaseError::DatabaseAlreadyOpen) => Err(anyhow::anyhow!(in_use())),
            Err(e) => Err(e).with_context(|| format!("opening the redb database {}", tables::FILE)),
        }
    }

    /// Checks the audit log's hash chain of the database in `data` (a stopped gateway's data
    /// directory; a running gateway holds the database's lock).
    pub fn verify_audit(data: &Dir) -> Result<audit::Verdict> {
        let db = Self::open_stopped(data, false, "stop the gateway first")?;
        audit::verify(&db)
    }

    /// Applies `ops` in one durable transaction (possibly shared with other callers' ops)
    /// and returns once it is on disk.
    pub async fn write(&self, ops: Vec<Op>) -> Result<Vec<OpResult>, StoreError> {
        let (reply, rx) = oneshot::channel();
        self.jobs
            .send(Job { ops, reply })
            .await
            .map_err(|_| StoreError("the store is closed".into()))?;
        rx.await
            .map_err(|_| StoreError("the store writer stopped".into()))?
    }

    /// The database, for the registry's transactions (redb serializes them with the
    /// writer's).
    pub(crate) fn db(&self) -> &Arc<Database> {
        &self.db
    }

    /// The standing requests of the subject with digest `subject`.
    pub fn rights(&self, subject: &str) -> Result<crate::rights::Rights> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(tables::SUBJECT_RIGHTS)?;
        Ok(match table.get(subject)? {
            Some(v) => serde_json::from_slice(v.value())?,
            None => crate::rights::Rights::default(),
        })
    }

    /// A metadata value.
    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(META)?;
        Ok(table.get(key)?.map(|v| v.value().to_string()))
    }

    /// Every metadata value whose key is `key` or starts with `key.`.
    pub fn meta_family(&self, key: &str) -> Result<Vec<(String, String)>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(META)?;
        let mut out = Vec::new();
        for entry in table.range(key..)? {
            let (k, v) = entry?;
            let k = k.value();
            if !k.starts_with(key) {
                break;
            }
            if k == key || k[key.len()..].starts_with('.') {
                out.push((k.to_string(), v.value().to_string()));
            }
        }
        Ok(out)
    }

    /// Up to `limit` records with ids after `after` (exclusive), in id order.
    pub fn records_after(&self, after: &str, limit: usize) -> Result<Vec<StoredRecord>> {
        use std::ops::Bound;
        let txn = self.db.begin_read()?;
        let table = txn.open_table(RECORDS)?;
        let range: (Bound<&str>, Bound<&str>) = if after.is_empty() {
            (Bound::Unbounded, Bound::Unbounded)
        } else {
            (Bound::Excluded(after), Bound::Unbounded)
        };
        let mut out = Vec::new();
        for entry in table.range::<&str>(range)?.take(limit) {
            let (_, v) = entry?;
            out.push(serde_json::from_slice(v.value()).context("decoding a stored record")?);
        }
        Ok(out)
    }

    /// Up to `limit` records of `tenant` with ids after `after` (exclusive), in id order.
    /// Walks the tenant's own index only: other tenants' records cost nothing.
    pub fn tenant_records_after(
        &self,
        tenant: &str,
        after: &str,
        limit: usize,
    ) -> Result<Vec<StoredRecord>> {
        use std::ops::Bound;
        let txn = self.db.begin_read()?;
        let index = txn.open_table(tables::TENANT_RECORDS)?;
        let records = txn.open_table(RECORDS)?;
        let start = if after.is_empty() {
            Bound::Included((tenant, ""))
        } else {
            Bound::Excluded((tenant, after))
        };
        let mut out = Vec::new();
        for entry in index.range::<(&str, &str)>((start, Bound::Unbounded))? {
            if out.len() >= limit {
                break;
            }
            let (key, _) = entry?;
            let (owner, id) = key.value();
            if owner != tenant {
                break;
            }
            let Some(bytes) = records.get(id)? else {
                continue;
            };
            let record: StoredRecord =
                serde_json::from_slice(bytes.value()).context("decoding a stored record")?;
            if record.tenant == tenant {
                out.push(record);
            }
        }
        Ok(out)
    }

    /// How many records `tenant` has.
    pub fn tenant_count(&self, tenant: &str) -> Result<u64> {
        let txn = self.db.begin_read()?;
        let index = txn.open_table(tables::TENANT_RECORDS)?;
        let mut n = 0;
        for entry in index.range((tenant, "")..)? {
            if entry?.0.value().0 != tenant {
                break;
            }
            n += 1;
        }
        Ok(n)
    }

    /// The record `id`, if it exists.
    pub fn get(&self, id: &str) -> Result<Option<StoredRecord>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(RECORDS)?;
        let Some(bytes) = table.get(id)? else {
            return Ok(None);
        };
        Ok(Some(
            serde_json::from_slice(bytes.value()).context("decoding a stored record")?,
        ))
    }

    /// The records of `subject` in `tenant`, oldest first.
    pub fn by_subject(&self, tenant: &str, subject: &str) -> Result<Vec<StoredRecord>> {
        let txn = self.db.begin_read()?;
        let index = txn.open_multimap_table(SUBJECTS)?;
        records_of(&txn, index.get((tenant, subject))?)
    }

    /// The records of `kind` in `tenant` whose searchable field `path` equals `value`.
    pub fn search(
        &self,
        tenant: &str,
        kind: &str,
        path: &str,
        value: &str,
    ) -> Result<Vec<StoredRecord>> {
        let txn = self.db.begin_read()?;
        let index = txn.open_multimap_table(tables::FIELDS)?;
        records_of(&txn, index.get((tenant, kind, path, value))?)
    }

    /// The audit log from `after` (exclusive), at most `limit` entries.
    pub fn audit(&self, after: u64, limit: usize) -> Result<Vec<AuditEntry>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(AUDIT)?;
        let mut out = Vec::new();
        for entry in table.range(after.saturating_add(1)..)?.take(limit) {
            let (_, v) = entry?;
            out.push(serde_json::from_slice(v.value())?);
        }
        Ok(out)
    }

    /// How many records are stored.
    pub fn count(&self) -> Result<u64> {
        let txn = self.db.begin_read()?;
        Ok(txn.open_table(RECORDS)?.len()?)
    }

    /// The retention schedule: `(due, record id, path)` in due order.
    pub fn expiries(&self) -> Result<Vec<(i64, String, String)>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(tables::EXPIRIES)?;
        let mut out = Vec::new();
        for entry in table.iter()? {
            let (k, _) = entry?;
            let (due, id, path) = k.value();
            out.push((due, id.to_string(), path.to_string()));
        }
        Ok(out)
    }

    /// Stops the writer after the queued writes, and waits for it.
    pub fn close(self) {
        let Self { db, jobs, writer } = self;
        drop(jobs);
        drop(db);
        let handle = writer.lock().map(|mut h| h.take()).unwrap_or(None);
        if let Some(handle) = handle {
            // Other clones of the sender keep the writer alive until they drop too.
            if Arc::strong_count(&writer) == 1 {
                let _ = handle.join();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Expiry;

    fn open(dir: &std::path::Path) -> Store {
        let data = Dir::open_ambient_dir(dir, cap_std::ambient_authority()).unwrap();
        Store::open(&data, Arc::new(Metrics::new())).unwrap()
    }

    fn record(id: &str, tenant: &str, due: Option<i64>) -> StoredRecord {
        StoredRecord {
            id: id.into(),
            tenant: tenant.into(),
            kind: "k".into(),
            subject: format!("s-{id}"),
            fields: serde_json::json!({"a": 1}),
            created_at: 1,
            updated_at: 1,
            revision: 1,
            bundle: "b@1".into(),
            plugins: vec![],
            decisions: vec![],
            expiries: due
                .map(|due| Expiry {
                    path: String::new(),
                    due,
                    clause: "1".into(),
                    reason: String::new(),
                    plugin: "r".into(),
                })
                .into_iter()
                .collect(),
            deliveries: vec![],
            retention_bundle: None,
            deadlines: Vec::new(),
            index: vec![],
        }
    }

    fn put(record: &StoredRecord, expect: Option<u64>) -> Op {
        Op::Put {
            record: Box::new(PutRecord::new(record).unwrap()),
            expect,
            audit: AuditEntry::admin("test", 1, "test", None, serde_json::json!({})),
        }
    }

    fn ids(store: &Store, tenant: &str, after: &str, limit: usize) -> Vec<String> {
        store
            .tenant_records_after(tenant, after, limit)
            .unwrap()
            .into_iter()
            .map(|r| r.id)
            .collect()
    }

    #[tokio::test]
    async fn the_writer_keeps_each_tenants_records_indexed() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        let ops = vec![
            put(&record("r1", "acme", None), None),
            put(&record("r2", "beta", None), None),
            put(&record("r3", "acme", Some(10)), None),
            put(&record("r4", "beta", Some(10)), None),
            put(&record("r5", "acme", None), None),
            put(&record("r6", "beta", None), None),
            put(&record("r7", "acme", None), None),
        ];
        store.write(ops).await.unwrap();
        assert_eq!(ids(&store, "acme", "", 10), ["r1", "r3", "r5", "r7"]);
        assert_eq!(ids(&store, "acme", "r1", 2), ["r3", "r5"]);
        assert_eq!(ids(&store, "acme", "r2", 10), ["r3", "r5", "r7"]);
        assert_eq!(ids(&store, "acme", "r7", 10), Vec::<String>::new());
        assert_eq!(ids(&store, "beta", "", 10), ["r2", "r4", "r6"]);
        assert_eq!(ids(&store, "gamma", "", 10), Vec::<String>::new());
        assert_eq!(store.tenant_count("acme").unwrap(), 4);

        // An update is no new record; a delete, a sweep of the whole record and an erasure
        // each remove one.
        let mut r1 = record("r1", "acme", None);
        r1.revision = 2;
        let delete = Op::Delete {
            id: "r5".into(),
            tenant: "acme".into(),
            audit: AuditEntry::admin("test", 1, "test", None, serde_json::json!({})),
        };
        let erase = Op::Erase {
            records: vec![Erasure {
                id: "r6".into(),
                tenant: "beta".into(),
                revision: 1,
                kept: None,
                audit: AuditEntry::admin("test", 1, "test", None, serde_json::json!({})),
            }],
            audit: AuditEntry::admin("test", 1, "test", None, serde_json::json!({})),
        };
        let results = store
            .write(vec![put(&r1, Some(1)), delete, erase])
            .await
            .unwrap();
        assert_eq!(results[0], OpResult::Done(2));
        assert_eq!(results[1], OpResult::Done(1));
        store
            .write(vec![Op::Sweep {
                now: 100,
                limit: 10,
            }])
            .await
            .unwrap();
        assert_eq!(ids(&store, "acme", "", 10), ["r1", "r7"]);
        assert_eq!(ids(&store, "beta", "", 10), ["r2"]);
        store.close();
    }

    #[tokio::test]
    async fn a_database_without_the_tenant_index_gets_it_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(dir.path());
        let ops = vec![
            put(&record("r1", "acme", None), None),
            put(&record("r2", "beta", None), None),
            put(&record("r3", "acme", None), None),
        ];
        store.write(ops).await.unwrap();
        // As written before the index existed.
        let txn = store.db().begin_write().unwrap();
        txn.delete_table(tables::TENANT_RECORDS).unwrap();
        txn.commit().unwrap();
        store.close();

        let store = open(dir.path());
        assert_eq!(ids(&store, "acme", "", 10), ["r1", "r3"]);
        assert_eq!(ids(&store, "beta", "", 10), ["r2"]);
        store.close();
    }
}
