//! Redaction plugin: card data is never stored or recorded (clauses 2.1.2 and 2.1.3).
//!
//! Two passes over the record, whose leaves arrive flattened as `(JSON Pointer, value)`:
//!
//! 1. **Fields named for card data, or named with a card number, are removed.** Every object
//!    key on the path of every leaf (unescaped: `~1` is `/`, `~0` is `~`) is compared with
//!    `remove_fields` in compact form (lowercase, letters and digits only; see
//!    `sluice_rules::names::compact`), so `cardNumber`, `Card-Number` and `card_number` all
//!    match `card_number`, and `CVV` matches `cvv`; segments made only of digits (array
//!    indices) never match a name. Every segment is also scanned for a card number, as text
//!    is (below), so `{"4111 1111 1111 1111": {...}}` is caught. The field at the first such
//!    segment is removed with everything below it (`/payment/card_number` when a leaf is
//!    `/payment/card_number/0`), once however many leaves it holds. The reason names a
//!    matching field but never quotes a card number (the path of the edit has to hold it, to
//!    say what is removed).
//! 2. **Card numbers in values are replaced by the marker.** Every remaining string, at any
//!    depth and free text included, is scanned for numbers a card network could have issued
//!    that pass the Luhn check, after Unicode normalisation, in the notations people, PDFs and
//!    transcripts use (see `sluice_rules::card`); each is replaced whole by the marker, the
//!    rest of the text kept as it was. Phone numbers, IBANs, order numbers, dates and other
//!    numbers are left alone.
//! 3. **Number fields that hold a card number are removed.** A number field whose value is a
//!    card number (an integer of 12 to 19 digits that passes the prefix and Luhn checks, such
//!    as `{"paid_with": 4111111111111111}`) is removed rather than replaced by the marker:
//!    the marker is text, and a text in a field that held an integer would break the
//!    record's schema for later rectifications. The reason names the network, never the
//!    number. Every card number fits in an integer; a float is checked only when it holds an
//!    integer exactly (below 2^53): a larger float has lost its last digits to rounding, and
//!    its Luhn check cannot be made (see `sluice_rules::card::network_of_float`).
//!
//! Removals (of named fields, then of number fields, in record order) come before
//! redactions in the returned edits.
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

/// Why a field is removed.
enum Removal {
    /// A segment of its path is named in `remove_fields`: that segment.
    Named(String),
    /// A segment of its path holds a card number.
    CardNumberInName,
}

/// The field to remove for the leaf at `path`: the pointer up to and including its first
/// segment that is named in `remove` (compact forms) or holds a card number, and why.
fn removal<'p>(path: &'p str, remove: &[String]) -> Option<(&'p str, Removal)> {
    // Byte offset just past each escaped segment, alongside the unescaped segment.
    let mut end = 0;
    for (raw, segment) in path.split('/').skip(1).zip(pointer::segments(path)) {
        end += 1 + raw.len();
        if card::contains_card_number(&segment) {
            return Some((&path[..end], Removal::CardNumberInName));
        }
        if is_index(&segment) {
            continue;
        }
        let compact = names::compact(&segment);
        if remove.contains(&compact) {
            return Some((&path[..end], Removal::Named(segment.into_owned())));
        }
    }
    None
}

/// The value that replaces `value` when it is text holding card numbers, and their networks.
fn redacted(value: &Value, marker: &str) -> Option<(Value, Vec<card::Network>)> {
    match value {
        Value::Text(text) => {
            let (text, networks) = card::redact_card_numbers(text, marker)?;
            Some((Value::Text(text), networks))
        }
        _ => None,
    }
}

/// The network of the card number that `value` is, when it is a number holding one.
fn card_in_number(value: &Value) -> Option<card::Network> {
    match value {
        Value::Integer(n) => card::network_of_integer(*n),
        Value::Float(x) => card::network_of_float(*x),
        _ => None,
    }
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

        // Pass 1: fields named for card data or with a card number. Paths cut at their first
        // matching segment never nest (a path below a removed one would have been cut there
        // too), so deduplicating exact paths is enough.
        let mut removed: Vec<String> = Vec::new();
        let mut edits = Vec::new();
        for field in &record.fields {
            let Some((path, why)) = removal(&field.path, &remove) else {
                continue;
            };
            if removed.iter().any(|r| r == path) {
                continue;
            }
            removed.push(path.to_owned());
            let reason = match why {
                Removal::Named(name) => {
                    format!("field named for card data ({name}) removed: card data is never stored")
                }
                Removal::CardNumberInName => {
                    "field whose name holds a card number removed: card data is never stored"
                        .to_owned()
                }
            };
            edits.push(redact::Edit {
                path: path.to_owned(),
                change: redact::Change::Remove,
                clause: cfg.clause.clone(),
                reason,
            });
        }

        // Pass 2: card numbers in the values that remain. Number fields that are card
        // numbers are removed (after the named fields); texts are redacted, after every
        // removal.
        let mut redactions = Vec::new();
        for field in record.fields {
            if removed.iter().any(|r| pointer::is_within(&field.path, r)) {
                continue;
            }
            if let Some(network) = card_in_number(&field.value) {
                edits.push(redact::Edit {
                    path: field.path,
                    change: redact::Change::Remove,
                    clause: cfg.clause.clone(),
                    reason: format!(
                        "number field holding a card number ({network}) removed: card data is never stored"
                    ),
                });
            } else if let Some((value, networks)) = redacted(&field.value, &cfg.marker) {
                let names: Vec<&str> = networks.iter().map(|n| n.name()).collect();
                redactions.push(redact::Edit {
                    path: field.path,
                    change: redact::Change::Redact(value),
                    clause: cfg.clause.clone(),
                    reason: format!(
                        "card number ({}) replaced: card data is never stored",
                        names.join(", ")
                    ),
                });
            }
        }
        edits.extend(redactions);
        Ok(edits)
    }
}

// Exported only in the Wasm build: native builds (unit tests) link no component exports.
#[cfg(target_arch = "wasm32")]
sluice_plugin_sdk::redaction::export_redaction!(Plugin);

#[cfg(test)]
mod tests;
