//! Encrypted, consistent backups of the store (`sluice backup`, `GET /v1/admin/backup`) and
//! restoring them (`sluice restore`).
//!
//! A backup has two layers.
//!
//! **The snapshot** is a logical dump of every table of the store (the list is
//! `each_table`, in the store's `snapshot` catalog), taken in one read transaction of the
//! store: its MVCC makes it consistent (a write is in it whole or not at all: a record with its index entries, its
//! expiries and its audit entry) and never blocks the writer. It holds the raw key and value bytes of every
//! row, `meta` (store format, head of the audit hash chain) included, so a restore yields
//! the same logical database. Integers are little-endian:
//!
//! ```text
//! "SLUICE-SNAPSHOT\0" | format u32 (1) | created_at ms i64 | tables u32
//! per table: name (u16 length, UTF-8) | kind u8 (0 table, 1 multimap) | rows u64
//!            per row: key (u32 length, bytes) | value (u32 length, bytes)
//! ```
//!
//! The snapshot ends right after its last table; every length is checked against a limit
//! and read incrementally, so a bad length cannot make a reader allocate more than the data
//! present.
//!
//! **The envelope** encrypts the snapshot with XChaCha20-Poly1305 in chunks of 1 MiB:
//!
//! ```text
//! header: "SLUICE-BACKUP\0" | version u8 (1) | chunk size u32 | nonce prefix [19] | key id [8]
//! chunks: ciphertext (chunk size bytes; the last chunk 0 to chunk size) | tag [16]
//! ```
//!
//! Chunk `i` (from 0) is sealed with the nonce `prefix | i as u32 big-endian | last` (`last`
//! is 1 for the final chunk, else 0), and with the whole header as associated data. The key
//! id is the first 8 bytes of the key's SHA-256, so a wrong key is named before anything is
//! decrypted; a changed byte anywhere fails its chunk's tag (or the header's checks);
//! chunks cannot be reordered or dropped; and a file cut short lacks the chunk marked last.
//!
//! The key is 32 random bytes, kept in a file as 64 hex digits (`sluice backup-key`).
//!
//! Restoring decrypts and checks the whole file before it touches the data directory, then
//! writes a fresh database beside the live one (`sluice.redb.restoring`), checks its audit
//! hash chain, and renames it into place.
//!
//! The code is split by concern: the store's [`snapshot`](crate::store::snapshot) module
//! lists the tables, writes and reads the snapshot and opens the database files (the only
//! part that knows the database's layout); here, `envelope` holds the key and the
//! encryption, and `files` what `sluice backup`, `sluice restore` and `sluice vacuum` do
//! with files.

pub(crate) mod envelope;
mod files;

pub use crate::store::snapshot::{
    Carried, Kind, SNAPSHOT_FORMAT, Summary, dump, dump_txn, restore_snapshot, table_names,
    verify_snapshot,
};
pub use envelope::{
    BackupError, BackupKey, CHUNK, Decryptor, Encryptor, MAGIC, VERSION, decrypt, encrypt,
};
pub use files::{
    AtomicFile, RESTORING, Restored, VACUUMING, Vacuumed, Written, backup_data_dir, backup_url,
    restore, vacuum, verify_file,
};
