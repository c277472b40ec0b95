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

sluice_plugin_sdk::config_defaults! {
    default_clause: String = "2.1.2".into();
    default_marker: String = card::MARKER.into();
    default_remove_fields: Vec<String> = [
        "card_number",
        "pan",
        "cvv",
        "cvc",
        "cvv2",
        "card_security_code",
        "card_expiry",
    ]
    .map(String::from)
    .to_vec();
}

impl Config {
    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        sluice_plugin_sdk::require_text(&mut problems, "clause", &self.clause);
        if card::contains_card_number(&self.marker) || self.marker.is_empty() {
            problems.push("`marker` must be non-empty and hold no card number".into());
        }
        for name in &self.remove_fields {
            let compact = names::compact(name);
            if compact.is_empty() {
                problems.push(format!(
                    "`remove_fields`: {name:?} must hold a letter or digit"
                ));
            } else if pointer::is_index(&compact) {
                problems.push(format!(
                    "`remove_fields`: {name:?} is a number, which would name array elements"
                ));
            }
        }
        problems
    }
}

/// Why a field is removed.
#[derive(Clone)]
enum Removal {
    /// A segment of its path is named in `remove_fields`: that segment.
    Named(String),
    /// A segment of its path holds a card number.
    CardNumberInName,
}

/// What one segment of a path says about the fields below it.
#[derive(Clone)]
enum Verdict {
    /// Nothing: look further down.
    Keep,
    /// The field at this segment is removed, and why.
    Remove(Removal),
}

/// The verdict on one (escaped) segment: it holds a card number, or it is a name (not an
/// index) in `remove` (compact forms).
fn verdict(raw: &str, remove: &[String]) -> Verdict {
    let segment = pointer::unescape(raw);
    if card::contains_card_number(&segment) {
        return Verdict::Remove(Removal::CardNumberInName);
    }
    if pointer::is_index(&segment) {
        return Verdict::Keep;
    }
    if remove.contains(&names::compact(&segment)) {
        return Verdict::Remove(Removal::Named(segment.into_owned()));
    }
    Verdict::Keep
}

/// The removals of pass 1 over leaves in record order, judging each segment of a path once
/// for all the leaves that share it.
///
/// Leaves arrive in document order, so the leaves below one object or array come together
/// and share the path down to it: the verdicts on the segments of the previous leaf's path
/// are kept, and a leaf only has the segments past the common prefix judged. The work is
/// thus linear in the size of the record's keys, not in the sum of its paths' lengths (a
/// deep record of long keys repeats them in every leaf's path).
struct Removals<'r> {
    remove: &'r [String],
    /// The previous path's segments: the byte offset just past each in that path, and its
    /// verdict. Only the segments up to the first removal are kept (nothing below one is
    /// looked at).
    judged: Vec<(usize, Verdict)>,
    previous: String,
}

impl<'r> Removals<'r> {
    fn new(remove: &'r [String]) -> Self {
        Self {
            remove,
            judged: Vec::new(),
            previous: String::new(),
        }
    }

    /// The field to remove for the leaf at `path`: the pointer up to and including its
    /// first segment that is named in `remove` or holds a card number, and why.
    fn of<'p>(&mut self, path: &'p str) -> Option<(&'p str, Removal)> {
        // Keep the verdicts of the segments this path shares with the previous one.
        let common = pointer::shared_segments(path, &self.previous);
        let shared = self
            .judged
            .iter()
            .take_while(|(end, _)| *end <= common)
            .count();
        self.judged.truncate(shared);
        if let Some((end, Verdict::Remove(why))) = self.judged.last() {
            let end = *end;
            let why = why.clone();
            self.previous.clear();
            self.previous.push_str(&path[..end]);
            return Some((&path[..end], why));
        }
        let mut end = self.judged.last().map_or(0, |(end, _)| *end);
        let mut found = None;
        for raw in path[end..].split('/').skip(1) {
            end += 1 + raw.len();
            let v = verdict(raw, self.remove);
            let stop = matches!(v, Verdict::Remove(_));
            if let Verdict::Remove(why) = &v {
                found = Some((&path[..end], why.clone()));
            }
            self.judged.push((end, v));
            if stop {
                break;
            }
        }
        self.previous.clear();
        self.previous.push_str(&path[..end]);
        found
    }
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
        // Parsed once per instance: the records of a batch share it.
        let kept = sluice_plugin_sdk::derived_config(&ctx.config, |cfg: Config| {
            let remove: Vec<String> = cfg
                .remove_fields
                .iter()
                .map(|n| names::compact(n))
                .collect();
            (cfg, remove)
        })?;
        let (cfg, remove) = &*kept;

        // Pass 1: fields named for card data or with a card number. Paths cut at their first
        // matching segment never nest (a path below a removed one would have been cut there
        // too), and the leaves below one field come together in record order, so a removal
        // repeats the one before it or is new. A leaf is below a removed field exactly when
        // its own path is cut (at that field), which pass 2 is told leaf by leaf.
        let mut removals = Removals::new(remove);
        let mut cut = vec![false; record.fields.len()];
        let mut edits: Vec<redact::Edit> = Vec::new();
        // (A `BTreeSet`: a `HashSet` would seed its hasher from WASI randomness, which
        // plugins do not get.)
        let mut seen = std::collections::BTreeSet::new();
        for (field, cut) in record.fields.iter().zip(&mut cut) {
            let Some((path, why)) = removals.of(&field.path) else {
                continue;
            };
            *cut = true;
            if edits.last().is_some_and(|e| e.path == path) || !seen.insert(path) {
                continue;
            }
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
        drop(seen);

        // Pass 2: card numbers in the values that remain. Number fields that are card
        // numbers are removed (after the named fields); texts are redacted, after every
        // removal.
        let mut redactions = Vec::new();
        for (field, cut) in record.fields.into_iter().zip(cut) {
            if cut {
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

sluice_plugin_sdk::export_plugin!(redaction: Plugin);

#[cfg(test)]
mod tests;
