//! Retention plugin: rule-driven deletion schedules.
//!
//! Each rule names a record kind, the event timestamp field that starts the clock, how many
//! days later the data must go, and what goes: some fields, or the whole record.
//!
//! ```toml
//! config = { rules = [
//!   { kind = "contact", after = "/left_organisation_at", days = 90,
//!     fields = ["/phone", "/email"], clause = "2.1.1" },
//!   { kind = "call-recording", after = "/started_at", days = 365, record = true, clause = "2.1.3" },
//! ] }
//! ```
//! A rule whose event field is absent schedules nothing (the clock has not started). Fields
//! that are absent are not scheduled.

use serde::Deserialize;
use sluice_plugin_sdk::pointer;
use sluice_plugin_sdk::retention::exports::sluice::policy::retain;
use sluice_plugin_sdk::types::{RecordData, Value};

const DAY: i64 = 86_400;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    rules: Vec<Rule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Rule {
    /// The record kind the rule applies to.
    kind: String,
    /// JSON Pointer of the RFC 3339 timestamp field that starts the period.
    after: String,
    /// Length of the period in days.
    days: u32,
    /// Fields (JSON Pointers) deleted when the period ends.
    #[serde(default)]
    fields: Vec<String>,
    /// Delete the whole record when the period ends.
    #[serde(default)]
    record: bool,
    /// The clause that sets the period.
    clause: String,
    /// Why, for the audit log; a default is derived from the rule.
    #[serde(default)]
    reason: Option<String>,
}

impl Config {
    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        for (i, rule) in self.rules.iter().enumerate() {
            rule.problems(i, &mut problems);
        }
        problems
    }
}

impl Rule {
    fn problems(&self, index: usize, out: &mut Vec<String>) {
        let at = format!("rules[{index}] ({})", self.kind);
        if self.kind.trim().is_empty() {
            out.push(format!("{at}: `kind` must not be empty"));
        }
        if !self.after.starts_with('/') {
            out.push(format!(
                "{at}: `after` must be a JSON Pointer such as \"/shipped_at\""
            ));
        }
        if self.record != self.fields.is_empty() {
            out.push(format!(
                "{at}: give either `fields` or `record = true`, not both or neither"
            ));
        }
        for f in &self.fields {
            if !f.starts_with('/') {
                out.push(format!(
                    "{at}: field {f:?} must be a JSON Pointer such as \"/phone\""
                ));
            }
        }
        if self.clause.trim().is_empty() {
            out.push(format!("{at}: `clause` must not be empty"));
        }
    }

    fn reason(&self, what: &str) -> String {
        self.reason.clone().unwrap_or_else(|| {
            format!(
                "{what} deleted {} days after {}",
                self.days,
                self.after.trim_start_matches('/')
            )
        })
    }
}

/// The expiries of `record` under the rules of its kind.
fn schedule(cfg: &Config, record: &RecordData) -> Result<Vec<retain::Expiry>, String> {
    let mut expiries = Vec::new();
    for rule in cfg.rules.iter().filter(|r| r.kind == record.kind) {
        let start = match sluice_plugin_sdk::field(&record.fields, &rule.after) {
            None | Some(Value::Null) => continue,
            Some(Value::Text(t)) => sluice_plugin_sdk::parse_rfc3339(t)
                .ok_or_else(|| format!("`{}` is not an RFC 3339 timestamp", rule.after))?,
            Some(_) => return Err(format!("`{}` is not an RFC 3339 timestamp", rule.after)),
        };
        let due = start.saturating_add(i64::from(rule.days) * DAY);
        if rule.record {
            expiries.push(retain::Expiry {
                path: None,
                due,
                clause: rule.clause.clone(),
                reason: rule.reason("record"),
            });
        }
        for path in &rule.fields {
            let present = record
                .fields
                .iter()
                .any(|f| pointer::is_within(&f.path, path));
            if present {
                expiries.push(retain::Expiry {
                    path: Some(path.clone()),
                    due,
                    clause: rule.clause.clone(),
                    reason: rule.reason(path.trim_start_matches('/')),
                });
            }
        }
    }
    Ok(expiries)
}

sluice_plugin_sdk::export_config_rule!(retention: Config, schedule);
