//! The writer thread: group commit of every queued write in one durable transaction. The
//! writer applies the ops of records and audit entries here, those of deliveries in
//! [`deliveries`], the retention sweep and erasures in [`deletions`].

mod deletions;
mod deliveries;

use crate::store::redb::codec;
use std::time::Instant;

use redb::{Database, ReadableTable, WriteTransaction};
use tokio::sync::mpsc;

use super::Job;
use super::tables::{
    AUDIT, EXPIRIES, FEED, FIELDS, META, OUTBOX, OUTBOX_BY_RECORD, OUTBOX_CLAIMS, OUTBOX_DUE,
    OUTBOX_KEYS, OUTBOX_OPEN, RECIPIENTS, RECORDS, SUBJECT_RIGHTS, SUBJECTS, TENANT_RECORDS,
};
use crate::metrics::Metrics;
use crate::outbox::{self};
use crate::record::{self, StoredRecord};
use crate::store::{AuditEntry, Op, OpResult, PutRecord, StoreError};

/// Most writes in one transaction; more wait for the next one.
const MAX_OPS: usize = 4096;

pub(super) fn run(db: &Database, id: &str, mut rx: mpsc::Receiver<Job>, metrics: &Metrics) {
    while let Some(first) = rx.blocking_recv() {
        let mut n = first.ops.len();
        let mut jobs = vec![first];
        while n < MAX_OPS {
            match rx.try_recv() {
                Ok(job) => {
                    n += job.ops.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        let started = Instant::now();
        let records = jobs
            .iter()
            .flat_map(|j| &j.ops)
            .filter(|op| matches!(op, Op::Put { .. }))
            .count();
        match commit(db, id, &mut jobs) {
            Ok(results) => {
                metrics.commit(n, records, started.elapsed());
                for (job, result) in jobs.into_iter().zip(results) {
                    let _ = job.reply.send(Ok(result));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, writes = n, "store transaction failed; nothing of it was written");
                for job in jobs {
                    let _ = job.reply.send(Err(StoreError(e.to_string())));
                }
            }
        }
    }
}

fn commit(db: &Database, id: &str, jobs: &mut [Job]) -> anyhow::Result<Vec<Vec<OpResult>>> {
    let txn = db.begin_write()?;
    let mut results = Vec::with_capacity(jobs.len());
    {
        let mut w = Writer::new(&txn, id)?;
        for job in jobs.iter_mut() {
            let mut out = Vec::with_capacity(job.ops.len());
            for op in job.ops.drain(..) {
                out.push(w.apply(op)?);
            }
            results.push(out);
        }
        w.finish()?;
    }
    txn.commit()?;
    Ok(results)
}

/// Releases the delivery claims left by processes that are gone (see
/// [`Writer::release_claims`]), in `txn`, as writer `id`.
pub(super) fn release_claims(txn: &WriteTransaction, id: &str) -> anyhow::Result<u64> {
    let mut w = Writer::new(txn, id)?;
    let n = w.release_claims()?;
    w.finish()?;
    Ok(n)
}

struct Writer<'t> {
    records: redb::Table<'t, &'static str, &'static [u8]>,
    subjects: redb::MultimapTable<'t, (&'static str, &'static str), &'static str>,
    tenant_records: redb::Table<'t, (&'static str, &'static str), ()>,
    expiries: redb::Table<'t, (i64, &'static str, &'static str), ()>,
    fields: redb::MultimapTable<
        't,
        (&'static str, &'static str, &'static str, &'static str),
        &'static str,
    >,
    audit: redb::Table<'t, u64, &'static [u8]>,
    meta: redb::Table<'t, &'static str, &'static str>,
    next_seq: u64,
    /// This process's writer id and the head of its audit chain.
    id: &'t str,
    head: String,
    outbox: redb::Table<'t, u64, &'static [u8]>,
    outbox_keys: redb::Table<'t, &'static str, u64>,
    outbox_due: redb::Table<'t, (i64, u64), ()>,
    outbox_open: redb::Table<'t, u64, ()>,
    outbox_claims: redb::Table<'t, u64, ()>,
    feed: redb::Table<'t, (&'static str, u64), ()>,
    by_record: redb::Table<'t, (&'static str, u64), ()>,
    rights: redb::Table<'t, &'static str, &'static [u8]>,
    recipients: redb::Table<'t, (&'static str, u64), &'static [u8]>,
    next_delivery: u64,
}

impl<'t> Writer<'t> {
    fn new(txn: &'t WriteTransaction, id: &'t str) -> anyhow::Result<Self> {
        let audit = txn.open_table(AUDIT)?;
        let next_seq = audit.last()?.map_or(1, |(k, _)| k.value() + 1);
        let meta = txn.open_table(META)?;
        let head = super::audit::head(&audit, &meta, id)?;
        let outbox = txn.open_table(OUTBOX)?;
        let next_delivery = outbox.last()?.map_or(1, |(k, _)| k.value() + 1);
        Ok(Self {
            outbox,
            outbox_keys: txn.open_table(OUTBOX_KEYS)?,
            outbox_due: txn.open_table(OUTBOX_DUE)?,
            outbox_open: txn.open_table(OUTBOX_OPEN)?,
            outbox_claims: txn.open_table(OUTBOX_CLAIMS)?,
            feed: txn.open_table(FEED)?,
            by_record: txn.open_table(OUTBOX_BY_RECORD)?,
            rights: txn.open_table(SUBJECT_RIGHTS)?,
            recipients: txn.open_table(RECIPIENTS)?,
            next_delivery,
            records: txn.open_table(RECORDS)?,
            subjects: txn.open_multimap_table(SUBJECTS)?,
            tenant_records: txn.open_table(TENANT_RECORDS)?,
            expiries: txn.open_table(EXPIRIES)?,
            fields: txn.open_multimap_table(FIELDS)?,
            audit,
            meta,
            next_seq,
            id,
            head,
        })
    }

    fn load(&self, id: &str) -> anyhow::Result<Option<StoredRecord>> {
        Ok(match self.records.get(id)? {
            Some(v) => Some(codec::decode(v.value())?),
            None => None,
        })
    }

    fn append(&mut self, mut entry: AuditEntry) -> anyhow::Result<u64> {
        let seq = self.next_seq;
        entry.seq = seq;
        entry.prev = std::mem::take(&mut self.head);
        entry.writer = self.id.to_string();
        let bytes = codec::encode(&entry)?;
        self.audit.insert(seq, bytes.as_slice())?;
        self.head = crate::store::audit::link(&bytes);
        self.next_seq += 1;
        Ok(seq)
    }

    /// Records the head of the audit chain; called once, before the commit.
    fn finish(&mut self) -> anyhow::Result<()> {
        if self.head.is_empty() {
            // Nothing appended by a writer that has no chain yet.
            return Ok(());
        }
        let key = crate::store::audit::head_key(self.id);
        self.meta.insert(key.as_str(), self.head.as_str())?;
        Ok(())
    }

    /// Brings the search-index entries of `record` in step with its fields after they
    /// changed in place (same indexed paths; values changed or gone).
    fn reindex(&mut self, record: &mut StoredRecord) -> anyhow::Result<()> {
        let paths: Vec<String> = record.index.iter().map(|i| i.path.clone()).collect();
        let fresh = record::index_entries(&record.fields, &paths);
        let keys = Keys::of(&record.id, &record.tenant, &record.kind);
        for old in &record.index {
            if !fresh.contains(old) {
                self.fields.remove(keys.field(old), record.id.as_str())?;
            }
        }
        for new in &fresh {
            if !record.index.contains(new) {
                self.fields.insert(keys.field(new), record.id.as_str())?;
            }
        }
        record.index = fresh;
        Ok(())
    }

    /// Removes a record's expiries and search-index entries from their tables.
    fn unschedule(&mut self, record: &StoredRecord) -> anyhow::Result<()> {
        let keys = Keys::of(&record.id, &record.tenant, &record.kind);
        for e in &record.expiries {
            self.expiries.remove(keys.expiry(e))?;
        }
        for i in &record.index {
            self.fields.remove(keys.field(i), record.id.as_str())?;
        }
        Ok(())
    }

    fn put(&mut self, record: &PutRecord) -> anyhow::Result<()> {
        self.records
            .insert(record.id.as_str(), record.bytes.as_slice())?;
        let keys = Keys::of(&record.id, &record.tenant, &record.kind);
        for e in &record.expiries {
            self.expiries.insert(keys.expiry(e), ())?;
        }
        for i in &record.index {
            self.fields.insert(keys.field(i), record.id.as_str())?;
        }
        Ok(())
    }

    /// Deletes a record with its index entries and schedule, and cancels its pending
    /// deliveries, at `now` (ms).
    fn remove(&mut self, record: &StoredRecord, now: i64) -> anyhow::Result<u64> {
        let cancelled = self.cancel_deliveries(&record.id, now)?;
        self.forget_payloads(&record.id)?;
        self.unschedule(record)?;
        self.records.remove(record.id.as_str())?;
        self.subjects.remove(
            (record.tenant.as_str(), record.subject.as_str()),
            record.id.as_str(),
        )?;
        self.tenant_records
            .remove((record.tenant.as_str(), record.id.as_str()))?;
        Ok(cancelled)
    }

    fn apply(&mut self, op: Op) -> anyhow::Result<OpResult> {
        match op {
            Op::Put {
                record,
                expect,
                audit,
            } => {
                let existing = self.load(&record.id)?;
                match (expect, &existing) {
                    (None, Some(_)) => return Ok(OpResult::Conflict),
                    (Some(_), None) => return Ok(OpResult::NotFound),
                    (Some(_), Some(old)) if old.tenant != record.tenant => {
                        return Ok(OpResult::NotFound);
                    }
                    (Some(rev), Some(old)) if old.revision != rev => {
                        return Ok(OpResult::Conflict);
                    }
                    _ => {}
                }
                match &existing {
                    Some(old) => self.unschedule(old)?,
                    None => {
                        self.subjects.insert(
                            (record.tenant.as_str(), record.subject.as_str()),
                            record.id.as_str(),
                        )?;
                        self.tenant_records
                            .insert((record.tenant.as_str(), record.id.as_str()), ())?;
                    }
                }
                self.put(&record)?;
                self.append(audit)?;
                let revision = record.revision;
                let PutRecord { deliveries, .. } = *record;
                for d in deliveries {
                    self.enqueue(d)?;
                }
                Ok(OpResult::Done(revision))
            }
            Op::Delete { id, tenant, audit } => match self.load(&id)? {
                Some(old) if old.tenant == tenant => {
                    self.remove(&old, audit.at)?;
                    self.append(audit)?;
                    Ok(OpResult::Done(old.revision))
                }
                _ => Ok(OpResult::NotFound),
            },
            Op::Audit(entry) => {
                self.append(entry)?;
                Ok(OpResult::Done(0))
            }
            Op::Reschedule {
                id,
                revision,
                expiries,
                bundle,
                audit,
            } => match self.load(&id)? {
                Some(mut record) if record.revision == revision => {
                    let keys = Keys::of(&record.id, &record.tenant, &record.kind);
                    for e in &record.expiries {
                        self.expiries.remove(keys.expiry(e))?;
                    }
                    for e in &expiries {
                        self.expiries.insert(keys.expiry(e), ())?;
                    }
                    record.expiries = expiries;
                    record.retention_bundle = (bundle != record.bundle).then_some(bundle);
                    self.records
                        .insert(record.id.as_str(), codec::encode(&record)?.as_slice())?;
                    self.append(audit)?;
                    Ok(OpResult::Done(revision))
                }
                Some(_) => Ok(OpResult::Conflict),
                None => Ok(OpResult::NotFound),
            },
            Op::Outbox(op) => self.outbox_op(op),
            Op::Disclosed { audit, recipient } => {
                let record = audit.record.clone().unwrap_or_default();
                let seq = self.append(audit)?;
                self.recipients.insert(
                    (record.as_str(), seq),
                    codec::encode(&recipient)?.as_slice(),
                )?;
                Ok(OpResult::Done(0))
            }
            Op::SetRights {
                subject,
                rights,
                audit,
            } => {
                let at = audit.at;
                self.append(audit)?;
                self.rights
                    .insert(subject.as_str(), codec::encode(&rights)?.as_slice())?;
                let mut refused = 0;
                if rights.restricted.is_some() {
                    let mut pending = Vec::new();
                    for item in self.outbox_open.iter()? {
                        let seq = item?.0.value();
                        if let Some(e) = self.delivery(seq)?
                            && e.subject == subject
                        {
                            pending.push(e);
                        }
                    }
                    for old in pending {
                        let new = outbox::attempted(
                            &old,
                            &outbox::Attempt::Refused {
                                clause: crate::clause::RIGHTS.into(),
                                reason: "the data subject restricted processing".into(),
                            },
                            at,
                            &outbox::RetryPolicy::default(),
                        );
                        self.save(&old, &new, None)?;
                        refused += 1;
                    }
                }
                Ok(OpResult::Done(refused))
            }
            Op::Erase { records, audit } => self.erase(records, audit),
            Op::SetMeta { key, value } => {
                self.meta.insert(key.as_str(), value.as_str())?;
                Ok(OpResult::Done(0))
            }
            Op::Sweep { now, limit } => self.sweep(now, limit).map(OpResult::Swept),
            Op::Forget { id, paths, audit } => {
                let Some(mut record) = self.load(&id)? else {
                    return Ok(OpResult::NotFound);
                };
                if paths.is_empty() {
                    self.remove(&record, audit.at)?;
                } else {
                    for path in &paths {
                        if record.fields.pointer(path).is_some() {
                            self.delete_field(&mut record, path)?;
                        }
                    }
                    record.revision += 1;
                    self.records
                        .insert(record.id.as_str(), codec::encode(&record)?.as_slice())?;
                }
                self.append(audit)?;
                Ok(OpResult::Done(0))
            }
        }
    }
}

/// The table keys of one record's expiries and search entries (see `tables.rs`).
struct Keys<'a> {
    id: &'a str,
    tenant: &'a str,
    kind: &'a str,
}

impl<'a> Keys<'a> {
    fn of(id: &'a str, tenant: &'a str, kind: &'a str) -> Self {
        Self { id, tenant, kind }
    }

    fn expiry<'e>(&self, e: &'e record::Expiry) -> (i64, &'e str, &'e str)
    where
        'a: 'e,
    {
        (e.due, self.id, e.path.as_str())
    }

    fn field<'e>(&self, i: &'e record::IndexEntry) -> (&'e str, &'e str, &'e str, &'e str)
    where
        'a: 'e,
    {
        (self.tenant, self.kind, i.path.as_str(), i.value.as_str())
    }
}
