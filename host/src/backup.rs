//! Encrypted, consistent backups of the store (`sluice backup`, `GET /v1/admin/backup`) and
//! restoring them (`sluice restore`).
//!
//! A backup has two layers.
//!
//! **The snapshot** is a logical dump of every table of the store (the list is
//! [`each_table`]), taken in one redb read transaction: redb's MVCC makes it consistent (a
//! write is in it whole or not at all: a record with its index entries, its expiries and its
//! audit entry) and never blocks the writer. It holds the raw key and value bytes of every
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

use std::fmt;
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, anyhow, bail, ensure};
use chacha20poly1305::aead::{AeadInOut as _, KeyInit as _};
use chacha20poly1305::{Key, Tag, XChaCha20Poly1305, XNonce};
use redb::{
    Database, DatabaseError, MultimapTableDefinition, MultimapTableHandle as _, ReadTransaction,
    ReadableDatabase, ReadableMultimapTable as _, ReadableTable as _, ReadableTableMetadata as _,
    TableDefinition, TableError, TableHandle as _,
};
use sha2::{Digest as _, Sha256};

use crate::store::redb::audit;
use crate::store::tables;

// ---------------------------------------------------------------------------------------
// The tables.

/// What kind of redb table a table is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A `TableDefinition`.
    Table,
    /// A `MultimapTableDefinition`.
    Multimap,
}

impl Kind {
    fn code(self) -> u8 {
        match self {
            Self::Table => 0,
            Self::Multimap => 1,
        }
    }

    fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(Self::Table),
            1 => Some(Self::Multimap),
            _ => None,
        }
    }
}

/// Something done to every table of the store, with its typed definition.
trait Visit {
    fn table<K: redb::Key + 'static, V: redb::Value + 'static>(
        &mut self,
        def: TableDefinition<'_, K, V>,
    ) -> Result<()>;

    fn multimap<K: redb::Key + 'static, V: redb::Key + 'static>(
        &mut self,
        def: MultimapTableDefinition<'_, K, V>,
    ) -> Result<()>;
}

/// Every table of the store, in the order a snapshot holds them (`meta` first, so that a
/// restore checks the store format before anything else). A table added to
/// [`crate::store::tables`] must be added here: the test `every_table_is_backed_up` fails
/// until it is.
fn each_table(v: &mut impl Visit) -> Result<()> {
    v.table(tables::META)?;
    v.table(tables::RECORDS)?;
    v.multimap(tables::SUBJECTS)?;
    v.table(tables::TENANT_RECORDS)?;
    v.multimap(tables::FIELDS)?;
    v.table(tables::EXPIRIES)?;
    v.table(tables::AUDIT)?;
    v.table(tables::COMPONENTS)?;
    v.table(tables::PLUGINS)?;
    v.table(tables::BUNDLES)?;
    v.table(tables::ACTIVATIONS)?;
    v.table(tables::NOTICES)?;
    v.table(tables::OUTBOX)?;
    v.table(tables::OUTBOX_KEYS)?;
    v.table(tables::OUTBOX_DUE)?;
    v.table(tables::OUTBOX_OPEN)?;
    v.table(tables::OUTBOX_BY_RECORD)?;
    v.table(tables::FEED)?;
    v.table(tables::RECIPIENTS)?;
    v.table(tables::SUBJECT_RIGHTS)?;
    v.table(tables::TOKENS)?;
    Ok(())
}

/// The name and kind of every table a backup holds.
pub fn table_names() -> Vec<(String, Kind)> {
    struct Names(Vec<(String, Kind)>);
    impl Visit for Names {
        fn table<K: redb::Key + 'static, V: redb::Value + 'static>(
            &mut self,
            def: TableDefinition<'_, K, V>,
        ) -> Result<()> {
            self.0.push((def.name().to_string(), Kind::Table));
            Ok(())
        }

        fn multimap<K: redb::Key + 'static, V: redb::Key + 'static>(
            &mut self,
            def: MultimapTableDefinition<'_, K, V>,
        ) -> Result<()> {
            self.0.push((def.name().to_string(), Kind::Multimap));
            Ok(())
        }
    }
    let mut names = Names(Vec::new());
    // Infallible: the visitor never fails.
    let _ = each_table(&mut names);
    names.0
}

// ---------------------------------------------------------------------------------------
// The snapshot.

const SNAPSHOT_MAGIC: &[u8; 16] = b"SLUICE-SNAPSHOT\0";
/// The snapshot format this gateway writes and reads.
pub const SNAPSHOT_FORMAT: u32 = 1;
/// Most tables a snapshot may declare.
const MAX_TABLES: u32 = 1024;
/// Longest table name.
const MAX_NAME: usize = 255;
/// Largest key or value (redb's own limit is below 4 GiB; plugin components are the
/// largest values, at most 64 MiB).
const MAX_ITEM: u32 = 1 << 30;
/// Bytes of rows a restore writes per transaction.
const RESTORE_BATCH: usize = 64 << 20;

/// What a snapshot holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// When the snapshot was taken (ms since the epoch).
    pub created_at: i64,
    /// Tables.
    pub tables: u32,
    /// Rows, over all tables (pairs, for a multimap).
    pub rows: u64,
    /// Entries of the audit log.
    pub audit_entries: u64,
    /// The head of the audit hash chain (`sha256:<hex>` of the last entry), if any.
    pub audit_head: Option<String>,
}

impl Summary {
    fn new(created_at: i64) -> Self {
        Self {
            created_at,
            tables: 0,
            rows: 0,
            audit_entries: 0,
            audit_head: None,
        }
    }

    /// Counts a row of table `name`.
    fn note(&mut self, name: &str, key: &[u8], value: &[u8]) {
        self.rows += 1;
        if name == tables::AUDIT.name() {
            self.audit_entries += 1;
        } else if name == tables::META.name() && key == audit::HEAD.as_bytes() {
            self.audit_head = Some(String::from_utf8_lossy(value).into_owned());
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "taken {}; {} tables, {} rows, {} audit entries; audit head {}",
            crate::clock::rfc3339_ms(self.created_at),
            self.tables,
            self.rows,
            self.audit_entries,
            self.audit_head.as_deref().unwrap_or("(none)")
        )
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// Writes a snapshot of `db` to `out`, in one read transaction.
pub fn dump(db: &impl ReadableDatabase, out: &mut impl Write) -> Result<Summary> {
    let txn = db
        .begin_read()
        .context("starting the snapshot's read transaction")?;
    dump_txn(&txn, now_ms(), out)
}

/// Writes a snapshot of what `txn` sees to `out`, dated `created_at` (ms). Tables that do
/// not exist (yet) in the database are left out.
pub fn dump_txn(txn: &ReadTransaction, created_at: i64, out: &mut impl Write) -> Result<Summary> {
    struct Probe<'a> {
        txn: &'a ReadTransaction,
        tables: u32,
    }
    impl Visit for Probe<'_> {
        fn table<K: redb::Key + 'static, V: redb::Value + 'static>(
            &mut self,
            def: TableDefinition<'_, K, V>,
        ) -> Result<()> {
            if exists(self.txn.open_table(def))?.is_some() {
                self.tables += 1;
            }
            Ok(())
        }

        fn multimap<K: redb::Key + 'static, V: redb::Key + 'static>(
            &mut self,
            def: MultimapTableDefinition<'_, K, V>,
        ) -> Result<()> {
            if exists(self.txn.open_multimap_table(def))?.is_some() {
                self.tables += 1;
            }
            Ok(())
        }
    }

    struct Dumper<'a, W> {
        txn: &'a ReadTransaction,
        out: &'a mut W,
        summary: Summary,
    }
    impl<W: Write> Dumper<'_, W> {
        fn head(&mut self, name: &str, kind: Kind, rows: u64) -> Result<()> {
            let len = u16::try_from(name.len())?;
            self.out.write_all(&len.to_le_bytes())?;
            self.out.write_all(name.as_bytes())?;
            self.out.write_all(&[kind.code()])?;
            self.out.write_all(&rows.to_le_bytes())?;
            self.summary.tables += 1;
            Ok(())
        }

        fn row(&mut self, name: &str, key: &[u8], value: &[u8]) -> Result<()> {
            for item in [key, value] {
                let len = u32::try_from(item.len())
                    .ok()
                    .filter(|n| *n <= MAX_ITEM)
                    .with_context(|| format!("a row of table {name} is too large to back up"))?;
                self.out.write_all(&len.to_le_bytes())?;
                self.out.write_all(item)?;
            }
            self.summary.note(name, key, value);
            Ok(())
        }
    }
    impl<W: Write> Visit for Dumper<'_, W> {
        fn table<K: redb::Key + 'static, V: redb::Value + 'static>(
            &mut self,
            def: TableDefinition<'_, K, V>,
        ) -> Result<()> {
            let name = def.name();
            let Some(table) = exists(self.txn.open_table(def))? else {
                return Ok(());
            };
            let rows = table.len()?;
            self.head(name, Kind::Table, rows)?;
            let mut written = 0u64;
            for item in table.iter()? {
                let (k, v) = item?;
                let (k, v) = (k.value(), v.value());
                self.row(name, K::as_bytes(&k).as_ref(), V::as_bytes(&v).as_ref())?;
                written += 1;
            }
            ensure!(
                written == rows,
                "table {name} has {written} rows, not the {rows} it counts"
            );
            Ok(())
        }

        fn multimap<K: redb::Key + 'static, V: redb::Key + 'static>(
            &mut self,
            def: MultimapTableDefinition<'_, K, V>,
        ) -> Result<()> {
            let name = def.name();
            let Some(table) = exists(self.txn.open_multimap_table(def))? else {
                return Ok(());
            };
            let rows = table.len()?;
            self.head(name, Kind::Multimap, rows)?;
            let mut written = 0u64;
            for item in table.iter()? {
                let (k, values) = item?;
                let k = k.value();
                let key = K::as_bytes(&k);
                for v in values {
                    let v = v?;
                    let v = v.value();
                    self.row(name, key.as_ref(), V::as_bytes(&v).as_ref())?;
                    written += 1;
                }
            }
            ensure!(
                written == rows,
                "table {name} has {written} rows, not the {rows} it counts"
            );
            Ok(())
        }
    }

    let mut probe = Probe { txn, tables: 0 };
    each_table(&mut probe)?;
    out.write_all(SNAPSHOT_MAGIC)?;
    out.write_all(&SNAPSHOT_FORMAT.to_le_bytes())?;
    out.write_all(&created_at.to_le_bytes())?;
    out.write_all(&probe.tables.to_le_bytes())?;
    let mut dumper = Dumper {
        txn,
        out,
        summary: Summary::new(created_at),
    };
    each_table(&mut dumper)?;
    let summary = dumper.summary;
    ensure!(
        summary.tables == probe.tables,
        "the snapshot changed while it was written"
    );
    out.flush()?;
    Ok(summary)
}

/// `Ok(None)` for a table that does not exist.
fn exists<T>(opened: std::result::Result<T, TableError>) -> Result<Option<T>> {
    match opened {
        Ok(t) => Ok(Some(t)),
        Err(TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// A table of a snapshot being read.
#[derive(Debug, Clone)]
struct TableHead {
    name: String,
}

/// Reads a snapshot, checking it as it goes.
struct SnapshotReader<R> {
    input: R,
    known: Vec<(String, Kind)>,
    declared: u32,
    seen: Vec<String>,
    current: Option<TableHead>,
    remaining: u64,
    format: Option<String>,
    summary: Summary,
    key: Vec<u8>,
    value: Vec<u8>,
}

fn read_array<const N: usize>(r: &mut impl Read) -> io::Result<[u8; N]> {
    let mut buf = [0u8; N];
    r.read_exact(&mut buf)?;
    Ok(buf)
}

/// Reads exactly `len` bytes into `buf` without trusting `len` for the allocation.
fn read_exactly(r: &mut impl Read, len: u64, buf: &mut Vec<u8>) -> io::Result<()> {
    buf.clear();
    r.take(len).read_to_end(buf)?;
    if buf.len() as u64 == len {
        Ok(())
    } else {
        Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the snapshot ends in the middle of a row",
        ))
    }
}

impl<R: Read> SnapshotReader<R> {
    fn open(mut input: R) -> Result<Self> {
        let magic: [u8; 16] = read_array(&mut input).context("reading the snapshot's header")?;
        ensure!(
            &magic == SNAPSHOT_MAGIC,
            "the backup does not hold a Sluice snapshot"
        );
        let format = u32::from_le_bytes(read_array(&mut input)?);
        ensure!(
            format == SNAPSHOT_FORMAT,
            "the backup holds snapshot format {format}; this sluice reads format {SNAPSHOT_FORMAT}"
        );
        let created_at = i64::from_le_bytes(read_array(&mut input)?);
        let declared = u32::from_le_bytes(read_array(&mut input)?);
        ensure!(
            declared <= MAX_TABLES,
            "the snapshot declares {declared} tables (at most {MAX_TABLES})"
        );
        Ok(Self {
            input,
            known: table_names(),
            declared,
            seen: Vec::new(),
            current: None,
            remaining: 0,
            format: None,
            summary: Summary::new(created_at),
            key: Vec::new(),
            value: Vec::new(),
        })
    }

    /// The next table, once the rows of the one before are read; `None` at the end (which
    /// must be the end of the input).
    fn next_table(&mut self) -> Result<Option<TableHead>> {
        ensure!(
            self.remaining == 0,
            "rows of the previous table were left unread"
        );
        if self.seen.len() as u64 == u64::from(self.declared) {
            let mut one = [0u8; 1];
            let extra = self
                .input
                .read(&mut one)
                .context("reading the snapshot's end")?;
            ensure!(extra == 0, "the snapshot has data after its last table");
            // A format other than this gateway's was refused when read.
            ensure!(
                self.format.is_some(),
                "the snapshot holds no store format (meta.format)"
            );
            self.current = None;
            return Ok(None);
        }
        let len = usize::from(u16::from_le_bytes(
            read_array(&mut self.input).context("reading a table's header")?,
        ));
        ensure!(len <= MAX_NAME, "a table name of {len} bytes");
        let mut name = Vec::new();
        read_exactly(&mut self.input, len as u64, &mut name)?;
        let name = String::from_utf8(name).map_err(|_| anyhow!("a table name is not UTF-8"))?;
        let [code] = read_array(&mut self.input)?;
        let kind = Kind::from_code(code)
            .with_context(|| format!("table {name} has an unknown kind ({code})"))?;
        let rows = u64::from_le_bytes(read_array(&mut self.input)?);
        let Some((_, known)) = self.known.iter().find(|(n, _)| *n == name) else {
            bail!("the snapshot holds table {name}, which this gateway does not have");
        };
        ensure!(
            *known == kind,
            "table {name} is a {kind:?} in the snapshot but a {known:?} here"
        );
        ensure!(
            !self.seen.contains(&name),
            "the snapshot holds table {name} twice"
        );
        self.seen.push(name.clone());
        self.summary.tables += 1;
        self.remaining = rows;
        let head = TableHead { name };
        self.current = Some(head.clone());
        Ok(Some(head))
    }

    /// The next row of the current table, as (key bytes, value bytes).
    fn next_row(&mut self) -> Result<Option<(&[u8], &[u8])>> {
        if self.remaining == 0 {
            return Ok(None);
        }
        let name = self.current.as_ref().map(|t| t.name.as_str()).unwrap_or("");
        for buf in [&mut self.key, &mut self.value] {
            let len = u32::from_le_bytes(
                read_array(&mut self.input)
                    .with_context(|| format!("reading a row of table {name}"))?,
            );
            ensure!(
                len <= MAX_ITEM,
                "a row of table {name} claims {len} bytes (at most {MAX_ITEM})"
            );
            read_exactly(&mut self.input, u64::from(len), buf)
                .with_context(|| format!("reading a row of table {name}"))?;
        }
        self.remaining -= 1;
        if name == tables::META.name() && self.key == b"format" {
            let format = String::from_utf8_lossy(&self.value).into_owned();
            ensure!(
                format == tables::FORMAT,
                "the backup holds store format {format}; this gateway reads format {}",
                tables::FORMAT
            );
            self.format = Some(format);
        }
        self.summary.note(name, &self.key, &self.value);
        Ok(Some((&self.key, &self.value)))
    }
}

/// Reads and checks a whole snapshot; what it holds.
pub fn verify_snapshot(input: impl Read) -> Result<Summary> {
    let mut reader = SnapshotReader::open(input)?;
    while reader.next_table()?.is_some() {
        while reader.next_row()?.is_some() {}
    }
    Ok(reader.summary)
}

/// Hands the current table's rows to `insert` until about [`RESTORE_BATCH`] bytes went in;
/// whether rows remain.
fn fill<R: Read>(
    reader: &mut SnapshotReader<R>,
    mut insert: impl FnMut(&[u8], &[u8]) -> Result<()>,
) -> Result<bool> {
    let mut bytes = 0;
    while let Some((k, v)) = reader.next_row()? {
        bytes += k.len() + v.len();
        insert(k, v)?;
        if bytes >= RESTORE_BATCH {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Writes the snapshot read from `input` into `db` (a new, empty database), with the same
/// typed table definitions the store uses.
pub fn restore_snapshot(input: impl Read, db: &Database) -> Result<Summary> {
    struct Insert<'a, R> {
        db: &'a Database,
        name: &'a str,
        reader: &'a mut SnapshotReader<R>,
        done: bool,
    }
    impl<R: Read> Visit for Insert<'_, R> {
        fn table<K: redb::Key + 'static, V: redb::Value + 'static>(
            &mut self,
            def: TableDefinition<'_, K, V>,
        ) -> Result<()> {
            if def.name() != self.name {
                return Ok(());
            }
            self.done = true;
            loop {
                let txn = self.db.begin_write()?;
                let more = {
                    let mut table = txn.open_table(def)?;
                    fill(self.reader, |k, v| {
                        table.insert(K::from_bytes(k), V::from_bytes(v))?;
                        Ok(())
                    })?
                };
                txn.commit()?;
                if !more {
                    return Ok(());
                }
            }
        }

        fn multimap<K: redb::Key + 'static, V: redb::Key + 'static>(
            &mut self,
            def: MultimapTableDefinition<'_, K, V>,
        ) -> Result<()> {
            if def.name() != self.name {
                return Ok(());
            }
            self.done = true;
            loop {
                let txn = self.db.begin_write()?;
                let more = {
                    let mut table = txn.open_multimap_table(def)?;
                    fill(self.reader, |k, v| {
                        table.insert(K::from_bytes(k), V::from_bytes(v))?;
                        Ok(())
                    })?
                };
                txn.commit()?;
                if !more {
                    return Ok(());
                }
            }
        }
    }

    let mut reader = SnapshotReader::open(input)?;
    while let Some(head) = reader.next_table()? {
        let mut insert = Insert {
            db,
            name: &head.name,
            reader: &mut reader,
            done: false,
        };
        each_table(&mut insert).with_context(|| format!("restoring table {}", head.name))?;
        // `next_table` only admits the tables `each_table` lists.
        ensure!(insert.done, "table {} was not restored", head.name);
    }
    Ok(reader.summary)
}

// ---------------------------------------------------------------------------------------
// The key.

/// A backup key: 32 random bytes, kept in a file as 64 hex digits on one line.
pub struct BackupKey([u8; 32]);

impl fmt::Debug for BackupKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BackupKey({})", self.id_hex())
    }
}

impl Drop for BackupKey {
    fn drop(&mut self) {
        self.0.fill(0);
        std::hint::black_box(&self.0);
    }
}

impl BackupKey {
    /// A new random key.
    pub fn generate() -> Result<Self> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| anyhow!("no randomness for a key: {e}"))?;
        Ok(Self(key))
    }

    /// A key from its text: 64 hex digits (surrounding whitespace ignored).
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        ensure!(
            text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()),
            "not a backup key: a backup key file holds 64 hex digits (32 bytes) on one line, \
             as `sluice backup-key` writes it"
        );
        let mut key = [0u8; 32];
        hex::decode_to_slice(text, &mut key)?;
        Ok(Self(key))
    }

    /// Reads the key file `path`.
    pub fn read(path: &Path) -> Result<Self> {
        let mut bytes = Vec::new();
        File::open(path)
            .and_then(|f| f.take(4096).read_to_end(&mut bytes))
            .with_context(|| format!("reading backup key {}", path.display()))?;
        let text = String::from_utf8(bytes).unwrap_or_default();
        Self::parse(&text).with_context(|| format!("backup key {}", path.display()))
    }

    /// Writes the key to a new file `path`, readable by its owner only; an existing file is
    /// never overwritten.
    pub fn write_new(&self, path: &Path) -> Result<()> {
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut text = hex::encode(self.0);
        text.push('\n');
        options
            .open(path)
            .and_then(|mut f| {
                f.write_all(text.as_bytes())?;
                f.sync_all()
            })
            .with_context(|| {
                format!(
                    "writing {} (an existing key is never overwritten)",
                    path.display()
                )
            })
    }

    /// The key id: the first 8 bytes of the key's SHA-256.
    pub fn id(&self) -> [u8; 8] {
        let digest = Sha256::digest(self.0);
        let mut id = [0u8; 8];
        id.copy_from_slice(&digest[..8]);
        id
    }

    /// The key id in hex.
    pub fn id_hex(&self) -> String {
        hex::encode(self.id())
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&Key::from(self.0))
    }
}

// ---------------------------------------------------------------------------------------
// The envelope.

/// The first bytes of a backup file.
pub const MAGIC: &[u8; 14] = b"SLUICE-BACKUP\0";
/// The envelope version this gateway writes and reads.
pub const VERSION: u8 = 1;
/// Plaintext bytes per chunk.
pub const CHUNK: usize = 1 << 20;
const PREFIX: usize = 19;
const KEY_ID: usize = 8;
const TAG: usize = 16;
const HEADER: usize = MAGIC.len() + 1 + 4 + PREFIX + KEY_ID;
/// Chunk sizes a reader accepts (a writer uses [`CHUNK`]).
const CHUNK_RANGE: std::ops::RangeInclusive<usize> = 16..=(16 << 20);

/// Why a backup file cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// The file does not start with the backup header.
    #[error("not a Sluice backup (it does not start with the SLUICE-BACKUP header)")]
    NotABackup,
    /// An envelope version this gateway does not read.
    #[error("backup format version {0} is not supported (this sluice reads version {VERSION})")]
    Version(u8),
    /// The header's fields are not valid.
    #[error("the backup is corrupted or was tampered with (its header)")]
    Header,
    /// The key file is not the one the backup was made with.
    #[error(
        "this backup was made with a different key (the backup's key id is {backup}, the key \
         file's is {key})"
    )]
    WrongKey {
        /// The key id the backup names.
        backup: String,
        /// The key id of the key given.
        key: String,
    },
    /// A chunk's tag does not verify.
    #[error("the backup is corrupted or was tampered with (chunk {0})")]
    Corrupted(u64),
    /// The file ends before its last chunk.
    #[error(
        "the backup is truncated: it ends after {} and its last chunk is missing",
        match .0 { 0 => "its header".to_string(), n => format!("chunk {n}") }
    )]
    Truncated(u64),
    /// Reading the file failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl BackupError {
    fn into_io(self) -> io::Error {
        match self {
            Self::Io(e) => e,
            other => io::Error::other(other),
        }
    }
}

fn nonce(prefix: &[u8; PREFIX], index: u32, last: bool) -> XNonce {
    let mut n = [0u8; 24];
    n[..PREFIX].copy_from_slice(prefix);
    n[PREFIX..PREFIX + 4].copy_from_slice(&index.to_be_bytes());
    n[23] = u8::from(last);
    XNonce::from(n)
}

/// Reads until `buf` is full or the input ends; the bytes read.
fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Encrypts what is written to it into a backup file written to `out`; [`Self::finish`]
/// seals the last chunk (a backup not finished is not readable).
pub struct Encryptor<W: Write> {
    out: W,
    cipher: XChaCha20Poly1305,
    header: [u8; HEADER],
    prefix: [u8; PREFIX],
    chunk: usize,
    buf: Vec<u8>,
    index: u32,
}

impl<W: Write> fmt::Debug for Encryptor<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Encryptor")
            .field("chunk", &self.index)
            .finish_non_exhaustive()
    }
}

impl<W: Write> Encryptor<W> {
    /// Writes the header to `out`.
    pub fn new(key: &BackupKey, out: W) -> io::Result<Self> {
        Self::with_chunk_size(key, out, CHUNK)
    }

    fn with_chunk_size(key: &BackupKey, mut out: W, chunk: usize) -> io::Result<Self> {
        let mut prefix = [0u8; PREFIX];
        getrandom::fill(&mut prefix).map_err(|e| io::Error::other(e.to_string()))?;
        let mut header = [0u8; HEADER];
        let mut at = 0;
        for part in [
            &MAGIC[..],
            &[VERSION],
            &u32::try_from(chunk)
                .map_err(|_| io::Error::other("chunk size"))?
                .to_le_bytes(),
            &prefix,
            &key.id(),
        ] {
            header[at..at + part.len()].copy_from_slice(part);
            at += part.len();
        }
        out.write_all(&header)?;
        Ok(Self {
            out,
            cipher: key.cipher(),
            header,
            prefix,
            chunk,
            buf: Vec::with_capacity(chunk),
            index: 0,
        })
    }

    fn seal(&mut self, last: bool) -> io::Result<()> {
        let nonce = nonce(&self.prefix, self.index, last);
        let tag = self
            .cipher
            .encrypt_inout_detached(&nonce, &self.header, self.buf.as_mut_slice().into())
            .map_err(|_| io::Error::other("encrypting a chunk of the backup failed"))?;
        self.out.write_all(&self.buf)?;
        self.out.write_all(&tag)?;
        self.buf.clear();
        self.index = self
            .index
            .checked_add(1)
            .ok_or_else(|| io::Error::other("the backup is too large (more than 2^32 chunks)"))?;
        Ok(())
    }

    /// Seals the last chunk and flushes; the output.
    pub fn finish(mut self) -> io::Result<W> {
        self.seal(true)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

impl<W: Write> Write for Encryptor<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let mut rest = data;
        while !rest.is_empty() {
            // A full chunk is sealed only once more data shows it is not the last one.
            if self.buf.len() == self.chunk {
                self.seal(false)?;
            }
            let take = rest.len().min(self.chunk - self.buf.len());
            self.buf.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Decrypts a backup file read from `input`, checking every chunk before handing out its
/// bytes; reads end only after the chunk marked last has verified.
pub struct Decryptor<R: Read> {
    input: R,
    cipher: XChaCha20Poly1305,
    header: [u8; HEADER],
    prefix: [u8; PREFIX],
    chunk: usize,
    /// Chunks verified so far.
    index: u64,
    buf: Vec<u8>,
    pos: usize,
    peeked: Option<u8>,
    done: bool,
    failed: bool,
}

impl<R: Read> fmt::Debug for Decryptor<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decryptor")
            .field("chunk", &self.index)
            .finish_non_exhaustive()
    }
}

impl<R: Read> Decryptor<R> {
    /// Reads and checks the header: that this is a backup, of a version this sluice reads,
    /// made with `key`.
    pub fn new(key: &BackupKey, mut input: R) -> Result<Self, BackupError> {
        let mut header = [0u8; HEADER];
        let n = read_full(&mut input, &mut header)?;
        let magic = n.min(MAGIC.len());
        if n == 0 || header[..magic] != MAGIC[..magic] {
            return Err(BackupError::NotABackup);
        }
        if n < HEADER {
            return Err(BackupError::Truncated(0));
        }
        let version = header[MAGIC.len()];
        if version != VERSION {
            return Err(BackupError::Version(version));
        }
        let at = MAGIC.len() + 1;
        let chunk = u32::from_le_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
            as usize;
        if !CHUNK_RANGE.contains(&chunk) {
            return Err(BackupError::Header);
        }
        let mut prefix = [0u8; PREFIX];
        prefix.copy_from_slice(&header[at + 4..at + 4 + PREFIX]);
        let id = &header[at + 4 + PREFIX..];
        if id != key.id() {
            return Err(BackupError::WrongKey {
                backup: hex::encode(id),
                key: key.id_hex(),
            });
        }
        Ok(Self {
            input,
            cipher: key.cipher(),
            header,
            prefix,
            chunk,
            index: 0,
            buf: Vec::with_capacity(chunk + TAG),
            pos: 0,
            peeked: None,
            done: false,
            failed: false,
        })
    }

    fn next_chunk(&mut self) -> Result<(), BackupError> {
        self.buf.clear();
        self.pos = 0;
        self.buf.extend(self.peeked.take());
        let want = self.chunk + TAG;
        let missing = (want - self.buf.len()) as u64;
        (&mut self.input).take(missing).read_to_end(&mut self.buf)?;
        let last = self.buf.len() < want || {
            let mut one = [0u8; 1];
            if read_full(&mut self.input, &mut one)? == 1 {
                self.peeked = Some(one[0]);
                false
            } else {
                true
            }
        };
        let number = self.index + 1;
        if self.buf.is_empty() {
            return Err(BackupError::Truncated(self.index));
        }
        if self.buf.len() < TAG {
            return Err(BackupError::Corrupted(number));
        }
        let index = u32::try_from(self.index).map_err(|_| BackupError::Corrupted(number))?;
        let split = self.buf.len() - TAG;
        let (msg, tag) = self.buf.split_at_mut(split);
        let tag = Tag::try_from(&*tag).map_err(|_| BackupError::Corrupted(number))?;
        let opened = self.cipher.decrypt_inout_detached(
            &nonce(&self.prefix, index, last),
            &self.header,
            (&mut *msg).into(),
            &tag,
        );
        if opened.is_err() {
            // A chunk that verifies as a middle chunk, at the end of the file: the file was
            // cut after it. (A failed check leaves the buffer as it was.)
            if last
                && self
                    .cipher
                    .decrypt_inout_detached(
                        &nonce(&self.prefix, index, false),
                        &self.header,
                        msg.into(),
                        &tag,
                    )
                    .is_ok()
            {
                return Err(BackupError::Truncated(number));
            }
            return Err(BackupError::Corrupted(number));
        }
        self.buf.truncate(split);
        self.index = number;
        self.done = last;
        Ok(())
    }
}

impl<R: Read> Read for Decryptor<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.failed {
            return Err(io::Error::other("the backup could not be read"));
        }
        while self.pos == self.buf.len() {
            if self.done {
                return Ok(0);
            }
            if let Err(e) = self.next_chunk() {
                self.failed = true;
                self.buf.clear();
                self.pos = 0;
                return Err(e.into_io());
            }
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Encrypts everything read from `input` into a backup file written to `out`; the
/// plaintext bytes.
pub fn encrypt(key: &BackupKey, input: &mut impl Read, out: impl Write) -> Result<u64> {
    let mut enc = Encryptor::new(key, out)?;
    let n = io::copy(input, &mut enc)?;
    enc.finish()?;
    Ok(n)
}

/// Decrypts the backup file read from `input` to `out`; the plaintext bytes. What was
/// written to `out` before an error is not to be trusted.
pub fn decrypt(key: &BackupKey, input: impl Read, out: &mut impl Write) -> Result<u64> {
    let mut dec = Decryptor::new(key, input)?;
    Ok(io::copy(&mut dec, out)?)
}

// ---------------------------------------------------------------------------------------
// Files: what `sluice backup` and `sluice restore` do.

/// A file written beside its destination (`NAME.tmp`, readable by its owner only) and
/// moved into place by [`Self::commit`]; removed if dropped before.
#[derive(Debug)]
pub struct AtomicFile {
    dest: PathBuf,
    tmp: PathBuf,
    file: Option<File>,
    force: bool,
    committed: bool,
}

impl AtomicFile {
    /// Starts writing `dest`; refuses if it exists, unless `force`.
    pub fn create(dest: &Path, force: bool) -> Result<Self> {
        if !force && fs::symlink_metadata(dest).is_ok() {
            bail!(
                "{} exists: refusing to overwrite it (--force replaces it)",
                dest.display()
            );
        }
        let mut name = dest
            .file_name()
            .with_context(|| format!("{} names no file", dest.display()))?
            .to_os_string();
        name.push(".tmp");
        let tmp = dest.with_file_name(name);
        let _ = fs::remove_file(&tmp);
        let mut options = fs::OpenOptions::new();
        options.write(true).read(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options
            .open(&tmp)
            .with_context(|| format!("creating {}", tmp.display()))?;
        Ok(Self {
            dest: dest.to_path_buf(),
            tmp,
            file: Some(file),
            force,
            committed: false,
        })
    }

    /// The file being written.
    pub fn file(&mut self) -> &mut File {
        self.file
            .as_mut()
            .expect("an uncommitted AtomicFile has its file")
    }

    /// Where it is written until committed.
    pub fn tmp_path(&self) -> &Path {
        &self.tmp
    }

    /// Makes it durable and moves it to its destination.
    pub fn commit(mut self) -> Result<()> {
        if let Some(file) = self.file.take() {
            file.sync_all()
                .with_context(|| format!("writing {}", self.tmp.display()))?;
        }
        if self.force {
            fs::rename(&self.tmp, &self.dest)
        } else {
            // Never replaces a file that appeared meanwhile.
            fs::hard_link(&self.tmp, &self.dest).and_then(|()| fs::remove_file(&self.tmp))
        }
        .with_context(|| format!("moving {} to {}", self.tmp.display(), self.dest.display()))?;
        self.committed = true;
        sync_parent(&self.dest);
        Ok(())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.committed {
            self.file = None;
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Best effort: makes a rename in `path`'s directory durable.
fn sync_parent(path: &Path) {
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Reads the whole backup file `path`, checking every chunk and the snapshot inside; what
/// it holds.
pub fn verify_file(path: &Path, key: &BackupKey) -> Result<Summary> {
    let file = File::open(path).with_context(|| format!("opening backup {}", path.display()))?;
    let decryptor = Decryptor::new(key, BufReader::new(file))
        .with_context(|| format!("backup {}", path.display()))?;
    verify_snapshot(decryptor).with_context(|| format!("backup {}", path.display()))
}

/// What [`backup_data_dir`] and [`backup_url`] wrote.
#[derive(Debug, Clone)]
pub struct Written {
    /// What the backup holds.
    pub summary: Summary,
    /// Its size.
    pub bytes: u64,
}

/// Backs up the database in `data_dir` (of a stopped gateway) to `out`.
pub fn backup_data_dir(
    data_dir: &Path,
    key: &BackupKey,
    out: &Path,
    force: bool,
) -> Result<Written> {
    let path = data_dir.join(tables::FILE);
    ensure!(
        path.is_file(),
        "{} holds no database ({} does not exist)",
        data_dir.display(),
        path.display()
    );
    let file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    let db = match Database::builder().create_with_backend(redb::backends::FileBackend::new(file)?)
    {
        Ok(db) => db,
        Err(DatabaseError::DatabaseAlreadyOpen) => {
            bail!("the database is in use: stop the gateway or use --url")
        }
        Err(e) => {
            return Err(e).with_context(|| format!("opening the redb database {}", path.display()));
        }
    };
    let mut file = AtomicFile::create(out, force)?;
    {
        let mut enc = Encryptor::new(key, BufWriter::new(file.file()))?;
        dump(&db, &mut enc)?;
        enc.finish()?;
    }
    drop(db);
    finish(file, key)
}

/// Checks the backup just written and moves it into place.
fn finish(file: AtomicFile, key: &BackupKey) -> Result<Written> {
    let summary = verify_file(file.tmp_path(), key).context("checking the backup just written")?;
    let bytes = fs::metadata(file.tmp_path())?.len();
    file.commit()?;
    Ok(Written { summary, bytes })
}

/// Backs up a running gateway at `url` to `out`: the gateway takes the snapshot
/// (`GET /v1/admin/backup`, with `token` as bearer token) and it is encrypted here.
pub async fn backup_url(
    url: &str,
    token: Option<&str>,
    key: &BackupKey,
    out: &Path,
    force: bool,
) -> Result<Written> {
    let base = url.trim_end_matches('/');
    let mut file = AtomicFile::create(out, force)?;
    let mut request = reqwest::Client::new().get(format!("{base}/v1/admin/backup"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let mut response = request.send().await.context("reaching the gateway")?;
    let status = response.status();
    if !status.is_success() {
        let text = response.text().await.unwrap_or_default();
        let error = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_string))
            .unwrap_or(text);
        let hint = match status.as_u16() {
            401 => " (give an admin token: --token or SLUICE_TOKEN)",
            403 => " (backups need a token with the admin role)",
            _ => "",
        };
        bail!("the gateway refused the backup: {status}: {error}{hint}");
    }
    {
        let mut enc = Encryptor::new(key, BufWriter::new(file.file()))?;
        while let Some(bytes) = response
            .chunk()
            .await
            .context("receiving the snapshot from the gateway")?
        {
            enc.write_all(&bytes)?;
        }
        enc.finish()?;
    }
    finish(file, key)
}

/// What [`restore`] did.
#[derive(Debug, Clone)]
pub struct Restored {
    /// What the backup held.
    pub summary: Summary,
    /// The restored database.
    pub path: PathBuf,
    /// Audit entries whose hash chain was verified in the restored database.
    pub audit_verified: u64,
    /// The deletions carried over from the database it replaced.
    pub carried: Carried,
}

/// The name of the database being restored, beside the live one.
pub const RESTORING: &str = "sluice.redb.restoring";

/// Restores the backup `from` into `data_dir` (created if missing): checks the whole backup
/// first, then writes a new database beside the live one, checks its audit hash chain, and
/// renames it into place. Refuses to replace an existing database unless `force`, and a
/// database in use by a gateway in any case.
pub fn restore(from: &Path, key: &BackupKey, data_dir: &Path, force: bool) -> Result<Restored> {
    let target = data_dir.join(tables::FILE);
    if !force && fs::symlink_metadata(&target).is_ok() {
        bail!(
            "{} exists: refusing to replace it (stop the gateway, and give --force to replace \
             its database with the backup)",
            target.display()
        );
    }
    // Before anything in the data directory is touched.
    let summary = verify_file(from, key)?;

    fs::create_dir_all(data_dir)
        .with_context(|| format!("creating data directory {}", data_dir.display()))?;
    if fs::symlink_metadata(&target).is_ok() {
        ensure_not_in_use(&target)?;
    }
    let staging = data_dir.join(RESTORING);
    match fs::remove_file(&staging) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("removing {}", staging.display())),
    }
    let written = write_restored(from, key, &staging, &summary);
    let audit_verified = match written {
        Ok(n) => n,
        Err(e) => {
            let _ = fs::remove_file(&staging);
            return Err(e);
        }
    };
    let carried = if fs::symlink_metadata(&target).is_ok() {
        carry_deletions(&target, &staging)
    } else {
        Ok(Carried::default())
    };
    let carried = match carried {
        Ok(c) => c,
        Err(e) => {
            let _ = fs::remove_file(&staging);
            return Err(e);
        }
    };
    if let Err(e) = fs::rename(&staging, &target) {
        let _ = fs::remove_file(&staging);
        return Err(e)
            .with_context(|| format!("moving the restored database to {}", target.display()));
    }
    sync_parent(&target);
    Ok(Restored {
        summary,
        path: target,
        audit_verified,
        carried,
    })
}

/// The deletions a restore carried over from the database it replaced.
#[derive(Debug, Clone, Default)]
pub struct Carried {
    /// Deletions recorded after the backup was taken, left for the gateway to re-apply.
    pub deletions: usize,
    /// Why none could be carried over, when the replaced database is not a later state of
    /// the backed-up one.
    pub unrelated: Option<String>,
}

/// Collects the deletions that the replaced database `live` recorded after the backup's
/// last audit entry and leaves them in the restored database `staging` (see
/// [`crate::forgetting`]). The replaced database must continue the backup's audit chain:
/// its entry at the backup's last sequence number must be byte for byte the backup's.
fn carry_deletions(live: &Path, staging: &Path) -> Result<Carried> {
    let restored = Database::open(staging)
        .with_context(|| format!("opening the restored database {}", staging.display()))?;
    let last = {
        let txn = restored.begin_read()?;
        let audit = txn.open_table(tables::AUDIT)?;
        audit.last()?.map(|(k, v)| (k.value(), v.value().to_vec()))
    };
    let old = match Database::builder().open_read_only(live) {
        Ok(db) => db,
        Err(e) => {
            return Ok(Carried {
                deletions: 0,
                unrelated: Some(format!("{} cannot be read ({e})", live.display())),
            });
        }
    };
    let same_history = {
        let txn = old.begin_read()?;
        match (exists(txn.open_table(tables::AUDIT))?, &last) {
            (Some(audit), Some((seq, bytes))) => audit
                .get(*seq)?
                .is_some_and(|v| v.value() == bytes.as_slice()),
            (_, None) => true,
            (None, Some(_)) => false,
        }
    };
    if !same_history {
        return Ok(Carried {
            deletions: 0,
            unrelated: Some(format!(
                "{} does not continue the backup's audit log",
                live.display()
            )),
        });
    }
    let forgets = crate::store::redb::forget::since(&old, last.map_or(0, |(seq, _)| seq))?;
    if !forgets.is_empty() {
        crate::store::redb::forget::leave(&restored, &forgets)?;
    }
    restored
        .close()
        .with_context(|| format!("closing the database {}", staging.display()))?;
    Ok(Carried {
        deletions: forgets.len(),
        unrelated: None,
    })
}

/// Writes the database of backup `from` at `path`; the audit entries verified.
fn write_restored(from: &Path, key: &BackupKey, path: &Path, expected: &Summary) -> Result<u64> {
    let db = Database::create(path)
        .with_context(|| format!("creating the database {}", path.display()))?;
    let file = File::open(from).with_context(|| format!("opening backup {}", from.display()))?;
    let decryptor = Decryptor::new(key, BufReader::new(file))
        .with_context(|| format!("backup {}", from.display()))?;
    let summary = restore_snapshot(decryptor, &db)
        .with_context(|| format!("restoring backup {}", from.display()))?;
    ensure!(
        summary == *expected,
        "backup {} changed while it was restored",
        from.display()
    );
    let verified = match audit::verify(&db)? {
        audit::Verdict::Intact { entries } => entries,
        audit::Verdict::Broken { seq, reason } => bail!(
            "the audit log in the backup is tampered with at entry {seq}: {reason}; nothing was \
             restored"
        ),
    };
    ensure!(
        verified == summary.audit_entries,
        "the restored audit log has {verified} entries, the backup {}",
        summary.audit_entries
    );
    db.close()
        .with_context(|| format!("closing the database {}", path.display()))?;
    Ok(verified)
}

/// The name of the database being rewritten by [`vacuum`], beside the live one.
pub const VACUUMING: &str = "sluice.redb.vacuuming";

/// What [`vacuum`] did.
#[derive(Debug, Clone)]
pub struct Vacuumed {
    /// The database rewritten.
    pub path: PathBuf,
    /// What it holds.
    pub summary: Summary,
    /// Its size before, in bytes.
    pub before: u64,
    /// Its size after, in bytes.
    pub after: u64,
}

/// Rewrites the database of the stopped gateway in `data_dir` into a fresh file (the same
/// logical snapshot a backup takes, streamed through a pipe, never to disk in the clear),
/// checks the copy's audit hash chain and renames it into place. redb leaves the bytes of
/// freed pages in its file until they are reused; the fresh file holds only live data.
pub fn vacuum(data_dir: &Path) -> Result<Vacuumed> {
    let target = data_dir.join(tables::FILE);
    let before = fs::metadata(&target)
        .with_context(|| format!("{} has no database", data_dir.display()))?
        .len();
    ensure_not_in_use(&target)?;
    let staging = data_dir.join(VACUUMING);
    match fs::remove_file(&staging) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("removing {}", staging.display())),
    }
    let copied = copy_database(&target, &staging);
    if let Err(e) = copied {
        let _ = fs::remove_file(&staging);
        return Err(e);
    }
    let summary = copied?;
    fs::rename(&staging, &target)
        .with_context(|| format!("moving the rewritten database to {}", target.display()))?;
    sync_parent(&target);
    Ok(Vacuumed {
        after: fs::metadata(&target)?.len(),
        path: target,
        summary,
        before,
    })
}

fn copy_database(from: &Path, to: &Path) -> Result<Summary> {
    let live = Database::builder()
        .open_read_only(from)
        .with_context(|| format!("opening {}", from.display()))?;
    let fresh = Database::create(to).with_context(|| format!("creating {}", to.display()))?;
    let (reader, writer) = io::pipe().context("making a pipe")?;
    let (dumped, restored) = std::thread::scope(|scope| {
        let dumper = scope.spawn(|| {
            let mut out = io::BufWriter::new(writer);
            let summary = dump(&live, &mut out)?;
            out.flush()?;
            Ok::<_, anyhow::Error>(summary)
        });
        let restored = restore_snapshot(BufReader::new(reader), &fresh);
        let dumped = dumper
            .join()
            .unwrap_or_else(|_| Err(anyhow::anyhow!("the snapshot thread panicked")));
        (dumped, restored)
    });
    let dumped = dumped.context("reading the database")?;
    let restored = restored.context("writing the fresh database")?;
    ensure!(
        dumped == restored,
        "the rewritten database differs from the original"
    );
    match audit::verify(&fresh)? {
        audit::Verdict::Intact { .. } => {}
        audit::Verdict::Broken { seq, reason } => {
            bail!("the audit log does not verify at entry {seq}: {reason}; nothing was changed")
        }
    }
    fresh
        .close()
        .with_context(|| format!("closing {}", to.display()))?;
    Ok(restored)
}

/// Refuses when a gateway holds the database at `path`.
fn ensure_not_in_use(path: &Path) -> Result<()> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let opened =
        Database::builder().open_read_only_with_backend(redb::backends::FileBackend::new(file)?);
    if let Err(DatabaseError::DatabaseAlreadyOpen) = opened {
        bail!(
            "{} is in use: stop the gateway before restoring over it",
            path.display()
        );
    }
    // Opened (and closed again), or not readable: it is replaced either way.
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::sync::Arc;

    use super::*;
    use crate::store::{AuditEntry, Op, Store};

    fn key() -> BackupKey {
        BackupKey::generate().unwrap()
    }

    /// A store with rows in every kind of table the gateway writes through the store, and a
    /// few written directly.
    async fn sample(dir: &Path) -> Store {
        let data = cap_std::fs::Dir::open_ambient_dir(dir, cap_std::ambient_authority()).unwrap();
        let store = Store::open(&data, Arc::new(crate::metrics::Metrics::new())).unwrap();
        for i in 0..5 {
            let entry = AuditEntry::admin(
                "test.entry",
                1_000 + i,
                "tester",
                None,
                serde_json::json!({"i": i}),
            );
            store.write(vec![Op::Audit(entry)]).await.unwrap();
        }
        let db = store.db().raw().clone();
        let txn = db.begin_write().unwrap();
        {
            let mut records = txn.open_table(tables::RECORDS).unwrap();
            records.insert("rec-1", b"{\"a\":1}".as_slice()).unwrap();
            records
                .insert("rec-2", b"{\"b\":[1,2]}".as_slice())
                .unwrap();
            let mut subjects = txn.open_multimap_table(tables::SUBJECTS).unwrap();
            subjects.insert(("default", "s-1"), "rec-1").unwrap();
            subjects.insert(("default", "s-1"), "rec-2").unwrap();
            let mut fields = txn.open_multimap_table(tables::FIELDS).unwrap();
            fields
                .insert(("default", "contact", "/email", "a@b.c"), "rec-1")
                .unwrap();
            let mut expiries = txn.open_table(tables::EXPIRIES).unwrap();
            expiries.insert((-5i64, "rec-1", "/phone"), ()).unwrap();
            expiries
                .insert((1_900_000_000i64, "rec-2", ""), ())
                .unwrap();
            let mut due = txn.open_table(tables::OUTBOX_DUE).unwrap();
            due.insert((7i64, 3u64), ()).unwrap();
            let mut keys = txn.open_table(tables::OUTBOX_KEYS).unwrap();
            keys.insert("idem-1", 3u64).unwrap();
            let mut components = txn.open_table(tables::COMPONENTS).unwrap();
            let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
            components.insert("sha256:00", big.as_slice()).unwrap();
        }
        txn.commit().unwrap();
        store
    }

    fn snapshot(db: &impl ReadableDatabase) -> Vec<u8> {
        let txn = db.begin_read().unwrap();
        let mut out = Vec::new();
        dump_txn(&txn, 42, &mut out).unwrap();
        out
    }

    #[tokio::test]
    async fn every_table_is_backed_up() {
        // Every table tables.rs declares...
        let source = include_str!("store/redb/tables.rs");
        let mut declared = BTreeSet::new();
        for (marker, kind) in [
            ("MultimapTableDefinition::new(\"", Kind::Multimap),
            (" TableDefinition::new(\"", Kind::Table),
        ] {
            for (at, _) in source.match_indices(marker) {
                let rest = &source[at + marker.len()..];
                let name = &rest[..rest.find('"').unwrap()];
                declared.insert((name.to_string(), kind));
            }
        }
        let listed: BTreeSet<(String, Kind)> = table_names().into_iter().collect();
        assert_eq!(listed.len(), table_names().len(), "a table is listed twice");
        assert_eq!(
            declared, listed,
            "each_table in backup.rs must list every table of store/tables.rs"
        );
        // ... and every table a store creates.
        let dir = tempfile::tempdir().unwrap();
        let store = sample(dir.path()).await;
        let txn = store.db().raw().begin_read().unwrap();
        let mut created = BTreeSet::new();
        for t in txn.list_tables().unwrap() {
            created.insert((t.name().to_string(), Kind::Table));
        }
        for t in txn.list_multimap_tables().unwrap() {
            created.insert((t.name().to_string(), Kind::Multimap));
        }
        assert!(created.len() >= 19, "{created:?}");
        let missing: Vec<_> = created.difference(&listed).collect();
        assert!(missing.is_empty(), "not backed up: {missing:?}");
        drop(txn);
        store.close();
    }

    #[tokio::test]
    async fn a_backup_restores_the_same_database() {
        let dir = tempfile::tempdir().unwrap();
        let store = sample(dir.path()).await;
        let key = key();
        let before = snapshot(&**store.db().raw());
        let mut plain = Vec::new();
        let summary = dump(&**store.db().raw(), &mut plain).unwrap();
        assert_eq!(summary.audit_entries, 5);
        assert_eq!(summary.tables as usize, table_names().len());
        // 5 audit entries, meta (format, head), 2 records, 2 + 1 index pairs, 2 expiries,
        // 1 due, 1 key, 1 component.
        assert_eq!(summary.rows, 5 + 2 + 2 + 3 + 2 + 1 + 1 + 1);
        let head = store.meta(audit::HEAD).unwrap();
        assert!(head.as_deref().unwrap().starts_with("sha256:"));
        assert_eq!(summary.audit_head, head);
        store.close();

        // Round trip through the envelope, over several chunks.
        let mut file = Vec::new();
        let mut enc = Encryptor::with_chunk_size(&key, &mut file, 4096).unwrap();
        enc.write_all(&plain).unwrap();
        enc.finish().unwrap();
        assert!(file.len() > plain.len() + 16 * (plain.len() / 4096));
        let mut back = Vec::new();
        decrypt(&key, file.as_slice(), &mut back).unwrap();
        assert_eq!(back, plain);
        assert_eq!(verify_snapshot(back.as_slice()).unwrap(), summary);

        let restored = tempfile::tempdir().unwrap();
        let db = Database::create(restored.path().join("r.redb")).unwrap();
        let got = restore_snapshot(Decryptor::new(&key, file.as_slice()).unwrap(), &db).unwrap();
        assert_eq!(got, summary);
        assert_eq!(
            audit::verify(&db).unwrap(),
            audit::Verdict::Intact { entries: 5 }
        );
        assert_eq!(snapshot(&db), before, "the restored database differs");
        let txn = db.begin_read().unwrap();
        let records = txn.open_table(tables::RECORDS).unwrap();
        assert_eq!(
            records.get("rec-2").unwrap().unwrap().value(),
            b"{\"b\":[1,2]}"
        );
        let expiries = txn.open_table(tables::EXPIRIES).unwrap();
        let first = expiries.first().unwrap().unwrap().0;
        assert_eq!(first.value(), (-5, "rec-1", "/phone"));
    }

    #[test]
    fn the_envelope_refuses_a_wrong_key_a_changed_byte_and_a_cut() {
        let key = key();
        let plain: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 256) as u8).collect();
        let mut file = Vec::new();
        let mut enc = Encryptor::with_chunk_size(&key, &mut file, 1000).unwrap();
        enc.write_all(&plain).unwrap();
        enc.finish().unwrap();
        // 10 full chunks, the last one marked last.
        assert_eq!(file.len(), HEADER + 10 * 1016);
        let read = |bytes: &[u8], key: &BackupKey| -> std::result::Result<Vec<u8>, String> {
            let mut out = Vec::new();
            decrypt(key, bytes, &mut out)
                .map(|_| out)
                .map_err(|e| format!("{e:#}"))
        };
        assert_eq!(read(&file, &key).unwrap(), plain);

        let other = BackupKey::generate().unwrap();
        let e = read(&file, &other).unwrap_err();
        assert!(e.contains("made with a different key"), "{e}");
        assert!(
            e.contains(&key.id_hex()) && e.contains(&other.id_hex()),
            "{e}"
        );

        // A changed byte in the body: the chunk holding it.
        for (at, chunk) in [
            (HEADER + 5, 1),
            (HEADER + 3 * 1016 + 999, 4),
            (file.len() - 1, 10),
        ] {
            let mut bad = file.clone();
            bad[at] ^= 0x20;
            let e = read(&bad, &key).unwrap_err();
            assert!(
                e.contains(&format!("corrupted or was tampered with (chunk {chunk})")),
                "{at}: {e}"
            );
        }
        // In the header: the nonce prefix (authenticated by every chunk), the chunk size,
        // the version, the magic.
        let mut bad = file.clone();
        bad[HEADER - KEY_ID - 3] ^= 1;
        assert!(read(&bad, &key).unwrap_err().contains("(chunk 1)"));
        let mut bad = file.clone();
        bad[MAGIC.len() + 1] ^= 1;
        let e = read(&bad, &key).unwrap_err();
        assert!(e.contains("corrupted or was tampered with"), "{e}");
        let mut bad = file.clone();
        bad[MAGIC.len()] = 9;
        assert!(
            read(&bad, &key)
                .unwrap_err()
                .contains("version 9 is not supported")
        );
        let mut bad = file.clone();
        bad[0] = b'X';
        assert!(
            read(&bad, &key)
                .unwrap_err()
                .contains("not a Sluice backup")
        );
        assert!(read(b"", &key).unwrap_err().contains("not a Sluice backup"));
        // Reordered chunks.
        let mut bad = file.clone();
        let (a, b) = (HEADER, HEADER + 1016);
        let first: Vec<u8> = bad[a..b].to_vec();
        bad.copy_within(b..b + 1016, a);
        bad[b..b + 1016].copy_from_slice(&first);
        assert!(read(&bad, &key).unwrap_err().contains("(chunk 1)"));

        // Cut: at a chunk boundary, inside a chunk, right after the header, in the header.
        let e = read(&file[..HEADER + 4 * 1016], &key).unwrap_err();
        assert!(
            e.contains("truncated: it ends after chunk 4 and its last chunk is missing"),
            "{e}"
        );
        let e = read(&file[..HEADER + 4 * 1016 + 500], &key).unwrap_err();
        assert!(e.contains("(chunk 5)"), "{e}");
        let e = read(&file[..file.len() - 1016], &key).unwrap_err();
        assert!(e.contains("truncated: it ends after chunk 9"), "{e}");
        let e = read(&file[..HEADER], &key).unwrap_err();
        assert!(e.contains("ends after its header"), "{e}");
        let e = read(&file[..20], &key).unwrap_err();
        assert!(e.contains("truncated"), "{e}");
        // Bytes appended after the last chunk make it a middle chunk that fails.
        let mut long = file.clone();
        long.push(0);
        assert!(read(&long, &key).is_err());
    }

    #[test]
    fn an_empty_and_an_exact_plaintext_round_trip() {
        let key = key();
        for len in [0usize, 1, 999, 1000, 1001, 3000] {
            let plain = vec![7u8; len];
            let mut file = Vec::new();
            let mut enc = Encryptor::with_chunk_size(&key, &mut file, 1000).unwrap();
            enc.write_all(&plain).unwrap();
            enc.finish().unwrap();
            let mut out = Vec::new();
            decrypt(&key, file.as_slice(), &mut out).unwrap();
            assert_eq!(out, plain, "{len}");
        }
    }

    #[test]
    fn a_snapshot_with_bad_lengths_is_refused_without_allocating_them() {
        let mut s = Vec::new();
        s.extend_from_slice(SNAPSHOT_MAGIC);
        s.extend_from_slice(&SNAPSHOT_FORMAT.to_le_bytes());
        s.extend_from_slice(&0i64.to_le_bytes());
        s.extend_from_slice(&1u32.to_le_bytes());
        s.extend_from_slice(&4u16.to_le_bytes());
        s.extend_from_slice(b"meta");
        s.push(0);
        s.extend_from_slice(&u64::MAX.to_le_bytes());
        let mut huge = s.clone();
        huge.extend_from_slice(&(MAX_ITEM - 1).to_le_bytes());
        huge.extend_from_slice(b"format");
        let e = format!("{:#}", verify_snapshot(huge.as_slice()).unwrap_err());
        assert!(e.contains("ends in the middle of a row"), "{e}");
        let mut over = s.clone();
        over.extend_from_slice(&u32::MAX.to_le_bytes());
        let e = format!("{:#}", verify_snapshot(over.as_slice()).unwrap_err());
        assert!(e.contains("claims"), "{e}");

        let mut unknown = s[..s.len() - 8 - 1 - 4 - 2].to_vec();
        unknown.extend_from_slice(&5u16.to_le_bytes());
        unknown.extend_from_slice(b"bogus");
        unknown.push(0);
        unknown.extend_from_slice(&0u64.to_le_bytes());
        let e = format!("{:#}", verify_snapshot(unknown.as_slice()).unwrap_err());
        assert!(e.contains("table bogus"), "{e}");

        let e = format!("{:#}", verify_snapshot(&b"garbage"[..]).unwrap_err());
        assert!(e.contains("snapshot"), "{e}");
    }

    #[test]
    fn a_key_file_holds_64_hex_digits() {
        let key = key();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("backup.key");
        key.write_new(&path).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert_eq!(text.trim().len(), 64);
        assert_eq!(BackupKey::read(&path).unwrap().id(), key.id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let e = format!("{:#}", key.write_new(&path).unwrap_err());
        assert!(e.contains("never overwritten"), "{e}");
        for bad in ["", "abc", &"g".repeat(64), &"a".repeat(63), &"a".repeat(66)] {
            let e = format!("{:#}", BackupKey::parse(bad).unwrap_err());
            assert!(e.contains("64 hex digits"), "{bad}: {e}");
        }
        assert!(BackupKey::parse(&format!("  {}\n", "Ab".repeat(32))).is_ok());
    }

    #[tokio::test]
    async fn restore_checks_first_and_replaces_only_with_force() {
        let src = tempfile::tempdir().unwrap();
        let store = sample(src.path()).await;
        store.close();
        let key = key();
        let out = tempfile::tempdir().unwrap();
        let file = out.path().join("b.sluice-backup");
        let written = backup_data_dir(src.path(), &key, &file, false).unwrap();
        assert_eq!(written.summary.audit_entries, 5);
        assert!(!out.path().join("b.sluice-backup.tmp").exists());
        let e = format!(
            "{:#}",
            backup_data_dir(src.path(), &key, &file, false).unwrap_err()
        );
        assert!(e.contains("exists: refusing to overwrite"), "{e}");

        // A wrong key touches nothing: the data directory is not even created.
        let target = out.path().join("data");
        let e = format!(
            "{:#}",
            restore(&file, &BackupKey::generate().unwrap(), &target, false).unwrap_err()
        );
        assert!(e.contains("different key"), "{e}");
        assert!(!target.exists());

        let restored = restore(&file, &key, &target, false).unwrap();
        assert_eq!(restored.audit_verified, 5);
        assert_eq!(restored.summary, written.summary);
        assert!(!target.join(RESTORING).exists());
        let e = format!("{:#}", restore(&file, &key, &target, false).unwrap_err());
        assert!(e.contains("--force"), "{e}");
        restore(&file, &key, &target, true).unwrap();

        let a = Database::open(src.path().join(tables::FILE)).unwrap();
        let b = Database::open(target.join(tables::FILE)).unwrap();
        assert_eq!(snapshot(&a), snapshot(&b));
    }
}
