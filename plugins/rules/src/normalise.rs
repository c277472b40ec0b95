//! Text normalisation for scanners, with a map back to the original text.
//!
//! Scanners that look for numbers (such as [`crate::card`]) must not be fooled by the many ways
//! Unicode can write the same thing: full-width digits (`４１１１`), mathematical or circled
//! digits (`𝟒`, `①`), no-break and other spaces, zero-width characters between digits. This
//! module reads a text as a sequence of *normalised characters*:
//!
//! - ASCII characters are read as they are (a text with no non-ASCII byte is never
//!   normalised: every character passes through unchanged).
//! - Every other character is replaced by its compatibility decomposition (the "K" of NFKC,
//!   from the `unicode-normalization` crate): `４` reads as `4`, U+00A0 NO-BREAK SPACE and
//!   U+2007 FIGURE SPACE as ` `, `⑴` as `(1)`, `⒋` as `4.`.
//! - Characters that are invisible or attach to the previous one are dropped: format
//!   characters (General Category Cf: U+200B ZERO WIDTH SPACE, U+200C/U+200D zero-width
//!   (non-)joiners, U+2060 WORD JOINER, U+FEFF, U+00AD SOFT HYPHEN, bidirectional controls,
//!   ...) and combining marks (Mn, Me: accents, U+20E3 COMBINING ENCLOSING KEYCAP, variation
//!   selectors). `4\u{200B}1` reads as `41`.
//!
//! The decomposition is applied one character at a time and canonical recomposition (the "C"
//! of NFKC) is skipped: recomposition only joins letters with the marks that follow them, and
//! marks are dropped here anyway, so it cannot create or remove a digit, space or
//! punctuation mark.
//!
//! Every normalised character carries the byte range of the original character it comes
//! from ([`NormChar::start`], [`NormChar::end`]), so a match found in the normalised text can
//! be reported, and replaced, in the original one. Nothing here allocates.

use unicode_normalization::char::decompose_compatible;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// One character of the normalised text and the original character it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NormChar {
    /// The normalised character.
    pub ch: char,
    /// Byte offset of the original character in the text.
    pub start: usize,
    /// Byte offset just past the original character. Several normalised characters may share
    /// one original character (`⑴` reads as `(`, `1`, `)`, each with the range of `⑴`).
    pub end: usize,
}

/// Whether `c` is dropped when normalising: a format character (General Category Cf) or a
/// combining mark (Mn, Me).
pub fn is_ignorable(c: char) -> bool {
    !c.is_ascii()
        && matches!(
            c.general_category(),
            GeneralCategory::Format
                | GeneralCategory::NonspacingMark
                | GeneralCategory::EnclosingMark
        )
}

/// Calls `emit` with each normalised character that the single character `c` reads as, in
/// order: `c` itself when it is ASCII, nothing when it is ignorable (see [`is_ignorable`]),
/// else its compatibility decomposition without the ignorable characters in it.
pub fn normalise_char(c: char, mut emit: impl FnMut(char)) {
    if c.is_ascii() {
        emit(c);
    } else if !is_ignorable(c) {
        decompose_compatible(c, |d| {
            if !is_ignorable(d) {
                emit(d);
            }
        });
    }
}

/// An iterator over the normalised characters of a text; see [`chars`].
///
/// Cloning it is cheap (a slice and two offsets), so scanners can look ahead freely.
#[derive(Debug, Clone)]
pub struct NormChars<'a> {
    text: &'a str,
    /// Byte offset of the original character being read.
    pos: usize,
    /// How many normalised characters of that original character have been read already.
    sub: usize,
}

/// The normalised characters of `text`, left to right, without allocating.
pub fn chars(text: &str) -> NormChars<'_> {
    NormChars {
        text,
        pos: 0,
        sub: 0,
    }
}

impl NormChars<'_> {
    /// Byte offset in the original text of the next character to read (of its original
    /// character, when that one reads as several).
    pub fn offset(&self) -> usize {
        self.pos
    }
}

impl Iterator for NormChars<'_> {
    type Item = NormChar;

    fn next(&mut self) -> Option<NormChar> {
        loop {
            let &byte = self.text.as_bytes().get(self.pos)?;
            let start = self.pos;
            if byte.is_ascii() {
                self.pos += 1;
                return Some(NormChar {
                    ch: char::from(byte),
                    start,
                    end: start + 1,
                });
            }
            let c = self.text[start..]
                .chars()
                .next()
                .expect("a non-ASCII byte at a char boundary starts a char");
            let end = start + c.len_utf8();
            // Decompositions are short (at most 18 characters); the one wanted is found again
            // each time rather than buffered, which keeps the iterator small and cheap to clone.
            let (mut count, mut wanted) = (0, None);
            normalise_char(c, |d| {
                if count == self.sub {
                    wanted = Some(d);
                }
                count += 1;
            });
            match wanted {
                Some(ch) => {
                    self.sub += 1;
                    if self.sub == count {
                        self.pos = end;
                        self.sub = 0;
                    }
                    return Some(NormChar { ch, start, end });
                }
                None => {
                    // Ignorable, or every character of its decomposition has been read.
                    self.pos = end;
                    self.sub = 0;
                }
            }
        }
    }
}

impl std::iter::FusedIterator for NormChars<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    fn normalised(text: &str) -> String {
        chars(text).map(|c| c.ch).collect()
    }

    #[test]
    fn ascii_passes_through() {
        let text = "Card: 4111-1111 (x)\t\n";
        assert_eq!(normalised(text), text);
        let spans: Vec<_> = chars("ab").map(|c| (c.start, c.end)).collect();
        assert_eq!(spans, [(0, 1), (1, 2)]);
    }

    #[test]
    fn compatibility_forms_read_as_ascii() {
        assert_eq!(normalised("４１１１"), "4111");
        assert_eq!(normalised("𝟒𝟏"), "41");
        assert_eq!(normalised("①②"), "12");
        assert_eq!(normalised("⑴"), "(1)");
        assert_eq!(normalised("⒋"), "4.");
        assert_eq!(
            normalised("a\u{a0}b\u{202f}c\u{2007}d\u{3000}e"),
            "a b c d e"
        );
        assert_eq!(normalised("－／．，＿（）"), "-/.,_()");
        // Dashes without a compatibility mapping stay what they are.
        assert_eq!(normalised("–—"), "–—");
    }

    #[test]
    fn format_characters_and_combining_marks_are_dropped() {
        let text = "4\u{200b}1\u{200c}1\u{200d}1\u{2060}1\u{feff}1\u{ad}1\u{202e}1";
        assert_eq!(normalised(text), "41111111");
        assert_eq!(normalised("4\u{fe0f}\u{20e3}1\u{301}"), "41");
        assert_eq!(normalised("é"), "e");
        assert!(is_ignorable('\u{200b}'));
        assert!(!is_ignorable('a'));
        assert!(!is_ignorable('\u{a0}'));
    }

    #[test]
    fn each_character_keeps_the_span_of_its_original() {
        let text = "x４\u{200b}⑴y";
        let got: Vec<_> = chars(text).map(|c| (c.ch, &text[c.start..c.end])).collect();
        assert_eq!(
            got,
            [
                ('x', "x"),
                ('4', "４"),
                ('(', "⑴"),
                ('1', "⑴"),
                (')', "⑴"),
                ('y', "y")
            ]
        );
    }

    #[test]
    fn offset_and_clone_allow_looking_ahead() {
        let mut it = chars("⑴z");
        assert_eq!(it.next().map(|c| c.ch), Some('('));
        let mut ahead = it.clone();
        assert_eq!(ahead.next().map(|c| c.ch), Some('1'));
        assert_eq!(it.offset(), 0);
        assert_eq!(it.map(|c| c.ch).collect::<String>(), "1)z");
        assert_eq!(ahead.next().map(|c| c.ch), Some(')'));
        assert_eq!(ahead.offset(), "⑴".len());
    }
}
