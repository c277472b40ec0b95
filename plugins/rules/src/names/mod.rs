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

mod normalise;

use std::borrow::Cow;
use std::cell::OnceCell;

use normalise::{Normalised, Reading, normalise};

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

/// A term added to a [`Vocabulary`] at run time.
#[derive(Debug, Clone, PartialEq, Eq)]
struct AddedTerm {
    category: usize,
    text: String,
    compact: String,
    letters: usize,
}

/// What [`Vocabulary::find`] needs of a term.
struct TermRef<'a> {
    category: usize,
    text: &'a str,
    compact: &'a str,
    letters: usize,
}

/// A field name that matched a [`Vocabulary`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TermMatch<'a> {
    /// The category of the term, e.g. `"health"`.
    pub category: &'a str,
    /// The term that matched, as given, e.g. `"blood type"`.
    pub term: &'a str,
}

/// Named categories of terms to look for in field names, such as the special categories of
/// clause 2.4 ([`Vocabulary::special_categories`]). See the module docs for how terms
/// match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vocabulary {
    /// Whether the built-in special categories are part of it (their tables are static).
    builtin: bool,
    /// The category names: the built-in ones first when `builtin`.
    categories: Vec<Cow<'static, str>>,
    /// Terms added at run time; term `tables::TERMS.len() + i` is `added[i]`.
    added: Vec<AddedTerm>,
    /// Sorted tables of the added terms, as those of `tables`.
    by_norm: Vec<(Box<str>, usize)>,
    by_compact: Vec<(Box<str>, usize)>,
    by_reversed: Vec<(Box<str>, usize)>,
}

/// Calls `found(length, index)` for each key of `table` (sorted by key) that is a prefix of
/// `query`, shortest first: a walk down the sorted keys as down a trie, stopping as soon as
/// no key continues the query.
fn prefixes<K: AsRef<str>>(
    table: &[(K, usize)],
    query: impl Iterator<Item = u8>,
    found: impl FnMut(usize, usize),
) {
    walk(table, 0, query, found);
}

/// [`prefixes`] for a static table, down its trie: one step a byte of the query.
fn prefixes_in_trie(
    trie: &tables::Trie,
    query: impl Iterator<Item = u8>,
    mut found: impl FnMut(usize, usize),
) {
    let mut node = 0;
    for (depth, byte) in (1..).zip(query) {
        node = if node == 0 {
            usize::from(trie.root[usize::from(byte)])
        } else {
            let children =
                usize::from(trie.first_child[node])..usize::from(trie.first_child[node + 1]);
            let bytes = &trie.byte[children.clone()];
            match bytes.binary_search(&byte) {
                Ok(at) => children.start + at,
                Err(_) => 0,
            }
        };
        if node == 0 {
            return;
        }
        let ends = usize::from(trie.first_term[node])..usize::from(trie.first_term[node + 1]);
        for &index in &trie.terms[ends] {
            found(depth, usize::from(index));
        }
    }
}

/// The walk of [`prefixes`] from `depth` bytes into the query, over the keys of `range`,
/// which all begin with the query's first `depth` bytes.
fn walk<K: AsRef<str>>(
    mut range: &[(K, usize)],
    depth: usize,
    query: impl Iterator<Item = u8>,
    mut found: impl FnMut(usize, usize),
) {
    if range.is_empty() {
        return;
    }
    for (depth, byte) in (depth..).zip(query) {
        let key = |k: &K| k.as_ref().as_bytes().get(depth).copied();
        let lo = range.partition_point(|(k, _)| key(k) < Some(byte));
        let hi = range.partition_point(|(k, _)| key(k) <= Some(byte));
        range = &range[lo..hi];
        for (k, index) in range {
            if k.as_ref().len() != depth + 1 {
                break;
            }
            found(depth + 1, *index);
        }
        if range.is_empty() {
            return;
        }
    }
}

/// The length of the longest key of `trie` that is a prefix of `query` (0 if none).
fn longest_prefix(trie: &tables::Trie, query: impl Iterator<Item = u8>) -> usize {
    let mut longest = 0;
    prefixes_in_trie(trie, query, |len, _| longest = len);
    longest
}

/// Where a term was found in a field name.
#[derive(Clone, Copy)]
struct Place<'a> {
    /// The rest of the compound word that holds the term, if it is in a compound.
    rest: Option<&'a str>,
    /// Whether a word, or part of a compound, comes before the term.
    after_another_word: bool,
}

/// Whether a match of the term `compact` (run together) is technical: the field holds one
/// of the term's technical words, or the rest of the compound word holding the term is one,
/// or begins or ends with one of three letters or more, or (for terms so marked) another
/// word comes before the term, or the term is the whole name. `name` is the reading in
/// which the term was found, `first` the first reading of the same name.
fn is_technical<'n>(
    compact: &str,
    name: &'n Normalised,
    words: &OnceCell<NameWords<'n>>,
    first: &'n Normalised,
    place: Place<'_>,
) -> bool {
    let Ok(at) = tables::TECHNICAL.binary_search_by(|(t, _, _, _)| (*t).cmp(compact)) else {
        return false;
    };
    let (_, technical, after_another_word, alone) = tables::TECHNICAL[at];
    if after_another_word && place.after_another_word {
        return true;
    }
    if alone && place.rest.is_none() && name.len() == 1 {
        return true;
    }
    let rest = place.rest;
    // The words of the first reading count too: `fingerprint_sha1` holds `sha` as written,
    // though another reading makes `sha1` a word (`shai`).
    if words
        .get_or_init(|| NameWords::new(name, first))
        .holds_any(technical)
    {
        return true;
    }
    rest.is_some_and(|rest| {
        technical.binary_search(&rest).is_ok()
            || technical
                .iter()
                .any(|t| t.len() >= 3 && (rest.starts_with(t) || rest.ends_with(t)))
    })
}

/// Whether the field names an organisation, a product or a place rather than a person's
/// data: it holds a business noun (`supplier`, `street`, `rate`, ...) that is not part of
/// the term `compact` (`heart_rate` stays health), or the rest of the compound holding the
/// term is one (`healthscore`).
fn is_business<'n>(
    compact: &str,
    words: &OnceCell<NameWords<'n>>,
    first: &'n Normalised,
    name: &'n Normalised,
    place: Place<'_>,
) -> bool {
    let noun = |w: &str| tables::BUSINESS.binary_search(&w).is_ok() && !compact.contains(w);
    let words = words.get_or_init(|| NameWords::new(name, first));
    words.business.iter().any(|w| !compact.contains(w)) || place.rest.is_some_and(noun)
}

/// The words of a reading of a name and of its first reading, gathered once for every term
/// found in it (a name of many words may hold a term in each): sorted without repeats, and
/// those of them that are business nouns.
struct NameWords<'n> {
    all: Vec<&'n str>,
    business: Vec<&'n str>,
}

impl<'n> NameWords<'n> {
    fn new(name: &'n Normalised, first: &'n Normalised) -> Self {
        let mut all: Vec<&str> = name.words().chain(first.words()).collect();
        all.sort_unstable();
        all.dedup();
        let business = all
            .iter()
            .copied()
            .filter(|w| tables::BUSINESS.binary_search(w).is_ok())
            .collect();
        Self { all, business }
    }

    /// Whether one of the words is in `list`.
    fn holds_any(&self, list: &[&str]) -> bool {
        if list.len() < self.all.len() {
            list.iter().any(|t| self.all.binary_search(t).is_ok())
        } else {
            self.all.iter().any(|w| list.binary_search(w).is_ok())
        }
    }
}

fn is_qualifier(rest: &str) -> bool {
    tables::QUALIFIERS.binary_search(&rest).is_ok()
}

/// The best match so far: the term that ends last in the name, then the longest, then the
/// first.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Found {
    end: usize,
    letters: usize,
    index: usize,
}

impl Found {
    fn key(self) -> (usize, usize, std::cmp::Reverse<usize>) {
        (self.end, self.letters, std::cmp::Reverse(self.index))
    }

    fn better_than(self, other: Option<Found>) -> bool {
        other.is_none_or(|o| self.key() > o.key())
    }
}
/// Where the byte `len` of the walk over the words of `name` from word `i` (joined by
/// single spaces) falls inside a word: the walk offset at which that word starts, and its
/// index. `None` when `len` is at a word's end or past the last word.
fn word_at(name: &Normalised, i: usize, len: usize) -> Option<(usize, usize)> {
    let start = if i == 0 { 0 } else { name.ends[i - 1] };
    let mut at = 0;
    let mut from = start;
    for (k, &end) in name.ends.iter().enumerate().skip(i) {
        let w = end - from;
        if len > at && len < at + w {
            return (k > i).then_some((at, k));
        }
        if len < at + w {
            // `len` is at or before this word's end: no later word holds it.
            return None;
        }
        at += w + 1;
        from = end;
    }
    None
}

/// `segment` with each odd capital lowercased: an ASCII capital followed by a lowercase
/// letter, after one to three lowercase letters that start a word (after a separator or at
/// the start): `sexUal` is `sexual`, `criMinal` `criminal`, `heAlthRecord` `healthRecord`.
/// A longer camelCase word before a capital is a word of its own (`geneticAlgorithm`,
/// `fingerprintSha1`).
fn odd_capitals_lowered(segment: &str) -> Cow<'_, str> {
    let b = segment.as_bytes();
    let odd = |i: usize| {
        if !b[i].is_ascii_uppercase() || !b.get(i + 1).is_some_and(u8::is_ascii_lowercase) {
            return false;
        }
        let run = b[..i]
            .iter()
            .rev()
            .take_while(|c| c.is_ascii_lowercase())
            .count();
        (1..=3).contains(&run) && (run == i || !b[i - run - 1].is_ascii_alphanumeric())
    };
    if !(0..b.len()).any(odd) {
        return Cow::Borrowed(segment);
    }
    let out: Vec<u8> = (0..b.len())
        .map(|i| {
            if odd(i) {
                b[i].to_ascii_lowercase()
            } else {
                b[i]
            }
        })
        .collect();
    Cow::Owned(String::from_utf8(out).expect("only ASCII letters changed"))
}

/// Whether `c` is a Greek or Cyrillic capital.
fn is_greek_or_cyrillic(c: char) -> bool {
    c.is_uppercase() && matches!(u32::from(c), 0x0370..=0x03FF | 0x0400..=0x052F | 0x1F00..=0x1FFF)
}

/// `name` with each run of two or more words of one letter joined into one word
/// (`h.e.a.l.t.h` is `health`); `None` when it has no such run.
fn letters_joined(name: &Normalised) -> Option<Normalised> {
    let ends = &name.ends;
    let single = |k: usize| ends[k] - if k == 0 { 0 } else { ends[k - 1] } == 1;
    let mut out = Vec::with_capacity(ends.len());
    let mut changed = false;
    for (k, &end) in ends.iter().enumerate() {
        let joins = single(k) && k > 0 && single(k - 1);
        if joins {
            *out.last_mut().expect("a word before") = end;
            changed = true;
        } else {
            out.push(end);
        }
    }
    changed.then(|| Normalised {
        ends: out,
        ..name.clone()
    })
}

/// The bytes of `word` spelt backwards, character by character.
fn backwards(word: &str) -> impl Iterator<Item = u8> + Clone + '_ {
    word.char_indices()
        .rev()
        .flat_map(move |(at, c)| word.as_bytes()[at..at + c.len_utf8()].iter().copied())
}

impl Vocabulary {
    /// An empty vocabulary, which matches nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// The special categories of clause 2.4 ([`SPECIAL_CATEGORIES`], compiled from
    /// `plugins/rules/vocabulary/special-categories.toml`). Its tables are static: this
    /// allocates only the list of category names.
    pub fn special_categories() -> Self {
        Self {
            builtin: true,
            categories: tables::CATEGORIES
                .iter()
                .map(|c| Cow::Borrowed(*c))
                .collect(),
            ..Self::default()
        }
    }

    /// Adds `term` to `category` (creating the category after the existing ones if it is
    /// new). The term may be written in any naming style (`"sick note"`, `"sickNote"`,
    /// `"sick-note"`). Returns false, and adds nothing, when the term has no [`words`].
    pub fn add(&mut self, category: &str, term: &str) -> bool {
        let mut name = Normalised::default();
        normalise(term, Reading::FIRST, &tables::FOLD, &mut name);
        if name.is_empty() {
            return false;
        }
        let index = match self.categories.iter().position(|c| *c == category) {
            Some(i) => i,
            None => {
                self.categories.push(Cow::Owned(category.to_owned()));
                self.categories.len() - 1
            }
        };
        let norm = name.words().collect::<Vec<_>>().join(" ");
        let letters = name.text.chars().count();
        let id = tables::TERMS.len() + self.added.len();
        let insert = |table: &mut Vec<(Box<str>, usize)>, key: &str| {
            let at = table.partition_point(|(k, i)| (k.as_ref(), *i) < (key, id));
            table.insert(at, (key.into(), id));
        };
        insert(&mut self.by_norm, &norm);
        insert(&mut self.by_compact, &name.text);
        if name.len() == 1 && letters >= COMPOUND_MIN_LETTERS {
            insert(
                &mut self.by_reversed,
                &name.text.chars().rev().collect::<String>(),
            );
        }
        self.added.push(AddedTerm {
            category: index,
            text: term.to_owned(),
            compact: name.text.clone(),
            letters,
        });
        true
    }

    /// The categories, in the order they were first added.
    pub fn categories(&self) -> impl Iterator<Item = &str> {
        self.categories.iter().map(|c| c.as_ref())
    }

    /// Whether the vocabulary holds no term.
    pub fn is_empty(&self) -> bool {
        !self.builtin && self.added.is_empty()
    }

    fn term(&self, index: usize) -> TermRef<'_> {
        match tables::TERMS.get(index) {
            Some(t) => TermRef {
                category: t.category,
                text: t.text,
                compact: t.compact,
                letters: t.letters,
            },
            None => {
                let t = &self.added[index - tables::TERMS.len()];
                TermRef {
                    category: t.category,
                    text: &t.text,
                    compact: &t.compact,
                    letters: t.letters,
                }
            }
        }
    }

    /// Calls `found` for each key of the built-in table `builtin` (when this vocabulary has
    /// the built-in terms) and of the added-terms table `added` that is a prefix of `query`.
    fn prefixes(
        &self,
        builtin: &tables::Trie,
        added: &[(Box<str>, usize)],
        query: impl Iterator<Item = u8> + Clone,
        mut found: impl FnMut(usize, usize),
    ) {
        if self.builtin {
            prefixes_in_trie(builtin, query.clone(), &mut found);
        }
        if !added.is_empty() {
            prefixes(added, query, &mut found);
        }
    }

    /// The term (among all the terms that name the field) that names the field `segment`
    /// best: the one ending last in the name, then the longest, then the first added. See
    /// the module docs for how terms match and how names are read.
    ///
    /// ```
    /// use sluice_rules::names::Vocabulary;
    /// let v = Vocabulary::special_categories();
    /// assert_eq!(v.find("hiv_status").unwrap().category, "health");
    /// assert_eq!(v.find("rеligion").unwrap().category, "religious or philosophical beliefs");
    /// assert_eq!(v.find("health_check_url"), None);
    /// assert_eq!(v.find("party_number"), None);
    /// ```
    pub fn find(&self, segment: &str) -> Option<TermMatch<'_>> {
        let mut first = Normalised::with_capacity(segment.len());
        normalise(segment, Reading::FIRST, &tables::FOLD, &mut first);
        let mut best = self.best(&first, &first);
        // Other readings of characters that may stand for more than one letter, only when
        // the name has some.
        let (ambiguous, edges) = (first.ambiguous, first.edge_digits);
        let mut name = Normalised::default();
        for (one, edge) in [(b'l', false), (b'i', true), (b'l', true)] {
            if (one == b'l' && !ambiguous) || (edge && !edges) {
                continue;
            }
            normalise(
                segment,
                Reading { one, edges: edge },
                &tables::FOLD,
                &mut name,
            );
            if let Some(other) = self.best(&name, &first)
                && other.better_than(best)
            {
                best = Some(other);
            }
        }
        // Disguises of the writing: a capital inside a word (`sexUal_orientation`) read as
        // lowercase, letters written apart joined (`h.e.a.l.t.h_record`), and the whole name
        // run together as one word, matched as a whole (`hea-lth`, `he\talth`).
        let lowered = odd_capitals_lowered(segment);
        if lowered != segment {
            normalise(&lowered, Reading::FIRST, &tables::FOLD, &mut name);
            if let Some(other) = self.best(&name, &first)
                && other.better_than(best)
            {
                best = Some(other);
            }
        }
        // Greek and Cyrillic words read as words of their script: capitals lowercased
        // first, as the terms are written (`ΥΓΕΙΑ` is `υγεία`; read as they are, its
        // capitals have skeletons of their own, which disguise Latin names): only when no
        // other reading names a term, as its offsets are not those of the others.
        if best.is_none() && segment.chars().any(is_greek_or_cyrillic) {
            normalise(
                &segment.to_lowercase(),
                Reading::FIRST,
                &tables::FOLD,
                &mut name,
            );
            best = self.best(&name, &first);
        }
        if let Some(joined) = letters_joined(&first)
            && let Some(other) = self.best(&joined, &first)
            && other.better_than(best)
        {
            best = Some(other);
        }
        if first.len() > 1 {
            let whole = Normalised {
                text: first.text.clone(),
                ends: vec![first.text.len()],
                ambiguous: first.ambiguous,
                edge_digits: first.edge_digits,
                separated: false,
            };
            if let Some(other) = self.exact(&whole, &first)
                && other.better_than(best)
            {
                best = Some(other);
            }
        }
        let best = best?;
        let term = self.term(best.index);
        Some(TermMatch {
            category: &self.categories[term.category],
            term: term.text,
        })
    }

    /// The best of the terms that are `name`'s one word, or begin it and have at least
    /// [`COMPOUND_MIN_LETTERS`] letters (`first` is the first reading of the name). Shorter
    /// terms run together with a qualifier are not read across separators: `st_ino` is not
    /// `sti` and `no`, and so `hi-vstatus` is not read as `hivstatus` either.
    fn exact(&self, name: &Normalised, first: &Normalised) -> Option<Found> {
        let all = name.text.as_str();
        let mut best: Option<Found> = None;
        let words = OnceCell::new();
        let place = Place {
            rest: None,
            after_another_word: false,
        };
        let ordinary = longest_prefix(&tables::ORDINARY, all.bytes());
        self.prefixes(
            &tables::BY_COMPACT,
            &self.by_compact,
            all.bytes(),
            |len, index| {
                let term = self.term(index);
                let place = Place {
                    rest: (len < all.len()).then(|| &all[len..]),
                    ..place
                };
                // A compound across the separators only when the words the term holds whole
                // are fragments (`ge-sundheitszustand`), not words of their own
                // (`genetic_algorithm` is not `genetica`, `belief_state` not `beliefs`).
                let fragments = || {
                    let mut start = 0;
                    first.ends.iter().all(|&end| {
                        let whole = end <= len && end - start >= COMPOUND_MIN_LETTERS;
                        start = end;
                        !whole
                    })
                };
                if (len == all.len()
                    || (term.letters >= COMPOUND_MIN_LETTERS && len >= ordinary && fragments()))
                    && !is_technical(term.compact, name, &words, first, place)
                    && !is_business(term.compact, &words, first, name, place)
                {
                    let found = Found {
                        end: len,
                        letters: term.letters,
                        index,
                    };
                    if found.better_than(best) {
                        best = Some(found);
                    }
                }
            },
        );
        best
    }

    /// The best of the terms that name the field read as `name` (`first` is its first
    /// reading).
    fn best(&self, name: &Normalised, first: &Normalised) -> Option<Found> {
        let mut best: Option<Found> = None;
        let words = OnceCell::new();
        // A term found at `place`, ending at byte `end` of the words run together.
        let mut consider = |index: usize, place: Place<'_>, end: usize| {
            let term = self.term(index);
            if !is_technical(term.compact, name, &words, first, place)
                && !is_business(term.compact, &words, first, name, place)
            {
                let found = Found {
                    end,
                    letters: term.letters,
                    index,
                };
                if found.better_than(best) {
                    best = Some(found);
                }
            }
        };
        let mut start = 0;
        for (i, &end) in name.ends.iter().enumerate() {
            let word = &name.text[start..end];
            // 1. Terms of several words starting at this word: the walk reads this word and
            // the following ones, joined by spaces, and a term must end where a word does.
            let spaced = name
                .words_from(i)
                .enumerate()
                .flat_map(|(k, w)| (k > 0).then_some(b' ').into_iter().chain(w.bytes()));
            // The end (in `name.text`) of the word that ends `len` bytes into the walk.
            let word_end = |len: usize| {
                name.ends[i..]
                    .iter()
                    .enumerate()
                    .map(|(k, e)| (e - start + k, *e))
                    .take_while(|(at, _)| *at <= len)
                    .find(|(at, _)| *at == len)
                    .map(|(_, e)| e)
            };
            let whole = Place {
                rest: None,
                after_another_word: i > 0,
            };
            if i + 1 < name.len() {
                self.prefixes(&tables::BY_NORM, &self.by_norm, spaced, |len, index| {
                    if len <= word.len() {
                        return;
                    }
                    if let Some(end) = word_end(len) {
                        consider(index, whole, end);
                    } else if let Some((at, last)) = word_at(name, i, len)
                        && len - at >= COMPOUND_MIN_LETTERS
                    {
                        // The term's last word begins a longer word (`trade_unionx`).
                        let w_start = name.ends[last - 1];
                        let word = &name.text[w_start..name.ends[last]];
                        let cut = len - at;
                        if longest_prefix(&tables::ORDINARY, word.bytes()) <= cut {
                            let place = Place {
                                rest: Some(&word[cut..]),
                                ..whole
                            };
                            consider(index, place, w_start + cut);
                        }
                    }
                });
                // The term's first word ends a longer word (`xtrade_union`).
                if longest_prefix(&tables::ORDINARY_REVERSED, backwards(word)) == 0 {
                    for cut in 1..word.len().saturating_sub(COMPOUND_MIN_LETTERS - 1) {
                        if !word.is_char_boundary(cut) {
                            continue;
                        }
                        // Read lazily: the walk stops where no term continues it, so
                        // each cut reads as far as the longest term, not the whole name.
                        let tail = name.words_from(i).enumerate().flat_map(|(k, w)| {
                            let w = if k == 0 { &w[cut..] } else { w };
                            (k > 0).then_some(b' ').into_iter().chain(w.bytes())
                        });
                        let head = word.len() - cut;
                        let place = Place {
                            rest: Some(&word[..cut]),
                            after_another_word: true,
                        };
                        self.prefixes(&tables::BY_NORM, &self.by_norm, tail, |len, index| {
                            if len > head
                                && let Some(end) = word_end(len + cut)
                            {
                                consider(index, place, end);
                            }
                        });
                    }
                }
            }
            // 2 and 3. The word is a term run together, or begins with one.
            let mut ordinary = None;
            self.prefixes(
                &tables::BY_COMPACT,
                &self.by_compact,
                word.bytes(),
                |len, index| {
                    if len == word.len() {
                        consider(index, whole, end);
                    } else if len
                        >= *ordinary
                            .get_or_insert_with(|| longest_prefix(&tables::ORDINARY, word.bytes()))
                    {
                        let rest = &word[len..];
                        if self.term(index).letters >= COMPOUND_MIN_LETTERS || is_qualifier(rest) {
                            let place = Place {
                                rest: Some(rest),
                                ..whole
                            };
                            consider(index, place, start + len);
                        }
                    }
                },
            );
            // 4. The word ends with a one-word term.
            let mut ordinary = None;
            self.prefixes(
                &tables::BY_REVERSED,
                &self.by_reversed,
                backwards(word),
                |len, index| {
                    if len < word.len()
                        && len
                            >= *ordinary.get_or_insert_with(|| {
                                longest_prefix(&tables::ORDINARY_REVERSED, backwards(word))
                            })
                    {
                        let place = Place {
                            rest: Some(&word[..word.len() - len]),
                            after_another_word: true,
                        };
                        consider(index, place, end);
                    }
                },
            );
            start = end;
        }
        if name.len() > 1 && !name.separated {
            // 2 and 3 for all the words run together, for names whose case splits them
            // elsewhere than their words (`HIVstatus` reads as `hi`, `vstatus`): the whole
            // is a term, or a term and a qualifier. (Not for names with separators, whose
            // words are as written: `st_ino` is not `sti` and `no`; nor a term ending inside
            // a word with any other rest, as `genetica` in `geneticAlgorithm`.)
            let all = name.text.as_str();
            self.prefixes(
                &tables::BY_COMPACT,
                &self.by_compact,
                all.bytes(),
                |len, index| {
                    let rest = &all[len..];
                    if len == all.len() || is_qualifier(rest) {
                        let place = Place {
                            rest: (!rest.is_empty()).then_some(rest),
                            after_another_word: false,
                        };
                        consider(index, place, len);
                    }
                },
            );
        }
        best
    }
}

#[cfg(test)]
mod tests;
