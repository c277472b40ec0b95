//! The audit log's hash chains in redb: appending an entry chained to its writer's previous
//! entry, and checking every chain.

use crate::store::redb::codec;
use redb::{ReadableDatabase as _, ReadableTable as _};

use super::tables::{AUDIT, META};
pub(crate) use crate::store::audit::Verdict;
use crate::store::audit::{AuditEntry, ChainCheck, LEGACY_HEAD, head_key, link};

/// The head of `writer`'s chain in a write transaction: its recorded head, or `""` for a
/// writer that has written nothing yet. The legacy chain of a log written before heads were
/// recorded starts from the hash of the last entry.
pub(crate) fn head(
    audit: &redb::Table<'_, u64, &'static [u8]>,
    meta: &redb::Table<'_, &'static str, &'static str>,
    writer: &str,
) -> anyhow::Result<String> {
    if let Some(h) = meta.get(head_key(writer).as_str())? {
        return Ok(h.value().to_string());
    }
    if !writer.is_empty() {
        return Ok(String::new());
    }
    Ok(audit
        .last()?
        .map(|(_, v)| link(v.value()))
        .unwrap_or_default())
}

/// Appends `entry` to the audit log in a write transaction, chained to `writer`'s previous
/// entry; returns its sequence number.
pub(crate) fn append(
    txn: &redb::WriteTransaction,
    writer: &str,
    mut entry: AuditEntry,
) -> anyhow::Result<u64> {
    let mut audit = txn.open_table(AUDIT)?;
    let mut meta = txn.open_table(META)?;
    let seq = audit.last()?.map_or(1, |(k, _)| k.value() + 1);
    entry.seq = seq;
    entry.prev = head(&audit, &meta, writer)?;
    entry.writer = writer.to_string();
    let bytes = codec::encode(&entry)?;
    audit.insert(seq, bytes.as_slice())?;
    meta.insert(head_key(writer).as_str(), link(&bytes).as_str())?;
    Ok(seq)
}

/// Checks every audit chain in `db` (see [`ChainCheck`]).
pub fn verify(db: &redb::Database) -> anyhow::Result<Verdict> {
    let txn = db.begin_read()?;
    let audit = txn.open_table(AUDIT)?;
    let meta = txn.open_table(META)?;
    let mut check = ChainCheck::default();
    for item in audit.iter()? {
        let (k, v) = item?;
        if let Err(verdict) = check.entry(k.value(), v.value()) {
            return Ok(verdict);
        }
    }
    let mut heads = Vec::new();
    for item in meta.range(LEGACY_HEAD..)? {
        let (k, v) = item?;
        let key = k.value();
        let writer = match key.strip_prefix(LEGACY_HEAD) {
            Some("") => "",
            Some(rest) => match rest.strip_prefix('.') {
                Some(writer) => writer,
                None => continue,
            },
            None => break,
        };
        heads.push((writer.to_string(), v.value().to_string()));
    }
    Ok(check.finish(heads))
}
