//! The tables a backup holds (the list of the store's tables, [`each_table`], walked with a
//! [`Visit`]), and the database files of a stopped gateway: opening one to back it up,
//! checking that no gateway holds one, and carrying deletions over to a restored one.

use std::fs::{self, File};
use std::path::Path;

use anyhow::{Context as _, Result, bail};
use redb::{
    Database, DatabaseError, MultimapTableDefinition, MultimapTableHandle as _,
    ReadableDatabase as _, ReadableTable as _, TableDefinition, TableError, TableHandle as _,
};

use crate::store::tables;

/// What kind of redb table a table is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    /// A `TableDefinition`.
    Table,
    /// A `MultimapTableDefinition`.
    Multimap,
}

impl Kind {
    pub(crate) fn code(self) -> u8 {
        match self {
            Self::Table => 0,
            Self::Multimap => 1,
        }
    }

    pub(crate) fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(Self::Table),
            1 => Some(Self::Multimap),
            _ => None,
        }
    }
}

/// Something done to every table of the store, with its typed definition.
pub(crate) trait Visit {
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
pub(crate) fn each_table(v: &mut impl Visit) -> Result<()> {
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
    v.table(tables::OUTBOX_CLAIMS)?;
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

/// `Ok(None)` for a table that does not exist.
pub(crate) fn exists<T>(opened: std::result::Result<T, TableError>) -> Result<Option<T>> {
    match opened {
        Ok(t) => Ok(Some(t)),
        Err(TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Opens the database `path` of a stopped gateway; refuses one a gateway holds.
pub(crate) fn open_stopped(path: &Path) -> Result<Database> {
    let file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    match Database::builder().create_with_backend(redb::backends::FileBackend::new(file)?) {
        Ok(db) => Ok(db),
        Err(DatabaseError::DatabaseAlreadyOpen) => {
            bail!("the database is in use: stop the gateway or use --url")
        }
        Err(e) => Err(e).with_context(|| format!("opening the redb database {}", path.display())),
    }
}

/// Refuses when a gateway holds the database at `path`.
pub(crate) fn ensure_not_in_use(path: &Path) -> Result<()> {
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
pub(crate) fn carry_deletions(live: &Path, staging: &Path) -> Result<Carried> {
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
