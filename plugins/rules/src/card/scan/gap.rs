//! Gaps: the separators between two groups ([`Gap`]), and what the gaps of a candidate
//! have in common ([`Gaps`]).

use super::chars::Sep;

/// The most separators a gap holds (a short HTML tag counts as one).
pub(super) const MAX_GAP: usize = 16;

/// The most separators a gap holds unless every gap of the number is alike.
const SHORT_GAP: usize = 4;

/// The separators between two groups.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Gap {
    /// How many separators.
    pub(super) len: u8,
    /// The separator, when there is exactly one.
    pub(super) only: Option<Sep>,
    /// The signature: the separators without parentheses and line breaks, each stretch of
    /// spaces read as one.
    sig: [Option<Sep>; MAX_GAP],
    sig_len: u8,
    pub(super) line_break: bool,
    pub(super) opens: u8,
    pub(super) closes: u8,
}

impl Gap {
    /// Adds a separator; false when the gap would then be too long to join two groups.
    pub(super) fn push(&mut self, sep: Sep) -> bool {
        if usize::from(self.len) == MAX_GAP {
            return false;
        }
        self.only = if self.len == 0 { Some(sep) } else { None };
        self.len += 1;
        match sep {
            Sep::Open => self.opens += 1,
            Sep::Close => self.closes += 1,
            Sep::LineBreak => self.line_break = true,
            Sep::Space
                if self.sig_len > 0
                    && self.sig[usize::from(self.sig_len) - 1] == Some(Sep::Space) => {}
            _ => {
                self.sig[usize::from(self.sig_len)] = Some(sep);
                self.sig_len += 1;
            }
        }
        true
    }

    fn signature(&self) -> &[Option<Sep>] {
        &self.sig[..usize::from(self.sig_len)]
    }

    /// A single space or a single dash.
    pub(super) fn is_simple(&self) -> bool {
        matches!(self.only, Some(Sep::Space | Sep::Dash))
    }

    fn is_single_space(&self) -> bool {
        self.only == Some(Sep::Space)
    }

    /// More separators than a gap holds unless every gap of the number is alike.
    fn is_long(&self) -> bool {
        usize::from(self.len) > SHORT_GAP
    }

    /// As many separators as `other`, with the same signature: gaps that look alike.
    pub(super) fn is_alike(&self, other: &Gap) -> bool {
        self.len == other.len
            && self.signature() == other.signature()
            && self.line_break == other.line_break
            && self.opens == other.opens
            && self.closes == other.closes
    }

    /// A gap that may join the groups of a 4-4-4-4 or 4-6-5 layout whatever its other gaps:
    /// no parenthesis, and one separator other than `:` repeated (`-----`, `......`, spaces,
    /// tabs or line breaks, which read as a single space or nothing), or only tags and spaces
    /// (`</td><td>`, `</b> <b>`, `&nbsp;`).
    pub(super) fn is_free(&self) -> bool {
        let sig = self.signature();
        self.opens == 0
            && self.closes == 0
            && (sig.iter().all(|s| matches!(s, Some(Sep::Tag | Sep::Space)))
                || sig
                    .iter()
                    .all(|s| *s == sig[0] && *s != Some(Sep::Punct(b':'))))
    }

    /// A gap between the digits of a number written digit by digit: spaces only (one or
    /// more, no line break), or a single dash, dot, slash or comma.
    pub(super) fn separates_digits(&self) -> bool {
        !self.line_break
            && (self.signature() == [Some(Sep::Space)]
                || matches!(
                    self.only,
                    Some(Sep::Dash | Sep::Dot | Sep::Slash | Sep::Comma)
                ))
    }

    /// A gap a phone number goes on over: at most one separator besides parentheses, a
    /// space, dash, dot, slash, underscore or middle dot, no line break.
    pub(super) fn continues_phone(&self) -> bool {
        !self.line_break
            && self.sig_len <= 1
            && !matches!(self.sig[0], Some(Sep::Comma | Sep::Punct(_) | Sep::Tag))
    }

    /// The single `/`, `.` or `-` between the parts of a date.
    pub(super) fn date_separator(&self) -> Option<Sep> {
        self.only
            .filter(|s| matches!(s, Sep::Slash | Sep::Dot | Sep::Dash))
    }
}

/// What the gaps of a candidate have in common.
#[derive(Debug, Clone, Copy)]
pub(super) struct Gaps<'g> {
    /// The signature of the first gap without a line break.
    first_sig: Option<&'g [Option<Sep>]>,
    /// Every gap without a line break has a signature of at most one separator.
    pub(super) all_short: bool,
    /// Every gap without a line break has the signature `first_sig`.
    pub(super) all_same: bool,
    /// The first gap.
    pub(super) first: Option<&'g Gap>,
    /// Every gap is alike the first.
    pub(super) all_alike: bool,
    /// Some gap is long.
    pub(super) any_long: bool,
    pub(super) all_simple: bool,
    all_single_space: bool,
    /// Every gap may join the groups of a 4-4-4-4 or 4-6-5 layout whatever the others are.
    pub(super) all_free: bool,
    /// How many gaps.
    pub(super) count: usize,
    /// The fourth gap, after the first four groups.
    pub(super) fourth: Option<&'g Gap>,
    /// Every fourth gap is alike the fourth, and every other gap alike the first: digits
    /// written one by one in groups of four.
    pub(super) in_fours: bool,
    /// Opening minus closing parentheses.
    pub(super) balance: i32,
}

impl<'g> Gaps<'g> {
    pub(super) const NONE: Gaps<'static> = Gaps {
        first_sig: None,
        all_short: true,
        all_same: true,
        first: None,
        all_alike: true,
        any_long: false,
        all_simple: true,
        all_single_space: true,
        all_free: true,
        count: 0,
        fourth: None,
        in_fours: true,
        balance: 0,
    };

    /// Whether `next`, the gap after the candidate, would continue its printing: without a
    /// parenthesis, a line break, a single character after gaps of single characters, the
    /// same signature, or a free gap ([`Gap::is_free`]).
    pub(super) fn continued_by(&self, next: &Gap) -> bool {
        if next.opens > 0 || next.closes > 0 {
            // A parenthesis closes or opens another part of the text.
            return false;
        }
        next.line_break
            || (self.all_short && next.signature().len() <= 1)
            || self.first_sig == Some(next.signature())
            || next.is_free()
    }

    pub(super) fn add(&mut self, gap: &'g Gap) {
        if !gap.line_break {
            let sig = gap.signature();
            self.all_short &= sig.len() <= 1;
            match self.first_sig {
                None => self.first_sig = Some(sig),
                Some(first) => self.all_same &= first == sig,
            }
        }
        match self.first {
            None => self.first = Some(gap),
            Some(first) => self.all_alike &= first.is_alike(gap),
        }
        self.count += 1;
        if self.count.is_multiple_of(4) {
            match self.fourth {
                None => self.fourth = Some(gap),
                Some(fourth) => self.in_fours &= fourth.is_alike(gap),
            }
        } else if let Some(first) = self.first {
            self.in_fours &= first.is_alike(gap);
        }
        self.all_free &= gap.is_free();
        self.any_long |= gap.is_long();
        self.all_simple &= gap.is_simple();
        self.all_single_space &= gap.is_single_space();
        self.balance += i32::from(gap.opens) - i32::from(gap.closes);
    }
}
