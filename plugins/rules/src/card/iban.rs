//! IBANs (ISO 13616) in normalised text, so that their digits are not taken for a card.
//!
//! An IBAN is two letters (the country), two check digits and up to 30 letters and digits
//! (the account), usually printed in blocks of four separated by single spaces. It is valid
//! when, moved so that its first four characters come last and read with `A` = 10 ... `Z` =
//! 35, it leaves 1 when divided by 97.

use crate::normalise::{NormChar, NormChars};

/// The fewest characters an IBAN has (Norway's).
const MIN_LEN: usize = 15;

/// The most characters an IBAN has.
const MAX_LEN: usize = 34;

/// The value of a letter or digit in the IBAN check (`0`-`9` and `A` = 10 to `Z` = 35,
/// either case), or `None`.
fn value(c: char) -> Option<u32> {
    match c {
        '0'..='9' => Some(u32::from(c) - u32::from('0')),
        'a'..='z' | 'A'..='Z' => Some(u32::from(c.to_ascii_uppercase()) - u32::from('A') + 10),
        _ => None,
    }
}

/// Where the valid IBAN that starts with the letters `l1 l2` ends, given the character
/// `first` that follows them and the characters `rest` after that: the byte offset in the
/// original text just past its last character, or `None` when no valid IBAN starts there.
///
/// The IBAN is read in blocks of letters and digits separated by single spaces, and may end
/// at the end of any block: the first end at which the check holds, with at least 15
/// characters, is taken.
pub(super) fn end(l1: char, l2: char, first: NormChar, rest: NormChars<'_>) -> Option<usize> {
    let mut rest = std::iter::once(first).chain(rest);
    let (Some(v1), Some(v2)) = (value(l1), value(l2)) else {
        return None;
    };
    let mut check = [0u32; 2];
    let mut last_end = 0; // just past the last character read
    for slot in &mut check {
        let c = rest.next()?;
        if !c.ch.is_ascii_digit() {
            return None;
        }
        *slot = value(c.ch)?;
        last_end = c.end;
    }
    // The first four characters, moved to the end, as the decimal number they read as: two
    // two-digit letter values and the two check digits.
    let tail = v1 * 10_000 + v2 * 100 + check[0] * 10 + check[1];
    let mut remainder = 0; // of the account part read so far, mod 97
    let mut len = 4;
    let mut after_space = false;
    let valid_here =
        |remainder: u32, len: usize| len >= MIN_LEN && (remainder * 1_000_000 + tail) % 97 == 1;
    for c in rest {
        if let Some(v) = value(c.ch) {
            len += 1;
            if len > MAX_LEN {
                return None;
            }
            remainder = (remainder * if v < 10 { 10 } else { 100 } + v) % 97;
            last_end = c.end;
            after_space = false;
        } else {
            // A block ends here.
            if valid_here(remainder, len) {
                return Some(last_end);
            }
            if c.ch != ' ' || after_space {
                return None;
            }
            after_space = true;
        }
    }
    valid_here(remainder, len).then_some(last_end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::normalise::chars;

    /// The end of the IBAN at the start of `text`, as the text it spans.
    fn iban_in(text: &str) -> Option<&str> {
        let mut it = chars(text);
        let l1 = it.next()?.ch;
        let l2 = it.next()?.ch;
        let first = it.next()?;
        end(l1, l2, first, it).map(|e| &text[..e])
    }

    #[test]
    fn finds_valid_ibans_in_print_and_compact_form() {
        for iban in [
            "GB29 NWBK 6016 1331 9268 19",
            "GB29NWBK60161331926819",
            "DE89 3704 0044 0532 0130 00",
            "FR14 2004 1010 0505 0001 3M02 606",
            "GB82 WEST 1234 5698 7654 32",
            "NO93 8601 1117 947",
            "gb29 nwbk 6016 1331 9268 19",
        ] {
            assert_eq!(iban_in(iban), Some(iban), "{iban}");
            assert_eq!(iban_in(&format!("{iban}, thanks")), Some(iban), "{iban}");
            assert_eq!(iban_in(&format!("{iban} 4111")), Some(iban), "{iban}");
        }
    }

    #[test]
    fn rejects_wrong_check_digits_and_malformed_text() {
        for text in [
            "GB28 NWBK 6016 1331 9268 19",
            "DE89 3704 0044 0532 0130 01",
            "DE89  3704 0044 0532 0130 00",
            "DE8 93704 0044 0532 0130 00",
            "DEX9 3704 0044 0532 0130 00",
            "DE89",
            "DE89 3704",
            "DE89 3704 0044 0532 0130 0000 0000 0000 0000 0",
        ] {
            assert_eq!(iban_in(text), None, "{text}");
        }
    }
}
