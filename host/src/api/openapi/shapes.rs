//! The response shapes of handlers that answer with a JSON object built in place.

use super::*;

/// `GET /healthz`.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: String,
    /// The default bundle, `name@version`.
    pub bundle: String,
    /// The store's backend: `redb` (embedded).
    pub store: String,
    /// This gateway process's id (a UUID v7, new at each start): the writer id of its audit
    /// chain and of its delivery claims.
    pub gateway: String,
}

/// `GET /v1/records?kind=...`.
#[derive(Serialize, ToSchema)]
pub struct Search {
    /// The kind searched.
    pub kind: String,
    /// The matching records the caller may see.
    pub records: Vec<RecordView>,
}

/// `GET /v1/subjects/{subject}/records`.
#[derive(Serialize, ToSchema)]
pub struct SubjectRecords {
    /// The subject.
    pub subject: String,
    /// The subject's records the audience may see.
    pub records: Vec<ReadResult>,
}

/// A completed data subject's request.
#[derive(Serialize, ToSchema)]
pub struct Request {
    /// The request id (UUID v7).
    pub id: String,
    /// The right exercised, e.g. `rectification`.
    pub right: String,
    /// The clause, `9`.
    pub clause: String,
    /// `completed`.
    pub status: String,
    /// RFC 3339.
    pub completed_at: String,
}

/// `PATCH /v1/records/{id}`: the rectified record and the request.
#[derive(Serialize, ToSchema)]
pub struct Rectified {
    /// The record as stored.
    #[serde(flatten)]
    pub record: WriteResponse,
    /// The rectification request.
    pub request: Request,
}

/// One line of the `POST /v1/records:batch` answer: the line's number and status,
/// with the body the record would have had on its own (a write or an error).
#[derive(Serialize, ToSchema)]
pub struct BatchLine {
    /// 1-based line number of the request body.
    pub line: u64,
    /// The HTTP status this record would have had on its own.
    pub status: u16,
}

/// `GET /v1/records/{id}/recipients`.
#[derive(Serialize, ToSchema)]
pub struct Recipients {
    /// The record id.
    pub record: String,
    /// Who received the record's data: `{"at","recipient","paths","clause",...}`.
    #[schema(value_type = Vec<Object>)]
    pub recipients: Vec<Value>,
}

/// One record's part in a permission answer.
#[derive(Serialize, ToSchema)]
pub struct Basis {
    /// The record id.
    pub id: String,
    /// Its kind.
    pub kind: String,
    /// The disclosure decision.
    #[serde(flatten)]
    pub decision: Decision,
}

/// `GET /v1/subjects/{subject}/permissions`.
#[derive(Serialize, ToSchema)]
pub struct Permission {
    /// The subject.
    pub subject: String,
    /// The purpose asked about.
    pub purpose: String,
    /// Whether the service may contact the subject for it.
    pub allowed: bool,
    /// The clause behind the answer.
    pub clause: String,
    /// Why.
    pub reason: String,
    /// Each record's part.
    pub records: Vec<Basis>,
}

/// The common part of the answers to data subjects' requests.
#[derive(Serialize, ToSchema)]
pub struct RightAnswer {
    /// The request id (UUID v7).
    pub request: String,
    /// The right exercised: `access`, `erasure`, `restriction`, `restriction-lifted`,
    /// `objection`.
    pub right: String,
    /// The clause.
    pub clause: String,
    /// `completed`.
    pub status: String,
    /// RFC 3339.
    pub completed_at: String,
    /// The subject.
    pub subject: String,
}

/// `GET /v1/subjects/{subject}/export`.
#[derive(Serialize, ToSchema)]
pub struct Export {
    /// The request.
    #[serde(flatten)]
    pub answer: RightAnswer,
    /// Every record about the subject: fields, decisions, expiries, recipients.
    #[schema(value_type = Vec<Object>)]
    pub records: Vec<Value>,
}

/// `POST`/`DELETE /v1/subjects/{subject}/restriction`, `POST .../objections`.
#[derive(Serialize, ToSchema)]
pub struct StandingRequest {
    /// The request.
    #[serde(flatten)]
    pub answer: RightAnswer,
    /// Whether processing is now restricted (restriction requests).
    pub restricted: Option<bool>,
    /// The purpose objected to (objections).
    pub purpose: Option<String>,
    /// Pending deliveries refused by the change.
    pub deliveries_refused: Option<u64>,
}

/// `POST /v1/subjects/{subject}/erasure`.
#[derive(Serialize, ToSchema)]
pub struct Erasure {
    /// The request.
    #[serde(flatten)]
    pub answer: RightAnswer,
    /// The bundle whose rules decided what is kept.
    pub bundle: String,
    /// Each record: `{"id","kind","deleted","erased","kept"}`.
    #[schema(value_type = Vec<Object>)]
    pub records: Vec<Value>,
    /// Pending deliveries cancelled.
    pub deliveries_cancelled: u64,
}

/// One delivery of a vendor's feed.
#[derive(Serialize, ToSchema)]
pub struct FeedItem {
    /// Its cursor.
    pub cursor: u64,
    /// The idempotency key.
    pub id: String,
    /// The vendor's endpoint kind.
    pub endpoint: String,
    /// The clause permitting the transfer.
    pub clause: String,
    /// The payload in the vendor's shape; `null` once delivered.
    pub payload: Value,
    /// `sha256:<hex>` of a dropped payload.
    pub payload_digest: Option<String>,
    /// The payload's field paths.
    pub paths: Vec<String>,
    /// RFC 3339.
    pub created_at: String,
    /// `pending` or `delivered`.
    pub state: crate::outbox::State,
}

/// `GET /v1/vendor/feed`.
#[derive(Serialize, ToSchema)]
pub struct Feed {
    /// The vendor.
    pub vendor: String,
    /// The last acknowledged cursor.
    pub acknowledged: u64,
    /// The deliveries after the cursor.
    pub deliveries: Vec<FeedItem>,
    /// The cursor of the last delivery listed, `null` when none is.
    pub next: Option<u64>,
    /// The highest cursor served to the vendor: acknowledgements may reach it, no further.
    pub served: u64,
}

/// `POST /v1/vendor/feed/ack`.
#[derive(Serialize, ToSchema)]
pub struct Acked {
    /// The vendor.
    pub vendor: String,
    /// The cursor acknowledged.
    pub cursor: u64,
    /// Deliveries now delivered.
    pub delivered: u64,
}

/// `GET /v1/policy/changes`.
#[derive(Serialize, ToSchema)]
pub struct Changes {
    /// `8`.
    pub clause: String,
    /// The notices, oldest first.
    #[schema(value_type = Vec<Object>)]
    pub changes: Vec<Value>,
}

/// `GET /v1/admin/outbox`.
#[derive(Serialize, ToSchema)]
pub struct Outbox {
    /// Pending deliveries.
    pub pending: u64,
    /// RFC 3339 of the oldest pending one.
    pub oldest_pending_at: Option<String>,
    /// This page.
    pub deliveries: Vec<crate::outbox::Entry>,
    /// The `after` of the next page, `null` on the last.
    pub next: Option<u64>,
}

/// A token as listed (never the token itself).
#[derive(Serialize, ToSchema)]
pub struct TokenView {
    /// `tok_` + 12 hex digits.
    pub id: String,
    /// Its role.
    pub role: Role,
    /// The tenant (services and compliance).
    pub tenant: Option<String>,
    /// The vendor (vendors).
    pub vendor: Option<String>,
    /// A note.
    pub label: Option<String>,
    /// RFC 3339.
    pub created_at: String,
    /// Who issued it.
    pub created_by: String,
    /// RFC 3339, once revoked.
    pub revoked_at: Option<String>,
}

/// `POST /v1/admin/tokens`.
#[derive(Serialize, ToSchema)]
pub struct Issued {
    /// The token: shown here only.
    pub token: String,
    /// Its record.
    pub record: TokenView,
}

/// `GET /v1/admin/tokens`.
#[derive(Serialize, ToSchema)]
pub struct Tokens {
    /// Every token issued.
    pub tokens: Vec<TokenView>,
}

/// `DELETE /v1/admin/tokens/{id}`.
#[derive(Serialize, ToSchema)]
pub struct Revoked {
    /// The revoked token.
    pub revoked: TokenView,
}

/// A bundle as listed.
#[derive(Serialize, ToSchema)]
pub struct BundleSummary {
    /// `name@version`.
    pub id: String,
    /// The name.
    pub name: String,
    /// The version.
    pub version: String,
    /// `sha256:<hex>` of the package.
    pub digest: String,
    /// `active`, `shadow` or `available` for the caller's tenant.
    pub state: String,
    /// The key that signed it.
    pub signed_by: Option<String>,
    /// Who published it.
    pub published_by: String,
    /// When (RFC 3339).
    pub published_at: String,
    /// Plugin name -> component digest.
    #[schema(value_type = std::collections::BTreeMap<String, String>)]
    pub plugins: Value,
    /// The names of its test cases.
    pub cases: Vec<String>,
}

/// `GET /v1/admin/bundles`.
#[derive(Serialize, ToSchema)]
pub struct Bundles {
    /// The caller's tenant's active bundle.
    pub active: String,
    /// Every bundle, with `activations` (its count of activations).
    pub bundles: Vec<BundleSummary>,
}

/// `GET /v1/admin/plugins`.
#[derive(Serialize, ToSchema)]
pub struct Plugins {
    /// Every uploaded plugin: `{"digest","name","version","world",...}`.
    #[schema(value_type = Vec<Object>)]
    pub plugins: Vec<Value>,
}

/// `GET /v1/admin/active`.
#[derive(Serialize, ToSchema)]
pub struct Active {
    /// `name@version`.
    pub bundle: String,
    /// `sha256:<hex>` of the package.
    pub digest: String,
    /// The key that signed it.
    pub signed_by: Option<String>,
    /// `{"name","digest","world"}` of each plugin.
    #[schema(value_type = Vec<Object>)]
    pub plugins: Vec<Value>,
    /// The activation that put it there.
    #[schema(value_type = Option<Object>)]
    pub activation: Value,
    /// The retention recompute of the tenant's records.
    #[schema(value_type = Option<Object>)]
    pub retention_recompute: Value,
}

/// `GET /v1/admin/activations`.
#[derive(Serialize, ToSchema)]
pub struct Activations {
    /// Oldest first.
    #[schema(value_type = Vec<Object>)]
    pub activations: Vec<Value>,
}

/// `GET /v1/admin/retention`.
#[derive(Serialize, ToSchema)]
pub struct Retention {
    /// The progress of the recompute.
    #[schema(value_type = Option<Object>)]
    pub recompute: Value,
}

/// A report of the control plane (an activation, a rollback, a reload, a shadow run,
/// an impact report): a JSON object.
#[derive(Serialize)]
pub struct Report;

impl PartialSchema for Report {
    fn schema() -> RefOr<Schema> {
        object().into()
    }
}

impl ToSchema for Report {}

/// Bytes (a plugin component, a backup snapshot).
#[derive(Serialize)]
pub struct Binary;

impl PartialSchema for Binary {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::Type(Type::String))
            .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                utoipa::openapi::KnownFormat::Binary,
            )))
            .into()
    }
}

impl ToSchema for Binary {}
