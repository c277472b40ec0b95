//! Chains of single digits (`4 4 4 ...`), which start no card: a long chain whose gaps
//! repeat is passed at once rather than group by group.

use super::{Prev, Scanner, WINDOW};
use crate::card::MAX_DIGITS;

/// The most gaps in the repeating pattern of a chain of single digits passed at once
/// (`Scanner::pass_digit_chain`): fewer than the eleven gaps of the shortest number written
/// digit by digit, so that the gap before such a number repeats one of its own.
const MAX_CHAIN_PERIOD: usize = 8;

/// How many digits at the end of a chain of single digits are read one by one: a candidate
/// spans at most [`MAX_DIGITS`] groups, and the group after it is looked at.
const CHAIN_TAIL: usize = MAX_DIGITS + 1;

/// Whether gaps that repeat in `pattern`, between single digits, keep every group of the chain
/// from being part of a phone number, an IBAN or a UUID, and read the same wherever they are:
/// they are ASCII without digits, `+` (an international prefix), `&` or `%` (character
/// references, which may hold digits), they do not end with a letter (two letters and a
/// digit may start an IBAN), and the chain holds no eight hex digits in a row (a UUID's
/// first group).
fn chain_gaps_hold_no_number(pattern: &[&[u8]]) -> bool {
    let plain = pattern.iter().all(|gap| {
        gap.last().is_some_and(|b| !b.is_ascii_alphabetic())
            && gap
                .iter()
                .all(|&b| b.is_ascii() && !b.is_ascii_digit() && !matches!(b, b'+' | b'&' | b'%'))
    });
    // Two rounds of the pattern, each gap after a digit, cover every run of hex digits.
    let mut run = 0;
    let mut longest = 0;
    for gap in pattern.iter().chain(pattern) {
        run += 1;
        longest = longest.max(run);
        for &b in *gap {
            run = if b.is_ascii_hexdigit() { run + 1 } else { 0 };
            longest = longest.max(run);
        }
    }
    plain && longest < 8
}

impl Scanner<'_> {
    /// Whether the front is a single digit between two single digits, joined to both by alike
    /// gaps of one separator, or free gaps (`4 4 4`, `4-4-4`, `4</b><b>4</b><b>4`): it starts
    /// nothing, and is passed without looking further.
    ///
    /// Single digits only make numbers written digit by digit (the layouts start with four
    /// digits, the irregular groupings hold groups of two digits or more, or a first group
    /// split off a group of three), which must not be joined to a single digit before them by
    /// a gap alike their first; the irregular groupings must not be joined to an unmasked
    /// group before them by a gap of one separator or a free gap either. Nor is the front a
    /// phone number (not after a `+`, not of two digits or more), a date (no date separator
    /// unless the gap is simple, which starts no number) or a North American number (a group
    /// of three digits after it).
    pub(super) fn front_in_digit_chain(&self) -> bool {
        let (Some(front), Some((next, next_gap))) = (self.get(0), self.joined(1)) else {
            return false;
        };
        let Some(gap) = &front.gap_before else {
            return false;
        };
        front.len == 1
            && next.len == 1
            && !front.masked
            && !front.plus_before
            && self.prev.is_some_and(|p| p.len == 1 && !p.masked)
            && (gap.len == 1 || gap.is_free())
            && (gap.is_simple() || gap.date_separator().is_none())
            && next_gap.is_alike(gap)
    }

    /// Passes at once the single digits of a long chain of them whose gaps repeat, byte for
    /// byte, with a period of at most [`MAX_CHAIN_PERIOD`] gaps (`4 4 4 ...`, `4-4-4-...`,
    /// `4 1 1 1 - 1 1 1 1 - ...`), up to the last [`CHAIN_TAIL`] of them, which are read as
    /// usual. The window must be full of the chain's digits, the front joined to a single digit
    /// before it; true when the digits were passed.
    ///
    /// No group of such a chain starts a card: single digits make only the numbers written
    /// digit by digit; those of 12 or more digits in one and the same gap, or in fours, need
    /// at least eleven gaps of one or two kinds, which then (the gaps repeating with a shorter
    /// period) also join their first digit to the single digit before it, which rules them
    /// out; and a chain of single digits holds no phone number (its gaps hold no `+`, its
    /// groups are not of two digits or more), no date (no part of two or four digits), no
    /// IBAN (no two letters right before a digit) and no UUID (no eight hex digits in a row).
    /// Every candidate of the groups passed lies in the chain, with the group after it: the
    /// last groups, whose candidates may reach past the chain, are read one by one.
    pub(super) fn pass_digit_chain(&mut self) -> bool {
        let Some(prev) = self.prev else { return false };
        let Some(front) = self.get(0) else {
            return false;
        };
        if self.len < WINDOW || front.start < self.no_chain_until {
            return false;
        }
        let bytes = self.text.as_bytes();
        // The window's groups, each a single ASCII digit not part of another number, joined to
        // the one before it (the front to `prev`).
        let mut ends = [0; WINDOW];
        let mut starts = [0; WINDOW];
        for i in 0..WINDOW {
            let g = &self.ring[(self.head + i) & (WINDOW - 1)];
            // (Masked groups are passed as they are, and mask nothing further.)
            if g.len != 1 || g.end - g.start != 1 || g.plus_before || g.gap_before.is_none() {
                self.no_chain_until = g.end;
                return false;
            }
            (starts[i], ends[i]) = (g.start, g.end);
        }
        // Gap `i` is the one before group `i` of the window.
        let gap = |i: usize| &bytes[if i == 0 { prev.end } else { ends[i - 1] }..starts[i]];
        let Some(period) =
            (1..=MAX_CHAIN_PERIOD).find(|&k| (k..WINDOW).all(|i| gap(i) == gap(i - k)))
        else {
            self.no_chain_until = ends[WINDOW - 1];
            return false;
        };
        let pattern: [&[u8]; MAX_CHAIN_PERIOD] = std::array::from_fn(|i| gap(i % period));
        let pattern = &pattern[..period];
        if !chain_gaps_hold_no_number(pattern) {
            self.no_chain_until = ends[WINDOW - 1];
            return false;
        }
        // Read on, byte for byte, while the chain goes on: the end of each of its last
        // `CHAIN_TAIL + 1` digits, and how many were read after the window.
        let mut tail = [0; CHAIN_TAIL + 1];
        let mut at = ends[WINDOW - 1];
        let mut more = 0;
        while let Some(unit) = bytes.get(at..at + pattern[(WINDOW + more) % period].len() + 1)
            && let Some((&digit, gap)) = unit.split_last()
            && digit.is_ascii_digit()
            && gap == pattern[(WINDOW + more) % period]
        {
            at += unit.len();
            tail[more % tail.len()] = at;
            more += 1;
        }
        if more <= CHAIN_TAIL {
            self.no_chain_until = ends[WINDOW - 1];
            return false;
        }
        // Pass everything up to the digit `CHAIN_TAIL` digits before the last one read.
        let last = more - 1 - CHAIN_TAIL;
        let end = tail[last % tail.len()];
        self.head = 0;
        self.len = 0;
        self.run_groups = 0;
        self.run_digits = 0;
        self.prev = Some(Prev {
            len: 1,
            end,
            masked: false,
        });
        self.groups.resume_after_digit(end);
        true
    }
}
