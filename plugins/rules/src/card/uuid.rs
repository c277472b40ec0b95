//! UUIDs (RFC 9562) in text, so that their digits are not taken for a card: 32 hex digits in
//! groups of 8, 4, 4, 4 and 12 joined by `-`, either case, as a word of its own.

/// The length of a UUID in its text form.
const LEN: usize = 36;

/// Whether `bytes` (exactly [`LEN`] of them) are a UUID in its text form.
fn is_uuid(bytes: &[u8]) -> bool {
    bytes.len() == LEN
        && bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// The UUID of `text` that holds the byte range `start..end` (a group of digits), as the
/// byte offset just past it, or `None`. Looks at most [`LEN`] bytes either side.
#[cfg(test)]
pub(super) fn around(text: &str, start: usize, end: usize) -> Option<usize> {
    around_after(text, start, end, &mut None)
}

/// The byte is a hex digit or a `-`.
fn part(b: &u8) -> bool {
    b.is_ascii_hexdigit() || *b == b'-'
}

/// [`around`], for groups looked at left to right: `last` is `(start, from)` of the
/// previous group looked at, `from` being where the hex digits and `-` before it begin
/// (at most [`LEN`] bytes back), so that a chain of groups such as `4-4-4-...` is not read
/// back [`LEN`] bytes from each group.
pub(super) fn around_after(
    text: &str,
    start: usize,
    end: usize,
    last: &mut Option<(usize, usize)>,
) -> Option<usize> {
    let bytes = text.as_bytes();
    // Only groups that touch a hex letter or a `-` can be part of one.
    let touches = |i: Option<usize>| i.and_then(|i| bytes.get(i)).is_some_and(part);
    if !touches(start.checked_sub(1)) && !touches(Some(end)) {
        return None;
    }
    let lowest = start.saturating_sub(LEN);
    let from = match *last {
        // Every byte from the previous `from` to that group is a part; read only those
        // between the two groups.
        Some((before, from)) if before <= start && start - before <= LEN => {
            match bytes[before..start].iter().rposition(|b| !part(b)) {
                Some(p) => (before + p + 1).max(lowest),
                None => from.max(lowest),
            }
        }
        _ => {
            start
                - bytes[lowest..start]
                    .iter()
                    .rev()
                    .take_while(|b| part(b))
                    .count()
        }
    };
    *last = Some((start, from));
    let word_before = from > 0 && bytes[from - 1].is_ascii_alphanumeric();
    let to = from + LEN;
    let word_after = bytes.get(to).is_some_and(u8::is_ascii_alphanumeric);
    (!word_before && !word_after && to >= end && bytes.get(from..to).is_some_and(is_uuid))
        .then_some(to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_uuid_around_a_group() {
        let text = "id 68FB842E-36B7-4102-8613-47151FD27A84, ok";
        let group = text.find("4102").unwrap();
        assert_eq!(around(text, group, group + 4), Some(3 + LEN));
        let first = text.find("68").unwrap();
        assert_eq!(around(text, first, first + 2), Some(3 + LEN));
        let last = text.find("47151").unwrap();
        assert_eq!(around(text, last, last + 5), Some(3 + LEN));
        let lower = "12345678-1234-4234-8234-123456789012";
        assert_eq!(around(lower, 0, 8), Some(LEN));
        assert_eq!(around(lower, 24, 36), Some(LEN));
    }

    #[test]
    fn rejects_what_is_not_a_uuid() {
        for text in [
            "ORD-2024-000123",
            "x68FB842E-36B7-4102-8613-47151FD27A84",
            "68FB842E-36B7-4102-8613-47151FD27A84x",
            "68FB842E-36B7-4102-8613-47151FD27A8",
            "68FB842E-36B7-4102-8613_47151FD27A84",
            "4111 1111 1111 1111",
        ] {
            let group = text.find(|c: char| c.is_ascii_digit()).unwrap();
            let end = group
                + text[group..]
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(text.len() - group);
            assert_eq!(around(text, group, end), None, "{text}");
        }
    }
}
