//! The forwarding rule, independent of the generated bindings so it is tested natively.
//!
//! Clause 2.2.1: a drop-shipped order's delivery details are "passed on to your chosen
//! courier". The courier gets them once the order is ready to ship, and only the fields it
//! may see (the configured `paths`); clause 3.1 and the register of clause 3.2 decide
//! whether it may get anything at all. Errors name ids and paths, never personal data.

use sluice_plugin_sdk::pointer;
use sluice_plugin_sdk::types::{Field, Value};
pub use sluice_plugin_sdk::view::{FieldView, Leaf};

use crate::config::{Category, Config};

/// The field that names the delivery's courier, an id of the subprocessor register.
pub const COURIER_FIELD: &str = "/courier";

/// The courier's endpoint kind.
pub const ENDPOINT: &str = "courier";

/// A leaf as this rule reads it: a [`FieldView`] that also tells a boolean apart, which
/// [`Leaf`] does not (the ready-to-ship marker is one).
pub trait FieldValue: FieldView {
    /// The leaf's value, if it is a boolean.
    fn boolean(&self) -> Option<bool>;
}

impl FieldValue for Field {
    fn boolean(&self) -> Option<bool> {
        match self.value {
            Value::Boolean(b) => Some(b),
            _ => None,
        }
    }
}

/// The delivery to the courier: its id in the subprocessor register, the endpoint kind
/// [`ENDPOINT`], and exactly what it receives, the record's leaves within the configured
/// paths, in the record's order.
pub type Delivery<'a, F> = sluice_plugin_sdk::delivery::Delivery<'a, &'a F>;

/// Returns the delivery caused by writing a record of `kind` with `fields`: one to the
/// courier named by [`COURIER_FIELD`] when the record is of the configured kind, is marked
/// ready to ship and names a courier; none otherwise. A ready-to-ship marker that is not a
/// boolean, a courier the register does not list as a courier, or one outside the EEA
/// without safeguards (clause 3.1) is an error; the courier is checked only when the record
/// is ready to ship.
pub fn forward<'a, F: FieldValue>(
    cfg: &'a Config,
    kind: &str,
    fields: &'a [F],
) -> Result<Option<Delivery<'a, F>>, String> {
    sluice_plugin_sdk::without_problems(cfg.problems())?;
    if kind != cfg.kind {
        return Ok(None);
    }
    let ready = match value_at(fields, &cfg.ready_field) {
        Found::Absent => Some(false),
        Found::Leaf(f) if f.leaf() == Leaf::Null => Some(false),
        Found::Leaf(f) => f.boolean(),
        Found::Nested => None,
    };
    let ready = ready.ok_or_else(|| {
        format!(
            "`{}` of a `{kind}` record must be a boolean (true when it is ready to ship)",
            cfg.ready_field
        )
    })?;
    if !ready {
        return Ok(None);
    }
    // The value is quoted only once it is known to be a register id.
    let not_registered = || {
        format!(
            "`{COURIER_FIELD}` of a `{kind}` record names no subprocessor of the register \
             (clause 3.2)"
        )
    };
    let id = match value_at(fields, COURIER_FIELD) {
        Found::Absent => return Ok(None),
        Found::Leaf(f) => match f.leaf() {
            Leaf::Null => return Ok(None),
            Leaf::Text(id) => id,
            Leaf::Other => return Err(not_registered()),
        },
        Found::Nested => return Err(not_registered()),
    };
    let entry = cfg.register.get(id).ok_or_else(not_registered)?;
    if entry.category != Some(Category::Courier) {
        return Err(format!(
            "`{id}` is not a courier of the subprocessor register (clause 3.2.1)"
        ));
    }
    entry.check_transfer("courier", id)?;
    Ok(Some(Delivery {
        vendor: id,
        endpoint: ENDPOINT,
        payload: fields
            .iter()
            .filter(|f| cfg.paths.iter().any(|p| pointer::is_within(f.path(), p)))
            .collect(),
        clause: &cfg.clause,
        reason: "delivery details for the courier chosen to deliver the order",
    }))
}

/// What a record holds at a JSON Pointer.
enum Found<'a, F> {
    /// Nothing.
    Absent,
    /// A leaf.
    Leaf(&'a F),
    /// A non-empty object or array (its leaves lie below the pointer).
    Nested,
}

fn value_at<'a, F: FieldView>(fields: &'a [F], path: &str) -> Found<'a, F> {
    if let Some(f) = fields.iter().find(|f| f.path() == path) {
        Found::Leaf(f)
    } else if fields.iter().any(|f| pointer::is_within(f.path(), path)) {
        Found::Nested
    } else {
        Found::Absent
    }
}
