//! JSON Pointers (RFC 6901), the paths that name record fields in decisions, indexes,
//! deliveries and audit entries, written and read the same way by the host and every plugin.

use std::borrow::Cow;

/// One object key as a pointer segment (`"a/b"` -> `"a~1b"`, `"a~b"` -> `"a~0b"`).
pub fn escape(key: &str) -> Cow<'_, str> {
    if key.contains(['~', '/']) {
        Cow::Owned(key.replace('~', "~0").replace('/', "~1"))
    } else {
        Cow::Borrowed(key)
    }
}

/// One segment of a pointer as the key it names (`"a~1b"` -> `"a/b"`).
pub fn unescape(segment: &str) -> Cow<'_, str> {
    if segment.contains('~') {
        Cow::Owned(segment.replace("~1", "/").replace("~0", "~"))
    } else {
        Cow::Borrowed(segment)
    }
}

/// The unescaped segments of `pointer` (`"/a~1b/0"` -> `["a/b", "0"]`).
pub fn segments(pointer: &str) -> impl Iterator<Item = Cow<'_, str>> {
    pointer.split('/').skip(1).map(unescape)
}

/// Appends the segment of object key `key` to `pointer`.
pub fn push(pointer: &mut String, key: &str) {
    pointer.push('/');
    pointer.push_str(&escape(key));
}

/// Whether `path` is `prefix` or lies below it (`/a/b` is within `/a`, `/ab` is not).
pub fn is_within(path: &str, prefix: &str) -> bool {
    prefix.is_empty()
        || (path.starts_with(prefix)
            && (path.len() == prefix.len() || path.as_bytes()[prefix.len()] == b'/'))
}

/// Whether a path segment is made only of ASCII digits, as array indices are.
pub fn is_index(segment: &str) -> bool {
    !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit())
}

/// The end of the last whole segment two pointers share (`/a/b/c` and `/a/b/d`: 4, the end
/// of `/a/b`; `/a/bc` and `/a/b`: 2); 0 when they share none.
///
/// Leaves come in record order, so those below one object share the path down to it: a
/// plugin that judges a leaf by the segments of its path judges only those past what the
/// path shares with the previous leaf's (a deep record of long keys repeats them in every
/// leaf's path).
pub fn shared_segments(a: &str, b: &str) -> usize {
    let common = a.bytes().zip(b.bytes()).take_while(|(x, y)| x == y).count();
    let boundary = |p: &str| p.len() == common || p.as_bytes()[common] == b'/';
    if boundary(a) && boundary(b) {
        common
    } else {
        a.as_bytes()[..common]
            .iter()
            .rposition(|&b| b == b'/')
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_segments() {
        for key in ["plain", "a/b", "a~b", "~1", "/~0/", ""] {
            assert_eq!(unescape(&escape(key)), key);
            let mut p = String::new();
            push(&mut p, key);
            push(&mut p, "x");
            assert_eq!(segments(&p).collect::<Vec<_>>(), [key, "x"]);
        }
        // `~01` is the key `~1`, not `/`: `~1` is unescaped first.
        assert_eq!(unescape("~01"), "~1");
    }

    #[test]
    fn within_means_the_same_path_or_below_it() {
        assert!(is_within("/a/b", "/a"));
        assert!(is_within("/a", "/a"));
        assert!(is_within("/a", ""));
        assert!(!is_within("/ab", "/a"));
    }

    #[test]
    fn shared_segments_end_at_a_segment_boundary_of_both() {
        assert_eq!(shared_segments("/a/b/c", "/a/b/d"), 4);
        assert_eq!(shared_segments("/a/bc", "/a/b"), 2);
        assert_eq!(shared_segments("/a/b", "/a/bc"), 2);
        assert_eq!(shared_segments("/a/b", "/a/b/c"), 4);
        assert_eq!(shared_segments("/a/b", "/a/b"), 4);
        assert_eq!(shared_segments("/a", "/b"), 0);
        assert_eq!(shared_segments("/a", ""), 0);
        assert_eq!(shared_segments("", ""), 0);
        // Keys that differ inside a character share only the segments before them.
        assert_eq!(shared_segments("/k/\u{e9}", "/k/\u{e8}"), 2);
    }

    #[test]
    fn indices_are_digits_only() {
        assert!(is_index("0") && is_index("12"));
        assert!(!is_index("") && !is_index("1a") && !is_index("-1"));
    }
}
