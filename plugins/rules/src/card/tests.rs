//! Unit tests of card-number detection and redaction.

use super::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

#[path = "../../tests/support/card_numbers.rs"]
mod card_numbers;
use card_numbers::{Rng, digits_of, grouping, iban_remainder, iban_with, with_check_digit};

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
    assert!(contains_card_number(&text), "in {text:?}");
    assert!(contains_card_number(written), "in {written:?}");
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
        ("no. ", "."),
        ("ref", "x"),
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
    assert_eq!(
        found("card\u{200b}4111 1111 1111 1111"),
        [("4111 1111 1111 1111", Network::Visa)]
    );
    assert_eq!(
        found("カード番号4111 1111 1111 1111です"),
        [("4111 1111 1111 1111", Network::Visa)]
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

// ---- Notations: separators, Unicode, transcripts, PDFs. ----

/// `number` in its usual grouping with `separator` between the groups.
fn in_layout(number: &str, separator: &str) -> String {
    grouped(number, &grouping(number.len()), separator)
}

#[test]
fn every_separator_joins_the_groups_of_a_printed_layout() {
    let separators = [
        " ", "-", ".", "/", "_", ",", "\t", "\n", "\r\n", "  ", "   ", "    ", ", ", " - ", " / ",
        " . ", "--", ",\n", "-\n", " \n", "–", "—", " – ", " — ", "‐", "‑", "‒", "―", "−", "﹣",
        "－", "\u{a0}", "\u{202f}", "\u{2007}", "\u{2009}", "\u{200a}", "\u{2002}", "\u{205f}",
        "\u{3000}", "\u{1680}", "·", "•", "・", "、", "\u{2028}",
    ];
    for &(number, network) in STANDARD {
        for separator in separators {
            let written = in_layout(number, separator);
            assert_single_card("", &written, "", network);
            assert_single_card("card: ", &written, ", thanks", network);
        }
    }
}

#[test]
fn mixed_separators_join_the_groups_of_a_printed_layout() {
    for written in [
        "4111.1111-1111 1111",
        "4111–1111/1111_1111",
        "4111\u{a0}1111-1111.1111",
        "4111 1111\n1111 1111",
        "4111 1111 \n1111 1111",
        "4111-\n1111-\n1111-\n1111",
        "4111 1111  1111 1111",
        "4111,1111.1111-1111",
    ] {
        assert_single_card("pay ", written, " now", Network::Visa);
    }
    assert_single_card("", "3782-822463 10005", "", Network::Amex);
}

#[test]
fn gaps_with_different_signatures_do_not_join_a_layout() {
    // Several characters in some gaps and not in others: two numbers, not one.
    assert_no_card("4111 1111, 1111 1111");
    assert_no_card("4111-1111 / 1111-1111");
    assert_no_card("4111, 1111 - 1111, 1111");
    // Something else between the groups.
    assert_no_card("4111 x 1111 x 1111 x 1111");
    // Long gaps that are not alike, in a layout that only allows alike gaps.
    assert_no_card("4111     1111 1111     111");
    assert_no_card("4111\t\t\t\t\t1111-----1111 1");
    // A colon repeated is no free gap (IPv6 addresses).
    assert_no_card("4111::1111:1111:1111");
    // More than sixteen separators.
    let far = " ".repeat(17);
    assert_no_card(&format!("4111{far}1111{far}1111{far}1111"));
}

#[test]
fn each_gap_of_a_four_four_four_four_or_amex_layout_may_be_long() {
    let visa = "4111111111111111";
    let amex = "378282246310005";
    let cases = [
        "4111     1111 1111 1111",
        "4111 1111 1111          1111",
        "4111\t\t\t\t\t\t1111 1111 1111",
        "4111\n\n\n\n\n\n1111 1111 1111",
        "4111--1111-1111-1111",
        "4111---1111-1111-1111",
        "4111......1111.1111.1111",
        "4111     1111 1111     1111",
        "4111\t\t\t\t\t1111-----1111     1111",
        "4111 1111 1111                1111",
    ];
    for written in cases {
        assert_single_card("card ", written, " ok", Network::Visa);
    }
    assert_single_card("", "3782     822463 10005", "", Network::Amex);
    assert_single_card("", "3782--822463-10005", "", Network::Amex);
    let _ = (visa, amex);
    // Still never across letters, nor past sixteen separators.
    assert_no_card("4111     x 1111 1111 1111");
    assert_no_card(&format!("4111{}1111 1111 1111", " ".repeat(17)));
    // Other layouts keep their rule.
    assert_no_card("4111     1111 1111 1");
    // A free gap continues a 4-4-4 layout (`630483039917` is a 12-digit Maestro number).
    assert_single_card("", "6304 8303 9917", "", Network::Maestro);
    for written in [
        "6304-8303-9917--8971",
        "6304.8303.9917......8971",
        "6304 8303 9917     8971",
        "6304 8303 9917\n\n\n\n\n\n8971",
    ] {
        assert_no_card(written);
    }
}

#[test]
fn html_and_encoded_spaces_between_groups_are_separators() {
    for written in [
        "4111<span class=\"x\">1111</span> 1111 1111",
        "<td>4111</td><td>1111</td><td>1111</td><td>1111",
        "4111</b> <b>1111</b> <b>1111</b> <b>1111",
        "4111<!-- -->1111<!-- -->1111<!-- -->1111",
        "4111<!---->1111 1111 1111",
        "4111<b>1111 1111 1111",
        "4111&nbsp;1111&nbsp;1111&nbsp;1111",
        "4111&#32;1111&#32;1111&#32;1111",
        "4111&#160;1111&#160;1111&#160;1111",
        "4111&#xA0;1111 1111 1111",
        "4111%201111%201111%201111",
        "4111 1111%201111 1111",
    ] {
        let text = format!("x {written} y");
        assert_eq!(
            find_card_numbers(&text).len(),
            1,
            "no single card in {text:?}"
        );
    }
    // A tag whose attributes hold digits, or that runs on too long, is no separator.
    assert_no_card("4111<td width=\"50\">1111<td width=\"50\">1111<td width=\"50\">1111");
    assert_no_card(&format!(
        "4111<span title=\"{}\">1111 1111 1111",
        "x".repeat(70)
    ));
    // Entities that are not spaces.
    assert_no_card("4111&amp;1111&amp;1111&amp;1111");
    assert_no_card("4111%2C1111%2C1111%2C1111");
    // An entity outside a number reads as a space, its digits as none.
    assert_no_card("&#160;&#160;&#160;&#160;&#160;&#160;");
}

#[test]
fn an_irregular_first_group_or_digits_in_fours_make_a_card() {
    assert_single_card("card ", "4 111 1111 1111 1111", " ok", Network::Visa);
    assert_single_card("card ", "4-111-1111-1111-1111", " ok", Network::Visa);
    assert_single_card(
        "card ",
        "4 1 1 1 - 1 1 1 1 - 1 1 1 1 - 1 1 1 1",
        " ok",
        Network::Visa,
    );
    assert_single_card(
        "card ",
        "4 1 1 1  1 1 1 1  1 1 1 1  1 1 1 1",
        " ok",
        Network::Visa,
    );
    assert_single_card("", "4-1-1-1 1-1-1-1 1-1-1-1 1-1-1-1", "", Network::Visa);
    // Not when it goes on with another digit, or the gaps do not repeat in fours.
    assert_no_card("4 1 1 1 - 1 1 1 1 - 1 1 1 1 - 1 1 1 1 - 1");
    assert_no_card("4 1 1 1 - 1 1 1 1 - 1 1 1 1 - 1 1 1 1 2");
    assert_no_card("4 1 1 - 1 1 1 1 1 - 1 1 1 1 - 1 1 1 1");
    assert_no_card("4, 1, 1, 1 - 1, 1, 1, 1 - 1, 1, 1, 1 - 1, 1, 1, 1");
    // A mixed first group only before three groups of four.
    assert_no_card("4 111 1111 1111 111 1");
}

#[test]
fn any_ascii_punctuation_or_symbol_separates_groups() {
    for sep in [
        ":", "+", "|", "*", "\\", ";", "~", "#", "'", "\"", "[", "]", "{", "}", "<", ">", "=", "!",
        "$", "%", "&", "?", "@", "^", "`", "\" \"", "][", "}{", "><", " | ", " : ",
    ] {
        assert_single_card(
            "card ",
            &in_layout("4111111111111111", sep),
            " ok",
            Network::Visa,
        );
    }
    // Groups quoted or bracketed.
    assert_single_card(
        "card \"",
        "4111\" \"1111\" \"1111\" \"1111",
        "\" ok",
        Network::Visa,
    );
    assert_single_card("[", "4111][1111][1111][1111", "]", Network::Visa);
    assert_single_card("{", "4111}{1111}{1111}{1111", "}", Network::Visa);
    assert_single_card(
        "[\"",
        "4111\",\"1111\",\"1111\",\"1111",
        "\"]",
        Network::Visa,
    );
    assert_single_card("<", "4111><1111><1111><1111", ">", Network::Visa);
    assert_single_card("", "4111 ١١١١ 1111 1111", "", Network::Visa);
    // A `+` that does not follow a digit is an international prefix.
    assert_no_card("+4111 +1111 +1111 +1111");
    assert_eq!(
        found("card 4111 1111 1111 1111 +44 1484 840048"),
        [("4111 1111 1111 1111", Network::Visa)]
    );
    assert_no_card("+44 1484 840048 +44 1484 840048");
}

#[test]
fn short_html_tags_separate_groups() {
    assert_single_card(
        "<b>",
        "4111</b><b>1111</b><b>1111</b><b>1111",
        "</b>",
        Network::Visa,
    );
    assert_single_card(
        "<td>",
        "4111</td><td>1111</td><td>1111</td><td>1111",
        "</td>",
        Network::Visa,
    );
    assert_single_card("", "4111<br/>1111<br/>1111<br/>1111", "", Network::Visa);
    assert_single_card("", "4111<span>1111</span>1111 1111", "", Network::Visa);
    // A tag with attributes is a separator too; a tag name of more than ten letters is
    // letters, not a separator.
    assert_single_card(
        "",
        "4111<script type=x>1111</script>1111 1111",
        "",
        Network::Visa,
    );
    assert_no_card("4111<abcdefghijk>1111<abcdefghijk>1111<abcdefghijk>1111");
}

#[test]
fn long_gaps_join_groups_when_they_are_alike() {
    for sep in [
        "     ",
        "\t\t\t\t\t",
        "-----",
        ".....",
        &" ".repeat(16),
        "  -  -  ",
    ] {
        assert_single_card(
            "card ",
            &in_layout("4111111111111111", sep),
            " ok",
            Network::Visa,
        );
    }
}

#[test]
fn a_date_has_three_parts_and_a_colon_layout_is_its_whole_run() {
    // A fourth part joined by the same separator: the number, not a date.
    assert_single_card("", "26-30-37-75-64-34-32-55", "", Network::Mastercard);
    assert_no_card("25-11-26");
    // Groups joined by colons before or after: an address or a time, not a card.
    assert_no_card("8668:7047:5189:850:3932:9956:1040:8161");
    assert_no_card("12:4111:1111:1111:1111");
    assert_no_card("4111:1111:1111:1111:12");
    assert_single_card("", "4111:1111:1111:1111", "", Network::Visa);
}

#[test]
fn times_ratios_and_lists_with_the_new_separators_are_not_cards() {
    for text in [
        "12:30:45",
        "2026-11-25 09:30:00",
        "2026-11-25 09:30:00, 2026-11-26 10:45:12",
        "09:30:00.123456+01:00",
        "16:9, 4:3, 21:9",
        "1:2:3:4:5:6:7:8:9:1:2:3:4:5:6",
        "1|2|3|4|5|6|7|8|9|1|2|3|4|5|6|7",
        "4|1|1|1|1|1|1|1|1|1|1|1|1|1|1|1",
        "4;1;1;1;1;1;1;1;1;1;1;1;1;1;1;1",
        "4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1",
        "00:15:65:aa:bb:cc",
        "00:15:65:12:34:56",
        "+44 20 7946 0958 +33 6 12 34 56 78",
        "#12 #34 #56 #78 #90",
        "CHF 1'234'567'890.12",
    ] {
        assert_no_card(text);
    }
}

#[test]
fn zero_width_and_format_characters_are_ignored() {
    for zw in [
        "\u{200b}", "\u{200c}", "\u{200d}", "\u{2060}", "\u{feff}", "\u{ad}", "\u{202e}",
        "\u{2066}", "\u{180e}", "\u{34f}", "\u{fe0f}",
    ] {
        // Between every digit.
        let every: String = "4111111111111111"
            .chars()
            .flat_map(|c| [c.to_string(), zw.to_owned()])
            .collect();
        let every = every.strip_suffix(zw).unwrap();
        assert_single_card("card ", every, " ok", Network::Visa);
        // Between groups, alone or next to a separator.
        assert_single_card("", &in_layout("4111111111111111", zw), "", Network::Visa);
        let spaced = format!(" {zw}");
        assert_single_card(
            "",
            &in_layout("5555555555554444", &spaced),
            "",
            Network::Mastercard,
        );
    }
}

#[test]
fn digits_that_normalise_to_ascii_are_digits() {
    let wide: String = "4111111111111111"
        .chars()
        .map(|c| char::from_u32(u32::from(c) - u32::from('0') + 0xff10).unwrap())
        .collect();
    assert_eq!(wide, "４１１１１１１１１１１１１１１１");
    assert_single_card("", &wide, "", Network::Visa);
    assert_single_card("カード", &wide, "です", Network::Visa);
    assert_single_card(
        "",
        "４１１１　１１１１　１１１１　１１１１",
        "",
        Network::Visa,
    );
    assert_single_card(
        "",
        "４１１１－１１１１－１１１１－１１１１",
        "",
        Network::Visa,
    );
    // Mathematical bold and sans-serif digits, superscripts.
    assert_single_card("", "𝟒𝟏𝟏𝟏 𝟏𝟏𝟏𝟏 𝟏𝟏𝟏𝟏 𝟏𝟏𝟏𝟏", "", Network::Visa);
    assert_single_card("", "𝟦𝟣𝟣𝟣𝟣𝟣𝟣𝟣𝟣𝟣𝟣𝟣𝟣𝟣𝟣𝟣", "", Network::Visa);
    assert_single_card("", "⁴¹¹¹¹¹¹¹¹¹¹¹¹¹¹¹", "", Network::Visa);
    // Mixed with ASCII digits.
    assert_single_card("", "4111 １１１１ 1111 １１１１", "", Network::Visa);
    // Keycap emoji: the digit, a variation selector and an enclosing mark.
    let keycaps: String = "4111111111111111"
        .chars()
        .map(|c| format!("{c}\u{fe0f}\u{20e3}"))
        .collect();
    assert_single_card("", &keycaps, "", Network::Visa);
}

#[test]
fn decimal_digits_of_every_script_are_digits() {
    // Arabic-Indic, Extended Arabic-Indic, Devanagari, Bengali and Thai digits keep their own
    // code points under NFKC; every decimal digit (Nd) reads as its value.
    for text in [
        "٤١١١١١١١١١١١١١١١",
        "۴۱۱۱۱۱۱۱۱۱۱۱۱۱۱۱",
        "४१११११११११११११११",
        "৪১১১১১১১১১১১১১১১",
        "๔๑๑๑๑๑๑๑๑๑๑๑๑๑๑๑",
        "٤١١١ ١١١١ ١١١١ ١١١١",
        "4111 ١١١١ 1111 1111",
        "4111-۱۱۱۱-११११-1111",
    ] {
        assert_single_card("card ", text, " ok", Network::Visa);
        assert!(contains_card_number(text), "{text}");
    }
    // Their Luhn check is made as for ASCII digits.
    assert_no_card("٤١١١١١١١١١١١١١١٢");
}

#[test]
fn a_parenthesised_group_is_replaced_with_its_parentheses() {
    let text = "card (4111) 1111 1111 1111 ok";
    assert_eq!(found(text), [("(4111) 1111 1111 1111", Network::Visa)]);
    assert_eq!(
        redact_card_numbers(text, MARKER),
        Some((format!("card {MARKER} ok"), vec![Network::Visa]))
    );
    assert_eq!(
        found("4111 1111 1111 (1111)"),
        [("4111 1111 1111 (1111)", Network::Visa)]
    );
    assert_eq!(
        found("4111 (1111) 1111 1111"),
        [("4111 (1111) 1111 1111", Network::Visa)]
    );
    // Parentheses around the whole number are not part of it.
    assert_eq!(
        found("(4111 1111 1111 1111)"),
        [("4111 1111 1111 1111", Network::Visa)]
    );
}

#[test]
fn transcripts_are_read() {
    for (written, network) in [
        ("4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1", Network::Visa),
        ("3 7 8 2 8 2 2 4 6 3 1 0 0 0 5", Network::Amex),
        ("4111, 1111, 1111, 1111", Network::Visa),
        ("4111 - 1111 - 1111 - 1111", Network::Visa),
        ("4111... 1111... 1111... 1111", Network::Visa),
        ("5555. 5555. 5555. 4444", Network::Mastercard),
    ] {
        assert_single_card("my card number is ", written, " and that's it", network);
        assert_single_card("", written, "", network);
    }
    assert_single_card(
        "card ",
        "4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1",
        ", expiry 1 2 2 7",
        Network::Visa,
    );
}

#[test]
fn digit_by_digit_chains_are_read_whole() {
    // One digit more before or after: a list of 17 digits, not a card.
    assert_no_card("1 4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1");
    assert_no_card("4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1");
    assert_no_card(&"4 1 ".repeat(20));
    // Commas and spaces between single digits make a list, as do other separators.
    assert_no_card("4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1");
    assert_no_card("4|1|1|1|1|1|1|1|1|1|1|1|1|1|1|1");
    // Gaps that are not alike.
    assert_no_card("4-1-1-1-1-1-1-1 1-1-1-1-1-1-1-1");
    assert_no_card("4 1 1 1 1 1 1 1  1 1 1 1 1 1 1 1");
    assert_no_card(&"4-1-".repeat(20));
    // A longer group after the chain does not belong to it.
    assert_single_card("", "4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1", " 12", Network::Visa);
}

#[test]
fn long_chains_of_single_digits_hold_no_card_but_the_numbers_after_them_are_found() {
    // Chains long enough to be passed at once, whatever their digits: nothing inside them,
    // and what follows them is read as after any single digit.
    let digits = "4111111111111111".repeat(20);
    for pattern in [
        &[" "][..],
        &["-"],
        &["</b><b>"],
        &[" ", " ", " ", " - "],
        &[" ", "-"],
    ] {
        let chain: String = digits
            .chars()
            .enumerate()
            .map(|(i, d)| format!("{d}{}", pattern[i % pattern.len()]))
            .collect();
        assert_no_card(&chain);
        assert_no_card(&format!("{chain}4 1 1 1"));
        for (after, card) in [
            ("4111111111111111", "4111111111111111"),
            ("4111 1111 1111 1111", "4111 1111 1111 1111"),
            (
                "x 4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1",
                "4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1",
            ),
        ] {
            let text = format!("{chain}{after} ok");
            assert_eq!(found(&text), [(card, Network::Visa)], "{text:?}");
        }
        // A chain broken by another number goes on being read after it.
        let broken = format!("{chain}ref 4111111111111111 {chain}");
        assert_eq!(
            found(&broken),
            [("4111111111111111", Network::Visa)],
            "{broken:?}"
        );
    }
    // A phone number at the start of the chain.
    assert_no_card(&format!("00001 {}", "4 ".repeat(200)));
}

#[test]
fn digit_by_digit_with_any_uniform_gap() {
    for sep in ["-", ".", "/", ",", "  ", "   ", "\t", "\u{a0}", "–"] {
        let written: Vec<String> = "4111111111111111".chars().map(String::from).collect();
        assert_single_card("card ", &written.join(sep), " ok", Network::Visa);
    }
}

#[test]
fn short_layouts_must_end_their_run() {
    // Luhn-invalid 16 digits whose first 12 are a valid 12-digit Maestro number.
    let twelve = with_check_digit("67596498264");
    assert_eq!(network_of(&digits_of(&twelve)), Some(Network::Maestro));
    let sixteen = format!("{} {} {} 1234", &twelve[..4], &twelve[4..8], &twelve[8..]);
    assert_eq!(network_of(&digits_of(&sixteen)), None);
    assert_no_card(&sixteen);
    assert_single_card("", &in_layout(&twelve, " "), "", Network::Maestro);
    assert_single_card("", &in_layout(&twelve, " "), ", 1234", Network::Maestro);
    // A complete layout may be followed by more groups.
    assert_single_card("", "4111 1111 1111 1111", " 1227", Network::Visa);
}

#[test]
fn irregular_groupings_stand_on_their_own() {
    assert_single_card("", "41 11111 111 111111", "", Network::Visa);
    assert_single_card("card ", "4111111111 111111", ".", Network::Visa);
    assert_single_card("card ", "41-11111-111-111111", ", exp 12/27", Network::Visa);
    // Up to eight groups of two digits or more with one and the same gap.
    for written in [
        "41 11 111 111 111111",
        "41 11 11 11 11 11 11 11",
        "411 111 111 111 1111",
        "41 111 1111 1111 111",
        "41-11-11-11-11-11-11-11",
    ] {
        assert_single_card("card ", written, " ok", Network::Visa);
    }
    // More than four groups with gaps not alike, a group of one, more than eight groups,
    // or joined to another group: not read as one number.
    assert_no_card("41 11-111 111 111111");
    assert_no_card("4 1 11 111 111 111111");
    assert_no_card("41 11 11 11 11 11 11 11 11");
    assert_no_card("12 41 11111 111 111111");
    assert_no_card("41 11111 111 111111 12");
    // A phone number before them does not count.
    assert_eq!(
        found("call 01484 840048 41 11111 111 111111"),
        [("41 11111 111 111111", Network::Visa)]
    );
}

#[test]
fn pdf_copies_are_read() {
    for written in [
        "4111\u{a0}1111\u{a0}1111\u{a0}1111",
        "4111-\n1111-\n1111-\n1111",
        "4111 1111\r\n1111 1111",
        "4111\u{ad}1111\u{ad}1111\u{ad}1111",
        "4111 1111 1111 1111",
    ] {
        assert_single_card("Card number:\n", written, "\nExpiry: 12/27", Network::Visa);
    }
}

#[test]
fn redaction_replaces_the_original_span_and_keeps_the_rest() {
    for (before, written, after) in [
        (
            "Grüße ",
            "４１１１\u{3000}１１１１\u{3000}１１１１\u{3000}１１１１",
            " — danke",
        ),
        ("«", "4111\u{200b}1111\u{200b}1111\u{200b}1111", "»"),
        ("x ", "4111\u{a0}1111\u{202f}1111\u{2007}1111", " y"),
        ("🙂", "𝟒𝟏𝟏𝟏–𝟏𝟏𝟏𝟏–𝟏𝟏𝟏𝟏–𝟏𝟏𝟏𝟏", "🙂"),
        ("a\u{200b}", "4111 1111 1111 1111", "\u{200b}b"),
    ] {
        let text = format!("{before}{written}{after}");
        assert_eq!(
            redact_card_numbers(&text, MARKER),
            Some((format!("{before}{MARKER}{after}"), vec![Network::Visa])),
            "{text:?}"
        );
    }
}

#[test]
fn redaction_repeats_until_no_card_is_left() {
    let twelve = in_layout(&with_check_digit("67596498264"), " ");
    let text = format!("{twelve} 4111111111111111");
    assert_eq!(found(&text), [("4111111111111111", Network::Visa)]);
    let (out, networks) = redact_card_numbers(&text, MARKER).unwrap();
    assert_eq!(out, format!("{MARKER} {MARKER}"));
    assert_eq!(networks, [Network::Visa, Network::Maestro]);
    // A marker with digits is applied once.
    let (out, _) = redact_card_numbers(&text, "#1").unwrap();
    assert_eq!(out, format!("{twelve} #1"));
}

#[test]
fn a_chain_of_cards_joined_by_single_spaces_is_redacted_in_a_bounded_number_of_passes() {
    // Numbers that only stand out as cards once their neighbour is replaced, chained: the
    // fixpoint of `redact_once` is the result, and it is reached in a few passes whatever
    // the length of the chain (the work stays linear).
    let twelve = in_layout(&with_check_digit("67596498264"), " ");
    for links in [1, 2, 5, 50] {
        let mut text = String::new();
        for _ in 0..links {
            text.push_str(&twelve);
            text.push(' ');
        }
        text.push_str("4111111111111111 5555 5555 5555 4444 ");
        text.push_str(&twelve);
        let mut expected = text.clone();
        let mut networks = Vec::new();
        let mut passes = 0;
        while let Some((again, more)) = redact_once(&expected, MARKER) {
            expected = again;
            networks.extend(more);
            passes += 1;
        }
        assert!(passes <= 2, "{passes} passes for {links} links");
        assert_eq!(
            redact_card_numbers(&text, MARKER),
            Some((expected.clone(), networks)),
            "{text:?}"
        );
        assert_eq!(redact_card_numbers(&expected, MARKER), None);
    }
}

// ---- Leaving phone numbers, IBANs and other numbers alone. ----

#[test]
fn leaves_phone_numbers_in_national_and_international_notation_alone() {
    for text in [
        "01484 840048",
        "+44 (0)1484 840048",
        "+44 (0) 1484 840048",
        "0044 1484 840048",
        "00 44 1484 840048",
        "+44 20 7946 0958",
        "020 7946 0958",
        "(555) 123-4567",
        "555-123-4567",
        "555.123.4567",
        "1-800-555-0199",
        "1 (800) 555-0199",
        "+1 555 123 4567",
        "+1 (555) 123-4567",
        "011 44 1484 840048",
        "+49 30 12345678",
        "0049 30 12345678",
        "030 12345678",
        "+49 (0)30 1234 5678",
        "+49 151 23456789",
        "+33 1 23 45 67 89",
        "01 23 45 67 89",
        "+33 (0)1 23 45 67 89",
        "+39 06 1234 5678",
        "+34 912 34 56 78",
        "+31 20 123 4567",
        "+41 44 123 45 67",
        "+46 8 123 456 78",
        "+86 138 0013 8000",
        "+81 3 1234 5678",
        "+81 90-1234-5678",
        "+91 98765 43210",
        "+61 4 1234 5678",
        "+55 11 91234-5678",
        "+7 495 123-45-67",
        "+852 2345 6789",
        "+65 6123 4567",
    ] {
        assert_no_card(text);
        for other in [
            "01484 840048",
            "+1 555 123 4567",
            "(555) 987-6543",
            "+852 5123 4567",
        ] {
            for join in [", ", " / ", " or ", "; ", "\n", " "] {
                assert_no_card(&format!("{text}{join}{other}"));
                assert_no_card(&format!("tel: {other}{join}{text}."));
            }
        }
    }
}

#[test]
fn finds_a_card_right_after_a_phone_number() {
    for phone in [
        "01484 840048",
        "+44 1484 840048",
        "+44 (0)1484 840048",
        "0044 1484 840048",
        "(555) 123-4567",
        "555-123-4567",
        "555 123 4567",
        "1-800-555-0199",
        "+1 555 123 4567",
        "+49 30 12345678",
        "030 1234 5678",
        "+33 1 23 45 67 89",
        "+65 6123 4567",
        "020 7946 0958",
    ] {
        for join in [" ", ", ", " / ", "\n", "-"] {
            for card in [
                "4111 1111 1111 1111",
                "4111-1111-1111-1111",
                "4111111111111111",
            ] {
                let text = format!("{phone}{join}{card}");
                assert_eq!(found(&text), [(card, Network::Visa)], "{text:?}");
            }
        }
    }
}

#[test]
fn a_date_is_not_a_phone_number() {
    for date in ["01/02/2024", "01.02.2024", "2024-01-15", "05/03/24"] {
        assert_eq!(
            found(&format!("{date} 4111 1111 1111 1111")),
            [("4111 1111 1111 1111", Network::Visa)],
            "{date}"
        );
    }
}

#[test]
fn leaves_valid_ibans_alone_whatever_their_digits() {
    // Valid IBANs whose digits, in blocks of four, would otherwise hold card numbers.
    for country in ["DE", "FR", "ES", "NL", "IT", "GB", "BE"] {
        let mut shielded = 0;
        let mut rng = Rng(0x1ba2);
        for _ in 0..200 {
            let len = 16 + rng.below(10);
            let bban = rng.digits(len);
            let iban = iban_with(country, &bban);
            let printed = iban_printed(&iban);
            assert_no_card(&printed);
            assert_no_card(&iban);
            assert_no_card(&format!("IBAN: {printed}, BIC: COBADEFFXXX"));
            if contains_card_number(&printed[4..]) {
                shielded += 1;
            }
        }
        assert!(
            shielded > 0,
            "{country}: the digits alone should sometimes look like a card"
        );
    }
    // A card after an IBAN is still found.
    assert_eq!(
        found("DE89 3704 0044 0532 0130 00 4111 1111 1111 1111"),
        [("4111 1111 1111 1111", Network::Visa)]
    );
    // Two letters and digits that fail the IBAN check are read as any other text.
    assert_eq!(
        found("AB12 4111 1111 1111 1111"),
        [("4111 1111 1111 1111", Network::Visa)]
    );
}

/// `iban` in blocks of four.
fn iban_printed(iban: &str) -> String {
    let chars: Vec<char> = iban.chars().collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn leaves_other_numbers_alone() {
    for text in [
        "ORD-2024-000123",
        "INV/2024/0001234, INV/2024/0001235",
        "2026-11-25T09:30:00Z",
        "2026-11-25 09:30:00.123456",
        "20261125093000",
        "1764063000000",
        "1764063000000000",
        "550e8400-e29b-41d4-a716-446655440000",
        "12345678-1234-4234-8234-123456789012",
        "192.168.100.200, 192.168.100.201, 10.0.0.1",
        "2001:0db8:85a3:0000:0000:8a2e:0370:7334",
        "00:1A:2B:3C:4D:5E",
        "0011.2233.4455",
        "v10.15.7, 4.19.0-25-amd64, 10.0.19045.3693",
        "1,234,567.89",
        "1.234.567,89 €",
        "1 234 567,89",
        "$12,345,678,901.23",
        "items 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16",
        "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16",
        "sizes 100 110 120 130 140 150",
        "scores: 14, 27, 33, 41, 45, 52, 56",
        "ISBN 978-3-16-148410-0",
    ] {
        assert_no_card(text);
    }
}

// ---- Numbers that are not text. ----

#[test]
fn integers_are_checked_as_card_numbers() {
    assert_eq!(
        network_of_integer(4_111_111_111_111_111),
        Some(Network::Visa)
    );
    assert_eq!(
        network_of_integer(-4_111_111_111_111_111),
        Some(Network::Visa)
    );
    assert_eq!(network_of_integer(378_282_246_310_005), Some(Network::Amex));
    assert_eq!(network_of_integer(501_800_000_009), Some(Network::Maestro));
    assert_eq!(
        network_of_integer(6_205_500_000_000_000_004),
        Some(Network::UnionPay)
    );
    assert_eq!(network_of_integer(4_111_111_111_111_112), None);
    assert_eq!(network_of_integer(4111), None);
    assert_eq!(network_of_integer(0), None);
    assert_eq!(network_of_integer(i64::MAX), None);
    assert_eq!(network_of_integer(i64::MIN), None);
    for &(number, network) in STANDARD {
        assert_eq!(network_of_integer(number.parse().unwrap()), Some(network));
    }
}

#[test]
fn floats_are_checked_only_when_they_hold_an_integer_exactly() {
    assert_eq!(
        network_of_float(4_111_111_111_111_111.0),
        Some(Network::Visa)
    );
    assert_eq!(
        network_of_float(-5_555_555_555_554_444.0),
        Some(Network::Mastercard)
    );
    assert_eq!(network_of_float(4_111_111_111_111_111.5), None);
    assert_eq!(network_of_float(4_111_111_111_111_112.0), None);
    // Above 2^53: not every integer is a float, so the digits cannot be trusted.
    assert_eq!(network_of_float(6_205_500_000_000_000_004.0), None);
    assert_eq!(network_of_float(f64::NAN), None);
    assert_eq!(network_of_float(f64::INFINITY), None);
    assert_eq!(network_of_float(1.5), None);
}

// ---- Cost. ----

#[test]
fn texts_with_fewer_than_twelve_digits_are_skipped() {
    assert!(!has_enough_digits(""));
    assert!(!has_enough_digits("12345678901"));
    assert!(!has_enough_digits(
        "a1b2c3d4e5f6g7h8i9j0k1 and some long text ......................................................................"
    ));
    assert!(has_enough_digits("123456789012"));
    assert!(has_enough_digits(&format!(
        "{}123456{}654321",
        "x".repeat(100),
        "y".repeat(100)
    )));
    // Digits after normalisation count.
    assert!(has_enough_digits("４１１１１１１１１１１１"));
    assert!(has_enough_digits("4111 1111 １１１１"));
    assert!(!has_enough_digits(
        "４１１１１１１１１１１ and 日本語のテキスト"
    ));
    assert_no_card("");
    assert_no_card("hello");
}

#[test]
fn long_texts_are_scanned_in_linear_time() {
    // Each of these is about 900 KB; a scan that looked at every group from every group of
    // its run would not finish.
    const SIZE: usize = 900_000;
    let repeat = |unit: &str| unit.repeat(SIZE / unit.len());
    for unit in [
        "4 ",
        "4111 ",
        "1",
        "1 ",
        "12-",
        "4111-",
        "0 ",
        "+4 ",
        "(4111) ",
        "4\u{200b}",
        "DE89 ",
        "4111, ",
        "4\u{a0}",
        "４ ",
        "01 ",
        "4 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 ",
        "4111<b>",
        "4<",
        "4<b",
        "<<<<4",
        "4111:",
        "4|",
        "41 ",
        "411 ",
        "4-",
        "4  ",
        "4111     ",
        "4111                 ",
        "4+",
        "\u{664} ",
        "\u{664}\u{661}\u{661}\u{661} ",
        "12:30:45 ",
    ] {
        let text = repeat(unit);
        let matches = find_card_numbers(&text);
        assert!(matches.len() <= text.len() / 12, "{unit:?}");
        assert_eq!(contains_card_number(&text), !matches.is_empty(), "{unit:?}");
    }
    assert_no_card(&repeat("4 "));
    assert_no_card(&repeat("4111 "));
    assert_no_card(&repeat("1"));
    // Many cards: every one is found.
    let text = repeat("4111 1111 1111 1111, ");
    assert_eq!(find_card_numbers(&text).len(), SIZE / 21);
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
        "４１１１ １１１１ １１１１ １１１２ and 4111\u{200b}1111\u{200b}1111\u{200b}1112",
        "GB29 NWBK 6016 1331 9268 19, DE89 3704 0044 0532 0130 00",
        "+44 (0)1484 840048, (555) 123-4567, 2026-11-25T09:30:00Z",
        "12:30:45 2026-11-25 09:30:00 00:15:65:aa:bb:cc 1|2|3|4|5|6|7|8|9|1|2|3|4",
        "<b>4111</b><b>1111</b><b>1111</b><b>1112</b> \"4111\" \"1111\" \"1111\" \"1112\"",
        "٤١١١ ١١١١ ١١١١ ١١١٢ and ४१११ 1111 1111 1112",
        "4-1-1-1-1-1-1-1-1-1-1-1-1-1-1-2 41 11 11 11 11 11 11 12",
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

/// `number` written plainly, in a printed layout with random separators, digit by digit, or
/// in an irregular grouping of at most four groups.
fn random_notation(rng: &mut Rng, number: &str) -> String {
    const SEPARATORS: &[&str] = &[
        " ", "-", ".", "/", "_", ", ", " - ", "\u{a0}", "–", "\n", "  ", "\u{200b}", "\t",
    ];
    match rng.below(6) {
        0 => number.to_owned(),
        1 => in_layout(number, rng.pick_str(SEPARATORS)),
        2 => {
            // Mixed single-character separators.
            let groups = grouping(number.len());
            let mut out = String::new();
            let mut at = 0;
            for (i, g) in groups.iter().enumerate() {
                if i > 0 {
                    out.push_str(rng.pick_str(&[" ", "-", ".", "/", "\u{a0}", "—", "\n"]));
                }
                out.push_str(&number[at..at + g]);
                at += g;
            }
            out
        }
        3 => number
            .chars()
            .map(String::from)
            .collect::<Vec<_>>()
            .join(" "),
        4 => {
            let mut cuts: Vec<usize> = (0..1 + rng.below(3))
                .map(|_| 1 + rng.below(number.len() - 1))
                .collect();
            cuts.sort_unstable();
            cuts.dedup();
            let mut out = String::new();
            let mut at = 0;
            for cut in cuts.into_iter().chain([number.len()]) {
                if at > 0 {
                    out.push(*rng.pick(&[' ', '-']));
                }
                out.push_str(&number[at..cut]);
                at = cut;
            }
            out
        }
        _ => number
            .chars()
            .map(|c| char::from_u32(u32::from(c) - u32::from('0') + 0xff10).unwrap())
            .collect(),
    }
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
    "(555) 123-4567",
    "GB82 WEST 1234 5698 7654 32",
    "4111111111111112",
    "41111111111111110000",
    "12/27",
    "CVV 123",
    "１２３",
    "\u{200b}",
    "(",
    ")",
];

/// The rules of the module documentation, applied the slow and obvious way: the whole text
/// is normalised into a vector, every group and gap is listed, and every start is tried.
mod reference {
    use super::super::scan::{Class, Sep, classify};
    use super::*;
    use crate::normalise::NormChar;

    struct G {
        start: usize,
        end: usize,
        digits: Vec<u8>,
        /// The separators before it, when they join it to the group before.
        gap: Option<Vec<Sep>>,
        plus: bool,
        paren_before: Option<usize>,
        paren_after: Option<usize>,
        masked: bool,
    }

    fn sig(gap: &[Sep]) -> Vec<Sep> {
        let mut out: Vec<Sep> = Vec::new();
        for &s in gap {
            match s {
                Sep::Open | Sep::Close | Sep::LineBreak => {}
                Sep::Space if out.last() == Some(&Sep::Space) => {}
                _ => out.push(s),
            }
        }
        out
    }

    fn line_break(gap: &[Sep]) -> bool {
        gap.contains(&Sep::LineBreak)
    }

    fn simple(gap: &[Sep]) -> bool {
        matches!(gap, [Sep::Space | Sep::Dash])
    }

    fn phone_gap(gap: &[Sep]) -> bool {
        let s = sig(gap);
        !line_break(gap)
            && s.len() <= 1
            && !matches!(s.first(), Some(Sep::Comma | Sep::Punct(_) | Sep::Tag))
    }

    fn alike(a: &[Sep], b: &[Sep]) -> bool {
        let count = |g: &[Sep], s: Sep| g.iter().filter(|&&x| x == s).count();
        a.len() == b.len()
            && sig(a) == sig(b)
            && line_break(a) == line_break(b)
            && count(a, Sep::Open) == count(b, Sep::Open)
            && count(a, Sep::Close) == count(b, Sep::Close)
    }

    fn separates_digits(gap: &[Sep]) -> bool {
        !line_break(gap)
            && (sig(gap) == [Sep::Space]
                || matches!(gap, [Sep::Dash | Sep::Dot | Sep::Slash | Sep::Comma]))
    }

    /// The end of a short HTML tag or comment whose `<` is `cs[at]`: the index just past
    /// its `>`.
    fn tag_end(cs: &[NormChar], at: usize) -> Option<usize> {
        let plain = |k: usize| {
            cs.get(k)
                .is_some_and(|c| c.ch != '<' && !matches!(classify(c.ch), Class::Digit(_)))
        };
        let text: String = cs[at..].iter().take(80).map(|c| c.ch).collect();
        if text.starts_with("<!--") {
            // The first `-->` after `<!--`, within 64 characters, none of them a digit or `<`.
            let body = at + 4;
            for k in body..body + 67 {
                if !plain(k) {
                    return None;
                }
                if k >= body + 2 && cs[k].ch == '>' && cs[k - 1].ch == '-' && cs[k - 2].ch == '-' {
                    return Some(k + 1);
                }
            }
            return None;
        }
        let mut i = at + 1;
        if cs.get(i)?.ch == '/' {
            i += 1;
        }
        let name = i;
        while cs.get(i)?.ch.is_ascii_alphabetic() {
            i += 1;
        }
        if i == name || i - name > 10 {
            return None;
        }
        if cs[i].ch.is_ascii_whitespace() {
            let rest = i + 1;
            for k in rest..rest + 64 {
                if cs.get(k)?.ch == '>' {
                    return Some(k + 1);
                }
                if !plain(k) {
                    return None;
                }
            }
            return None;
        }
        if cs.get(i)?.ch == '/' {
            i += 1;
        }
        (cs.get(i)?.ch == '>').then_some(i + 1)
    }

    /// `cs` with each HTML reference to a space (`&nbsp;`, `&#32;`, ...) and each `%20`
    /// replaced by a space, left to right.
    fn replace_entities(cs: Vec<NormChar>) -> Vec<NormChar> {
        const ENTITIES: &[&str] = &[
            "&nbsp;", "&ensp;", "&emsp;", "&thinsp;", "&#32;", "&#160;", "&#x20;", "&#xa0;", "%20",
        ];
        let mut out = Vec::new();
        let mut i = 0;
        while i < cs.len() {
            let found = ENTITIES.iter().find(|e| {
                e.len() <= cs.len() - i
                    && e.chars()
                        .zip(&cs[i..])
                        .all(|(a, c)| c.ch.eq_ignore_ascii_case(&a))
            });
            match found {
                Some(e) => {
                    let last = cs[i + e.len() - 1];
                    out.push(NormChar {
                        ch: ' ',
                        start: last.start,
                        end: last.end,
                    });
                    i += e.len();
                }
                None => {
                    out.push(cs[i]);
                    i += 1;
                }
            }
        }
        out
    }

    fn date_gap(gap: &[Sep]) -> Option<Sep> {
        match gap {
            [s @ (Sep::Slash | Sep::Dot | Sep::Dash)] => Some(*s),
            _ => None,
        }
    }

    /// The end of a valid IBAN whose letters are `cs[at - 2]`, `cs[at - 1]`.
    fn iban_end(cs: &[NormChar], at: usize) -> Option<usize> {
        let head: String = cs[at - 2..at + 2].iter().map(|c| c.ch).collect();
        if !head[2..].chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let mut body = String::new();
        let mut i = at + 2;
        loop {
            while i < cs.len() && cs[i].ch.is_ascii_alphanumeric() {
                body.push(cs[i].ch);
                i += 1;
            }
            let len = 4 + body.len();
            if len > 34 {
                return None;
            }
            if len >= 15 && iban_remainder(&format!("{body}{head}")) == 1 {
                return Some(cs[i - 1].end);
            }
            if i + 1 < cs.len() && cs[i].ch == ' ' && cs[i + 1].ch.is_ascii_alphanumeric() {
                i += 1;
            } else {
                return None;
            }
        }
    }

    /// The byte ranges of the UUIDs of `text`.
    fn uuids(text: &str) -> Vec<(usize, usize)> {
        let b = text.as_bytes();
        (0..b.len().saturating_sub(35))
            .filter(|&i| {
                (i == 0 || !b[i - 1].is_ascii_alphanumeric())
                    && !b.get(i + 36).is_some_and(u8::is_ascii_alphanumeric)
                    && b[i..i + 36].iter().enumerate().all(|(k, c)| {
                        if [8, 13, 18, 23].contains(&k) {
                            *c == b'-'
                        } else {
                            c.is_ascii_hexdigit()
                        }
                    })
            })
            .map(|i| (i, i + 36))
            .collect()
    }

    fn groups(text: &str) -> Vec<G> {
        let uuids = uuids(text);
        let cs: Vec<NormChar> = replace_entities(crate::normalise::chars(text).collect());
        let digit = |i: usize| matches!(classify(cs[i].ch), Class::Digit(_));
        let mut out: Vec<G> = Vec::new();
        let mut prev_end: Option<usize> = None; // index just past the previous group
        let mut iban_until = 0;
        let mut i = 0;
        while i < cs.len() {
            if !digit(i) {
                i += 1;
                continue;
            }
            let s = i;
            while i < cs.len() && digit(i) {
                i += 1;
            }
            let gap = prev_end.and_then(|p| {
                let mut seps = Vec::new();
                let mut k = p;
                while k < s {
                    if cs[k].ch == '+' && k > p {
                        return None;
                    }
                    if cs[k].ch == '<'
                        && let Some(end) = tag_end(&cs, k)
                        && end <= s
                    {
                        seps.push(Sep::Tag);
                        k = end;
                        continue;
                    }
                    match classify(cs[k].ch) {
                        Class::Sep(sep) => seps.push(sep),
                        _ => return None,
                    }
                    k += 1;
                }
                Some(seps).filter(|g| (1..=16).contains(&g.len()))
            });
            let ch = |k: usize| (k < cs.len()).then(|| cs[k].ch);
            let back = |n: usize| s.checked_sub(n).map(|k| cs[k].ch);
            if s >= 2
                && back(1).unwrap().is_ascii_alphabetic()
                && back(2).unwrap().is_ascii_alphabetic()
                && !back(3).is_some_and(char::is_alphanumeric)
                && s + 1 < cs.len()
                && let Some(end) = iban_end(&cs, s)
            {
                iban_until = end;
            }
            out.push(G {
                start: cs[s].start,
                end: cs[i - 1].end,
                digits: cs[s..i].iter().map(|c| c.ch as u8 - b'0').collect(),
                gap,
                plus: (back(1) == Some('+') && !back(2).is_some_and(|c| c.is_ascii_digit()))
                    || (back(1) == Some('(')
                        && back(2) == Some('+')
                        && !back(3).is_some_and(|c| c.is_ascii_digit())),
                paren_before: (back(1) == Some('(')).then(|| cs[s - 1].start),
                paren_after: (ch(i) == Some(')')).then(|| cs[i].end),
                masked: cs[s].start < iban_until
                    || uuids.iter().any(|&(a, b)| (a..b).contains(&cs[s].start)),
            });
            prev_end = Some(i);
        }
        out
    }

    fn is_layout(l: &[usize]) -> bool {
        matches!(
            l,
            [4, 4, 4]
                | [4, 4, 5]
                | [4, 6, 4]
                | [4, 6, 5]
                | [4, 5, 6]
                | [4, 4, 4, 1..=4]
                | [4, 4, 4, 4, 1..=3]
        )
    }

    fn is_complete(l: &[usize]) -> bool {
        matches!(
            l,
            [4, 4, 4, 4] | [4, 4, 5] | [4, 6, 4] | [4, 6, 5] | [4, 5, 6]
        )
    }

    /// Masks the phone number or date starting at group `k`.
    fn mask_at(gs: &mut [G], k: usize) {
        let joined = |gs: &[G], i: usize| i < gs.len() && gs[i].gap.is_some();
        let gap = |gs: &[G], i: usize| gs[i].gap.clone().unwrap();
        let number_start = gs[k].gap.as_ref().is_none_or(|g| !simple(g));
        let date = joined(gs, k + 1)
            && joined(gs, k + 2)
            && date_gap(&gap(gs, k + 1)).is_some()
            && date_gap(&gap(gs, k + 1)) == date_gap(&gap(gs, k + 2))
            && !(joined(gs, k + 3) && date_gap(&gap(gs, k + 3)) == date_gap(&gap(gs, k + 1)))
            && {
                let value = |g: &G| g.digits.iter().fold(0u64, |v, &d| v * 10 + u64::from(d));
                let day = |g: &G| g.digits.len() <= 2 && (1..=31).contains(&value(g));
                let year = |g: &G| g.digits.len() == 4 && (1900..=2099).contains(&value(g));
                let (a, b, c) = (&gs[k], &gs[k + 1], &gs[k + 2]);
                (day(a) && day(b) && (c.digits.len() == 2 || year(c)))
                    || (year(a) && day(b) && day(c))
            };
        let phone = |gs: &mut [G], until: usize| {
            let mut total = gs[k].digits.len();
            gs[k].masked = true;
            let mut i = k + 1;
            while total < until
                && joined(gs, i)
                && phone_gap(&gap(gs, i))
                && total + gs[i].digits.len() <= 15
            {
                total += gs[i].digits.len();
                gs[i].masked = true;
                i += 1;
            }
        };
        if number_start && date {
            for g in &mut gs[k..k + 3] {
                g.masked = true;
            }
        } else if gs[k].plus {
            phone(gs, 10);
        } else if number_start && (2..=5).contains(&gs[k].digits.len()) && gs[k].digits[0] == 0 {
            phone(gs, if gs[k].digits[1] == 0 { 12 } else { 10 });
        } else if number_start {
            let skip = usize::from(gs[k].digits == [1]);
            let a = k + skip;
            let ok = (skip == 0 || (joined(gs, a) && phone_gap(&gap(gs, a))))
                && a + 2 < gs.len()
                && gs[a].digits.len() == 3
                && gs[a].digits[0] >= 2
                && [(a + 1, 3), (a + 2, 4)].iter().all(|&(i, len)| {
                    joined(gs, i) && phone_gap(&gap(gs, i)) && gs[i].digits.len() == len
                });
            if ok {
                for g in &mut gs[k..a + 3] {
                    g.masked = true;
                }
            }
        }
    }

    /// Whether groups `k..=j` have a card's shape.
    fn shape(gs: &[G], k: usize, j: usize, prev: Option<(usize, bool)>) -> bool {
        if j == k {
            return true;
        }
        let lens: Vec<usize> = gs[k..=j].iter().map(|g| g.digits.len()).collect();
        let gaps: Vec<Vec<Sep>> = gs[k + 1..=j]
            .iter()
            .map(|g| g.gap.clone().unwrap())
            .collect();
        let next = (j + 1 < gs.len()).then(|| gs[j + 1].gap.clone()).flatten();
        let before = gs[k].gap.clone();
        let sigs: Vec<Vec<Sep>> = gaps
            .iter()
            .filter(|g| !line_break(g))
            .map(|g| sig(g))
            .collect();
        let short = sigs.iter().all(|s| s.len() <= 1);
        let uniform = short || sigs.windows(2).all(|w| w[0] == w[1]);
        let free = |g: &Vec<Sep>| {
            let s = sig(g);
            !g.iter().any(|x| matches!(x, Sep::Open | Sep::Close))
                && (s.iter().all(|x| matches!(x, Sep::Tag | Sep::Space))
                    || s.iter().all(|x| *x == s[0] && *x != Sep::Punct(b':')))
        };
        let continues = |n: &Vec<Sep>| {
            !n.iter().any(|s| matches!(s, Sep::Open | Sep::Close))
                && (line_break(n)
                    || (short && sig(n).len() <= 1)
                    || sigs.first() == Some(&sig(n))
                    || free(n))
        };
        let continued = next.as_ref().is_some_and(continues);
        let fours_before = prev.is_some_and(|p| p.0 == 4 && !p.1)
            && before
                .as_ref()
                .is_some_and(|b| !line_break(b) && continues(b));
        let all_alike = gaps.iter().all(|g| alike(g, &gaps[0]));
        let any_long = gaps.iter().any(|g| g.len() > 4);
        let colon = |g: &Vec<Sep>| g == &[Sep::Punct(b':')];
        let colon_run = colon(&gaps[0])
            && (before.as_ref().is_some_and(colon) || next.as_ref().is_some_and(colon));
        if is_layout(&lens)
            && ((uniform && (all_alike || !any_long))
                || (matches!(lens[..], [4, 4, 4, 4] | [4, 6, 5]) && gaps.iter().all(free)))
            && (is_complete(&lens) || !continued)
            && !fours_before
            && !colon_run
        {
            return true;
        }
        if (lens.len() <= 4
            || (lens.len() <= 8
                && all_alike
                && (lens.iter().all(|&l| l >= 2) || lens == [1, 3, 4, 4, 4])))
            && gaps.iter().all(|g| simple(g))
            && !(before.as_ref().is_some_and(|g| g.len() == 1 || free(g))
                && prev.is_some_and(|p| !p.1))
            && next.as_ref().is_none_or(|g| g.len() != 1 && !free(g))
        {
            return true;
        }
        let first = &gaps[0];
        if lens.len() == 16 && lens.iter().all(|&l| l == 1) {
            let fourth = &gaps[3];
            let in_fours = (0..15).all(|g| {
                if g % 4 == 3 {
                    alike(&gaps[g], fourth)
                } else {
                    alike(&gaps[g], first)
                }
            });
            let either = |g: &Vec<Sep>| alike(g, first) || alike(g, fourth);
            if in_fours
                && separates_digits(first)
                && !alike(fourth, first)
                && !fourth.iter().any(|x| matches!(x, Sep::Open | Sep::Close))
                && !(before.as_ref().is_some_and(either) && prev.is_some_and(|p| p.0 == 1))
                && !(next.as_ref().is_some_and(either) && gs[j + 1].digits.len() == 1)
            {
                return true;
            }
        }
        lens.iter().all(|&l| l == 1)
            && all_alike
            && separates_digits(first)
            && !(before.as_ref().is_some_and(|g| alike(g, first)) && prev.is_some_and(|p| p.0 == 1))
            && !(next.as_ref().is_some_and(|g| alike(g, first)) && gs[j + 1].digits.len() == 1)
    }

    pub(super) fn matches(text: &str) -> Vec<CardMatch> {
        let mut gs = groups(text);
        let mut out = Vec::new();
        let mut prev: Option<(usize, bool)> = None;
        let mut k = 0;
        while k < gs.len() {
            if !gs[k].masked {
                mask_at(&mut gs, k);
            }
            let mut best = None;
            if !gs[k].masked {
                let mut digits = Vec::new();
                for j in k..gs.len() {
                    if j > k && (gs[j].gap.is_none() || gs[j].masked) {
                        break;
                    }
                    digits.extend(&gs[j].digits);
                    if digits.len() > MAX_DIGITS {
                        break;
                    }
                    if digits.len() >= MIN_DIGITS
                        && shape(&gs, k, j, prev)
                        && let Some(network) = network_of(&digits)
                    {
                        best = Some((j, network));
                    }
                }
            }
            match best {
                Some((j, network)) => {
                    let balance: i32 = gs[k + 1..=j]
                        .iter()
                        .flat_map(|g| g.gap.clone().unwrap())
                        .map(|s| match s {
                            Sep::Open => 1,
                            Sep::Close => -1,
                            _ => 0,
                        })
                        .sum();
                    out.push(CardMatch {
                        start: gs[k]
                            .paren_before
                            .filter(|_| balance < 0)
                            .unwrap_or(gs[k].start),
                        end: gs[j]
                            .paren_after
                            .filter(|_| balance > 0)
                            .unwrap_or_else(|| crate::normalise::end_of_marks(text, gs[j].end)),
                        network,
                    });
                    prev = Some((gs[j].digits.len(), true));
                    k = j + 1;
                }
                None => {
                    prev = Some((gs[k].digits.len(), gs[k].masked));
                    k += 1;
                }
            }
        }
        out
    }
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
    let delimiters = [", then ", " | ", "\nx ", "é ", " (ok) ", ") ", ": ", ". "];
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

/// A random text of cards, filler and digits, joined in ways that often put them in one run.
fn random_text(rng: &mut Rng, parts: usize) -> String {
    let joins = [
        " ", " ", "-", "", "  ", ", ", "+", " +", "x", "é", "\n", "/", ".", "(", ") ", "\u{a0}",
        "\u{200b}", "DE", " GB",
    ];
    let mut text = String::new();
    for _ in 0..1 + rng.below(parts) {
        text.push_str(rng.pick_str(&joins));
        match rng.below(5) {
            0 => {
                let (number, _) = random_card(rng);
                text.push_str(&random_notation(rng, &number));
            }
            1 => text.push_str(rng.pick_str(FILLER)),
            2 => {
                let len = 1 + rng.below(2);
                text.push_str(&rng.digits(len));
            }
            _ => {
                let len = [1, 2, 3, 4, 4, 4, 5, 6, 8][rng.below(9)];
                text.push_str(&rng.digits(len));
            }
        }
    }
    text
}

#[test]
fn the_scanner_agrees_with_a_reference_implementation() {
    let mut rng = Rng(0x5eed_0003);
    let mut with_cards = 0;
    for _ in 0..20_000 {
        let text = random_text(&mut rng, 12);
        let matches = find_card_numbers(&text);
        assert_eq!(matches, reference::matches(&text), "in {text:?}");
        assert_eq!(card_numbers(&text).count(), matches.len());
        assert_eq!(contains_card_number(&text), !matches.is_empty());
        with_cards += usize::from(!matches.is_empty());
    }
    assert!(with_cards > 5_000, "the generator should produce cards");
}

#[test]
fn redaction_leaves_no_card_behind_and_is_idempotent() {
    let mut rng = Rng(0x5eed_0002);
    let mut redacted_texts = 0;
    for _ in 0..5_000 {
        let text = random_text(&mut rng, 8);
        let matches = find_card_numbers(&text);
        match redact_card_numbers(&text, MARKER) {
            None => assert!(matches.is_empty(), "in {text:?}"),
            Some((out, networks)) => {
                redacted_texts += 1;
                // The first pass replaces exactly the matches.
                let mut first_pass = String::new();
                let mut at = 0;
                for m in &matches {
                    first_pass.push_str(&text[at..m.start]);
                    first_pass.push_str(MARKER);
                    at = m.end;
                }
                first_pass.push_str(&text[at..]);
                let more = find_card_numbers(&first_pass);
                assert!(networks.len() >= matches.len());
                if more.is_empty() {
                    assert_eq!(out, first_pass, "in {text:?}");
                }
                assert!(
                    reference::matches(&out).is_empty(),
                    "left a card in {out:?}"
                );
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
#[ignore = "prints throughput; run with --ignored --nocapture"]
fn throughput() {
    let texts = [
        (
            "prose",
            "The quick brown fox jumps over the lazy dog. ".repeat(20_000),
        ),
        (
            "prose+numbers",
            "Order ORD-2024-000123 shipped on 2024-01-15, call 01484 840048 or +44 1484 840048. "
                .repeat(10_000),
        ),
        ("digits", "1234567890".repeat(100_000)),
        ("cards", "card 4111 1111 1111 1111 ok ".repeat(30_000)),
        ("spaced", "4 ".repeat(400_000)),
        (
            "japanese",
            "日本語のテキスト、電話 03-1234-5678。".repeat(20_000),
        ),
        (
            "fullwidth",
            "４１１１ １１１１ １１１１ １１１２ ".repeat(20_000),
        ),
    ];
    let only = std::env::var("ONLY").unwrap_or_default();
    for (name, text) in texts.iter().filter(|(n, _)| only.is_empty() || *n == only) {
        let start = std::time::Instant::now();
        let mut n = 0;
        for _ in 0..3 {
            n += find_card_numbers(text).len();
        }
        let secs = start.elapsed().as_secs_f64() / 3.0;
        println!(
            "{name:>14}: {:7.1} MB/s ({} matches)",
            text.len() as f64 / secs / 1e6,
            n / 3
        );
    }
}

#[test]
fn characters_are_classified_as_documented() {
    use super::scan::{Class, Sep, classify};
    for c in (0..0x3100).filter_map(char::from_u32) {
        let expected = match c {
            '0'..='9' => Class::Digit(c as u8 - b'0'),
            '\n' | '\r' | '\u{b}' | '\u{c}' | '\u{85}' | '\u{2028}' | '\u{2029}' => {
                Class::Sep(Sep::LineBreak)
            }
            '-' | '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{2e3a}' | '\u{2e3b}' | '\u{301c}' => {
                Class::Sep(Sep::Dash)
            }
            '.' => Class::Sep(Sep::Dot),
            ',' | '\u{3001}' => Class::Sep(Sep::Comma),
            '/' => Class::Sep(Sep::Slash),
            '_' => Class::Sep(Sep::Underscore),
            '(' => Class::Sep(Sep::Open),
            ')' => Class::Sep(Sep::Close),
            _ if c.is_ascii_punctuation() => Class::Sep(Sep::Punct(c as u8)),
            '\u{b7}' | '\u{2022}' | '\u{2027}' | '\u{2219}' | '\u{30fb}' => {
                Class::Sep(Sep::MiddleDot)
            }
            _ if c.is_whitespace() => Class::Sep(Sep::Space),
            _ => match classify(c) {
                // Other dashes (Pd) of the scripts of the world.
                Class::Sep(Sep::Dash) => Class::Sep(Sep::Dash),
                _ => Class::Other,
            },
        };
        assert_eq!(classify(c), expected, "{c:?}");
    }
    assert_eq!(classify('a'), Class::Other);
    assert_eq!(classify('+'), Class::Sep(Sep::Punct(b'+')));
    assert_eq!(classify(':'), Class::Sep(Sep::Punct(b':')));
    assert_eq!(classify('\u{1c}'), Class::Other);
    assert_eq!(classify('\u{58a}'), Class::Sep(Sep::Dash));
}

#[test]
fn uuids_are_never_cards() {
    for text in [
        "68FB842E-36B7-4102-8613-47151FD27A84",
        "68fb842e-36b7-4102-8613-47151fd27a84",
        "12345678-4111-1111-1111-111111111111",
        "id=41111111-1111-4111-8111-111111111111&x",
    ] {
        assert_no_card(text);
    }
    // Not a UUID: glued to other letters and digits, or of another shape.
    assert_eq!(
        found("x68FB842E-36B7-4102-8613-47151FD27A84"),
        [("4102-8613-47151", Network::Visa)]
    );
}

#[test]
fn a_layout_does_not_start_inside_a_number_printed_in_fours() {
    assert_no_card("2160 3455 5555 4189 883");
    assert_no_card("2160-3455-5555-4189-883");
    // After a line break, a phone number, a date or another card, it does.
    for before in [
        "2160\n",
        "+44 1484 840048 ",
        "2024-01-15 ",
        "5555 5555 5555 4444 ",
    ] {
        let text = format!("{before}3455 5555 4189 883");
        assert_eq!(
            found(&text).last(),
            Some(&("3455 5555 4189 883", Network::Amex)),
            "{text:?}"
        );
    }
}
