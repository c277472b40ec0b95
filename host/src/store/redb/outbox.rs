//! Reads of the outbox, the vendor feeds and the record of recipients. Writes go through
//! the writer ([`super::Op::Outbox`], deliveries enqueued with their record's put).

use crate::store::redb::codec;
use anyhow::Result;
use redb::{ReadableDatabase, ReadableTable, ReadableTableMetadata};

use super::Store;
use super::tables::{FEED, META, OUTBOX, OUTBOX_DUE, OUTBOX_KEYS, OUTBOX_OPEN, RECIPIENTS};
use crate::outbox::{Entry, Recipient, State};
use crate::store::FeedMarks;

/// The key in `meta` of the cursor `vendor` last acknowledged.
pub(super) fn acked_key(vendor: &str) -> String {
    format!("feed.{vendor}")
}

/// The key in `meta` of the highest cursor the feed served `vendor`. (Register ids hold no
/// `.`, so no vendor's key is another's.)
pub(super) fn served_key(vendor: &str) -> String {
    format!("feed-served.{vendor}")
}

/// `vendor`'s feed marks as `meta` holds them.
pub(super) fn feed_marks(
    meta: &impl ReadableTable<&'static str, &'static str>,
    vendor: &str,
) -> Result<FeedMarks> {
    let read = |key: String| -> Result<Option<u64>> {
        Ok(meta.get(key.as_str())?.and_then(|v| v.value().parse().ok()))
    };
    let acknowledged = read(acked_key(vendor))?.unwrap_or(0);
    let served = read(served_key(vendor))?.unwrap_or(0).max(acknowledged);
    Ok(FeedMarks {
        acknowledged,
        served,
    })
}

fn decode(bytes: &[u8]) -> Result<Entry> {
    codec::decode(bytes)
}

/// Which deliveries a listing shows.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only in this state.
    pub state: Option<State>,
    /// Only to this vendor.
    pub vendor: Option<String>,
    /// Only of this record.
    pub record: Option<String>,
}

impl Store {
    /// Up to `limit` pushed deliveries whose next attempt is due at `now` (ms), most overdue
    /// first.
    pub fn outbox_due(&self, now: i64, limit: usize) -> Result<Vec<Entry>> {
        let txn = self.db.begin_read()?;
        let due = txn.open_table(OUTBOX_DUE)?;
        let outbox = txn.open_table(OUTBOX)?;
        let mut out = Vec::new();
        for item in due.range(..(now.saturating_add(1), 0))?.take(limit) {
            let (_, seq) = item?.0.value();
            if let Some(v) = outbox.get(seq)? {
                out.push(decode(v.value())?);
            }
        }
        Ok(out)
    }

    /// The delivery with idempotency key `id`.
    pub fn delivery(&self, id: &str) -> Result<Option<Entry>> {
        let txn = self.db.begin_read()?;
        let Some(seq) = txn.open_table(OUTBOX_KEYS)?.get(id)?.map(|v| v.value()) else {
            return Ok(None);
        };
        let outbox = txn.open_table(OUTBOX)?;
        outbox.get(seq)?.map(|v| decode(v.value())).transpose()
    }

    /// Deliveries after sequence number `after`, matching `filter`, at most `limit`.
    pub fn deliveries(&self, filter: &Filter, after: u64, limit: usize) -> Result<Vec<Entry>> {
        let txn = self.db.begin_read()?;
        let outbox = txn.open_table(OUTBOX)?;
        let mut out = Vec::new();
        let matches = |e: &Entry| {
            filter.state.is_none_or(|s| e.state == s)
                && filter.vendor.as_ref().is_none_or(|v| &e.vendor == v)
                && filter.record.as_ref().is_none_or(|r| &e.record == r)
        };
        if let Some(vendor) = &filter.vendor {
            let feed = txn.open_table(FEED)?;
            for item in feed
                .range((vendor.as_str(), after.saturating_add(1))..=(vendor.as_str(), u64::MAX))?
            {
                let (_, seq) = item?.0.value();
                if let Some(v) = outbox.get(seq)? {
                    let e = decode(v.value())?;
                    if matches(&e) {
                        out.push(e);
                        if out.len() >= limit {
                            break;
                        }
                    }
                }
            }
            return Ok(out);
        }
        for item in outbox.range(after.saturating_add(1)..)? {
            let e = decode(item?.1.value())?;
            if matches(&e) {
                out.push(e);
                if out.len() >= limit {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// `(pending deliveries, enqueue time of the oldest pending one in ms)`.
    pub fn outbox_depth(&self) -> Result<(u64, Option<i64>)> {
        let txn = self.db.begin_read()?;
        let open = txn.open_table(OUTBOX_OPEN)?;
        let depth = open.len()?;
        let oldest = match open.first()? {
            Some((seq, _)) => txn
                .open_table(OUTBOX)?
                .get(seq.value())?
                .map(|v| decode(v.value()).map(|e| e.created_at))
                .transpose()?,
            None => None,
        };
        Ok((depth, oldest))
    }

    /// Where `vendor`'s feed stands: the cursor it last acknowledged, and the highest one
    /// it was served.
    pub fn feed_marks(&self, vendor: &str) -> Result<FeedMarks> {
        let txn = self.db.begin_read()?;
        feed_marks(&txn.open_table(META)?, vendor)
    }

    /// Everyone who received data of record `id`, oldest first.
    pub fn recipients(&self, id: &str) -> Result<Vec<Recipient>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(RECIPIENTS)?;
        let mut out = Vec::new();
        for item in table.range((id, 0)..=(id, u64::MAX))? {
            out.push(codec::decode(item?.1.value())?);
        }
        Ok(out)
    }
}
