//! The tokens' table: each issued token's record under the SHA-256 of the token (the token
//! itself is never stored), each change together with its audit entry.

use crate::store::redb::codec;
use anyhow::{Context as _, Result};
use redb::{ReadableDatabase as _, ReadableTable as _};

use super::Db;
use super::tables::TOKENS;
use crate::auth::TokenRecord;
use crate::store::AuditEntry;

fn decode(bytes: &[u8]) -> Result<TokenRecord> {
    codec::decode(bytes).context("decoding a token record")
}

impl Db {
    /// Every token issued, with the hash it is stored under (blocking).
    pub fn tokens(&self) -> Result<Vec<(String, TokenRecord)>> {
        let txn = self.raw().begin_read()?;
        let table = match txn.open_table(TOKENS) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
            Err(e) => return Err(e.into()),
        };
        table
            .iter()?
            .map(|row| {
                let (k, v) = row?;
                Ok((k.value().to_string(), decode(v.value())?))
            })
            .collect()
    }

    /// Stores a new token's `record` under `hash`, with its audit entry, in one durable
    /// transaction (blocking).
    pub fn put_token(&self, hash: &str, record: &TokenRecord, entry: AuditEntry) -> Result<()> {
        let txn = self.raw().begin_write()?;
        txn.open_table(TOKENS)?
            .insert(hash, codec::encode(record)?.as_slice())?;
        self.append_audit(&txn, entry)?;
        txn.commit()?;
        Ok(())
    }

    /// Marks the token with id `id` revoked at `now_ms`, with the audit entry `entry` makes
    /// of it, in one durable transaction; `None` if there is no such token. A revoked token
    /// is returned as it is, and nothing is written.
    pub fn revoke_token(
        &self,
        id: &str,
        now_ms: i64,
        entry: impl FnOnce(&TokenRecord) -> AuditEntry,
    ) -> Result<Option<TokenRecord>> {
        let txn = self.raw().begin_write()?;
        let found = {
            let mut table = txn.open_table(TOKENS)?;
            let mut found = None;
            for row in table.iter()? {
                let (k, v) = row?;
                let record = decode(v.value())?;
                if record.id == id {
                    found = Some((k.value().to_string(), record));
                    break;
                }
            }
            match found {
                Some((key, mut record)) if record.revoked_at.is_none() => {
                    record.revoked_at = Some(now_ms);
                    table.insert(key.as_str(), codec::encode(&record)?.as_slice())?;
                    Some((record, true))
                }
                Some((_, record)) => Some((record, false)),
                None => None,
            }
        };
        let Some((record, changed)) = found else {
            return Ok(None);
        };
        if changed {
            self.append_audit(&txn, entry(&record))?;
            txn.commit()?;
        }
        Ok(Some(record))
    }
}
