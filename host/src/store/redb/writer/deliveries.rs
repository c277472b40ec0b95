//! What the writer writes of deliveries: enqueuing them with their record, their changes
//! of state and their audit entries, and their payloads scrubbed when a record loses data.

use crate::store::redb::codec;
use redb::ReadableTable;

use crate::outbox::{self, Entry, Recipient, State};
use crate::record::{self};
use crate::store::{AuditEntry, OpResult, OutboxOp};

use super::Writer;

impl<'t> Writer<'t> {
    /// Enqueues a delivery caused by a write: a refused one is kept (and audited) but never
    /// queued.
    pub(super) fn enqueue(&mut self, mut entry: Entry) -> anyhow::Result<()> {
        if entry.state == State::Pending && self.restricted(&entry.subject)? {
            entry.state = State::Refused;
            entry.clause = crate::clause::RIGHTS.into();
            entry.last_error = Some("the data subject restricted processing".into());
        }
        entry.seq = self.next_delivery;
        self.next_delivery += 1;
        self.outbox
            .insert(entry.seq, codec::encode(&entry)?.as_slice())?;
        self.outbox_keys.insert(entry.id.as_str(), entry.seq)?;
        self.feed.insert((entry.vendor.as_str(), entry.seq), ())?;
        self.by_record
            .insert((entry.record.as_str(), entry.seq), ())?;
        if entry.state == State::Pending {
            self.outbox_open.insert(entry.seq, ())?;
        }
        if outbox::is_queued(&entry) {
            self.outbox_due
                .insert((outbox::due_at(&entry), entry.seq), ())?;
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

    pub(super) fn restricted(&self, subject: &str) -> anyhow::Result<bool> {
        Ok(match self.rights.get(subject)? {
            Some(v) => codec::decode::<crate::rights::Rights>(v.value())?
                .restricted
                .is_some(),
            None => false,
        })
    }

    pub(super) fn delivery(&self, seq: u64) -> anyhow::Result<Option<Entry>> {
        Ok(match self.outbox.get(seq)? {
            Some(v) => Some(codec::decode(v.value())?),
            None => None,
        })
    }

    /// Stores `new` in place of `old`, keeping the queue indexes in step, and audits a
    /// change of state (a delivery also adds the recipient to the record's recipients).
    pub(super) fn save(
        &mut self,
        old: &Entry,
        new: &Entry,
        actor: Option<&str>,
    ) -> anyhow::Result<()> {
        self.outbox
            .insert(new.seq, codec::encode(new)?.as_slice())?;
        if outbox::is_queued(old) {
            self.outbox_due.remove((outbox::due_at(old), old.seq))?;
        }
        if outbox::is_queued(new) {
            self.outbox_due.insert((outbox::due_at(new), new.seq), ())?;
        }
        match (&old.claim, &new.claim) {
            (None, Some(_)) => {
                self.outbox_claims.insert(new.seq, ())?;
            }
            (Some(_), None) => {
                self.outbox_claims.remove(old.seq)?;
            }
            _ => {}
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
                codec::encode(&recipient)?.as_slice(),
            )?;
        }
        Ok(())
    }

    pub(super) fn outbox_op(&mut self, op: OutboxOp) -> anyhow::Result<OpResult> {
        match op {
            OutboxOp::Claim {
                by,
                now,
                lease_ms,
                limit,
                per_vendor,
                room,
            } => self
                .claim(&by, now, lease_ms, limit, per_vendor, room)
                .map(OpResult::Claimed),
            OutboxOp::Attempted {
                by,
                id,
                attempt,
                now,
                retry,
            } => {
                let Some(old) = self.by_key(&id)? else {
                    return Ok(OpResult::NotFound);
                };
                if outbox::is_stale(&old, &by, &attempt) {
                    return Ok(OpResult::Delivery(Box::new(old)));
                }
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
                let marks = super::super::outbox::feed_marks(&self.meta, &vendor)?;
                if cursor > marks.served {
                    self.meta.insert(
                        super::super::outbox::served_key(&vendor).as_str(),
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
                let marks = super::super::outbox::feed_marks(&self.meta, &vendor)?;
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
                    super::super::outbox::acked_key(&vendor).as_str(),
                    cursor.to_string().as_str(),
                )?;
                Ok(OpResult::Done(acked))
            }
            OutboxOp::Cancel { record, now } => {
                self.cancel_deliveries(&record, now).map(OpResult::Done)
            }
        }
    }

    /// Claims due deliveries for worker `by` (see [`OutboxOp::Claim`]); looks at no more
    /// than [`CLAIM_SCAN`] entries of the due index.
    fn claim(
        &mut self,
        by: &str,
        now: i64,
        lease_ms: i64,
        limit: usize,
        per_vendor: usize,
        room: Vec<(String, usize)>,
    ) -> anyhow::Result<Vec<Entry>> {
        let mut room: std::collections::HashMap<String, usize> = room.into_iter().collect();
        let mut due = Vec::new();
        for item in self
            .outbox_due
            .range(..(now.saturating_add(1), 0))?
            .take(CLAIM_SCAN)
        {
            due.push(item?.0.value().1);
        }
        let mut claimed = Vec::new();
        for seq in due {
            if claimed.len() >= limit {
                break;
            }
            let Some(old) = self.delivery(seq)? else {
                continue;
            };
            let left = room.entry(old.vendor.clone()).or_insert(per_vendor);
            if *left == 0 {
                continue;
            }
            let Some(new) = outbox::claimed(&old, by, now, lease_ms) else {
                continue;
            };
            *left -= 1;
            self.save(&old, &new, None)?;
            claimed.push(new);
        }
        Ok(claimed)
    }

    /// Releases every claim: the workers that held them are gone (called when the database
    /// opens; a redb database has one gateway at a time). Returns how many.
    pub(crate) fn release_claims(&mut self) -> anyhow::Result<u64> {
        let mut seqs = Vec::new();
        for item in self.outbox_claims.iter()? {
            seqs.push(item?.0.value());
        }
        let mut n = 0;
        for seq in seqs {
            match self.delivery(seq)? {
                Some(old) if old.claim.is_some() => {
                    let new = Entry {
                        claim: None,
                        ..old.clone()
                    };
                    self.save(&old, &new, None)?;
                    n += 1;
                }
                _ => {
                    self.outbox_claims.remove(seq)?;
                }
            }
        }
        Ok(n)
    }

    /// Cancels the pending deliveries of record `id` (it is being deleted: nothing of it
    /// may leave any more); returns how many.
    pub(super) fn cancel_deliveries(&mut self, id: &str, now: i64) -> anyhow::Result<u64> {
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
    pub(super) fn deliveries_of(&self, id: &str) -> anyhow::Result<Vec<u64>> {
        let mut seqs = Vec::new();
        for item in self.by_record.range((id, 0)..=(id, u64::MAX))? {
            seqs.push(item?.0.value().1);
        }
        Ok(seqs)
    }

    /// Drops the payloads of record `id`'s deliveries (its data is gone: no copy of it
    /// stays in the outbox); states, recipients and paths remain as evidence.
    pub(super) fn forget_payloads(&mut self, id: &str) -> anyhow::Result<()> {
        let seqs = self.deliveries_of(id)?;
        for seq in seqs {
            let Some(entry) = self.delivery(seq)? else {
                continue;
            };
            if !entry.payload.is_null() {
                let entry = outbox::settle(entry);
                self.outbox.insert(seq, codec::encode(&entry)?.as_slice())?;
            }
        }
        Ok(())
    }

    /// Removes from the payloads of record `id`'s deliveries what a retention deletion of
    /// its field at `path` (whose value was `removed`) took away (see [`outbox::scrub`]);
    /// returns how many payloads changed.
    pub(super) fn scrub_payloads(
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
                self.outbox.insert(seq, codec::encode(&entry)?.as_slice())?;
                changed += 1;
            }
        }
        Ok(changed)
    }

    pub(super) fn by_key(&self, id: &str) -> anyhow::Result<Option<Entry>> {
        match self.outbox_keys.get(id)? {
            Some(seq) => {
                let seq = seq.value();
                self.delivery(seq)
            }
            None => Ok(None),
        }
    }
}

/// Most entries of the due index one claim looks at (deliveries of vendors with no room
/// left are passed over).
const CLAIM_SCAN: usize = 4096;

/// The audit entry of a delivery's change of state.
pub(super) fn delivery_audit(event: &str, e: &Entry, at: i64, actor: Option<&str>) -> AuditEntry {
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
        writer: String::new(),
        detail: Some(serde_json::json!({
            "delivery": e.id, "endpoint": e.endpoint, "attempts": e.attempts,
            "error": e.last_error,
        })),
    }
}
