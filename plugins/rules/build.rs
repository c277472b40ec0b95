//! Compiles the special-category vocabulary (`vocabulary/special-categories.toml`) into
//! sorted static tables (`$OUT_DIR/special_categories.rs`, included by `src/names/mod.rs`),
//! so that a plugin instance searches them without building anything.
//!
//! It also makes the table that says how each character outside ASCII is read (see
//! `src/names/normalise.rs`): from its NFKC form (`unicode-normalization`), its general
//! category (`unicode-properties`: format characters and marks are dropped) and its Unicode
//! TR39 confusable skeleton (`unicode-security`). Only the characters read as ASCII, or
//! dropped, are listed; the plugins then need none of those crates and their tables.
//!
//! Terms are read with the same normaliser as field names (`src/names/normalise.rs`). The
//! build fails, naming the term, when a term has no letters or digits, names two
//! categories or appears twice, when a technical entry names no term or holds more than one
//! word, or when an ordinary word would not be matched by any term anyway.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Deserialize;

#[path = "src/names/normalise.rs"]
#[allow(dead_code, reason = "shared with the library, which uses all of it")]
mod normalise;

use normalise::{
    FoldTable, LOWER_L_OR_I, Normalised, Reading, UPPER_L_OR_I, digit_letter, normalise,
};
use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, GeneralCategoryGroup, UnicodeGeneralCategory};

const SOURCE: &str = "vocabulary/special-categories.toml";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    category: Vec<Category>,
    technical: BTreeMap<String, Technical>,
    ordinary: Ordinary,
    business: Business,
    matching: Matching,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Business {
    words: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Category {
    name: String,
    #[expect(dead_code, reason = "for the reader of the file")]
    gdpr: String,
    terms: Vec<String>,
}

/// The words that make a term technical, whether any word before it does, and whether the
/// term alone, as the whole name, is technical.
#[derive(Deserialize)]
#[serde(untagged)]
enum Technical {
    Words(Vec<String>),
    Table {
        words: Vec<String>,
        #[serde(default)]
        after_another_word: bool,
        #[serde(default)]
        alone: bool,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Ordinary {
    words: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Matching {
    compound_min_letters: usize,
    qualifiers: Vec<String>,
}

struct Term {
    category: usize,
    text: String,
    norm: String,
    compact: String,
}

/// Whether `c` is dropped without separating words: a format character or a mark.
fn is_invisible(c: char) -> bool {
    c.general_category() == GeneralCategory::Format
        || c.general_category_group() == GeneralCategoryGroup::Mark
}

/// How a character outside ASCII reads: `None` when it is kept as it is, else its reading
/// in ASCII (empty when dropped), in which a capital is a capital and `LOWER_L_OR_I` and
/// `UPPER_L_OR_I` stand for look-alikes of `l` or `I`.
fn reading_of(c: char) -> Option<String> {
    let mut out = String::new();
    for d in std::iter::once(c).nfkc() {
        if d.is_ascii() {
            out.push(d);
            continue;
        }
        if is_invisible(d) {
            continue;
        }
        let mut buf = [0u8; 4];
        let skeleton: Vec<char> = unicode_security::skeleton(d.encode_utf8(&mut buf)).collect();
        let marks = skeleton.iter().any(|s| is_invisible(*s));
        let letters: Vec<char> = skeleton
            .iter()
            .filter(|s| !is_invisible(**s))
            .flat_map(|s| s.to_lowercase())
            .filter(|l| !is_invisible(*l))
            .flat_map(|l| if l == 'ß' { vec!['s', 's'] } else { vec![l] })
            .collect();
        if letters.is_empty() {
            // Default-ignorable (zero-width, fillers): its skeleton is empty.
            continue;
        }
        let upper = d.is_uppercase();
        // TR39's prototype of `I`, `l`, `|` and `1` is `l`: a character whose skeleton is
        // that `l` alone, or a capital whose skeleton is `l` with a mark (`İ`), may stand
        // for either `I` or `l`. (`ł` is `l` with a stroke: an `l`.)
        if skeleton.first() == Some(&'l') && letters.len() == 1 && (!marks || upper) {
            out.push(char::from(if upper { UPPER_L_OR_I } else { LOWER_L_OR_I }));
            continue;
        }
        if !letters.iter().all(char::is_ascii) {
            return None;
        }
        if d.is_alphabetic() {
            for l in letters {
                let l = if l.is_ascii_digit() {
                    // A letter that looks like a digit (Cyrillic `З` is `3`): the letter that
                    // digit stands for.
                    match l {
                        '1' => char::from(if upper { UPPER_L_OR_I } else { LOWER_L_OR_I }),
                        _ => char::from(digit_letter(l as u8, b'i')?),
                    }
                } else if l.is_ascii_alphabetic() {
                    l
                } else {
                    return None;
                };
                out.push(if upper { l.to_ascii_uppercase() } else { l });
            }
        } else if d.is_numeric() && letters.iter().all(char::is_ascii_digit) {
            out.extend(letters);
        } else if !d.is_numeric() && letters.iter().all(char::is_ascii_alphanumeric) {
            // A symbol that looks like a letter (`℮`).
            out.extend(letters);
        } else if d.is_alphanumeric() {
            return None;
        } else {
            // A separator.
            out.push(' ');
        }
    }
    Some(out)
}

/// The [`FoldTable`] of every character outside ASCII, and its entries, sorted.
fn fold_table() -> (FoldTable, Vec<(char, String)>) {
    let mut dropped: Vec<(char, char)> = Vec::new();
    let mut entries: Vec<(char, String)> = Vec::new();
    for c in (0x80..=0x10FFFF).filter_map(char::from_u32) {
        match reading_of(c) {
            None => {}
            Some(r) if r.is_empty() => match dropped.last_mut() {
                Some((_, last)) if char::from_u32(*last as u32 + 1) == Some(c) => *last = c,
                _ => dropped.push((c, c)),
            },
            Some(r) => entries.push((c, r)),
        }
    }
    // Each distinct reading once.
    let mut text = String::new();
    let mut at: BTreeMap<String, u16> = BTreeMap::new();
    let mut packed = Vec::new();
    for (c, r) in &entries {
        let start = *at.entry(r.clone()).or_insert_with(|| {
            let start = u16::try_from(text.len()).expect("readings fit in 64 KiB");
            text.push_str(r);
            start
        });
        packed.push((*c, start, u8::try_from(r.len()).expect("a short reading")));
    }
    let table = FoldTable {
        entries: Box::leak(packed.into_boxed_slice()),
        text: Box::leak(text.into_boxed_str()),
        dropped: Box::leak(dropped.into_boxed_slice()),
    };
    (table, entries)
}

fn read(text: &str, table: &FoldTable) -> Normalised {
    let mut n = Normalised::default();
    normalise(text, Reading::FIRST, table, &mut n);
    n
}

/// The one word `text` reads as, or an error.
fn one_word(what: &str, text: &str, table: &FoldTable, errors: &mut Vec<String>) -> Option<String> {
    let n = read(text, table);
    if n.len() == 1 {
        Some(n.text)
    } else {
        errors.push(format!(
            "{what} {text:?} must be one word (it reads as {:?})",
            n.words().collect::<Vec<_>>()
        ));
        None
    }
}

/// The one words `texts` read as (see [`one_word`]), with an error for each that does not.
fn one_words(
    what: &str,
    texts: &[String],
    table: &FoldTable,
    errors: &mut Vec<String>,
) -> BTreeSet<String> {
    texts
        .iter()
        .filter_map(|text| one_word(what, text, table, errors))
        .collect()
}

fn main() {
    println!("cargo::rerun-if-changed={SOURCE}");
    println!("cargo::rerun-if-changed=src/names/normalise.rs");
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let source = std::fs::read_to_string(manifest.join(SOURCE)).expect("read the vocabulary");
    let file: File = toml::from_str(&source).unwrap_or_else(|e| panic!("{SOURCE}: {e}"));
    let mut errors = Vec::new();
    let (fold, fold_entries) = fold_table();

    let mut terms: Vec<Term> = Vec::new();
    let mut seen: BTreeMap<String, (usize, String)> = BTreeMap::new();
    for (index, category) in file.category.iter().enumerate() {
        if category.name.trim().is_empty() {
            errors.push(format!(
                "category {}: the name must not be empty",
                index + 1
            ));
        }
        if category.terms.is_empty() {
            errors.push(format!("{}: give at least one term", category.name));
        }
        for text in &category.terms {
            let n = read(text, &fold);
            if n.is_empty() {
                errors.push(format!(
                    "{}: the term {text:?} has no letter or digit",
                    category.name
                ));
                continue;
            }
            let norm = n.words().collect::<Vec<_>>().join(" ");
            if let Some((other, first)) = seen.get(&norm) {
                errors.push(format!(
                    "{}: the term {text:?} is already given as {first:?} in {}",
                    category.name, file.category[*other].name
                ));
                continue;
            }
            seen.insert(norm.clone(), (index, text.clone()));
            terms.push(Term {
                category: index,
                text: text.clone(),
                norm,
                compact: n.text,
            });
        }
    }
    if terms.len() > u16::MAX as usize {
        errors.push("too many terms".into());
    }
    let min = file.matching.compound_min_letters;
    if min < 3 {
        errors.push("matching.compound_min_letters must be at least 3".into());
    }
    let qualifiers = one_words(
        "the qualifier",
        &file.matching.qualifiers,
        &fold,
        &mut errors,
    );

    // Technical readings are keyed by the term's compact form, so that they hold for
    // every spelling of it (`fingerprint`, `finger print`).
    let mut technical: BTreeMap<String, (BTreeSet<String>, bool, bool)> = BTreeMap::new();
    for (term, entry) in &file.technical {
        let (words, after, is_alone) = match entry {
            Technical::Words(words) => (words, false, false),
            Technical::Table {
                words,
                after_another_word,
                alone,
            } => (words, *after_another_word, *alone),
        };
        let compact = read(term, &fold).text;
        if !terms.iter().any(|t| t.compact == compact) {
            errors.push(format!("technical: {term:?} is not a term of any category"));
            continue;
        }
        if words.is_empty() && !after && !is_alone {
            errors.push(format!("technical.{term}: give at least one word"));
        }
        let (set, after_any, alone_too) = technical.entry(compact).or_default();
        *after_any |= after;
        *alone_too |= is_alone;
        for word in words {
            if let Some(w) = one_word(
                &format!("technical.{term}: the word"),
                word,
                &fold,
                &mut errors,
            ) {
                set.insert(w);
            }
        }
    }

    let business = one_words(
        "the business word",
        &file.business.words,
        &fold,
        &mut errors,
    );

    let mut ordinary = BTreeSet::new();
    for word in &file.ordinary.words {
        let Some(w) = one_word("the ordinary word", word, &fold, &mut errors) else {
            continue;
        };
        let compound = terms.iter().any(|t| {
            let letters = t.compact.chars().count();
            let long = letters >= min;
            w.len() > t.compact.len()
                && ((w.starts_with(&t.compact)
                    && (long || qualifiers.contains(&w[t.compact.len()..])))
                    || (long && !t.norm.contains(' ') && w.ends_with(&t.compact)))
        });
        if !compound {
            errors.push(format!(
                "ordinary: no term begins or ends {word:?}; it needs no entry"
            ));
        }
        ordinary.insert(w);
    }

    if !errors.is_empty() {
        panic!("{SOURCE}:\n  {}", errors.join("\n  "));
    }

    let mut out = String::new();
    writeln!(out, "// Generated by build.rs from {SOURCE}. Do not edit.").unwrap();
    declare(
        &mut out,
        &[&format!(
            "How characters outside ASCII are read ({} read as ASCII, {} ranges dropped).",
            fold_entries.len(),
            fold.dropped.len()
        )],
        "pub(super) static FOLD: FoldTable = FoldTable {",
    );
    writeln!(out, "    entries: &{:?},", fold.entries).unwrap();
    writeln!(out, "    text: {:?},", fold.text).unwrap();
    writeln!(out, "    dropped: &{:?},", fold.dropped).unwrap();
    writeln!(out, "}};").unwrap();
    declare(
        &mut out,
        &["The categories, in the order of the vocabulary file."],
        "pub(super) static CATEGORIES: &[&str] = &[",
    );
    for c in &file.category {
        writeln!(out, "    {:?},", c.name).unwrap();
    }
    writeln!(out, "];").unwrap();
    declare(
        &mut out,
        &["The terms, in the order of the vocabulary file."],
        "pub(super) static TERMS: &[BuiltinTerm] = &[",
    );
    for t in &terms {
        writeln!(
            out,
            "    BuiltinTerm {{ category: {}, text: {:?}, compact: {:?}, letters: {} }},",
            t.category,
            t.text,
            t.compact,
            t.compact.chars().count()
        )
        .unwrap();
    }
    writeln!(out, "];").unwrap();
    let sorted = |key: &dyn Fn(&Term) -> Option<String>| {
        let mut v: Vec<(String, usize)> = terms
            .iter()
            .enumerate()
            .filter_map(|(i, t)| key(t).map(|k| (k, i)))
            .collect();
        v.sort();
        v
    };
    type Table = Vec<(String, usize)>;
    let tables: [(&str, &str, Table); 3] = [
        (
            "BY_NORM",
            "Each term's words joined by single spaces, sorted, with the term's index.",
            sorted(&|t| Some(t.norm.clone())),
        ),
        (
            "BY_COMPACT",
            "Each term's words run together, sorted, with the term's index.",
            sorted(&|t| Some(t.compact.clone())),
        ),
        (
            "BY_REVERSED",
            "One-word terms of at least COMPOUND_MIN_LETTERS letters, spelt backwards, sorted.",
            sorted(&|t| {
                (!t.norm.contains(' ') && t.compact.chars().count() >= min)
                    .then(|| t.compact.chars().rev().collect())
            }),
        ),
    ];
    for (name, doc, table) in tables {
        let trie = trie(&table);
        declare(
            &mut out,
            &[doc],
            &format!("pub(super) static {name}: Trie = {trie};"),
        );
    }
    declare(
        &mut out,
        &[
            "Terms with technical readings, run together (sorted), and the words that make them technical (sorted).",
            "The flags: technical after any other word too; technical as the whole name.",
        ],
        "pub(super) static TECHNICAL: &[(&str, &[&str], bool, bool)] = &[",
    );
    for (term, (words, after, alone)) in &technical {
        writeln!(
            out,
            "    ({term:?}, &{:?}, {after}, {alone}),",
            words.iter().collect::<Vec<_>>()
        )
        .unwrap();
    }
    writeln!(out, "];").unwrap();
    let list = |out: &mut String, name: &str, doc: &str, words: Vec<String>| {
        let keys: Vec<(String, usize)> = words.into_iter().map(|w| (w, 0)).collect();
        let trie = trie(&keys);
        declare(
            out,
            &[doc],
            &format!("pub(super) static {name}: Trie = {trie};"),
        );
    };
    list(
        &mut out,
        "ORDINARY",
        "Ordinary words, sorted.",
        ordinary.iter().cloned().collect(),
    );
    let mut reversed: Vec<String> = ordinary.iter().map(|w| w.chars().rev().collect()).collect();
    reversed.sort();
    list(
        &mut out,
        "ORDINARY_REVERSED",
        "Ordinary words spelt backwards, sorted.",
        reversed,
    );
    declare(
        &mut out,
        &["Business nouns (organisations, products, places), sorted."],
        &format!(
            "pub(super) static BUSINESS: &[&str] = &{:?};",
            business.iter().collect::<Vec<_>>()
        ),
    );
    declare(
        &mut out,
        &["Qualifiers, sorted."],
        &format!(
            "pub(super) static QUALIFIERS: &[&str] = &{:?};",
            qualifiers.iter().collect::<Vec<_>>()
        ),
    );
    declare(
        &mut out,
        &["Terms of at least this many letters also name the start or end of a longer word."],
        &format!("pub(super) const COMPOUND_MIN_LETTERS: usize = {min};"),
    );
    declare(
        &mut out,
        &[
            "The special categories of personal data (GDPR article 9, and criminal offence data,",
            "article 10) that clause 2.4 says ProVu never collects, each with its terms as written",
            &format!("in `plugins/rules/{SOURCE}`."),
        ],
        "pub const SPECIAL_CATEGORIES: &[(&str, &[&str])] = &[",
    );
    for c in &file.category {
        writeln!(out, "    ({:?}, &{:?}),", c.name, c.terms).unwrap();
    }
    writeln!(out, "];").unwrap();

    let dest =
        PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("special_categories.rs");
    std::fs::write(dest, out).expect("write the tables");
}

/// Appends to `out` an empty line, `doc` as doc comments (an element a line) and `line`,
/// the first line of a declaration.
fn declare(out: &mut String, doc: &[&str], line: &str) {
    writeln!(out).unwrap();
    for doc in doc {
        writeln!(out, "/// {doc}").unwrap();
    }
    writeln!(out, "{line}").unwrap();
}

/// The trie of `keys` (sorted, with their term indices), as the text of a `Trie` (see
/// `src/names/mod.rs`): nodes numbered breadth first from the root, 0, so that the children
/// of each node, in the order of their bytes, follow those of the node before it.
fn trie(keys: &[(String, usize)]) -> String {
    // Built as nested maps, then numbered.
    let mut children: Vec<BTreeMap<u8, usize>> = vec![BTreeMap::new()];
    let mut ending: Vec<Vec<usize>> = vec![Vec::new()];
    for (key, index) in keys {
        let mut node = 0;
        for &b in key.as_bytes() {
            node = match children[node].get(&b) {
                Some(&next) => next,
                None => {
                    children.push(BTreeMap::new());
                    ending.push(Vec::new());
                    let next = children.len() - 1;
                    children[node].insert(b, next);
                    next
                }
            };
        }
        ending[node].push(*index);
    }
    let mut order = vec![0];
    let mut bytes = vec![0u8];
    let mut i = 0;
    while i < order.len() {
        for (&b, &child) in &children[order[i]] {
            order.push(child);
            bytes.push(b);
        }
        i += 1;
    }
    let mut first_child = Vec::with_capacity(order.len() + 1);
    let mut next = 1;
    for &node in &order {
        first_child.push(next);
        next += children[node].len();
    }
    first_child.push(next);
    let mut first_term = Vec::with_capacity(order.len() + 1);
    let mut terms = Vec::new();
    for &node in &order {
        first_term.push(terms.len());
        let mut ends = ending[node].clone();
        ends.sort_unstable();
        terms.extend(ends);
    }
    first_term.push(terms.len());
    assert!(next <= usize::from(u16::MAX) && terms.len() <= usize::from(u16::MAX));
    assert!(terms.iter().all(|&t| t <= usize::from(u16::MAX)));
    // The root's child for each byte (0 for none), so that the first step is one look-up.
    let mut root = [0usize; 256];
    for c in first_child[0]..first_child[1] {
        root[usize::from(bytes[c])] = c;
    }
    format!(
        "Trie {{ root: {root:?}, first_child: &{first_child:?}, byte: &{bytes:?}, first_term: &{first_term:?}, terms: &{terms:?} }}"
    )
}
