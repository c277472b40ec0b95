//! The scanner behind [`super::card_numbers`]: normalised characters are read into groups,
//! a window of groups is held, and candidates are tried at its front. The rules are those of
//! the module documentation of [`super`].
//!
//! Its parts: the reading of characters and separators ([`chars`]), the gaps between groups
//! ([`gap`]), the groups themselves ([`groups`]), the other numbers masked at the front
//! ([`numbers`]), chains of single digits ([`chain`]) and the shapes of a card number
//! ([`shape`]).

mod chain;
mod chars;
mod gap;
mod groups;
mod numbers;
mod shape;

#[cfg(test)]
pub(super) use chars::{Class, Sep, classify};

use super::{CardMatch, MIN_DIGITS};
use crate::normalise;
use gap::Gap;
use groups::{Group, Groups, NO_GROUP};

/// How many groups are held at a time (a power of two): a candidate spans at most 19 groups,
/// and one more is looked at after it.
const WINDOW: usize = 32;

/// What is remembered of the group before the front of the window.
#[derive(Debug, Clone, Copy)]
struct Prev {
    len: usize,
    /// Byte offset just past its last digit.
    end: usize,
    /// Part of a phone number, a date, an IBAN or a UUID, or the last group of a card found:
    /// the end of another number, which does not run on into the front.
    masked: bool,
}

/// The card numbers of a text, found left to right.
#[derive(Debug, Clone)]
pub(super) struct Scanner<'a> {
    text: &'a str,
    groups: Groups<'a>,
    /// The groups read but not yet passed, `len` of them from `ring[head]` on, wrapping.
    ring: [Group; WINDOW],
    head: usize,
    len: usize,
    /// Every group of the text has been read.
    exhausted: bool,
    /// The group before `ring[head]`, if any.
    prev: Option<Prev>,
    /// The groups from the front on known to be joined one to the next, and their digits
    /// (counted up to [`MIN_DIGITS`]), so that a run is not counted again from each group.
    run_groups: usize,
    run_digits: usize,
    /// Fronts that start before this offset are not looked at as the start of a chain of
    /// single digits to pass at once (a look that failed holds for them too).
    no_chain_until: usize,
}

impl<'a> Scanner<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        Scanner {
            text,
            groups: Groups::new(text),
            ring: [NO_GROUP; WINDOW],
            head: 0,
            len: 0,
            exhausted: false,
            prev: None,
            run_groups: 0,
            run_digits: 0,
            no_chain_until: 0,
        }
    }

    /// The `i`-th group from the front, if it has been read.
    fn get(&self, i: usize) -> Option<&Group> {
        (i < self.len).then(|| &self.ring[(self.head + i) & (WINDOW - 1)])
    }

    fn get_mut(&mut self, i: usize) -> &mut Group {
        &mut self.ring[(self.head + i) & (WINDOW - 1)]
    }

    fn fill(&mut self) {
        while self.len < WINDOW && !self.exhausted {
            match self.groups.next() {
                Some(group) => {
                    self.ring[(self.head + self.len) & (WINDOW - 1)] = group;
                    self.len += 1;
                }
                None => self.exhausted = true,
            }
        }
    }

    /// Passes the first `n` groups; the last of them becomes `prev`.
    fn pass(&mut self, n: usize, masked: bool) {
        let last = self.get(n - 1).expect("passing groups that were read");
        self.prev = Some(Prev {
            len: last.len,
            end: last.end,
            masked,
        });
        if n < self.run_groups {
            for i in 0..n {
                self.run_digits -= self.ring[(self.head + i) & (WINDOW - 1)].len;
            }
            self.run_groups -= n;
        } else {
            self.run_groups = 0;
            self.run_digits = 0;
        }
        self.head = (self.head + n) & (WINDOW - 1);
        self.len -= n;
    }

    /// The group `i` if it is joined to the one before it by a gap, with that gap.
    fn joined(&self, i: usize) -> Option<(&Group, &Gap)> {
        let group = self.get(i)?;
        Some((group, group.gap_before.as_ref()?))
    }
}

impl Iterator for Scanner<'_> {
    type Item = CardMatch;

    fn next(&mut self) -> Option<CardMatch> {
        loop {
            self.fill();
            let &front = self.get(0)?;
            // A run with fewer digits than a card (most runs) holds none: pass it whole.
            let (mut n, mut digits) = if self.run_groups > 0 {
                (self.run_groups, self.run_digits)
            } else {
                (1, front.len)
            };
            while digits < MIN_DIGITS
                && let Some((group, _)) = self.joined(n)
            {
                digits += group.len;
                n += 1;
            }
            (self.run_groups, self.run_digits) = (n, digits);
            if digits < MIN_DIGITS && (n < self.len || self.exhausted) {
                let masked = self.get(n - 1)?.masked;
                self.pass(n, masked);
                continue;
            }
            if self.front_in_digit_chain() {
                if !self.pass_digit_chain() {
                    self.pass(1, false);
                }
                continue;
            }
            if !front.masked {
                self.mask_number_at_front();
            }
            if !self.get(0)?.masked
                && let Some((last, network, balance)) = self.longest_card_at_front()
            {
                let end_group = self.get(last)?;
                let start = match front.paren_before {
                    Some(open) if balance < 0 => open,
                    _ => front.start,
                };
                let end = match end_group.paren_after {
                    Some(close) if balance > 0 => close,
                    // Marks on the last digit (a keycap's) belong to it.
                    _ => normalise::end_of_marks(self.text, end_group.end),
                };
                // A card ends where it ends: what follows is read as if after a phone number.
                self.pass(last + 1, true);
                return Some(CardMatch {
                    start,
                    end,
                    network,
                });
            }
            let masked = self.get(0)?.masked;
            self.pass(1, masked);
        }
    }
}
