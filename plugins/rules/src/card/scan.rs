//! The scanner behind [`super::card_numbers`]: normalised characters are read into groups,
//! a window of groups is held, and candidates are tried at its front. The rules are those of
//! the module documentation of [`super`].

use super::{CardMatch, MAX_DIGITS, MIN_DIGITS, Network, iban, network_of, uuid};
use crate::normalise::{self, NormChar, NormChars};
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// The most separators a gap holds (a short HTML tag counts as one).
pub(super) const MAX_GAP: usize = 16;

/// The most separators a gap holds unless every gap of the number is alike.
const SHORT_GAP: usize = 4;

/// The most letters in the name of an HTML tag read as a separator.
const MAX_TAG_NAME: usize = 10;

/// The most characters of an HTML tag's attributes, or of a comment.
const MAX_TAG_REST: usize = 64;

/// How many groups are held at a time (a power of two): a candidate spans at most 19 groups,
/// and one more is looked at after it.
const WINDOW: usize = 32;

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

/// A phone number has at most this many digits (E.164).
const MAX_PHONE_DIGITS: usize = 15;

/// What a normalised character is to the scanner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Class {
    Digit(u8),
    Sep(Sep),
    Other,
}

/// The kinds of separator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Sep {
    Space,
    LineBreak,
    Dash,
    Dot,
    Comma,
    Slash,
    Underscore,
    MiddleDot,
    Open,
    Close,
    /// Any other ASCII punctuation or symbol: `:` `+` `|` `*` `\\` `;` `~` `#` `'` `"`
    /// `[` `]` `{` `}` `<` `>` ...
    Punct(u8),
    /// A short HTML tag, `<b>` or `</td>`.
    Tag,
}

/// The class of a normalised character.
#[inline]
pub(super) fn classify(c: char) -> Class {
    match ASCII_CLASSES.get(c as usize) {
        Some(&class) => class,
        None => classify_non_ascii(c),
    }
}

/// The classes of the ASCII characters.
const ASCII_CLASSES: [Class; 128] = {
    let mut classes = [Class::Other; 128];
    let mut b = 0;
    while b < 128 {
        classes[b] = classify_ascii(b as u8);
        b += 1;
    }
    classes
};

const fn classify_ascii(b: u8) -> Class {
    match b {
        b'0'..=b'9' => Class::Digit(b - b'0'),
        b'\n' | b'\r' | 0x0b | 0x0c => Class::Sep(Sep::LineBreak),
        b' ' | b'\t' => Class::Sep(Sep::Space),
        b'-' => Class::Sep(Sep::Dash),
        b'.' => Class::Sep(Sep::Dot),
        b',' => Class::Sep(Sep::Comma),
        b'/' => Class::Sep(Sep::Slash),
        b'_' => Class::Sep(Sep::Underscore),
        b'(' => Class::Sep(Sep::Open),
        b')' => Class::Sep(Sep::Close),
        _ if b.is_ascii_punctuation() => Class::Sep(Sep::Punct(b)),
        _ => Class::Other,
    }
}

#[inline(never)]
fn classify_non_ascii(c: char) -> Class {
    match c {
        '\u{85}' | '\u{2028}' | '\u{2029}' => Class::Sep(Sep::LineBreak),
        '\u{2212}' => Class::Sep(Sep::Dash),
        '\u{3001}' => Class::Sep(Sep::Comma),
        '\u{b7}' | '\u{2022}' | '\u{2027}' | '\u{2219}' | '\u{30fb}' => Class::Sep(Sep::MiddleDot),
        _ if c.is_whitespace() => Class::Sep(Sep::Space),
        _ if !normalise::is_plain_letter(c)
            && c.general_category() == GeneralCategory::DashPunctuation =>
        {
            Class::Sep(Sep::Dash)
        }
        _ => Class::Other,
    }
}

/// The separators between two groups.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Gap {
    /// How many separators.
    len: u8,
    /// The separator, when there is exactly one.
    only: Option<Sep>,
    /// The signature: the separators without parentheses and line breaks, each stretch of
    /// spaces read as one.
    sig: [Option<Sep>; MAX_GAP],
    sig_len: u8,
    line_break: bool,
    opens: u8,
    closes: u8,
}

impl Gap {
    /// Adds a separator; false when the gap would then be too long to join two groups.
    fn push(&mut self, sep: Sep) -> bool {
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
    fn is_simple(&self) -> bool {
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
    fn is_alike(&self, other: &Gap) -> bool {
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
    fn is_free(&self) -> bool {
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
    fn separates_digits(&self) -> bool {
        !self.line_break
            && (self.signature() == [Some(Sep::Space)]
                || matches!(
                    self.only,
                    Some(Sep::Dash | Sep::Dot | Sep::Slash | Sep::Comma)
                ))
    }

    /// A gap a phone number goes on over: at most one separator besides parentheses, a
    /// space, dash, dot, slash, underscore or middle dot, no line break.
    fn continues_phone(&self) -> bool {
        !self.line_break
            && self.sig_len <= 1
            && !matches!(self.sig[0], Some(Sep::Comma | Sep::Punct(_) | Sep::Tag))
    }

    /// The single `/`, `.` or `-` between the parts of a date.
    fn date_separator(&self) -> Option<Sep> {
        self.only
            .filter(|s| matches!(s, Sep::Slash | Sep::Dot | Sep::Dash))
    }
}

/// A maximal run of digits, with what the scanner needs to know about its surroundings.
#[derive(Debug, Clone, Copy)]
pub(super) struct Group {
    /// Byte offset in the original text of the first digit.
    start: usize,
    /// Byte offset just past the last digit.
    end: usize,
    /// How many digits.
    len: usize,
    /// The first digits (all of them when there are at most [`MAX_DIGITS`]).
    digits: [u8; MAX_DIGITS],
    /// The gap that joins it to the group before, when they are in the same run.
    gap_before: Option<Gap>,
    /// Right after `+` or `+(`.
    plus_before: bool,
    /// The offset of a `(` right before the first digit.
    paren_before: Option<usize>,
    /// The offset just past a `)` right after the last digit.
    paren_after: Option<usize>,
    /// Part of a phone number, a date or an IBAN: never starts a candidate.
    masked: bool,
}

const NO_GROUP: Group = Group {
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
    fn digits(&self) -> &[u8] {
        &self.digits[..self.len.min(MAX_DIGITS)]
    }

    /// The number the group reads as, for groups of at most four digits.
    fn value(&self) -> u32 {
        self.digits().iter().fold(0, |v, &d| v * 10 + u32::from(d))
    }

    fn first_digit(&self) -> u8 {
        self.digits[0]
    }
}

/// Reads the groups of a text, left to right.
#[derive(Debug, Clone)]
struct Groups<'a> {
    chars: NormChars<'a>,
    /// The separators read since the last group, while they may still join it to the next.
    gap: Option<Gap>,
    /// The last three characters read, the latest first, and where the latest starts.
    behind: [Option<char>; 3],
    behind_start: usize,
    /// Groups that start before this offset are part of an IBAN or a UUID.
    masked_until: usize,
    /// The last group looked at for a UUID, and where the hex digits before it begin.
    uuid_back: Option<(usize, usize)>,
    text: &'a str,
}

impl<'a> Groups<'a> {
    fn new(text: &'a str) -> Self {
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
    fn resume_after_digit(&mut self, end: usize) {
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

/// Reads a short HTML tag or comment from `chars`, which are just past its `<`, and returns
/// the reader just past its `>`: a tag is an optional `/`, one to [`MAX_TAG_NAME`] ASCII
/// letters, then either an optional `/` and `>` (`<b>`, `</td>`, `<br/>`), or whitespace and
/// at most [`MAX_TAG_REST`] characters, none a digit or `<`, up to the first `>`
/// (`<span class="x">`); a comment is `<!--`, at most [`MAX_TAG_REST`] characters, none a
/// digit or `<`, and `-->`.
fn html_tag(mut chars: NormChars<'_>) -> Option<(NormChars<'_>, NormChar)> {
    let mut c = chars.next()?;
    if c.ch == '!' {
        if chars.next()?.ch != '-' || chars.next()?.ch != '-' {
            return None;
        }
        let mut dashes = 0;
        for _ in 0..=MAX_TAG_REST + 2 {
            let c = chars.next()?;
            match c.ch {
                '>' if dashes >= 2 => return Some((chars, c)),
                '-' => dashes += 1,
                '<' => return None,
                ch if matches!(classify(ch), Class::Digit(_)) => return None,
                _ => dashes = 0,
            }
        }
        return None;
    }
    if c.ch == '/' {
        c = chars.next()?;
    }
    let mut letters = 0;
    while c.ch.is_ascii_alphabetic() {
        letters += 1;
        if letters > MAX_TAG_NAME {
            return None;
        }
        c = chars.next()?;
    }
    if letters == 0 {
        return None;
    }
    if c.ch.is_ascii_whitespace() {
        for _ in 0..MAX_TAG_REST {
            c = chars.next()?;
            match c.ch {
                '>' => return Some((chars, c)),
                '<' => return None,
                ch if matches!(classify(ch), Class::Digit(_)) => return None,
                _ => {}
            }
        }
        return None;
    }
    if c.ch == '/' {
        c = chars.next()?;
    }
    (c.ch == '>').then_some((chars, c))
}

/// The HTML character references and percent-encodings read as a space, without their
/// first character (`&` or `%`).
const SPACE_ENTITIES: &[&str] = &[
    "nbsp;", "ensp;", "emsp;", "thinsp;", "#32;", "#160;", "#x20;", "#xa0;", "20",
];

/// Reads an HTML character reference for a space (`&nbsp;`, `&#32;`, `&#160;`, `&#x20;`, ...)
/// or a percent-encoded space (`%20`) from `chars`, which are just past its `&` or `%`, and
/// returns the reader just past it and a space that stands for it.
fn space_entity(first: NormChar, chars: NormChars<'_>) -> Option<(NormChars<'_>, NormChar)> {
    SPACE_ENTITIES
        .iter()
        .filter(|e| (first.ch == '%') != e.ends_with(';'))
        .find_map(|e| {
            let mut ahead = chars.clone();
            let mut last = first;
            for b in e.bytes() {
                let c = ahead.next()?;
                if !c.ch.eq_ignore_ascii_case(&char::from(b)) {
                    return None;
                }
                last = c;
            }
            Some((
                ahead,
                NormChar {
                    ch: ' ',
                    start: last.start,
                    end: last.end,
                },
            ))
        })
}

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

/// What the gaps of a candidate have in common.
#[derive(Debug, Clone, Copy)]
struct Gaps<'g> {
    /// The signature of the first gap without a line break.
    first_sig: Option<&'g [Option<Sep>]>,
    /// Every gap without a line break has a signature of at most one separator.
    all_short: bool,
    /// Every gap without a line break has the signature `first_sig`.
    all_same: bool,
    /// The first gap.
    first: Option<&'g Gap>,
    /// Every gap is alike the first.
    all_alike: bool,
    /// Some gap is long.
    any_long: bool,
    all_simple: bool,
    all_single_space: bool,
    /// Every gap may join the groups of a 4-4-4-4 or 4-6-5 layout whatever the others are.
    all_free: bool,
    /// How many gaps.
    count: usize,
    /// The fourth gap, after the first four groups.
    fourth: Option<&'g Gap>,
    /// Every fourth gap is alike the fourth, and every other gap alike the first: digits
    /// written one by one in groups of four.
    in_fours: bool,
    /// Opening minus closing parentheses.
    balance: i32,
}

impl<'g> Gaps<'g> {
    const NONE: Gaps<'static> = Gaps {
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
    fn continued_by(&self, next: &Gap) -> bool {
        if next.opens > 0 || next.closes > 0 {
            // A parenthesis closes or opens another part of the text.
            return false;
        }
        next.line_break
            || (self.all_short && next.signature().len() <= 1)
            || self.first_sig == Some(next.signature())
            || next.is_free()
    }

    fn add(&mut self, gap: &'g Gap) {
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
/// any gap (one to [`MAX_GAP`] separators, tags and entities), whatever the others are:
/// 4-4-4-4 and 4-6-5.
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

    /// Marks the phone number, or date, that starts at the front, if one does.
    fn mask_number_at_front(&mut self) {
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

    fn mask(&mut self, n: usize) {
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
    fn front_in_digit_chain(&self) -> bool {
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
    fn pass_digit_chain(&mut self) -> bool {
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
    fn longest_card_at_front(&self) -> Option<(usize, Network, i32)> {
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
