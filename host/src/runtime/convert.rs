//! Conversions between the host's JSON records and the WIT types plugins see.

use serde_json::{Map, Number, Value};

use super::generated::types::{Field, Value as WitValue};
use crate::record::{self, escape_segment};

/// Flattens a record's `fields` (a JSON object) into leaves addressed by JSON Pointer, in
/// document order.
pub fn flatten(fields: &Value) -> Vec<Field> {
    let mut out = Vec::new();
    let mut path = String::new();
    walk(fields, &mut path, &mut out);
    out
}

fn walk(value: &Value, path: &mut String, out: &mut Vec<Field>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, child) in map {
                let len = path.len();
                path.push('/');
                path.push_str(&escape_segment(key));
                walk(child, path, out);
                path.truncate(len);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            for (i, child) in items.iter().enumerate() {
                let len = path.len();
                path.push('/');
                path.push_str(&i.to_string());
                walk(child, path, out);
                path.truncate(len);
            }
        }
        leaf => out.push(Field {
            path: path.clone(),
            value: to_wit(leaf),
        }),
    }
}

/// A JSON leaf as a WIT value.
fn to_wit(value: &Value) -> WitValue {
    match value {
        Value::Null => WitValue::Null,
        Value::Bool(b) => WitValue::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => WitValue::Integer(i),
            None => WitValue::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => WitValue::Text(s.clone()),
        Value::Object(_) => WitValue::EmptyObject,
        Value::Array(_) => WitValue::EmptyArray,
    }
}

/// A WIT value as JSON. Non-finite floats (which JSON cannot hold) become `null`.
pub fn from_wit(value: &WitValue) -> Value {
    match value {
        WitValue::Null => Value::Null,
        WitValue::Boolean(b) => Value::Bool(*b),
        WitValue::Integer(i) => Value::from(*i),
        WitValue::Float(f) => Number::from_f64(*f).map_or(Value::Null, Value::Number),
        WitValue::Text(s) => Value::String(s.clone()),
        WitValue::EmptyObject => Value::Object(Map::new()),
        WitValue::EmptyArray => Value::Array(Vec::new()),
    }
}

/// Rebuilds a JSON object from leaves (the inverse of [`flatten`]), in the shape of
/// `like`, the record the leaves were taken from: a leaf whose path and value are the
/// record's keeps the record's own JSON value (so a number stays exactly the number stored,
/// whatever its size), and containers that are arrays in the record are arrays here (see
/// [`record::shaped_like`]). Leaves the record does not have (a value the plugin computed)
/// are taken as the plugin gave them, under objects. Used for delivery payloads.
pub fn unflatten(fields: &[Field], like: &Value) -> Value {
    let mut root = Value::Object(Map::new());
    for field in fields {
        if field.path.is_empty() {
            continue;
        }
        let value = match like.pointer(&field.path) {
            Some(v) if same_leaf(v, &field.value) => v.clone(),
            _ => from_wit(&field.value),
        };
        record::insert_at(&mut root, &field.path, value);
    }
    record::shaped_like(root, like)
}

/// Whether the JSON value `json` flattens to exactly the leaf `leaf`.
fn same_leaf(json: &Value, leaf: &WitValue) -> bool {
    match (to_wit(json), leaf) {
        (WitValue::Null, WitValue::Null)
        | (WitValue::EmptyObject, WitValue::EmptyObject)
        | (WitValue::EmptyArray, WitValue::EmptyArray) => {
            !matches!(json, Value::Object(m) if !m.is_empty())
                && !matches!(json, Value::Array(a) if !a.is_empty())
        }
        (WitValue::Boolean(a), WitValue::Boolean(b)) => a == *b,
        (WitValue::Integer(a), WitValue::Integer(b)) => a == *b,
        (WitValue::Float(a), WitValue::Float(b)) => a.to_bits() == b.to_bits(),
        (WitValue::Text(a), WitValue::Text(b)) => a == *b,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flattens_nested_objects_and_arrays_to_pointers() {
        let v = json!({"a": {"b~c": "x", "d/e": 1}, "l": [true, {}], "e": [], "n": null, "f": 1.5});
        let leaves: Vec<(String, WitValue)> =
            flatten(&v).into_iter().map(|f| (f.path, f.value)).collect();
        assert_eq!(
            format!("{leaves:?}"),
            format!(
                "{:?}",
                vec![
                    ("/a/b~0c".to_string(), WitValue::Text("x".into())),
                    ("/a/d~1e".to_string(), WitValue::Integer(1)),
                    ("/e".to_string(), WitValue::EmptyArray),
                    ("/f".to_string(), WitValue::Float(1.5)),
                    ("/l/0".to_string(), WitValue::Boolean(true)),
                    ("/l/1".to_string(), WitValue::EmptyObject),
                    ("/n".to_string(), WitValue::Null),
                ]
            )
        );
        for f in flatten(&v) {
            assert!(v.pointer(&f.path).is_some(), "{} resolves", f.path);
        }
    }

    #[test]
    fn unflattens_payload_leaves() {
        let fields = flatten(&json!({"mac": "00:11", "sip": {"user": "u"}}));
        let like = json!({"mac": "00:11", "sip": {"user": "u"}});
        assert_eq!(unflatten(&fields, &like), like);
    }

    #[test]
    fn unflattened_payloads_keep_the_record_shape() {
        let like = json!({"codecs": ["opus", "g722"], "big": 18446744073709551615u64,
                          "n": -3, "f": 0.25, "t": true, "z": null, "e": [], "o": {},
                          "nested": [[1, 2], {"k": "v"}]});
        let mut leaves = flatten(&like);
        leaves.push(Field {
            path: "/url".into(),
            value: WitValue::Text("https://x".into()),
        });
        let mut expected = like.clone();
        expected["url"] = json!("https://x");
        assert_eq!(unflatten(&leaves, &like), expected);
    }
}
