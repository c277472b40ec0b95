//! Subject routes beyond listing: whether the service may contact a subject for marketing.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::records::{ReadQuery, disclose_all, read_request, subject_records};
use crate::gateway::AppState;
use crate::pipeline::Disclosure;
use crate::record::Decision;

/// The marketing purposes a permission can be asked for, with the clause that governs each
/// when no record gives an answer.
const MARKETING: &[(&str, &str)] = &[
    ("email-marketing", "2.1.4"),
    ("telephone-marketing", "2.1.5"),
    ("direct-marketing", "2.1.4"),
];

/// `?purpose=`
#[derive(Debug, Deserialize)]
pub struct PermissionQuery {
    /// `email-marketing` or `telephone-marketing` (or `direct-marketing`).
    pub purpose: Option<String>,
}

/// One record's part in the answer.
#[derive(Debug, Serialize)]
struct Basis {
    id: String,
    kind: String,
    #[serde(flatten)]
    decision: Decision,
}

/// `GET /v1/subjects/{subject}/permissions?purpose=email-marketing|telephone-marketing`:
/// may the service contact the subject for this purpose? Each of the subject's records is
/// put to the bundle's disclosure rules for an internal read with that purpose (consent
/// basis and opt-out for email, 2.1.4; legitimate interest and opt-out for calls, 2.1.5).
/// Allowed when some record permits it and no record of a permitting kind refuses it (an
/// opt-out anywhere wins).
pub async fn permissions(
    State(state): State<Arc<AppState>>,
    Path(subject): Path<String>,
    Query(q): Query<PermissionQuery>,
) -> Result<Response, ApiError> {
    let purpose = q.purpose.unwrap_or_default();
    let Some((_, default_clause)) = MARKETING.iter().find(|(p, _)| *p == purpose) else {
        let names: Vec<&str> = MARKETING.iter().map(|(p, _)| *p).collect();
        return Err(ApiError::bad_request(format!(
            "`purpose` must be one of: {}",
            names.join(", ")
        )));
    };
    let policy = state.policy();
    let request = read_request(
        &policy,
        ReadQuery {
            audience: None,
            purpose: Some(purpose.clone()),
        },
    )?;
    let records = subject_records(&state, &subject).await?;
    let disclosed = disclose_all(&state, policy, records, request).await?;

    let mut permits = Vec::new();
    let mut refusals = Vec::new();
    for (record, d) in disclosed {
        let (list, decision) = match d {
            Disclosure::Permitted { decisions, .. } => match decisions.into_iter().last() {
                Some(decision) => (&mut permits, decision),
                None => continue,
            },
            Disclosure::Refused(decision) => (&mut refusals, decision),
        };
        list.push(Basis {
            id: record.id,
            kind: record.kind,
            decision,
        });
    }
    let permitting: BTreeSet<&str> = permits.iter().map(|b| b.kind.as_str()).collect();
    let blocking = refusals
        .iter()
        .find(|b| permitting.contains(b.kind.as_str()));
    let allowed = !permits.is_empty() && blocking.is_none();
    let (clause, reason) = match (allowed, blocking, permits.first(), refusals.first()) {
        (true, _, Some(p), _) => (p.decision.clause.clone(), p.decision.reason.clone()),
        (_, Some(b), _, _) | (_, None, _, Some(b)) => {
            (b.decision.clause.clone(), b.decision.reason.clone())
        }
        _ => (
            (*default_clause).to_string(),
            format!("no record of the subject gives a basis for {purpose}"),
        ),
    };
    let mut records = permits;
    records.extend(refusals);
    Ok(Json(serde_json::json!({
        "subject": subject,
        "purpose": purpose,
        "allowed": allowed,
        "clause": clause,
        "reason": reason,
        "records": records,
    }))
    .into_response())
}
