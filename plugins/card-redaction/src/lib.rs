//! Redaction plugin: card data is never stored (clauses 2.1.2 and 2.1.3).
//!
//! Two passes over the record:
//!
//! 1. **Fields named for card data are removed.** Every object key on the path of every leaf
//!    is compared with `remove_fields` in compact form (lowercase, letters and digits only;
//!    see `sluice_rules::names::compact`), so `cardNumber`, `Card-Number` and `card_number`
//!    all match `card_number`, and `CVV` matches `cvv`. The field at the first matching key is
//!    removed with everything below it (`/payment/card_number` when a leaf is
//!    `/payment/card_number/0`), once however many leaves it holds. Segments made only of
//!    digits (array indices) never match.
//! 2. **Card numbers in text are redacted.** Every remaining string field, at any depth and
//!    free text included, is scanned for numbers a card network could have issued that pass
//!    the Luhn check (see `sluice_rules::card`); each is replaced by a marker. Phone numbers,
//!    order numbers and other digit runs are left alone.
//!
//! Removals come before redactions in the returned edits.
//!
//! Configuration (all optional):
//! ```toml
//! config = { clause = "2.1.2", marker = "[card number removed]",
//!            remove_fields = ["card_number", "pan", "cvv", "cvc", "cvv2",
//!                             "card_security_code", "card_expiry"] }
//! ```
#![cfg_attr(
    not(target_arch = "wasm32"),
    allow(
        dead_code,
        reason = "native builds only run unit tests; the plugin is reached through its Wasm export"
    )
)]

use serde::Deserialize;
use sluice_plugin_sdk::pointer;
use sluice_plugin_sdk::redaction::exports::sluice::policy::redact;
use sluice_plugin_sdk::types::{Context, RecordData, Value};
use sluice_rules::{card, names};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// The clause cited by each removal and redaction.
    #[serde(default = "default_clause")]
    clause: String,
    /// The text that replaces each card number.
    #[serde(default = "default_marker")]
    marker: String,
    /// Names of fields that hold card data, removed wherever they appear.
    #[serde(default = "default_remove_fields")]
    remove_fields: Vec<String>,
}

fn default_clause() -> String {
    "2.1.2".into()
}

fn default_marker() -> String {
    card::MARKER.into()
}

fn default_remove_fields() -> Vec<String> {
    [
        "card_number",
        "pan",
        "cvv",
        "cvc",
        "cvv2",
        "card_security_code",
        "card_expiry",
    ]
    .map(String::from)
    .to_vec()
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
        for name in &self.remove_fields {
            let compact = names::compact(name);
            if compact.is_empty() {
                problems.push(format!(
                    "`remove_fields`: {name:?} must hold a letter or digit"
                ));
            } else if is_index(&compact) {
                problems.push(format!(
                    "`remove_fields`: {name:?} is a number, which would name array elements"
                ));
            }
        }
        problems
    }
}

/// Whether a path segment is made only of ASCII digits, as array indices are.
fn is_index(segment: &str) -> bool {
    !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit())
}

/// The field to remove for the leaf at `path`: the pointer up to and including its first
/// segment named in `remove` (compact forms), and that segment's name.
fn removal<'p>(path: &'p str, remove: &[String]) -> Option<(&'p str, String)> {
    // Byte offset just past each escaped segment, alongside the unescaped segment.
    let mut end = 0;
    for (raw, segment) in path.split('/').skip(1).zip(pointer::segments(path)) {
        end += 1 + raw.len();
        if is_index(&segment) {
            continue;
        }
        let compact = names::compact(&segment);
        if remove.contains(&compact) {
            return Some((&path[..end], segment.into_owned()));
        }
    }
    None
}

struct Plugin;

impl redact::Guest for Plugin {
    fn check_config(config: String) -> Result<(), Vec<String>> {
        sluice_plugin_sdk::check_config(&config, Config::problems)
    }

    fn redact(ctx: Context, record: RecordData) -> Result<Vec<redact::Edit>, String> {
        let cfg: Config = sluice_plugin_sdk::parse_config(&ctx.config)?;
        let remove: Vec<String> = cfg
            .remove_fields
            .iter()
            .map(|n| names::compact(n))
            .collect();

        // Pass 1: fields named for card data. Paths cut at their first matching segment never
        // nest (a path below a removed one would have been cut there too), so deduplicating
        // exact paths is enough.
        let mut removed: Vec<String> = Vec::new();
        let mut edits = Vec::new();
        for field in &record.fields {
            let Some((path, name)) = removal(&field.path, &remove) else {
                continue;
            };
            if removed.iter().any(|r| r == path) {
                continue;
            }
            removed.push(path.to_owned());
            edits.push(redact::Edit {
                path: path.to_owned(),
                change: redact::Change::Remove,
                clause: cfg.clause.clone(),
                reason: format!(
                    "field named for card data ({name}) removed: card data is never stored"
                ),
            });
        }

        // Pass 2: card numbers in the text that remains.
        for field in record.fields {
            let Value::Text(text) = &field.value else {
                continue;
            };
            if removed.iter().any(|r| pointer::is_within(&field.path, r)) {
                continue;
            }
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

// Exported only in the Wasm build: native builds (unit tests) link no component exports.
#[cfg(target_arch = "wasm32")]
sluice_plugin_sdk::redaction::export_redaction!(Plugin);

#[cfg(test)]
mod tests;
