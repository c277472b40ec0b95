//! MAC addresses (MAC-48): parsing the usual notations, and one canonical form.
//!
//! Clause 2.2.2 has ProVu keep provisioned devices searchable and pass their MAC addresses to
//! vendors' redirection servers; storing every MAC in one form makes both reliable. The
//! canonical form is six lowercase two-digit hex groups joined by colons:
//! `00:15:65:aa:bb:cc`.
//!
//! Accepted notations (surrounding whitespace is ignored, hex digits may be in either case):
//!
//! | Notation          | Example             |
//! |-------------------|---------------------|
//! | colons (IEEE)     | `00:15:65:AA:BB:CC` |
//! | hyphens (IEEE)    | `00-15-65-aa-bb-cc` |
//! | dots (Cisco)      | `0015.65aa.bbcc`    |
//! | bare hex          | `001565aabbcc`      |
//!
//! Anything else is not a MAC address: a wrong number of digits, a non-hex digit, separators
//! mixed within one address (`00:15-65:aa:bb:cc`), or groups of the wrong size
//! (`0:15:65:aa:bb:cc`, `001565:aabbcc`).

/// Parses a MAC-48 written in one of the notations of the module documentation into its six
/// bytes.
pub fn parse(text: &str) -> Option<[u8; 6]> {
    let s = text.trim().as_bytes();
    let (group, separator) = match s.len() {
        12 => (12, None),
        14 => (4, Some(b'.')),
        17 => (2, s.get(2).copied().filter(|c| matches!(c, b':' | b'-'))),
        _ => return None,
    };
    if group != 12 && separator.is_none() {
        return None;
    }
    let mut digits = [0u8; 12];
    let mut count = 0;
    for (i, &c) in s.iter().enumerate() {
        // With a separator, every (group + 1)-th character is one.
        if let Some(sep) = separator
            && i % (group + 1) == group
        {
            if c != sep {
                return None;
            }
            continue;
        }
        digits[count] = hex_value(c)?;
        count += 1;
    }
    debug_assert_eq!(count, 12);
    let mut bytes = [0u8; 6];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = (digits[2 * i] << 4) | digits[2 * i + 1];
    }
    Some(bytes)
}

/// The canonical form of `bytes`: lowercase hex, colon-separated (`00:15:65:aa:bb:cc`).
pub fn format(bytes: [u8; 6]) -> String {
    let mut out = String::with_capacity(17);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    out
}

/// The canonical form (`00:15:65:aa:bb:cc`) of a MAC-48 written in any notation of the
/// module documentation, or `None` when `text` is not one.
///
/// ```
/// use sluice_rules::mac::normalise;
/// assert_eq!(normalise("0015.65AA.BBCC").as_deref(), Some("00:15:65:aa:bb:cc"));
/// assert_eq!(normalise("00:15-65:aa:bb:cc"), None);
/// ```
pub fn normalise(text: &str) -> Option<String> {
    parse(text).map(format)
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CANONICAL: &str = "00:15:65:aa:bb:cc";

    fn n(text: &str) -> Option<String> {
        normalise(text)
    }

    /// Notations of [`CANONICAL`].
    const NOTATIONS: &[&str] = &[
        // Colon notation, in any case.
        "00:15:65:AA:BB:CC",
        "00:15:65:aa:bb:cc",
        "00:15:65:aA:Bb:cC",
        // Hyphen notation.
        "00-15-65-aa-bb-cc",
        "00-15-65-AA-BB-CC",
        // Cisco dot notation.
        "0015.65aa.bbcc",
        "0015.65AA.BBCC",
        // Bare hex.
        "001565aabbcc",
        "001565AABBCC",
        // Surrounding whitespace is trimmed.
        "  00:15:65:aa:bb:cc\n",
        "\t0015.65aa.bbcc ",
        " 001565aabbcc ",
    ];

    /// Texts that are no MAC address.
    const NOT_ADDRESSES: &[&str] = &[
        // Wrong lengths.
        "",
        "   ",
        "00:15:65:aa:bb",
        "00:15:65:aa:bb:cc:dd",
        "00:15:65:aa:bb:c",
        "001565aabbc",
        "001565aabbccd",
        "0015.65aa.bbc",
        "0015.65aa.bbcc.ddee",
        // EUI-64 is not MAC-48.
        "00:15:65:ff:fe:aa:bb:cc",
        // Non-hex digits.
        "00:15:65:aa:bb:cg",
        "0g-15-65-aa-bb-cc",
        "0015.65aa.bbcz",
        "001565aabbc ",
        "001565aabbcx",
        "00:15:65:aa:bb:+c",
        "00:15:65:aa:bb: c",
        // Mixed separators.
        "00:15-65:aa:bb:cc",
        "00-15-65-aa-bb:cc",
        "00.15.65.aa.bb.cc",
        "0015:65aa.bbcc",
        "00 15 65 aa bb cc",
        // Groups of the wrong size.
        "0:15:65:aa:bb:ccc",
        "001:5:65:aa:bb:cc",
        "0015:65aa:bbcc",
        "0015-65aa-bbcc",
        "00156.5aa.bbcc",
        "001565:aabbcc",
        "00156:5aabbcc",
        ":0015:65:aa:bb:cc",
        // Inner whitespace and other text.
        "mac 00:15:65:aa:bb:cc",
        "00:15:65:aa:bb:cc,",
        "0015 65aa bbcc",
        "00:15:65:\u{e4}a:bb:c",
        "not a mac address",
        "４４:15:65:aa:bb:cc",
    ];

    #[test]
    fn every_notation_gives_the_canonical_form() {
        for text in NOTATIONS {
            assert_eq!(n(text).as_deref(), Some(CANONICAL), "{text:?}");
        }
    }

    #[test]
    fn texts_that_are_no_mac_address_are_rejected() {
        for text in NOT_ADDRESSES {
            assert_eq!(n(text), None, "{text:?}");
        }
    }

    #[test]
    fn the_canonical_form_is_its_own_normal_form() {
        assert_eq!(n(CANONICAL).as_deref(), Some(CANONICAL));
        for text in [
            "ff:ff:ff:ff:ff:ff",
            "00:00:00:00:00:00",
            "01:23:45:67:89:ab",
        ] {
            assert_eq!(n(text).as_deref(), Some(text));
        }
    }

    #[test]
    fn every_notation_of_an_address_gives_the_same_canonical_form() {
        let bytes = [0x80, 0x5e, 0xc0, 0x1f, 0x2a, 0x9d];
        let canonical = format(bytes);
        assert_eq!(canonical, "80:5e:c0:1f:2a:9d");
        for text in [
            "80:5E:C0:1F:2A:9D",
            "80-5e-c0-1f-2a-9d",
            "805e.c01f.2a9d",
            "805EC01F2A9D",
        ] {
            assert_eq!(parse(text), Some(bytes), "{text}");
            assert_eq!(n(text).as_deref(), Some(canonical.as_str()), "{text}");
        }
    }

    #[test]
    fn format_writes_lowercase_two_digit_groups() {
        assert_eq!(format([0; 6]), "00:00:00:00:00:00");
        assert_eq!(
            format([0xab, 0xcd, 0xef, 0x01, 0x0a, 0xff]),
            "ab:cd:ef:01:0a:ff"
        );
    }

    #[test]
    fn every_byte_value_round_trips() {
        for b in 0..=255u8 {
            let bytes = [b, 255 - b, b ^ 0x5a, 0, b, 0xff];
            let text = format(bytes);
            assert_eq!(parse(&text), Some(bytes));
            assert_eq!(parse(&text.to_uppercase().replace(':', "-")), Some(bytes));
            assert_eq!(parse(&text.replace(':', "")), Some(bytes));
        }
    }
}
