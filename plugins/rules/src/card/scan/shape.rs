//! The shapes of a card number: the printed layouts of its groups, irregular groupings and
//! numbers written digit by digit, and the longest candidate at the front that has one.

use super::Scanner;
use super::chars::Sep;
use super::gap::{Gap, Gaps};
use crate::card::{MAX_DIGITS, MIN_DIGITS, Network, network_of};

/// The most groups of an irregular grouping.
const MAX_IRREGULAR_GROUPS: usize = 8;

/// Whether group lengths `lens` are a printed layout of a card number.
fn is_layout(lens: &[u8]) -> bool {
    matches!(
        lens,
        [4, 4, 4]
            | [4, 4, 5]
            | [4, 6, 4]
            | [4, 6, 5]
            | [4, 5, 6]
            | [4, 4, 4, 1..=4]
            | [4, 4, 4, 4, 1..=3]
    )
}

/// Whether group lengths `lens` are a layout specific enough that each of its gaps may be
/// any gap (one to [`MAX_GAP`](super::gap::MAX_GAP) separators, tags and entities),
/// whatever the others are: 4-4-4-4 and 4-6-5.
fn is_free_gap_layout(lens: &[u8]) -> bool {
    matches!(lens, [4, 4, 4, 4] | [4, 6, 5])
}

/// Whether a printed layout may be followed by more groups of its run: the layouts that do
/// not end in a short group.
fn is_complete_layout(lens: &[u8]) -> bool {
    matches!(
        lens,
        [4, 4, 4, 4] | [4, 4, 5] | [4, 6, 4] | [4, 6, 5] | [4, 5, 6]
    )
}

/// Whether more groups after `lens` may make a printed layout.
fn may_become_layout(lens: &[u8]) -> bool {
    matches!(
        lens,
        [4] | [4, 4] | [4, 5] | [4, 6] | [4, 4, 4] | [4, 4, 4, 4]
    )
}

impl Scanner<'_> {
    /// Whether the candidate made of the groups `0..=last` has one of the shapes of a card
    /// number, given its group lengths and gaps.
    fn has_card_shape(&self, lens: &[u8], gaps: &Gaps<'_>, last: usize) -> bool {
        if lens.len() == 1 {
            return true;
        }
        let Some(front) = self.get(0) else {
            return false;
        };
        let next = self.joined(last + 1);
        let front_gap = front.gap_before;
        let prev_unmasked = self.prev.filter(|p| !p.masked);
        // Printed layouts, not started in the middle of a number printed in fours.
        if is_layout(lens)
            && (((gaps.all_short || gaps.all_same) && (gaps.all_alike || !gaps.any_long))
                || (is_free_gap_layout(lens) && gaps.all_free))
            && (is_complete_layout(lens) || !next.is_some_and(|(_, gap)| gaps.continued_by(gap)))
            && !(prev_unmasked.is_some_and(|p| p.len == 4)
                && front_gap.is_some_and(|g| !g.line_break && gaps.continued_by(&g)))
            && !(gaps
                .first
                .is_some_and(|first| first.only == Some(Sep::Punct(b':')))
                && (front_gap.is_some_and(|g| g.only == Some(Sep::Punct(b':')))
                    || next.is_some_and(|(_, g)| g.only == Some(Sep::Punct(b':')))))
        {
            return true;
        }
        // Irregular grouping: on its own among simple gaps; more than four groups (of two
        // digits or more) only with one and the same simple gap.
        if (lens.len() <= 4
            || (lens.len() <= MAX_IRREGULAR_GROUPS
                && gaps.all_alike
                && (lens.iter().all(|&l| l >= 2) || lens == [1, 3, 4, 4, 4])))
            && gaps.all_simple
            && !(front_gap.is_some_and(|g| g.len == 1 || g.is_free()) && prev_unmasked.is_some())
            && next.is_none_or(|(_, gap)| gap.len != 1 && !gap.is_free())
        {
            return true;
        }
        // Digit by digit, with one and the same gap between the digits, on its own.
        let Some(by_digit_gap) = gaps.first else {
            return false;
        };
        if let Some(fourth) = gaps.fourth
            && lens.len() == 16
            && lens.iter().all(|&l| l == 1)
            && gaps.in_fours
            && by_digit_gap.separates_digits()
            && !fourth.is_alike(by_digit_gap)
            && fourth.opens == 0
            && fourth.closes == 0
            && !(front_gap.is_some_and(|g| g.is_alike(by_digit_gap) || g.is_alike(fourth))
                && self.prev.is_some_and(|p| p.len == 1))
            && !next.is_some_and(|(group, gap)| {
                (gap.is_alike(by_digit_gap) || gap.is_alike(fourth)) && group.len == 1
            })
        {
            return true;
        }
        lens.iter().all(|&l| l == 1)
            && gaps.all_alike
            && by_digit_gap.separates_digits()
            && !(front_gap.is_some_and(|g| g.is_alike(by_digit_gap))
                && self.prev.is_some_and(|p| p.len == 1))
            && !next.is_some_and(|(group, gap)| gap.is_alike(by_digit_gap) && group.len == 1)
    }

    /// The longest candidate starting at the front that is a card number: the index of its
    /// last group, its network, and the balance of parentheses in its gaps.
    pub(super) fn longest_card_at_front(&self) -> Option<(usize, Network, i32)> {
        let mut digits = [0u8; MAX_DIGITS];
        let mut count = 0;
        let mut lens = [0u8; MAX_DIGITS];
        let mut gaps = Gaps::NONE;
        let mut best = None;
        let mut all_single_digits = true;
        let front_gap = self.get(0)?.gap_before;
        // Whether the shapes that must stand on their own still may.
        let irregular_may = !(front_gap.is_some_and(|g| g.len == 1 || g.is_free())
            && self.prev.is_some_and(|p| !p.masked));
        // Digit by digit: not when the front is the next digit of a chain.
        let mut by_digit_may = true;
        // Digit by digit in fours: the same, and only while what the shape asks of its first
        // and fourth gaps, fixed once they are read, holds (see `has_card_shape`).
        let mut fours_may = true;
        let after_single_digit = self.prev.is_some_and(|p| p.len == 1);
        for i in 0..self.len {
            let group = self.get(i)?;
            if i > 0 {
                let Some(gap) = &group.gap_before else { break };
                if group.masked {
                    break;
                }
                gaps.add(gap);
                if i == 1 {
                    by_digit_may =
                        !(front_gap.is_some_and(|g| g.is_alike(gap)) && after_single_digit);
                    fours_may = by_digit_may && gap.separates_digits();
                }
                if i == 4
                    && let (Some(first), Some(fourth)) = (gaps.first, gaps.fourth)
                {
                    fours_may &= !fourth.is_alike(first)
                        && fourth.opens == 0
                        && fourth.closes == 0
                        && !(front_gap.is_some_and(|g| g.is_alike(fourth)) && after_single_digit);
                }
            }
            if count + group.len > MAX_DIGITS {
                break;
            }
            digits[count..count + group.len].copy_from_slice(group.digits());
            count += group.len;
            lens[i] = group.len as u8;
            all_single_digits &= group.len == 1;
            let lens = &lens[..=i];
            if count >= MIN_DIGITS
                && self.has_card_shape(lens, &gaps, i)
                && let Some(network) = network_of(&digits[..count])
            {
                best = Some((i, network, gaps.balance));
            }
            let may_grow = may_become_layout(lens)
                || (irregular_may && lens.len() < MAX_IRREGULAR_GROUPS && gaps.all_simple)
                || (by_digit_may
                    && all_single_digits
                    && gaps.all_alike
                    && gaps.first.is_none_or(Gap::separates_digits))
                || (fours_may
                    && all_single_digits
                    && lens.len() < 16
                    && gaps.in_fours
                    && gaps.first.is_none_or(Gap::separates_digits));
            if !may_grow {
                break;
            }
        }
        best
    }
}
