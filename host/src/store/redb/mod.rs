//! The embedded store: records, the index by subject, the retention schedule, the audit log,
//! the registry, the tokens and the outbox, in one redb database.
//!
//! All writes go through one writer thread that group-commits: it takes every write waiting
//! in its queue, applies them in one durable transaction, and only then acknowledges each.
//! A record, its index entries, its expiries and its audit entry are always in the same
//! transaction. Reads use redb's MVCC read transactions and never wait for the writer.

pub(crate) mod audit;
pub(crate) mod backup;
mod codec;
pub(crate) mod forget;
mod outbox;
mod registry;
mod tokens;
pub use outbox::Filter as OutboxFilter;
pub use registry::Registry;
pub mod tables;
mod writer;

use std::sync::Arc;
use std::thread::JoinHandle;

use anyhow::{Context as _, Result};
use cap_std::fs::{Dir, OpenOptions};
use redb::{Database, ReadableDatabase, ReadableTable, ReadableTableMetadata};
use tokio::sync::{mpsc, oneshot};

use tables::{AUDIT, META, RECORDS, SUBJECTS};

use super::{AuditEntry, Op, OpResult, StoreError, Verdict};
use crate::metrics::Metrics;
use crate::record::StoredRecord;

struct Job {
    ops: Vec<Op>,
    reply: oneshot::Sender<Result<Vec<OpResult>, StoreError>>,
}

/// An open database without the store's writer: shared with a running [`Store`] (see
/// [`Store::db`]) for the registry's and the tokens' transactions, or opened by a command
/// while the gateway is stopped ([`Store::open_stopped`]). Its audit entries go to the
/// chain of the process's writer id. Cheap to clone.
#[derive(Clone)]
pub struct Db(Arc<Database>, Arc<str>);

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db").finish_non_exhaustive()
    }
}

impl Db {
    /// The redb database itself, for the backup's snapshot of every table.
    pub(crate) fn raw(&self) -> &Arc<Database> {
        &self.0
    }

    /// The writer id under which this process's audit entries are chained.
    pub fn writer(&self) -> &str {
        &self.1
    }

    /// Appends `entry` to the audit log in `txn`, on this process's chain.
    pub(crate) fn append_audit(
        &self,
        txn: &redb::WriteTransaction,
        entry: AuditEntry,
    ) -> Result<u64> {
        audit::append(txn, &self.1, entry)
    }

    /// The policy registry kept in this database.
    pub fn registry(&self) -> Registry {
        Registry::new(self.clone())
    }

    /// A consistent view of every table as of now, for a backup taken while the gateway
    /// runs: writes committed after it are not in it.
    pub fn snapshot(&self) -> Result<Snapshot> {
        Ok(Snapshot(self.0.begin_read()?))
    }

    /// Checks the audit log's hash chain.
    pub fn verify_audit(&self) -> Result<Verdict> {
        audit::verify(&self.0)
    }
}

/// A consistent read-only view of the whole database ([`Db::snapshot`]).
pub struct Snapshot(redb::ReadTransaction);

impl Snapshot {
    /// Writes the view as a backup snapshot (see [`crate::backup`]) to `out`.
    pub fn dump(&self, created_at: i64, out: &mut impl std::io::Write) -> Result<backup::Summary> {
        backup::dump_txn(&self.0, created_at, out)
    }
}

/// Handle to the store. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    db: Arc<Database>,
    id: Arc<str>,
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
            txn.open_table(tables::OUTBOX_CLAIMS)?;
            backfill_tenant_records(&txn)?;
        }
        let id = writer_id();
        let released = writer::release_claims(&txn, &id)?;
        if released > 0 {
            tracing::info!(
                deliveries = released,
                "released the delivery claims of the gateway that ran before"
            );
        }
        txn.commit()?;
        let db = Arc::new(db);
        let (tx, rx) = mpsc::channel(4096);
        let (writer_db, writer_id) = (db.clone(), id.clone());
        let handle = std::thread::Builder::new()
            .name("sluice-writer".into())
            .spawn(move || writer::run(&writer_db, &writer_id, rx, &metrics))
            .context("starting the store writer")?;
        Ok(Self {
            db,
            id,
            jobs: tx,
            writer: Arc::new(std::sync::Mutex::new(Some(handle))),
        })
    }

    /// Opens the database in `data` for a command run while the gateway is stopped (a
    /// running gateway holds the database's lock: the error then says `in_use`); `create`
    /// makes an empty one when there is none.
    pub fn open_stopped(data: &Dir, create: bool, in_use: &str) -> Result<Db> {
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
            Ok(db) => Ok(Db(Arc::new(db), writer_id())),
            Err(redb::DatabaseError::DatabaseAlreadyOpen) => Err(anyhow::anyhow!(in_use())),
            Err(e) => Err(e).with_context(|| format!("opening the redb database {}", tables::FILE)),
        }
    }

    /// Checks the audit log's hash chain of the database in `data` (a stopped gateway's data
    /// directory; a running gateway holds the database's lock).
    pub fn verify_audit(data: &Dir) -> Result<audit::Verdict> {
        Self::open_stopped(data, false, "stop the gateway first")?.verify_audit()
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

    /// The database, for the registry's and the tokens' transactions (redb serializes them
    /// with the writer's).
    pub fn db(&self) -> Db {
        Db(self.db.clone(), self.id.clone())
    }

    /// This process's writer id: its audit chain, and the owner of its delivery claims.
    pub fn writer(&self) -> &str {
        &self.id
    }

    /// The standing requests of the subject with digest `subject`.
    pub fn rights(&self, subject: &str) -> Result<crate::rights::Rights> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(tables::SUBJECT_RIGHTS)?;
        Ok(match table.get(subject)? {
            Some(v) => codec::decode(v.value())?,
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
            out.push(codec::decode(v.value())?);
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
            let record: StoredRecord = codec::decode(bytes.value())?;
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
        Ok(Some(codec::decode(bytes.value())?))
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
            out.push(codec::decode(v.value())?);
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
        let Self {
            db, jobs, writer, ..
        } = self;
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

/// A new writer id (a UUID v7): each process that opens the database writes its audit
/// entries on a chain of its own.
fn writer_id() -> Arc<str> {
    uuid::Uuid::now_v7().to_string().into()
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
        let owner: Owner = codec::decode(bytes.value())?;
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
            out.push(codec::decode::<StoredRecord>(bytes.value())?);
        }
    }
    out.sort_by(|a, b| {
        a.created_at
            .cmp(&b.created_at)
            .then_with(|| a.id.cmp(&b.id))
    });
    Ok(out)
}

#[cfg(test)]
mod tests;
