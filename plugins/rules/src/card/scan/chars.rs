//! The scanner's reading of characters: what each normalised character is (a digit, a
//! separator of some kind, or something else), and the markup read as one separator (a
//! short HTML tag or comment) or as a space (a character reference, `%20`).

use crate::normalise::{self, NormChar, NormChars};
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// The most letters in the name of an HTML tag read as a separator.
const MAX_TAG_NAME: usize = 10;

/// The most characters of an HTML tag's attributes, or of a comment.
const MAX_TAG_REST: usize = 64;

/// What a normalised character is to the scanner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Class {
    Digit(u8),
    Sep(Sep),
    Other,
}

/// The kinds of separator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sep {
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
pub(crate) fn classify(c: char) -> Class {
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

/// Reads a short HTML tag or comment from `chars`, which are just past its `<`, and returns
/// the reader just past its `>`: a tag is an optional `/`, one to [`MAX_TAG_NAME`] ASCII
/// letters, then either an optional `/` and `>` (`<b>`, `</td>`, `<br/>`), or whitespace and
/// at most [`MAX_TAG_REST`] characters, none a digit or `<`, up to the first `>`
/// (`<span class="x">`); a comment is `<!--`, at most [`MAX_TAG_REST`] characters, none a
/// digit or `<`, and `-->`.
pub(super) fn html_tag(mut chars: NormChars<'_>) -> Option<(NormChars<'_>, NormChar)> {
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
pub(super) fn space_entity(
    first: NormChar,
    chars: NormChars<'_>,
) -> Option<(NormChars<'_>, NormChar)> {
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
