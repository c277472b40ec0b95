//! How values are kept in the tables: JSON, written and read here only, so that every table
//! reads and writes its values the same way and a value that does not decode says what it
//! should have been.

use anyhow::{Context as _, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// The stored bytes of `value`.
pub(crate) fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>> {
    serde_json::to_vec(value).with_context(|| format!("encoding a {}", name::<T>()))
}

/// The value stored as `bytes`.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T> {
    serde_json::from_slice(bytes).with_context(|| format!("decoding a stored {}", name::<T>()))
}

/// The last segment of `T`'s path (`StoredRecord`, `Entry`).
fn name<T: ?Sized>() -> &'static str {
    let full = std::any::type_name::<T>();
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base)
}
