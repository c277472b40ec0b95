//! Test helpers shared by the unit tests of `card` and the card corpus: a small
//! deterministic generator of test data, and Luhn-valid numbers and valid IBANs made to
//! order. Both include this file with `#[path]` and name `luhn_valid` in the module that
//! includes it.

#![allow(
    dead_code,
    reason = "each test that includes this file uses only part of it"
)]

use super::luhn_valid;

/// xorshift64*: small, deterministic, good enough to generate test data.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    pub fn pick_str<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    pub fn digit(&mut self) -> char {
        char::from(b'0' + self.below(10) as u8)
    }

    pub fn digits(&mut self, n: usize) -> String {
        (0..n).map(|_| self.digit()).collect()
    }
}

/// The values of the ASCII digits of `number`, whatever else it holds.
pub fn digits_of(number: &str) -> Vec<u8> {
    number
        .bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| b - b'0')
        .collect()
}

/// `prefix` followed by the digit that makes it Luhn-valid.
pub fn with_check_digit(prefix: &str) -> String {
    (0..=9)
        .map(|d| format!("{prefix}{d}"))
        .find(|n| luhn_valid(&digits_of(n)))
        .unwrap()
}

/// The usual grouping of a number of `len` digits.
pub fn grouping(len: usize) -> Vec<usize> {
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

/// The valid IBAN of `country` with account part `bban`.
pub fn iban_with(country: &str, bban: &str) -> String {
    let remainder = iban_remainder(&format!("{bban}{country}00"));
    format!("{country}{:02}{bban}", 98 - remainder)
}

/// The remainder of `text` divided by 97, its letters read as the numbers 10 to 35 (the
/// IBAN check, ISO 7064 MOD 97-10): 1 for a valid IBAN whose first four characters are
/// moved to its end.
pub fn iban_remainder(text: &str) -> u32 {
    let numeric: String = text
        .chars()
        .map(|c| c.to_digit(36).unwrap().to_string())
        .collect();
    numeric
        .bytes()
        .fold(0u32, |r, b| (r * 10 + u32::from(b - b'0')) % 97)
}
