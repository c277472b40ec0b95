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
//! - Decimal digits of every script (General Category Nd, which compatibility decomposition
//!   leaves alone: Arabic-Indic `٤١١١`, Extended Arabic-Indic `۴۱۱۱`, Devanagari `४१११`,
//!   Bengali, Thai, ...) read as the ASCII digit of the same value ([`decimal_digit`]).
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
    // The combining diacritical marks (all Mn) are the commonest by far.
    matches!(c, '\u{300}'..='\u{36f}')
        || !c.is_ascii()
            && matches!(
                c.general_category(),
                GeneralCategory::Format
                    | GeneralCategory::NonspacingMark
                    | GeneralCategory::EnclosingMark
            )
}

/// Whether `c` is a combining mark (General Category Mn or Me), one of the ignorable
/// characters that belong to the character before them.
pub fn is_combining_mark(c: char) -> bool {
    !c.is_ascii()
        && matches!(
            c.general_category(),
            GeneralCategory::NonspacingMark | GeneralCategory::EnclosingMark
        )
}

/// The byte offset just past the combining marks (see [`is_combining_mark`]) that follow
/// `offset` in `text`: where a character that ends at `offset` really ends.
pub fn end_of_marks(text: &str, offset: usize) -> usize {
    offset
        + text[offset..]
            .chars()
            .take_while(|&c| is_combining_mark(c))
            .map(char::len_utf8)
            .sum::<usize>()
}

/// Whether `c` is in one of the common blocks of letters whose every character reads as
/// letters only (some of them followed by dropped combining marks): Latin-1 and Latin
/// Extended-A/B letters, basic Greek, Cyrillic, Hebrew, Arabic, Devanagari and Thai letters,
/// hiragana, katakana, CJK unified ideographs and Hangul syllables.
///
/// A fast path for scanners, which can pass over such characters without normalising them;
/// a unit test checks every character of these blocks against [`normalise_char`].
pub fn is_plain_letter(c: char) -> bool {
    matches!(
        c,
        '\u{c0}'..='\u{d6}'
            | '\u{d8}'..='\u{f6}'
            | '\u{f8}'..='\u{13e}'
            | '\u{141}'..='\u{24f}'
            | '\u{391}'..='\u{3a1}'
            | '\u{3a3}'..='\u{3a9}'
            | '\u{3b1}'..='\u{3c9}'
            | '\u{400}'..='\u{45f}'
            | '\u{5d0}'..='\u{5ea}'
            | '\u{621}'..='\u{63a}'
            | '\u{641}'..='\u{64a}'
            | '\u{905}'..='\u{939}'
            | '\u{e01}'..='\u{e30}'
            | '\u{3041}'..='\u{3096}'
            | '\u{30a1}'..='\u{30fa}'
            | '\u{4e00}'..='\u{9fff}'
            | '\u{ac00}'..='\u{d7a3}'
    )
}

/// Calls `emit` with each normalised character that the single character `c` reads as, in
/// order: `c` itself when it is ASCII, nothing when it is ignorable (see [`is_ignorable`]),
/// else its compatibility decomposition without the ignorable characters in it.
pub fn normalise_char(c: char, mut emit: impl FnMut(char)) {
    if c.is_ascii() {
        emit(c);
    } else if let Some(ascii) = fullwidth_ascii(c) {
        emit(ascii);
    } else if is_plain_letter(c) || !is_ignorable(c) {
        decompose_compatible(c, |d| {
            // `c` itself (no decomposition) is known not to be ignorable.
            if d == c || !is_ignorable(d) {
                emit(decimal_digit(d).unwrap_or(d));
            }
        });
    }
}

/// The ASCII character that a full-width form (U+FF01 to U+FF5E: `４`, `－`, `Ａ`) reads as:
/// its compatibility decomposition, found without looking it up (none of them is
/// ignorable, and each decomposes to the ASCII character 0xFEE0 below it).
#[inline]
fn fullwidth_ascii(c: char) -> Option<char> {
    let code = u32::from(c);
    if (0xFF01..=0xFF5E).contains(&code) {
        char::from_u32(code - 0xFEE0)
    } else {
        None
    }
}

/// The ASCII digit that a non-ASCII decimal digit (General Category Nd: Arabic-Indic `٤`,
/// Extended Arabic-Indic `۴`, Devanagari `४`, Bengali `৪`, Thai `๔`, ...) stands for, or
/// `None` for any other character.
///
/// Unicode guarantees that the decimal digits of a script are encoded as one run of ten
/// consecutive code points, from 0 to 9: a digit's value is the number of decimal digits
/// right before it, modulo 10 (some runs, such as the mathematical digits, hold several sets
/// of ten one after the other).
pub fn decimal_digit(c: char) -> Option<char> {
    if c.is_ascii() || c.general_category() != GeneralCategory::DecimalNumber {
        return None;
    }
    let is_nd = |p: u32| {
        char::from_u32(p).is_some_and(|d| d.general_category() == GeneralCategory::DecimalNumber)
    };
    let mut value = 0u32;
    let mut p = u32::from(c);
    while p > 0 && is_nd(p - 1) {
        value += 1;
        p -= 1;
    }
    char::from_digit(value % 10, 10)
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

impl<'a> NormChars<'a> {
    /// Byte offset in the original text of the next character to read (of its original
    /// character, when that one reads as several).
    pub fn offset(&self) -> usize {
        self.pos
    }

    /// Passes at once over the original characters from here on for which `skip` holds, up
    /// to the first for which it does not, and returns them (as they are in the text, not
    /// normalised). A fast path for scanners.
    pub fn pass_over(&mut self, mut skip: impl FnMut(char) -> bool) -> &'a str {
        if self.sub != 0 {
            return "";
        }
        let rest = &self.text[self.pos..];
        let bytes = rest.as_bytes();
        let mut n = 0;
        while let Some(&b) = bytes.get(n) {
            let c = if b.is_ascii() {
                char::from(b)
            } else {
                rest[n..].chars().next().expect("at a char boundary")
            };
            if !skip(c) {
                break;
            }
            n += c.len_utf8();
        }
        self.pos += n;
        &rest[..n]
    }

    /// Goes on reading from `offset`, a character boundary, as if the characters before it
    /// had been read.
    pub fn jump_to(&mut self, offset: usize) {
        assert!(self.text.is_char_boundary(offset));
        self.pos = offset;
        self.sub = 0;
    }

    /// Reads at once the ASCII characters from here on for which `skip` holds, up to the
    /// first for which it does not or the first non-ASCII character, and returns them: each
    /// is one normalised character, its own original. A fast path for scanners.
    pub fn skip_ascii(&mut self, mut skip: impl FnMut(u8) -> bool) -> &'a str {
        if self.sub != 0 {
            return "";
        }
        let rest = &self.text.as_bytes()[self.pos..];
        let n = rest
            .iter()
            .position(|&b| !(b.is_ascii() && skip(b)))
            .unwrap_or(rest.len());
        let skipped = &self.text[self.pos..self.pos + n];
        self.pos += n;
        skipped
    }
}

impl Iterator for NormChars<'_> {
    type Item = NormChar;

    #[inline]
    fn next(&mut self) -> Option<NormChar> {
        let &byte = self.text.as_bytes().get(self.pos)?;
        if byte.is_ascii() {
            let start = self.pos;
            self.pos += 1;
            return Some(NormChar {
                ch: char::from(byte),
                start,
                end: start + 1,
            });
        }
        self.next_non_ascii()
    }
}

impl NormChars<'_> {
    /// [`Iterator::next`] from a non-ASCII character on.
    #[inline(never)]
    fn next_non_ascii(&mut self) -> Option<NormChar> {
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
    fn full_width_forms_read_as_their_decomposition() {
        for c in ('\u{FF01}'..='\u{FF5E}').chain(['\u{FF00}', '\u{FF5F}', '\u{FF10}']) {
            let mut looked_up = String::new();
            if !is_ignorable(c) {
                decompose_compatible(c, |d| {
                    if d == c || !is_ignorable(d) {
                        looked_up.push(decimal_digit(d).unwrap_or(d));
                    }
                });
            }
            let mut read = String::new();
            normalise_char(c, |d| read.push(d));
            assert_eq!(read, looked_up, "{c:?}");
        }
        assert_eq!(normalised("４１１１－１"), "4111-1");
    }

    #[test]
    fn decimal_digits_of_every_script_read_as_ascii_digits() {
        assert_eq!(
            normalised("٤١١١ ۴۱۱۱ ४१११ ৪১১১ ๔๑๑๑"),
            "4111 4111 4111 4111 4111"
        );
        assert_eq!(normalised("٠١٢٣٤٥٦٧٨٩"), "0123456789");
        assert_eq!(normalised("4111 ١١١١"), "4111 1111");
        // Every Nd character reads as an ASCII digit, and the ten of a run in order.
        let mut count = 0;
        for c in (0x80..=0x10ffff).filter_map(char::from_u32) {
            if c.general_category() == GeneralCategory::DecimalNumber {
                let d = decimal_digit(c).expect("a digit");
                assert!(d.is_ascii_digit(), "{c:?}");
                if let Some(next) = char::from_u32(u32::from(c) + 1)
                    && next.general_category() == GeneralCategory::DecimalNumber
                    && d != '9'
                {
                    assert_eq!(decimal_digit(next), char::from_digit(d as u32 - 47, 10));
                }
                count += 1;
            } else {
                assert_eq!(decimal_digit(c), None);
            }
        }
        assert!(count > 600, "{count}");
        assert_eq!(decimal_digit('4'), None);
        assert_eq!(decimal_digit('a'), None);
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
        assert!(is_combining_mark('\u{20e3}'));
        assert!(!is_combining_mark('\u{200b}'));
        let keycap = "4\u{fe0f}\u{20e3}\u{200b}x";
        assert_eq!(end_of_marks(keycap, 1), 7);
        assert_eq!(end_of_marks(keycap, 7), 7);
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

    #[test]
    fn plain_letters_read_as_letters_only() {
        let mut checked = 0;
        for c in (0..=0x10ffff)
            .filter_map(char::from_u32)
            .filter(|&c| is_plain_letter(c))
        {
            assert!(!is_ignorable(c), "{c:?}");
            let mut reads = String::new();
            normalise_char(c, |d| reads.push(d));
            assert!(!reads.is_empty(), "{c:?}");
            assert!(
                reads
                    .chars()
                    .all(|d| d.is_alphabetic() && !d.is_whitespace()),
                "{c:?} reads as {reads:?}"
            );
            if c >= '\u{370}' {
                assert!(
                    !reads.chars().any(|d| d.is_ascii()),
                    "{c:?} reads as {reads:?}"
                );
            }
            checked += 1;
        }
        assert!(checked > 30_000);
        for c in [
            'a', '1', ' ', '\u{d7}', '\u{f7}', '\u{13f}', '\u{387}', '\u{30fb}', '\u{30fc}',
            '\u{483}',
        ] {
            assert!(!is_plain_letter(c), "{c:?}");
        }
    }

    #[test]
    fn combining_diacritical_marks_are_ignorable() {
        for c in ('\u{300}'..='\u{36f}').chain(['\u{20e3}', '\u{200b}']) {
            assert!(is_ignorable(c), "{c:?}");
            assert!(matches!(
                c.general_category(),
                GeneralCategory::NonspacingMark
                    | GeneralCategory::EnclosingMark
                    | GeneralCategory::Format
            ));
        }
    }

    #[test]
    fn pass_over_passes_over_original_characters() {
        let mut it = chars("日本é1x");
        assert_eq!(it.pass_over(is_plain_letter), "日本é");
        assert_eq!(it.next().map(|c| c.ch), Some('1'));
        assert_eq!(it.pass_over(|_| true), "x");
        assert_eq!(it.pass_over(|_| true), "");
    }

    #[test]
    fn skip_ascii_reads_ascii_characters_at_once() {
        let mut it = chars("ab1２c");
        assert_eq!(it.skip_ascii(|b| b.is_ascii_alphabetic()), "ab");
        assert_eq!(it.skip_ascii(|b| b.is_ascii_alphabetic()), "");
        assert_eq!(it.skip_ascii(|_| true), "1");
        assert_eq!(it.next().map(|c| c.ch), Some('2'));
        assert_eq!(it.skip_ascii(|_| true), "c");
        assert_eq!(it.next(), None);
        // Not in the middle of a character that reads as several.
        let mut it = chars("⑴");
        it.next();
        assert_eq!(it.skip_ascii(|_| true), "");
        assert_eq!(it.map(|c| c.ch).collect::<String>(), "1)");
    }
}
