//! Activation and rollback: a bundle through the validation gate into one scope, the
//! activation recorded (with a change notice for a material change), the policies swapped.

use std::sync::Arc;

use serde::Serialize;

use crate::bundle::Policy;
use crate::bundle::package::{self};
use crate::clock::rfc3339_ms;
use crate::registry::{Activation, Notice};
use crate::state::AppState;
use crate::store::AuditEntry;

use super::startup::register_local;
use super::*;

/// What an activation did.
#[derive(Debug, Clone, Serialize)]
pub struct ActivationReport {
    /// The bundle now active.
    pub active: String,
    /// Its package digest.
    pub digest: String,
    /// The bundle active before.
    pub previous: String,
    /// Whether anything changed (activating the active bundle changes nothing).
    pub changed: bool,
    /// The activation, as recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activation: Option<Activation>,
    /// The policy test cases that passed the gate.
    pub cases_passed: usize,
    /// Whether the change changes retention, so that the stored records' schedule is being
    /// recomputed (see `GET /v1/admin/retention`).
    pub retention_recompute: bool,
    /// Milliseconds from the request to the swap.
    pub took_ms: u64,
}

/// Whose policy an activation changes: a tenant's own, or the gateway default (`None`).
pub type Scope<'a> = Option<&'a str>;

pub(super) fn scope_name(scope: Scope<'_>) -> String {
    scope.map_or_else(
        || "the gateway default".to_string(),
        |t| format!("tenant {t}"),
    )
}

/// Activates bundle `id` through the validation gate for `scope` (a tenant, or the
/// gateway default); `action` is recorded (`activate`, `rollback`, `reload`). Other
/// tenants are unaffected, except that a change of the default reaches every tenant
/// without a bundle of its own.
pub async fn activate(
    state: &Arc<AppState>,
    scope: Scope<'_>,
    id: &str,
    action: &str,
    actor: &str,
) -> Result<ActivationReport, ControlError> {
    let started = std::time::Instant::now();
    let _one_at_a_time = state.admin.lock().await;
    activate_locked(state, scope, id, action, actor, started).await
}

pub(super) async fn activate_locked(
    state: &Arc<AppState>,
    scope: Scope<'_>,
    id: &str,
    action: &str,
    actor: &str,
    started: std::time::Instant,
) -> Result<ActivationReport, ControlError> {
    let entry = state
        .registry
        .bundle(id)?
        .ok_or_else(|| ControlError::NotFound(format!("no bundle {id} in the registry")))?;
    let current = state.policies().of(scope).clone();
    if current.id == entry.id && current.digest == entry.digest {
        return Ok(ActivationReport {
            active: current.id.clone(),
            digest: current.digest.clone(),
            previous: current.id.clone(),
            changed: false,
            activation: None,
            cases_passed: entry.package.cases.len(),
            retention_recompute: false,
            took_ms: started.elapsed().as_millis() as u64,
        });
    }
    // The trusted keys may have changed since the upload.
    if !entry.published_by.starts_with("local:") {
        state.options.trust.verify(&entry.package)?;
    }
    let st = state.clone();
    let package = entry.package.clone();
    let policy = with_pipeline(state, move || {
        let components = st.registry.components(&package)?;
        validate(package, &components, &st.runtime, Some(&st.cache))
    })
    .await?;
    let longest = crate::state::longest_chain(&policy);
    if longest > state.executor.instances_per_pipeline() {
        return Err(ControlError::invalid(
            format!(
                "{id} runs {longest} plugins in one chain; this gateway reserves {} plugin \
                 instances per request (restart it with more --plugin-instances)",
                state.executor.instances_per_pipeline()
            ),
            Vec::new(),
        ));
    }
    // A bundle another scope runs already is shared rather than loaded twice.
    let policy = match state.policies().loaded(&policy.id, &policy.digest) {
        Some(loaded) => loaded.clone(),
        None => Arc::new(policy),
    };
    let event = match action {
        "rollback" => "policy.rolled-back",
        "reload" => "policy.reloaded",
        _ => "policy.activated",
    };
    let activation = record(state, scope, &policy, &current, event, action, actor, false).await?;
    let cases_passed = policy.package.cases.len();
    let (previous, followed) = install(state, scope, Some(policy.clone()));
    let retention_recompute =
        crate::service::recompute::on_change(state, scope, &previous, &policy, followed).await?;
    tracing::info!(bundle = %policy.id, previous = %previous.id, scope = %scope_name(scope), action, actor, "policy activated");
    Ok(ActivationReport {
        active: policy.id.clone(),
        digest: policy.digest.clone(),
        previous: previous.id.clone(),
        changed: true,
        activation: Some(activation),
        cases_passed,
        retention_recompute,
        took_ms: started.elapsed().as_millis() as u64,
    })
}

/// Records the activation of `policy` for `scope` (with its notice, for a material change)
/// and its audit entry, naming the tenant, in one transaction.
#[expect(
    clippy::too_many_arguments,
    reason = "one activation's facts, as recorded"
)]
async fn record(
    state: &Arc<AppState>,
    scope: Scope<'_>,
    policy: &Policy,
    current: &Policy,
    event: &str,
    action: &str,
    actor: &str,
    follows_default: bool,
) -> Result<Activation, ControlError> {
    let now = state.clock.now_ms();
    let tenant = scope.map(str::to_string);
    let notice = policy.notice.material.then(|| Notice {
        seq: 0,
        tenant: tenant.clone(),
        bundle: policy.id.clone(),
        version: policy.version.clone(),
        summary: policy.notice.summary.clone(),
        at: rfc3339_ms(now),
    });
    let mut detail = serde_json::json!({"digest": policy.digest, "previous": current.id,
                                        "material": policy.notice.material,
                                        "tenant": tenant});
    if follows_default {
        detail["follows_default"] = true.into();
    }
    let audit = AuditEntry {
        tenant: tenant.clone().unwrap_or_default(),
        ..AuditEntry::admin(event, now, actor, Some(&policy.id), detail)
    };
    let activation = Activation {
        seq: 0,
        tenant,
        follows_default,
        bundle: policy.id.clone(),
        digest: policy.digest.clone(),
        action: action.to_string(),
        actor: actor.to_string(),
        at: rfc3339_ms(now),
    };
    let st = state.clone();
    blocking(move || Ok(st.registry.record_activation(activation, notice, audit)?)).await
}

/// Puts `policy` in force for `scope` (`None` for a tenant: back to the default), copying
/// the map of policies; returns the policy the scope ran on before, and whether it was the
/// default's (a tenant that had no bundle of its own).
pub(super) fn install(
    state: &AppState,
    scope: Scope<'_>,
    policy: Option<Arc<Policy>>,
) -> (Arc<Policy>, bool) {
    let before = state.active.rcu(|current| {
        let mut next = crate::state::Policies::clone(current);
        match (scope, &policy) {
            (None, Some(p)) => next.default = p.clone(),
            (None, None) => {}
            (Some(t), Some(p)) => {
                next.tenants.insert(t.to_string(), p.clone());
            }
            (Some(t), None) => {
                next.tenants.remove(t);
            }
        }
        next
    });
    let followed = scope.is_none_or(|t| !before.has_own(t));
    (before.of(scope).clone(), followed)
}

/// Rolls the caller's tenant back: to `to`, or else to the bundle it ran on before the
/// current one in its own history; a tenant with no earlier bundle of its own goes back to
/// the gateway default. Other tenants are unaffected.
pub async fn rollback(
    state: &Arc<AppState>,
    tenant: &str,
    to: Option<&str>,
    actor: &str,
) -> Result<ActivationReport, ControlError> {
    let started = std::time::Instant::now();
    let _one_at_a_time = state.admin.lock().await;
    if let Some(id) = to {
        return activate_locked(state, Some(tenant), id, "rollback", actor, started).await;
    }
    let policies = state.policies();
    let current = policies.get(tenant).clone();
    if !policies.has_own(tenant) {
        return Err(ControlError::Conflict(format!(
            "tenant {tenant} runs on the gateway default {}; it has no bundle of its own to \
             roll back (name one with {{\"to\": \"name@version\"}})",
            current.id
        )));
    }
    let st = state.clone();
    let history = blocking(move || Ok(st.registry.activations()?)).await?;
    let earlier = history
        .iter()
        .rev()
        .filter(|a| a.tenant.as_deref() == Some(tenant) && !a.follows_default)
        .map(|a| &a.bundle)
        .find(|b| **b != current.id)
        .cloned();
    match earlier {
        Some(id) => activate_locked(state, Some(tenant), &id, "rollback", actor, started).await,
        None => follow_default(state, tenant, &current, actor, started).await,
    }
}

/// Takes `tenant` back to the gateway default: it runs on whatever the default is from now
/// on. Recorded as a rollback activation of the default's bundle for the tenant.
pub(super) async fn follow_default(
    state: &Arc<AppState>,
    tenant: &str,
    current: &Arc<Policy>,
    actor: &str,
    started: std::time::Instant,
) -> Result<ActivationReport, ControlError> {
    let default = state.default_policy();
    let activation = record(
        state,
        Some(tenant),
        &default,
        current,
        "policy.rolled-back",
        "rollback",
        actor,
        true,
    )
    .await?;
    let (previous, followed) = install(state, Some(tenant), None);
    let retention_recompute =
        crate::service::recompute::on_change(state, Some(tenant), &previous, &default, followed)
            .await?;
    tracing::info!(bundle = %default.id, previous = %previous.id, %tenant, actor, "tenant back on the default policy");
    Ok(ActivationReport {
        active: default.id.clone(),
        digest: default.digest.clone(),
        previous: previous.id.clone(),
        changed: true,
        activation: Some(activation),
        cases_passed: default.package.cases.len(),
        retention_recompute,
        took_ms: started.elapsed().as_millis() as u64,
    })
}

/// Reloads the gateway's policy directory through the same gate: registers its plugins and
/// its bundle, and activates it as the gateway default if it is not that already (every
/// tenant without a bundle of its own runs on it).
pub async fn reload_dir(
    state: &Arc<AppState>,
    actor: &str,
) -> Result<ActivationReport, ControlError> {
    let st = state.clone();
    let (package, components) = blocking(move || {
        let dir = st.policy_dir.as_ref().ok_or_else(|| {
            ControlError::Conflict("this gateway has no policy directory to reload".into())
        })?;
        Ok(package::from_dir(dir)?)
    })
    .await?;
    let id = register_local(state, package, components, actor).await?;
    activate(state, None, &id, "reload", actor).await
}
