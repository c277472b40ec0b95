//! Admission plugin: no personal data about children (clause 6).
//!
//! Clause 6: "'Children' are individuals under the age of 16. ProVu does not knowingly
//! collect personal data from children. If it comes to our attention that we have collected
//! personal data from a child, we may delete this information without notice."
//!
//! A record is rejected when it shows that its data subject is under `min_age`:
//!
//! - a field named like a date of birth (`date_of_birth_fields`) holds a date
//!   (`YYYY-MM-DD`, or an RFC 3339 timestamp whose date is taken as written) giving an age
//!   under `min_age` on the current date (UTC); or
//! - a field named like an age (`age_fields`) holds a number (integer, float, or decimal
//!   text such as `"15"`) under `min_age`.
//!
//! Field names are compared with the *last* segment of each leaf's path, at any depth, in
//! compact form (lowercase, letters and digits only; see `sluice_rules::names::compact`), so
//! `dateOfBirth`, `Date-Of-Birth` and `date_of_birth` are the same name. A date of birth that
//! is not a date, or an age that is not a number, is not a rejection: the schema validates
//! formats.
//!
//! The rejection sets `erase`, so an update that reveals a child also deletes the record
//! already stored.
//!
//! Configuration (all optional):
//! ```toml
//! config = { clause = "6", min_age = 16,
//!            date_of_birth_fields = ["date_of_birth", "dob", "birth_date", "birthdate"],
//!            age_fields = ["age"] }
//! ```
//! Accepted records get no notes.

use serde::Deserialize;
use sluice_plugin_sdk::admission::exports::sluice::policy::admit;
use sluice_plugin_sdk::pointer;
use sluice_plugin_sdk::types::{Context, Note, RecordData, Value};
use sluice_rules::{age, names};

/// The oldest `min_age` the configuration accepts.
const MAX_MIN_AGE: u32 = 150;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// The clause cited by each rejection.
    #[serde(default = "default_clause")]
    clause: String,
    /// The age (in whole years) under which a data subject is a child.
    #[serde(default = "default_min_age")]
    min_age: u32,
    /// Names of fields that hold a date of birth.
    #[serde(default = "default_date_of_birth_fields")]
    date_of_birth_fields: Vec<String>,
    /// Names of fields that hold an age in years.
    #[serde(default = "default_age_fields")]
    age_fields: Vec<String>,
}

sluice_plugin_sdk::config_defaults! {
    default_clause: String = "6".into();
    default_min_age: u32 = 16;
    default_date_of_birth_fields: Vec<String> =
        ["date_of_birth", "dob", "birth_date", "birthdate"].map(String::from).to_vec();
    default_age_fields: Vec<String> = vec!["age".into()];
}

impl Config {
    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        sluice_plugin_sdk::require_text(&mut problems, "clause", &self.clause);
        if self.min_age == 0 || self.min_age > MAX_MIN_AGE {
            problems.push(format!("`min_age` must be between 1 and {MAX_MIN_AGE}"));
        }
        if self.date_of_birth_fields.is_empty() && self.age_fields.is_empty() {
            problems.push(
                "give at least one field name in `date_of_birth_fields` or `age_fields`".into(),
            );
        }
        for (key, list) in [
            ("date_of_birth_fields", &self.date_of_birth_fields),
            ("age_fields", &self.age_fields),
        ] {
            for name in list {
                if names::compact(name).is_empty() {
                    problems.push(format!("`{key}`: {name:?} must hold a letter or digit"));
                }
            }
        }
        let dob: Vec<String> = self
            .date_of_birth_fields
            .iter()
            .map(|n| names::compact(n))
            .collect();
        for name in &self.age_fields {
            let compact = names::compact(name);
            if !compact.is_empty() && dob.contains(&compact) {
                problems.push(format!(
                    "{name:?} is in both `date_of_birth_fields` and `age_fields`"
                ));
            }
        }
        problems
    }
}

/// What a field tells about the data subject's age.
enum Kind {
    DateOfBirth,
    Age,
}

/// Whether `value`, held by a field of kind `kind`, shows an age under `min_age` at `now`.
fn is_child(kind: &Kind, value: &Value, min_age: u32, now: i64) -> bool {
    let min = f64::from(min_age);
    match (kind, value) {
        (Kind::DateOfBirth, Value::Text(text)) => {
            age::age_at(text, now).is_some_and(|a| i64::from(a) < i64::from(min_age))
        }
        (Kind::Age, Value::Integer(n)) => *n < i64::from(min_age),
        (Kind::Age, Value::Float(x)) => x.is_finite() && *x < min,
        (Kind::Age, Value::Text(text)) => age::parse_age(text).is_some_and(|x| x < min),
        _ => false,
    }
}

struct Plugin;

impl admit::Guest for Plugin {
    fn check_config(config: String) -> Result<(), Vec<String>> {
        sluice_plugin_sdk::check_config(&config, Config::problems)
    }

    fn admit(ctx: Context, record: RecordData) -> Result<Vec<Note>, admit::Rejection> {
        let cfg = sluice_plugin_sdk::config::<Config>(&ctx.config).map_err(|e| {
            admit::Rejection::misconfigured("child-protection", default_clause(), e)
        })?;
        let compact_all = |list: &[String]| -> Vec<String> {
            list.iter()
                .map(|n| names::compact(n))
                .filter(|n| !n.is_empty())
                .collect()
        };
        let dob_fields = compact_all(&cfg.date_of_birth_fields);
        let age_fields = compact_all(&cfg.age_fields);
        for field in &record.fields {
            // The last segment (found from the end: a deep path's others do not matter).
            let Some(last) = field
                .path
                .rsplit_once('/')
                .map(|(_, l)| pointer::unescape(l))
            else {
                continue;
            };
            let name = names::compact(&last);
            let kind = if dob_fields.contains(&name) {
                Kind::DateOfBirth
            } else if age_fields.contains(&name) {
                Kind::Age
            } else {
                continue;
            };
            if is_child(&kind, &field.value, cfg.min_age, ctx.now) {
                return Err(admit::Rejection {
                    reason: format!(
                        "the data subject is under {} (clause {}): ProVu does not collect children's data",
                        cfg.min_age, cfg.clause
                    ),
                    clause: cfg.clause.clone(),
                    path: Some(field.path.clone()),
                    erase: true,
                });
            }
        }
        Ok(Vec::new())
    }
}

sluice_plugin_sdk::export_plugin!(admission: Plugin);

#[cfg(test)]
mod tests;
