//! The HTTP API (axum). The router is a value: [`router`] builds it from the shared state,
//! tests drive it over a real socket. Its route table also makes the OpenAPI document
//! ([`openapi`]), so the two cannot drift apart.

pub mod admin;
mod auth;
mod backup;
mod batch;
pub mod body;
mod candidates;
pub mod error;
mod extract;
mod ndjson;
pub mod openapi;
mod outbox;
mod records;
mod routes;
mod subjects;
pub mod views;

pub use error::{ApiError, ErrorBody};
pub use routes::{Limits, document as openapi_document, json as openapi_json, router};
pub use views::{DecisionView, RecordView, WriteResponse};
