//! A view of record leaves for rules written apart from the generated bindings.
//!
//! Rules generic over [`FieldView`] read a record's leaves without naming
//! [`types::Field`](crate::types::Field), which implements the trait here, so a plugin
//! passes its record's fields to them as they are.

use crate::types::{Field, Value};

/// A leaf value, as far as the rules need to know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leaf<'a> {
    /// A JSON string.
    Text(&'a str),
    /// JSON `null`.
    Null,
    /// Any other leaf (number, boolean, empty object or array).
    Other,
}

/// One leaf of a record's fields: its JSON Pointer and its value.
pub trait FieldView {
    /// The leaf's JSON Pointer.
    fn path(&self) -> &str;
    /// The leaf's value.
    fn leaf(&self) -> Leaf<'_>;
}

impl FieldView for Field {
    fn path(&self) -> &str {
        &self.path
    }

    fn leaf(&self) -> Leaf<'_> {
        match &self.value {
            Value::Text(t) => Leaf::Text(t),
            Value::Null => Leaf::Null,
            _ => Leaf::Other,
        }
    }
}
