//! The HTTP error type: client errors (4xx) carry a JSON body naming the problem and, where
//! one applies, the policy clause; internal errors are logged and hidden.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::pipeline::PipelineError;
use crate::record::Decision;
use crate::store::StoreError;

/// A problem with one field.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FieldProblem {
    /// JSON Pointer of the field.
    pub path: String,
    /// What is wrong.
    pub error: String,
}

/// A limit of the gateway a request exceeded.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ExceededLimit {
    /// The limit, as its command-line flag names it (e.g. `max-body-kib`).
    pub name: String,
    /// Its value, in the flag's unit.
    pub max: u64,
}

/// The JSON body of every error response.
#[derive(Debug, Clone, Serialize, Default, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What is wrong, in words.
    pub error: String,
    /// The policy clause behind a refusal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub clause: Option<String>,
    /// The field concerned (JSON Pointer).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// The plugin that refused or failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub plugin: Option<String>,
    /// Every problem, when there are several.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<FieldProblem>,
    /// Set when the refusal also deleted the stored record (e.g. clause 6).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub erased: bool,
    /// Every problem found with a policy bundle or plugin, one line each.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<String>,
    /// The policy test cases of a bundle that failed, with expected vs actual.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(value_type = Vec<Object>)]
    pub failing_cases: Vec<crate::cases::CaseResult>,
    /// The limit a request exceeded (413, 422 for a record's shape).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<ExceededLimit>,
}

/// An error response.
#[derive(Debug)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The body (boxed: errors travel through many `Result`s on the hot path).
    pub body: Box<ErrorBody>,
    /// Seconds after which a client may retry (`Retry-After`), for 503s of load shedding.
    pub retry_after: Option<u32>,
}

impl ApiError {
    /// A response of `status` with `error` as message.
    pub fn new(status: StatusCode, error: impl Into<String>) -> Self {
        Self {
            status,
            body: Box::new(ErrorBody {
                error: error.into(),
                ..ErrorBody::default()
            }),
            retry_after: None,
        }
    }

    /// A request over the limit named `name` (its flag) of value `max`.
    pub fn over_limit(status: StatusCode, error: impl Into<String>, name: &str, max: u64) -> Self {
        let mut e = Self::new(status, error);
        e.body.limit = Some(ExceededLimit {
            name: name.to_string(),
            max,
        });
        e
    }

    /// 503 with `Retry-After`: the gateway is saturated; nothing was stored or sent.
    pub fn saturated(error: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::SERVICE_UNAVAILABLE, error);
        e.retry_after = Some(1);
        e
    }

    /// 415.
    pub fn unsupported_media(error: impl Into<String>) -> Self {
        Self::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, error)
    }

    /// 400.
    pub fn bad_request(error: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, error)
    }

    /// 404.
    pub fn not_found(error: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, error)
    }

    /// A refusal by the policy (`status` 422 for writes, 403 for reads), naming the clause.
    pub fn refused(status: StatusCode, decision: &Decision) -> Self {
        Self {
            retry_after: None,
            status,
            body: Box::new(ErrorBody {
                error: decision.reason.clone(),
                clause: Some(decision.clause.clone()),
                path: decision.path.clone(),
                plugin: Some(decision.plugin.clone()),
                ..ErrorBody::default()
            }),
        }
    }

    /// 500, logged; the client sees no detail.
    pub fn internal(error: &anyhow::Error) -> Self {
        tracing::error!(error = format!("{error:#}"), "internal error");
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
    }
}

impl From<PipelineError> for ApiError {
    fn from(e: PipelineError) -> Self {
        match e {
            PipelineError::UnknownKind { .. } => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string())
            }
            PipelineError::Schema { clause, problems } => Self {
                retry_after: None,
                status: StatusCode::UNPROCESSABLE_ENTITY,
                body: Box::new(ErrorBody {
                    error: problems[0].message.clone(),
                    clause,
                    path: Some(problems[0].path.clone()),
                    problems: problems
                        .into_iter()
                        .map(|p| FieldProblem {
                            path: p.path,
                            error: p.message,
                        })
                        .collect(),
                    ..ErrorBody::default()
                }),
            },
            PipelineError::Plugin(f) => {
                tracing::warn!(plugin = %f.plugin, error = %f, "plugin failure: request refused");
                Self {
                    retry_after: None,
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    body: Box::new(ErrorBody {
                        error: format!(
                            "{f}; the request was refused and nothing was stored or sent"
                        ),
                        plugin: Some(f.plugin),
                        ..ErrorBody::default()
                    }),
                }
            }
            PipelineError::Contract { ref plugin, .. } => {
                tracing::warn!(%plugin, error = %e, "plugin contract violation: request refused");
                Self {
                    retry_after: None,
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    body: Box::new(ErrorBody {
                        plugin: Some(plugin.clone()),
                        error: format!(
                            "{e}; the request was refused and nothing was stored or sent"
                        ),
                        ..ErrorBody::default()
                    }),
                }
            }
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "storage failure");
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage unavailable; nothing was stored",
        )
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        let status = r.status();
        let error = match status {
            StatusCode::PAYLOAD_TOO_LARGE => "request body is larger than the limit".to_string(),
            _ => r.body_text(),
        };
        Self::new(status, error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(*self.body)).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        response
    }
}

impl From<crate::budget::Shed> for ApiError {
    fn from(s: crate::budget::Shed) -> Self {
        match s {
            crate::budget::Shed::Saturated => Self::saturated(
                "the gateway's pipelines are saturated; nothing was stored or sent, retry later",
            ),
            crate::budget::Shed::Closed => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "the gateway is shutting down",
            ),
        }
    }
}

impl From<crate::service::executor::ExecError> for ApiError {
    fn from(e: crate::service::executor::ExecError) -> Self {
        match e {
            crate::service::executor::ExecError::Saturated => crate::budget::Shed::Saturated.into(),
            crate::service::executor::ExecError::Closed => crate::budget::Shed::Closed.into(),
            failed @ crate::service::executor::ExecError::Failed(_) => {
                Self::internal(&anyhow::Error::from(failed))
            }
        }
    }
}

impl From<crate::service::policy::ControlError> for ApiError {
    fn from(e: crate::service::policy::ControlError) -> Self {
        use crate::service::policy::ControlError;
        match e {
            ControlError::NotFound(m) => Self::not_found(m),
            ControlError::Conflict(m) => Self::new(StatusCode::CONFLICT, m),
            ControlError::Invalid {
                error,
                problems,
                cases,
            } => Self {
                retry_after: None,
                status: StatusCode::UNPROCESSABLE_ENTITY,
                body: Box::new(ErrorBody {
                    error,
                    details: problems,
                    failing_cases: cases,
                    ..ErrorBody::default()
                }),
            },
            ControlError::Signature(s) => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, s.to_string())
            }
            ControlError::Internal(e) => Self::internal(&e),
        }
    }
}
