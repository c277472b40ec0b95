//! [`Store`]: the gateway's handle to its store, whichever backend keeps it.

use std::sync::Arc;

use anyhow::Result;
use cap_std::fs::Dir;

use super::redb::{self, Db};
use super::{AuditEntry, FeedMarks, Op, OpResult, OutboxFilter, StoreError, Verdict};
use crate::metrics::Metrics;
use crate::outbox::{Entry, Recipient};
use crate::record::StoredRecord;
use crate::rights::Rights;

/// The gateway's handle to its store: every write and read of the services goes through it.
/// One variant per backend; the embedded database of one gateway is the only one so far.
/// Cheap to clone.
#[derive(Clone, Debug)]
pub enum Store {
    /// The embedded redb database in the data directory (`<data-dir>/sluice.redb`).
    Redb(redb::Store),
}

/// Reads answered by every backend: the same signature, passed to the backend's own.
macro_rules! reads {
    ($($(#[$doc:meta])* fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty;)*) => {
        $(
            $(#[$doc])*
            pub fn $name(&self $(, $arg: $ty)*) -> $ret {
                match self {
                    Self::Redb(store) => store.$name($($arg),*),
                }
            }
        )*
    };
}

impl Store {
    /// The page cache of a store opened with [`Store::open`].
    pub const DEFAULT_CACHE: usize = redb::Store::DEFAULT_CACHE;

    /// Opens (or creates) the embedded database in `data` and starts its writer.
    pub fn open(data: &Dir, metrics: Arc<Metrics>) -> Result<Self> {
        redb::Store::open(data, metrics).map(Self::Redb)
    }

    /// [`Store::open`] with a page cache of `cache` bytes.
    pub fn open_with_cache(data: &Dir, metrics: Arc<Metrics>, cache: usize) -> Result<Self> {
        redb::Store::open_with_cache(data, metrics, cache).map(Self::Redb)
    }

    /// Opens the embedded database in `data` for a command run while the gateway is stopped
    /// (see [`redb::Store::open_stopped`]).
    pub fn open_stopped(data: &Dir, create: bool, in_use: &str) -> Result<Db> {
        redb::Store::open_stopped(data, create, in_use)
    }

    /// Checks the audit log's hash chain of the stopped gateway's database in `data`.
    pub fn verify_audit(data: &Dir) -> Result<Verdict> {
        redb::Store::verify_audit(data)
    }

    /// Applies `ops` in one durable transaction (possibly shared with other callers' ops)
    /// and returns once it is durable.
    pub async fn write(&self, ops: Vec<Op>) -> Result<Vec<OpResult>, StoreError> {
        match self {
            Self::Redb(store) => store.write(ops).await,
        }
    }

    /// The database, for the registry's and the tokens' transactions.
    pub fn db(&self) -> Db {
        match self {
            Self::Redb(store) => store.db(),
        }
    }

    /// Stops the writer once the queued writes are done, and closes the database.
    pub fn close(self) {
        match self {
            Self::Redb(store) => store.close(),
        }
    }

    reads! {
        /// The standing requests of the subject with digest `subject`.
        fn rights(&self, subject: &str) -> Result<Rights>;
        /// The metadata value of `key`.
        fn meta(&self, key: &str) -> Result<Option<String>>;
        /// Every metadata entry whose key is `key` or starts with `key.`.
        fn meta_family(&self, key: &str) -> Result<Vec<(String, String)>>;
        /// Up to `limit` records with ids after `after`, in id order.
        fn records_after(&self, after: &str, limit: usize) -> Result<Vec<StoredRecord>>;
        /// Up to `limit` records of `tenant` with ids after `after`, in id order.
        fn tenant_records_after(&self, tenant: &str, after: &str, limit: usize) -> Result<Vec<StoredRecord>>;
        /// How many records `tenant` has.
        fn tenant_count(&self, tenant: &str) -> Result<u64>;
        /// The record `id`.
        fn get(&self, id: &str) -> Result<Option<StoredRecord>>;
        /// The records of `subject` in `tenant`.
        fn by_subject(&self, tenant: &str, subject: &str) -> Result<Vec<StoredRecord>>;
        /// The records of `kind` in `tenant` whose searchable field `path` equals `value`.
        fn search(&self, tenant: &str, kind: &str, path: &str, value: &str) -> Result<Vec<StoredRecord>>;
        /// Up to `limit` audit entries after sequence number `after`.
        fn audit(&self, after: u64, limit: usize) -> Result<Vec<AuditEntry>>;
        /// How many records there are.
        fn count(&self) -> Result<u64>;
        /// Every scheduled deletion: due time, record id, path.
        fn expiries(&self) -> Result<Vec<(i64, String, String)>>;
        /// Up to `limit` pushed deliveries due at `now` (ms), most overdue first.
        fn outbox_due(&self, now: i64, limit: usize) -> Result<Vec<Entry>>;
        /// The delivery with idempotency key `id`.
        fn delivery(&self, id: &str) -> Result<Option<Entry>>;
        /// Up to `limit` deliveries matching `filter` after sequence number `after`.
        fn deliveries(&self, filter: &OutboxFilter, after: u64, limit: usize) -> Result<Vec<Entry>>;
        /// The pending deliveries, and the enqueue time (ms) of the oldest pending one.
        fn outbox_depth(&self) -> Result<(u64, Option<i64>)>;
        /// Where `vendor`'s feed stands: the cursor it last acknowledged, and the highest one it
        /// was served.
        fn feed_marks(&self, vendor: &str) -> Result<FeedMarks>;
        /// Everyone who received data of record `id`, oldest first.
        fn recipients(&self, id: &str) -> Result<Vec<Recipient>>;
    }
}
