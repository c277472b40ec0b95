//! Matching the words of one reading of a name against a vocabulary's terms: terms of
//! several words, terms run together as a word, compounds beginning or ending with a term,
//! and the best of the terms found.

use std::cell::OnceCell;

use super::exceptions::{Place, is_business, is_qualifier, is_technical};
use super::normalise::Normalised;
use super::trie::{backwards, longest_prefix};
use super::{COMPOUND_MIN_LETTERS, Vocabulary, tables};

/// The best match so far: the term that ends last in the name, then the longest, then the
/// first.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) struct Found {
    end: usize,
    letters: usize,
    pub(super) index: usize,
}

impl Found {
    fn key(self) -> (usize, usize, std::cmp::Reverse<usize>) {
        (self.end, self.letters, std::cmp::Reverse(self.index))
    }

    pub(super) fn better_than(self, other: Option<Found>) -> bool {
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

impl Vocabulary {
    /// The best of the terms that are `name`'s one word, or begin it and have at least
    /// [`COMPOUND_MIN_LETTERS`] letters (`first` is the first reading of the name). Shorter
    /// terms run together with a qualifier are not read across separators: `st_ino` is not
    /// `sti` and `no`, and so `hi-vstatus` is not read as `hivstatus` either.
    pub(super) fn exact(&self, name: &Normalised, first: &Normalised) -> Option<Found> {
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
    pub(super) fn best(&self, name: &Normalised, first: &Normalised) -> Option<Found> {
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
