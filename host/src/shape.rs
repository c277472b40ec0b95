//! Limits on the shape of a record, checked before any plugin runs.
//!
//! The body size limit alone does not bound a plugin's work: a 1 MiB body can hold 60,000
//! keys, a key of a megabyte or a string of half a million card-like digits. Each limit here
//! bounds one dimension of what a plugin is given, with defaults far above real records (a
//! contact record has tens of fields, a few levels deep, strings of at most a few KiB), so
//! that the plugins' worst case at the limits is known and stays well under their deadline.

use serde_json::Value;

/// Limits on one record's `fields`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShapeLimits {
    /// Deepest nesting of objects and arrays (`{"a":1}` has depth 1).
    pub max_depth: usize,
    /// Most leaves: scalars, empty objects and empty arrays.
    pub max_leaves: usize,
    /// Longest object key, in UTF-8 bytes.
    pub max_key_bytes: usize,
    /// Longest string value, in UTF-8 bytes.
    pub max_string_bytes: usize,
    /// Most bytes of all leaves' paths together: plugins receive the record as leaves, each
    /// with its JSON Pointer, so deep records with long keys are longer there than as JSON
    /// (10,000 leaves 32 levels deep under 256-byte keys make 82 MB of paths).
    pub max_path_bytes: usize,
}

impl Default for ShapeLimits {
    /// Depth 32, 10,000 leaves, keys of 256 bytes, strings of 64 KiB, 2 MiB of paths.
    fn default() -> Self {
        Self {
            max_depth: 32,
            max_leaves: 10_000,
            max_key_bytes: 256,
            max_string_bytes: 64 << 10,
            max_path_bytes: 2 << 20,
        }
    }
}

/// A limit a record exceeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeError {
    /// The limit, as its command-line flag names it (`max-record-depth`, ...).
    pub limit: &'static str,
    /// Its value.
    pub max: usize,
    /// Where (JSON Pointer, keys cut to 64 characters); empty for the whole record.
    pub path: String,
}

impl std::fmt::Display for ShapeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self.limit {
            LIMIT_DEPTH => "the record is nested deeper than",
            LIMIT_LEAVES => "the record has more leaves (values) than",
            LIMIT_KEY => "a key is longer, in bytes, than",
            LIMIT_PATHS => "the paths of the record's leaves are longer together, in bytes, than",
            _ => "a string is longer, in bytes, than",
        };
        write!(f, "{what} the limit `{}` = {}", self.limit, self.max)?;
        if !self.path.is_empty() {
            write!(f, " (at `{}`)", self.path)?;
        }
        Ok(())
    }
}

/// `--max-record-depth`
pub const LIMIT_DEPTH: &str = "max-record-depth";
/// `--max-record-leaves`
pub const LIMIT_LEAVES: &str = "max-record-leaves";
/// `--max-key-bytes`
pub const LIMIT_KEY: &str = "max-key-bytes";
/// `--max-string-bytes`
pub const LIMIT_STRING: &str = "max-string-bytes";
/// `--max-record-path-bytes`
pub const LIMIT_PATHS: &str = "max-record-path-bytes";

/// Longest key shown of a path in an error.
const SHOWN_KEY: usize = 64;

impl ShapeLimits {
    /// Checks `fields` against the limits; names the first limit exceeded. Iterative (no
    /// recursion), one pass, stops at the first problem.
    pub fn check(&self, fields: &Value) -> Result<(), ShapeError> {
        // (value, depth of the value, path segment that led to it, parent index, length of
        // its path)
        let mut stack: Vec<(&Value, usize, Segment<'_>, usize, usize)> =
            vec![(fields, 0, Segment::Root, 0, 0)];
        let mut paths = 0usize;
        // The segments of the values on the stack, to name a path when a limit is hit.
        let mut trail: Vec<(Segment<'_>, usize)> = Vec::new();
        let mut leaves = 0usize;
        while let Some((value, depth, seg, parent, path_len)) = stack.pop() {
            trail.push((seg, parent));
            let here = trail.len() - 1;
            let fail = |limit, max| ShapeError {
                limit,
                max,
                path: pointer(&trail, here),
            };
            match value {
                Value::Object(map) if !map.is_empty() => {
                    if depth + 1 > self.max_depth {
                        return Err(fail(LIMIT_DEPTH, self.max_depth));
                    }
                    for (k, v) in map {
                        if k.len() > self.max_key_bytes {
                            trail.push((Segment::Key(k), here));
                            let at = trail.len() - 1;
                            return Err(ShapeError {
                                limit: LIMIT_KEY,
                                max: self.max_key_bytes,
                                path: pointer(&trail, at),
                            });
                        }
                        stack.push((v, depth + 1, Segment::Key(k), here, path_len + 1 + k.len()));
                    }
                }
                Value::Array(items) if !items.is_empty() => {
                    if depth + 1 > self.max_depth {
                        return Err(fail(LIMIT_DEPTH, self.max_depth));
                    }
                    for (i, v) in items.iter().enumerate() {
                        let digits = i.checked_ilog10().map_or(1, |d| d as usize + 1);
                        stack.push((v, depth + 1, Segment::Index(i), here, path_len + 1 + digits));
                    }
                }
                leaf => {
                    leaves += 1;
                    if leaves > self.max_leaves {
                        return Err(ShapeError {
                            limit: LIMIT_LEAVES,
                            max: self.max_leaves,
                            path: String::new(),
                        });
                    }
                    if let Value::String(s) = leaf
                        && s.len() > self.max_string_bytes
                    {
                        return Err(fail(LIMIT_STRING, self.max_string_bytes));
                    }
                    paths += path_len;
                    if paths > self.max_path_bytes {
                        return Err(ShapeError {
                            limit: LIMIT_PATHS,
                            max: self.max_path_bytes,
                            path: String::new(),
                        });
                    }
                }
            }
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy)]
enum Segment<'a> {
    Root,
    Key(&'a str),
    Index(usize),
}

/// The JSON Pointer of `trail[at]`, following parents to the root; keys cut for display.
fn pointer(trail: &[(Segment<'_>, usize)], mut at: usize) -> String {
    let mut parts = Vec::new();
    loop {
        let (seg, parent) = trail[at];
        match seg {
            Segment::Root => break,
            Segment::Key(k) => {
                let mut shown: String = k.chars().take(SHOWN_KEY).collect();
                if shown.len() < k.len() {
                    shown.push('…');
                }
                parts.push(sluice_rules::pointer::escape(&shown).into_owned());
            }
            Segment::Index(i) => parts.push(i.to_string()),
        }
        at = parent;
    }
    parts.iter().rev().fold(String::new(), |mut out, p| {
        out.push('/');
        out.push_str(p);
        out
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn small() -> ShapeLimits {
        ShapeLimits {
            max_depth: 3,
            max_leaves: 5,
            max_key_bytes: 8,
            max_string_bytes: 10,
            max_path_bytes: 40,
        }
    }

    #[test]
    fn real_records_pass_the_defaults() {
        let record = json!({
            "name": "Ada Lovelace", "email": "ada@example.org",
            "address": {"street": "1 Way", "city": "London", "lines": ["a", "b"]},
            "tags": [], "prefs": {}, "age": 36, "vip": true, "note": null,
        });
        assert_eq!(ShapeLimits::default().check(&record), Ok(()));
    }

    #[test]
    fn each_limit_is_named_with_where_it_was_hit() {
        let l = small();
        let deep = json!({"a": {"b": {"c": {"d": 1}}}});
        let e = l.check(&deep).unwrap_err();
        assert_eq!(
            (e.limit, e.max, e.path.as_str()),
            (LIMIT_DEPTH, 3, "/a/b/c")
        );

        let many = json!({"a": [1, 2, 3], "b": [4, 5, 6]});
        let e = l.check(&many).unwrap_err();
        assert_eq!((e.limit, e.max), (LIMIT_LEAVES, 5));

        let key = json!({"ok": {"much/too~long": 1}});
        let e = l.check(&key).unwrap_err();
        assert_eq!(
            (e.limit, e.path.as_str()),
            (LIMIT_KEY, "/ok/much~1too~0long")
        );

        // Four leaves under 8-byte keys two levels deep: 4 x 18 bytes of paths.
        let long_paths =
            json!({"12345678": {"abcdefgh": 1, "bcdefghi": 2, "cdefghij": 3, "defghijk": 4}});
        let e = l.check(&long_paths).unwrap_err();
        assert_eq!((e.limit, e.max), (LIMIT_PATHS, 40));

        let string = json!({"a": ["x", "0123456789A"]});
        let e = l.check(&string).unwrap_err();
        assert_eq!((e.limit, e.path.as_str()), (LIMIT_STRING, "/a/1"));
        assert!(e.to_string().contains("`max-string-bytes` = 10"), "{e}");
    }

    #[test]
    fn at_the_limits_is_accepted() {
        let l = small();
        assert_eq!(l.check(&json!({"a": {"b": {"c": 1}}})), Ok(()));
        assert_eq!(l.check(&json!([1, 2, 3, {}, []])), Ok(()));
        assert_eq!(l.check(&json!({"12345678": "0123456789"})), Ok(()));
    }

    #[test]
    fn a_long_key_is_cut_in_the_message() {
        let key = "k".repeat(100_000);
        let e = ShapeLimits::default()
            .check(&json!({ key: 1 }))
            .unwrap_err();
        assert_eq!(e.limit, LIMIT_KEY);
        assert!(e.path.chars().count() < 80, "{}", e.path);
    }
}
