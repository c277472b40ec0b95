//! Field names: splitting them into words and matching them against vocabularies.
//!
//! Used by plugins that decide from a field's *name*, never its value: clause 2.4 ("we do
//! not collect any special category data") rejects records with fields such as `ethnicity` or
//! `health_notes`, and clause 2.1.2 removes fields named for card data (`card_number`, `cvv`).
//!
//! # Words
//!
//! [`words`] splits a name the way people write them: `sexualOrientation`, `ethnic_origin`,
//! `DNA-profile`, `blood.type` and `Trade Union` all become lowercase words. Matching works
//! on whole words, so `party_number` does not match the term `party affiliation`, and
//! `trace_id` does not match `race`.
//!
//! # Compact form
//!
//! [`compact`] drops everything but letters and digits, so that `cardNumber`, `Card-Number`
//! and `card_number` all compare equal (`cardnumber`).

use std::borrow::Cow;

/// The special categories of personal data (GDPR article 9, and criminal offence data,
/// article 10) that clause 2.4 says ProVu never collects, each with the terms that name it
/// in a field name.
///
/// A term is one or more words separated by spaces; it matches a field name whose
/// [`words`] hold the term's words contiguously (see [`Vocabulary::find`]).
pub const SPECIAL_CATEGORIES: &[(&str, &[&str])] = &[
    (
        "race or ethnicity",
        &["race", "racial", "ethnicity", "ethnic", "ethnic origin"],
    ),
    (
        "religious or philosophical beliefs",
        &[
            "religion",
            "religious",
            "faith",
            "beliefs",
            "belief",
            "philosophical",
            "denomination",
        ],
    ),
    (
        "sex life",
        &[
            "sex life",
            "sexual life",
            "sexual activity",
            "sexual history",
            "sexual partners",
        ],
    ),
    ("sexual orientation", &["sexual orientation", "sexuality"]),
    (
        "political opinions",
        &[
            "political",
            "politics",
            "party affiliation",
            "party membership",
            "voting intention",
        ],
    ),
    (
        "trade union membership",
        &["trade union", "union membership", "union member"],
    ),
    (
        "health",
        &[
            "health",
            "medical",
            "diagnosis",
            "disability",
            "disabilities",
            "illness",
            "medication",
            "prescription",
            "allergy",
            "allergies",
            "pregnancy",
            "pregnant",
            "blood type",
            "nhs number",
        ],
    ),
    ("genetic data", &["genetic", "genome", "dna"]),
    (
        "biometric data",
        &[
            "biometric",
            "biometrics",
            "fingerprint",
            "fingerprints",
            "face template",
            "facial geometry",
            "retina",
            "iris scan",
            "voiceprint",
        ],
    ),
    (
        "criminal convictions and offences",
        &[
            "criminal",
            "conviction",
            "convictions",
            "offence",
            "offences",
            "offense",
            "offenses",
        ],
    ),
];

/// The kind of character at a position of a name, for finding word boundaries.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    Upper,
    Lower,
    Digit,
    Separator,
}

fn class(c: char) -> Class {
    if c.is_uppercase() {
        Class::Upper
    } else if c.is_numeric() {
        Class::Digit
    } else if c.is_alphanumeric() {
        Class::Lower
    } else {
        Class::Separator
    }
}

/// Splits a field name into lowercase words.
///
/// Words are separated by any character that is neither a letter nor a digit (`_`, `-`,
/// space, `.`, `/`, ...) and by case and digit boundaries:
///
/// - a lowercase letter or digit followed by an uppercase letter (`sexualOrientation` ->
///   `sexual`, `orientation`);
/// - the last capital of a run of capitals followed by a lowercase letter starts a word
///   (`DNAProfile` -> `dna`, `profile`);
/// - a letter followed by a digit, or a digit followed by a letter (`line1` -> `line`, `1`).
///
/// Letters without case (as in Chinese or Japanese) count as lowercase. A name with no
/// letters or digits has no words.
///
/// ```
/// use sluice_rules::names::words;
/// assert_eq!(words("sexualOrientation"), ["sexual", "orientation"]);
/// assert_eq!(words("ethnic_origin"), ["ethnic", "origin"]);
/// assert_eq!(words("DNA_profile"), ["dna", "profile"]);
/// ```
pub fn words(segment: &str) -> Vec<String> {
    let chars: Vec<(char, Class)> = segment.chars().map(|c| (c, class(c))).collect();
    let mut out = Vec::new();
    let mut word = String::new();
    for (i, &(c, this)) in chars.iter().enumerate() {
        if this == Class::Separator {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            continue;
        }
        if let Some(&(_, prev)) = i.checked_sub(1).and_then(|p| chars.get(p)) {
            let next = chars.get(i + 1).map(|&(_, n)| n);
            let boundary = match (prev, this) {
                (Class::Lower | Class::Digit, Class::Upper) => true,
                (Class::Upper, Class::Upper) => next == Some(Class::Lower),
                (Class::Upper | Class::Lower, Class::Digit) => true,
                (Class::Digit, Class::Lower) => true,
                _ => false,
            };
            if boundary && !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
        }
        word.extend(c.to_lowercase());
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// A field name in lowercase with everything but letters and digits removed
/// (`"card-Number"` -> `"cardnumber"`), for comparing names written in different styles.
pub fn compact(segment: &str) -> String {
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

/// One term of a [`Vocabulary`].
#[derive(Debug, Clone, PartialEq, Eq)]
struct Term {
    /// Index of its category in `Vocabulary::categories`.
    category: usize,
    /// The term as given, e.g. `"blood type"`.
    text: Cow<'static, str>,
    /// Its [`words`] joined by single spaces (borrowed for the built-in vocabulary, whose
    /// terms are written that way already: building it allocates almost nothing).
    norm: Cow<'static, str>,
}

impl Term {
    fn words(&self) -> impl Iterator<Item = &str> {
        self.norm.split(' ')
    }

    /// Whether the term's words appear contiguously in `words`.
    fn within(&self, words: &[String]) -> bool {
        let n = self.norm.bytes().filter(|b| *b == b' ').count() + 1;
        words
            .windows(n)
            .any(|w| w.iter().map(String::as_str).eq(self.words()))
    }

    /// Whether `compact` is the term's words run together.
    fn is_compact(&self, compact: &str) -> bool {
        compact.len() + self.norm.bytes().filter(|b| *b == b' ').count() == self.norm.len()
            && compact.chars().eq(self.norm.chars().filter(|c| *c != ' '))
    }
}

/// A field name that matched a [`Vocabulary`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TermMatch<'a> {
    /// The category of the term, e.g. `"health"`.
    pub category: &'a str,
    /// The term that matched, as given, e.g. `"blood type"`.
    pub term: &'a str,
}

/// Named categories of terms to look for in field names, such as [`SPECIAL_CATEGORIES`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vocabulary {
    categories: Vec<Cow<'static, str>>,
    terms: Vec<Term>,
    /// `(first word, term index)`, sorted: the terms a field's word can start.
    by_first_word: Vec<(Cow<'static, str>, usize)>,
}

/// Whether `term` is already lowercase words separated by single spaces.
fn is_normalised(term: &str) -> bool {
    !term.is_empty()
        && !term.starts_with(' ')
        && !term.ends_with(' ')
        && !term.contains("  ")
        && term
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b' ')
}

impl Vocabulary {
    /// An empty vocabulary, which matches nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// The special categories of clause 2.4 ([`SPECIAL_CATEGORIES`]).
    pub fn special_categories() -> Self {
        let mut vocabulary = Self::new();
        vocabulary.terms.reserve(
            SPECIAL_CATEGORIES
                .iter()
                .map(|(_, terms)| terms.len())
                .sum(),
        );
        for (category, terms) in SPECIAL_CATEGORIES {
            for term in *terms {
                vocabulary.insert(Cow::Borrowed(category), Cow::Borrowed(term));
            }
        }
        vocabulary
    }

    /// Adds `term` to `category` (creating the category after the existing ones if it is
    /// new). Returns false, and adds nothing, when the term has no [`words`].
    pub fn add(&mut self, category: &str, term: &str) -> bool {
        self.insert(Cow::Owned(category.to_owned()), Cow::Owned(term.to_owned()))
    }

    fn insert(&mut self, category: Cow<'static, str>, term: Cow<'static, str>) -> bool {
        let norm = if is_normalised(&term) {
            term.clone()
        } else {
            let words = words(&term);
            if words.is_empty() {
                return false;
            }
            Cow::Owned(words.join(" "))
        };
        let index = match self.categories.iter().position(|c| *c == category) {
            Some(i) => i,
            None => {
                self.categories.push(category);
                self.categories.len() - 1
            }
        };
        let first: Cow<'static, str> = match &norm {
            Cow::Borrowed(n) => Cow::Borrowed(n.split(' ').next().unwrap_or(n)),
            Cow::Owned(n) => Cow::Owned(n.split(' ').next().unwrap_or(n).to_owned()),
        };
        let at = self
            .by_first_word
            .partition_point(|(w, i)| (w.as_ref(), *i) < (first.as_ref(), self.terms.len()));
        self.by_first_word.insert(at, (first, self.terms.len()));
        self.terms.push(Term {
            category: index,
            text: term,
            norm,
        });
        true
    }

    /// The categories, in the order they were first added.
    pub fn categories(&self) -> impl Iterator<Item = &str> {
        self.categories.iter().map(|c| c.as_ref())
    }

    /// Whether the vocabulary holds no term.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// The first term (in the order they were added) that names the field `segment`, if any.
    ///
    /// A term names a field when its words appear contiguously in the field's [`words`]
    /// (`health` names `health_notes` and `mentalHealth`; `ethnic origin` names
    /// `ethnic_origin_code`), or when the field's [`compact`] form is the term's words run
    /// together (`bloodtype` for `blood type`, `tradeunion` for `trade union`).
    pub fn find(&self, segment: &str) -> Option<TermMatch<'_>> {
        let words = words(segment);
        if words.is_empty() {
            return None;
        }
        let compact = compact(segment);
        // Candidates: terms whose first word is one of the field's words (looked up in the
        // sorted index), and terms whose words run together are the whole name. The first
        // term in vocabulary order wins.
        let mut best: Option<usize> = None;
        for word in &words {
            let start = self
                .by_first_word
                .partition_point(|(w, _)| w.as_ref() < word.as_str());
            for (w, i) in &self.by_first_word[start..] {
                if w.as_ref() != word.as_str() {
                    break;
                }
                if best.is_none_or(|b| *i < b) && self.terms[*i].within(&words) {
                    best = Some(*i);
                }
            }
        }
        for end in (1..=compact.len()).filter(|e| compact.is_char_boundary(*e)) {
            let prefix = &compact[..end];
            let start = self
                .by_first_word
                .partition_point(|(w, _)| w.as_ref() < prefix);
            for (w, i) in &self.by_first_word[start..] {
                if w.as_ref() != prefix {
                    break;
                }
                if best.is_none_or(|b| *i < b) && self.terms[*i].is_compact(&compact) {
                    best = Some(*i);
                }
            }
        }
        best.map(|i| {
            let t = &self.terms[i];
            TermMatch {
                category: &self.categories[t.category],
                term: &t.text,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    fn category_of(name: &str) -> Option<&'static str> {
        thread_local! {
            static SPECIAL: Vocabulary = Vocabulary::special_categories();
        }
        SPECIAL.with(|v| {
            v.find(name).map(|m| {
                SPECIAL_CATEGORIES
                    .iter()
                    .find(|(c, _)| *c == m.category)
                    .unwrap()
                    .0
            })
        })
    }

    // ---- words ----

    #[test]
    fn words_splits_on_underscores_hyphens_spaces_and_dots() {
        assert_eq!(words("ethnic_origin"), ["ethnic", "origin"]);
        assert_eq!(words("ethnic-origin"), ["ethnic", "origin"]);
        assert_eq!(words("ethnic origin"), ["ethnic", "origin"]);
        assert_eq!(words("ethnic.origin"), ["ethnic", "origin"]);
        assert_eq!(words("a_b-c d.e"), ["a", "b", "c", "d", "e"]);
    }

    #[test]
    fn words_splits_camel_case_and_lowercases() {
        assert_eq!(words("sexualOrientation"), ["sexual", "orientation"]);
        assert_eq!(words("SexualOrientation"), ["sexual", "orientation"]);
        assert_eq!(words("leftOrganisationAt"), ["left", "organisation", "at"]);
    }

    #[test]
    fn words_keeps_a_run_of_capitals_together_as_an_acronym() {
        assert_eq!(words("DNA_profile"), ["dna", "profile"]);
        assert_eq!(words("DNAProfile"), ["dna", "profile"]);
        assert_eq!(words("nhsNumber"), ["nhs", "number"]);
        assert_eq!(words("NHS_NUMBER"), ["nhs", "number"]);
        assert_eq!(words("userID"), ["user", "id"]);
        assert_eq!(words("HTTPServerURL"), ["http", "server", "url"]);
    }

    #[test]
    fn words_separates_digits_from_letters() {
        assert_eq!(words("line1"), ["line", "1"]);
        assert_eq!(words("address2Line"), ["address", "2", "line"]);
        assert_eq!(words("v2profile"), ["v", "2", "profile"]);
        assert_eq!(words("cvv2"), ["cvv", "2"]);
    }

    #[test]
    fn words_ignores_repeated_leading_and_trailing_separators() {
        assert_eq!(words("__health--notes__"), ["health", "notes"]);
        assert_eq!(words("  a  "), ["a"]);
        assert_eq!(words("a/b:c(d)"), ["a", "b", "c", "d"]);
    }

    #[test]
    fn a_name_without_letters_or_digits_has_no_words() {
        assert!(words("").is_empty());
        assert!(words("_-. ").is_empty());
    }

    #[test]
    fn words_handles_non_ascii_letters() {
        assert_eq!(words("Größe_Ärger"), ["größe", "ärger"]);
        assert_eq!(words("straßeName"), ["straße", "name"]);
        assert_eq!(words("日本語_name"), ["日本語", "name"]);
    }

    // ---- compact ----

    #[test]
    fn compact_lowercases_and_drops_everything_but_letters_and_digits() {
        assert_eq!(compact("card-Number"), "cardnumber");
        assert_eq!(compact("cardNumber"), "cardnumber");
        assert_eq!(compact("Card Number"), "cardnumber");
        assert_eq!(compact("card_number"), "cardnumber");
        assert_eq!(compact("CVV2"), "cvv2");
        assert_eq!(compact("~/_ ."), "");
        assert_eq!(compact("Größe"), "größe");
    }

    // ---- contains_term ----

    #[test]
    fn a_term_matches_when_its_words_appear_contiguously() {
        let name = w(&["ethnic", "origin", "code"]);
        assert!(contains_term(&name, &w(&["ethnic", "origin"])));
        assert!(contains_term(&name, &w(&["origin", "code"])));
        assert!(contains_term(&name, &w(&["code"])));
        assert!(contains_term(&name, &name));
    }

    #[test]
    fn a_term_does_not_match_words_out_of_order_or_apart() {
        let name = w(&["ethnic", "group", "origin"]);
        assert!(!contains_term(&name, &w(&["ethnic", "origin"])));
        assert!(!contains_term(&name, &w(&["origin", "ethnic"])));
        assert!(!contains_term(
            &name,
            &w(&["ethnic", "group", "origin", "x"])
        ));
    }

    #[test]
    fn a_term_matches_whole_words_only() {
        assert!(!contains_term(&w(&["trace", "id"]), &w(&["race"])));
        assert!(!contains_term(&w(&["healthcheck"]), &w(&["health"])));
    }

    #[test]
    fn an_empty_term_matches_nothing() {
        assert!(!contains_term(&w(&["a"]), &[]));
        assert!(!contains_term(&[], &[]));
    }

    // ---- The special-category vocabulary ----

    #[test]
    fn the_vocabulary_has_the_ten_categories_of_clause_2_4() {
        let names: Vec<&str> = SPECIAL_CATEGORIES.iter().map(|(c, _)| *c).collect();
        assert_eq!(
            names,
            [
                "race or ethnicity",
                "religious or philosophical beliefs",
                "sex life",
                "sexual orientation",
                "political opinions",
                "trade union membership",
                "health",
                "genetic data",
                "biometric data",
                "criminal convictions and offences",
            ]
        );
        let vocabulary = Vocabulary::special_categories();
        assert!(vocabulary.categories().eq(names.iter().copied()));
    }

    #[test]
    fn every_term_of_the_vocabulary_is_lowercase_words_and_names_itself() {
        let vocabulary = Vocabulary::special_categories();
        for (category, terms) in SPECIAL_CATEGORIES {
            assert!(!terms.is_empty(), "{category}");
            for term in *terms {
                assert_eq!(words(term).join(" "), *term, "{term:?} is not plain words");
                assert_eq!(vocabulary.find(term).unwrap().category, *category, "{term}");
                let snake = term.replace(' ', "_");
                assert_eq!(category_of(&snake), Some(*category), "{snake}");
            }
        }
    }

    #[test]
    fn ordinary_provu_field_names_are_not_special_categories() {
        let ordinary = [
            "name",
            "organisation",
            "relationship",
            "email",
            "phone",
            "job_title",
            "left_organisation_at",
            "direction",
            "party_number",
            "started_at",
            "recording_ref",
            "agent",
            "duration_seconds",
            "purpose",
            "transcript",
            "notes",
            "basis",
            "joined_at",
            "consent_evidence",
            "enquiry_at",
            "opted_out_at",
            "tracking",
            "opens",
            "last_opened",
            "unsubscribes",
            "address",
            "line1",
            "line2",
            "city",
            "postcode",
            "country",
            "courier",
            "order_ref",
            "company",
            "shipped_at",
            "mac",
            "vendor",
            "username",
            "sip_server",
            "display_name",
            "password",
            "sip_settings",
            "provisioned_at",
            "provisioning_host",
            "ip",
            "requested_at",
            "path",
            "status",
            "user_agent",
            "form",
            "fields",
            "share_with",
            "date_of_birth",
            "age",
        ];
        for name in ordinary {
            assert_eq!(category_of(name), None, "{name} matched");
        }
    }

    #[test]
    fn party_alone_is_not_a_political_opinion() {
        assert_eq!(category_of("party"), None);
        assert_eq!(category_of("partyNumber"), None);
        assert_eq!(category_of("third_party"), None);
        assert_eq!(category_of("party_affiliation"), Some("political opinions"));
        assert_eq!(category_of("partyMembership"), Some("political opinions"));
    }

    #[test]
    fn special_category_field_names_are_recognised() {
        let cases = [
            ("ethnicity", "race or ethnicity"),
            ("ethnic_origin", "race or ethnicity"),
            ("Race", "race or ethnicity"),
            ("religion", "religious or philosophical beliefs"),
            ("religiousBeliefs", "religious or philosophical beliefs"),
            ("sexualOrientation", "sexual orientation"),
            ("sexuality", "sexual orientation"),
            ("sex_life", "sex life"),
            ("sexualHistory", "sex life"),
            ("trade_union", "trade union membership"),
            ("unionMember", "trade union membership"),
            ("health_notes", "health"),
            ("mentalHealth", "health"),
            ("medical_history", "health"),
            ("NHS-Number", "health"),
            ("bloodType", "health"),
            ("dna_profile", "genetic data"),
            ("DNA_profile", "genetic data"),
            ("genome_sequence", "genetic data"),
            ("fingerprint_hash", "biometric data"),
            ("irisScan", "biometric data"),
            ("face_template", "biometric data"),
            ("criminal_record", "criminal convictions and offences"),
            ("previousConvictions", "criminal convictions and offences"),
            ("political_party", "political opinions"),
            ("votingIntention", "political opinions"),
        ];
        for (name, category) in cases {
            assert_eq!(category_of(name), Some(category), "{name}");
        }
    }

    #[test]
    fn a_name_written_without_separators_matches_a_whole_term() {
        assert_eq!(category_of("sexualorientation"), Some("sexual orientation"));
        assert_eq!(category_of("TRADEUNION"), Some("trade union membership"));
        assert_eq!(category_of("bloodtype"), Some("health"));
        // Only the whole name: a term run together inside a longer word does not match.
        assert_eq!(category_of("bloodtypecode"), None);
    }

    #[test]
    fn similar_looking_words_are_not_terms() {
        for name in [
            "trace_id",
            "healthcheck",
            "unionpay",
            "raceway",
            "iris",
            "faithful_copy",
            "dnary",
        ] {
            assert_eq!(category_of(name), None, "{name} matched");
        }
    }

    // ---- Vocabulary ----

    #[test]
    fn find_reports_the_category_and_the_term_as_given() {
        let v = Vocabulary::special_categories();
        assert_eq!(
            v.find("patient_blood_type"),
            Some(TermMatch {
                category: "health",
                term: "blood type"
            })
        );
    }

    #[test]
    fn the_first_matching_term_in_insertion_order_wins() {
        let mut v = Vocabulary::new();
        assert!(v.add("first", "health"));
        assert!(v.add("second", "sexual"));
        assert_eq!(v.find("sexual_health").unwrap().category, "first");
    }

    #[test]
    fn adding_to_an_existing_category_extends_it() {
        let mut v = Vocabulary::special_categories();
        assert!(v.add("health", "sick note"));
        assert_eq!(v.find("sickNote").unwrap().category, "health");
        assert_eq!(v.categories().count(), SPECIAL_CATEGORIES.len());
        assert!(v.add("hobbies", "golf"));
        assert_eq!(v.categories().last(), Some("hobbies"));
        assert_eq!(v.find("golf_handicap").unwrap().term, "golf");
    }

    #[test]
    fn terms_may_be_written_in_any_naming_style() {
        let mut v = Vocabulary::new();
        assert!(v.add("c", "shoeSize"));
        assert!(v.add("c", "hat-size"));
        assert_eq!(v.find("shoe_size").unwrap().term, "shoeSize");
        assert_eq!(v.find("HatSize").unwrap().term, "hat-size");
    }

    #[test]
    fn a_term_without_words_is_not_added() {
        let mut v = Vocabulary::new();
        assert!(!v.add("c", ""));
        assert!(!v.add("c", " _ "));
        assert!(v.is_empty());
        assert_eq!(v.categories().count(), 0);
    }

    #[test]
    fn an_empty_vocabulary_matches_nothing() {
        let v = Vocabulary::new();
        assert!(v.is_empty());
        assert_eq!(v.find("health"), None);
    }

    #[test]
    fn a_name_without_words_matches_nothing() {
        let v = Vocabulary::special_categories();
        assert_eq!(v.find(""), None);
        assert_eq!(v.find("__"), None);
    }
}
