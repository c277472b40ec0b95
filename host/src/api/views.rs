//! The JSON shapes of responses.

use serde::Serialize;
use serde_json::Value;

use crate::clock::{rfc3339_ms, rfc3339_secs};
use crate::pipeline::Disclosure;
use crate::record::{Decision, Delivery, Expiry, PluginRef, StoredRecord};

/// A decision as clients see it: `{"plugin","action","path","clause","reason"}`.
pub type DecisionView = Decision;

/// A scheduled deletion as clients see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ExpiryView {
    /// JSON Pointer of the field; `null` for the whole record.
    pub path: Option<String>,
    /// RFC 3339.
    pub due: String,
    /// The clause.
    pub clause: String,
}

impl From<&Expiry> for ExpiryView {
    fn from(e: &Expiry) -> Self {
        Self {
            path: (!e.path.is_empty()).then(|| e.path.clone()),
            due: rfc3339_secs(e.due),
            clause: e.clause.clone(),
        }
    }
}

/// `201` body of a write: `{"id","bundle","decisions", ...}`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WriteResponse {
    /// The record id.
    pub id: String,
    /// `name@version` of the bundle that processed it.
    pub bundle: String,
    /// Every decision, in order.
    pub decisions: Vec<Decision>,
    /// The fields as stored.
    pub fields: Value,
    /// Deletions scheduled.
    pub expiries: Vec<ExpiryView>,
    /// Deliveries computed for vendors and subprocessors.
    pub deliveries: Vec<Delivery>,
    /// The record's revision.
    pub revision: u64,
}

impl From<StoredRecord> for WriteResponse {
    /// The response for a stored record.
    fn from(record: StoredRecord) -> Self {
        Self {
            expiries: record.expiries.iter().map(ExpiryView::from).collect(),
            id: record.id,
            bundle: record.bundle,
            decisions: record.decisions,
            fields: record.fields,
            deliveries: record.deliveries,
            revision: record.revision,
        }
    }
}

/// What a subprocessor receives: exactly the projection its disclosure rules permit, with
/// the record's id and kind to refer to it, and the decisions that permitted it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProjectionView {
    /// The record id.
    pub id: String,
    /// The kind.
    pub kind: String,
    /// The fields the audience may see, and nothing else.
    pub fields: Value,
    /// `name@version` of the bundle whose rules decided.
    pub bundle: String,
    /// The disclosure decisions of this read.
    pub disclosure: Vec<Decision>,
}

/// The JSON a read returns: the full internal view for the calling service itself, only
/// the projection for anyone else.
pub fn read_view(
    record: &StoredRecord,
    fields: Value,
    disclosure: Vec<Decision>,
    internal: bool,
) -> Value {
    let view = if internal {
        serde_json::to_value(RecordView::of(record, fields, disclosure))
    } else {
        serde_json::to_value(ProjectionView {
            id: record.id.clone(),
            kind: record.kind.clone(),
            fields,
            bundle: record.bundle.clone(),
            disclosure,
        })
    };
    view.unwrap_or(Value::Null)
}

/// A record as read: `{"id","tenant","kind","subject","fields","created_at","updated_at","bundle", ...}`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RecordView {
    /// The record id.
    pub id: String,
    /// The tenant.
    pub tenant: String,
    /// The kind.
    pub kind: String,
    /// The data subject's key.
    pub subject: String,
    /// The fields this audience may see.
    pub fields: Value,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
    /// `name@version` of the bundle that processed the last write.
    pub bundle: String,
    /// The plugins (and their component digests) that processed the last write.
    pub plugins: Vec<PluginRef>,
    /// The bundle whose retention rules computed `expiries`, when a policy change
    /// recomputed them after the last write.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retention_bundle: Option<String>,
    /// The revision.
    pub revision: u64,
    /// The decisions of the last write.
    pub decisions: Vec<Decision>,
    /// Deletions still scheduled.
    pub expiries: Vec<ExpiryView>,
    /// The disclosure decisions of this read.
    pub disclosure: Vec<Decision>,
}

impl RecordView {
    /// The view of `record` with the projection `fields`.
    pub fn of(record: &StoredRecord, fields: Value, disclosure: Vec<Decision>) -> Self {
        Self {
            id: record.id.clone(),
            tenant: record.tenant.clone(),
            kind: record.kind.clone(),
            subject: record.subject.clone(),
            fields,
            created_at: rfc3339_ms(record.created_at),
            updated_at: rfc3339_ms(record.updated_at),
            bundle: record.bundle.clone(),
            plugins: record.plugins.clone(),
            retention_bundle: record.retention_bundle.clone(),
            revision: record.revision,
            decisions: record.decisions.clone(),
            expiries: record.expiries.iter().map(ExpiryView::from).collect(),
            disclosure,
        }
    }
}

/// The permitted views of disclosed records (refused ones are left out).
pub(super) fn permitted_views(
    disclosed: Vec<(StoredRecord, Disclosure)>,
    internal: bool,
) -> Vec<Value> {
    disclosed
        .into_iter()
        .filter_map(|(record, d)| match d {
            Disclosure::Permitted { fields, decisions } => {
                Some(read_view(&record, fields, decisions, internal))
            }
            Disclosure::Refused(_) => None,
        })
        .collect()
}

/// Someone who received a record's data, as the API shows it (`at` as RFC 3339).
pub(super) fn recipient_view(recipient: &crate::outbox::Recipient) -> Value {
    let mut v = serde_json::to_value(recipient).unwrap_or_default();
    v["at"] = serde_json::json!(rfc3339_ms(recipient.at));
    v
}
