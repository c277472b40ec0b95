//! Field schemas of record kinds, and the check of a record's fields against them.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::record::escape_segment;

/// The type of a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FieldType {
    /// A JSON string.
    String,
    /// A JSON string holding an RFC 3339 timestamp.
    Timestamp,
    /// A JSON string holding a MAC-48 address in a usual notation (`00:15:65:AA:BB:CC`,
    /// `00-15-65-aa-bb-cc`, `0015.65aa.bbcc`, `001565aabbcc`).
    Mac,
    /// A JSON number without a fractional part.
    Integer,
    /// Any JSON number.
    Number,
    /// `true` or `false`.
    Boolean,
    /// A JSON object; `fields` may describe its members.
    Object,
    /// A JSON array.
    Array,
    /// Anything.
    Any,
}

impl FieldType {
    fn name(self) -> &'static str {
        match self {
            FieldType::String => "a string",
            FieldType::Timestamp => "an RFC 3339 timestamp",
            FieldType::Mac => "a MAC address",
            FieldType::Integer => "an integer",
            FieldType::Number => "a number",
            FieldType::Boolean => "a boolean",
            FieldType::Object => "an object",
            FieldType::Array => "an array",
            FieldType::Any => "any value",
        }
    }
}

/// What to do with fields the schema does not list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Extra {
    /// Accept them (the plugin chain still sees them: card data, special categories).
    #[default]
    Allow,
    /// Refuse the record, naming the field.
    Reject,
}

/// One field of a kind.
///
/// ```toml
/// relationship = { type = "string", required = true, one_of = ["customer", "supplier"] }
/// address = { type = "object", required = true, fields = { city = { type = "string", required = true } } }
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSchema {
    /// `type = "string"`
    #[serde(rename = "type")]
    pub ty: FieldType,
    /// `required = true`: the field must be present and not null.
    #[serde(default)]
    pub required: bool,
    /// `one_of = ["a", "b"]`: the allowed values of a string field.
    #[serde(default)]
    pub one_of: Vec<String>,
    /// `fields = { ... }`: the members of an object field.
    #[serde(default)]
    pub fields: BTreeMap<String, FieldSchema>,
    /// `extra_fields = "reject"`: refuse members of an object field not listed in `fields`.
    #[serde(default)]
    pub extra_fields: Extra,
}

/// A problem with a record's fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// JSON Pointer of the field.
    pub path: String,
    /// What is wrong, naming the field.
    pub message: String,
}

/// Checks `fields` against the members `schema` of an object; `extra` says what to do
/// with members it does not list. Returns every problem found.
pub fn check(schema: &BTreeMap<String, FieldSchema>, extra: Extra, fields: &Value) -> Vec<Problem> {
    let mut problems = Vec::new();
    match fields {
        Value::Object(_) => check_object(schema, extra, fields, "", &mut problems),
        _ => problems.push(Problem {
            path: String::new(),
            message: "`fields` must be a JSON object".into(),
        }),
    }
    problems
}

fn check_object(
    schema: &BTreeMap<String, FieldSchema>,
    extra: Extra,
    value: &Value,
    at: &str,
    problems: &mut Vec<Problem>,
) {
    let Value::Object(map) = value else { return };
    for (name, field) in schema {
        let path = format!("{at}/{}", escape_segment(name));
        match map.get(name) {
            None | Some(Value::Null) if field.required => problems.push(Problem {
                message: format!("missing required field `{}`", display(&path)),
                path,
            }),
            None | Some(Value::Null) => {}
            Some(v) => check_value(field, v, &path, problems),
        }
    }
    if extra == Extra::Reject {
        for name in map.keys().filter(|k| !schema.contains_key(*k)) {
            let path = format!("{at}/{}", escape_segment(name));
            problems.push(Problem {
                message: format!("unknown field `{}`", display(&path)),
                path,
            });
        }
    }
}

fn check_value(field: &FieldSchema, v: &Value, path: &str, problems: &mut Vec<Problem>) {
    let ok = match field.ty {
        FieldType::String => v.is_string(),
        FieldType::Timestamp => v
            .as_str()
            .is_some_and(|s| crate::clock::parse_rfc3339_ms(s).is_some()),
        FieldType::Mac => v
            .as_str()
            .is_some_and(|s| sluice_rules::mac::normalise(s).is_some()),
        FieldType::Integer => v.is_i64() || v.is_u64(),
        FieldType::Number => v.is_number(),
        FieldType::Boolean => v.is_boolean(),
        FieldType::Object => v.is_object(),
        FieldType::Array => v.is_array(),
        FieldType::Any => true,
    };
    if !ok {
        problems.push(Problem {
            path: path.to_string(),
            message: format!("field `{}` must be {}", display(path), field.ty.name()),
        });
        return;
    }
    if let (Some(s), false) = (v.as_str(), field.one_of.is_empty())
        && !field.one_of.iter().any(|o| o == s)
    {
        {
            problems.push(Problem {
                path: path.to_string(),
                message: format!(
                    "field `{}` must be one of: {}",
                    display(path),
                    field.one_of.join(", ")
                ),
            });
        }
    }
    if field.ty == FieldType::Object {
        check_object(&field.fields, field.extra_fields, v, path, problems);
    }
}

/// The declared type of the field at `path` (a JSON Pointer), if the schema describes it.
pub fn field_type(schema: &BTreeMap<String, FieldSchema>, path: &str) -> Option<FieldType> {
    let mut fields = schema;
    let mut found = None;
    for segment in path.split('/').skip(1) {
        let f = fields.get(sluice_rules::pointer::unescape(segment).as_ref())?;
        found = Some(f.ty);
        fields = &f.fields;
    }
    found
}

/// A pointer as a dotted name for messages (`/address/city` -> `address.city`).
fn display(path: &str) -> String {
    path.trim_start_matches('/').replace('/', ".")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> BTreeMap<String, FieldSchema> {
        toml::from_str(
            r#"
            name = { type = "string", required = true }
            kind = { type = "string", one_of = ["a", "b"] }
            at = { type = "timestamp" }
            address = { type = "object", required = true, extra_fields = "reject", fields = { city = { type = "string", required = true } } }
            "#,
        )
        .unwrap()
    }

    #[test]
    fn names_every_problem_with_its_path() {
        let problems = check(
            &schema(),
            Extra::Allow,
            &json!({"kind": "c", "at": "yesterday", "address": {"zip": 1}}),
        );
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            ["/address/city", "/address/zip", "/at", "/kind", "/name"]
        );
        assert_eq!(problems[4].message, "missing required field `name`");
    }

    #[test]
    fn accepts_a_valid_record_with_extra_fields() {
        let fields = json!({"name": "A", "at": "2025-01-02T03:04:05Z", "address": {"city": "X"}, "notes": "n"});
        assert!(check(&schema(), Extra::Allow, &fields).is_empty());
        assert_eq!(check(&schema(), Extra::Reject, &fields)[0].path, "/notes");
    }
}
