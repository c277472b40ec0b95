//! The disclosure rules, independent of the generated bindings so they are tested natively.
//!
//! Rules are tried in order and the first that matches decides. Reasons name kinds, ids and
//! purposes only, never the values of personal data.

pub use sluice_plugin_sdk::view::{FieldView, Leaf};

use crate::config::{Category, Config};

/// The record as the rules see it.
#[derive(Debug)]
pub struct Record<'a, F> {
    /// The record kind, e.g. `delivery`.
    pub kind: &'a str,
    /// Every leaf of the record's fields.
    pub fields: &'a [F],
}

impl<'a, F: FieldView> Record<'a, F> {
    fn get(&self, path: &str) -> Option<Leaf<'a>> {
        self.fields
            .iter()
            .find(|f| f.path() == path)
            .map(|f| f.leaf())
    }

    fn text(&self, path: &str) -> Option<&'a str> {
        match self.get(path)? {
            Leaf::Text(t) => Some(t),
            _ => None,
        }
    }

    /// Whether the field holds anything but `null` (e.g. an opt-out timestamp).
    fn is_set(&self, path: &str) -> bool {
        !matches!(self.get(path), None | Some(Leaf::Null))
    }

    /// Whether the array at `path` holds the string `item`: whether one of the leaves
    /// `{path}/0`, `{path}/1`, ... up to the first index that is not a leaf is `item`.
    ///
    /// One pass over the fields (looking each element up by its pointer would be a pass
    /// per element): the first leaf of each index is kept, then the indices are read in
    /// order.
    fn lists(&self, path: &str, item: &str) -> bool {
        let mut elements: Vec<Option<Leaf<'a>>> = Vec::new();
        for f in self.fields {
            let Some(index) = f
                .path()
                .strip_prefix(path)
                .and_then(|rest| rest.strip_prefix('/'))
                .and_then(array_index)
            else {
                continue;
            };
            // No run of indices from 0 can reach past the number of fields.
            if index >= self.fields.len() {
                continue;
            }
            if elements.len() <= index {
                elements.resize(index + 1, None);
            }
            elements[index].get_or_insert(f.leaf());
        }
        elements
            .iter()
            .take_while(|leaf| leaf.is_some())
            .any(|leaf| *leaf == Some(Leaf::Text(item)))
    }
}

/// The index `segment` names, written as `format!("{i}")` writes it (no sign, no leading
/// zero).
fn array_index(segment: &str) -> Option<usize> {
    let canonical = !segment.is_empty()
        && segment.bytes().all(|b| b.is_ascii_digit())
        && (segment == "0" || !segment.starts_with('0'));
    canonical.then(|| segment.parse().ok()).flatten()
}

/// Who reads, and why.
#[derive(Debug, Clone, Copy)]
pub struct Audience<'a> {
    /// `internal` or `subprocessor:ID`.
    pub name: &'a str,
    /// The purpose of the read.
    pub purpose: &'a str,
}

/// A permitted disclosure.
#[derive(Debug, PartialEq, Eq)]
pub struct Permit {
    /// The JSON Pointers the audience may see; `""` is the whole record.
    pub paths: &'static [&'static str],
    /// The clause that permits it.
    pub clause: &'static str,
    /// Why.
    pub reason: String,
}

/// A refused disclosure.
#[derive(Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The clause that forbids it.
    pub clause: &'static str,
    /// Why.
    pub reason: String,
    /// The field the refusal is about, if it is about one.
    pub path: Option<&'static str>,
}

/// The outcome of a disclosure request.
pub type Decision = Result<Permit, Refusal>;

const WHOLE: &[&str] = &[""];
const COURIER_PATHS: &[&str] = &["/name", "/company", "/address", "/phone", "/email"];
const COURIER_PURPOSES: &[&str] = &["delivery", "fulfilment"];
const REDIRECTION_PATHS: &[&str] = &["/mac"];
use sluice_plugin_sdk::register::VENDOR_PROVISIONING_FIELDS as PROVISIONING_PATHS;
const WEB_FORM_PATHS: &[&str] = &["/form", "/purpose", "/fields"];
const CREDIT_CHECK_PATHS: &[&str] = &["/name", "/organisation"];

fn permit(paths: &'static [&'static str], clause: &'static str, reason: String) -> Decision {
    Ok(Permit {
        paths,
        clause,
        reason,
    })
}

fn refuse(clause: &'static str, reason: String, path: Option<&'static str>) -> Decision {
    Err(Refusal {
        clause,
        reason,
        path,
    })
}

/// `Ok` when `record` names the subprocessor `id` at `field`; else the refusal, under
/// `clause` and about `field`, that the record is another's (`reason`).
fn named_at<F: FieldView>(
    record: &Record<'_, F>,
    field: &'static str,
    id: &str,
    clause: &'static str,
    reason: &str,
) -> Result<(), Refusal> {
    if record.text(field) == Some(id) {
        Ok(())
    } else {
        Err(Refusal {
            clause,
            reason: reason.into(),
            path: Some(field),
        })
    }
}

/// Decides what `audience` may see of `record`.
pub fn disclose<F: FieldView>(
    cfg: &Config,
    record: &Record<'_, F>,
    audience: Audience<'_>,
) -> Decision {
    let purpose = audience.purpose;
    let internal = audience.name == "internal";
    // Only the calling service itself may read without stating a purpose.
    let allowed = cfg.purposes.iter().any(|p| p == purpose) || (internal && purpose.is_empty());
    if !allowed {
        let reason = if purpose.is_empty() {
            format!(
                "a read by `{}` must state one of the bundle's purposes",
                audience.name
            )
        } else {
            format!("purpose `{purpose}` is not one of the bundle's purposes")
        };
        return refuse("3", reason, None);
    }
    if internal {
        internal_use(record, purpose)
    } else if let Some(id) = audience.name.strip_prefix("subprocessor:") {
        subprocessor(cfg, record, id, purpose)
    } else {
        refuse(
            "3.2",
            format!(
                "audience `{}` is neither `internal` nor `subprocessor:ID`",
                audience.name
            ),
            None,
        )
    }
}

/// The clause under which the calling service holds a record of `kind`.
fn kind_clause(kind: &str) -> &'static str {
    match kind {
        "contact" => "2.1.1",
        "call-recording" => "2.1.3",
        "marketing-subscription" => "2.1.4",
        "delivery" => "2.2.1",
        "device-provisioning" | "provisioning-request" => "2.2.2",
        "web-form" => "2.3.1",
        _ => "2",
    }
}

/// Reads by the calling service itself.
fn internal_use<F: FieldView>(record: &Record<'_, F>, purpose: &str) -> Decision {
    let kind = record.kind;
    match (kind, purpose) {
        ("web-form", _) => match record.text("/purpose").filter(|p| !p.is_empty()) {
            Some(stated) if stated == purpose => permit(
                WHOLE,
                "2.3.1",
                format!("web-form data is used for the purpose stated in the form ({stated})"),
            ),
            stated => refuse(
                "2.3.1",
                format!(
                    "web-form data is used only for the purpose stated in the form ({})",
                    stated.unwrap_or("the form states none")
                ),
                Some("/purpose"),
            ),
        },
        (_, "email-marketing" | "direct-marketing") => {
            if kind == "marketing-subscription" {
                subscriber(record, purpose)
            } else {
                refuse(
                    "2.1.4",
                    format!(
                        "`{purpose}` goes only to marketing subscribers, not to `{kind}` records"
                    ),
                    None,
                )
            }
        }
        ("contact", "telephone-marketing") => unless_opted_out(
            record,
            "/telephone_opt_out_at",
            "2.1.5",
            "the contact has opted out of telephone marketing",
            "telephone marketing to a contact who has not opted out rests on legitimate interest"
                .into(),
        ),
        ("marketing-subscription", "telephone-marketing") => subscriber(record, purpose),
        (_, "telephone-marketing") => refuse(
            "2.1.5",
            format!(
                "telephone marketing reaches only contacts and subscribers, not `{kind}` records"
            ),
            None,
        ),
        (_, "") => permit(
            WHOLE,
            kind_clause(kind),
            format!("the calling service holds `{kind}` records for its own processing"),
        ),
        _ => permit(
            WHOLE,
            kind_clause(kind),
            format!("the calling service may use the whole `{kind}` record for `{purpose}`"),
        ),
    }
}

/// The whole record, under `clause`, for `reason`; refused, under `clause` and about `field`,
/// when `field` records an opt-out (`opted_out` says of what).
fn unless_opted_out<F: FieldView>(
    record: &Record<'_, F>,
    field: &'static str,
    clause: &'static str,
    opted_out: &str,
    reason: String,
) -> Decision {
    if record.is_set(field) {
        refuse(clause, opted_out.into(), Some(field))
    } else {
        permit(WHOLE, clause, reason)
    }
}

/// Marketing to a subscriber (clause 2.1.4), unless they opted out.
fn subscriber<F: FieldView>(record: &Record<'_, F>, purpose: &str) -> Decision {
    unless_opted_out(
        record,
        "/opted_out_at",
        "2.1.4",
        "the subscriber has opted out of marketing",
        format!("`{purpose}` to a subscriber who has not opted out"),
    )
}

/// Reads by a subprocessor of the register (clauses 2.2, 2.3.1, 3, 3.1, 3.2).
fn subprocessor<F: FieldView>(
    cfg: &Config,
    record: &Record<'_, F>,
    id: &str,
    purpose: &str,
) -> Decision {
    let kind = record.kind;
    let Some(entry) = cfg.register.get(id) else {
        return refuse(
            "3.2",
            format!("`{id}` is not a subprocessor of the register"),
            None,
        );
    };
    if cfg.marketing_purposes.iter().any(|p| p == purpose) {
        return refuse(
            "3",
            format!(
                "information is never shared with third parties for direct marketing (`{purpose}`)"
            ),
            None,
        );
    }
    if entry.unsafe_transfer() {
        let reason = match entry.outside_eea {
            Some(_) => format!("`{id}` is outside the EEA and the register records no safeguards"),
            None => format!(
                "the register does not say whether `{id}` is inside the EEA, and records no \
                 safeguards"
            ),
        };
        return refuse("3.1", reason, None);
    }
    if kind == "web-form" {
        let stated = record.text("/purpose").filter(|p| !p.is_empty());
        return if record.lists("/share_with", id) && stated == Some(purpose) {
            permit(
                WEB_FORM_PATHS,
                "2.3.1",
                format!("the form names `{id}` as a recipient for its purpose (`{purpose}`)"),
            )
        } else {
            refuse(
                "2.3.1",
                "web-form data is shared only with parties the form names, for its purpose".into(),
                Some("/share_with"),
            )
        };
    }
    match entry.category {
        Some(Category::Courier) => courier(record, id, purpose),
        Some(Category::Manufacturer) => manufacturer(record, id, purpose),
        Some(Category::Other) if kind == "contact" && purpose == "credit-check" => permit(
            CREDIT_CHECK_PATHS,
            "3.2",
            format!("`{id}` receives the contact's name and organisation for a credit check"),
        ),
        Some(Category::Other) | None => refuse(
            "3",
            format!(
                "sharing this `{kind}` record with `{id}` for `{purpose}` is not necessary for \
                 the service"
            ),
            None,
        ),
    }
}

/// A courier sees the delivery details of its own deliveries (clause 2.2.1).
fn courier<F: FieldView>(record: &Record<'_, F>, id: &str, purpose: &str) -> Decision {
    let kind = record.kind;
    if kind != "delivery" {
        return refuse(
            "2.2.1",
            format!("a courier receives delivery records only, not `{kind}` records"),
            None,
        );
    }
    named_at(
        record,
        "/courier",
        id,
        "2.2.1",
        "this delivery is for another courier",
    )?;
    if !COURIER_PURPOSES.contains(&purpose) {
        return refuse(
            "2.2.1",
            format!(
                "a courier receives delivery details for delivery or fulfilment, not for `{purpose}`"
            ),
            None,
        );
    }
    permit(
        COURIER_PATHS,
        "2.2.1",
        format!("`{id}` needs the delivery details to deliver the order"),
    )
}

/// A manufacturer sees its own devices: the MAC address for redirection, SIP details only
/// when it provisions the device itself (clause 2.2.2).
fn manufacturer<F: FieldView>(record: &Record<'_, F>, id: &str, purpose: &str) -> Decision {
    let kind = record.kind;
    if kind != "device-provisioning" {
        return refuse(
            "3",
            format!(
                "a manufacturer receives device-provisioning records only, not `{kind}` records"
            ),
            None,
        );
    }
    named_at(
        record,
        "/vendor",
        id,
        "2.2.2",
        "this device is another vendor's",
    )?;
    match purpose {
        "redirection" => permit(
            REDIRECTION_PATHS,
            "2.2.2",
            format!("`{id}` receives the MAC address for its redirection server"),
        ),
        "provisioning" if record.text("/provisioning_host") == Some("vendor") => permit(
            PROVISIONING_PATHS,
            "2.2.2",
            format!("the device is provisioned on `{id}`'s own provisioning server"),
        ),
        "provisioning" => refuse(
            "2.2.2",
            "provisioning happens on ProVu's own server: SIP credentials stay there".into(),
            Some("/provisioning_host"),
        ),
        _ => refuse(
            "2.2.2",
            format!(
                "a manufacturer receives device data for redirection or provisioning, not for `{purpose}`"
            ),
            None,
        ),
    }
}
