//! JSON Pointer (RFC 6901) helpers for the paths that name record fields: the host's own,
//! from [`sluice_rules::pointer`], so that plugins and host read and write paths alike.

pub use sluice_rules::pointer::*;
