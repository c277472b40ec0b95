//! What the writer deletes: a field or record whose retention period ended (the sweep),
//! and erasures.

use crate::store::redb::codec;
use std::collections::HashMap;

use redb::ReadableTable;

use crate::outbox::{self};
use crate::record::{self, StoredRecord};
use crate::store::{AuditEntry, OpResult, Swept};

use super::{Keys, Writer};

impl<'t> Writer<'t> {
    pub(super) fn erase(
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

    /// Deletes the field at `path` of `record` (which must have it) with every copy of its
    /// value: elsewhere in the record, in the record's own account of its deliveries and in
    /// the payloads of the outbox (and so in the vendor's feed); ends any schedule below it
    /// and its search entries. Returns how many places held a copy. The caller bumps the
    /// revision and writes the record back.
    pub(super) fn delete_field(
        &mut self,
        record: &mut StoredRecord,
        path: &str,
    ) -> anyhow::Result<u64> {
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

    pub(super) fn sweep(&mut self, now: i64, limit: usize) -> anyhow::Result<Vec<Swept>> {
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
                let about = record.about();
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
                .insert(record.id.as_str(), codec::encode(&record)?.as_slice())?;
        }
        Ok(swept)
    }
}
