//! The deletions a restore carries over ([`crate::forgetting`]), read from the audit log of
//! the database it replaces and left in the restored one.

use crate::store::redb::codec;
use anyhow::Result;
use redb::{Database, ReadableDatabase};

use super::tables::{AUDIT, META};
use crate::forgetting::{Forget, META_KEY, of_entry};
use crate::store::AuditEntry;

/// The deletions recorded in `db`'s audit log after entry `after`.
pub(crate) fn since(db: &impl ReadableDatabase, after: u64) -> Result<Vec<Forget>> {
    let txn = db.begin_read()?;
    let audit = txn.open_table(AUDIT)?;
    let mut out = Vec::new();
    for item in audit.range(after.saturating_add(1)..)? {
        let (k, v) = item?;
        let entry: AuditEntry = codec::decode(v.value())?;
        out.extend(of_entry(k.value(), &entry));
    }
    Ok(out)
}

/// Leaves `forgets` in the restored database `db`, for the gateway to apply at its start.
pub(crate) fn leave(db: &Database, forgets: &[Forget]) -> Result<()> {
    let txn = db.begin_write()?;
    txn.open_table(META)?
        .insert(META_KEY, serde_json::to_string(forgets)?.as_str())?;
    txn.commit()?;
    Ok(())
}
