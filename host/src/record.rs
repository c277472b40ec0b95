//! The host's record model: what is stored, the decisions taken on it, and JSON Pointer
//! operations on its fields.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sluice_rules::pointer;

/// What a policy decision did. Serialized in kebab-case (`schedule-deletion`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// An admission plugin accepted the record, with a reason worth keeping.
    Admit,
    /// An admission plugin refused the record; nothing was stored.
    Reject,
    /// A field's value was replaced to hide data that must not be stored.
    Redact,
    /// A field's value was replaced with a canonical form of the same data.
    Normalise,
    /// A field was removed before storage.
    Remove,
    /// A deletion was scheduled by a retention plugin.
    ScheduleDeletion,
    /// A field or record was deleted (retention, erasure, or a refused update).
    Delete,
    /// A read was permitted, with the projection the audience saw.
    Disclose,
    /// A read was refused.
    Refuse,
    /// A delivery to a vendor or subprocessor was computed.
    Forward,
}

impl Action {
    /// The kebab-case name, as in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Admit => "admit",
            Action::Reject => "reject",
            Action::Redact => "redact",
            Action::Normalise => "normalise",
            Action::Remove => "remove",
            Action::ScheduleDeletion => "schedule-deletion",
            Action::Delete => "delete",
            Action::Disclose => "disclose",
            Action::Refuse => "refuse",
            Action::Forward => "forward",
        }
    }
}

/// One policy decision, naming the clause behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Decision {
    /// The plugin that took the decision (its name in the bundle), or `gateway` for the
    /// host's own schema checks.
    pub plugin: String,
    /// What was done.
    pub action: Action,
    /// The field concerned, as a JSON Pointer; `null` when it concerns the whole record.
    pub path: Option<String>,
    /// The clause of the privacy policy, e.g. "2.1.2".
    pub clause: String,
    /// Why, in words; never quotes the data it protects.
    pub reason: String,
}

/// A scheduled deletion of a field (or, with `path` = `""`, the whole record).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Expiry {
    /// JSON Pointer of the field; `""` is the whole record.
    pub path: String,
    /// Seconds since the Unix epoch.
    pub due: i64,
    /// The clause that sets the period.
    pub clause: String,
    /// Why.
    pub reason: String,
    /// The retention plugin that scheduled it.
    pub plugin: String,
}

/// A delivery to a vendor or subprocessor, computed by a forwarder plugin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Delivery {
    /// The forwarder plugin.
    pub plugin: String,
    /// The recipient (an id of the subprocessor register).
    pub vendor: String,
    /// The recipient's endpoint kind (`redirection`, `provisioning`, `courier`, ...).
    pub endpoint: String,
    /// Exactly what the recipient may receive.
    pub payload: Value,
    /// The clause that permits the transfer.
    pub clause: String,
    /// Why.
    pub reason: String,
}

/// A plugin that processed a record, and the digest of its component.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PluginRef {
    /// Its name in the bundle.
    pub name: String,
    /// `sha256:<hex>` of the component.
    pub digest: String,
}

/// A record as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredRecord {
    /// Gateway-assigned id (UUID v7).
    pub id: String,
    /// Owning tenant.
    pub tenant: String,
    /// Record kind, one of the bundle's kinds.
    pub kind: String,
    /// Key of the data subject.
    pub subject: String,
    /// The fields, after the policy chain.
    pub fields: Value,
    /// Milliseconds since the epoch.
    pub created_at: i64,
    /// Milliseconds since the epoch.
    pub updated_at: i64,
    /// Incremented by every write; updates are applied only on the revision they read.
    pub revision: u64,
    /// `name@version` of the bundle that processed the last write.
    pub bundle: String,
    /// The plugins that processed the last write.
    pub plugins: Vec<PluginRef>,
    /// The decisions of the last write.
    pub decisions: Vec<Decision>,
    /// Deletions still scheduled.
    pub expiries: Vec<Expiry>,
    /// Deliveries computed by the last write.
    pub deliveries: Vec<Delivery>,
    /// The bundle whose retention rules computed `expiries`, when a policy change
    /// recomputed them after the last write (else `bundle` did).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_bundle: Option<String>,
    /// The searchable fields' values (the kind's `index`), as kept in the search index.
    #[serde(default)]
    pub index: Vec<IndexEntry>,
    /// The earliest deadline each field (and the whole record, path `""`) was ever given,
    /// kept across revisions even after the field is gone, so that no rectification brings
    /// a field back with a later deadline, or none (see `pipeline::hold_to_deadlines`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deadlines: Vec<Expiry>,
}

/// Keeps in `deadlines` the earlier of its entry for `e.path` and `e`.
pub fn hold_deadline(deadlines: &mut Vec<Expiry>, e: &Expiry) {
    match deadlines.iter_mut().find(|d| d.path == e.path) {
        Some(d) if d.due > e.due => *d = e.clone(),
        Some(_) => {}
        None => deadlines.push(e.clone()),
    }
}

/// One searchable value of a record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexEntry {
    /// JSON Pointer of the field.
    pub path: String,
    /// Its value as text.
    pub value: String,
}

/// The searchable values of `fields` for the given index paths.
pub fn index_entries(fields: &Value, paths: &[String]) -> Vec<IndexEntry> {
    paths
        .iter()
        .filter_map(|path| {
            let value = match fields.pointer(path)? {
                Value::String(s) => s.clone(),
                Value::Number(n) => n.to_string(),
                Value::Bool(b) => b.to_string(),
                _ => return None,
            };
            Some(IndexEntry {
                path: path.clone(),
                value,
            })
        })
        .collect()
}

/// Escapes one object key as a JSON Pointer segment.
pub use sluice_rules::pointer::escape as escape_segment;

/// `path` (a JSON Pointer a plugin named in a decision) with every card number in its
/// segments replaced by the card marker. Decisions are stored with the record and in the
/// audit log, and a field's *name* may hold a card number (`{"4111 1111 1111 1111": ..}`),
/// so no path is kept as the client wrote it when it holds one (clause 2.1.2: card data is
/// never stored). Paths without twelve digits are returned as they are, at no cost.
pub fn without_cards(path: String) -> String {
    if path.bytes().filter(u8::is_ascii_digit).count() < sluice_rules::card::MIN_DIGITS
        && path.is_ascii()
    {
        return path;
    }
    let segments: Vec<String> = path
        .split('/')
        .skip(1)
        .map(|raw| {
            let key = pointer::unescape(raw);
            match sluice_rules::card::redact_card_numbers(&key, sluice_rules::card::MARKER) {
                Some((masked, _)) => escape_segment(&masked).into_owned(),
                None => raw.to_string(),
            }
        })
        .collect();
    if segments.is_empty() {
        return path;
    }
    format!("/{}", segments.join("/"))
}

/// Orders JSON Pointers segment by segment, array indices (digits only) as numbers, so that
/// `/a/10` comes after `/a/9` and `/a/1/b` after `/a/1`.
pub fn pointer_order(a: &str, b: &str) -> std::cmp::Ordering {
    let numeric = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    let mut x = a.split('/');
    let mut y = b.split('/');
    loop {
        match (x.next(), y.next()) {
            (None, None) => return std::cmp::Ordering::Equal,
            (None, Some(_)) => return std::cmp::Ordering::Less,
            (Some(_), None) => return std::cmp::Ordering::Greater,
            (Some(p), Some(q)) => {
                let order = if numeric(p) && numeric(q) {
                    p.len().cmp(&q.len()).then_with(|| p.cmp(q))
                } else {
                    p.cmp(q)
                };
                if order != std::cmp::Ordering::Equal {
                    return order;
                }
            }
        }
    }
}

/// Removes the value at `pointer` (not the root). Returns whether something was removed.
pub fn remove_at(root: &mut Value, pointer: &str) -> bool {
    let Some((parent, last)) = pointer.rsplit_once('/') else {
        return false;
    };
    let key = pointer::unescape(last);
    match root.pointer_mut(parent) {
        Some(Value::Object(map)) => map.remove(key.as_ref()).is_some(),
        Some(Value::Array(items)) => match key.parse::<usize>() {
            Ok(i) if i < items.len() => {
                items.remove(i);
                true
            }
            _ => false,
        },
        _ => false,
    }
}

/// Removes the values at every one of `pointers` (none the root), each as it was before
/// any was removed: as removing them one by one from the last to the first in
/// [`pointer_order`] does (a pointer inside another one removed is gone with it), but in
/// time linear in the pointers and the arrays they remove from, where one by one each
/// removal from an array would shift the elements after it.
///
/// Removals from objects come first, every path still as it was; then the removals from
/// each array, the arrays taken deepest (last in [`pointer_order`]) first, so no array
/// is shifted before the removals below its elements are done.
pub fn remove_all(root: &mut Value, pointers: &[&str]) {
    use std::collections::BTreeMap;
    let mut from_arrays: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for &pointer in pointers {
        let Some((parent, last)) = pointer.rsplit_once('/') else {
            continue;
        };
        match root.pointer_mut(parent) {
            Some(Value::Object(map)) => {
                map.remove(pointer::unescape(last).as_ref());
            }
            Some(Value::Array(items)) => {
                if let Ok(i) = last.parse::<usize>()
                    && i < items.len()
                {
                    from_arrays.entry(parent).or_default().push(i);
                }
            }
            _ => {}
        }
    }
    let mut arrays: Vec<(&str, Vec<usize>)> = from_arrays.into_iter().collect();
    arrays.sort_by(|(a, _), (b, _)| pointer_order(b, a));
    for (parent, mut indices) in arrays {
        let Some(Value::Array(items)) = root.pointer_mut(parent) else {
            continue;
        };
        indices.sort_unstable();
        indices.dedup();
        let mut next = indices.into_iter().peekable();
        let mut i = 0;
        items.retain(|_| {
            let gone = next.next_if_eq(&i).is_some();
            i += 1;
            !gone
        });
    }
}

/// Replaces the value at `pointer`, which must exist. Returns whether it did.
pub fn replace_at(root: &mut Value, pointer: &str, value: Value) -> bool {
    match root.pointer_mut(pointer) {
        Some(slot) => {
            *slot = value;
            true
        }
        None => false,
    }
}

/// Keeps only the parts of `fields` at or below one of `paths` (JSON Pointers; `""` is
/// everything). Used to build the projection an audience may see.
pub fn project(fields: &Value, paths: &[String]) -> Value {
    if paths.iter().any(String::is_empty) {
        return fields.clone();
    }
    let mut out = Value::Object(Map::new());
    for path in paths {
        let Some(value) = fields.pointer(path) else {
            continue;
        };
        insert_at(&mut out, path, value.clone());
    }
    shaped_like(out, fields)
}

/// Gives `built` (a tree assembled from JSON Pointers, where every container is an object)
/// the container types of `like`, the record it was taken from: where `like` holds an array,
/// the object keyed by indices becomes an array of the same elements in index order (an
/// element left out of a projection is left out of the array; nothing is padded). Parts of
/// `built` that `like` does not have stay as they are.
pub fn shaped_like(built: Value, like: &Value) -> Value {
    match (built, like) {
        (Value::Object(map), Value::Array(items)) => {
            let mut indexed: Vec<(usize, Value)> = Vec::with_capacity(map.len());
            let mut others = Map::new();
            for (key, child) in map {
                match key.parse::<usize>() {
                    Ok(i) if i < items.len() && i.to_string() == key => {
                        let shaped = shaped_like(child, &items[i]);
                        indexed.push((i, shaped));
                    }
                    _ => {
                        others.insert(key, child);
                    }
                }
            }
            if !others.is_empty() {
                // Not an array's indices after all: keep the object.
                others.extend(indexed.into_iter().map(|(i, v)| (i.to_string(), v)));
                return Value::Object(others);
            }
            indexed.sort_by_key(|(i, _)| *i);
            Value::Array(indexed.into_iter().map(|(_, v)| v).collect())
        }
        (Value::Object(map), Value::Object(like)) => Value::Object(
            map.into_iter()
                .map(|(key, child)| {
                    let shaped = match like.get(&key) {
                        Some(l) => shaped_like(child, l),
                        None => child,
                    };
                    (key, shaped)
                })
                .collect(),
        ),
        (built, _) => built,
    }
}

/// Inserts `value` at `pointer`, creating intermediate objects (array indices become
/// object keys until [`shaped_like`] turns them back into arrays).
pub fn insert_at(root: &mut Value, pointer: &str, value: Value) {
    let segments: Vec<String> = sluice_rules::pointer::segments(pointer)
        .map(std::borrow::Cow::into_owned)
        .collect();
    let mut node = root;
    for (i, seg) in segments.iter().enumerate() {
        if !node.is_object() {
            *node = Value::Object(Map::new());
        }
        let map = node.as_object_mut().expect("just made an object");
        if i + 1 == segments.len() {
            map.insert(seg.clone(), value);
            return;
        }
        node = map
            .entry(seg.clone())
            .or_insert_with(|| Value::Object(Map::new()));
    }
}

/// The JSON Pointer `path` is `prefix` or lies below it (`/address/city` is within
/// `/address`; `/addressee` is not).
pub fn is_within(path: &str, prefix: &str) -> bool {
    path == prefix || (path.starts_with(prefix) && path.as_bytes().get(prefix.len()) == Some(&b'/'))
}

/// The JSON Pointers of the leaves of `v`.
pub fn leaves(v: &serde_json::Value) -> Vec<String> {
    fn walk(v: &serde_json::Value, at: &mut String, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) if !m.is_empty() => {
                for (k, x) in m {
                    let len = at.len();
                    pointer::push(at, k);
                    walk(x, at, out);
                    at.truncate(len);
                }
            }
            serde_json::Value::Array(a) if !a.is_empty() => {
                for (i, x) in a.iter().enumerate() {
                    let len = at.len();
                    at.push_str(&format!("/{i}"));
                    walk(x, at, out);
                    at.truncate(len);
                }
            }
            _ => out.push(at.clone()),
        }
    }
    let mut out = Vec::new();
    walk(v, &mut String::new(), &mut out);
    out
}

/// A record as audit entries name it: its header, without the fields.
#[derive(Debug, Clone, Copy)]
pub struct About<'a> {
    /// The tenant.
    pub tenant: &'a str,
    /// The record id.
    pub id: &'a str,
    /// The record kind.
    pub kind: &'a str,
    /// The data subject's key (only its digest is kept).
    pub subject: &'a str,
}

impl StoredRecord {
    /// The record as audit entries name it.
    pub fn about(&self) -> About<'_> {
        About {
            tenant: &self.tenant,
            id: &self.id,
            kind: &self.kind,
            subject: &self.subject,
        }
    }
}

#[cfg(test)]
mod tests;
