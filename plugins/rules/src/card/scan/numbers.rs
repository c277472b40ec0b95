//! Other numbers at the front of the window: phone numbers, dates and North American
//! numbers, whose groups are masked so that they start no card.

use super::Scanner;
use super::groups::Group;

/// A phone number has at most this many digits (E.164).
const MAX_PHONE_DIGITS: usize = 15;

impl Scanner<'_> {
    /// Marks the phone number, or date, that starts at the front, if one does.
    pub(super) fn mask_number_at_front(&mut self) {
        let Some(&front) = self.get(0) else { return };
        // A number starts a run or follows a gap that is not simple (`, `, ` / `, a line break).
        let number_start = front.gap_before.is_none_or(|g| !g.is_simple());
        if number_start && self.is_date_at_front() {
            self.mask(3);
        } else if front.plus_before {
            self.mask_phone(10);
        } else if number_start && (2..=5).contains(&front.len) && front.first_digit() == 0 {
            self.mask_phone(if front.digits[1] == 0 { 12 } else { 10 });
        } else if number_start && let Some(n) = self.north_american_at_front() {
            self.mask(n);
        }
    }

    pub(super) fn mask(&mut self, n: usize) {
        for i in 0..n {
            self.get_mut(i).masked = true;
        }
    }

    /// Masks a phone number from the front on: groups joined by gaps a phone number goes on
    /// over, while it has fewer than `until` digits and at most [`MAX_PHONE_DIGITS`].
    fn mask_phone(&mut self, until: usize) {
        let mut digits = self.get(0).map_or(0, |g| g.len);
        let mut n = 1;
        while digits < until
            && let Some((group, gap)) = self.joined(n)
            && gap.continues_phone()
            && digits + group.len <= MAX_PHONE_DIGITS
        {
            digits += group.len;
            n += 1;
        }
        self.mask(n);
    }

    fn is_date_at_front(&self) -> bool {
        let (Some(a), Some((b, g1)), Some((c, g2))) = (self.get(0), self.joined(1), self.joined(2))
        else {
            return false;
        };
        let day = |g: &Group| g.len <= 2 && (1..=31).contains(&g.value());
        let year = |g: &Group| g.len == 4 && (1900..=2099).contains(&g.value());
        // A fourth part joined by the same separator: not a date.
        let fourth = self
            .joined(3)
            .is_some_and(|(_, g3)| g3.date_separator() == g1.date_separator());
        g1.date_separator().is_some()
            && g1.date_separator() == g2.date_separator()
            && !fourth
            && ((day(a) && day(b) && (c.len == 2 || year(c))) || (year(a) && day(b) && day(c)))
    }

    /// How many groups a North American number at the front spans: 3-3-4 digits, the first
    /// group starting with 2 to 9, optionally after a group `1`.
    fn north_american_at_front(&self) -> Option<usize> {
        let front = self.get(0)?;
        let skip = usize::from(front.len == 1 && front.first_digit() == 1);
        let area = self.get(skip)?;
        if area.len != 3 || area.first_digit() < 2 {
            return None;
        }
        for (i, len) in [(skip + 1, 3), (skip + 2, 4)] {
            let (group, gap) = self.joined(i)?;
            if group.len != len || !gap.continues_phone() {
                return None;
            }
        }
        if skip == 1 && !self.joined(1)?.1.continues_phone() {
            return None;
        }
        Some(skip + 3)
    }
}
