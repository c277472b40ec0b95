//! Field names: reading them as words and matching them against vocabularies.
//!
//! Used by plugins that decide from a field's *name*, never its value: clause 2.4 ("we do
//! not collect any special category data") rejects records with fields such as `ethnicity`,
//! `hiv_status` or `religiousBeliefs`, and clause 2.1.2 removes fields named for card data
//! (`card_number`, `cvv`).
//!
//! # Compact form
//!
//! [`compact`] drops everything but letters and digits and lowercases, so that
//! `cardNumber`, `Card-Number` and `card_number` all compare equal (`cardnumber`). It does
//! nothing else: the card plugins compare compact names with names of their own.
//!
//! # Words
//!
//! [`words`] reads a name the way it looks and splits it the way people write names
//! (`normalise` has the details). Characters outside ASCII are read through a table that
//! the build script makes with `unicode-normalization` (NFKC), `unicode-properties`
//! (general categories) and `unicode-security` (TR39 skeletons), holding only the
//! characters that read as ASCII or are dropped, so the plugins carry none of those
//! crates' tables:
//!
//! - NFKC, then format characters (soft hyphen, zero-width characters, ...) and other
//!   default-ignorable characters dropped: `ｈｅａｌｔｈ`, `hea\u{AD}lth` and
//!   `he\u{200B}alth` are `health`;
//! - letters outside ASCII replaced by their Unicode TR39 confusable skeleton, accents
//!   dropped: `rеligion` with a Cyrillic `е`, `ΗΕΑLΤΗ` with Greek capitals, `santé` and
//!   `Gesundheitszustand` read as plain Latin letters;
//! - lowercase; words split at separators (`_`, `-`, `.`, space, `/`, ...), at camelCase
//!   (`sexualOrientation`) and around digits (`line1` is `line`, `1`);
//! - digits that stand for letters inside a word read as those letters (`rel1gion`, `h3alth`,
//!   `r4ce`: `0` o, `1` i or l, `3` e, `4` a, `5` s, `7` t); a `1`, or a look-alike of `l`,
//!   is tried both as `i` and as `l`, and digits at the start or end of a word of letters
//!   (`dn4`, `rac3`) are tried both as digits and as letters.
//!
//! [`Vocabulary::find`] also tries other readings of the name, against disguises of the
//! writing:
//!
//! - a capital after one to three lowercase letters that start a word, followed by a
//!   lowercase letter, is read as lowercase (`sexUal_orientation`, `criMinal_record`,
//!   `traDe_union`, `polItical_opinion`); a longer camelCase word before a capital is a word
//!   of its own (`geneticAlgorithm` is not `genetica...`);
//! - runs of words of one letter are joined (`h.e.a.l.t.h_record` is `health`, `record`);
//! - all the words run together are matched as one word (`hea-lth`, `he\u{A0}alth`,
//!   `he\talth`, `h_e_a_l_t_h`): a term that is all of it, or a term of at least
//!   [`COMPOUND_MIN_LETTERS`] letters that begins it when the words it holds whole are
//!   fragments shorter than that (`ge-sundheitszustand`; `genetic_algorithm` and
//!   `belief_state` are words of their own, and not `genetica` or `beliefs`). Shorter terms
//!   with a qualifier are not read across separators: `st_ino` is not `sti` and `no`;
//! - a name with Greek or Cyrillic capitals is read lowercased too, when no other reading
//!   names a term: the terms of those languages are written in their script (`υγεία`,
//!   `здоровье`), and a capital's skeleton is not its small letter's (`Υ` reads as `Y`, `υ`
//!   as `u`), so `ΥΓΕΙΑ` would not otherwise be `υγεία`. Read as they are, Greek and
//!   Cyrillic capitals still disguise Latin names (`ΗΕΑLΤΗ`).
//!
//! # Vocabularies
//!
//! A [`Vocabulary`] is named categories of terms; [`Vocabulary::special_categories`] is the
//! vocabulary of clause 2.4, compiled from `plugins/rules/vocabulary/special-categories.toml`
//! (by `build.rs`, into sorted static tables: a plugin instance builds nothing to use it,
//! and each lookup is a few binary searches). A term is one or more words. It names a field
//! when, reading both with [`words`]:
//!
//! 1. its words appear contiguously in the field's words (`health` names `health_notes` and
//!    `mentalHealth`; `blood type` names `patient_blood_type`; `party` alone, in
//!    `party_number`, is not `party affiliation`; `trace_id` does not hold `race`);
//! 2. or its words run together are one of the field's words (`bloodtype`, `TRADEUNION`,
//!    `patient_bloodtype`);
//! 3. or, for compound words written without separators, a word of the field begins with
//!    the term run together and the term has at least [`COMPOUND_MIN_LETTERS`] letters
//!    (`healthrecord`, `religions`, `bloodtypecode`; so the vocabulary file writes stems of
//!    inflected languages as terms, `здоров` for `здоровья` and `zdrow` for `zdrowiu`), or
//!    the rest of the word is a
//!    qualifier such as `status`, `test`, `id` or `number` (`hivstatus`, `dnaprofile`,
//!    `sicknote`: shorter terms would otherwise be found in ordinary words, `gay` in
//!    `gayle` and `race` in `raceway`); in a name without separators, all its words run
//!    together count as one word too, whole or with a qualifier (`HIVstatus`, whose
//!    capitals split it as `hi`, `vstatus`); with separators the words are as written, and
//!    `st_ino` is not `sti` and `no`;
//! 4. or a word of the field ends with a one-word term of at least [`COMPOUND_MIN_LETTERS`]
//!    letters (`mentalhealth`, `physiotherapy`, `interracial`). Terms of several words are
//!    not matched at the end of a word: `face id` is not in `interfaceid`;
//! 5. or, for a term of several words, the field's words hold it with its first word at
//!    the end of a longer word, or its last word at the start of one, when that word of the
//!    term has at least [`COMPOUND_MIN_LETTERS`] letters (`xtrade_union`, `trade_unionx`,
//!    `trade_unions`; not `interface_id`, as `face` is shorter).
//!
//! Two lists of the vocabulary file keep ordinary names from being refused:
//!
//! - *ordinary words*, which begin or end with a term without naming its category
//!   (`hospitality`, `faithful`, `incidental`, `rabbit`, `syndicate`, `genesis`,
//!   `healthy`), are never read as compounds, nor are longer words that begin or end with
//!   them (`rabbitmq`); a term that is a word of its own still names the field;
//! - *technical readings*: a term such as `health`, `race`, `aids`, `handicap`, `retina`
//!   or `fingerprint` is technical, and does not name a field, when the field also holds
//!   one of the words listed for it (`health_check_url`, `service_health`, `disk_health`,
//!   `race_condition`, `sales_aids`, `golf_handicap`, `retina_display`,
//!   `cert_fingerprint`), or the rest of the compound that holds the term is such a word
//!   or begins or ends with one of three letters or more (`healthcheck`, `healthz`,
//!   `diskhealth`, `healthcheckurl`); `disabled` is also technical after any other word,
//!   as the state of a setting (`is_disabled`, `dnd_disabled`, `KMSDisabledException`),
//!   and before `at`, `by`, `until`, ... (`disabled_at`), and alone, as the whole name (a
//!   feature flag: `{"lines":[{"disabled":true}]}`, `codecs.g729.disabled`). The other
//!   matches of a field still count: `health_checkup`, `healthcare` and `health_status`
//!   name health; `disabled_person`, `disabledParking`, `registered_disabled` and
//!   `disability` name a disability. `blind` is technical with `transfer`, `copy`, `bcc`,
//!   ... (`blind_transfer`), `probation` with `period`, `end`, ... (`probation_end_date`),
//!   `adn` with `sim`, `entries`, ... (`sim_adn_entries`);
//! - *business nouns* (`supplier`, `reseller`, `customer`, `vendor`, `device`, `reader`,
//!   `model`, `sku`, `product`, `street`, `road`, `bar`, `address`, `firm`, `rate`,
//!   `policy`, `score`, `sector`, `industry`, `market`, `appliances`, `equipment`, ...):
//!   a field that holds one as a word of its own, or as the rest of the compound holding the
//!   term, names an organisation, a product or a place, and no term names it
//!   (`health_score`, `pharmacy_supplier`, `clinic_address`, `biometric_device_sku`,
//!   `church_street`, `criminal_law_firm`, `conviction_rate`, `sick_day_policy`). A noun
//!   that is part of the term does not count (`heart_rate` is health). The limit: records of
//!   a person (`health_record`, `medical_history`, `criminal_record`, `union_membership`)
//!   hold no business noun and are refused; `risk` is not one (`suicide_risk` is health),
//!   though `political_risk` is a technical reading of `political`.
//!
//! Of several terms that name a field, [`Vocabulary::find`] reports the one that ends last
//! in the name, as the last word of an English compound names what it is (`patient_race` is
//! race, `sexual_health` health), then the longest (`sexualOrientation` is sexual
//! orientation rather than the sex-life term `sexual`), then the first added.
//!
//! The judgments behind the vocabulary (which words are terms, which are too ambiguous) are
//! written beside it in the vocabulary file. Not terms: `sex` and `gender` alone (the sex
//! recorded for a person: sex life and orientation are special category data, and
//! `sex_life`, `sexual_*` are terms), `nationality` and `marital_status` (not special
//! category data), `nhs` and `dbs` alone (an organisation; databases), `std` alone (a UK
//! dialling code, and "standard" in code: STD tests and statuses are terms), `ms`
//! (milliseconds), `mental` (`incremental`), `stroke` (`stroke_width`, `keystroke`),
//! `heart` (`heartbeat`), `treatment` alone (A/B tests), `voice id` (a text-to-speech
//! voice), `agnostic` (`vendor_agnostic`), `custody` and `caution` (ordinary words),
//! `labour` and `conservative` (so those parties are written out), `tories` (ends
//! `histories`) and `races` (ends `traces`). Terms with technical readings instead:
//! `blind` (a person's flag is health; `blind_transfer` is telephony), `probation` (an
//! offender's; an employee's `probation_period` is not), `adn` (French and Spanish for DNA;
//! the SIM's abbreviated dialling numbers only with `sim`, `entries`, ...).

mod exceptions;
mod matching;
mod normalise;
mod readings;
mod trie;
mod vocabulary;

use normalise::{Normalised, Reading, normalise};
pub use vocabulary::{TermMatch, Vocabulary};

/// A term of the built-in vocabulary.
#[derive(Debug)]
struct BuiltinTerm {
    /// Index of its category in `tables::CATEGORIES`.
    category: usize,
    /// The term as written in the vocabulary file.
    text: &'static str,
    /// Its [`words`] run together.
    compact: &'static str,
    /// The number of letters (and digits) of its words.
    letters: usize,
}

mod tables {
    use super::BuiltinTerm;
    use super::normalise::FoldTable;

    /// Keys as a trie whose nodes are numbered breadth first from the root, node 0: the
    /// children of node `n` are the nodes `first_child[n]..first_child[n + 1]`, in the order
    /// of the bytes that lead to them (`byte`), and the keys that end at node `n` are those of
    /// the terms `terms[first_term[n]..first_term[n + 1]]`, in order.
    pub(super) struct Trie {
        /// The child of the root for each byte, or 0.
        pub(super) root: [u16; 256],
        pub(super) first_child: &'static [u16],
        pub(super) byte: &'static [u8],
        pub(super) first_term: &'static [u16],
        pub(super) terms: &'static [u16],
    }

    include!(concat!(env!("OUT_DIR"), "/special_categories.rs"));
}

pub use tables::SPECIAL_CATEGORIES;

/// Terms of at least this many letters also name a word that begins with them and, if they
/// are one word, a word that ends with them. Set in the vocabulary file.
pub const COMPOUND_MIN_LETTERS: usize = tables::COMPOUND_MIN_LETTERS;

/// Reads a field name as lowercase words: normalised (look-alike letters, invisible
/// characters, accents and digits standing for letters read as plain letters; see the
/// module docs) and split at separators, camelCase and digits.
///
/// - a lowercase letter or digit followed by an uppercase letter starts a word
///   (`sexualOrientation` -> `sexual`, `orientation`);
/// - the last capital of a run of capitals followed by a lowercase letter starts a word
///   (`DNAProfile` -> `dna`, `profile`);
/// - digits are words of their own (`line1` -> `line`, `1`), unless they stand for letters
///   inside a word (`h3alth` -> `health`; a `1` is read as `i` here).
///
/// Letters without case (as in Chinese or Japanese) count as lowercase. A name with no
/// letters or digits has no words.
///
/// ```
/// use sluice_rules::names::words;
/// assert_eq!(words("sexualOrientation"), ["sexual", "orientation"]);
/// assert_eq!(words("ethnic_origin"), ["ethnic", "origin"]);
/// assert_eq!(words("DNA_profile"), ["dna", "profile"]);
/// assert_eq!(words("ｈｅａ\u{AD}lth-Rеcord"), ["health", "record"]);
/// ```
pub fn words(segment: &str) -> Vec<String> {
    let mut n = Normalised::default();
    normalise(segment, Reading::FIRST, &tables::FOLD, &mut n);
    n.words().map(str::to_owned).collect()
}

/// A field name in lowercase with everything but letters and digits removed
/// (`"card-Number"` -> `"cardnumber"`), for comparing names written in different styles.
pub fn compact(segment: &str) -> String {
    if segment.is_ascii() {
        // The same as below for ASCII, without the Unicode tables, in one allocation.
        let mut out = String::with_capacity(segment.len());
        for b in segment.bytes().filter(u8::is_ascii_alphanumeric) {
            out.push(char::from(b.to_ascii_lowercase()));
        }
        return out;
    }
    segment
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Whether the words of `term` appear contiguously, in order, in `words`. An empty term
/// matches nothing.
pub fn contains_term(words: &[String], term: &[String]) -> bool {
    !term.is_empty() && words.windows(term.len()).any(|w| w == term)
}

#[cfg(test)]
mod tests;
