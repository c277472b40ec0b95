//! Calendar dates and ages, for clause 6 ("children are individuals under the age of 16")
//! and the date rules of clause 2.1.4 (the May 2018 mailing-list cutoff).
//!
//! Dates are proleptic Gregorian `(year, month, day)` tuples, `month` in `1..=12` and `day`
//! in `1..=31`. Times are whole seconds since the Unix epoch, UTC, as in the plugin contract.
//! Everything is plain integer arithmetic: no time zone database, no clock.

/// A calendar date: `(year, month, day)`.
pub type Date = (i32, u8, u8);

const SECONDS_PER_DAY: i64 = 86_400;

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Whether `year` is a leap year of the Gregorian calendar.
pub fn is_leap_year(year: i32) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// The number of days of `month` (`1..=12`) in `year`; 0 for a month out of range.
pub fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Whether `date` is a day of the calendar (`(2023, 2, 29)` is not).
pub fn is_valid_date((year, month, day): Date) -> bool {
    day >= 1 && day <= days_in_month(year, month)
}

/// Parses a date written `YYYY-MM-DD`, or the date part of an RFC 3339 timestamp
/// (`2010-05-01T08:30:00+01:00` -> `(2010, 5, 1)`, the date as written, whatever the
/// offset). Surrounding whitespace is ignored.
///
/// The whole text must be valid: the date must exist in the calendar, and a timestamp must
/// have `T` (or `t`, or a space as RFC 3339 allows), a time `HH:MM:SS` with an optional fraction, and an offset `Z` (or
/// `z`) or `+HH:MM` / `-HH:MM`. Anything else is `None`.
///
/// ```
/// use sluice_rules::age::parse_date;
/// assert_eq!(parse_date("2012-02-29"), Some((2012, 2, 29)));
/// assert_eq!(parse_date("2012-02-29T23:59:59Z"), Some((2012, 2, 29)));
/// assert_eq!(parse_date("2013-02-29"), None);
/// ```
pub fn parse_date(text: &str) -> Option<Date> {
    let s = text.trim().as_bytes();
    let (date, rest) = s.split_at_checked(10)?;
    let year = number(&date[0..4])?;
    let month = number(&date[5..7])?;
    let day = number(&date[8..10])?;
    if date[4] != b'-' || date[7] != b'-' {
        return None;
    }
    let date = (
        i32::try_from(year).ok()?,
        u8::try_from(month).ok()?,
        u8::try_from(day).ok()?,
    );
    if !is_valid_date(date) {
        return None;
    }
    if rest.is_empty() || rfc3339_time(rest) {
        Some(date)
    } else {
        None
    }
}

/// Whether `s` is the rest of an RFC 3339 timestamp after its date: `T`, the time of day and
/// the offset.
fn rfc3339_time(s: &[u8]) -> bool {
    let Some((&t, s)) = s.split_first() else {
        return false;
    };
    if !matches!(t, b'T' | b't' | b' ') || s.len() < 9 || s[2] != b':' || s[5] != b':' {
        return false;
    }
    let (Some(hour), Some(minute), Some(second)) =
        (number(&s[0..2]), number(&s[3..5]), number(&s[6..8]))
    else {
        return false;
    };
    if hour > 23 || minute > 59 || second > 60 {
        return false;
    }
    let mut s = &s[8..];
    if let Some(fraction) = s.strip_prefix(b".") {
        let digits = fraction.iter().take_while(|c| c.is_ascii_digit()).count();
        if digits == 0 {
            return false;
        }
        s = &fraction[digits..];
    }
    match s {
        [b'Z' | b'z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => {
            let (hours, minutes) = (number(&[*h1, *h2]), number(&[*m1, *m2]));
            matches!((hours, minutes), (Some(h), Some(m)) if h <= 23 && m <= 59)
        }
        _ => false,
    }
}

/// The value of a run of ASCII digits, or `None` if any byte is not one.
fn number(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |n, &c| {
        c.is_ascii_digit()
            .then(|| n.saturating_mul(10).saturating_add(u32::from(c - b'0')))
    })
}

/// The number of days from 1970-01-01 to `date` (negative before it).
pub fn days_from_civil((year, month, day): Date) -> i64 {
    // Howard Hinnant's algorithm, with March as the first month of the year.
    let month = i64::from(month);
    let year = i64::from(year) - i64::from(month <= 2);
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The UTC calendar date of the instant `unix_secs` (seconds since the Unix epoch).
///
/// Instants so far from the epoch that their year does not fit an `i32` give `i32::MIN` or
/// `i32::MAX` as the year.
pub fn date_of(unix_secs: i64) -> Date {
    let days = unix_secs.div_euclid(SECONDS_PER_DAY) + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    let year = i32::try_from(year).unwrap_or(if year < 0 { i32::MIN } else { i32::MAX });
    // Both are in range by construction: month 1..=12, day 1..=31.
    (year, month as u8, day as u8)
}

/// Age in whole years, on `today`, of someone born on `birth`: the number of birthdays they
/// have had. A birthday not yet reached this year counts one less.
///
/// Someone born on 29 February has their birthday on 1 March in a year that is not a leap
/// year (as in UK law): they are 17 on 28 February 2023 and 18 on 1 March 2023, if born on
/// 29 February 2005. A `birth` after `today` gives a negative age.
///
/// ```
/// use sluice_rules::age::age_on;
/// assert_eq!(age_on((2010, 6, 15), (2026, 6, 14)), 15);
/// assert_eq!(age_on((2010, 6, 15), (2026, 6, 15)), 16);
/// ```
pub fn age_on(birth: Date, today: Date) -> i32 {
    let years = today.0.saturating_sub(birth.0);
    if (today.1, today.2) < (birth.1, birth.2) {
        years.saturating_sub(1)
    } else {
        years
    }
}

/// Age in whole years at the instant `now` (seconds since the Unix epoch, UTC) of someone
/// whose date of birth is written `date_of_birth` (see [`parse_date`]), or `None` when the
/// text is not a date.
pub fn age_at(date_of_birth: &str, now: i64) -> Option<i32> {
    parse_date(date_of_birth).map(|birth| age_on(birth, date_of(now)))
}

/// Parses an age written as a decimal number: an optional sign, digits, and an optional
/// fraction (`"15"`, `"15.5"`, `" +16 "`). Surrounding whitespace is ignored; anything else
/// (`"15 years"`, `"1e1"`, `"NaN"`, `""`) is `None`.
pub fn parse_age(text: &str) -> Option<f64> {
    let s = text.trim();
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (whole, fraction) = unsigned.split_once('.').unwrap_or((unsigned, "0"));
    let all_digits = |t: &str| !t.is_empty() && t.bytes().all(|c| c.is_ascii_digit());
    if !all_digits(whole) || !all_digits(fraction) {
        return None;
    }
    s.parse().ok()
}

/// A date written for people, e.g. `"25 May 2018"`. A month out of range is written as its
/// number.
pub fn format_date((year, month, day): Date) -> String {
    match MONTHS.get(usize::from(month).wrapping_sub(1)) {
        Some(name) => format!("{day} {name} {year}"),
        None => format!("{day}/{month}/{year}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = SECONDS_PER_DAY;

    // ---- parse_date ----

    /// The date of most texts of [`DATES`].
    const MAY_DAY: Date = (2010, 5, 1);

    /// Texts and the date `parse_date` reads in each.
    const DATES: &[(&str, Date)] = &[
        // A plain date.
        ("2010-05-01", MAY_DAY),
        ("1999-12-31", (1999, 12, 31)),
        ("0001-01-01", (1, 1, 1)),
        ("9999-12-31", (9999, 12, 31)),
        // Surrounding whitespace is ignored.
        (" 2010-05-01\n", MAY_DAY),
        ("\t2010-05-01T00:00:00Z ", MAY_DAY),
        // The date of an RFC 3339 timestamp is taken as written.
        ("2010-05-01T08:30:00Z", MAY_DAY),
        ("2010-05-01t08:30:00z", MAY_DAY),
        ("2010-05-01 08:30:00Z", MAY_DAY),
        ("2010-05-01T23:30:00-05:00", MAY_DAY),
        ("2010-05-01T00:30:00+14:00", MAY_DAY),
        ("2010-05-01T08:30:00.123456Z", MAY_DAY),
        ("2016-12-31T23:59:60Z", (2016, 12, 31)),
        // 29 February, in leap years.
        ("2000-02-29", (2000, 2, 29)),
        ("2012-02-29", (2012, 2, 29)),
    ];

    /// Texts in which `parse_date` reads no date.
    const NOT_DATES: &[&str] = &[
        // Days that are not in the calendar.
        "2013-02-29",
        "1900-02-29",
        "2010-04-31",
        "2010-13-01",
        "2010-00-10",
        "2010-01-00",
        "2010-01-32",
        // Other date notations.
        "",
        "2010",
        "2010-05",
        "2010-5-1",
        "10-05-01",
        "01/05/2010",
        "2010/05/01",
        "20100501",
        "+2010-05-01",
        "２０１０-05-01",
        "2010-05-01x",
        "1 May 2010",
        // Malformed timestamps.
        "2010-05-01T",
        "2010-05-01T08:30Z",
        "2010-05-01T08:30:00",
        "2010-05-01_08:30:00Z",
        "2010-05-01T24:00:00Z",
        "2010-05-01T08:60:00Z",
        "2010-05-01T08:30:61Z",
        "2010-05-01T08:30:00.Z",
        "2010-05-01T08:30:00+0100",
        "2010-05-01T08:30:00+01",
        "2010-05-01T08:30:00+24:00",
        "2010-05-01T08:30:00+01:60",
        "2010-05-01T08:30:00ZZ",
        "2010-05-01T8:30:00Z",
        "2010-05-01T08:30:00 Z",
    ];

    #[test]
    fn parse_date_reads_the_date_of_each_text() {
        for &(text, date) in DATES {
            assert_eq!(parse_date(text), Some(date), "{text:?}");
        }
    }

    #[test]
    fn parse_date_reads_no_date_in_other_texts() {
        for text in NOT_DATES {
            assert_eq!(parse_date(text), None, "{text:?}");
        }
    }

    // ---- Calendar arithmetic ----

    #[test]
    fn leap_years_follow_the_gregorian_rules() {
        assert!(is_leap_year(2024));
        assert!(is_leap_year(2000));
        assert!(is_leap_year(1600));
        assert!(!is_leap_year(1900));
        assert!(!is_leap_year(2023));
        assert!(is_leap_year(0));
        assert!(is_leap_year(-4));
        assert!(!is_leap_year(-1));
    }

    #[test]
    fn months_have_their_usual_lengths() {
        let lengths: Vec<u8> = (1..=12).map(|m| days_in_month(2023, m)).collect();
        assert_eq!(lengths, [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]);
        assert_eq!(days_in_month(2024, 2), 29);
        assert_eq!(days_in_month(2024, 0), 0);
        assert_eq!(days_in_month(2024, 13), 0);
    }

    #[test]
    fn date_of_known_instants() {
        assert_eq!(date_of(0), (1970, 1, 1));
        assert_eq!(date_of(DAY - 1), (1970, 1, 1));
        assert_eq!(date_of(-1), (1969, 12, 31));
        assert_eq!(date_of(-DAY), (1969, 12, 31));
        assert_eq!(date_of(-DAY - 1), (1969, 12, 30));
        // 2018-05-25T00:00:00Z, the day GDPR applied.
        assert_eq!(date_of(1_527_206_400), (2018, 5, 25));
        assert_eq!(date_of(1_527_206_399), (2018, 5, 24));
        // 2000-02-29T12:00:00Z.
        assert_eq!(date_of(951_825_600), (2000, 2, 29));
        // 2038-01-19T03:14:08Z, one second past i32.
        assert_eq!(date_of(2_147_483_648), (2038, 1, 19));
    }

    #[test]
    fn days_from_civil_of_known_dates() {
        assert_eq!(days_from_civil((1970, 1, 1)), 0);
        assert_eq!(days_from_civil((1969, 12, 31)), -1);
        assert_eq!(days_from_civil((2018, 5, 25)), 17_676);
        assert_eq!(days_from_civil((2000, 3, 1)), 11_017);
        assert_eq!(days_from_civil((1, 1, 1)), -719_162);
    }

    #[test]
    fn every_day_over_many_centuries_follows_the_day_before() {
        // From 1 January 1600 (a leap century) to beyond 2400: each day is the calendar
        // successor of the one before, and both conversions agree.
        let start = days_from_civil((1600, 1, 1));
        let mut prev = date_of(start * DAY);
        assert_eq!(prev, (1600, 1, 1));
        for days in start + 1..days_from_civil((2401, 3, 1)) {
            let date = date_of(days * DAY + 43_210);
            assert!(is_valid_date(date), "{date:?}");
            let (y, m, d) = prev;
            let expected = if d < days_in_month(y, m) {
                (y, m, d + 1)
            } else if m < 12 {
                (y, m + 1, 1)
            } else {
                (y + 1, 1, 1)
            };
            assert_eq!(date, expected);
            assert_eq!(days_from_civil(date), days);
            prev = date;
        }
    }

    #[test]
    fn extreme_instants_do_not_panic() {
        assert_eq!(date_of(i64::MAX).0, i32::MAX);
        assert_eq!(date_of(i64::MIN).0, i32::MIN);
        let (_, m, d) = date_of(i64::MAX);
        assert!((1..=12).contains(&m) && (1..=31).contains(&d));
    }

    // ---- Ages ----

    /// Birth dates, days, and the age on each day.
    const AGES: &[(Date, Date, i32)] = &[
        // Birthdays reached are counted.
        ((2010, 6, 15), (2026, 6, 14), 15),
        ((2010, 6, 15), (2026, 6, 15), 16),
        ((2010, 6, 15), (2026, 6, 16), 16),
        ((2010, 6, 15), (2026, 5, 31), 15),
        ((2010, 6, 15), (2026, 12, 31), 16),
        ((2010, 6, 15), (2027, 1, 1), 16),
        ((2010, 6, 15), (2010, 6, 15), 0),
        // A birthday on new year's eve and day.
        ((2010, 12, 31), (2026, 12, 30), 15),
        ((2010, 12, 31), (2026, 12, 31), 16),
        ((2010, 1, 1), (2025, 12, 31), 15),
        ((2010, 1, 1), (2026, 1, 1), 16),
        // A 29 February birthday falls on 1 March in common years.
        ((2008, 2, 29), (2023, 2, 28), 14),
        ((2008, 2, 29), (2023, 3, 1), 15),
        ((2008, 2, 29), (2024, 2, 28), 15),
        ((2008, 2, 29), (2024, 2, 29), 16),
        ((2008, 2, 29), (2025, 2, 28), 16),
        ((2008, 2, 29), (2025, 3, 1), 17),
        // A birth date in the future gives a negative age.
        ((2030, 1, 1), (2026, 6, 1), -4),
        ((2026, 6, 2), (2026, 6, 1), -1),
    ];

    #[test]
    fn age_on_counts_the_birthdays_reached() {
        for &(birth, day, age) in AGES {
            assert_eq!(age_on(birth, day), age, "born {birth:?}, on {day:?}");
        }
    }

    #[test]
    fn age_at_an_instant_uses_its_utc_date() {
        // 2026-06-14T23:59:59Z and one second later.
        let eve = days_from_civil((2026, 6, 14)) * DAY + DAY - 1;
        assert_eq!(age_at("2010-06-15", eve), Some(15));
        assert_eq!(age_at("2010-06-15", eve + 1), Some(16));
        assert_eq!(age_at("2010-06-15T00:00:00+02:00", eve + 1), Some(16));
        assert_eq!(age_at("15/06/2010", eve), None);
        assert_eq!(age_at("", eve), None);
    }

    #[test]
    fn age_text_is_a_plain_decimal_number() {
        assert_eq!(parse_age("15"), Some(15.0));
        assert_eq!(parse_age(" 16 "), Some(16.0));
        assert_eq!(parse_age("15.5"), Some(15.5));
        assert_eq!(parse_age("+16"), Some(16.0));
        assert_eq!(parse_age("-1"), Some(-1.0));
        assert_eq!(parse_age("007"), Some(7.0));
        for text in [
            "", " ", "15 years", "fifteen", "1e1", "NaN", "inf", ".5", "5.", "1.2.3", "--1", "+",
            "1 5", "0x10",
        ] {
            assert_eq!(parse_age(text), None, "{text:?}");
        }
    }

    // ---- format_date ----

    #[test]
    fn dates_are_written_with_the_month_name() {
        assert_eq!(format_date((2018, 5, 25)), "25 May 2018");
        assert_eq!(format_date((2026, 1, 1)), "1 January 2026");
        assert_eq!(format_date((1999, 12, 31)), "31 December 1999");
        assert_eq!(format_date((2026, 13, 1)), "1/13/2026");
        assert_eq!(format_date((2026, 0, 1)), "1/0/2026");
    }
}
