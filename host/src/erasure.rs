//! The right to erasure (clause 9), and what the policy requires to keep.
//!
//! A bundle names, per kind, the fields it must keep when a subject asks for erasure, the
//! condition under which it must keep them, and the clause that requires it:
//!
//! ```toml
//! [[kinds.delivery.keep_on_erasure]]
//! fields = ["/name", "/address", "/courier", "/order_ref", "/shipped_at"]
//! when = { path = "/shipped_at" }
//! clause = "2.2.1"
//! reason = "proof of shipping"
//! ```
//!
//! [`plan`] decides for one record: delete it, or reduce it to the kept fields. Everything
//! else of the subject's data goes; what stays is listed with its clause.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::record::{self, StoredRecord, is_within};

/// Fields a kind keeps on erasure, when, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeepRule {
    /// The fields kept (JSON Pointers).
    pub fields: Vec<String>,
    /// Only when this holds (always, without it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<When>,
    /// The clause that requires keeping them.
    pub clause: String,
    /// Why, in words.
    pub reason: String,
}

/// A condition on a record's fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct When {
    /// The field (a JSON Pointer); the condition holds when it is present and not null...
    pub path: String,
    /// ...and, when given, equal to one of these values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub one_of: Vec<Value>,
}

impl When {
    fn holds(&self, fields: &Value) -> bool {
        match fields.pointer(&self.path) {
            None | Some(Value::Null) => false,
            Some(v) => self.one_of.is_empty() || self.one_of.contains(v),
        }
    }
}

/// A field kept, and the clause that requires it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Kept {
    /// The field (JSON Pointer).
    pub path: String,
    /// The clause.
    pub clause: String,
    /// Why.
    pub reason: String,
}

/// What erasure does to one record.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// The whole record goes.
    Delete {
        /// Its fields (JSON Pointers of the leaves).
        erased: Vec<String>,
    },
    /// The record stays with the kept fields only.
    Reduce {
        /// The fields that remain.
        fields: Value,
        /// The fields erased (leaves).
        erased: Vec<String>,
        /// The fields kept, with their clauses.
        kept: Vec<Kept>,
    },
}

/// Decides what erasure does to a record with `fields` under `rules`.
pub fn plan(rules: &[KeepRule], fields: &Value) -> Plan {
    let mut kept: Vec<Kept> = Vec::new();
    for rule in rules {
        if rule.when.as_ref().is_some_and(|w| !w.holds(fields)) {
            continue;
        }
        for path in &rule.fields {
            let present = !matches!(fields.pointer(path), None | Some(Value::Null));
            if present && !kept.iter().any(|k| is_within(path, &k.path)) {
                kept.retain(|k| !is_within(&k.path, path));
                kept.push(Kept {
                    path: path.clone(),
                    clause: rule.clause.clone(),
                    reason: rule.reason.clone(),
                });
            }
        }
    }
    let leaves = record::leaves(fields);
    if kept.is_empty() {
        return Plan::Delete { erased: leaves };
    }
    let paths: Vec<String> = kept.iter().map(|k| k.path.clone()).collect();
    let erased = leaves
        .into_iter()
        .filter(|leaf| !paths.iter().any(|p| is_within(leaf, p)))
        .collect();
    Plan::Reduce {
        fields: record::project(fields, &paths),
        erased,
        kept,
    }
}

/// The record reduced to `fields` (a [`Plan::Reduce`]) as the next revision: the deletions
/// scheduled and search entries of erased fields go with them, and nothing computed for
/// vendors from the old fields remains.
pub fn reduce(record: &StoredRecord, fields: Value, kept: &[Kept], now_ms: i64) -> StoredRecord {
    let keeps = |path: &str| kept.iter().any(|k| is_within(path, &k.path));
    let mut out = record.clone();
    out.fields = fields;
    out.revision += 1;
    out.updated_at = now_ms;
    out.expiries.retain(|e| e.path.is_empty() || keeps(&e.path));
    out.index.retain(|i| keeps(&i.path));
    for d in &mut out.deliveries {
        d.payload = Value::Null;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn shipping() -> KeepRule {
        KeepRule {
            fields: vec!["/name".into(), "/address".into(), "/order_ref".into()],
            when: Some(When {
                path: "/shipped_at".into(),
                one_of: vec![],
            }),
            clause: "2.2.1".into(),
            reason: "proof of shipping".into(),
        }
    }

    #[test]
    fn a_shipped_delivery_keeps_its_address_and_loses_the_rest() {
        let fields = json!({
            "name": "Ann", "address": {"line1": "1 St", "postcode": "AB1"},
            "order_ref": "O-1", "phone": "0123", "shipped_at": "2026-11-01T00:00:00Z"
        });
        let Plan::Reduce {
            fields,
            erased,
            kept,
        } = plan(&[shipping()], &fields)
        else {
            panic!("a shipped delivery is kept");
        };
        assert_eq!(
            fields,
            json!({"name": "Ann", "address": {"line1": "1 St", "postcode": "AB1"}, "order_ref": "O-1"})
        );
        assert_eq!(
            erased,
            vec!["/phone".to_string(), "/shipped_at".to_string()]
        );
        assert_eq!(kept.len(), 3);
        assert!(kept.iter().all(|k| k.clause == "2.2.1"));
    }

    #[test]
    fn a_record_no_rule_covers_is_deleted() {
        let fields = json!({"name": "Ann", "address": {"line1": "1 St"}, "order_ref": "O-1"});
        assert_eq!(
            plan(&[shipping()], &fields),
            Plan::Delete {
                erased: vec!["/address/line1".into(), "/name".into(), "/order_ref".into()]
            }
        );
    }

    #[test]
    fn one_of_conditions_compare_values() {
        let rule = KeepRule {
            fields: vec!["/name".into()],
            when: Some(When {
                path: "/relationship".into(),
                one_of: vec![json!("customer"), json!("supplier")],
            }),
            clause: "2.1.1".into(),
            reason: "sales contract".into(),
        };
        let customer = json!({"name": "Bo", "relationship": "customer", "email": "b@x"});
        let prospect = json!({"name": "Bo", "relationship": "prospect", "email": "b@x"});
        assert!(matches!(
            plan(std::slice::from_ref(&rule), &customer),
            Plan::Reduce { .. }
        ));
        assert!(matches!(plan(&[rule], &prospect), Plan::Delete { .. }));
    }

    #[test]
    fn paths_nest_by_segment() {
        assert!(is_within("/address/line1", "/address"));
        assert!(is_within("/address", "/address"));
        assert!(!is_within("/addressee", "/address"));
    }
}
