//! Reading a field name the way it looks: plain lowercase words.
//!
//! This file is also compiled into the build script (`plugins/rules/build.rs`), which reads
//! the vocabulary's terms with it, so it depends on nothing else: terms and field names are
//! read by the same code.
//!
//! A name is read character by character:
//!
//! 1. A character outside ASCII is read through a [`FoldTable`], which the build script
//!    makes from the Unicode crates (`unicode-normalization`, `unicode-security`,
//!    `unicode-properties`): its NFKC form (full-width `ｈ` is `h`, `ﬁ` is `fi`,
//!    mathematical and circled letters are letters, `²` is `2`), with format characters
//!    (general category Cf: soft hyphen, zero-width space and joiners, bidirectional marks),
//!    other default-ignorable code points (Hangul fillers, variation selectors) and
//!    combining marks dropped (they do not separate words), and every other character
//!    replaced by its Unicode TR39 confusable skeleton, lowercased, its marks dropped:
//!    Cyrillic `е` and Greek `ο` read as `e` and `o`, `é` as `e`, `ø` as `o`, `ł` as `l`,
//!    `æ` as `ae`, `ß` as `ss`. A character keeps its own case (Cyrillic `Н` is a capital
//!    `H`). A character whose skeleton is `l` (Greek `Ι`, Cyrillic `І` and `ӏ`, `İ`) stands
//!    for `I` as much as for `l`: it is read like the digit `1` (below). The table holds
//!    the characters read as ASCII; any other character is kept as it is, lowercased (a
//!    letter or digit of its own script, or a separator). ASCII is kept as it is: TR39 maps
//!    ASCII `I` to `l` and `m` to `rn`, which would confuse ordinary words.
//! 2. Letters are lowercased.
//! 3. Words are split at every character that is not a letter or digit, and at case and
//!    digit changes: `sexualOrientation`, `DNAProfile` (`dna`, `profile`), `line1`
//!    (`line`, `1`).
//! 4. A run of digits with a letter on each side stands for letters when all its digits
//!    look like letters: `0` o, `1` i or l, `3` e, `4` a, `5` s, `7` t (`rel1gion`, `h3alth`,
//!    `r4ce`, `HE4LTH`), unless the letter after them is a capital that starts a camelCase
//!    word (`JA3Fingerprint`, `ipv4Address`). Other digits, and digits at either end of a
//!    word, stay digits and words of their own (`address2line`, `line1`, `v2`). A `1` (or a
//!    look-alike of `l`) is read as `i` or as `l`, as [`Reading::one`] says.
//! 5. With [`Reading::edges`], foldable digits at the end of a word of two letters or more,
//!    or at the start of one, stand for letters too (`dn4`, `rac3`, `3thnicity`): a second
//!    reading, since `line1` or `v2` are more often digits.

/// How characters outside ASCII are read: the characters read as ASCII (their reading, in
/// which a capital is a capital, and `\x01` and `\x02` stand for a lowercase and a capital
/// look-alike of `l` or `I`), and those dropped. Made by the build script.
#[derive(Debug)]
pub struct FoldTable {
    /// Sorted by character: the character and its reading, `text[start..start + len]`.
    pub entries: &'static [(char, u16, u8)],
    /// The readings.
    pub text: &'static str,
    /// Sorted, disjoint ranges of characters that are dropped.
    pub dropped: &'static [(char, char)],
}

/// What a [`FoldTable`] says of a character.
pub enum Fold {
    /// It is dropped.
    Dropped,
    /// It reads as these ASCII characters (with `\x01` and `\x02` as in [`FoldTable`]).
    Ascii(&'static str),
    /// It is kept as it is.
    Kept,
}

/// In a [`FoldTable`] reading: a lowercase look-alike of `l` or `I`.
pub const LOWER_L_OR_I: u8 = 1;
/// In a [`FoldTable`] reading: a capital look-alike of `l` or `I`.
pub const UPPER_L_OR_I: u8 = 2;

impl FoldTable {
    /// How `c` is read.
    pub fn fold(&self, c: char) -> Fold {
        let dropped = self.dropped.partition_point(|(_, last)| *last < c);
        if self
            .dropped
            .get(dropped)
            .is_some_and(|(first, _)| *first <= c)
        {
            return Fold::Dropped;
        }
        match self.entries.binary_search_by(|(k, _, _)| k.cmp(&c)) {
            Ok(at) => {
                let (_, start, len) = self.entries[at];
                let start = usize::from(start);
                Fold::Ascii(&self.text[start..start + usize::from(len)])
            }
            Err(_) => Fold::Kept,
        }
    }
}

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

    /// The words from the `i`th on, in order (as `words().skip(i)`, without walking the
    /// first `i`).
    pub fn words_from(&self, i: usize) -> impl Iterator<Item = &str> + Clone + '_ {
        let mut start = if i == 0 { 0 } else { self.ends[i - 1] };
        self.ends[i..].iter().map(move |&end| {
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
pub fn digit_letter(digit: u8, one: u8) -> Option<u8> {
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
    #[inline]
    fn settle_run(&mut self, next: Kind) -> bool {
        self.run.is_some() && self.settle_pending_run(next)
    }

    /// [`Self::settle_run`] when a run is pending.
    fn settle_pending_run(&mut self, next: Kind) -> bool {
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
                self.fold_run(run.start, before);
                false
            }
            Some(before) if run.foldable && run.start - self.word_start >= 2 => {
                // At the end of a word of two letters or more (`dn4`).
                self.settle_edge_run(run.start, before);
                false
            }
            None if run.foldable && is_letter(next) => {
                // At the start of a word (`3thnicity`).
                self.settle_edge_run(run.start, next);
                false
            }
            _ => {
                self.digit_word(run.start);
                false
            }
        }
    }

    /// Rewrites the digits from `start` to the end of `text` as the letters they stand for
    /// and goes on as though a letter of kind `prev` had been read.
    fn fold_run(&mut self, start: usize, prev: Kind) {
        self.fold(start, self.out.text.len());
        self.prev = prev;
        // Not a run of capitals: `H3alth` is one word.
        self.prev_prev = Kind::Lower;
    }

    /// Decides foldable digits from `start` to the end of `text` at the start or end of a
    /// word: letters, as after a letter of kind `prev` ([`Self::fold_run`]), when digits at
    /// the edges stand for letters, else a word of their own.
    fn settle_edge_run(&mut self, start: usize, prev: Kind) {
        if self.edges {
            self.fold_run(start, prev);
        } else {
            self.out.edge_digits = true;
            self.digit_word(start);
        }
    }

    /// Makes the digits from `start` to the end of `text` a word of their own, apart from
    /// the letters before and after them.
    fn digit_word(&mut self, start: usize) {
        self.end_word_at(start);
        self.end_word_at(self.out.text.len());
    }

    /// Decides tentative digits (see `tentative`), given the kind of what follows the capital.
    #[inline]
    fn settle_tentative(&mut self, next: Kind) {
        if self.tentative.is_some() {
            self.settle_pending_tentative(next);
        }
    }

    /// [`Self::settle_tentative`] when digits are pending.
    fn settle_pending_tentative(&mut self, next: Kind) {
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
    #[inline]
    fn letters(&mut self, kind: Kind, letters: impl IntoIterator<Item = char>) {
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
            self.out.text.push(c);
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
pub fn normalise(segment: &str, reading: Reading, table: &FoldTable, out: &mut Normalised) {
    out.text.clear();
    out.ends.clear();
    // ASCII reads as at most as many bytes, in words of two bytes on average at the most.
    out.text.reserve(segment.len());
    out.ends.reserve(segment.len() / 2 + 1);
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
        let bytes = segment.as_bytes();
        let mut i = 0;
        while let Some(&b) = bytes.get(i) {
            if b.is_ascii_lowercase()
                && reader.prev == Kind::Lower
                && reader.run.is_none()
                && reader.tentative.is_none()
            {
                // Lowercase letters after a lowercase letter go on its word, as they are: read
                // at once (as `letters` would read them one by one).
                let n = bytes[i..]
                    .iter()
                    .take_while(|b| b.is_ascii_lowercase())
                    .count();
                reader.out.text.push_str(&segment[i..i + n]);
                reader.prev_start = reader.out.text.len() - 1;
                reader.prev_prev = Kind::Lower;
                i += n;
                continue;
            }
            ascii(&mut reader, b);
            i += 1;
        }
    } else {
        for c in segment.chars() {
            if c.is_ascii() {
                ascii(&mut reader, c as u8);
            } else {
                other(&mut reader, c, table);
            }
        }
    }
    reader.finish();
}

#[inline]
fn ascii(reader: &mut Reader<'_>, b: u8) {
    if b.is_ascii_uppercase() {
        reader.letters(Kind::Upper, [char::from(b.to_ascii_lowercase())]);
    } else if b.is_ascii_lowercase() {
        reader.letters(Kind::Lower, [char::from(b)]);
    } else if b.is_ascii_digit() {
        reader.digit(b);
    } else {
        reader.separator();
    }
}

fn other(reader: &mut Reader<'_>, c: char, table: &FoldTable) {
    match table.fold(c) {
        Fold::Dropped => {}
        Fold::Ascii(reading) => {
            for b in reading.bytes() {
                match b {
                    LOWER_L_OR_I | UPPER_L_OR_I => {
                        // Looks like `l` or `I`: read as the digit `1` inside a word would be.
                        reader.out.ambiguous = true;
                        let kind = if b == UPPER_L_OR_I {
                            Kind::Upper
                        } else {
                            Kind::Lower
                        };
                        reader.letters(kind, [char::from(reader.one)]);
                    }
                    _ => ascii(reader, b),
                }
            }
        }
        Fold::Kept if c.is_alphabetic() => {
            let kind = if c.is_uppercase() {
                Kind::Upper
            } else {
                Kind::Lower
            };
            reader.letters(kind, c.to_lowercase());
        }
        Fold::Kept if c.is_numeric() => reader.letters(Kind::Digit, [c]),
        Fold::Kept => reader.separator(),
    }
}
