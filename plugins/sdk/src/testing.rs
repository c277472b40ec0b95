//! Helpers for plugins' native unit tests: records and contexts built from JSON, as the host
//! would pass them to a plugin.
//!
//! ```ignore
//! use serde_json::json;
//! use sluice_plugin_sdk::testing::{NOW, context, record};
//!
//! let fields = json!({ "a": 1 });
//! let edits = Plugin::redact(context(&json!({}), NOW), record("contact", &fields, NOW));
//! ```

use serde::de::DeserializeOwned;
use serde_json::Value as Json;

use crate::types::{Context, Field, RecordData, Value};

/// The id of every test record.
pub const RECORD_ID: &str = "0190e7a8-0000-7000-8000-000000000001";
/// The tenant of every test record.
pub const TENANT: &str = "default";
/// The data subject of every test record.
pub const SUBJECT: &str = "subject-1";
/// The bundle named by every test context.
pub const BUNDLE: &str = "test@1";
/// The time of the tests' calls, 2026-06-14T12:00:00Z, in seconds since the Unix epoch.
pub const NOW: i64 = 1_781_438_400;

/// The leaves of `fields`, flattened the way the host flattens records: one field a leaf,
/// named by its JSON Pointer (object keys escaped `~` -> `~0`, `/` -> `~1`; array elements
/// by index). Empty objects and arrays are leaves of their own; a number is an integer when
/// it fits an `i64`, else a float.
pub fn leaves(fields: &Json) -> Vec<Field> {
    fn walk(prefix: String, value: &Json, out: &mut Vec<Field>) {
        let leaf = match value {
            Json::Object(map) if !map.is_empty() => {
                for (key, v) in map {
                    let key = crate::pointer::escape(key);
                    walk(format!("{prefix}/{key}"), v, out);
                }
                return;
            }
            Json::Array(items) if !items.is_empty() => {
                for (i, v) in items.iter().enumerate() {
                    walk(format!("{prefix}/{i}"), v, out);
                }
                return;
            }
            Json::Object(_) => Value::EmptyObject,
            Json::Array(_) => Value::EmptyArray,
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Boolean(*b),
            Json::Number(n) => match n.as_i64() {
                Some(i) => Value::Integer(i),
                None => Value::Float(n.as_f64().unwrap()),
            },
            Json::String(s) => Value::Text(s.clone()),
        };
        out.push(Field {
            path: prefix,
            value: leaf,
        });
    }
    let mut out = Vec::new();
    walk(String::new(), fields, &mut out);
    out
}

/// The JSON form of one leaf value: the inverse of [`leaves`] for a single leaf (a float
/// JSON cannot hold becomes `null`).
pub fn to_json(value: &Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Boolean(b) => Json::Bool(*b),
        Value::Integer(i) => Json::from(*i),
        Value::Float(x) => serde_json::Number::from_f64(*x).map_or(Json::Null, Json::Number),
        Value::Text(s) => Json::String(s.clone()),
        Value::EmptyObject => Json::Object(serde_json::Map::new()),
        Value::EmptyArray => Json::Array(Vec::new()),
    }
}

/// A record of `kind` holding `fields` (see [`leaves`]), created and last updated at `now`
/// (seconds since the Unix epoch), with the fixed [`RECORD_ID`], [`TENANT`] and [`SUBJECT`].
pub fn record(kind: &str, fields: &Json, now: i64) -> RecordData {
    RecordData {
        id: RECORD_ID.into(),
        tenant: TENANT.into(),
        kind: kind.into(),
        subject: SUBJECT.into(),
        fields: leaves(fields),
        created_at: now,
        updated_at: now,
    }
}

/// The context of a call at `now` (seconds since the Unix epoch) with the plugin
/// configuration `config`, from the bundle [`BUNDLE`].
pub fn context(config: &Json, now: i64) -> Context {
    Context {
        now,
        config: config.to_string(),
        bundle: BUNDLE.into(),
    }
}

/// `base` with the keys of `extra` added, replacing any of the same name; both must be
/// objects. For test configurations made of fixed keys and the few a test sets.
///
/// # Panics
///
/// When `base` or `extra` is not an object.
pub fn merged(mut base: Json, extra: Json) -> Json {
    let (Json::Object(map), Json::Object(extra)) = (&mut base, extra) else {
        panic!("both `base` and `extra` must be JSON objects")
    };
    map.extend(extra);
    base
}

/// `base` with the keys of `extra` (see [`merged`]), parsed as a plugin's configuration.
///
/// # Panics
///
/// When the merged configuration does not parse as a `T`.
pub fn parsed<T: DeserializeOwned>(base: Json, extra: Json) -> T {
    serde_json::from_value(merged(base, extra)).expect("test configuration parses")
}

/// Asserts that `problems` (of a `check-config`) are as many as `expected`, in order, each
/// holding the text expected of it.
///
/// # Panics
///
/// When they are not.
#[track_caller]
pub fn assert_problems(problems: &[String], expected: &[&str]) {
    assert_eq!(problems.len(), expected.len(), "{problems:?}");
    for (problem, text) in problems.iter().zip(expected) {
        assert!(problem.contains(text), "{problem:?} does not hold {text:?}");
    }
}
