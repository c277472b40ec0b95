//! Conversions between the host's JSON records and the WIT types plugins see.

use serde_json::{Map, Number, Value};

use super::generated::types::{Field, Value as WitValue};
use crate::record::escape_segment;

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

/// Rebuilds a JSON object from leaves (the inverse of [`flatten`] for object paths; array
/// indices become object keys). Used for delivery payloads.
pub fn unflatten(fields: &[Field]) -> Value {
    let mut root = Value::Object(Map::new());
    for field in fields {
        if field.path.is_empty() {
            continue;
        }
        let mut node = &mut root;
        let segments: Vec<String> = field
            .path
            .split('/')
            .skip(1)
            .map(|s| s.replace("~1", "/").replace("~0", "~"))
            .collect();
        for (i, seg) in segments.iter().enumerate() {
            if !node.is_object() {
                *node = Value::Object(Map::new());
            }
            let map = node.as_object_mut().expect("just made an object");
            if i + 1 == segments.len() {
                map.insert(seg.clone(), from_wit(&field.value));
                break;
            }
            node = map
                .entry(seg.clone())
                .or_insert_with(|| Value::Object(Map::new()));
        }
    }
    root
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
        assert_eq!(
            unflatten(&fields),
            json!({"mac": "00:11", "sip": {"user": "u"}})
        );
    }
}
