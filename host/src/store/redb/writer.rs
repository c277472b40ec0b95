//! The writer thread: group commit of every queued write in one durable transaction.

use std::collections::HashMap;
use std::time::Instant;

use redb::{Database, ReadableTable, WriteTransaction};
use tokio::sync::mpsc;

use super::Job;
use super::tables::{
    AUDIT, EXPIRIES, FEED, FIELDS, META, OUTBOX, OUTBOX_BY_RECORD, OUTBOX_DUE, OUTBOX_KEYS,
    OUTBOX_OPEN, RECIPIENTS, RECORDS, SUBJECT_RIGHTS, SUBJECTS, TENANT_RECORDS,
};
use crate::metrics::Metrics;
use crate::outbox::{self, Entry, Recipient, State};
use crate::record::{self, StoredRecord};
use crate::store::{AuditEntry, Op, OpResult, OutboxOp, PutRecord, StoreError, Swept};

/// Most writes in one transaction; more wait for the next one.
const MAX_OPS: usize = 4096;

pub(super) fn run(db: &Database, mut rx: mpsc::Receiver<Job>, metrics: &Metrics) {
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
        match commit(db, &mut jobs) {
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

fn commit(db: &Database, jobs: &mut [Job]) -> anyhow::Result<Vec<Vec<OpResult>>> {
    let txn = db.begin_write()?;
    let mut results = Vec::with_capacity(jobs.len());
    {
        let mut w = Writer::new(&txn)?;
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
    head: String,
    outbox: redb::Table<'t, u64, &'static [u8]>,
    outbox_keys: redb::Table<'t, &'static str, u64>,
    outbox_due: redb::Table<'t, (i64, u64), ()>,
    outbox_open: redb::Table<'t, u64, ()>,
    feed: redb::Table<'t, (&'static str, u64), ()>,
    by_record: redb::Table<'t, (&'static str, u64), ()>,
    rights: redb::Table<'t, &'static str, &'static [u8]>,
    recipients: redb::Table<'t, (&'static str, u64), &'static [u8]>,
    next_delivery: u64,
}

impl<'t> Writer<'t> {
    fn new(txn: &'t WriteTransaction) -> anyhow::Result<Self> {
        let audit = txn.open_table(AUDIT)?;
        let next_seq = audit.last()?.map_or(1, |(k, _)| k.value() + 1);
        let meta = txn.open_table(META)?;
        let head = super::audit::head(&audit, &meta)?;
        let outbox = txn.open_table(OUTBOX)?;
        let next_delivery = outbox.last()?.map_or(1, |(k, _)| k.value() + 1);
        Ok(Self {
            outbox,
            outbox_keys: txn.open_table(OUTBOX_KEYS)?,
            outbox_due: txn.open_table(OUTBOX_DUE)?,
            outbox_open: txn.open_table(OUTBOX_OPEN)?,
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
            head,
        })
    }

    fn load(&self, id: &str) -> anyhow::Result<Option<StoredRecord>> {
        Ok(match self.records.get(id)? {
            Some(v) => Some(serde_json::from_slice(v.value())?),
            None => None,
        })
    }

    fn append(&mut self, mut entry: AuditEntry) -> anyhow::Result<u64> {
        let seq = self.next_seq;
        entry.seq = seq;
        entry.prev = std::mem::take(&mut self.head);
        let bytes = serde_json::to_vec(&entry)?;
        self.audit.insert(seq, bytes.as_slice())?;
        self.head = crate::store::audit::link(&bytes);
        self.next_seq += 1;
        Ok(seq)
    }

    /// Records the head of the audit chain; called once, before the commit.
    fn finish(&mut self) -> anyhow::Result<()> {
        self.meta.insert(super::audit::HEAD, self.head.as_str())?;
        Ok(())
    }

    /// Enqueues a delivery caused by a write: a refused one is kept (and audited) but never
    /// queued.
    fn enqueue(&mut self, mut entry: Entry) -> anyhow::Result<()> {
        if entry.state == State::Pending && self.restricted(&entry.subject)? {
            entry.state = State::Refused;
            entry.clause = "9".into();
            entry.last_error = Some("the data subject restricted processing".into());
        }
        entry.seq = self.next_delivery;
        self.next_delivery += 1;
        self.outbox
            .insert(entry.seq, serde_json::to_vec(&entry)?.as_slice())?;
        self.outbox_keys.insert(entry.id.as_str(), entry.seq)?;
        self.feed.insert((entry.vendor.as_str(), entry.seq), ())?;
        self.by_record
            .insert((entry.record.as_str(), entry.seq), ())?;
        if entry.state == State::Pending {
            self.outbox_open.insert(entry.seq, ())?;
        }
        if outbox::is_queued(&entry) {
            self.outbox_due.insert((entry.next_at, entry.seq), ())?;
        }
        if entry.state == State::Refused {
            self.append(delivery_audit(
                "delivery.refused",
                &entry,
                entry.created_at,
                None,
            ))?;
        }
        Ok(())
    }

    fn restricted(&self, subject: &str) -> anyhow::Result<bool> {
        Ok(match self.rights.get(subject)? {
            Some(v) => serde_json::from_slice::<crate::rights::Rights>(v.value())?
                .restricted
                .is_some(),
            None => false,
        })
    }

    fn delivery(&self, seq: u64) -> anyhow::Result<Option<Entry>> {
        Ok(match self.outbox.get(seq)? {
            Some(v) => Some(serde_json::from_slice(v.value())?),
            None => None,
        })
    }

    /// Stores `new` in place of `old`, keeping the queue indexes in step, and audits a
    /// change of state (a delivery also adds the recipient to the record's recipients).
    fn save(&mut self, old: &Entry, new: &Entry, actor: Option<&str>) -> anyhow::Result<()> {
        self.outbox
            .insert(new.seq, serde_json::to_vec(new)?.as_slice())?;
        if outbox::is_queued(old) {
            self.outbox_due.remove((old.next_at, old.seq))?;
        }
        if outbox::is_queued(new) {
            self.outbox_due.insert((new.next_at, new.seq), ())?;
        }
        if old.state == State::Pending && new.state != State::Pending {
            self.outbox_open.remove(old.seq)?;
        }
        if old.state != State::Pending && new.state == State::Pending {
            self.outbox_open.insert(new.seq, ())?;
        }
        if old.state == new.state {
            return Ok(());
        }
        let event = match new.state {
            State::Delivered => "delivery.delivered",
            State::Dead => "delivery.dead",
            State::Refused => "delivery.refused",
            State::Cancelled => "delivery.cancelled",
            State::Pending => "delivery.redriven",
        };
        let seq = self.append(delivery_audit(event, new, new.updated_at, actor))?;
        if new.state == State::Delivered {
            let recipient = Recipient {
                at: new.updated_at,
                who: format!("subprocessor:{}", new.vendor),
                via: "delivery".into(),
                paths: new.payload_paths(),
                clause: new.clause.clone(),
                delivery: Some(format!("{} ({})", new.id, new.endpoint)),
                purpose: None,
            };
            self.recipients.insert(
                (new.record.as_str(), seq),
                serde_json::to_vec(&recipient)?.as_slice(),
            )?;
        }
        Ok(())
    }

    fn outbox_op(&mut self, op: OutboxOp) -> anyhow::Result<OpResult> {
        match op {
            OutboxOp::Attempted {
                id,
                attempt,
                now,
                retry,
            } => {
                let Some(old) = self.by_key(&id)? else {
                    return Ok(OpResult::NotFound);
                };
                let new = outbox::attempted(&old, &attempt, now, &retry);
                self.save(&old, &new, None)?;
                Ok(OpResult::Delivery(Box::new(new)))
            }
            OutboxOp::Redrive { id, now, actor } => {
                let Some(old) = self.by_key(&id)? else {
                    return Ok(OpResult::NotFound);
                };
                let Some(new) = outbox::redriven(&old, now) else {
                    return Ok(OpResult::Conflict);
                };
                self.save(&old, &new, Some(&actor))?;
                Ok(OpResult::Delivery(Box::new(new)))
            }
            OutboxOp::Served { vendor, cursor } => {
                let marks = super::outbox::feed_marks(&self.meta, &vendor)?;
                if cursor > marks.served {
                    self.meta.insert(
                        super::outbox::served_key(&vendor).as_str(),
                        cursor.to_string().as_str(),
                    )?;
                }
                Ok(OpResult::Done(cursor.max(marks.served)))
            }
            OutboxOp::Ack {
                vendor,
                cursor,
                now,
            } => {
                // Checked here, in the writer's transaction, so that no concurrent ack or
                // feed read can slip between the check and the change.
                let marks = super::outbox::feed_marks(&self.meta, &vendor)?;
                if cursor < marks.acknowledged || cursor > marks.served {
                    return Ok(OpResult::AckOutOfRange(marks));
                }
                if cursor == marks.acknowledged {
                    return Ok(OpResult::Done(0));
                }
                // Everything up to the acknowledged cursor was settled by earlier acks (a
                // pulled delivery never goes back to pending).
                let mut seqs = Vec::new();
                for item in self.feed.range(
                    (vendor.as_str(), marks.acknowledged.saturating_add(1))
                        ..=(vendor.as_str(), cursor),
                )? {
                    seqs.push(item?.0.value().1);
                }
                let mut acked = 0;
                for seq in seqs {
                    let Some(old) = self.delivery(seq)? else {
                        continue;
                    };
                    if let Some(new) = outbox::acknowledged(&old, now) {
                        self.save(&old, &new, None)?;
                        acked += 1;
                    }
                }
                self.meta.insert(
                    super::outbox::acked_key(&vendor).as_str(),
                    cursor.to_string().as_str(),
                )?;
                Ok(OpResult::Done(acked))
            }
            OutboxOp::Cancel { record, now } => {
                self.cancel_deliveries(&record, now).map(OpResult::Done)
            }
        }
    }

    /// Cancels the pending deliveries of record `id` (it is being deleted: nothing of it
    /// may leave any more); returns how many.
    fn cancel_deliveries(&mut self, id: &str, now: i64) -> anyhow::Result<u64> {
        let seqs = self.deliveries_of(id)?;
        let mut n = 0;
        for seq in seqs {
            let Some(old) = self.delivery(seq)? else {
                continue;
            };
            if let Some(new) = outbox::cancelled(&old, now) {
                self.save(&old, &new, None)?;
                n += 1;
            }
        }
        Ok(n)
    }

    /// The sequence numbers of record `id`'s deliveries.
    fn deliveries_of(&self, id: &str) -> anyhow::Result<Vec<u64>> {
        let mut seqs = Vec::new();
        for item in self.by_record.range((id, 0)..=(id, u64::MAX))? {
            seqs.push(item?.0.value().1);
        }
        Ok(seqs)
    }

    /// Drops the payloads of record `id`'s deliveries (its data is gone: no copy of it
    /// stays in the outbox); states, recipients and paths remain as evidence.
    fn forget_payloads(&mut self, id: &str) -> anyhow::Result<()> {
        let seqs = self.deliveries_of(id)?;
        for seq in seqs {
            let Some(entry) = self.delivery(seq)? else {
                continue;
            };
            if !entry.payload.is_null() {
                let entry = outbox::settle(entry);
                self.outbox
                    .insert(seq, serde_json::to_vec(&entry)?.as_slice())?;
            }
        }
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

    /// Removes from the payloads of record `id`'s deliveries what a retention deletion of
    /// its field at `path` (whose value was `removed`) took away (see [`outbox::scrub`]);
    /// returns how many payloads changed.
    fn scrub_payloads(
        &mut self,
        id: &str,
        path: &str,
        removed: &serde_json::Value,
    ) -> anyhow::Result<u64> {
        let mut changed = 0;
        for seq in self.deliveries_of(id)? {
            let Some(mut entry) = self.delivery(seq)? else {
                continue;
            };
            if outbox::scrub(&mut entry.payload, path, removed) > 0 {
                self.outbox
                    .insert(seq, serde_json::to_vec(&entry)?.as_slice())?;
                changed += 1;
            }
        }
        Ok(changed)
    }

    fn erase(
        &mut self,
        records: Vec<crate::store::Erasure>,
        audit: AuditEntry,
    ) -> anyhow::Result<OpResult> {
        let mut current = Vec::with_capacity(records.len());
        for e in &records {
            match self.load(&e.id)? {
                Some(old) if old.tenant == e.tenant && old.revision == e.revision => {
                    current.push(old)
                }
                _ => return Ok(OpResult::Conflict),
            }
        }
        let now = audit.at;
        let mut cancelled = 0;
        for (e, old) in records.into_iter().zip(current) {
            cancelled += match e.kept {
                Some(kept) => {
                    let n = self.cancel_deliveries(&e.id, now)?;
                    self.forget_payloads(&e.id)?;
                    self.unschedule(&old)?;
                    self.put(&kept)?;
                    n
                }
                None => self.remove(&old, now)?,
            };
            self.append(e.audit)?;
        }
        self.append(audit)?;
        Ok(OpResult::Done(cancelled))
    }

    fn by_key(&self, id: &str) -> anyhow::Result<Option<Entry>> {
        match self.outbox_keys.get(id)? {
            Some(seq) => {
                let seq = seq.value();
                self.delivery(seq)
            }
            None => Ok(None),
        }
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
                        .insert(record.id.as_str(), serde_json::to_vec(&record)?.as_slice())?;
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
                    serde_json::to_vec(&recipient)?.as_slice(),
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
                    .insert(subject.as_str(), serde_json::to_vec(&rights)?.as_slice())?;
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
                                clause: "9".into(),
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
                        .insert(record.id.as_str(), serde_json::to_vec(&record)?.as_slice())?;
                }
                self.append(audit)?;
                Ok(OpResult::Done(0))
            }
        }
    }

    /// Deletes the field at `path` of `record` (which must have it) with every copy of its
    /// value: elsewhere in the record, in the record's own account of its deliveries and in
    /// the payloads of the outbox (and so in the vendor's feed); ends any schedule below it
    /// and its search entries. Returns how many places held a copy. The caller bumps the
    /// revision and writes the record back.
    fn delete_field(&mut self, record: &mut StoredRecord, path: &str) -> anyhow::Result<u64> {
        let removed = record
            .fields
            .pointer(path)
            .cloned()
            .unwrap_or(serde_json::Value::Null);
        record::remove_at(&mut record.fields, path);
        let mut copies = 0u64;
        if outbox::scrub(&mut record.fields, "", &removed) > 0 {
            copies += 1;
            self.reindex(record)?;
        }
        for d in &mut record.deliveries {
            if outbox::scrub(&mut d.payload, path, &removed) > 0 {
                copies += 1;
            }
        }
        copies += self.scrub_payloads(&record.id, path, &removed)?;
        let keys = Keys::of(&record.id, &record.tenant, &record.kind);
        let (ended, expiries): (Vec<_>, Vec<_>) = record
            .expiries
            .drain(..)
            .partition(|e| record::is_within(&e.path, path));
        record.expiries = expiries;
        for e in &ended {
            self.expiries.remove(keys.expiry(e))?;
        }
        let (gone, kept): (Vec<_>, Vec<_>) = record
            .index
            .drain(..)
            .partition(|i| record::is_within(&i.path, path));
        record.index = kept;
        for i in &gone {
            self.fields.remove(keys.field(i), record.id.as_str())?;
        }
        Ok(copies)
    }

    fn sweep(&mut self, now: i64, limit: usize) -> anyhow::Result<Vec<Swept>> {
        let mut due = Vec::new();
        for entry in self
            .expiries
            .range(..(now.saturating_add(1), "", ""))?
            .take(limit)
        {
            let (k, _) = entry?;
            let (at, id, path) = k.value();
            due.push((at, id.to_string(), path.to_string()));
        }
        // Records touched by this sweep, as they will be written back (None = deleted).
        let mut touched: HashMap<String, Option<StoredRecord>> = HashMap::new();
        let mut swept = Vec::new();
        for (at, id, path) in due {
            self.expiries.remove((at, id.as_str(), path.as_str()))?;
            if !touched.contains_key(&id) {
                let loaded = self.load(&id)?;
                touched.insert(id.clone(), loaded);
            }
            let Some(Some(record)) = touched.get_mut(&id) else {
                continue;
            };
            let Some(pos) = record
                .expiries
                .iter()
                .position(|e| e.due == at && e.path == path)
            else {
                continue;
            };
            let expiry = record.expiries.remove(pos);
            let deletion = record::Decision {
                plugin: expiry.plugin.clone(),
                action: record::Action::Delete,
                path: (!path.is_empty()).then(|| path.clone()),
                clause: expiry.clause.clone(),
                reason: String::new(),
            };
            let entry = |event: &str, record: &StoredRecord| {
                let about = crate::store::About {
                    tenant: &record.tenant,
                    id: &record.id,
                    kind: &record.kind,
                    subject: &record.subject,
                };
                AuditEntry::about(
                    event,
                    now.saturating_mul(1000),
                    about,
                    &record.bundle,
                    std::slice::from_ref(&deletion),
                )
            };
            if path.is_empty() {
                let record = touched
                    .get_mut(&id)
                    .and_then(Option::take)
                    .expect("checked above");
                self.remove(&record, now.saturating_mul(1000))?;
                self.append(entry("retention.record-deleted", &record))?;
            } else {
                let copies = self.delete_field(record, &path)?;
                record.revision += 1;
                let mut audit = entry("retention.field-deleted", record);
                audit.detail = Some(serde_json::json!({ "copies_removed": copies }));
                self.append(audit)?;
            }
            swept.push(Swept {
                id,
                path,
                clause: expiry.clause,
            });
        }
        for record in touched.into_values().flatten() {
            self.records
                .insert(record.id.as_str(), serde_json::to_vec(&record)?.as_slice())?;
        }
        Ok(swept)
    }
}

/// The audit entry of a delivery's change of state.
fn delivery_audit(event: &str, e: &Entry, at: i64, actor: Option<&str>) -> AuditEntry {
    AuditEntry {
        seq: 0,
        at,
        event: event.into(),
        tenant: e.tenant.clone(),
        record: Some(e.record.clone()),
        kind: Some(e.kind.clone()),
        subject: Some(e.subject.clone()),
        bundle: Some(e.bundle.clone()),
        decisions: vec![crate::store::AuditDecision {
            plugin: e.plugin.clone(),
            action: if e.state == State::Refused {
                record::Action::Refuse
            } else {
                record::Action::Forward
            },
            path: None,
            clause: e.clause.clone(),
        }],
        audience: Some(format!("subprocessor:{}", e.vendor)),
        purpose: None,
        actor: actor.map(str::to_string),
        prev: String::new(),
        detail: Some(serde_json::json!({
            "delivery": e.id, "endpoint": e.endpoint, "attempts": e.attempts,
            "error": e.last_error,
        })),
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
