//! The readings of a name that [`Vocabulary::find`] tries: the first one and the other
//! readings of ambiguous digits, and readings against disguises of the writing (odd
//! capitals, letters written apart, Greek and Cyrillic capitals, the whole name run
//! together).

use std::borrow::Cow;

use super::normalise::{Normalised, Reading, normalise};
use super::{TermMatch, Vocabulary, tables};

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

impl Vocabulary {
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
}
