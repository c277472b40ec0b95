//! The snapshot: a logical dump of every table of the store, written from one read
//! transaction ([`dump`], [`dump_txn`]), read back and checked ([`verify_snapshot`]), and
//! written into a new database ([`restore_snapshot`], [`restore_database`],
//! [`copy_database`]).

use std::fmt;
use std::io::{self, BufReader, Read, Write};
use std::path::Path;

use anyhow::{Context as _, Result, anyhow, bail, ensure};
use redb::{
    Database, MultimapTableDefinition, MultimapTableHandle as _, ReadTransaction, ReadableDatabase,
    ReadableMultimapTable as _, ReadableTable as _, ReadableTableMetadata as _, TableDefinition,
    TableHandle as _, WriteTransaction,
};

mod catalog;

use crate::store::redb::audit;
use crate::store::tables;
pub use catalog::{Carried, Kind, table_names};
use catalog::{Visit, each_table, exists};
pub(crate) use catalog::{carry_deletions, ensure_not_in_use, open_stopped};

pub(crate) const SNAPSHOT_MAGIC: &[u8; 16] = b"SLUICE-SNAPSHOT\0";
/// The snapshot format this gateway writes and reads.
pub const SNAPSHOT_FORMAT: u32 = 1;
/// Most tables a snapshot may declare.
const MAX_TABLES: u32 = 1024;
/// Longest table name.
const MAX_NAME: usize = 255;
/// Largest key or value (redb's own limit is below 4 GiB; plugin components are the
/// largest values, at most 64 MiB).
pub(crate) const MAX_ITEM: u32 = 1 << 30;
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
    /// The link of the last audit entry (`sha256:<hex>` of its bytes), if any: the head of
    /// the chain it belongs to.
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
    fn note(&mut self, name: &str, value: &[u8]) {
        self.rows += 1;
        if name == tables::AUDIT.name() {
            self.audit_entries += 1;
            // Rows come in key order: the last one seen is the last entry.
            self.audit_head = Some(crate::store::audit::link(value));
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
        /// Rows of the current table written so far.
        written: u64,
    }
    impl<W: Write> Dumper<'_, W> {
        fn head(&mut self, name: &str, kind: Kind, rows: u64) -> Result<()> {
            let len = u16::try_from(name.len())?;
            self.out.write_all(&len.to_le_bytes())?;
            self.out.write_all(name.as_bytes())?;
            self.out.write_all(&[kind.code()])?;
            self.out.write_all(&rows.to_le_bytes())?;
            self.summary.tables += 1;
            self.written = 0;
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
            self.summary.note(name, value);
            self.written += 1;
            Ok(())
        }

        /// Checks that the table just written had as many rows as it counts.
        fn end(&self, name: &str, rows: u64) -> Result<()> {
            let written = self.written;
            ensure!(
                written == rows,
                "table {name} has {written} rows, not the {rows} it counts"
            );
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
            for item in table.iter()? {
                let (k, v) = item?;
                let (k, v) = (k.value(), v.value());
                self.row(name, K::as_bytes(&k).as_ref(), V::as_bytes(&v).as_ref())?;
            }
            self.end(name, rows)
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
            for item in table.iter()? {
                let (k, values) = item?;
                let k = k.value();
                let key = K::as_bytes(&k);
                for v in values {
                    let v = v?;
                    let v = v.value();
                    self.row(name, key.as_ref(), V::as_bytes(&v).as_ref())?;
                }
            }
            self.end(name, rows)
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
        written: 0,
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
        self.summary.note(name, &self.value);
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

/// Runs `batch` in write transactions, one after the other, until it returns that nothing
/// remains.
fn in_batches(
    db: &Database,
    mut batch: impl FnMut(&WriteTransaction) -> Result<bool>,
) -> Result<()> {
    loop {
        let txn = db.begin_write()?;
        let more = batch(&txn)?;
        txn.commit()?;
        if !more {
            return Ok(());
        }
    }
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
            in_batches(self.db, |txn| {
                let mut table = txn.open_table(def)?;
                fill(self.reader, |k, v| {
                    table.insert(K::from_bytes(k), V::from_bytes(v))?;
                    Ok(())
                })
            })
        }

        fn multimap<K: redb::Key + 'static, V: redb::Key + 'static>(
            &mut self,
            def: MultimapTableDefinition<'_, K, V>,
        ) -> Result<()> {
            if def.name() != self.name {
                return Ok(());
            }
            self.done = true;
            in_batches(self.db, |txn| {
                let mut table = txn.open_multimap_table(def)?;
                fill(self.reader, |k, v| {
                    table.insert(K::from_bytes(k), V::from_bytes(v))?;
                    Ok(())
                })
            })
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

/// Writes the snapshot `open` gives (of backup `from`) into a new database at `path`, and
/// checks that it holds `expected` and that its audit hash chain verifies; the audit entries
/// verified.
pub(crate) fn restore_database<R: Read>(
    path: &Path,
    from: &Path,
    open: impl FnOnce() -> Result<R>,
    expected: &Summary,
) -> Result<u64> {
    let db = Database::create(path)
        .with_context(|| format!("creating the database {}", path.display()))?;
    let summary = restore_snapshot(open()?, &db)
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

/// Copies the database `from` into a new database `to`, through a snapshot streamed over a
/// pipe; checks the copy's audit hash chain.
pub(crate) fn copy_database(from: &Path, to: &Path) -> Result<Summary> {
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

#[cfg(test)]
mod tests;
