//! [`Store`], [`Db`] and [`Registry`]: the gateway's handles to its store, whichever backend
//! keeps it. Each is an enum with one variant per backend, each call passed to the
//! backend's own.

use std::sync::Arc;

use anyhow::Result;
use cap_std::fs::Dir;

use super::redb;
use super::{AuditEntry, FeedMarks, Op, OpResult, OutboxFilter, StoreError, Verdict};
use crate::auth::TokenRecord;
use crate::bundle::package::{Components, Package};
use crate::metrics::Metrics;
use crate::outbox::{Entry, Recipient};
use crate::record::StoredRecord;
use crate::registry::{Activation, BundleEntry, Notice, PluginInfo, Put, View};
use crate::rights::Rights;

/// The gateway's handle to its store: every write and read of the services goes through it.
/// One variant per backend; the embedded database of one gateway is the only one so far.
/// Cheap to clone.
#[derive(Clone, Debug)]
pub enum Store {
    /// The embedded redb database in the data directory (`<data-dir>/sluice.redb`).
    Redb(redb::Store),
}

/// Calls answered by every backend: the same signature, passed to the backend's own.
macro_rules! delegate {
    ($($(#[$doc:meta])* fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty;)*) => {
        $(
            $(#[$doc])*
            pub fn $name(&self $(, $arg: $ty)*) -> $ret {
                match self {
                    Self::Redb(inner) => inner.$name($($arg),*),
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
        redb::Store::open_stopped(data, create, in_use).map(Db::Redb)
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
            Self::Redb(store) => Db::Redb(store.db()),
        }
    }

    /// The backend's name, as `GET /healthz` reports it.
    pub fn backend(&self) -> &'static str {
        match self {
            Self::Redb(_) => "redb",
        }
    }

    /// Stops the writer once the queued writes are done, and closes the database.
    pub fn close(self) {
        match self {
            Self::Redb(store) => store.close(),
        }
    }

    delegate! {
        /// This process's writer id: the chain its audit entries go to, and the owner of the
        /// delivery claims its workers take.
        fn writer(&self) -> &str;
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

/// The store's database without its writer: shared with a running [`Store`] for the
/// registry's and the tokens' transactions, or opened by a command. Cheap to clone.
#[derive(Clone, Debug)]
pub enum Db {
    /// The embedded redb database.
    Redb(redb::Db),
}

impl Db {
    /// The policy registry kept in this database.
    pub fn registry(&self) -> Registry {
        match self {
            Self::Redb(db) => Registry::Redb(db.registry()),
        }
    }

    /// A consistent view of the whole database as of now, for a backup taken while the
    /// gateway runs.
    pub fn snapshot(&self) -> Result<redb::Snapshot> {
        match self {
            Self::Redb(db) => db.snapshot(),
        }
    }

    /// Revokes the token with id `id` at `now_ms`, with the audit entry `entry` makes of its
    /// record, in one durable transaction; `None` if there is no such token.
    pub fn revoke_token(
        &self,
        id: &str,
        now_ms: i64,
        entry: impl FnOnce(&TokenRecord) -> AuditEntry,
    ) -> Result<Option<TokenRecord>> {
        match self {
            Self::Redb(db) => db.revoke_token(id, now_ms, entry),
        }
    }

    delegate! {
        /// The writer id under which this process's audit entries are chained.
        fn writer(&self) -> &str;
        /// Checks every audit chain.
        fn verify_audit(&self) -> Result<Verdict>;
        /// Every token issued, with the hash it is stored under.
        fn tokens(&self) -> Result<Vec<(String, TokenRecord)>>;
        /// Stores a new token's `record` under `hash`, with its audit entry, in one durable
        /// transaction.
        fn put_token(&self, hash: &str, record: &TokenRecord, entry: AuditEntry) -> Result<()>;
    }
}

/// The policy registry: plugin components, bundles, activations and notices, each change
/// with its audit entry. All calls block; callers run them off the async workers.
#[derive(Clone, Debug)]
pub enum Registry {
    /// Kept in the embedded redb database.
    Redb(redb::Registry),
}

impl Registry {
    delegate! {
        /// Stores a plugin component and its metadata, with `entry`, unless one with the
        /// same digest is stored already.
        fn put_plugin(&self, info: &PluginInfo, bytes: &[u8], entry: AuditEntry) -> Result<Put>;
        /// The plugin with `digest`.
        fn plugin(&self, digest: &str) -> Result<Option<PluginInfo>>;
        /// Every plugin.
        fn plugins(&self) -> Result<Vec<PluginInfo>>;
        /// The components `package` names.
        fn components(&self, package: &Package) -> Result<Components>;
        /// Stores a bundle, with `entry`, unless it is stored already.
        fn put_bundle(&self, bundle: &BundleEntry, entry: AuditEntry) -> Result<Put>;
        /// The bundle `id` (`name@version`).
        fn bundle(&self, id: &str) -> Result<Option<BundleEntry>>;
        /// Every bundle.
        fn bundles(&self) -> Result<Vec<BundleEntry>>;
        /// Every activation, oldest first.
        fn activations(&self) -> Result<Vec<Activation>>;
        /// The activations `view` may see.
        fn activations_for(&self, view: View<'_>) -> Result<Vec<Activation>>;
        /// The default's active bundle.
        fn active(&self) -> Result<Option<Activation>>;
        /// Each tenant's own active bundle.
        fn tenant_actives(&self) -> Result<std::collections::BTreeMap<String, Activation>>;
        /// The subprocessor ids of the active bundles' registers, if any bundle is active.
        fn active_register_ids(&self) -> Result<Option<std::collections::BTreeSet<String>>>;
        /// The policy change notices after `after` that `view` may see.
        fn notices(&self, after: u64, view: View<'_>) -> Result<Vec<Notice>>;
        /// Records an activation (and its notice, if any) with `entry`, in one transaction;
        /// fills in the sequence numbers.
        fn record_activation(&self, activation: Activation, notice: Option<Notice>, entry: AuditEntry) -> Result<Activation>;
        /// Appends an audit entry of the registry's own.
        fn audit(&self, entry: AuditEntry) -> Result<()>;
    }
}
