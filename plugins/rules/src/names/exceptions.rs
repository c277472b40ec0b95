//! What keeps a term from naming a field: technical readings of the term, business nouns
//! (the field names an organisation, a product or a place), and the qualifiers that a
//! short term may be run together with.

use std::cell::OnceCell;

use super::normalise::Normalised;
use super::tables;

/// Where a term was found in a field name.
#[derive(Clone, Copy)]
pub(super) struct Place<'a> {
    /// The rest of the compound word that holds the term, if it is in a compound.
    pub(super) rest: Option<&'a str>,
    /// Whether a word, or part of a compound, comes before the term.
    pub(super) after_another_word: bool,
}

/// Whether a match of the term `compact` (run together) is technical: the field holds one
/// of the term's technical words, or the rest of the compound word holding the term is one,
/// or begins or ends with one of three letters or more, or (for terms so marked) another
/// word comes before the term, or the term is the whole name. `name` is the reading in
/// which the term was found, `first` the first reading of the same name.
pub(super) fn is_technical<'n>(
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
pub(super) fn is_business<'n>(
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
pub(super) struct NameWords<'n> {
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

pub(super) fn is_qualifier(rest: &str) -> bool {
    tables::QUALIFIERS.binary_search(&rest).is_ok()
}
