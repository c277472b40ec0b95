//! Admission plugin: every email-marketing subscriber has a basis the policy allows
//! (clause 2.1.4).
//!
//! Clause 2.1.4: subscribers may be "users who have specifically consented via an opt-in",
//! "existing customers who have bought similar products or services from us in the past" or
//! "potential customers who have recently expressed an interest", and "unless an individual
//! was on our mailing list prior to May 2018, they cannot be automatically added without
//! confirming that they would like to receive our marketing emails".
//!
//! Records of kind `kind` must give their basis in `/basis` (text):
//!
//! | `/basis`            | Requires |
//! |---------------------|----------|
//! | `opt-in`            | `/consent_evidence`: non-blank text, or an object or array holding at least one value (a number, a boolean or non-blank text) |
//! | `existing-customer` | nothing more |
//! | `recent-enquiry`    | `/enquiry_at`: an RFC 3339 timestamp not after now and at most `enquiry_window_days` days before it |
//! | `pre-gdpr-list`     | `/joined_at`: an RFC 3339 timestamp (or a `YYYY-MM-DD` date) strictly before `gdpr_cutoff` (midnight UTC) |
//!
//! Any other basis, or none, is rejected. An accepted record gets one note naming its basis.
//! Records of other kinds are accepted with no notes.
//!
//! Configuration (all optional):
//! ```toml
//! config = { clause = "2.1.4", kind = "marketing-subscription",
//!            gdpr_cutoff = "2018-05-25", enquiry_window_days = 180 }
//! ```

use serde::Deserialize;
use sluice_plugin_sdk::admission::exports::sluice::policy::admit;
use sluice_plugin_sdk::pointer;
use sluice_plugin_sdk::types::{Context, Note, RecordData, Value};
use sluice_rules::age;

const DAY: i64 = 86_400;

/// The bases clause 2.1.4 allows, as written in `/basis`.
const BASES: &str = "opt-in, existing-customer, recent-enquiry or pre-gdpr-list";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// The clause cited by each decision.
    #[serde(default = "default_clause")]
    clause: String,
    /// The record kind this plugin checks; other kinds are accepted as they are.
    #[serde(default = "default_kind")]
    kind: String,
    /// The date (`YYYY-MM-DD`) before which a subscriber must have joined the list to be kept
    /// without fresh consent.
    #[serde(default = "default_gdpr_cutoff")]
    gdpr_cutoff: String,
    /// How many days an enquiry counts as recent.
    #[serde(default = "default_enquiry_window_days")]
    enquiry_window_days: u32,
}

sluice_plugin_sdk::config_defaults! {
    default_clause: String = "2.1.4".into();
    default_kind: String = "marketing-subscription".into();
    default_gdpr_cutoff: String = "2018-05-25".into();
    default_enquiry_window_days: u32 = 180;
}

/// The cutoff date, if `text` is a plain `YYYY-MM-DD` date.
fn cutoff_date(text: &str) -> Option<age::Date> {
    let text = text.trim();
    if text.len() == 10 {
        age::parse_date(text)
    } else {
        None
    }
}

impl Config {
    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        sluice_plugin_sdk::require_text(&mut problems, "clause", &self.clause);
        sluice_plugin_sdk::require_text(&mut problems, "kind", &self.kind);
        if cutoff_date(&self.gdpr_cutoff).is_none() {
            problems.push(format!(
                "`gdpr_cutoff` must be a date written YYYY-MM-DD, not {:?}",
                self.gdpr_cutoff
            ));
        }
        if self.enquiry_window_days == 0 {
            problems.push("`enquiry_window_days` must be at least 1".into());
        }
        problems
    }
}

/// The outcome for a record of the configured kind: its basis, or the rejection's path and
/// reason.
fn check(
    cfg: &Config,
    cutoff: age::Date,
    now: i64,
    record: &RecordData,
) -> Result<String, (&'static str, String)> {
    let fields = &record.fields;
    let basis = match sluice_plugin_sdk::field(fields, "/basis") {
        Some(Value::Text(t)) if !t.is_empty() => t.as_str(),
        _ => {
            return Err((
                "/basis",
                format!("a marketing subscriber needs a `basis`: {BASES}"),
            ));
        }
    };
    match basis {
        "opt-in" => {
            if !has_consent_evidence(record) {
                return Err((
                    "/consent_evidence",
                    "an opt-in needs consent evidence".into(),
                ));
            }
        }
        "existing-customer" => {}
        "recent-enquiry" => {
            let days = cfg.enquiry_window_days;
            let recent = sluice_plugin_sdk::text(fields, "/enquiry_at")
                .and_then(sluice_plugin_sdk::parse_rfc3339)
                .is_some_and(|at| at <= now && now - at <= i64::from(days) * DAY);
            if !recent {
                return Err((
                    "/enquiry_at",
                    format!(
                        "a recent enquiry needs `enquiry_at`, an RFC 3339 timestamp no more than {days} days ago and not in the future"
                    ),
                ));
            }
        }
        "pre-gdpr-list" => {
            let before = age::days_from_civil(cutoff) * DAY;
            let joined = sluice_plugin_sdk::text(fields, "/joined_at").and_then(|t| {
                sluice_plugin_sdk::parse_rfc3339(t)
                    .or_else(|| cutoff_date(t).map(|d| age::days_from_civil(d) * DAY))
            });
            let on_the_list_before = joined.is_some_and(|at| at < before);
            if !on_the_list_before {
                return Err((
                    "/joined_at",
                    format!(
                        "only subscribers on the list before {} may be kept without fresh consent",
                        age::format_date(cutoff)
                    ),
                ));
            }
        }
        _ => {
            return Err((
                "/basis",
                format!("the subscriber basis is not one the policy allows: {BASES}"),
            ));
        }
    }
    Ok(basis.to_owned())
}

/// Whether `/consent_evidence` is non-blank text, or holds at least one value below it.
fn has_consent_evidence(record: &RecordData) -> bool {
    record.fields.iter().any(|f| {
        let meaningful = match &f.value {
            Value::Text(t) => !t.trim().is_empty(),
            Value::Boolean(_) | Value::Integer(_) | Value::Float(_) => true,
            Value::Null | Value::EmptyObject | Value::EmptyArray => false,
        };
        let at_or_below = if f.path == "/consent_evidence" {
            matches!(f.value, Value::Text(_))
        } else {
            pointer::is_within(&f.path, "/consent_evidence")
        };
        meaningful && at_or_below
    })
}

struct Plugin;

impl admit::Guest for Plugin {
    fn check_config(config: String) -> Result<(), Vec<String>> {
        sluice_plugin_sdk::check_config(&config, Config::problems)
    }

    fn admit(ctx: Context, record: RecordData) -> Result<Vec<Note>, admit::Rejection> {
        let misconfigured =
            |e: String| admit::Rejection::misconfigured("marketing-consent", default_clause(), e);
        let cfg = sluice_plugin_sdk::config::<Config>(&ctx.config).map_err(misconfigured)?;
        if record.kind != cfg.kind {
            return Ok(Vec::new());
        }
        let cutoff = cutoff_date(&cfg.gdpr_cutoff)
            .ok_or_else(|| misconfigured("`gdpr_cutoff` is not a date".into()))?;
        match check(&cfg, cutoff, ctx.now, &record) {
            Ok(basis) => Ok(vec![Note {
                clause: cfg.clause.clone(),
                reason: format!("subscriber basis: {basis}"),
                path: Some("/basis".into()),
            }]),
            Err((path, reason)) => Err(admit::Rejection {
                clause: cfg.clause.clone(),
                reason,
                path: Some(path.into()),
                erase: false,
            }),
        }
    }
}

sluice_plugin_sdk::export_plugin!(admission: Plugin);

#[cfg(test)]
mod tests;
