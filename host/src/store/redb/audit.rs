//! The audit log's hash chain in redb: appending an entry chained to the one before, and
//! checking the chain.

use crate::store::redb::codec;
use redb::{ReadableDatabase as _, ReadableTable as _};

use super::tables::{AUDIT, META};
pub(crate) use crate::store::audit::Verdict;
use crate::store::audit::{AuditEntry, link};

/// The metadata key of the hash of the last audit entry's bytes: the head of the chain.
pub const HEAD: &str = "audit.head";

/// The hash chain's head in a write transaction: the recorded head, or (for a log written
/// before the chain existed) the hash of the last entry, or `""` for an empty log.
pub(crate) fn head(
    audit: &redb::Table<'_, u64, &'static [u8]>,
    meta: &redb::Table<'_, &'static str, &'static str>,
) -> anyhow::Result<String> {
    if let Some(h) = meta.get(HEAD)? {
        return Ok(h.value().to_string());
    }
    Ok(audit
        .last()?
        .map(|(_, v)| link(v.value()))
        .unwrap_or_default())
}

/// Appends `entry` to the audit log in a write transaction, chained to the entry before it;
/// returns its sequence number.
pub(crate) fn append(txn: &redb::WriteTransaction, mut entry: AuditEntry) -> anyhow::Result<u64> {
    let mut audit = txn.open_table(AUDIT)?;
    let mut meta = txn.open_table(META)?;
    let seq = audit.last()?.map_or(1, |(k, _)| k.value() + 1);
    entry.seq = seq;
    entry.prev = head(&audit, &meta)?;
    let bytes = codec::encode(&entry)?;
    audit.insert(seq, bytes.as_slice())?;
    meta.insert(HEAD, link(&bytes).as_str())?;
    Ok(seq)
}

/// Checks the audit log's hash chain in `db`: each entry names the hash of the one before
/// (`prev`), and the recorded head is the hash of the last one.
pub fn verify(db: &redb::Database) -> anyhow::Result<Verdict> {
    let txn = db.begin_read()?;
    let audit = txn.open_table(AUDIT)?;
    let meta = txn.open_table(META)?;
    let mut prev = String::new();
    let mut prev_seq = 0;
    let mut entries = 0;
    for item in audit.iter()? {
        let (k, v) = item?;
        let seq = k.value();
        let entry: AuditEntry = match serde_json::from_slice(v.value()) {
            Ok(e) => e,
            Err(e) => {
                return Ok(Verdict::Broken {
                    seq,
                    reason: format!("entry {seq} is not a readable audit entry ({e})"),
                });
            }
        };
        if entry.seq != seq {
            return Ok(Verdict::Broken {
                seq,
                reason: format!("entry {seq} says it is entry {}", entry.seq),
            });
        }
        // Entries written before the chain existed carry no link; the chain starts after.
        if !entry.prev.is_empty() && entry.prev != prev {
            return Ok(Verdict::Broken {
                seq: prev_seq,
                reason: format!(
                    "entry {prev_seq} does not match the hash entry {seq} recorded for it"
                ),
            });
        }
        prev = link(v.value());
        prev_seq = seq;
        entries += 1;
    }
    if let Some(head) = meta.get(HEAD)?
        && head.value() != prev
    {
        return Ok(Verdict::Broken {
            seq: prev_seq,
            reason: format!(
                "entry {prev_seq}, the last, does not match the recorded head of the chain"
            ),
        });
    }
    Ok(Verdict::Intact { entries })
}
