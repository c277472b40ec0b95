//! Redaction plugin: MAC addresses are stored in one canonical form (clause 2.2.2).
//!
//! Clause 2.2.2 keeps provisioned devices searchable in ProSys and passes their MAC
//! addresses to vendors' redirection servers; one form makes both reliable. Each configured
//! field that holds a MAC-48 in a usual notation (`00:15:65:AA:BB:CC`, `00-15-65-aa-bb-cc`,
//! `0015.65aa.bbcc`, `001565aabbcc`; see `sluice_rules::mac`) is rewritten to lowercase,
//! colon-separated form (`00:15:65:aa:bb:cc`). A field already in that form, absent, not
//! text, or holding text that is not a MAC address is left as it is.
//!
//! Configuration (all optional; `fields` are JSON Pointers):
//! ```toml
//! config = { clause = "2.2.2", fields = ["/mac"] }
//! ```

use serde::Deserialize;
use sluice_plugin_sdk::redaction::exports::sluice::policy::redact;
use sluice_plugin_sdk::types::{RecordData, Value};
use sluice_rules::mac;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// The clause cited by each normalisation.
    #[serde(default = "default_clause")]
    clause: String,
    /// The fields (JSON Pointers) that hold MAC addresses.
    #[serde(default = "default_fields")]
    fields: Vec<String>,
}

sluice_plugin_sdk::config_defaults! {
    default_clause: String = "2.2.2".into();
    default_fields: Vec<String> = vec!["/mac".into()];
}

impl Config {
    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        sluice_plugin_sdk::require_text(&mut problems, "clause", &self.clause);
        if self.fields.is_empty() {
            problems.push("`fields` must name at least one field".into());
        }
        for (i, f) in self.fields.iter().enumerate() {
            if !f.starts_with('/') {
                problems.push(format!(
                    "`fields`: {f:?} must be a JSON Pointer such as \"/mac\""
                ));
            }
            if self.fields[..i].contains(f) {
                problems.push(format!("`fields`: {f:?} is listed more than once"));
            }
        }
        problems
    }
}

/// The edits that rewrite each configured field of `record` holding a MAC address in another
/// form to its canonical form.
fn edits(cfg: &Config, record: &RecordData) -> Result<Vec<redact::Edit>, String> {
    let mut edits = Vec::new();
    for (i, path) in cfg.fields.iter().enumerate() {
        if cfg.fields[..i].contains(path) {
            continue;
        }
        let Some(text) = sluice_plugin_sdk::text(&record.fields, path) else {
            continue;
        };
        let Some(canonical) = mac::normalise(text) else {
            continue;
        };
        if canonical != text {
            edits.push(redact::Edit {
                path: path.clone(),
                change: redact::Change::Normalise(Value::Text(canonical)),
                clause: cfg.clause.clone(),
                reason: "MAC address stored in canonical form".into(),
            });
        }
    }
    Ok(edits)
}

sluice_plugin_sdk::export_config_rule!(redaction: Config, edits);

#[cfg(test)]
mod tests;
