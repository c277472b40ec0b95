//! Admission plugin: special category data is never collected (clause 2.4).
//!
//! Clause 2.4: "We do not collect any special category data. This includes details about
//! race or ethnicity, religious or philosophical beliefs, sex life, sexual orientation,
//! political opinions, trade union membership, information about your health and genetic and
//! biometric data. Nor do we collect any information about criminal convictions and
//! offences."
//!
//! A record is rejected when any object key on the path of any of its leaves, at any depth,
//! names a special category. Segments made only of digits (array indices) are ignored. The
//! decision is made from field *names* only; values are never read.
//!
//! Whether a key names a category is decided by `sluice_rules::names::Vocabulary::find`
//! (whose module docs give every rule and judgment):
//!
//! - the key is read the way it looks: NFKC, invisible (format) characters dropped,
//!   Cyrillic and Greek look-alike letters read as Latin ones (Unicode TR39 skeletons),
//!   accents dropped, digits standing for letters inside a word read as letters, then split
//!   into lowercase words at separators and camelCase: `rеligion` (Cyrillic `е`),
//!   `ｈｅａｌｔｈ`, `hea\u{AD}lth`, `h3alth`, `HIV-Status` and `sexualOrientation` are all
//!   read as plain words;
//! - a term names the key when its words appear in the key's words (`hiv_status`,
//!   `patientBloodType`), or run together as one of its words, also at the start of a longer
//!   word (`bloodtype`, `healthrecord`) or, for one-word terms of five letters or more, at
//!   the end (`mentalhealth`); a shorter term names a longer word only run together with a
//!   qualifier (`hivstatus`, `dnaprofile`);
//! - disguises of the writing are read through: odd capitals inside a word
//!   (`sexUal_orientation`), letters written apart (`hea-lth`, `h.e.a.l.t.h`), a term with
//!   an affix (`xtrade_union`, `trade_unionx`), Greek and Cyrillic words in capitals
//!   (`ΘΡΗΣΚΕΙΑ`);
//! - a few terms also have technical readings, which do not count: `health_check_url`,
//!   `healthz`, `service_health`, `race_condition`, `is_disabled`, a bare `disabled` (a
//!   feature flag), `blind_transfer`, `cert_fingerprint`; a business noun makes a name one
//!   of an organisation, product or place (`pharmacy_supplier`, `church_street`,
//!   `conviction_rate`); and ordinary words that merely begin or end with a term
//!   (`hospitality`, `faithful`, `incidental`) are not compounds of it.
//!
//! The default vocabulary is `sluice_rules::names::SPECIAL_CATEGORIES`, compiled into the
//! plugin from `plugins/rules/vocabulary/special-categories.toml`: the GDPR article 9
//! categories and article 10 criminal offence data, with conditions, treatments,
//! health-service identifiers, faiths and places of worship, identities, parties,
//! biometrics and criminal records, their usual abbreviations, and the main terms in
//! German, French, Dutch, Spanish, Italian, Polish, Czech, Portuguese, Swedish, Danish,
//! Norwegian, Finnish, Greek, Hungarian, Romanian, Bulgarian and Russian. Its tables are
//! static, so a fresh instance builds nothing to use it. `categories` replaces it; `extra`
//! adds terms to it (or to the replacement), to existing or new categories. Terms given in
//! the configuration are read and matched the same way (compounds included), and the
//! technical readings, business nouns and ordinary words of the vocabulary file apply to
//! them too.
//!
//! A rejection names the category of the term that ends last in the key (`patient_race` is
//! race or ethnicity), and the key as written, with invisible characters shown as escapes
//! (`hea\u{ad}lth`).
//!
//! Configuration (all optional):
//! ```toml
//! config = { clause = "2.4",
//!            extra = { "health" = ["sick note", "blood pressure"] } }
//! # or a vocabulary of one's own:
//! config = { categories = { "health" = ["health", "medical"], "genetic data" = ["dna"] } }
//! ```
//! Accepted records get no notes.

use std::collections::BTreeMap;

use serde::Deserialize;
use sluice_plugin_sdk::admission::exports::sluice::policy::admit;
use sluice_plugin_sdk::pointer;
use sluice_plugin_sdk::types::{Context, Note, RecordData};
use sluice_rules::names::{self, Vocabulary};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Config {
    /// The clause cited by each rejection.
    #[serde(default = "default_clause")]
    clause: String,
    /// A vocabulary (category -> terms) that replaces the default one.
    #[serde(default)]
    categories: Option<BTreeMap<String, Vec<String>>>,
    /// Terms (category -> terms) added to the vocabulary.
    #[serde(default)]
    extra: Option<BTreeMap<String, Vec<String>>>,
}

sluice_plugin_sdk::config_defaults! {
    default_clause: String = "2.4".into();
}

impl Config {
    fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        sluice_plugin_sdk::require_text(&mut problems, "clause", &self.clause);
        if let Some(categories) = &self.categories {
            if categories.is_empty() {
                problems.push(
                    "`categories` must name at least one category (leave it out for the default vocabulary)"
                        .into(),
                );
            }
            map_problems("categories", categories, &mut problems);
        }
        if let Some(extra) = &self.extra {
            map_problems("extra", extra, &mut problems);
        }
        problems
    }

    fn vocabulary(&self) -> Vocabulary {
        let mut vocabulary = match &self.categories {
            None => Vocabulary::special_categories(),
            Some(categories) => {
                let mut v = Vocabulary::new();
                add_all(&mut v, categories);
                v
            }
        };
        if let Some(extra) = &self.extra {
            add_all(&mut vocabulary, extra);
        }
        vocabulary
    }
}

fn map_problems(key: &str, map: &BTreeMap<String, Vec<String>>, out: &mut Vec<String>) {
    for (category, terms) in map {
        if category.trim().is_empty() {
            out.push(format!("`{key}`: a category name must not be empty"));
        }
        if terms.is_empty() {
            out.push(format!(
                "`{key}.{category}`: give at least one term for the category"
            ));
        }
        for term in terms {
            if names::words(term).is_empty() {
                out.push(format!(
                    "`{key}.{category}`: the term {term:?} must hold a letter or digit"
                ));
            }
        }
    }
}

fn add_all(vocabulary: &mut Vocabulary, map: &BTreeMap<String, Vec<String>>) {
    for (category, terms) in map {
        for term in terms {
            vocabulary.add(category, term);
        }
    }
}

/// A key as written, with characters that do not show (invisible, combining, control)
/// escaped: `hea\u{ad}lth`.
fn shown(segment: &str) -> String {
    segment
        .chars()
        .map(|c| {
            if matches!(c, '\'' | '"' | '\\') {
                c.to_string()
            } else {
                c.escape_debug().to_string()
            }
        })
        .collect()
}

struct Plugin;

impl admit::Guest for Plugin {
    fn check_config(config: String) -> Result<(), Vec<String>> {
        sluice_plugin_sdk::check_config(&config, Config::problems)
    }

    fn admit(ctx: Context, record: RecordData) -> Result<Vec<Note>, admit::Rejection> {
        let kept = sluice_plugin_sdk::derived_config(&ctx.config, |cfg: Config| {
            let vocabulary = cfg.vocabulary();
            (cfg.clause, vocabulary)
        })
        .map_err(|e| admit::Rejection::misconfigured("special-category", default_clause(), e))?;
        let (clause, vocabulary) = &*kept;
        // Leaves come in record order, so those below one object share the path down to it:
        // only the segments past what a leaf's path shares with the previous one's are
        // looked up (a deep record of long keys repeats them in every leaf's path).
        let mut previous: &str = "";
        for field in &record.fields {
            let path = field.path.as_str();
            // The end of the last whole segment the two paths share: the previous path's
            // segments were all looked up, and matched nothing.
            let mut end = pointer::shared_segments(path, previous);
            previous = path;
            for raw in path[end..].split('/').skip(1) {
                end += 1 + raw.len();
                let segment = pointer::unescape(raw);
                if pointer::is_index(&segment) {
                    continue;
                }
                if let Some(found) = vocabulary.find(&segment) {
                    return Err(admit::Rejection {
                        clause: clause.clone(),
                        reason: format!(
                            "special category data ({}) is not collected: field `{}`",
                            found.category,
                            shown(&segment)
                        ),
                        path: Some(path[..end].to_owned()),
                        erase: false,
                    });
                }
            }
        }
        Ok(Vec::new())
    }
}

sluice_plugin_sdk::export_plugin!(admission: Plugin);

#[cfg(test)]
mod tests;
