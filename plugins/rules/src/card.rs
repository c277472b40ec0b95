//! Payment card numbers in text and in numbers: detection and redaction.
//!
//! Enforces privacy-policy clauses 2.1.2, "we do not store credit card information", and
//! 2.1.3, "we do not record credit card information": every string that reaches storage is
//! scanned, each card number found is replaced by a marker, and a number field that holds a
//! card number is removed ([`network_of_integer`]; a marker, which is text, would change the
//! field's type).
//!
//! # What counts as a card number
//!
//! A *card number* is a sequence of 12 to 19 digits that a card network could have issued —
//! its prefix and length fall in one of the ranges of [`CARD_RANGES`] — and that passes the
//! Luhn check ([`luhn_valid`]).
//!
//! # Reading the text
//!
//! The text is read after Unicode normalisation ([`crate::normalise`]): compatibility
//! decomposition (as in NFKC) turns full-width, mathematical and other digits into `0-9` and
//! no-break and other Unicode spaces into spaces; every other decimal digit (General Category
//! Nd: Arabic-Indic `٤١١١`, Extended Arabic-Indic `۴۱۱۱`, Devanagari `४१११`, Bengali, Thai,
//! ...) reads as its value, so one number may mix scripts (`4111 ١١١١ 1111 1111`); format characters (Cf: zero-width spaces and
//! joiners, word joiner, BOM, soft hyphen, bidirectional controls) and combining marks are
//! dropped. Every character keeps the byte range of the original character it comes from, so
//! matches are reported, and replaced, in the original text. A text without non-ASCII bytes is
//! read as it is.
//!
//! Each normalised character is then a *digit*, a *separator* or *something else*.
//! Separators are: whitespace (spaces, tabs, line breaks), dashes (`-`, every Unicode dash
//! such as `–` and `—`, the minus sign `−`), the middle dots and bullets `·` `•` `‧` `∙` `・`,
//! the ideographic comma `、`, and every ASCII punctuation mark or symbol: `.` `,` `/` `_`
//! `(` `)`, and `:` `+` `|` `*` `\` `;` `~` `#` `'` `"` `[` `]` `{` `}` `<` `>` `=` `&` ... So
//! groups may be quoted or bracketed: `"4111" "1111" "1111" "1111"`, `[4111][1111][1111][1111]`.
//! A **short HTML tag** between groups, `<`, an optional `/`, one to ten ASCII letters, then
//! an optional `/` and `>` (`<b>`, `</td>`, `<br/>`) or whitespace and at most 64 characters
//! up to the first `>` (`<span class="x">`), and an **HTML comment** `<!--` ... `-->` of at
//! most 64 characters, neither holding a digit or a `<`, are read as one separator:
//! `<b>4111</b><b>1111</b><b>1111</b><b>1111</b>` holds a card. An HTML reference to a space
//! (`&nbsp;`, `&ensp;`, `&emsp;`, `&thinsp;`, `&#32;`, `&#160;`, `&#x20;`, `&#xA0;`, any case)
//! and a percent-encoded space `%20` read as a space, wherever they are (their digits are
//! never a group). A `+` that does not come
//! right after a digit is an international prefix rather than a separator: it ends the run,
//! and the group after it starts a phone number (below); `4111+1111+1111+1111` is a card,
//! `4111 +44 1484 840048` is a number followed by a phone number.
//!
//! - A **group** is a maximal run of digits. Anything that is not a digit ends it, so a
//!   longer run of digits is never cut to find a card inside it, while
//!   `ref4111111111111111` still holds the group `4111111111111111`.
//! - A **gap** is a stretch of one to sixteen separators between two groups. Two groups
//!   joined by a gap are in the same **run**; anything else between them (a letter, a `+`
//!   that starts a phone number, seventeen separators) ends the run. A gap of more than four
//!   separators is *long*.
//! - A gap's **signature** is what is left of it once parentheses are dropped, every stretch
//!   of spaces reads as one space, every dash as `-` and every middle dot as `·`: the gaps of
//!   `4111 - 1111` and `4111  -  1111` both read as ` - `. A gap that holds a line break is a
//!   *line-break gap*. A gap is *simple* when it is a single space or a single dash. Two gaps
//!   are *alike* when they have as many separators, the same signature, and as many
//!   parentheses and line breaks (`     ` and `     `, but not ` ` and `  `). A gap is
//!   *free* when it holds no parenthesis and its signature is one separator other than `:`
//!   repeated, or only tags and spaces: `-----`, `......`, five spaces, six tabs or line
//!   breaks, `</td><td>`, `</b> <b>`, `&nbsp;`, but not `, ` or ` - `.
//!
//! # The shapes of a card number
//!
//! A **candidate** is a sequence of whole groups of one run holding 12 to 19 digits in
//! total. It is a card number when its digits are, and it has one of these shapes:
//!
//! 1. **Plain**: a single group, `4111111111111111`.
//! 2. **Printed layout**: the group lengths are one of the ways cards are printed —
//!    4-4-4-4, 4-4-4-4-1 to 4-4-4-4-3, 4-4-4, 4-4-4-1 to 4-4-4-3, 4-4-5, 4-6-4, 4-6-5 (Amex,
//!    Diners) or 4-5-6 (UATP) — and its gaps other than line-break gaps are either all of
//!    one character, mixed freely (`4111.1111-1111 1111`, `4111–1111/1111_1111`), or all with
//!    the same signature (`4111, 1111, 1111, 1111`, `4111 - 1111 - 1111 - 1111`,
//!    `(4111) 1111 1111 1111`, `4111|1111|1111|1111`, `4111" "1111" "1111" "1111`), and when
//!    one of them is long they are all alike (`4111     1111     1111     1111`, five tabs,
//!    dashes or dots between the groups). In the layouts 4-4-4-4 and 4-6-5, specific enough
//!    on their own, the gaps may also be any free gaps, each on its own
//!    (`4111     1111 1111 1111`, `4111--1111-1111-1111`, `4111......1111.1111.1111`,
//!    `4111<span class="x">1111</span> 1111 1111`, `4111%201111%201111%201111`; still never
//!    across a letter, nor over more than sixteen separators). Line-break gaps are allowed anywhere (`4111 1111\n1111 1111`,
//!    a PDF's `4111-\n1111`). A gap *continues* the printing of a layout when it holds no
//!    parenthesis and is a line break, or a single separator after gaps of single separators,
//!    or has the signature of the layout's gaps, or is free. A layout is not taken when it starts right
//!    after a four-digit group joined by a gap that continues it (other than a line break):
//!    `2160 3455 5555 4189 883` is a 19-digit number, not `2160` followed by a 15-digit card.
//!    The layouts that end in a short group, and 4-4-4, are not taken either when the group
//!    after them is joined by a gap that continues them: `6759 6498 2643 8454` is a 16-digit
//!    number, not a 12-digit card followed by `8454`. (A complete layout may be followed by
//!    more groups: `4111 1111 1111 1111 1227` is a card and its expiry date.)
//!    A layout whose gaps are a single `:` must be its whole run (no group joined to it by a
//!    single `:` before or after): colons also join the parts of IPv6 addresses, MAC
//!    addresses and times (`8668:7047:5189:850:3932:9956:1040:8161` holds no card).
//! 3. **Irregular grouping**: two to four groups joined by simple gaps (`41 11111 111 111111`),
//!    or five to eight groups of at least two digits joined by alike simple gaps (all one
//!    space, or all one dash: `41 11 11 11 11 11 11 11`, `411 111 111 111 1111`,
//!    `41 111 1111 1111 111`), or groups of 1, 3, 4, 4 and 4 digits joined by alike simple
//!    gaps (a first group split: `4 111 1111 1111 1111`, `4-111-1111-1111-1111`), that are
//!    not joined by a gap of a single separator, or a free gap, to another group before or
//!    after them.
//! 4. **Digit by digit**: 12 to 19 single digits with alike gaps between them, each gap
//!    either spaces only (one or more, no line break) or a single dash, dot, slash or comma:
//!    as a speech-to-text transcript writes a number read out
//!    (`4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1`, `4  1  1  1 ...`), or a form one box per digit
//!    (`4-1-1-1-...`, `4.1.1.1...`, `4/1/1/1...`, `4,1,1,1...`); not joined by an alike gap to
//!    another single digit before or after them. Other gaps between single digits (`, `,
//!    `; `, `|`, `:`) make a list (`1, 2, 3`, `1|2|3`), never a card. Sixteen single digits
//!    in fours are a card too: the gaps within the fours alike and as above, the three gaps
//!    between the fours alike each other but not those, without parentheses
//!    (`4 1 1 1 - 1 1 1 1 - 1 1 1 1 - 1 1 1 1`, `4 1 1 1  1 1 1 1  1 1 1 1  1 1 1 1`), not
//!    joined by either gap to another single digit before or after them.
//!
//! The group before a candidate does not count, for these rules, when it is part of a phone
//! number, a date, an IBAN or a UUID (below), or is the last group of a card found just before:
//! `call 01484 840048 4111 1111 1111 1111` and `4111 1111 1111 1111 5555 5555 5555 4444` hold
//! their cards.
//!
//! # What is never a card
//!
//! - **Phone numbers.** A group that starts a phone number, and the groups of the same run
//!   that continue it, never start a candidate. A phone number starts at a group right after
//!   `+` (or `+(`); at a group of 2 to 5 digits starting with `0` (a trunk prefix, or the
//!   international `00`) that starts a run or follows a gap that is not simple (`+` starts a
//!   run when it does not follow a digit: `tel:+44...`, `[+44 ...]`); or at three
//!   groups of 3, 3 and 4 digits, the first starting with 2 to 9, optionally after a group `1`
//!   (North American numbers: `(555) 123-4567`, `1-800-555-0199`), at the same places. A `+`
//!   or `0` number goes on over gaps of at most one separator besides parentheses (a space,
//!   dash, dot, slash, underscore or middle dot: not a comma, any other ASCII punctuation,
//!   a tag or a line break) while it has fewer than 10 digits (12 after `00`) and at most 15
//!   (the longest international number): `+44 (0)1484 840048`, `0049 30 12345678`,
//!   `+1 555 123 4567`, `01484 840048`. No card range starts with `0`, so national numbers
//!   could never start a card anyway; the rule keeps their last groups from starting one
//!   together with the digits after them (`020 7946 0958 4111 ...`).
//! - **Dates.** Three groups joined by the same single `/`, `.` or `-`: a day and a month
//!   (1 or 2 digits, 1 to 31) then a year of 2 digits or from 1900 to 2099, or such a year
//!   then a month and a day (`25/11/2026`, `2026-11-25`), and not followed by a fourth group
//!   joined by the same separator (`26-30-37-75-64-34-32-55` is a card written in pairs),
//!   never start a candidate, and so are not taken for a phone number either. Times
//!   (`12:30:45`, `2026-11-25 09:30:00`) fail every shape: their groups have two digits and
//!   their gaps are colons, which no irregular grouping or digit chain uses.
//! - **UUIDs.** 32 hex digits in groups of 8, 4, 4, 4 and 12 joined by `-`, as a word of their
//!   own: no group of one is part of a candidate, whatever digits chance has put in it.
//! - **IBANs.** Two letters at the start of a word, two digits, then letters and digits
//!   (in blocks separated by single spaces), whose IBAN check (ISO 13616, mod 97) holds at
//!   the end of a block, 15 to 34 characters in all: no group of it is part of a candidate
//!   (`GB29 NWBK 6016 1331 9268 19`, `DE89 3704 0044 0532 0130 00`). Its own check digits tell
//!   an IBAN apart; an account number that fails the IBAN check is read like any other text.
//!
//! Other numbers (order numbers `ORD-2024-000123`, timestamps `2026-11-25T09:30:00Z` and
//! `20261125093000`, IP and MAC addresses `00:15:65:aa:bb:cc`, versions, amounts such as
//! `1,234,567.89` and `1'234'567.89`, ratios `16:9`, lists such as `1, 2, 3`, `1|2|3` and
//! `12; 34; 56`) are left alone because they fail the shapes, the prefix, the length or the
//! Luhn check: every printed layout starts with a group of four digits, an irregular grouping
//! of at most four groups of three digits holds at most 12 (a 12-digit card is a Maestro
//! card, with one of a few four-digit prefixes), longer irregular groupings and digit chains
//! only use spaces, dashes and the few separators above, alike throughout, and a list that
//! goes on past the number is no number on its own.
//!
//! # Where recall and precision meet
//!
//! Some texts cannot be told apart from a card number by their form; they are reported as
//! one, since a card stored in clear is the worse mistake:
//!
//! - 12 to 19 single digits separated by single spaces, such as a list of ratings
//!   `4 5 3 4 4 5 5 3 4 2 5 4 4 3 5 5`, when they happen to pass the prefix and Luhn checks
//!   (about one list in ten with a card prefix and length), or by a single dash, dot, slash
//!   or comma, or by alike stretches of spaces (`&nbsp;` and `%20` read as spaces, so also
//!   by those). Single digits separated by a comma and a
//!   space (`4, 1, 1, ...`), or by other punctuation (`4|1|1...`, `4; 1; 1...`), are not read
//!   as a card, so that lists of small numbers survive.
//! - Five to eight numbers of two to four digits separated by single spaces (a list of
//!   scores `45 23 67 12 89 34 56 78`) that make up a whole run and pass the prefix and
//!   Luhn checks: read as a card written in pairs or threes.
//! - Four 4-digit numbers with identical separators (`4101, 4102, 4103, 4104`, or one per
//!   line, or quoted `"4101", "4102", ...`) that pass the prefix and Luhn checks.
//! - A number in a printed layout followed by a shorter group (`4111 1111 1111 1111 123`, a
//!   card and its security code) is the card: the longest candidate that is a card wins.
//!
//! Spelled-out digits (`four one one one`) are not read.
//!
//! # Choosing among candidates
//!
//! Groups are scanned left to right. At each group that may start a candidate, the *longest*
//! candidate that is a card number is taken and scanning resumes after it, so matches never
//! overlap. A match runs from the first digit to the last, internal separators and dropped
//! characters included, with the combining marks on the last digit (a keycap's); a `(` before
//! the first group (or a `)` after the last) is included when the number's gaps hold the
//! other half of the pair, so `(4111) 1111 1111 1111` is replaced whole. Quotes, brackets
//! and tags around the number (`"4111" ... "1111"`, `<b>4111</b>...<b>1111</b>`) are left
//! outside the match.
//!
//! # Cost
//!
//! This runs on every string field of every record. Texts with fewer than 12 digits are
//! rejected by a single vectorisable pass over their bytes (plus, only when the text has
//! non-ASCII bytes and too few ASCII digits, a pass that normalises its non-ASCII
//! characters; a text whose bytes are all ASCII is never normalised, and only non-ASCII
//! characters that are not plain letters are looked up as decimal digits). Otherwise the
//! scan is linear: every character is read once into groups (an
//! IBAN check looks at most 34 letters and digits ahead, and only where a word starts with two
//! letters and a digit; a UUID check at most 36 bytes either side of a group that touches a
//! hex letter or a `-`), at most 32 groups are held at a time, a run with fewer than 12
//! digits is passed at once, and each group starts at most one candidate of at most 19
//! digits; an HTML tag or comment is looked at at most 68 characters ahead, and only at a
//! `<` between groups; a space reference or `%20` at most 8 characters ahead, and only at a
//! `&` or `%`). Letters of the common scripts and runs of ASCII letters or digits are passed
//! without being normalised one by one. Nothing is allocated unless a card number is
//! found.

mod iban;
mod scan;
#[cfg(test)]
mod tests;
mod uuid;

use std::fmt;
use std::iter::FusedIterator;

/// The text that replaces a card number unless the caller chooses another marker.
pub const MARKER: &str = "[card number removed]";

/// The fewest digits any card number has (Maestro).
pub const MIN_DIGITS: usize = 12;

/// The most digits any card number has.
pub const MAX_DIGITS: usize = 19;

/// A card network (scheme) that issues card numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Network {
    Visa,
    Mastercard,
    Amex,
    Discover,
    Diners,
    Jcb,
    UnionPay,
    Maestro,
    Uatp,
}

impl Network {
    /// Every network, in declaration order.
    pub const ALL: [Network; 9] = [
        Network::Visa,
        Network::Mastercard,
        Network::Amex,
        Network::Discover,
        Network::Diners,
        Network::Jcb,
        Network::UnionPay,
        Network::Maestro,
        Network::Uatp,
    ];

    /// The network's usual name, e.g. `"American Express"`.
    pub fn name(self) -> &'static str {
        match self {
            Network::Visa => "Visa",
            Network::Mastercard => "Mastercard",
            Network::Amex => "American Express",
            Network::Discover => "Discover",
            Network::Diners => "Diners Club",
            Network::Jcb => "JCB",
            Network::UnionPay => "UnionPay",
            Network::Maestro => "Maestro",
            Network::Uatp => "UATP",
        }
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One issuer range of a network: numbers whose first `prefix_digits` digits, read as a
/// decimal number, lie in `low..=high`, and whose total length is one of `lengths`.
///
/// For example `{ prefix_digits: 4, low: 2221, high: 2720, lengths: &[16] }` covers the
/// 16-digit Mastercard numbers `2221 0000 0000 000x` to `2720 9999 9999 999x`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CardRange {
    /// The network that issues numbers in this range.
    pub network: Network,
    /// How many leading digits `low` and `high` describe (1 to 6).
    pub prefix_digits: u8,
    /// The lowest prefix of the range, inclusive.
    pub low: u32,
    /// The highest prefix of the range, inclusive.
    pub high: u32,
    /// The total numbers of digits a card in this range may have, ascending, each within
    /// [`MIN_DIGITS`]`..=`[`MAX_DIGITS`].
    pub lengths: &'static [u8],
}

const fn range(
    network: Network,
    prefix_digits: u8,
    low: u32,
    high: u32,
    lengths: &'static [u8],
) -> CardRange {
    CardRange {
        network,
        prefix_digits,
        low,
        high,
        lengths,
    }
}

const VISA_LENGTHS: &[u8] = &[13, 16, 19];
const MASTERCARD_LENGTHS: &[u8] = &[16];
const AMEX_LENGTHS: &[u8] = &[15];
const SIXTEEN_TO_NINETEEN: &[u8] = &[16, 17, 18, 19];
const DINERS_LENGTHS: &[u8] = &[14, 15, 16, 17, 18, 19];
const MAESTRO_LENGTHS: &[u8] = &[12, 13, 14, 15, 16, 17, 18, 19];
const UATP_LENGTHS: &[u8] = &[15];

/// The issuer ranges of every network: the data behind "a number a card network could have
/// issued".
///
/// | Network          | Prefixes                                   | Lengths |
/// |------------------|--------------------------------------------|---------|
/// | Visa             | 4                                          | 13, 16, 19 |
/// | Mastercard       | 51–55, 2221–2720                           | 16 |
/// | American Express | 34, 37                                     | 15 |
/// | Discover         | 6011, 644–649, 65, 622126–622925           | 16–19 |
/// | Diners Club      | 300–305, 3095, 36, 38–39                   | 14–19 |
/// | JCB              | 3528–3589                                  | 16–19 |
/// | UnionPay         | 62, 81                                     | 16–19 |
/// | Maestro          | 5018, 5020, 5038, 5893, 6304, 6759, 6761–6763 | 12–19 |
/// | UATP             | 1                                          | 15 |
///
/// Ranges may nest: 622126–622925 (Discover, co-branded with UnionPay) lies inside 62
/// (UnionPay). When several ranges admit a number, the one with the longest prefix wins, then
/// the earliest in this table; see [`network_of`].
pub const CARD_RANGES: &[CardRange] = &[
    range(Network::Visa, 1, 4, 4, VISA_LENGTHS),
    range(Network::Mastercard, 2, 51, 55, MASTERCARD_LENGTHS),
    range(Network::Mastercard, 4, 2221, 2720, MASTERCARD_LENGTHS),
    range(Network::Amex, 2, 34, 34, AMEX_LENGTHS),
    range(Network::Amex, 2, 37, 37, AMEX_LENGTHS),
    range(Network::Discover, 4, 6011, 6011, SIXTEEN_TO_NINETEEN),
    range(Network::Discover, 3, 644, 649, SIXTEEN_TO_NINETEEN),
    range(Network::Discover, 2, 65, 65, SIXTEEN_TO_NINETEEN),
    range(Network::Discover, 6, 622126, 622925, SIXTEEN_TO_NINETEEN),
    range(Network::Diners, 3, 300, 305, DINERS_LENGTHS),
    range(Network::Diners, 4, 3095, 3095, DINERS_LENGTHS),
    range(Network::Diners, 2, 36, 36, DINERS_LENGTHS),
    range(Network::Diners, 2, 38, 39, DINERS_LENGTHS),
    range(Network::Jcb, 4, 3528, 3589, SIXTEEN_TO_NINETEEN),
    range(Network::UnionPay, 2, 62, 62, SIXTEEN_TO_NINETEEN),
    range(Network::UnionPay, 2, 81, 81, SIXTEEN_TO_NINETEEN),
    range(Network::Maestro, 4, 5018, 5018, MAESTRO_LENGTHS),
    range(Network::Maestro, 4, 5020, 5020, MAESTRO_LENGTHS),
    range(Network::Maestro, 4, 5038, 5038, MAESTRO_LENGTHS),
    range(Network::Maestro, 4, 5893, 5893, MAESTRO_LENGTHS),
    range(Network::Maestro, 4, 6304, 6304, MAESTRO_LENGTHS),
    range(Network::Maestro, 4, 6759, 6759, MAESTRO_LENGTHS),
    range(Network::Maestro, 4, 6761, 6763, MAESTRO_LENGTHS),
    range(Network::Uatp, 1, 1, 1, UATP_LENGTHS),
];

/// The longest `prefix_digits` in [`CARD_RANGES`].
const MAX_PREFIX_DIGITS: usize = 6;

/// A card number found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardMatch {
    /// Byte offset in the original text of the first digit (or of a `(` that opens the
    /// number's first group).
    pub start: usize,
    /// Byte offset just past the last digit (or a `)` that closes its last group), so
    /// `&text[start..end]` is the number as written, separators and dropped characters
    /// included.
    pub end: usize,
    /// The network that could have issued the number.
    pub network: Network,
}

/// Whether `digits` (each a value `0..=9`, not an ASCII character) pass the Luhn check.
///
/// An empty slice, or one holding a value above 9, is not valid.
pub fn luhn_valid(digits: &[u8]) -> bool {
    /// `2 * d` with its digits summed, for `d` in `0..=9`.
    const DOUBLED: [u8; 10] = [0, 2, 4, 6, 8, 1, 3, 5, 7, 9];
    if digits.is_empty() {
        return false;
    }
    let mut sum: u32 = 0;
    for (i, &d) in digits.iter().rev().enumerate() {
        if d > 9 {
            return false;
        }
        sum += u32::from(if i % 2 == 1 {
            DOUBLED[usize::from(d)]
        } else {
            d
        });
    }
    sum.is_multiple_of(10)
}

/// The network that could have issued the number `digits` (each a value `0..=9`), or `None`
/// when its prefix and length match no range of [`CARD_RANGES`] or it fails the Luhn check.
///
/// When several ranges match, the one with the longest prefix wins (so `6221 26..` is
/// Discover, not UnionPay).
pub fn network_of(digits: &[u8]) -> Option<Network> {
    let len = digits.len();
    if !(MIN_DIGITS..=MAX_DIGITS).contains(&len) || digits.iter().any(|&d| d > 9) {
        return None;
    }
    // prefixes[k] = the first k digits read as a number.
    let mut prefixes = [0u32; MAX_PREFIX_DIGITS + 1];
    for k in 1..=MAX_PREFIX_DIGITS {
        prefixes[k] = prefixes[k - 1] * 10 + u32::from(digits[k - 1]);
    }
    let mut best: Option<&CardRange> = None;
    for r in CARD_RANGES {
        let prefix = prefixes[usize::from(r.prefix_digits)];
        if prefix >= r.low
            && prefix <= r.high
            && r.lengths.iter().any(|&l| usize::from(l) == len)
            && best.is_none_or(|b| r.prefix_digits > b.prefix_digits)
        {
            best = Some(r);
        }
    }
    let best = best?;
    luhn_valid(digits).then_some(best.network)
}

/// The network that could have issued the number whose decimal digits are those of `value`
/// (its sign dropped), or `None`: for a card number held in a JSON number rather than a
/// string.
///
/// Every card number fits in an `i64`: the longest have 19 digits and start with a digit
/// from 1 to 8, below `i64::MAX` (9 223 372 036 854 775 807).
pub fn network_of_integer(value: i64) -> Option<Network> {
    let mut digits = [0u8; 20];
    let mut len = 0;
    let mut rest = value.unsigned_abs();
    while rest > 0 {
        digits[len] = (rest % 10) as u8;
        rest /= 10;
        len += 1;
    }
    if !(MIN_DIGITS..=MAX_DIGITS).contains(&len) {
        return None;
    }
    let digits = &mut digits[..len];
    digits.reverse();
    network_of(digits)
}

/// The network that could have issued the card number held in a float, or `None`.
///
/// Only a float that holds an integer exactly is checked, as [`network_of_integer`] checks
/// it: finite, without a fractional part, and below 2<sup>53</sup> in magnitude. Above
/// 2<sup>53</sup> not every integer is a float, so a 17- to 19-digit number written as a float
/// (`4111111111111111111.0`) has already been rounded when it is read and its Luhn check
/// cannot be made; such floats are left alone. (A number written without a fraction or an
/// exponent is read as an integer, whatever its size up to `i64::MAX`, so card numbers only
/// arrive as floats when written as `4111111111111111.0` or `4.111111111111111e15`.)
pub fn network_of_float(value: f64) -> Option<Network> {
    /// 2^53: every integer of smaller magnitude is exactly a float.
    const EXACT: f64 = 9_007_199_254_740_992.0;
    if value.is_finite() && value.fract() == 0.0 && value.abs() < EXACT {
        // Exact: the value is an integer within i64.
        network_of_integer(value as i64)
    } else {
        None
    }
}

/// An iterator over the card numbers of a text, left to right; see [`card_numbers`].
#[derive(Debug, Clone)]
pub struct CardNumbers<'a> {
    /// `None` when the text has too few digits to hold a card: most texts, which are then
    /// passed without setting up a scanner.
    scanner: Option<scan::Scanner<'a>>,
}

/// The card numbers in `text`, left to right, without allocating.
pub fn card_numbers(text: &str) -> CardNumbers<'_> {
    CardNumbers {
        scanner: has_enough_digits(text).then(|| scan::Scanner::new(text)),
    }
}

/// Every card number in `text`, left to right. Does not allocate when there is none.
pub fn find_card_numbers(text: &str) -> Vec<CardMatch> {
    card_numbers(text).collect()
}

/// Whether `text` holds at least one card number.
pub fn contains_card_number(text: &str) -> bool {
    // Checked first so that most texts do not even move a scanner around.
    has_enough_digits(text) && card_numbers(text).next().is_some()
}

/// Returns None when the text holds no card number (no allocation in that case), else the
/// text with every card number replaced by `marker`, and the networks found in order.
///
/// Each card number is replaced whole, from its first digit to its last, with the separators
/// and dropped characters (zero-width spaces, ...) between them; everything outside the card
/// numbers, multi-byte characters included, is kept byte for byte.
///
/// When `marker` holds no digit (such as [`MARKER`]), the result holds no card number:
/// a number that only stands out as a card once its neighbour is replaced (`6759 6498 2643`
/// right before a 16-digit card is the start of a longer number until that card is gone) is
/// replaced in a further pass, so redacting the result again returns `None`.
pub fn redact_card_numbers(text: &str, marker: &str) -> Option<(String, Vec<Network>)> {
    let (mut out, mut networks) = redact_once(text, marker)?;
    let marker_has_digits = marker.chars().any(|c| {
        let mut digit = false;
        crate::normalise::normalise_char(c, |d| digit |= d.is_ascii_digit());
        digit
    });
    if !marker_has_digits {
        // Each pass replaces at least 12 digits by none, so this ends.
        while let Some((again, more)) = redact_once(&out, marker) {
            out = again;
            networks.extend(more);
        }
    }
    Some((out, networks))
}

/// One pass of [`redact_card_numbers`]: the card numbers of `text` replaced.
fn redact_once(text: &str, marker: &str) -> Option<(String, Vec<Network>)> {
    if !has_enough_digits(text) {
        return None;
    }
    let mut matches = card_numbers(text);
    let first = matches.next()?;
    let mut out = String::with_capacity(text.len() + marker.len());
    let mut networks = Vec::new();
    let mut copied = 0;
    for m in std::iter::once(first).chain(matches) {
        out.push_str(&text[copied..m.start]);
        out.push_str(marker);
        networks.push(m.network);
        copied = m.end;
    }
    out.push_str(&text[copied..]);
    Some((out, networks))
}

impl Iterator for CardNumbers<'_> {
    type Item = CardMatch;

    fn next(&mut self) -> Option<CardMatch> {
        self.scanner.as_mut()?.next()
    }
}

impl FusedIterator for CardNumbers<'_> {}

/// Whether `text` holds at least [`MIN_DIGITS`] digits once normalised. Counts ASCII digits
/// in fixed-size chunks, which the compiler vectorises, and stops as soon as the answer is
/// known; only when there are too few and the text has non-ASCII bytes are its non-ASCII
/// characters normalised and their digits counted.
fn has_enough_digits(text: &str) -> bool {
    let bytes = text.as_bytes();
    // No character reads as more digits than it has bytes (`½`, two bytes, reads as `1⁄2`).
    if bytes.len() < MIN_DIGITS {
        return false;
    }
    let mut count = 0;
    let mut non_ascii = false;
    for chunk in bytes.chunks(64) {
        count += chunk.iter().filter(|b| b.is_ascii_digit()).count();
        if count >= MIN_DIGITS {
            return true;
        }
        non_ascii |= chunk.iter().fold(0, |acc, &b| acc | b) >= 0x80;
    }
    if !non_ascii {
        return false;
    }
    let may_read_as_digits = |c: &char| !c.is_ascii() && !crate::normalise::is_plain_letter(*c);
    for c in text.chars().filter(may_read_as_digits) {
        crate::normalise::normalise_char(c, |d| count += usize::from(d.is_ascii_digit()));
        if count >= MIN_DIGITS {
            return true;
        }
    }
    false
}
