//! Reading a field name the way it looks: plain lowercase words.
//!
//! This file is also compiled into the build script (`plugins/rules/build.rs`), which reads
//! the vocabulary's terms with it, so it depends on nothing else in the crate: terms and
//! field names are read by the same code.
//!
//! A name is read character by character:
//!
//! 1. NFKC (Unicode compatibility composition): full-width `ｈ` is `h`, `ﬁ` is `fi`,
//!    mathematical and circled letters are letters, `²` is `2`.
//! 2. Format characters (general category Cf: soft hyphen, zero-width space and joiners,
//!    bidirectional marks, ...), other default-ignorable code points (Hangul fillers,
//!    variation selectors) and combining marks left alone by NFKC are dropped: they do not
//!    separate words.
//! 3. Every other character outside ASCII is replaced by its confusable skeleton (Unicode
//!    TR39, `unicode_security::skeleton`), whose combining marks are dropped: Cyrillic `е`
//!    and Greek `ο` read as `e` and `o`, `é` as `e`, `ø` as `o`, `ł` as `l`, `æ` as `ae`. A
//!    character whose skeleton is `l` (Greek `Ι`, Cyrillic `І` and `ӏ`, `İ`) stands for `I`
//!    as much as for `l`: it is read like the digit `1` (below). ASCII is kept as it is:
//!    TR39 maps ASCII `I` to `l` and `m` to `rn`, which would confuse ordinary words.
//! 4. Letters are lowercased (`ß` reads as `ss`).
//! 5. Words are split at every character that is not a letter or digit, and at case and
//!    digit changes: `sexualOrientation`, `DNAProfile` (`dna`, `profile`), `line1`
//!    (`line`, `1`). A character's case is its own, before its skeleton replaces it.
//! 6. A run of digits with a letter on each side stands for letters when all its digits
//!    look like letters: `0` o, `1` i or l, `3` e, `4` a, `5` s, `7` t (`rel1gion`, `h3alth`,
//!    `r4ce`, `HE4LTH`), unless the letter after them is a capital that starts a camelCase
//!    word (`JA3Fingerprint`, `ipv4Address`). Other digits, and digits at either end of a
//!    word, stay digits and words of their own (`address2line`, `line1`, `v2`). A `1` (or a
//!    look-alike of `l`) is read as `i` or as `l`, as [`Reading::one`] says.
//! 7. With [`Reading::edges`], foldable digits at the end of a word of two letters or more,
//!    or at the start of one, stand for letters too (`dn4`, `rac3`, `3thnicity`): a second
//!    reading, since `line1` or `v2` are more often digits.

use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, GeneralCategoryGroup, UnicodeGeneralCategory};

/// A field name read as plain lowercase words (see the module docs).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Normalised {
    /// The words, run together.
    pub text: String,
    /// The end of each word in `text` (byte offsets, increasing); word `i` starts where word
    /// `i - 1` ends.
    pub ends: Vec<usize>,
    /// Whether a character that may stand for `i` or `l` was read as [`Reading::one`].
    pub ambiguous: bool,
    /// Whether a word begins or ends with digits that [`Reading::edges`] would read as
    /// letters.
    pub edge_digits: bool,
    /// Whether a separator (anything but a letter or digit) follows a word: the words were
    /// not all split at case and digit changes.
    pub separated: bool,
}

impl Normalised {
    /// An empty reading with room for a name of `len` bytes.
    pub fn with_capacity(len: usize) -> Self {
        Self {
            text: String::with_capacity(len + 4),
            ends: Vec::with_capacity(4),
            ambiguous: false,
            edge_digits: false,
            separated: false,
        }
    }

    /// The words, in order.
    pub fn words(&self) -> impl Iterator<Item = &str> + Clone + '_ {
        let mut start = 0;
        self.ends.iter().map(move |&end| {
            let word = &self.text[start..end];
            start = end;
            word
        })
    }

    /// The number of words.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there is no word.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
}

/// How to read the characters that may stand for more than one letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reading {
    /// What a `1` inside a word, and a look-alike of `l` or `I`, stands for: `b'i'` or
    /// `b'l'`.
    pub one: u8,
    /// Whether digits at the start or end of a word stand for letters too.
    pub edges: bool,
}

impl Reading {
    /// The first reading: `1` is `i`, digits at the ends of words are digits.
    pub const FIRST: Reading = Reading {
        one: b'i',
        edges: false,
    };
}

/// What a character is, for finding word boundaries.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Upper,
    Lower,
    Digit,
    Separator,
}

fn is_letter(kind: Kind) -> bool {
    matches!(kind, Kind::Upper | Kind::Lower)
}

/// The letter an ASCII digit stands for inside a word, if any (`one` for `1`).
fn digit_letter(digit: u8, one: u8) -> Option<u8> {
    match digit {
        b'0' => Some(b'o'),
        b'1' => Some(one),
        b'3' => Some(b'e'),
        b'4' => Some(b'a'),
        b'5' => Some(b's'),
        b'7' => Some(b't'),
        _ => None,
    }
}

/// Whether `c` is dropped without separating words: a format character or a mark.
fn is_invisible(c: char) -> bool {
    c.general_category() == GeneralCategory::Format
        || c.general_category_group() == GeneralCategoryGroup::Mark
}

/// The streaming word splitter of [`normalise`].
struct Reader<'a> {
    out: &'a mut Normalised,
    one: u8,
    edges: bool,
    /// Start of the word being read (equal to `text.len()` when none is).
    word_start: usize,
    /// The kinds of the previous two characters read (not dropped).
    prev: Kind,
    prev_prev: Kind,
    /// Where the previous character's letters start in `text`.
    prev_start: usize,
    /// A run of digits being read: where it starts in `text`, whether a letter precedes it
    /// (and its kind), and whether all its digits stand for letters.
    run: Option<Run>,
    /// Digits that stand for letters followed by a capital, waiting for the next character:
    /// a lowercase letter makes the capital start a word (`JA3Fingerprint`: `ja`, `3`,
    /// `fingerprint`); anything else makes the digits letters (`H3ALTH`).
    tentative: Option<Tentative>,
}

#[derive(Clone, Copy)]
struct Tentative {
    run_start: usize,
    capital_start: usize,
    before: Kind,
}

#[derive(Clone, Copy)]
struct Run {
    start: usize,
    after: Option<Kind>,
    foldable: bool,
}

impl Reader<'_> {
    fn end_word_at(&mut self, at: usize) {
        if at > self.word_start {
            self.out.ends.push(at);
            self.word_start = at;
        }
    }

    /// Reads the digits of `text[from..to]` as the letters they stand for.
    fn fold(&mut self, from: usize, to: usize) {
        for at in from..to {
            let digit = self.out.text.as_bytes()[at];
            if digit == b'1' {
                self.out.ambiguous = true;
            }
            let letter = char::from(digit_letter(digit, self.one).unwrap_or(digit));
            self.out
                .text
                .replace_range(at..=at, letter.encode_utf8(&mut [0; 4]));
        }
    }

    /// Decides a pending digit run, given the kind of what follows it. Returns true when
    /// the decision waits for the character after (a capital follows foldable digits).
    fn settle_run(&mut self, next: Kind) -> bool {
        let Some(run) = self.run.take() else {
            return false;
        };
        match run.after {
            Some(before) if run.foldable && next == Kind::Upper => {
                self.tentative = Some(Tentative {
                    run_start: run.start,
                    capital_start: self.out.text.len(),
                    before,
                });
                true
            }
            Some(before) if run.foldable && is_letter(next) => {
                // Letters: rewrite the digits in place (ASCII for ASCII) and go on with the
                // word as though a letter of the preceding kind had been read.
                self.fold(run.start, self.out.text.len());
                self.prev = before;
                // Not a run of capitals: `H3alth` is one word.
                self.prev_prev = Kind::Lower;
                false
            }
            Some(before) if run.foldable && run.start - self.word_start >= 2 => {
                // At the end of a word of two letters or more (`dn4`).
                if self.edges {
                    self.fold(run.start, self.out.text.len());
                    self.prev = before;
                    self.prev_prev = Kind::Lower;
                } else {
                    self.out.edge_digits = true;
                    self.digit_word(run.start);
                }
                false
            }
            None if run.foldable && is_letter(next) => {
                // At the start of a word (`3thnicity`).
                if self.edges {
                    self.fold(run.start, self.out.text.len());
                    self.prev = next;
                    self.prev_prev = Kind::Lower;
                } else {
                    self.out.edge_digits = true;
                    self.digit_word(run.start);
                }
                false
            }
            _ => {
                self.digit_word(run.start);
                false
            }
        }
    }

    /// Makes the digits from `start` to the end of `text` a word of their own, apart from
    /// the letters before and after them.
    fn digit_word(&mut self, start: usize) {
        self.end_word_at(start);
        self.end_word_at(self.out.text.len());
    }

    /// Decides tentative digits (see `tentative`), given the kind of what follows the capital.
    fn settle_tentative(&mut self, next: Kind) {
        let Some(t) = self.tentative.take() else {
            return;
        };
        if next == Kind::Lower {
            // The digits end the word before the capital: as digits at the end of a word
            // (`dn4Profile`), except after capitals, where they end an acronym
            // (`JA3Fingerprint`) and stay digits in every reading.
            let edge = t.before == Kind::Lower && t.run_start - self.word_start >= 2;
            if edge && self.edges {
                self.fold(t.run_start, t.capital_start);
            } else {
                self.out.edge_digits |= edge;
                self.end_word_at(t.run_start);
            }
            self.end_word_at(t.capital_start);
            // The capital starts a word, not the end of a run of capitals.
            self.prev_prev = Kind::Digit;
        } else {
            self.fold(t.run_start, t.capital_start);
            self.prev_prev = t.before;
        }
    }

    fn separator(&mut self) {
        self.settle_tentative(Kind::Separator);
        self.settle_run(Kind::Separator);
        if !self.out.text.is_empty() {
            self.out.separated = true;
        }
        self.end_word_at(self.out.text.len());
        self.prev_prev = self.prev;
        self.prev = Kind::Separator;
    }

    fn digit(&mut self, digit: u8) {
        self.settle_tentative(Kind::Digit);
        let foldable = digit_letter(digit, self.one).is_some();
        match &mut self.run {
            Some(run) => run.foldable &= foldable,
            None => {
                let after = is_letter(self.prev).then_some(self.prev);
                self.run = Some(Run {
                    start: self.out.text.len(),
                    after,
                    foldable,
                });
            }
        }
        self.prev_start = self.out.text.len();
        self.out.text.push(char::from(digit));
        self.prev_prev = self.prev;
        self.prev = Kind::Digit;
    }

    /// A character of kind `kind` (a letter, or a digit outside ASCII) read as `letters`.
    /// ASCII digits among the letters of a letter stand for the letters they look like.
    fn letters(&mut self, kind: Kind, letters: impl Iterator<Item = char>) {
        self.settle_tentative(kind);
        let waiting = self.settle_run(kind);
        let here = self.out.text.len();
        let boundary = matches!(
            (self.prev, kind),
            (Kind::Lower | Kind::Digit, Kind::Upper)
                | (Kind::Upper | Kind::Lower, Kind::Digit)
                | (Kind::Digit, Kind::Lower)
        );
        if waiting {
            // Decided by the next character.
        } else if boundary {
            self.end_word_at(here);
        } else if kind == Kind::Lower && self.prev == Kind::Upper && self.prev_prev == Kind::Upper {
            // The last capital of a run of capitals starts the next word: `DNAProfile`.
            self.end_word_at(self.prev_start);
        }
        for c in letters {
            if let Some(letter) = u8::try_from(c)
                .ok()
                .filter(|b| b.is_ascii_digit() && is_letter(kind))
            {
                // A letter that looks like a digit (Cyrillic `З` is `3`): read as the letter
                // that digit stands for.
                let one = self.one;
                if letter == b'1' {
                    self.out.ambiguous = true;
                }
                self.out
                    .text
                    .push(char::from(digit_letter(letter, one).unwrap_or(letter)));
            } else {
                self.out.text.push(c);
            }
        }
        self.prev_start = here;
        self.prev_prev = self.prev;
        self.prev = kind;
    }

    fn finish(&mut self) {
        self.settle_tentative(Kind::Separator);
        self.settle_run(Kind::Separator);
        self.end_word_at(self.out.text.len());
    }
}

/// Reads `segment` as plain lowercase words into `out` (see the module docs), reading the
/// characters that may stand for more than one letter as `reading` says. `out.ambiguous`
/// and `out.edge_digits` tell whether another reading could differ.
pub fn normalise(segment: &str, reading: Reading, out: &mut Normalised) {
    out.text.clear();
    out.ends.clear();
    out.ambiguous = false;
    out.edge_digits = false;
    out.separated = false;
    let mut reader = Reader {
        out,
        one: reading.one,
        edges: reading.edges,
        word_start: 0,
        prev: Kind::Separator,
        prev_prev: Kind::Separator,
        prev_start: 0,
        run: None,
        tentative: None,
    };
    if segment.is_ascii() {
        // NFKC and skeletons leave ASCII as it is.
        for b in segment.bytes() {
            ascii(&mut reader, b);
        }
    } else {
        for c in segment.nfkc() {
            if c.is_ascii() {
                ascii(&mut reader, c as u8);
            } else {
                other(&mut reader, c);
            }
        }
    }
    reader.finish();
}

fn ascii(reader: &mut Reader<'_>, b: u8) {
    if b.is_ascii_uppercase() {
        reader.letters(
            Kind::Upper,
            std::iter::once(char::from(b.to_ascii_lowercase())),
        );
    } else if b.is_ascii_lowercase() {
        reader.letters(Kind::Lower, std::iter::once(char::from(b)));
    } else if b.is_ascii_digit() {
        reader.digit(b);
    } else {
        reader.separator();
    }
}

fn other(reader: &mut Reader<'_>, c: char) {
    if is_invisible(c) {
        return;
    }
    let mut buf = [0u8; 4];
    let mut skeleton = unicode_security::skeleton(c.encode_utf8(&mut buf)).peekable();
    // TR39's prototype of `I`, `l`, `|` and `1` is `l`: a character whose skeleton is that
    // `l` alone, or a capital whose skeleton is `l` with a mark (`İ`), may stand for either
    // `I` or `l`. (`ł` is `l` with a stroke: an `l`.)
    let mut ambiguous = skeleton.peek() == Some(&'l');
    // The skeleton, lowercased, without marks; at most a few characters.
    let mut letters: [char; 8] = ['\0'; 8];
    let mut n = 0;
    let mut marks = false;
    for s in skeleton {
        for l in s.to_lowercase() {
            if is_invisible(l) {
                marks = true;
                continue;
            }
            let expanded: &[char] = if l == 'ß' { &['s', 's'] } else { &[l] };
            for &e in expanded {
                if n < letters.len() {
                    letters[n] = e;
                    n += 1;
                }
            }
        }
    }
    if n == 0 {
        // Default-ignorable (zero-width, fillers): its skeleton is empty.
        return;
    }
    ambiguous &= n == 1 && (!marks || c.is_uppercase());
    let letters = &letters[..n];
    if c.is_numeric() && !c.is_alphabetic() && letters.iter().all(char::is_ascii_digit) {
        for &d in letters {
            reader.digit(d as u8);
        }
        return;
    }
    let kind = if c.is_alphabetic() {
        if c.is_uppercase() {
            Kind::Upper
        } else {
            Kind::Lower
        }
    } else if c.is_numeric() {
        Kind::Digit
    } else if letters.iter().all(char::is_ascii_alphanumeric) {
        // A symbol that looks like a letter (`℮`).
        Kind::Lower
    } else {
        reader.separator();
        return;
    };
    if ambiguous {
        // Looks like `l` or `I`: read as the digit `1` inside a word would be.
        reader.out.ambiguous = true;
        let one = char::from(reader.one);
        reader.letters(
            if kind == Kind::Digit {
                Kind::Lower
            } else {
                kind
            },
            std::iter::once(one),
        );
    } else {
        reader.letters(kind, letters.iter().copied());
    }
}
