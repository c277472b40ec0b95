//! Vocabularies: named categories of terms, the built-in special categories of clause 2.4
//! and terms added at run time, with the sorted tables the matching looks terms up in.

use std::borrow::Cow;

use super::normalise::{Normalised, Reading, normalise};
use super::trie::{prefixes, prefixes_in_trie};
use super::{COMPOUND_MIN_LETTERS, tables};

/// A term added to a [`Vocabulary`] at run time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct AddedTerm {
    category: usize,
    text: String,
    compact: String,
    letters: usize,
}

/// What [`Vocabulary::find`] needs of a term.
pub(super) struct TermRef<'a> {
    pub(super) category: usize,
    pub(super) text: &'a str,
    pub(super) compact: &'a str,
    pub(super) letters: usize,
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
    pub(super) categories: Vec<Cow<'static, str>>,
    /// Terms added at run time; term `tables::TERMS.len() + i` is `added[i]`.
    pub(super) added: Vec<AddedTerm>,
    /// Sorted tables of the added terms, as those of `tables`.
    pub(super) by_norm: Vec<(Box<str>, usize)>,
    pub(super) by_compact: Vec<(Box<str>, usize)>,
    pub(super) by_reversed: Vec<(Box<str>, usize)>,
}

impl Vocabulary {
    /// An empty vocabulary, which matches nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// The special categories of clause 2.4
    /// ([`SPECIAL_CATEGORIES`](super::SPECIAL_CATEGORIES), compiled from
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
    /// `"sick-note"`). Returns false, and adds nothing, when the term has no
    /// [`words`](super::words).
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

    pub(super) fn term(&self, index: usize) -> TermRef<'_> {
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
    pub(super) fn prefixes(
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
}
