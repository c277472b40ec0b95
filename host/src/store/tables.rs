//! Every redb table of the gateway and its key encoding, in one place.

use redb::{MultimapTableDefinition, TableDefinition};

/// Records by id; the value is a JSON-encoded [`crate::record::StoredRecord`].
pub const RECORDS: TableDefinition<&str, &[u8]> = TableDefinition::new("records");

/// `(tenant, subject)` -> record ids: the index by data subject.
pub const SUBJECTS: MultimapTableDefinition<(&str, &str), &str> =
    MultimapTableDefinition::new("subjects");

/// `(tenant, kind, path, value)` -> record ids: the search index of the fields each kind
/// declares searchable (`index` in the bundle).
pub const FIELDS: MultimapTableDefinition<(&str, &str, &str, &str), &str> =
    MultimapTableDefinition::new("fields");

/// `(due, record id, path)` -> (): the retention schedule, ordered by due time (seconds since
/// the epoch). `path` is a JSON Pointer; `""` is the whole record.
pub const EXPIRIES: TableDefinition<(i64, &str, &str), ()> = TableDefinition::new("expiries");

/// Sequence number -> JSON-encoded [`super::AuditEntry`]: the append-only audit log.
pub const AUDIT: TableDefinition<u64, &[u8]> = TableDefinition::new("audit");

/// Store metadata (`format`).
pub const META: TableDefinition<&str, &str> = TableDefinition::new("meta");

/// The on-disk format this gateway writes.
pub const FORMAT: &str = "1";

/// The database file inside the data directory.
pub const FILE: &str = "sluice.redb";
