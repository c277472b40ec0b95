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
}
