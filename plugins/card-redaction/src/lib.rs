//! Redaction plugin: card numbers are never stored (clause 2.1.2).
//!
//! Every string field, at any depth and free text included, is scanned for numbers a card
//! network could have issued that pass the Luhn check (see `sluice_rules::card`); each is
//! replaced by a marker. Phone numbers, order numbers and other digit runs are left alone.
//!
//! Configuration (all optional):
//! ```toml
//! config = { clause = "2.1.2", marker = "[card number removed]" }
//! ```

use serde::Deserialize;
use sluice_plugin_sdk::redaction::exports::sluice::policy::redact;
use sluice_plugin_sdk::types::{Context, RecordData, Value};
use sluice_rules::card;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// The clause cited by each redaction.
    #[serde(default = "default_clause")]
    clause: String,
    /// The text that replaces each card number.
    #[serde(default = "default_marker")]
    marker: String,
}

fn default_clause() -> String {
    "2.1.2".into()
}

fn default_marker() -> String {
    card::MARKER.into()
}

impl Config {
    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if self.clause.trim().is_empty() {
            problems.push("`clause` must not be empty".into());
        }
        if card::contains_card_number(&self.marker) || self.marker.is_empty() {
            problems.push("`marker` must be non-empty and hold no card number".into());
        }
        problems
    }
}

struct Plugin;

impl redact::Guest for Plugin {
    fn check_config(config: String) -> Result<(), Vec<String>> {
        let cfg: Config = sluice_plugin_sdk::parse_config(&config).map_err(|e| vec![e])?;
        let problems = cfg.problems();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    fn redact(ctx: Context, record: RecordData) -> Result<Vec<redact::Edit>, String> {
        let cfg: Config = sluice_plugin_sdk::parse_config(&ctx.config)?;
        let mut edits = Vec::new();
        for field in record.fields {
            let Value::Text(text) = &field.value else {
                continue;
            };
            if let Some((redacted, networks)) = card::redact_card_numbers(text, &cfg.marker) {
                let names: Vec<&str> = networks.iter().map(|n| n.name()).collect();
                edits.push(redact::Edit {
                    path: field.path,
                    change: redact::Change::Redact(Value::Text(redacted)),
                    clause: cfg.clause.clone(),
                    reason: format!(
                        "card number ({}) replaced: card data is never stored",
                        names.join(", ")
                    ),
                });
            }
        }
        Ok(edits)
    }
}

sluice_plugin_sdk::redaction::export_redaction!(Plugin);
