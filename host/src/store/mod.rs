//! The store: records, the index by subject, the retention schedule, the audit log, the
//! policy registry, the tokens and the outbox.
//!
//! This module speaks the gateway's terms: a write is a set of [`Op`]s applied atomically
//! in one durable transaction, and the reads are the ones the services need. [`Store`] is an
//! enum over the backends; the embedded one, [`redb`](self::redb), is the only place that
//! knows how the data is laid out on disk.

pub mod audit;
mod handle;
mod ops;
pub mod redb;

pub(crate) use self::redb::backup as snapshot;
pub use self::redb::{OutboxFilter, tables};
pub use audit::{About, AuditDecision, AuditEntry, Verdict, subject_digest};
pub use handle::{Db, Registry, Store};
pub use ops::{Erasure, FeedMarks, Op, OpResult, OutboxOp, PutRecord, StoreError, Swept};
