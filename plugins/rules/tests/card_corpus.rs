//! A generated corpus of card numbers and of numbers that are not cards, written in the
//! notations and contexts where they are met, to measure the recall and the precision of
//! `sluice_rules::card`.
//!
//! Run with `cargo test --release -p sluice-rules --test card_corpus -- --nocapture` to see
//! the figures. Everything is generated from fixed seeds, so every run sees the same texts.
//!
//! Positives: Luhn-valid numbers of every range and length of `CARD_RANGES`, in every
//! notation (plain, printed layouts with each separator, mixed separators, full-width and
//! mathematical digits, digits of other scripts (Arabic-Indic, Extended Arabic-Indic,
//! Devanagari, Bengali, Thai) and mixed scripts, zero-width characters, no-break spaces, a
//! parenthesised group, ASCII punctuation and symbols, quotes, brackets and short HTML tags
//! between groups, long alike gaps, groups of two or three digits and five irregular
//! groups, one digit per space, two spaces, tab, dash, dot, slash or comma, line breaks and
//! hyphenation; in 4-4-4-4 and 4-6-5, one long or repeated gap, tags with attributes, several
//! tags, comments, `&nbsp;`, `&#32;`, `&#160;` and `%20`; a first group of 1 and 3 digits, and
//! digits one by one in fours) and every context (alone, in a sentence,
//! after a label, in JSON, next to a phone number, in quotes). A positive is found when a
//! match spans exactly the number as written.
//!
//! Negatives: phone numbers of many countries in national and international notation (also
//! bracketed, in a tag, and after `tel:`), valid IBANs, order numbers, dates and timestamps,
//! times and ratios with `:`, UUIDs, IP and MAC addresses (also all-decimal ones, and
//! bracketed), versions, amounts, lists of numbers (with `, `, spaces, `|`, `;`, `:`, `*`,
//! `+`, `#`, quoted, bracketed, in table cells, between encoded spaces, tags with attributes
//! and comments), phones, dates and times with encoded spaces, four-digit numbers with long
//! gaps, Luhn-invalid 16-digit numbers in card notations, Luhn-valid
//! numbers of a length or prefix no card has, and runs of 20 digits or more, in the same
//! contexts. A negative is a false positive when any match is found in it.
//!
//! Left out of the negatives, because their form cannot be told from a card's (see "Where
//! recall and precision meet" in the module documentation): lists of 12 to 19 single digits
//! separated by single spaces, four 4-digit numbers with identical separators, and numbers in
//! a printed layout whose leading whole groups already form a card (a card followed by more
//! digits). The first two are measured and reported below without an assertion.

use sluice_rules::card::{CARD_RANGES, find_card_numbers, luhn_valid, network_of};

#[path = "support/card_numbers.rs"]
mod card_numbers;
use card_numbers::{Rng, digits_of, grouping, iban_with, with_check_digit};

fn groups_of(number: &str) -> Vec<&str> {
    let mut at = 0;
    grouping(number.len())
        .into_iter()
        .map(|g| {
            at += g;
            &number[at - g..at]
        })
        .collect()
}

fn joined(groups: &[&str], separators: &[&str]) -> String {
    let mut out = String::new();
    for (i, g) in groups.iter().enumerate() {
        if i > 0 {
            out.push_str(separators[(i - 1) % separators.len()]);
        }
        out.push_str(g);
    }
    out
}

fn full_width(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '0'..='9' => char::from_u32(u32::from(c) - u32::from('0') + 0xff10).unwrap(),
            ' ' => '\u{3000}',
            _ => c,
        })
        .collect()
}

fn bold(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '0'..='9' => char::from_u32(u32::from(c) - u32::from('0') + 0x1d7ce).unwrap(),
            _ => c,
        })
        .collect()
}

/// Every separator a printed layout is tried with.
const SEPARATORS: &[&str] = &[
    " ",
    "-",
    ".",
    "/",
    "_",
    ",",
    "\t",
    "\n",
    "\r\n",
    "  ",
    "   ",
    ", ",
    " - ",
    " / ",
    "–",
    "—",
    " – ",
    " — ",
    "‐",
    "‑",
    "−",
    "\u{a0}",
    "\u{202f}",
    "\u{2007}",
    "\u{2009}",
    "\u{3000}",
    "·",
    "•",
    "-\n",
    " \n",
    "--",
    ":",
    "+",
    "|",
    "*",
    "\\",
    ";",
    "~",
    "#",
    "'",
    "\"",
    "\" \"",
    "][",
    "}{",
    "><",
    " | ",
    "</b><b>",
    "</td><td>",
    "<br>",
    "<br/>",
    "     ",
    "\t\t\t\t\t",
    "-----",
    ".....",
    "                ",
];

/// Decimal digits of other scripts, by their zero: Arabic-Indic, Extended Arabic-Indic,
/// Devanagari, Bengali, Thai.
const SCRIPT_ZEROS: &[char] = &['\u{660}', '\u{6f0}', '\u{966}', '\u{9e6}', '\u{e50}'];

/// `text` with its ASCII digits written in the script whose zero is `zero`.
fn in_script(text: &str, zero: char) -> String {
    text.chars()
        .map(|c| match c {
            '0'..='9' => char::from_u32(u32::from(c) - u32::from('0') + u32::from(zero)).unwrap(),
            _ => c,
        })
        .collect()
}

/// `number` in groups of `size` digits, a last single digit joined to the group before.
fn in_groups_of(number: &str, size: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < number.len() {
        let mut end = (at + size).min(number.len());
        if number.len() - end == 1 {
            end += 1;
        }
        out.push(&number[at..end]);
        at = end;
    }
    out
}

/// Zero-width and other format characters.
const INVISIBLE: &[&str] = &[
    "\u{200b}", "\u{200c}", "\u{200d}", "\u{2060}", "\u{feff}", "\u{ad}",
];

/// The notations of a card number (or of any digit string that should be read as one).
fn notations(number: &str) -> Vec<(String, String)> {
    let groups = groups_of(number);
    let mut out: Vec<(String, String)> = vec![("plain".into(), number.to_owned())];
    for sep in SEPARATORS {
        out.push((format!("layout {sep:?}"), joined(&groups, &[sep])));
    }
    out.push(("mixed".into(), joined(&groups, &[".", "-", " ", "/"])));
    out.push((
        "mixed unicode".into(),
        joined(&groups, &["\u{a0}", "–", "_", "\n"]),
    ));
    out.push(("full-width".into(), full_width(number)));
    out.push((
        "full-width layout".into(),
        full_width(&joined(&groups, &[" "])),
    ));
    out.push(("mathematical".into(), bold(&joined(&groups, &["-"]))));
    out.push(("mixed digits".into(), {
        let mut s = String::new();
        for (i, c) in number.chars().enumerate() {
            if i % 2 == 0 {
                s.push(c);
            } else {
                s.push_str(&full_width(&c.to_string()));
            }
        }
        s
    }));
    for zw in INVISIBLE {
        let every: Vec<String> = number.chars().map(String::from).collect();
        out.push((format!("invisible {zw:?} between digits"), every.join(zw)));
        out.push((
            format!("invisible {zw:?} with spaces"),
            joined(&groups, &[&format!("{zw} ")]),
        ));
    }
    out.push((
        "parenthesised".into(),
        format!("({}) {}", groups[0], joined(&groups[1..], &[" "])),
    ));
    out.push((
        "one digit per space".into(),
        number
            .chars()
            .map(String::from)
            .collect::<Vec<_>>()
            .join(" "),
    ));
    out.push(("line broken".into(), joined(&groups, &[" ", "\n"])));
    out.push(("hyphenated".into(), joined(&groups, &["-\n"])));
    out.push(("pdf".into(), joined(&groups, &["\u{a0}", " \n", "\u{a0}"])));
    for zero in SCRIPT_ZEROS {
        out.push((format!("script {zero}"), in_script(number, *zero)));
        out.push((
            format!("script {zero} layout"),
            in_script(&joined(&groups, &[" "]), *zero),
        ));
    }
    out.push(("mixed scripts".into(), {
        let scripts: Vec<String> = groups
            .iter()
            .enumerate()
            .map(|(i, g)| match i % 3 {
                0 => (*g).to_owned(),
                1 => in_script(g, SCRIPT_ZEROS[0]),
                _ => in_script(g, SCRIPT_ZEROS[2]),
            })
            .collect();
        scripts.join(" ")
    }));
    for size in [2, 3] {
        let small = in_groups_of(number, size);
        if small.len() <= 8 {
            for sep in [" ", "-"] {
                out.push((format!("groups of {size} {sep:?}"), small.join(sep)));
            }
        }
    }
    if number.len() >= 15 {
        let irregular = [
            &number[..2],
            &number[2..5],
            &number[5..9],
            &number[9..13],
            &number[13..],
        ];
        out.push(("irregular five groups".into(), irregular.join(" ")));
    }
    for sep in ["-", ".", "/", ",", "  ", "\t"] {
        let every: Vec<String> = number.chars().map(String::from).collect();
        out.push((format!("one digit per {sep:?}"), every.join(sep)));
    }
    // 4-4-4-4 and Amex 4-6-5: each gap on its own.
    let lens: Vec<usize> = groups.iter().map(|g| g.len()).collect();
    if lens == [4, 4, 4, 4] || lens == [4, 6, 5] {
        for (first, rest) in FREE_GAPS {
            out.push((
                format!("one gap {first:?}"),
                joined(&groups, &[first, rest, rest]),
            ));
            out.push((
                format!("last gap {first:?}"),
                joined(&groups, &[rest, rest, first]),
            ));
        }
        for sep in MARKUP_GAPS {
            out.push((format!("markup {sep:?}"), joined(&groups, &[sep])));
            out.push((
                format!("markup once {sep:?}"),
                joined(&groups, &[" ", sep, " "]),
            ));
        }
    }
    if lens == [4, 4, 4, 4] {
        let head = format!("{} {}", &number[..1], &number[1..4]);
        out.push((
            "first group 1-3".into(),
            format!("{head} {}", joined(&groups[1..], &[" "])),
        ));
        out.push((
            "first group 1-3 dashes".into(),
            format!(
                "{}-{}-{}",
                &number[..1],
                &number[1..4],
                joined(&groups[1..], &["-"])
            ),
        ));
        let fours: Vec<String> = groups
            .iter()
            .map(|g| g.chars().map(String::from).collect::<Vec<_>>().join(" "))
            .collect();
        out.push(("digits in fours \" - \"".into(), fours.join(" - ")));
        out.push(("digits in fours \"  \"".into(), fours.join("  ")));
    }
    out
}

/// A gap and the gap of the others, for the 4-4-4-4 and 4-6-5 layouts, which allow a long
/// or repeated separator in one gap.
const FREE_GAPS: &[(&str, &str)] = &[
    ("     ", " "),
    ("          ", " "),
    ("\t\t\t\t\t\t", " "),
    ("\n\n\n\n\n\n", " "),
    ("\n\n\n\n\n\n", "-"),
    ("--", "-"),
    ("---", "-"),
    ("......", "."),
    ("//", "/"),
    ("-----", " "),
];

/// Markup between the groups: tags with attributes, several tags, comments, references to
/// a space, a percent-encoded space.
const MARKUP_GAPS: &[&str] = &[
    "<span class=\"x\">",
    "</span><span class=\"x\">",
    "</td><td>",
    "</b> <b>",
    "<!-- -->",
    "<b>",
    "&nbsp;",
    "&#32;",
    "&#160;",
    "%20",
];

/// Contexts: where `{}` is, the text goes.
const CONTEXTS: &[&str] = &[
    "{}",
    "{} was declined",
    "My card number is {} and it expires 12/27.",
    "pay with {}",
    "Card: {}",
    "card:{}",
    "PAN={}&amount=12.50",
    "{\"card\":\"{}\",\"phone\":\"+44 1484 840048\"}",
    "{\"payment\": {\"note\": \"{}\"}}",
    "call 01484 840048, card {}",
    "call 01484 840048 {}",
    "+44 (0)1484 840048 {}",
    "(555) 123-4567 {}",
    "{} or call +1 555 123 4567",
    "{}, tel 020 7946 0958",
    "\"{}\"",
    "«{}»",
    "'{}'",
    "(card {})",
    "Grüße — Karte {} — danke",
    "カード番号{}です",
];

fn in_context(context: &str, text: &str) -> (String, usize) {
    let at = context.find("{}").unwrap();
    (
        format!("{}{text}{}", &context[..at], &context[at + 2..]),
        at,
    )
}

/// Luhn-valid numbers of every range and length of the table.
fn cards(rng: &mut Rng, per_length: usize) -> Vec<String> {
    let mut out = Vec::new();
    for r in CARD_RANGES {
        for &len in r.lengths {
            for _ in 0..per_length {
                let prefix = r.low + (rng.next() % u64::from(r.high - r.low + 1)) as u32;
                let mut number = format!("{prefix:0width$}", width = usize::from(r.prefix_digits));
                number.push_str(&rng.digits(usize::from(len) - 1 - number.len()));
                let number = with_check_digit(&number);
                assert!(network_of(&digits_of(&number)).is_some(), "{number}");
                out.push(number);
            }
        }
    }
    out
}

/// Fills `template`: `#` is any digit, `N` a digit from 2 to 9, anything else is kept.
fn fill(rng: &mut Rng, template: &str) -> String {
    template
        .chars()
        .map(|c| match c {
            '#' => rng.digit(),
            'N' => char::from(b'2' + rng.below(8) as u8),
            _ => c,
        })
        .collect()
}

const PHONES: &[&str] = &[
    "+44 #### ######",
    "+44 (0)#### ######",
    "+44 (0) #### ######",
    "0044 #### ######",
    "00 44 #### ######",
    "0#### ######",
    "(0####) ######",
    "+44 20 #### ####",
    "020 #### ####",
    "07### ######",
    "+44 7### ######",
    "(N##) ###-####",
    "N##-###-####",
    "N##.###.####",
    "N## ### ####",
    "1-N##-###-####",
    "1 (N##) ###-####",
    "+1 N## ### ####",
    "+1 (N##) ###-####",
    "+1-N##-###-####",
    "011 44 #### ######",
    "+49 ## ########",
    "+49 (0)## #### ####",
    "0049 ## ########",
    "0## ########",
    "0##/########",
    "+49 15# ########",
    "+33 # ## ## ## ##",
    "+33 (0)# ## ## ## ##",
    "0033 # ## ## ## ##",
    "0# ## ## ## ##",
    "0#.##.##.##.##",
    "+39 0# #### ####",
    "+39 3## ### ####",
    "+34 ### ## ## ##",
    "+34 ### ### ###",
    "+31 ## ### ####",
    "+31 6 ########",
    "06-########",
    "+41 ## ### ## ##",
    "0## ### ## ##",
    "+43 # ### ####",
    "+32 # ### ## ##",
    "+45 ## ## ## ##",
    "+46 # ### ### ##",
    "+47 ### ## ###",
    "+48 ## ### ## ##",
    "+351 ## ### ####",
    "+353 ## ### ####",
    "+86 1## #### ####",
    "+86 (0)## #### ####",
    "+81 #-####-####",
    "+81 ##-####-####",
    "+82 ##-####-####",
    "+91 ##### #####",
    "+61 # #### ####",
    "(0#) #### ####",
    "04## ### ###",
    "+55 ## #####-####",
    "+52 # ## #### ####",
    "+7 ### ###-##-##",
    "+852 #### ####",
    "+65 #### ####",
    "+27 ## ### ####",
    "+971 # ### ####",
    "+90 ### ### ## ##",
];

/// Countries, with the form of their account part (`n` a digit, `a` a letter, `c` either).
const IBAN_FORMS: &[(&str, &str)] = &[
    ("DE", "nnnnnnnnnnnnnnnnnn"),
    ("FR", "nnnnnnnnnnccccccccccccc"),
    ("GB", "aaaannnnnnnnnnnnnn"),
    ("ES", "nnnnnnnnnnnnnnnnnnnn"),
    ("IT", "annnnnnnnnncccccccccccc"),
    ("NL", "aaaannnnnnnnnn"),
    ("BE", "nnnnnnnnnnnn"),
    ("AT", "nnnnnnnnnnnnnnnn"),
    ("CH", "nnnnnnnnnnnnnnnnn"),
    ("PL", "nnnnnnnnnnnnnnnnnnnnnnnn"),
    ("PT", "nnnnnnnnnnnnnnnnnnnnn"),
    ("SE", "nnnnnnnnnnnnnnnnnnnn"),
    ("NO", "nnnnnnnnnnn"),
    ("DK", "nnnnnnnnnnnnnn"),
    ("FI", "nnnnnnnnnnnnnn"),
    ("IE", "aaaannnnnnnnnnnnnn"),
];

fn iban(rng: &mut Rng, country: &str, form: &str) -> String {
    let bban: String = form
        .chars()
        .map(|f| match f {
            'n' => rng.digit(),
            'a' => char::from(b'A' + rng.below(26) as u8),
            _ if rng.below(4) == 0 => char::from(b'A' + rng.below(26) as u8),
            _ => rng.digit(),
        })
        .collect();
    iban_with(country, &bban)
}

fn in_blocks(text: &str, separator: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(separator)
}

fn hex(rng: &mut Rng, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b"0123456789abcdef"[rng.below(16)]))
        .collect()
}

/// A date and time, as (year, month, day, hour, minute, second).
fn moment(rng: &mut Rng) -> (usize, usize, usize, usize, usize, usize) {
    (
        1950 + rng.below(100),
        1 + rng.below(12),
        1 + rng.below(28),
        rng.below(24),
        rng.below(60),
        rng.below(60),
    )
}

/// The negatives, by class.
fn generate_negatives(rng: &mut Rng) -> Vec<(&'static str, String)> {
    let mut out: Vec<(&'static str, String)> = Vec::new();
    for template in PHONES {
        for _ in 0..20 {
            let phone = fill(rng, template);
            out.push(("phone", phone.clone()));
            out.push(("phone", format!("[{phone}]")));
            out.push(("phone", format!("<b>{phone}</b>")));
            out.push(("phone", format!("tel:{}", phone.replace(' ', ""))));
            let template = rng.pick_str(PHONES);
            let other = fill(rng, template);
            let join = rng.pick_str(&[", ", " or ", " / ", "; ", "\n", " and "]);
            out.push(("two phones", format!("{phone}{join}{other}")));
        }
    }
    for (country, form) in IBAN_FORMS {
        for _ in 0..40 {
            let iban = iban(rng, country, form);
            out.push(("iban", in_blocks(&iban, " ")));
            out.push(("iban", iban.clone()));
            out.push(("iban", in_blocks(&iban, "\u{a0}")));
            out.push(("iban", in_blocks(&iban.to_lowercase(), " ")));
        }
    }
    out.push(("iban", "GB29 NWBK 6016 1331 9268 19".into()));
    out.push(("iban", "DE89 3704 0044 0532 0130 00".into()));
    for _ in 0..200 {
        for template in [
            "ORD-2024-######",
            "ORD-####-######",
            "#########",
            "INV/2024/#######",
            "PO-########-##",
            "Order ########, item ###",
            "ref ##########",
            "#####-####",
        ] {
            out.push(("order number", fill(rng, template)));
        }
    }
    for _ in 0..300 {
        let (y, mo, d, h, mi, s) = moment(rng);
        let micros = rng.below(1_000_000);
        for text in [
            format!("{y:04}-{mo:02}-{d:02}"),
            format!("{d:02}/{mo:02}/{y:04}"),
            format!("{mo:02}/{d:02}/{y:04}"),
            format!("{d:02}.{mo:02}.{y:04}"),
            format!("{d}. {mo}. {y}"),
            format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z"),
            format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}"),
            format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{micros:06}+01:00"),
            format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}"),
            format!("{y:04}{mo:02}{d:02}"),
            format!("{y:04}-{mo:02}-{d:02}, {y:04}-{mo:02}-{d:02}"),
            format!("{}", 1_000_000_000 + rng.below(900_000_000)),
            format!("{}", 1_000_000_000_000u64 + rng.next() % 900_000_000_000),
            format!(
                "{}",
                1_000_000_000_000_000u64 + rng.next() % 900_000_000_000_000
            ),
            format!(
                "{}",
                1_000_000_000_000_000_000u64 + rng.next() % 900_000_000_000_000_000
            ),
        ] {
            out.push(("date or timestamp", text));
        }
    }
    for _ in 0..500 {
        let variant = ["8", "9", "a", "b"][rng.below(4)];
        let uuid = format!(
            "{}-{}-4{}-{variant}{}-{}",
            hex(rng, 8),
            hex(rng, 4),
            hex(rng, 3),
            hex(rng, 3),
            hex(rng, 12)
        );
        out.push(("uuid", uuid.to_uppercase()));
        out.push(("uuid", uuid));
    }
    for _ in 0..300 {
        let ip = |rng: &mut Rng| {
            format!(
                "{}.{}.{}.{}",
                rng.below(256),
                rng.below(256),
                rng.below(256),
                rng.below(256)
            )
        };
        let (a, b) = (ip(rng), ip(rng));
        out.push(("ip address", a.clone()));
        out.push(("ip address", format!("{a}, {b}")));
        out.push(("ip address", format!("{a}:8080")));
        let v6: Vec<String> = (0..8).map(|_| hex(rng, 4)).collect();
        out.push(("ip address", v6.join(":")));
        out.push(("ip address", format!("{}::{}", v6[0], v6[7])));
        let mac: Vec<String> = (0..6).map(|_| hex(rng, 2)).collect();
        out.push(("mac address", mac.join(":")));
        out.push(("mac address", mac.join("-").to_uppercase()));
        out.push(("mac address", mac.concat()));
        let m = mac.concat();
        out.push((
            "mac address",
            format!("{}.{}.{}", &m[..4], &m[4..8], &m[8..]),
        ));
    }
    for _ in 0..300 {
        let v = |rng: &mut Rng, n: usize| rng.below(n).to_string();
        for text in [
            format!("{}.{}.{}", v(rng, 20), v(rng, 50), v(rng, 200)),
            format!(
                "v{}.{}.{}-rc.{}",
                v(rng, 20),
                v(rng, 50),
                v(rng, 200),
                v(rng, 9)
            ),
            format!(
                "{}.{}.{}-{}-amd64",
                v(rng, 7),
                v(rng, 20),
                v(rng, 9),
                v(rng, 99)
            ),
            format!(
                "{}.{}.{}.{}",
                v(rng, 11),
                v(rng, 2),
                v(rng, 99_999),
                v(rng, 9_999)
            ),
            format!(
                "Chrome/{}.0.{}.{} Safari/537.36",
                v(rng, 200),
                v(rng, 9999),
                v(rng, 999)
            ),
        ] {
            out.push(("version", text));
        }
    }
    for _ in 0..300 {
        let units = rng.next() % 1_000_000_000_000;
        let cents = rng.below(100);
        let grouped = |sep: &str| {
            let s = units.to_string();
            let mut parts = Vec::new();
            let mut end = s.len();
            while end > 3 {
                parts.push(&s[end - 3..end]);
                end -= 3;
            }
            parts.push(&s[..end]);
            parts.reverse();
            parts.join(sep)
        };
        out.push(("amount", format!("{}.{cents:02}", grouped(","))));
        out.push(("amount", format!("{},{cents:02} €", grouped("."))));
        out.push(("amount", format!("{},{cents:02}", grouped("\u{202f}"))));
        out.push(("amount", format!("{},{cents:02}", grouped(" "))));
        out.push(("amount", format!("${}", grouped(","))));
        out.push(("amount", format!("CHF {}.{cents:02}", grouped("'"))));
    }
    for _ in 0..300 {
        let n = 5 + rng.below(30);
        let start = rng.below(5);
        let list: Vec<String> = (start..start + n).map(|i| i.to_string()).collect();
        out.push(("list", format!("items {}", list.join(", "))));
        out.push(("list", list.join(" ")));
        let scores: Vec<String> = (0..n).map(|_| rng.below(100).to_string()).collect();
        out.push(("list", format!("scores: {}", scores.join(", "))));
        out.push(("list", scores.join(" ")));
        let bits: Vec<String> = (0..20 + rng.below(20))
            .map(|_| rng.below(2).to_string())
            .collect();
        out.push(("list", bits.join(" ")));
        let digits: Vec<String> = (0..n).map(|_| rng.below(10).to_string()).collect();
        out.push(("list", digits.join(", ")));
        for sep in ["|", " | ", "; ", ";", ":", "*", " + ", "#"] {
            out.push(("list", digits.join(sep)));
            out.push(("list", scores.join(sep)));
        }
        out.push(("list", format!("\"{}\"", scores.join("\", \""))));
        out.push(("list", format!("[{}]", scores.join("], ["))));
        out.push(("list", format!("<td>{}</td>", scores.join("</td><td>"))));
        out.push(("list", list.join("|")));
        // Markup and encoded spaces between the items of a list.
        for sep in [
            "&nbsp;",
            "%20",
            "&#160;",
            "</td><td class=\"n\">",
            "<!-- -->",
        ] {
            out.push(("list in markup", scores.join(sep)));
        }
        // Single digits between encoded spaces read as single spaces: left out, like lists
        // of single digits separated by single spaces.
        for sep in ["</td><td class=\"n\">", "<!-- -->"] {
            out.push(("list in markup", digits.join(sep)));
        }
        out.push((
            "list in markup",
            format!(
                "<td width=\"40\">{}</td>",
                scores.join("</td><td width=\"40\">")
            ),
        ));
    }
    for _ in 0..300 {
        let (y, mo, d, h, mi, s) = moment(rng);
        let (h2, mi2, s2) = (rng.below(24), rng.below(60), rng.below(60));
        for text in [
            format!("{h:02}:{mi:02}:{s:02}"),
            format!("{h:02}:{mi:02}:{s:02}, {h2:02}:{mi2:02}:{s2:02}"),
            format!("{h:02}:{mi:02}:{s:02} {h2:02}:{mi2:02}:{s2:02} {h:02}:{mi2:02}"),
            format!("{h:02}:{mi:02}-{h2:02}:{mi2:02} | {h:02}:{mi:02}-{h2:02}:{mi2:02}"),
            format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}"),
            format!(
                "[{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}] [{y:04}-{mo:02}-{d:02} {h2:02}:{mi2:02}:{s2:02}]"
            ),
            format!(
                "{d:02}/{mo:02}/{y:04} {h:02}:{mi:02}:{s:02}.{:03}",
                rng.below(1000)
            ),
            format!("{y:04}-{mo:02}-{d:02}|{h:02}:{mi:02}:{s:02}|{y:04}{mo:02}{d:02}"),
            format!("{}:{}", 1 + rng.below(30), 1 + rng.below(30)),
            format!(
                "{}:{}:{}",
                1 + rng.below(9),
                1 + rng.below(9),
                1 + rng.below(9)
            ),
            format!(
                "{}/{}/{}/{}/{}",
                rng.below(99),
                rng.below(99),
                rng.below(99),
                rng.below(99),
                rng.below(99)
            ),
        ] {
            out.push(("time or ratio", text));
        }
    }
    for _ in 0..300 {
        let mac: Vec<String> = (0..6).map(|_| format!("{:02}", rng.below(100))).collect();
        out.push(("numeric mac or ip", mac.join(":")));
        out.push(("numeric mac or ip", mac.join("-")));
        let v6: Vec<String> = (0..8).map(|_| format!("{}", rng.below(10_000))).collect();
        out.push(("numeric mac or ip", v6.join(":")));
        let ip = format!(
            "{}.{}.{}.{}",
            rng.below(256),
            rng.below(256),
            rng.below(256),
            rng.below(256)
        );
        out.push(("numeric mac or ip", format!("[{ip}]:{}", rng.below(65536))));
        out.push(("numeric mac or ip", format!("<{ip}>")));
    }
    // Phones, dates and times written with markup and encoded spaces.
    for _ in 0..300 {
        let template = rng.pick_str(PHONES);
        let phone = fill(rng, template);
        for sep in ["&nbsp;", "%20", "&#32;"] {
            out.push(("encoded phone or date", phone.replace(' ', sep)));
        }
        let (y, mo, d, h, mi, _) = moment(rng);
        out.push((
            "encoded phone or date",
            format!("{d:02}/{mo:02}/{y}&nbsp;{h:02}:{mi:02}"),
        ));
        out.push((
            "encoded phone or date",
            format!("{y}-{mo:02}-{d:02}%20{h:02}:{mi:02}"),
        ));
        // Numbers of four digits with long gaps that make no card layout.
        let fours: Vec<String> = (0..3).map(|_| rng.digits(4)).collect();
        out.push(("four-digit numbers", fours.join("     ")));
        out.push(("four-digit numbers", format!("{}--{}", fours[0], fours[1])));
    }
    // Luhn-invalid 16-digit numbers of card prefixes, in every notation.
    for number in cards(rng, 1).into_iter().filter(|n| n.len() == 16) {
        let last = number.as_bytes()[15] - b'0';
        let invalid = format!("{}{}", &number[..15], (last + 1 + rng.below(9) as u8) % 10);
        assert!(!luhn_valid(&digits_of(&invalid)));
        for (_, written) in notations(&invalid) {
            out.push(("luhn-invalid card", written));
        }
    }
    // Luhn-valid numbers of lengths and prefixes no card has.
    let mut wrong = 0;
    while wrong < 300 {
        let len = 12 + rng.below(8);
        let number = with_check_digit(&rng.digits(len - 1));
        if network_of(&digits_of(&number)).is_some() {
            continue;
        }
        wrong += 1;
        out.push(("valid luhn, not a card", number.clone()));
        // In a printed layout, unless its leading whole groups are a card themselves (a
        // card followed by more digits, which is reported as a card).
        let groups = groups_of(&number);
        let leading_card =
            (1..groups.len()).any(|k| network_of(&digits_of(&groups[..k].concat())).is_some());
        if !leading_card {
            out.push(("valid luhn, not a card", joined(&groups, &[" "])));
            out.push(("valid luhn, not a card", joined(&groups, &["-"])));
        }
    }
    for _ in 0..300 {
        let len = 20 + rng.below(20);
        out.push(("20 digits or more", rng.digits(len)));
    }
    out
}

#[test]
fn card_corpus() {
    let mut rng = Rng(0xc0de_0001);

    // ---- Positives. ----
    let mut positives = 0;
    let mut missed: Vec<String> = Vec::new();
    for number in cards(&mut rng, 2) {
        let network = network_of(&digits_of(&number));
        for (_, written) in notations(&number) {
            for context in CONTEXTS {
                let (text, at) = in_context(context, &written);
                positives += 1;
                let found = find_card_numbers(&text);
                let exact = found.iter().any(|m| {
                    m.start == at && m.end == at + written.len() && Some(m.network) == network
                });
                if !exact {
                    missed.push(format!("{text:?}: {found:?}"));
                }
            }
        }
    }

    // ---- Negatives. ----
    let negative_contexts: &[&str] = &[
        "{}",
        "{} is on file",
        "Please note {} today.",
        "ref: {}",
        "tel: {}",
        "{\"value\":\"{}\",\"note\":\"ok\"}",
        "{}, call +44 1484 840048",
        "call 01484 840048 or {}",
        "(555) 123-4567, {}",
        "\"{}\"",
        "«{}»",
    ];
    let mut negatives = 0;
    let mut false_positives: Vec<String> = Vec::new();
    let mut classes: Vec<(&str, usize, usize)> = Vec::new();
    for (class, text) in generate_negatives(&mut rng) {
        let entry = match classes.iter().position(|c| c.0 == class) {
            Some(i) => i,
            None => {
                classes.push((class, 0, 0));
                classes.len() - 1
            }
        };
        for context in negative_contexts {
            let (text, _) = in_context(context, &text);
            negatives += 1;
            classes[entry].1 += 1;
            let found = find_card_numbers(&text);
            if !found.is_empty() {
                classes[entry].2 += 1;
                false_positives.push(format!("{class}: {text:?}: {found:?}"));
            }
        }
    }

    // ---- Forms that cannot be told apart (reported, not asserted). ----
    let mut single_digit_lists = (0, 0);
    let mut four_fours = (0, 0);
    for _ in 0..2_000 {
        let len = 12 + rng.below(8);
        let digits: Vec<String> = (0..len).map(|_| rng.below(10).to_string()).collect();
        single_digit_lists.0 += 1;
        single_digit_lists.1 += usize::from(!find_card_numbers(&digits.join(" ")).is_empty());
        let fours: Vec<String> = (0..4).map(|_| rng.digits(4)).collect();
        four_fours.0 += 1;
        four_fours.1 += usize::from(!find_card_numbers(&fours.join(", ")).is_empty());
    }

    let recall = 100.0 * (positives - missed.len()) as f64 / positives as f64;
    let fp_rate = 100.0 * false_positives.len() as f64 / negatives as f64;
    println!(
        "card corpus: {positives} positives, recall {recall:.2}% ({} missed); {negatives} negatives, {} false positives ({fp_rate:.2}%)",
        missed.len(),
        false_positives.len()
    );
    for (class, n, fp) in &classes {
        println!("  negatives {class:>24}: {n:6}, {fp} false positives");
    }
    println!(
        "  not asserted: {} of {} lists of 12-19 single digits and {} of {} lists of four 4-digit numbers read as cards",
        single_digit_lists.1, single_digit_lists.0, four_fours.1, four_fours.0
    );
    for m in missed.iter().take(20) {
        println!("  missed: {m}");
    }
    for f in false_positives
        .iter()
        .filter(|f| !f.starts_with("uuid") && !f.starts_with("list in markup"))
        .take(40)
    {
        println!("  false positive: {f}");
    }
    assert!(missed.is_empty(), "{} positives missed", missed.len());
    assert!(
        false_positives.is_empty(),
        "{} false positives",
        false_positives.len()
    );
}
