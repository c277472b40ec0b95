//! The store: records, the index by subject, the retention schedule, the audit log, the
//! policy registry, the tokens and the outbox.
//!
//! This module speaks the gateway's terms: a write is a set of [`Op`]s applied atomically
//! in one durable transaction, and the reads are the ones the services need. The embedded
//! backend, [`redb`](self::redb), is the only place that knows how they are laid out on disk.

pub mod audit;
mod ops;
pub mod redb;

pub(crate) use self::redb::backup as snapshot;
pub use self::redb::{Db, OutboxFilter, Registry, Store, tables};
pub use audit::{About, AuditDecision, AuditEntry, Verdict, subject_digest};
pub use ops::{Erasure, FeedMarks, Op, OpResult, OutboxOp, PutRecord, StoreError, Swept};
