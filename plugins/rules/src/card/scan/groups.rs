//! Groups: the maximal runs of digits of a text ([`Group`]), read left to right with what
//! the scanner needs to know about their surroundings ([`Groups`]), IBANs and UUIDs marked.

use super::chars::{Class, Sep, classify, html_tag, space_entity};
use super::gap::Gap;
use crate::card::{MAX_DIGITS, iban, uuid};
use crate::normalise::{self, NormChar, NormChars};

/// A maximal run of digits, with what the scanner needs to know about its surroundings.
#[derive(Debug, Clone, Copy)]
pub(super) struct Group {
    /// Byte offset in the original text of the first digit.
    pub(super) start: usize,
    /// Byte offset just past the last digit.
    pub(super) end: usize,
    /// How many digits.
    pub(super) len: usize,
    /// The first digits (all of them when there are at most [`MAX_DIGITS`]).
    pub(super) digits: [u8; MAX_DIGITS],
    /// The gap that joins it to the group before, when they are in the same run.
    pub(super) gap_before: Option<Gap>,
    /// Right after `+` or `+(`.
    pub(super) plus_before: bool,
    /// The offset of a `(` right before the first digit.
    pub(super) paren_before: Option<usize>,
    /// The offset just past a `)` right after the last digit.
    pub(super) paren_after: Option<usize>,
    /// Part of a phone number, a date or an IBAN: never starts a candidate.
    pub(super) masked: bool,
}

pub(super) const NO_GROUP: Group = Group {
    start: 0,
    end: 0,
    len: 0,
    digits: [0; MAX_DIGITS],
    gap_before: None,
    plus_before: false,
    paren_before: None,
    paren_after: None,
    masked: false,
};

impl Group {
    pub(super) fn digits(&self) -> &[u8] {
        &self.digits[..self.len.min(MAX_DIGITS)]
    }

    /// The number the group reads as, for groups of at most four digits.
    pub(super) fn value(&self) -> u32 {
        self.digits().iter().fold(0, |v, &d| v * 10 + u32::from(d))
    }

    pub(super) fn first_digit(&self) -> u8 {
        self.digits[0]
    }
}

/// Reads the groups of a text, left to right.
#[derive(Debug, Clone)]
pub(super) struct Groups<'a> {
    pub(super) chars: NormChars<'a>,
    /// The separators read since the last group, while they may still join it to the next.
    pub(super) gap: Option<Gap>,
    /// The last three characters read, the latest first, and where the latest starts.
    pub(super) behind: [Option<char>; 3],
    behind_start: usize,
    /// Groups that start before this offset are part of an IBAN or a UUID.
    masked_until: usize,
    /// The last group looked at for a UUID, and where the hex digits before it begin.
    uuid_back: Option<(usize, usize)>,
    pub(super) text: &'a str,
}

impl<'a> Groups<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        Groups {
            chars: normalise::chars(text),
            gap: None,
            behind: [None; 3],
            behind_start: 0,
            masked_until: 0,
            uuid_back: None,
            text,
        }
    }

    fn remember(&mut self, c: NormChar) {
        self.behind = [Some(c.ch), self.behind[0], self.behind[1]];
        self.behind_start = c.start;
    }

    /// Remembers the last characters of `read`, original text that ends where the reader
    /// now is, as they normalise.
    fn remember_read(&mut self, read: &str) {
        let Some(last) = read.chars().next_back() else {
            return;
        };
        if read.len() >= 3 && read.as_bytes()[read.len() - 3..].is_ascii() {
            self.remember_ascii(&read[read.len() - 3..]);
            return;
        }
        if last >= '\u{370}' && normalise::is_plain_letter(last) {
            // It reads as letters, none of them ASCII. All that is asked of the characters
            // behind a group is whether they are `+`, `(`, ASCII letters or letters, so the
            // letter itself stands for each of them, whatever came before it.
            self.behind = [Some(last); 3];
            self.behind_start = self.chars.offset() - last.len_utf8();
            return;
        }
        let base = self.chars.offset() - read.len();
        let tail = read.char_indices().rev().nth(2).map_or(0, |(i, _)| i);
        for c in normalise::chars(&read[tail..]) {
            self.remember(NormChar {
                ch: c.ch,
                start: base + tail + c.start,
                end: base + tail + c.end,
            });
        }
    }

    /// Goes on reading from `end`, just past a group of one ASCII digit that is at least
    /// three ASCII characters into the text and is not part of an IBAN or UUID, as if the
    /// groups up to it had been read.
    pub(super) fn resume_after_digit(&mut self, end: usize) {
        self.chars.jump_to(end);
        self.gap = Some(Gap::default());
        self.uuid_back = None;
        self.remember_ascii(&self.text[end - 3..end]);
    }

    /// Remembers the ASCII characters `read`, which end where the reader now is.
    fn remember_ascii(&mut self, read: &str) {
        let end = self.chars.offset();
        let start = end - read.len();
        for (i, b) in read.bytes().enumerate().skip(read.len().saturating_sub(3)) {
            self.remember(NormChar {
                ch: char::from(b),
                start: start + i,
                end: start + i + 1,
            });
        }
    }
}

impl Iterator for Groups<'_> {
    type Item = Group;

    fn next(&mut self) -> Option<Group> {
        let (first, digit) = loop {
            if self.gap.is_none() {
                // Nothing before the next digit matters but the last characters read, and
                // letters are never digits or separators.
                let read = self.chars.pass_over(|c| {
                    if c.is_ascii() {
                        !c.is_ascii_digit() && c != '&' && c != '%'
                    } else {
                        normalise::is_plain_letter(c)
                    }
                });
                self.remember_read(read);
            }
            let c = self.chars.next()?;
            match classify(c.ch) {
                Class::Digit(d) => break (c, d),
                Class::Sep(Sep::Punct(b'+')) if self.gap.is_some_and(|g| g.len > 0) => {
                    // A `+` that does not follow a digit: an international prefix, which
                    // starts another number.
                    self.gap = None;
                }
                Class::Sep(Sep::Punct(b'&' | b'%'))
                    if let Some((after, space)) = space_entity(c, self.chars.clone()) =>
                {
                    self.gap = self.gap.and_then(|mut g| g.push(Sep::Space).then_some(g));
                    self.chars = after;
                    self.remember(space);
                    continue;
                }
                Class::Sep(Sep::Punct(b'<'))
                    if self.gap.is_some()
                        && let Some((after, close)) = html_tag(self.chars.clone()) =>
                {
                    self.gap = self.gap.and_then(|mut g| g.push(Sep::Tag).then_some(g));
                    self.chars = after;
                    self.remember(close);
                    continue;
                }
                Class::Sep(sep) => {
                    self.gap = self.gap.and_then(|mut g| g.push(sep).then_some(g));
                }
                Class::Other => self.gap = None,
            }
            self.remember(c);
        };
        let behind = self.behind;
        let mut group = Group {
            start: first.start,
            end: first.end,
            len: 1,
            gap_before: self.gap.take(),
            plus_before: (behind[0] == Some('+') && !behind[1].is_some_and(|c| c.is_ascii_digit()))
                || (behind[0] == Some('(')
                    && behind[1] == Some('+')
                    && !behind[2].is_some_and(|c| c.is_ascii_digit())),
            paren_before: (behind[0] == Some('(')).then_some(self.behind_start),
            ..NO_GROUP
        };
        group.digits[0] = digit;
        // Two letters that start a word, then a digit: perhaps an IBAN.
        if let [Some(l2), Some(l1), before] = behind
            && l1.is_ascii_alphabetic()
            && l2.is_ascii_alphabetic()
            && !before.is_some_and(char::is_alphanumeric)
            && let Some(end) = iban::end(l1, l2, first, self.chars.clone())
        {
            self.masked_until = end;
        }
        self.remember(first);
        loop {
            let read = self.chars.skip_ascii(|b| b.is_ascii_digit());
            if !read.is_empty() {
                let room = MAX_DIGITS.saturating_sub(group.len);
                for (i, b) in read.bytes().take(room).enumerate() {
                    group.digits[group.len + i] = b - b'0';
                }
                group.len += read.len();
                group.end = self.chars.offset();
                self.remember_ascii(read);
            }
            let mut ahead = self.chars.clone();
            let Some(c) = ahead.next() else { break };
            match classify(c.ch) {
                Class::Digit(d) => {
                    if group.len < MAX_DIGITS {
                        group.digits[group.len] = d;
                    }
                    group.len += 1;
                    group.end = c.end;
                    self.chars = ahead;
                    self.remember(c);
                }
                class => {
                    if class == Class::Sep(Sep::Close) {
                        group.paren_after = Some(c.end);
                    }
                    break;
                }
            }
        }
        if group.start >= self.masked_until
            && let Some(end) =
                uuid::around_after(self.text, group.start, group.end, &mut self.uuid_back)
        {
            self.masked_until = end;
        }
        group.masked = group.start < self.masked_until;
        self.gap = Some(Gap::default());
        Some(group)
    }
}
