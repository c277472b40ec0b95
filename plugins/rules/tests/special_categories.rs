//! The special-category vocabulary (clause 2.4) against two lists: field names that must be
//! refused (`special-categories/must-reject.txt`, each under the category it must be
//! reported as) and ordinary field names that must pass (`special-categories/must-pass.txt`).
//!
//! Every plain snake_case name of both lists is also tried in other naming styles, and every
//! such name that must be refused also in disguise: Cyrillic and Greek look-alike letters,
//! full-width letters, soft hyphens and zero-width characters inside its words, digits for
//! letters, odd capitals inside its words (`heAlth_reCord`), and, for a name of one word, a
//! hyphen, no-break space or tab inside it (`he-alth`) or dots between all its letters
//! (`h.e.a.l.t.h`). The test prints the counts and fails on any miss or false refusal, listing them.

use sluice_rules::names::{SPECIAL_CATEGORIES, Vocabulary, compact};

const MUST_REJECT: &str = include_str!("special-categories/must-reject.txt");
const MUST_PASS: &str = include_str!("special-categories/must-pass.txt");

/// A line of a list, with `\u{...}` escapes read; `None` for blank lines and comments.
fn entry(line: &str) -> Option<String> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let mut out = String::new();
    let mut rest = line;
    while let Some(at) = rest.find("\\u{") {
        out.push_str(&rest[..at]);
        let end = rest[at..].find('}').expect("a closing brace") + at;
        let code = u32::from_str_radix(&rest[at + 3..end], 16).expect("hex digits");
        out.push(char::from_u32(code).expect("a character"));
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

/// `(category, name)` for each name of the must-reject list.
fn must_reject() -> Vec<(String, String)> {
    let mut category = None;
    let mut out = Vec::new();
    for line in MUST_REJECT.lines() {
        let Some(e) = entry(line) else { continue };
        if let Some(name) = e.strip_prefix('[').and_then(|e| e.strip_suffix(']')) {
            category = Some(name.to_owned());
        } else {
            out.push((category.clone().expect("a [category] first"), e));
        }
    }
    out
}

fn must_pass() -> Vec<String> {
    MUST_PASS.lines().filter_map(entry).collect()
}

/// Whether `name` is lowercase ASCII words joined by `_` (so that it can be restyled).
fn is_plain_snake(name: &str) -> bool {
    !name.is_empty()
        && name.split('_').all(|w| {
            !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

fn capitalised(word: &str) -> String {
    let mut c = word.chars();
    c.next()
        .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
        .unwrap_or_default()
}

/// `name` (plain snake_case) in other naming styles.
fn styles(name: &str) -> Vec<(&'static str, String)> {
    let words: Vec<&str> = name.split('_').collect();
    let camel = words[0].to_owned()
        + &words[1..]
            .iter()
            .map(|w| capitalised(w))
            .collect::<String>();
    vec![
        ("camelCase", camel),
        ("PascalCase", words.iter().map(|w| capitalised(w)).collect()),
        ("kebab-case", words.join("-")),
        ("dot.case", words.join(".")),
        ("SCREAMING_CASE", name.to_ascii_uppercase()),
        (
            "Title Case",
            words
                .iter()
                .map(|w| capitalised(w))
                .collect::<Vec<_>>()
                .join(" "),
        ),
    ]
}

/// Replaces letters by look-alikes from `map`; `None` if no letter has one.
fn look_alikes(name: &str, map: &[(char, char)]) -> Option<String> {
    let out: String = name
        .chars()
        .map(|c| {
            map.iter()
                .find(|(from, _)| *from == c)
                .map_or(c, |(_, to)| *to)
        })
        .collect();
    (out != name).then_some(out)
}

/// Inserts `invisible` after every other character of each word.
fn with_invisible(name: &str, invisible: char) -> String {
    name.split('_')
        .map(|w| {
            w.chars()
                .enumerate()
                .flat_map(|(i, c)| {
                    let after = i % 2 == 0 && i + 1 < w.chars().count();
                    std::iter::once(c).chain(after.then_some(invisible))
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("_")
}

/// Writes a digit for the first letter inside each word (neither first nor last) that has
/// one: `h3alth_st4tus`; `None` if no word has such a letter.
fn leet(name: &str) -> Option<String> {
    let digit = |c: u8| match c {
        b'e' => Some(b'3'),
        b'a' => Some(b'4'),
        b'o' => Some(b'0'),
        b'i' => Some(b'1'),
        b's' => Some(b'5'),
        b't' => Some(b'7'),
        _ => None,
    };
    let mut changed = false;
    let words: Vec<String> = name
        .split('_')
        .map(|w| {
            let mut bytes = w.as_bytes().to_vec();
            let n = bytes.len();
            if let Some(i) = (1..n.saturating_sub(1)).find(|&i| {
                digit(bytes[i]).is_some()
                    && bytes[i - 1].is_ascii_lowercase()
                    && bytes[i + 1].is_ascii_lowercase()
            }) {
                bytes[i] = digit(bytes[i]).unwrap();
                changed = true;
            }
            String::from_utf8(bytes).unwrap()
        })
        .collect();
    changed.then(|| words.join("_"))
}

/// A capital for the third letter of each word of four letters or more (`heAlth_reCord`);
/// `None` if no word is that long.
fn odd_capitals(name: &str) -> Option<String> {
    if name.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    let out = name
        .split('_')
        .map(|w| {
            if w.len() >= 4 && w.as_bytes()[2].is_ascii_lowercase() {
                format!("{}{}{}", &w[..2], w[2..3].to_ascii_uppercase(), &w[3..])
            } else {
                w.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("_");
    (out != name).then_some(out)
}

/// A `name` that is a term of one word with `separator` between its letters: after its
/// second letter (`he-alth`) or, for `None`, between all of them (`h.e.a.l.t.h`).
fn written_apart(name: &str, separator: Option<char>) -> Option<String> {
    let is_term = SPECIAL_CATEGORIES
        .iter()
        .flat_map(|(_, terms)| terms.iter())
        .any(|t| compact(t) == name);
    if name.contains('_') || name.len() < 4 || !is_term {
        return None;
    }
    Some(match separator {
        Some(s) => format!("{}{s}{}", &name[..2], &name[2..]),
        None => name.chars().map(String::from).collect::<Vec<_>>().join("."),
    })
}

/// `name` (plain snake_case) in disguise.
fn disguises(name: &str) -> Vec<(&'static str, String)> {
    const CYRILLIC: &[(char, char)] = &[
        ('a', 'а'),
        ('c', 'с'),
        ('e', 'е'),
        ('i', 'і'),
        ('o', 'о'),
        ('p', 'р'),
        ('x', 'х'),
        ('y', 'у'),
    ];
    const GREEK: &[(char, char)] = &[
        ('a', 'α'),
        ('i', 'ι'),
        ('o', 'ο'),
        ('p', 'ρ'),
        ('u', 'υ'),
        ('v', 'ν'),
    ];
    let full_width: String = name
        .chars()
        .map(|c| char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap())
        .collect();
    let capitals_cyrillic: Option<String> = look_alikes(
        &name.to_ascii_uppercase(),
        &[
            ('A', 'А'),
            ('E', 'Е'),
            ('H', 'Н'),
            ('O', 'О'),
            ('P', 'Р'),
            ('T', 'Т'),
            ('X', 'Х'),
        ],
    );
    let capitals_greek: Option<String> = look_alikes(
        &name.to_ascii_uppercase(),
        &[
            ('A', 'Α'),
            ('E', 'Ε'),
            ('H', 'Η'),
            ('I', 'Ι'),
            ('O', 'Ο'),
            ('T', 'Τ'),
            ('N', 'Ν'),
        ],
    );
    let mut out = vec![
        ("full-width", full_width),
        ("soft hyphen", with_invisible(name, '\u{AD}')),
        ("zero-width space", with_invisible(name, '\u{200B}')),
        ("zero-width joiner", with_invisible(name, '\u{200D}')),
    ];
    for (what, disguised) in [
        ("Cyrillic", look_alikes(name, CYRILLIC)),
        ("Greek", look_alikes(name, GREEK)),
        ("Cyrillic capitals", capitals_cyrillic),
        ("Greek capitals", capitals_greek),
        ("digits for letters", leet(name)),
        ("odd capitals", odd_capitals(name)),
        ("hyphen inside", written_apart(name, Some('-'))),
        ("no-break space inside", written_apart(name, Some('\u{A0}'))),
        ("tab inside", written_apart(name, Some('\t'))),
        ("letters apart", written_apart(name, None)),
    ] {
        if let Some(d) = disguised {
            out.push((what, d));
        }
    }
    out
}

#[test]
fn every_special_category_name_is_refused_in_every_style_and_disguise() {
    let vocabulary = Vocabulary::special_categories();
    let mut listed = 0;
    let mut variants = 0;
    let mut categories = std::collections::BTreeMap::<String, usize>::new();
    let mut misses = Vec::new();
    for (category, name) in must_reject() {
        listed += 1;
        *categories.entry(category.clone()).or_default() += 1;
        let mut tries = vec![("as listed", name.clone())];
        if is_plain_snake(&name) {
            tries.extend(styles(&name));
            tries.extend(disguises(&name));
        }
        variants += tries.len() - 1;
        for (how, tried) in tries {
            let found = vocabulary.find(&tried);
            if found.map(|m| m.category) != Some(category.as_str()) {
                misses.push(format!(
                    "{tried:?} ({how} of {name:?}): expected {category}, found {found:?}"
                ));
            }
        }
    }
    println!(
        "must-reject: {listed} names listed, {variants} more in other styles and disguises, {} misses",
        misses.len()
    );
    for (category, n) in &categories {
        println!("  {n:4} {category}");
    }
    assert!(listed >= 300, "the list is long");
    assert_eq!(categories.len(), 10, "every category is listed");
    assert!(
        misses.is_empty(),
        "{} misses:\n{}",
        misses.len(),
        misses.join("\n")
    );
}

#[test]
fn ordinary_names_pass_in_every_style() {
    let vocabulary = Vocabulary::special_categories();
    let mut listed = 0;
    let mut variants = 0;
    let mut refusals = Vec::new();
    for name in must_pass() {
        listed += 1;
        let mut tries = vec![("as listed", name.clone())];
        if is_plain_snake(&name) {
            tries.extend(styles(&name));
        }
        variants += tries.len() - 1;
        for (how, tried) in tries {
            if let Some(m) = vocabulary.find(&tried) {
                refusals.push(format!(
                    "{tried:?} ({how} of {name:?}): refused as {} (term {:?})",
                    m.category, m.term
                ));
            }
        }
    }
    println!(
        "must-pass: {listed} names listed, {variants} more in other styles, {} false refusals",
        refusals.len()
    );
    assert!(listed >= 300, "the list is long");
    assert!(
        refusals.is_empty(),
        "{} false refusals:\n{}",
        refusals.len(),
        refusals.join("\n")
    );
}

#[test]
fn no_name_is_on_both_lists() {
    let reject: std::collections::BTreeSet<String> =
        must_reject().into_iter().map(|(_, n)| n).collect();
    let both: Vec<String> = must_pass()
        .into_iter()
        .filter(|n| reject.contains(n))
        .collect();
    assert!(both.is_empty(), "{both:?}");
}
