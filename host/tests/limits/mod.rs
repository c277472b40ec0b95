//! Worst-case records at the gateway's record-shape limits, and the calls that feed them to
//! each plugin of the ProVu bundle. Shared by `tests/plugin_limits.rs` (fuel: linearity and
//! an absolute budget) and `benches/plugins.rs` (the time of each plugin at the worst case).
#![allow(dead_code, reason = "the test and the bench each use part of it")]

use serde_json::{Map, Value, json};
use sluice::bundle::Policy;
use sluice::runtime::generated::types::{Context, RecordData};
use sluice::runtime::instance_types::Audience;
use sluice::runtime::{Instance, PluginFailure, Runtime};

/// The gateway's default limit on a record's body (its JSON text), in bytes.
pub const MAX_BODY: usize = 256 << 10;
/// The gateway's default limit on the nesting depth of a record's fields.
pub const MAX_DEPTH: usize = 32;
/// The gateway's default limit on the leaves (scalar values) of a record.
pub const MAX_LEAVES: usize = 10_000;
/// The gateway's default limit on an object key, in bytes.
pub const MAX_KEY: usize = 256;
/// The gateway's default limit on a string value, in UTF-8 bytes.
pub const MAX_STRING: usize = 65_536;

/// 2026-01-05T10:00:00Z
pub const NOW: i64 = 1_767_607_200;

/// One worst-case shape: `build(n)` is the bulk of a record at size `n`; `full` is the
/// largest `n` within the limits above (checked by [`within_limits`]).
#[derive(Clone, Copy)]
pub struct Shape {
    pub name: &'static str,
    pub full: usize,
    pub build: fn(usize) -> Value,
}

/// `unit` repeated to `len` bytes (cut at a character boundary, so at most `len`).
fn repeated(unit: &str, len: usize) -> String {
    let mut s = unit.repeat(len / unit.len() + 1);
    let mut cut = len.min(s.len());
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    s.truncate(cut);
    s
}

/// `count` strings of `len` bytes of `unit`, as an object of `count` keys.
fn strings_of(unit: &str, count: usize, len: usize) -> Value {
    let s = repeated(unit, len);
    Value::Object((0..count).map(|i| (format!("s{i}"), json!(s))).collect())
}

/// Valid card numbers in the printed 4-4-4-4 layout, separated by spaces, to `len` bytes.
fn cards(len: usize) -> String {
    const CARDS: [&str; 4] = [
        "4111 1111 1111 1111",
        "5555 5555 5555 4444",
        "3782 822463 10005",
        "6011 1111 1111 1117",
    ];
    let mut s = String::with_capacity(len + 20);
    let mut i = 0;
    while s.len() + CARDS[i % 4].len() < len {
        s.push_str(CARDS[i % 4]);
        s.push(' ');
        i += 1;
    }
    s
}

/// The strings shapes: 4 strings (a whole 256 KiB record) of `n` bytes each.
const STRINGS: usize = MAX_BODY / MAX_STRING;
/// The longest string for which 4 of them, their keys and the record's own fields fit
/// in 256 KiB.
const STRING_FULL: usize = MAX_STRING - 256;

/// A 256-byte key made of words, as field names are (the names scan's worst case: a
/// compound of many words, no term among them).
fn word_key(i: usize) -> String {
    let mut k = format!("{i:05}");
    let words = ["alpha", "Bravo", "charlie", "deltaEcho", "fox", "golfHotel"];
    let mut w = 0;
    while k.len() < MAX_KEY {
        k.push('_');
        k.push_str(words[w % words.len()]);
        w += 1;
    }
    k.truncate(MAX_KEY);
    k
}

/// A 256-byte key of `4 ` repeated (the card scan's worst case in a name).
fn digit_key(i: usize) -> String {
    let mut k = format!("{i:05} ");
    k.push_str(&repeated("4 ", MAX_KEY - k.len()));
    k
}

/// How many 256-byte keys fit in a 256 KiB record, each with a short value.
const LONG_KEYS: usize = MAX_BODY / (MAX_KEY + 8) - 16;

/// An object `depth` levels deep (counting the record's own fields object as one, and
/// the bulk's key in it as another), with `leaves` short strings at the bottom; keys of
/// `key_len` bytes on the way down.
fn deep(depth: usize, key_len: usize, leaves: usize) -> Value {
    let bottom: Map<String, Value> = (0..leaves)
        .map(|i| (format!("k{i}"), json!(format!("v{i}"))))
        .collect();
    let mut v = Value::Object(bottom);
    for level in 0..depth.saturating_sub(3) {
        let mut key = format!("l{level}_");
        key.push_str(&repeated("x", key_len.saturating_sub(key.len())));
        v = json!({ key: v });
    }
    v
}

/// A mix of every shape, up to 256 KiB in all.
fn mix(n: usize) -> Value {
    // n is the string length; the other parts scale with it.
    let k = n / 64;
    json!({
        "cards": strings_of(&cards(n), 2, n).as_object().unwrap().values().cloned().collect::<Vec<_>>(),
        "fours": repeated("4 ", n),
        "html": repeated("<b>4</b>", n),
        "full_width": repeated("\u{FF14}", n),
        "dashes": repeated("4-", n),
        "digits": repeated("4", n),
        "array": (0..k * 2).map(|i| json!(format!("item {i}"))).collect::<Vec<_>>(),
        "keys": (0..k).map(|i| (word_key(i), json!(i))).collect::<Map<_, _>>(),
        "deep": deep(MAX_DEPTH - 1, 8, k),
        "numbers": (0..k).map(|i| json!(4_111_111_111_111_111_i64 + i as i64)).collect::<Vec<_>>(),
    })
}

/// A shape of [`STRINGS`] strings of `unit` repeated, each to the length `n`.
macro_rules! strings_shape {
    ($name:literal, $unit:literal) => {
        Shape {
            name: $name,
            full: STRING_FULL,
            build: |n| strings_of($unit, STRINGS, n),
        }
    };
}

/// Every worst-case shape. The string shapes scale the length of each string; the others
/// the number of leaves or keys.
pub const SHAPES: &[Shape] = &[
    Shape {
        name: "10k short strings (object)",
        full: MAX_LEAVES - 16,
        build: |n| {
            Value::Object(
                (0..n)
                    .map(|i| (format!("f{i}"), json!(format!("value {i}"))))
                    .collect(),
            )
        },
    },
    Shape {
        name: "10k strings (array)",
        full: MAX_LEAVES - 16,
        build: |n| Value::Array((0..n).map(|i| json!(format!("dpd {i}"))).collect()),
    },
    Shape {
        name: "10k card numbers (array of integers)",
        full: MAX_LEAVES - 16,
        build: |n| {
            // Every other element is a card (each one removed).
            Value::Array(
                (0..n)
                    .map(|i| {
                        if i % 2 == 0 {
                            json!(4_111_111_111_111_111_i64)
                        } else {
                            json!(i)
                        }
                    })
                    .collect(),
            )
        },
    },
    Shape {
        name: "256-byte keys of words",
        full: LONG_KEYS,
        build: |n| Value::Object((0..n).map(|i| (word_key(i), json!(i))).collect()),
    },
    Shape {
        name: "256-byte keys of `4 `",
        full: LONG_KEYS,
        build: |n| Value::Object((0..n).map(|i| (digit_key(i), json!(i))).collect()),
    },
    Shape {
        name: "256-byte keys named `cvv` (each removed)",
        full: MAX_BODY / (MAX_KEY + 32),
        build: |n| {
            Value::Object(
                (0..n)
                    .map(|i| {
                        let key = format!("{}_cvv", &word_key(i)[..MAX_KEY - 4]);
                        (i.to_string(), json!({ key: "123" }))
                    })
                    .collect(),
            )
        },
    },
    strings_shape!("4 x 64 KiB of `4 `", "4 "),
    strings_shape!("4 x 64 KiB of `4`", "4"),
    strings_shape!("4 x 64 KiB of `4-`", "4-"),
    Shape {
        name: "4 x 64 KiB of card numbers",
        full: STRING_FULL,
        build: |n| strings_of(&cards(n), STRINGS, n),
    },
    strings_shape!("4 x 64 KiB of `<b>4</b>`", "<b>4</b>"),
    strings_shape!("4 x 64 KiB of full-width `４`", "\u{FF14}"),
    strings_shape!("4 x 64 KiB of `4 1 1 1 - `", "4 1 1 1 - "),
    strings_shape!(
        "4 x 64 KiB of words",
        "health record of the customer, call 01484 840048; "
    ),
    Shape {
        name: "depth 32, 10k leaves at the bottom",
        full: MAX_LEAVES - 16,
        build: |n| deep(MAX_DEPTH, 8, n),
    },
    Shape {
        name: "depth 32 of 256-byte keys, 1k leaves",
        full: 1_000,
        build: |n| deep(MAX_DEPTH, MAX_KEY, n),
    },
    Shape {
        name: "a mix, ~256 KiB",
        full: MAX_BODY / 13,
        build: mix,
    },
];

/// Whether `fields` is within the gateway's default shape limits: its JSON text, depth,
/// leaves, keys and strings. Returns the first limit broken.
pub fn within_limits(fields: &Value) -> Result<(), String> {
    fn walk(v: &Value, depth: usize, leaves: &mut usize) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err(format!("depth {depth} > {MAX_DEPTH}"));
        }
        match v {
            Value::Object(m) if !m.is_empty() => {
                for (k, x) in m {
                    if k.len() > MAX_KEY {
                        return Err(format!("a key of {} bytes", k.len()));
                    }
                    walk(x, depth + 1, leaves)?;
                }
            }
            Value::Array(a) if !a.is_empty() => {
                for x in a {
                    walk(x, depth + 1, leaves)?;
                }
            }
            Value::String(s) if s.len() > MAX_STRING => {
                return Err(format!("a string of {} bytes", s.len()));
            }
            _ => *leaves += 1,
        }
        Ok(())
    }
    let size = serde_json::to_vec(fields).expect("serialisable").len();
    if size > MAX_BODY {
        return Err(format!("{size} bytes of JSON > {MAX_BODY}"));
    }
    let mut leaves = 0;
    walk(fields, 1, &mut leaves)?;
    if leaves > MAX_LEAVES {
        return Err(format!("{leaves} leaves > {MAX_LEAVES}"));
    }
    Ok(())
}

/// How one plugin of the bundle is fed: the kind whose chain (or read) configures it, the
/// record's own fields, the key the bulk goes under, and (for disclosure) the audience.
pub struct Case {
    pub plugin: &'static str,
    pub kind: &'static str,
    base: fn() -> Value,
    /// Where the bulk goes; `share_with` takes an array bulk only.
    bulk_key: &'static str,
    audience: Option<(&'static str, &'static str)>,
}

impl Case {
    /// The fields of the record holding `bulk`.
    pub fn fields(&self, bulk: Value) -> Value {
        let mut fields = (self.base)();
        let key = if self.bulk_key == "share_with" && !bulk.is_array() {
            "fields"
        } else {
            self.bulk_key
        };
        fields[key] = bulk;
        fields
    }
}

/// One case per plugin of the ProVu bundle, each in a record that makes it do its work
/// (a forwarder's record is ready to go, the disclosure's audience one the form names).
pub const CASES: &[Case] = &[
    Case {
        plugin: "special-category",
        kind: "web-form",
        base: web_form,
        bulk_key: "fields",
        audience: None,
    },
    Case {
        plugin: "child-protection",
        kind: "web-form",
        base: web_form,
        bulk_key: "fields",
        audience: None,
    },
    Case {
        plugin: "card-redaction",
        kind: "call-recording",
        base: || {
            json!({"direction": "inbound", "party_number": "+44 1484 840048",
                   "started_at": "2026-01-05T10:00:00Z", "recording_ref": "rec-1"})
        },
        bulk_key: "notes",
        audience: None,
    },
    Case {
        plugin: "marketing-consent",
        kind: "marketing-subscription",
        base: || {
            json!({"email": "a@example.com", "basis": "opt-in",
                   "joined_at": "2026-01-01T00:00:00Z"})
        },
        bulk_key: "consent_evidence",
        audience: None,
    },
    Case {
        plugin: "mac-normaliser",
        kind: "device-provisioning",
        base: device,
        bulk_key: "sip_settings",
        audience: None,
    },
    Case {
        plugin: "retention",
        kind: "device-provisioning",
        base: device,
        bulk_key: "sip_settings",
        audience: None,
    },
    Case {
        plugin: "provisioning-forwarder",
        kind: "device-provisioning",
        base: device,
        bulk_key: "sip_settings",
        audience: None,
    },
    Case {
        plugin: "courier-forwarder",
        kind: "delivery",
        base: || {
            json!({"name": "A Person", "courier": "dpd", "order_ref": "ORD-1",
                   "ready_to_ship": true, "phone": "01484 840048",
                   "address": {"line1": "1 High St", "city": "Leeds", "postcode": "LS1 1AA",
                               "country": "GB"}})
        },
        bulk_key: "company",
        audience: None,
    },
    Case {
        plugin: "provu-disclosure",
        kind: "web-form",
        base: web_form,
        bulk_key: "share_with",
        audience: Some(("subprocessor:creditsafe", "quote-request")),
    },
];

fn web_form() -> Value {
    json!({"form": "quote", "purpose": "quote-request", "fields": {},
           "share_with": ["creditsafe"]})
}

fn device() -> Value {
    json!({"mac": "00-15-65-AA-BB-CC", "vendor": "yealink", "username": "u100",
           "sip_server": "sip.example.com", "password": "secret",
           "provisioned_at": "2026-01-05T09:00:00Z", "provisioning_host": "vendor"})
}

/// The configuration the bundle gives `plugin` in `kind` (its chain or its read).
pub fn context(policy: &Policy, case: &Case) -> Context {
    let kind = &policy.kinds[case.kind];
    let step = kind
        .chain
        .iter()
        .chain(&kind.read)
        .find(|s| s.plugin.name == case.plugin)
        .unwrap_or_else(|| panic!("`{}` does not run for `{}`", case.plugin, case.kind));
    Context {
        now: NOW,
        config: step.config.to_string(),
        bundle: policy.id.clone(),
    }
}

/// The record as the host passes it to a plugin.
pub fn record(case: &Case, fields: &Value) -> RecordData {
    RecordData {
        id: "0190b1a4-0000-7000-8000-000000000001".into(),
        tenant: "default".into(),
        kind: case.kind.into(),
        subject: "subject-1".into(),
        fields: sluice::runtime::convert::flatten(fields),
        created_at: NOW,
        updated_at: NOW,
    }
}

/// One call of the case's plugin on `record`, whatever its world; the size of what it
/// returned (edits, expiries, deliveries, paths, notes), to show it did its work.
pub fn call(
    instance: &mut Instance<'_>,
    world: sluice::runtime::World,
    case: &Case,
    ctx: &Context,
    record: &RecordData,
) -> Result<usize, PluginFailure> {
    use sluice::runtime::World;
    Ok(match world {
        World::Admission => match instance.admit(ctx, record)? {
            Ok(notes) => notes.len(),
            Err(_) => 1,
        },
        World::Redaction => instance.redact(ctx, record)?.len(),
        World::Retention => instance.schedule(ctx, record)?.len(),
        World::Forwarder => instance
            .forward(ctx, record)?
            .iter()
            .map(|d| d.payload.len())
            .sum(),
        World::Disclosure => {
            let (name, purpose) = case.audience.expect("a disclosure case names its audience");
            let audience = Audience {
                name: name.into(),
                purpose: purpose.into(),
            };
            match instance.disclose(ctx, record, &audience)? {
                Ok(p) => p.paths.len(),
                Err(_) => 0,
            }
        }
    })
}

/// The ProVu bundle, loaded into `runtime`.
pub fn provu(runtime: &Runtime) -> Policy {
    sluice_test_support::bundle::load_provu(runtime)
}
