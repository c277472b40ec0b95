//! Payment card numbers in free text: detection and redaction.
//!
//! Enforces privacy-policy clause 2.1.2, "we do not store credit card information": every
//! string that reaches storage is scanned, and each card number found is replaced by a marker.
//!
//! # What counts as a card number
//!
//! A *card number* is a digit sequence that a card network could have issued — its prefix and
//! length fall in one of the ranges of [`CARD_RANGES`] — and that passes the Luhn check
//! ([`luhn_valid`]).
//!
//! # How numbers are found in text
//!
//! The scanner works on the UTF-8 bytes of the text; only ASCII digits `0-9` are digits.
//!
//! - A **group** is a maximal run of ASCII digits. Anything else (letters, punctuation,
//!   multi-byte characters, ...) ends a group, so `ref4111111111111111` still holds the group
//!   `4111111111111111`.
//! - A **separator** is exactly one `' '` or `'-'` with a group on both sides. Two
//!   separators in a row, a tab, a newline, a dot, ... end the run.
//! - A **run** is a sequence of groups joined by separators: `4111 1111-1111 1111`.
//! - A **candidate** is a contiguous sequence of *whole* groups of one run with 12 to 19
//!   digits in total. A longer group is never cut, so a Luhn-valid stretch inside, say, a
//!   20-digit order number is not a card.
//! - A candidate whose first group is immediately preceded by `'+'` is a phone number in
//!   international notation (`+44 1484 840048`) and is never a card.
//!
//! Groups are scanned left to right. At each group that may start a candidate, the *longest*
//! valid candidate is taken and scanning resumes at the group after it, so matches never
//! overlap; when no candidate starting at a group is valid, scanning moves to the next group.
//! This finds a card sitting next to a phone number in the same run
//! (`call 01484 840048 4111 1111 1111 1111`), while phone numbers, order numbers
//! (`ORD-2024-000123`), dates and other digit runs that fail the prefix, length or Luhn checks
//! are left alone.
//!
//! # Cost
//!
//! This runs on every string field of every record. Texts with fewer than 12 ASCII digits are
//! rejected by a single vectorisable pass; otherwise the scan is linear (each group is looked at
//! by at most 19 candidate starts, each bounded to 19 digits). Nothing is allocated unless a
//! card number is found: candidate digits live in a fixed `[u8; 19]` on the stack.

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
    /// Byte offset of the first digit.
    pub start: usize,
    /// Byte offset just past the last digit, so `&text[start..end]` is the number as written,
    /// separators included (never a leading or trailing separator).
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

/// An iterator over the card numbers of a text, left to right; see [`card_numbers`].
#[derive(Debug, Clone)]
pub struct CardNumbers<'a> {
    bytes: &'a [u8],
    /// Where to look for the next group; `bytes.len()` once done.
    pos: usize,
}

/// The card numbers in `text`, left to right, without allocating.
pub fn card_numbers(text: &str) -> CardNumbers<'_> {
    let bytes = text.as_bytes();
    let pos = if has_enough_digits(bytes) {
        0
    } else {
        bytes.len()
    };
    CardNumbers { bytes, pos }
}

/// Every card number in `text`, left to right. Does not allocate when there is none.
pub fn find_card_numbers(text: &str) -> Vec<CardMatch> {
    card_numbers(text).collect()
}

/// Whether `text` holds at least one card number.
pub fn contains_card_number(text: &str) -> bool {
    card_numbers(text).next().is_some()
}

/// Returns None when the text holds no card number (no allocation in that case), else the
/// text with every card number replaced by `marker`, and the networks found in order.
///
/// Everything outside the card numbers, multi-byte characters included, is kept byte for
/// byte. With a marker holding no digits (such as [`MARKER`]) the result holds no card number,
/// so redacting it again returns `None`.
pub fn redact_card_numbers(text: &str, marker: &str) -> Option<(String, Vec<Network>)> {
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
        let bytes = self.bytes;
        while self.pos < bytes.len() {
            let Some(offset) = bytes[self.pos..].iter().position(u8::is_ascii_digit) else {
                break;
            };
            // `start` begins a group: the byte before it, if any, is not a digit.
            let start = self.pos + offset;
            let international = start > 0 && bytes[start - 1] == b'+';
            if !international && let Some((end, network)) = longest_candidate(bytes, start) {
                self.pos = end;
                return Some(CardMatch {
                    start,
                    end,
                    network,
                });
            }
            // No card starts here: move on to the next group, in this run or a later one.
            let rest = &bytes[start..];
            self.pos = start
                + rest
                    .iter()
                    .position(|b| !b.is_ascii_digit())
                    .unwrap_or(rest.len());
        }
        self.pos = bytes.len();
        None
    }
}

impl FusedIterator for CardNumbers<'_> {}

/// Whether `bytes` holds at least [`MIN_DIGITS`] ASCII digits. Counts in fixed-size chunks,
/// which the compiler vectorises, and stops as soon as the answer is known.
fn has_enough_digits(bytes: &[u8]) -> bool {
    if bytes.len() < MIN_DIGITS {
        return false;
    }
    let mut count = 0;
    for chunk in bytes.chunks(64) {
        count += chunk.iter().filter(|b| b.is_ascii_digit()).count();
        if count >= MIN_DIGITS {
            return true;
        }
    }
    false
}

/// The longest valid candidate whose first group starts at `start`, as (end offset, network).
fn longest_candidate(bytes: &[u8], start: usize) -> Option<(usize, Network)> {
    let mut digits = [0u8; MAX_DIGITS];
    let mut count = 0;
    let mut best = None;
    let mut i = start;
    loop {
        // Take the whole group at `i`; if it does not fit, neither does any longer candidate.
        while let Some(&b) = bytes.get(i)
            && b.is_ascii_digit()
        {
            if count == MAX_DIGITS {
                return best;
            }
            digits[count] = b - b'0';
            count += 1;
            i += 1;
        }
        if count >= MIN_DIGITS
            && let Some(network) = network_of(&digits[..count])
        {
            best = Some((i, network));
        }
        // Extend over one separator to the next group of the run, if there is one.
        match bytes.get(i..i + 2) {
            Some(&[b' ' | b'-', next]) if next.is_ascii_digit() => i += 1,
            _ => return best,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    // ---- Allocation counting, per thread, for the "no allocation" guarantee. ----

    struct CountingAllocator;

    thread_local! {
        static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
    }

    // SAFETY: delegates to the system allocator; the counter is a const-initialised
    // thread-local `Cell`, which never allocates.
    unsafe impl GlobalAlloc for CountingAllocator {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
            // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
            unsafe { System.alloc(layout) }
        }

        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: the caller upholds `GlobalAlloc::dealloc`'s contract.
            unsafe { System.dealloc(ptr, layout) }
        }
    }

    #[global_allocator]
    static ALLOCATOR: CountingAllocator = CountingAllocator;

    fn allocations() -> usize {
        ALLOCATIONS.with(Cell::get)
    }

    // ---- Helpers. ----

    /// The standard test numbers of every network (all Luhn-valid).
    const STANDARD: &[(&str, Network)] = &[
        ("4111111111111111", Network::Visa),
        ("4012888888881881", Network::Visa),
        ("4222222222222", Network::Visa),
        ("5555555555554444", Network::Mastercard),
        ("2223003122003222", Network::Mastercard),
        ("378282246310005", Network::Amex),
        ("371449635398431", Network::Amex),
        ("6011111111111117", Network::Discover),
        ("6011000990139424", Network::Discover),
        ("30569309025904", Network::Diners),
        ("36227206271667", Network::Diners),
        ("3056930009020004", Network::Diners),
        ("3530111333300000", Network::Jcb),
        ("3566002020360505", Network::Jcb),
        ("6200000000000005", Network::UnionPay),
        ("6212345678901232", Network::UnionPay),
        ("6205500000000000004", Network::UnionPay),
        ("6759649826438453", Network::Maestro),
        ("6304000000000000", Network::Maestro),
        ("5018000000000009", Network::Maestro),
        ("501800000009", Network::Maestro),
        ("135410014004955", Network::Uatp),
    ];

    fn digits_of(number: &str) -> Vec<u8> {
        number
            .bytes()
            .filter(u8::is_ascii_digit)
            .map(|b| b - b'0')
            .collect()
    }

    /// `prefix` followed by the digit that makes it Luhn-valid.
    fn with_check_digit(prefix: &str) -> String {
        (0..=9)
            .map(|d| format!("{prefix}{d}"))
            .find(|n| luhn_valid(&digits_of(n)))
            .unwrap()
    }

    /// The usual grouping of a number of `len` digits.
    fn grouping(len: usize) -> Vec<usize> {
        match len {
            13 => vec![4, 4, 5],
            14 => vec![4, 6, 4],
            15 => vec![4, 6, 5],
            19 => vec![4, 4, 4, 4, 3],
            _ => {
                let mut g = vec![4; len / 4];
                if !len.is_multiple_of(4) {
                    g.push(len % 4);
                }
                g
            }
        }
    }

    fn grouped(number: &str, groups: &[usize], separator: &str) -> String {
        let mut out = String::new();
        let mut at = 0;
        for (i, &g) in groups.iter().enumerate() {
            if i > 0 {
                out.push_str(separator);
            }
            out.push_str(&number[at..at + g]);
            at += g;
        }
        assert_eq!(at, number.len());
        out
    }

    /// The number without separators, with single spaces and with single dashes.
    fn notations(number: &str) -> [String; 3] {
        let groups = grouping(number.len());
        [
            number.to_owned(),
            grouped(number, &groups, " "),
            grouped(number, &groups, "-"),
        ]
    }

    /// The matched slices of `text` with their networks.
    fn found(text: &str) -> Vec<(&str, Network)> {
        find_card_numbers(text)
            .into_iter()
            .map(|m| (&text[m.start..m.end], m.network))
            .collect()
    }

    fn assert_no_card(text: &str) {
        assert_eq!(found(text), vec![], "unexpected card in {text:?}");
        assert_eq!(redact_card_numbers(text, MARKER), None, "{text:?}");
        assert!(!contains_card_number(text), "{text:?}");
    }

    /// Asserts that `prefix + written + suffix` holds exactly one card, `written`.
    fn assert_single_card(prefix: &str, written: &str, suffix: &str, network: Network) {
        let text = format!("{prefix}{written}{suffix}");
        assert_eq!(
            find_card_numbers(&text),
            vec![CardMatch {
                start: prefix.len(),
                end: prefix.len() + written.len(),
                network,
            }],
            "in {text:?}"
        );
        assert_eq!(
            redact_card_numbers(&text, MARKER),
            Some((format!("{prefix}{MARKER}{suffix}"), vec![network])),
            "in {text:?}"
        );
    }

    // ---- Luhn and classification. ----

    #[test]
    fn luhn_accepts_the_standard_test_numbers() {
        for &(number, _) in STANDARD {
            assert!(luhn_valid(&digits_of(number)), "{number}");
        }
    }

    #[test]
    fn luhn_rejects_any_single_changed_digit() {
        let valid = digits_of("4111111111111111");
        for i in 0..valid.len() {
            for d in 0..=9 {
                if d != valid[i] {
                    let mut changed = valid.clone();
                    changed[i] = d;
                    assert!(!luhn_valid(&changed), "{changed:?}");
                }
            }
        }
    }

    #[test]
    fn luhn_rejects_empty_input_and_values_above_nine() {
        assert!(!luhn_valid(&[]));
        assert!(luhn_valid(&[1, 8]));
        assert!(!luhn_valid(&[0, 10]));
        assert!(
            !luhn_valid(b"4111111111111111"),
            "ASCII bytes are not digit values"
        );
    }

    #[test]
    fn network_of_classifies_every_standard_test_number() {
        for &(number, network) in STANDARD {
            assert_eq!(network_of(&digits_of(number)), Some(network), "{number}");
        }
    }

    #[test]
    fn network_of_rejects_too_short_too_long_and_non_digit_input() {
        assert_eq!(
            network_of(&digits_of(&with_check_digit("50180000000"))),
            Some(Network::Maestro)
        );
        assert_eq!(
            network_of(&digits_of(&with_check_digit("5018000000"))),
            None
        );
        assert_eq!(
            network_of(&digits_of(&with_check_digit("4111111111111111111"))),
            None
        );
        assert_eq!(
            network_of(&[4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 11]),
            None
        );
        assert_eq!(network_of(&[]), None);
    }

    /// Whether `number` falls in `r`'s prefix range (whatever its length).
    fn prefix_in(r: &CardRange, number: &str) -> bool {
        let prefix: u32 = number[..usize::from(r.prefix_digits)].parse().unwrap();
        (r.low..=r.high).contains(&prefix)
    }

    #[test]
    fn every_range_boundary_is_inside_and_its_neighbours_outside() {
        for r in CARD_RANGES {
            let width = usize::from(r.prefix_digits);
            for &len in r.lengths {
                for prefix in [r.low, r.high] {
                    let number = number_with(&format!("{prefix:0width$}"), usize::from(len));
                    // A nested, more specific range would claim the number.
                    let expected = CARD_RANGES
                        .iter()
                        .filter(|o| o.prefix_digits > r.prefix_digits && prefix_in(o, &number))
                        .max_by_key(|o| o.prefix_digits)
                        .map_or(r.network, |o| o.network);
                    assert_eq!(network_of(&digits_of(&number)), Some(expected), "{number}");
                }
            }
        }
        // Just outside some ranges (and inside no other).
        for prefix in [
            "2220", "2721", "50", "56", "33", "35", "3527", "3590", "306", "643", "82",
        ] {
            let number = number_with(prefix, 16);
            assert_eq!(network_of(&digits_of(&number)), None, "{number}");
        }
    }

    #[test]
    fn the_discover_range_inside_unionpay_is_discover() {
        let inside = |p: &str| number_with(p, 16);
        assert_eq!(
            network_of(&digits_of(&inside("622126"))),
            Some(Network::Discover)
        );
        assert_eq!(
            network_of(&digits_of(&inside("622925"))),
            Some(Network::Discover)
        );
        assert_eq!(
            network_of(&digits_of(&inside("622125"))),
            Some(Network::UnionPay)
        );
        assert_eq!(
            network_of(&digits_of(&inside("622926"))),
            Some(Network::UnionPay)
        );
        assert_eq!(
            network_of(&digits_of(&inside("81"))),
            Some(Network::UnionPay)
        );
    }

    #[test]
    fn the_network_table_is_well_formed() {
        for r in CARD_RANGES {
            let digits = u32::from(r.prefix_digits);
            assert!((1..=MAX_PREFIX_DIGITS as u32).contains(&digits), "{r:?}");
            assert!(r.low <= r.high, "{r:?}");
            assert!(
                r.low >= 10u32.pow(digits - 1) && r.high < 10u32.pow(digits),
                "{r:?}"
            );
            assert!(!r.lengths.is_empty(), "{r:?}");
            assert!(r.lengths.windows(2).all(|w| w[0] < w[1]), "{r:?}");
            assert!(
                r.lengths
                    .iter()
                    .all(|&l| (MIN_DIGITS..=MAX_DIGITS).contains(&usize::from(l))),
                "{r:?}"
            );
        }
        for network in Network::ALL {
            assert!(
                CARD_RANGES.iter().any(|r| r.network == network),
                "{network:?}"
            );
        }
    }

    #[test]
    fn network_names_are_human_readable() {
        let names: Vec<_> = Network::ALL.iter().map(|n| n.name()).collect();
        assert_eq!(
            names,
            [
                "Visa",
                "Mastercard",
                "American Express",
                "Discover",
                "Diners Club",
                "JCB",
                "UnionPay",
                "Maestro",
                "UATP"
            ]
        );
        assert_eq!(Network::Amex.to_string(), "American Express");
    }

    // ---- Finding cards. ----

    #[test]
    fn finds_visa_with_spaces() {
        assert_eq!(
            found("pay with 4111 1111 1111 1111 please"),
            [("4111 1111 1111 1111", Network::Visa)]
        );
    }

    #[test]
    fn finds_visa_with_dashes() {
        assert_eq!(
            found("4111-1111-1111-1111"),
            [("4111-1111-1111-1111", Network::Visa)]
        );
    }

    #[test]
    fn finds_visa_without_separators() {
        assert_eq!(
            found("4111111111111111"),
            [("4111111111111111", Network::Visa)]
        );
    }

    #[test]
    fn finds_amex_in_its_four_six_five_grouping() {
        assert_eq!(
            found("amex 3782 822463 10005."),
            [("3782 822463 10005", Network::Amex)]
        );
    }

    #[test]
    fn finds_every_standard_test_number_in_every_notation() {
        for &(number, network) in STANDARD {
            for written in notations(number) {
                assert_single_card("", &written, "", network);
            }
        }
    }

    #[test]
    fn finds_every_standard_test_number_inside_free_text() {
        let contexts = [
            ("My card is ", " and it expires 12/27."),
            ("Card: ", ", thanks"),
            ("(", ")"),
            ("\"", "\""),
            ("number=", "&x=1"),
            ("line one\n", "\nline three"),
            ("ref", "x"),
            ("no. ", "."),
        ];
        for &(number, network) in STANDARD {
            for written in notations(number) {
                for (prefix, suffix) in contexts {
                    assert_single_card(prefix, &written, suffix, network);
                }
            }
        }
    }

    #[test]
    fn finds_a_card_at_the_start_and_at_the_end_of_the_string() {
        assert_single_card(
            "",
            "5555 5555 5555 4444",
            " was declined",
            Network::Mastercard,
        );
        assert_single_card("declined: ", "5555-5555-5555-4444", "", Network::Mastercard);
    }

    #[test]
    fn finds_a_card_next_to_punctuation() {
        for (prefix, suffix) in [
            (",", ","),
            (";", "."),
            ("[", "]"),
            ("#", "!"),
            ("/", "/"),
            (":", "?"),
        ] {
            assert_single_card(prefix, "4012 8888 8888 1881", suffix, Network::Visa);
            assert_single_card(prefix, "4012888888881881", suffix, Network::Visa);
        }
    }

    #[test]
    fn finds_a_card_next_to_multibyte_characters() {
        for (prefix, suffix) in [
            ("日本", "です"),
            ("€", "€"),
            ("«", "»"),
            ("Zürich ", " ✓"),
            ("🙂", "🙂"),
        ] {
            for written in notations("3530111333300000") {
                assert_single_card(prefix, &written, suffix, Network::Jcb);
            }
        }
    }

    #[test]
    fn finds_a_card_next_to_letters() {
        assert_eq!(
            found("card4111111111111111exp"),
            [("4111111111111111", Network::Visa)]
        );
        assert_eq!(
            found("x4111-1111-1111-1111y"),
            [("4111-1111-1111-1111", Network::Visa)]
        );
    }

    #[test]
    fn finds_two_cards_in_one_string() {
        let text = "first 4111 1111 1111 1111, second 378282246310005.";
        assert_eq!(
            found(text),
            [
                ("4111 1111 1111 1111", Network::Visa),
                ("378282246310005", Network::Amex)
            ]
        );
        assert_eq!(
            redact_card_numbers(text, MARKER),
            Some((
                format!("first {MARKER}, second {MARKER}."),
                vec![Network::Visa, Network::Amex]
            ))
        );
    }

    #[test]
    fn finds_two_cards_in_one_run() {
        assert_eq!(
            found("4111 1111 1111 1111 5555 5555 5555 4444"),
            [
                ("4111 1111 1111 1111", Network::Visa),
                ("5555 5555 5555 4444", Network::Mastercard)
            ]
        );
        assert_eq!(
            found("4111111111111111-5555555555554444"),
            [
                ("4111111111111111", Network::Visa),
                ("5555555555554444", Network::Mastercard)
            ]
        );
    }

    #[test]
    fn finds_a_card_after_a_uk_phone_number_in_the_same_run() {
        let text = "call 01484 840048 4111 1111 1111 1111";
        assert_eq!(found(text), [("4111 1111 1111 1111", Network::Visa)]);
        assert_eq!(
            redact_card_numbers(text, MARKER),
            Some((format!("call 01484 840048 {MARKER}"), vec![Network::Visa]))
        );
    }

    #[test]
    fn finds_a_card_after_an_international_phone_number_in_the_same_run() {
        assert_eq!(
            found("+44 1484 840048 4111 1111 1111 1111"),
            [("4111 1111 1111 1111", Network::Visa)]
        );
    }

    #[test]
    fn finds_a_card_before_a_phone_number_in_the_same_run() {
        assert_eq!(
            found("4111 1111 1111 1111 07700 900123"),
            [("4111 1111 1111 1111", Network::Visa)]
        );
    }

    #[test]
    fn accepts_mixed_separators_between_groups() {
        assert_eq!(
            found("4111 1111-1111 1111"),
            [("4111 1111-1111 1111", Network::Visa)]
        );
    }

    #[test]
    fn accepts_irregular_grouping() {
        assert_eq!(
            found("41 11111 111 111111"),
            [("41 11111 111 111111", Network::Visa)]
        );
        assert_eq!(
            found("4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1"),
            [("4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1", Network::Visa)]
        );
    }

    #[test]
    fn prefers_the_longest_valid_candidate_at_a_start() {
        // Both the 13-digit prefix and the 16-digit whole are valid Visa numbers.
        let sixteen = with_check_digit("422222222222222");
        assert!(sixteen.starts_with("4222222222222"));
        let written = format!("4222222222222 {}", &sixteen[13..]);
        assert_single_card("", &written, "", Network::Visa);
    }

    #[test]
    fn keeps_the_shorter_candidate_when_the_longer_one_is_invalid() {
        assert!(!luhn_valid(&digits_of("4111111111111111123")));
        assert_eq!(
            found("4111 1111 1111 1111 123"),
            [("4111 1111 1111 1111", Network::Visa)]
        );
    }

    #[test]
    fn matches_do_not_overlap() {
        // "1111 1111 1111 1111" alone is no card; the trailing group is not reused.
        assert_eq!(
            found("4111 1111 1111 1111 1111"),
            [("4111 1111 1111 1111", Network::Visa)]
        );
        let all = find_card_numbers("4111111111111111 4012888888881881 5555555555554444");
        assert_eq!(all.len(), 3);
        assert!(all.windows(2).all(|w| w[0].end < w[1].start));
    }

    #[test]
    fn separators_at_the_edges_are_not_part_of_the_match() {
        assert_single_card("-", "4111-1111-1111-1111", "-", Network::Visa);
        assert_single_card(" ", "4111 1111 1111 1111", " ", Network::Visa);
    }

    // ---- Leaving other numbers alone. ----

    #[test]
    fn rejects_luhn_failures() {
        for text in [
            "4111111111111112",
            "4111 1111 1111 1112",
            "5555-5555-5555-4445",
            "378282246310006",
            "6011111111111118",
            "135410014004956",
        ] {
            assert_no_card(text);
        }
    }

    /// A Luhn-valid number of `len` digits starting with `prefix`.
    fn number_with(prefix: &str, len: usize) -> String {
        with_check_digit(&format!("{prefix}{}", "0".repeat(len - 1 - prefix.len())))
    }

    #[test]
    fn rejects_wrong_lengths_for_the_network() {
        for (prefix, len) in [
            ("37", 14),
            ("37", 16),
            ("4", 12),
            ("4", 14),
            ("4", 15),
            ("4", 17),
            ("4", 18),
            ("51", 15),
            ("51", 17),
            ("2221", 19),
            ("1", 14),
            ("1", 16),
            ("6011", 15),
            ("3528", 15),
            ("62", 15),
            ("81", 12),
            ("36", 13),
            ("5018", 20),
        ] {
            let number = number_with(prefix, len);
            assert_eq!(number.len(), len);
            assert_no_card(&number);
            assert_no_card(&grouped(&number, &grouping(len), " "));
        }
    }

    #[test]
    fn accepts_every_allowed_length_of_the_network() {
        for (prefix, len, network) in [
            ("37", 15, Network::Amex),
            ("4", 13, Network::Visa),
            ("4", 16, Network::Visa),
            ("4", 19, Network::Visa),
            ("51", 16, Network::Mastercard),
            ("2221", 16, Network::Mastercard),
            ("1", 15, Network::Uatp),
            ("6011", 16, Network::Discover),
            ("6011", 19, Network::Discover),
            ("3528", 17, Network::Jcb),
            ("62", 18, Network::UnionPay),
            ("36", 14, Network::Diners),
            ("36", 19, Network::Diners),
            ("5018", 12, Network::Maestro),
            ("6763", 19, Network::Maestro),
        ] {
            let number = number_with(prefix, len);
            assert_eq!(number.len(), len);
            assert_single_card("", &number, "", network);
            assert_single_card("> ", &grouped(&number, &grouping(len), "-"), " <", network);
        }
    }

    #[test]
    fn rejects_unknown_prefixes() {
        for prefix in [
            "9", "7", "0", "8", "2", "31", "33", "60", "63", "640", "66", "50", "56", "58", "59",
        ] {
            let number = with_check_digit(&format!("{prefix}{}", "7".repeat(15 - prefix.len())));
            assert_no_card(&number);
            assert_no_card(&grouped(&number, &[4, 4, 4, 4], " "));
        }
    }

    #[test]
    fn leaves_uk_phone_numbers_alone() {
        for text in [
            "01484 840048",
            "07700 900123",
            "Call 01484 840048 or 07700 900123.",
            "01484-840048 07700-900123",
            "(01484) 840048",
            "tel: 020 7946 0958, mobile: 07700 900 123",
        ] {
            assert_no_card(text);
        }
    }

    #[test]
    fn leaves_international_phone_numbers_alone() {
        for text in [
            "+44 1484 840048",
            "+1 415 555 2671",
            "+44 7700 900123",
            "Ring +44 1484 840048 or +1 415 555 2671 today",
            "+441484840048",
            "+14155552671",
            "+86 138 0013 8000",
        ] {
            assert_no_card(text);
        }
    }

    #[test]
    fn treats_a_plus_before_the_first_group_as_a_phone_number() {
        assert_no_card("+4111111111111111");
        assert_no_card("+4111 1111 1111 1111");
        assert_no_card("dial +378282246310005");
        // Only the group right after '+' is barred from starting a card.
        assert_eq!(
            found("+44 4111111111111111"),
            [("4111111111111111", Network::Visa)]
        );
        assert_eq!(
            found("+ 4111111111111111"),
            [("4111111111111111", Network::Visa)]
        );
    }

    #[test]
    fn leaves_order_numbers_alone() {
        for text in [
            "ORD-2024-000123",
            "Order ORD-2024-000123 shipped",
            "INV-2024-05-000042-7",
        ] {
            assert_no_card(text);
        }
    }

    #[test]
    fn leaves_iso_dates_and_times_alone() {
        for text in [
            "2024-01-15",
            "2024-01-15T10:30:00Z",
            "2024-01-15 10:30:00.123456+01:00",
            "from 2024-01-15 to 2024-02-20",
            "2024-01-15/2024-02-20",
            "20240115103000",
        ] {
            assert_no_card(text);
        }
    }

    #[test]
    fn ignores_luhn_valid_stretches_inside_a_twenty_digit_run() {
        let twenty = with_check_digit("4111111111111111000");
        assert_eq!(twenty.len(), 20);
        assert!(luhn_valid(&digits_of(&twenty)));
        assert_no_card(&twenty);
        assert_no_card("41111111111111110000");
        assert_no_card("04111111111111111");
        assert_no_card(&format!("order {twenty} shipped"));
        assert_no_card(&"4111111111111111".repeat(4));
    }

    #[test]
    fn leaves_iban_like_strings_alone() {
        for text in [
            "GB82 WEST 1234 5698 7654 32",
            "GB82WEST12345698765432",
            "DE89 3704 0044 0532 0130 00",
            "FR14 2004 1010 0505 0001 3M02 606",
        ] {
            assert_no_card(text);
        }
    }

    #[test]
    fn double_separators_split_groups() {
        assert_no_card("4111  1111  1111  1111");
        assert_no_card("4111--1111--1111--1111");
        assert_no_card("4111 - 1111 - 1111 - 1111");
    }

    #[test]
    fn other_whitespace_and_punctuation_do_not_join_groups() {
        assert_no_card("4111\t1111\t1111\t1111");
        assert_no_card("4111\n1111\n1111\n1111");
        assert_no_card("4111.1111.1111.1111");
        assert_no_card("4111\u{a0}1111\u{a0}1111\u{a0}1111");
    }

    #[test]
    fn only_ascii_digits_are_digits() {
        // Fullwidth digits.
        assert_no_card("４１１１１１１１１１１１１１１１");
    }

    #[test]
    fn texts_with_fewer_than_twelve_digits_are_skipped() {
        assert!(!has_enough_digits(b""));
        assert!(!has_enough_digits(b"12345678901"));
        assert!(!has_enough_digits("a1b2c3d4e5f6g7h8i9j0k1 and some long text ......................................................................".as_bytes()));
        assert!(has_enough_digits(b"123456789012"));
        assert!(has_enough_digits(
            format!("{}123456{}654321", "x".repeat(100), "y".repeat(100)).as_bytes()
        ));
        assert_no_card("");
        assert_no_card("hello");
    }

    #[test]
    fn long_digit_texts_are_scanned_without_trouble() {
        assert_no_card(&"1".repeat(100_000));
        assert_no_card(&"1 ".repeat(50_000));
        assert_no_card(&"12-".repeat(30_000));
        let text = format!(
            "{}x4111111111111111x{}",
            "9".repeat(50_000),
            "0 ".repeat(10_000)
        );
        assert_eq!(found(&text), [("4111111111111111", Network::Visa)]);
    }

    #[test]
    fn the_marker_holds_no_card_number() {
        assert_no_card(MARKER);
    }

    // ---- Redaction. ----

    #[test]
    fn redaction_returns_none_when_there_is_no_card() {
        assert_eq!(redact_card_numbers("call 01484 840048", MARKER), None);
        assert_eq!(redact_card_numbers("", MARKER), None);
    }

    #[test]
    fn redaction_preserves_surrounding_multibyte_text_exactly() {
        let text = "Grüße 🙂 — Karte 4111-1111-1111-1111 — 日本 5555555555554444€";
        let (out, networks) = redact_card_numbers(text, MARKER).unwrap();
        assert_eq!(out, format!("Grüße 🙂 — Karte {MARKER} — 日本 {MARKER}€"));
        assert_eq!(networks, [Network::Visa, Network::Mastercard]);
    }

    #[test]
    fn redaction_uses_the_given_marker() {
        assert_eq!(
            redact_card_numbers("a 4111111111111111 b", "****"),
            Some(("a **** b".to_owned(), vec![Network::Visa]))
        );
        assert_eq!(
            redact_card_numbers("4111111111111111", ""),
            Some((String::new(), vec![Network::Visa]))
        );
    }

    #[test]
    fn does_not_allocate_when_no_card_is_found() {
        let texts = [
            "",
            "short",
            "call 01484 840048 or +44 1484 840048, order ORD-2024-000123 on 2024-01-15",
            "4111111111111112 and 41111111111111110000 and 9999 9999 9999 9995",
            "日本語のテキスト 1234 5678 9012 3456 7",
        ];
        // The counter works: allocating is seen.
        let before = allocations();
        let boxed = std::hint::black_box(Box::new(1u8));
        assert!(allocations() > before);
        drop(boxed);
        for text in texts {
            let before = allocations();
            let none = redact_card_numbers(text, MARKER);
            let matches = find_card_numbers(text);
            let any = contains_card_number(text);
            let after = allocations();
            assert_eq!((none, matches.len(), any), (None, 0, false), "{text:?}");
            assert_eq!(after, before, "allocated while scanning {text:?}");
        }
    }

    // ---- Property-style tests over generated texts. ----

    /// xorshift64*: small, deterministic, good enough to generate test data.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
            &items[self.below(items.len())]
        }

        fn pick_str<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[self.below(items.len())]
        }
    }

    /// A random valid card number from a random range of the table.
    fn random_card(rng: &mut Rng) -> (String, Network) {
        let r = rng.pick(CARD_RANGES);
        let prefix = r.low + (rng.next() % u64::from(r.high - r.low + 1)) as u32;
        let len = usize::from(*rng.pick(r.lengths));
        let mut number = format!("{prefix:0width$}", width = usize::from(r.prefix_digits));
        while number.len() < len - 1 {
            number.push(char::from(b'0' + rng.below(10) as u8));
        }
        let number = with_check_digit(&number);
        let network = network_of(&digits_of(&number)).expect("generated numbers are cards");
        (number, network)
    }

    /// `number` written plainly, in its usual grouping, or in random groups with random
    /// single separators.
    fn random_notation(rng: &mut Rng, number: &str) -> String {
        match rng.below(4) {
            0 => number.to_owned(),
            1 => grouped(number, &grouping(number.len()), " "),
            2 => grouped(number, &grouping(number.len()), "-"),
            _ => {
                let mut out = String::new();
                for (i, c) in number.chars().enumerate() {
                    if i > 0 && rng.below(4) == 0 {
                        out.push(*rng.pick(&[' ', '-']));
                    }
                    out.push(c);
                }
                out
            }
        }
    }

    fn random_digits(rng: &mut Rng, len: usize) -> String {
        (0..len)
            .map(|_| char::from(b'0' + rng.below(10) as u8))
            .collect()
    }

    /// Filler that holds no card number on its own.
    const FILLER: &[&str] = &[
        "hello",
        "Zürich",
        "日本語",
        "€",
        "🙂",
        "naïve",
        "ORD-2024-000123",
        "2024-01-15",
        "+44 1484 840048",
        "01484 840048",
        "07700 900123",
        "+1 415 555 2671",
        "GB82 WEST 1234 5698 7654 32",
        "4111111111111112",
        "41111111111111110000",
        "12/27",
        "CVV 123",
    ];

    /// The same rules as the scanner, written the slow and obvious way: collect all groups,
    /// then try every start greedily.
    fn reference_matches(text: &str) -> Vec<CardMatch> {
        let b = text.as_bytes();
        let groups = groups_of(b);
        let joined =
            |k: usize| groups[k + 1].0 == groups[k].1 + 1 && matches!(b[groups[k].1], b' ' | b'-');
        let mut out = Vec::new();
        let mut k = 0;
        while k < groups.len() {
            let mut best = None;
            if groups[k].0 == 0 || b[groups[k].0 - 1] != b'+' {
                let mut ds = Vec::new();
                let mut j = k;
                loop {
                    ds.extend(b[groups[j].0..groups[j].1].iter().map(|c| c - b'0'));
                    if ds.len() > MAX_DIGITS {
                        break;
                    }
                    if let Some(network) = network_of(&ds) {
                        best = Some((j, network));
                    }
                    if j + 1 < groups.len() && joined(j) {
                        j += 1;
                    } else {
                        break;
                    }
                }
            }
            match best {
                Some((j, network)) => {
                    out.push(CardMatch {
                        start: groups[k].0,
                        end: groups[j].1,
                        network,
                    });
                    k = j + 1;
                }
                None => k += 1,
            }
        }
        out
    }

    fn groups_of(b: &[u8]) -> Vec<(usize, usize)> {
        let mut groups = Vec::new();
        let mut i = 0;
        while i < b.len() {
            if b[i].is_ascii_digit() {
                let s = i;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                groups.push((s, i));
            } else {
                i += 1;
            }
        }
        groups
    }

    /// Whether any candidate at all (any whole-group sequence of a run, not only those the
    /// greedy scan tries) is a card number.
    fn any_candidate_is_a_card(text: &str) -> bool {
        let b = text.as_bytes();
        let groups = groups_of(b);
        for k in 0..groups.len() {
            if groups[k].0 > 0 && b[groups[k].0 - 1] == b'+' {
                continue;
            }
            let mut ds = Vec::new();
            for j in k..groups.len() {
                if j > k
                    && !(groups[j].0 == groups[j - 1].1 + 1
                        && matches!(b[groups[j - 1].1], b' ' | b'-'))
                {
                    break;
                }
                ds.extend(b[groups[j].0..groups[j].1].iter().map(|c| c - b'0'));
                if network_of(&ds).is_some() {
                    return true;
                }
            }
        }
        false
    }

    #[test]
    fn the_filler_holds_no_card() {
        for text in FILLER {
            assert_no_card(text);
        }
    }

    #[test]
    fn generated_cards_are_found_in_every_notation_and_context() {
        let mut rng = Rng(0x5eed_0001);
        // Delimiters that never join the card to its neighbours.
        let delimiters = [", ", " | ", "\n", "é ", " (", ") ", ": ", ". "];
        for _ in 0..2_000 {
            let mut text = String::new();
            let mut expected = Vec::new();
            for _ in 0..1 + rng.below(6) {
                if !text.is_empty() {
                    text.push_str(rng.pick_str(&delimiters));
                }
                if rng.below(2) == 0 {
                    let (number, network) = random_card(&mut rng);
                    let written = random_notation(&mut rng, &number);
                    let start = text.len();
                    text.push_str(&written);
                    expected.push(CardMatch {
                        start,
                        end: text.len(),
                        network,
                    });
                } else {
                    text.push_str(rng.pick_str(FILLER));
                }
            }
            assert_eq!(find_card_numbers(&text), expected, "in {text:?}");
            let networks: Vec<_> = expected.iter().map(|m| m.network).collect();
            match redact_card_numbers(&text, MARKER) {
                None => assert!(expected.is_empty(), "in {text:?}"),
                Some((out, found)) => {
                    assert_eq!(found, networks, "in {text:?}");
                    assert_eq!(out.matches(MARKER).count(), expected.len(), "in {text:?}");
                }
            }
        }
    }

    #[test]
    fn redaction_leaves_no_candidate_behind_and_is_idempotent() {
        let mut rng = Rng(0x5eed_0002);
        let joins = [
            " ", "-", "", "  ", "--", "+", " +", "x", "é", ", ", "\n", "/",
        ];
        let mut redacted_texts = 0;
        for _ in 0..5_000 {
            let mut text = String::new();
            for _ in 0..1 + rng.below(8) {
                text.push_str(rng.pick_str(&joins));
                match rng.below(4) {
                    0 => {
                        let (number, _) = random_card(&mut rng);
                        text.push_str(&random_notation(&mut rng, &number));
                    }
                    1 => text.push_str(rng.pick_str(FILLER)),
                    _ => {
                        let len = 1 + rng.below(8);
                        text.push_str(&random_digits(&mut rng, len));
                    }
                }
            }
            let matches = find_card_numbers(&text);
            match redact_card_numbers(&text, MARKER) {
                None => {
                    assert!(matches.is_empty(), "in {text:?}");
                    assert!(!any_candidate_is_a_card(&text), "missed a card in {text:?}");
                }
                Some((out, networks)) => {
                    redacted_texts += 1;
                    let mut rebuilt = String::new();
                    let mut at = 0;
                    for m in &matches {
                        rebuilt.push_str(&text[at..m.start]);
                        rebuilt.push_str(MARKER);
                        at = m.end;
                    }
                    rebuilt.push_str(&text[at..]);
                    assert_eq!(out, rebuilt, "in {text:?}");
                    assert_eq!(
                        networks,
                        matches.iter().map(|m| m.network).collect::<Vec<_>>()
                    );
                    assert!(!any_candidate_is_a_card(&out), "left a card in {out:?}");
                    assert_eq!(
                        redact_card_numbers(&out, MARKER),
                        None,
                        "not idempotent: {out:?}"
                    );
                }
            }
        }
        assert!(redacted_texts > 1_000, "the generator should produce cards");
    }

    #[test]
    fn the_scanner_agrees_with_a_reference_implementation() {
        let mut rng = Rng(0x5eed_0003);
        let joins = [" ", " ", "-", "", "+", "a", "é", "  "];
        for _ in 0..5_000 {
            let mut text = String::new();
            for _ in 0..1 + rng.below(12) {
                text.push_str(rng.pick_str(&joins));
                if rng.below(3) == 0 {
                    let (number, _) = random_card(&mut rng);
                    text.push_str(&random_notation(&mut rng, &number));
                } else {
                    let len = 1 + rng.below(7);
                    text.push_str(&random_digits(&mut rng, len));
                }
            }
            let matches = find_card_numbers(&text);
            assert_eq!(matches, reference_matches(&text), "in {text:?}");
            assert_eq!(card_numbers(&text).count(), matches.len());
            assert_eq!(contains_card_number(&text), !matches.is_empty());
        }
    }
}
