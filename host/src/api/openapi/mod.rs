//! The OpenAPI 3.1 description of the HTTP API, built from the same route table as the
//! router (see `api::routes`): each handler carries its `#[utoipa::path]`, each group of
//! routes the roles its gate admits, and [`finish`] adds the responses every operation of a
//! kind can give (401/403 behind a gate; 400, 413, 415 and 422 with a body; 404 with a path
//! parameter). Served at `GET /openapi.json`, printed by `sluice openapi`, and kept in the
//! repository as `host/openapi.json` (a test checks that the file is up to date).

use std::borrow::Cow;

use serde::Serialize;
use serde_json::Value;
use utoipa::openapi::path::{Operation, ParameterIn, PathItem};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{AnyOfBuilder, ObjectBuilder, Schema, SchemaType, Type};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{ContentBuilder, HeaderBuilder, OpenApi, Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

use super::views::{ProjectionView, RecordView, WriteResponse};
use crate::auth::Role;
use crate::record::Decision;

/// The name of the security scheme: `Authorization: Bearer <token>`. Its scopes in an
/// operation's security requirement are the roles that may call it.
pub const BEARER: &str = "bearer";

/// The document's skeleton: title, version, the bearer scheme and the error body.
pub fn base() -> OpenApi {
    #[derive(utoipa::OpenApi)]
    #[openapi(
        info(
            title = "Sluice",
            description = "A privacy-policy gateway: services write and read personal data \
                through it, and sandboxed policy plugins decide what is stored, redacted, \
                disclosed, forwarded and deleted. Every route but `/healthz` and \
                `/openapi.json` needs a bearer token; the scopes of an operation's `bearer` \
                requirement name the roles that may call it. Every error answer is a JSON \
                `ErrorBody`."
        ),
        components(schemas(super::error::ErrorBody))
    )]
    struct Doc;
    let mut doc = <Doc as utoipa::OpenApi>::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    doc.info.license = None;
    doc.info.contact = None;
    let components = doc.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        BEARER,
        SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
    );
    doc
}

/// Marks every operation of a group of routes as needing a token of one of `roles`, and
/// tags it with the group's name.
pub fn gated(doc: &mut OpenApi, tag: &str, roles: &[Role]) {
    let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    for op in operations(doc) {
        op.security = Some(vec![SecurityRequirement::new(BEARER, names.clone())]);
        op.tags = Some(vec![tag.to_string()]);
        let note = format!("Needs a bearer token of role {}.", names.join(" or "));
        op.description = Some(match op.description.take() {
            Some(d) if !d.is_empty() => format!("{d}\n\n{note}"),
            _ => note,
        });
        add(
            op,
            401,
            "No valid bearer token (missing, malformed, unknown or revoked).",
            Some("WWW-Authenticate"),
        );
        add(
            op,
            403,
            "The token's role may not call this route (or, for a vendor, not for this vendor).",
            None,
        );
        add(
            op,
            503,
            "The gateway is saturated (retry after `Retry-After` seconds) or its storage is unavailable; nothing was stored or sent.",
            Some("Retry-After"),
        );
    }
}

/// Tags the operations of a group that needs no token.
pub fn public(doc: &mut OpenApi, tag: &str) {
    for op in operations(doc) {
        op.tags = Some(vec![tag.to_string()]);
        op.security = Some(Vec::new());
    }
}

/// Adds the responses that follow from an operation's shape, so that no handler needs to
/// repeat them: a malformed query or path parameter is a 400, an unknown resource a 404,
/// and a body can be malformed (400), late (408), too large (413), of the wrong media type or encoding
/// (415), or well-formed and of the wrong shape (422).
pub fn finish(mut doc: OpenApi) -> OpenApi {
    for op in operations(&mut doc) {
        let params = op.parameters.as_deref().unwrap_or_default();
        let has_path = params
            .iter()
            .any(|p| matches!(p.parameter_in, ParameterIn::Path));
        let has_query = params
            .iter()
            .any(|p| matches!(p.parameter_in, ParameterIn::Query));
        let body = op.request_body.as_ref().map(|b| {
            b.content
                .keys()
                .any(|k| k.contains("json") && !k.contains("ndjson"))
        });
        if has_path || has_query || body.is_some() {
            add(op, 400, "The request is malformed.", None);
        }
        if has_path {
            add(op, 404, "No such resource.", None);
        }
        if let Some(json) = body {
            add(
                op,
                408,
                "The body did not arrive within the body timeout; the connection is closed.",
                None,
            );
            add(op, 413, "The body is larger than the route's limit.", None);
            add(
                op,
                415,
                "The body's media type, charset or content encoding is not accepted.",
                None,
            );
            if json {
                add(
                    op,
                    422,
                    "The body is well-formed JSON of the wrong shape.",
                    None,
                );
            }
        }
    }
    doc
}

/// Every operation of the document.
fn operations(doc: &mut OpenApi) -> impl Iterator<Item = &mut Operation> {
    doc.paths
        .paths
        .values_mut()
        .flat_map(|item: &mut PathItem| {
            [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.options,
                &mut item.head,
                &mut item.patch,
                &mut item.trace,
            ]
            .into_iter()
            .flatten()
        })
}

/// Adds an error response (an [`super::error::ErrorBody`]) unless the operation already names
/// the status.
fn add(op: &mut Operation, status: u16, description: &str, header: Option<&str>) {
    let key = status.to_string();
    if op.responses.responses.contains_key(&key) {
        return;
    }
    let content = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name("ErrorBody")))
        .build();
    let mut response = ResponseBuilder::new()
        .description(description)
        .content("application/json", content);
    if let Some(h) = header {
        response = response.header(h, HeaderBuilder::new().schema(String::schema()).build());
    }
    op.responses
        .responses
        .insert(key, RefOr::T(response.build()));
}

/// A read: the full internal view ([`RecordView`]) for the calling service itself, or only
/// the projection ([`ProjectionView`]) for a subprocessor audience.
#[derive(Serialize)]
pub struct ReadResult;

impl PartialSchema for ReadResult {
    fn schema() -> RefOr<Schema> {
        AnyOfBuilder::new()
            .item(Ref::from_schema_name("RecordView"))
            .item(Ref::from_schema_name("ProjectionView"))
            .description(Some(
                "The full record for the internal audience, the projection otherwise.",
            ))
            .into()
    }
}

impl ToSchema for ReadResult {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ReadResult")
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push(("RecordView".into(), RecordView::schema()));
        schemas.push(("ProjectionView".into(), ProjectionView::schema()));
        <RecordView as ToSchema>::schemas(schemas);
        <ProjectionView as ToSchema>::schemas(schemas);
    }
}

/// Any JSON object (a shape the gateway's internals define in detail).
fn object() -> Schema {
    ObjectBuilder::new()
        .schema_type(SchemaType::Type(Type::Object))
        .into()
}

/// Error responses several operations share.
#[allow(
    dead_code,
    reason = "the responses only describe answers; they are never built"
)]
pub mod responses;

/// The response shapes of handlers that answer with a JSON object built in place.
#[allow(
    dead_code,
    reason = "the shapes only describe responses; they are never built"
)]
pub mod shapes;
