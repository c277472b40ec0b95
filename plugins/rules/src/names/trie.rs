//! Looking keys up in the sorted tables of a vocabulary: the keys that are prefixes of a
//! query, in a static trie (the built-in terms) or a sorted list (the terms added at run
//! time), the query read forwards or backwards.

use super::tables;

/// Calls `found(length, index)` for each key of `table` (sorted by key) that is a prefix of
/// `query`, shortest first: a walk down the sorted keys as down a trie, stopping as soon as
/// no key continues the query.
pub(super) fn prefixes<K: AsRef<str>>(
    table: &[(K, usize)],
    query: impl Iterator<Item = u8>,
    found: impl FnMut(usize, usize),
) {
    walk(table, 0, query, found);
}

/// [`prefixes`] for a static table, down its trie: one step a byte of the query.
pub(super) fn prefixes_in_trie(
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
pub(super) fn walk<K: AsRef<str>>(
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
pub(super) fn longest_prefix(trie: &tables::Trie, query: impl Iterator<Item = u8>) -> usize {
    let mut longest = 0;
    prefixes_in_trie(trie, query, |len, _| longest = len);
    longest
}

/// The bytes of `word` spelt backwards, character by character.
pub(super) fn backwards(word: &str) -> impl Iterator<Item = u8> + Clone + '_ {
    word.char_indices()
        .rev()
        .flat_map(move |(at, c)| word.as_bytes()[at..at + c.len_utf8()].iter().copied())
}
