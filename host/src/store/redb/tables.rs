//! Every redb table of the gateway and its key encoding, in one place.

use redb::{MultimapTableDefinition, TableDefinition};

/// Records by id; the value is a JSON-encoded [`crate::record::StoredRecord`].
pub const RECORDS: TableDefinition<&str, &[u8]> = TableDefinition::new("records");

/// `(tenant, subject)` -> record ids: the index by data subject.
pub const SUBJECTS: MultimapTableDefinition<(&str, &str), &str> =
    MultimapTableDefinition::new("subjects");

/// `(tenant, record id)` -> (): each tenant's records in id order, so that work over one
/// tenant's records (impact reports, retention recomputes) never walks another's.
pub const TENANT_RECORDS: TableDefinition<(&str, &str), ()> =
    TableDefinition::new("tenant_records");

/// `(tenant, kind, path, value)` -> record ids: the search index of the fields each kind
/// declares searchable (`index` in the bundle).
pub const FIELDS: MultimapTableDefinition<(&str, &str, &str, &str), &str> =
    MultimapTableDefinition::new("fields");

/// `(due, record id, path)` -> (): the retention schedule, ordered by due time (seconds since
/// the epoch). `path` is a JSON Pointer; `""` is the whole record.
pub const EXPIRIES: TableDefinition<(i64, &str, &str), ()> = TableDefinition::new("expiries");

/// Sequence number -> JSON-encoded [`super::AuditEntry`]: the append-only audit log.
pub const AUDIT: TableDefinition<u64, &[u8]> = TableDefinition::new("audit");

/// The plugin registry's components: `sha256:<hex>` -> the component's bytes.
pub const COMPONENTS: TableDefinition<&str, &[u8]> = TableDefinition::new("components");

/// The plugin registry: `sha256:<hex>` -> JSON-encoded [`crate::registry::PluginInfo`].
pub const PLUGINS: TableDefinition<&str, &[u8]> = TableDefinition::new("plugins");

/// The bundle registry: `name@version` -> JSON-encoded [`crate::registry::BundleEntry`].
pub const BUNDLES: TableDefinition<&str, &[u8]> = TableDefinition::new("bundles");

/// Every activation, in order: sequence number -> JSON-encoded
/// [`crate::registry::Activation`]. The last one names the active bundle.
pub const ACTIVATIONS: TableDefinition<u64, &[u8]> = TableDefinition::new("activations");

/// Policy change notices (clause 8): sequence number -> JSON-encoded
/// [`crate::registry::Notice`].
pub const NOTICES: TableDefinition<u64, &[u8]> = TableDefinition::new("notices");

/// The outbox: sequence number -> JSON-encoded [`crate::outbox::Entry`].
pub const OUTBOX: TableDefinition<u64, &[u8]> = TableDefinition::new("outbox");

/// Idempotency key -> outbox sequence number.
pub const OUTBOX_KEYS: TableDefinition<&str, u64> = TableDefinition::new("outbox_keys");

/// `(when claimable, ms; sequence number)` -> (): the pushed deliveries waiting, in due
/// order (the next attempt's due time, or the end of a worker's lease: see
/// [`crate::outbox::due_at`]).
pub const OUTBOX_DUE: TableDefinition<(i64, u64), ()> = TableDefinition::new("outbox_due");

/// Sequence number -> (): the deliveries a delivery worker has claimed (see
/// [`crate::outbox::Claim`]). A redb database has one gateway at a time, so whatever is here
/// when it opens was held by a process that is gone, and is released.
pub const OUTBOX_CLAIMS: TableDefinition<u64, ()> = TableDefinition::new("outbox_claims");

/// Sequence number -> (): every pending delivery (pushed or pulled), oldest first.
pub const OUTBOX_OPEN: TableDefinition<u64, ()> = TableDefinition::new("outbox_open");

/// `(record id, sequence number)` -> (): each record's deliveries.
pub const OUTBOX_BY_RECORD: TableDefinition<(&str, u64), ()> =
    TableDefinition::new("outbox_by_record");

/// `(vendor, sequence number)` -> (): each vendor's deliveries, its feed.
pub const FEED: TableDefinition<(&str, u64), ()> = TableDefinition::new("feed");

/// `(record id, audit sequence number)` -> JSON-encoded [`crate::outbox::Recipient`]: who
/// received each record's data (deliveries and disclosures), for the record of recipients.
pub const RECIPIENTS: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("recipients");

/// Subject digest (see [`super::subject_digest`]) -> JSON-encoded [`crate::rights::Rights`]:
/// restrictions and objections (clause 9).
pub const SUBJECT_RIGHTS: TableDefinition<&str, &[u8]> = TableDefinition::new("subject_rights");

/// Bearer tokens: sha256 of the token (hex) -> JSON-encoded [`crate::auth::TokenRecord`].
/// The token itself is never stored.
pub const TOKENS: TableDefinition<&str, &[u8]> = TableDefinition::new("tokens");

/// Store metadata (`format`; `retention.recompute` and `retention.recompute.<tenant>`, the
/// progress of recomputing the retention schedule after a change of the default's or a
/// tenant's policy).
pub const META: TableDefinition<&str, &str> = TableDefinition::new("meta");

/// The on-disk format this gateway writes.
pub const FORMAT: &str = "1";

/// The database file inside the data directory.
pub const FILE: &str = "sluice.redb";
