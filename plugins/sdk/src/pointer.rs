//! JSON Pointer (RFC 6901) helpers for the paths that name record fields.

use std::borrow::Cow;

/// The unescaped segments of `pointer` (`"/a~1b/0"` -> `["a/b", "0"]`).
pub fn segments(pointer: &str) -> impl Iterator<Item = Cow<'_, str>> {
    pointer.split('/').skip(1).map(unescape)
}

/// One segment of a pointer as the key it names (`"a~1b"` -> `"a/b"`).
pub fn unescape(segment: &str) -> Cow<'_, str> {
    if segment.contains('~') {
        Cow::Owned(segment.replace("~1", "/").replace("~0", "~"))
    } else {
        Cow::Borrowed(segment)
    }
}

/// Whether `path` is `prefix` or lies below it (`/a/b` is within `/a`, `/ab` is not).
pub fn is_within(path: &str, prefix: &str) -> bool {
    prefix.is_empty()
        || (path.starts_with(prefix)
            && (path.len() == prefix.len() || path.as_bytes()[prefix.len()] == b'/'))
}
