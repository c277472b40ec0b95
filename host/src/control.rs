//! The control plane: publishing policy to a running gateway.
//!
//! Uploads put plugins and bundles in the [`Registry`] (global: content-addressed, and a
//! bundle id never changes); activation puts a bundle through the validation gate (compile,
//! check worlds, check configuration, run its policy test cases in the sandbox), records the
//! activation (and a change notice for a material change), and swaps the whole policy of one
//! scope at once: a tenant's own (activations and rollbacks by its compliance team), or the
//! gateway default (the bootstrap, reloads of the policy directory), which every tenant
//! without a bundle of its own runs on. Requests in flight keep the policy they loaded; new
//! ones see the new one. One administrative change runs at a time.

use std::sync::Arc;

use anyhow::Context as _;
use serde::Serialize;

use crate::bundle::package::{self, Components, Package};
use crate::bundle::signing::SignatureError;
use crate::bundle::{self, BundleError, Policy};
use crate::cases::{self, CaseResult};
use crate::clock::rfc3339_ms;
use crate::registry::{Activation, BundleEntry, Notice, PluginInfo, Put};
use crate::runtime::cache::CompiledCache;
use crate::runtime::{Runtime, World};
use crate::service::executor::{Admission, ExecError};
use crate::state::AppState;
use crate::store::AuditEntry;

/// Why an administrative request was refused.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// No such plugin or bundle.
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with what the registry holds.
    #[error("{0}")]
    Conflict(String),
    /// The bundle or plugin is invalid: every problem, and the failing policy test cases.
    #[error("{error}")]
    Invalid {
        /// A summary.
        error: String,
        /// Every problem found.
        problems: Vec<String>,
        /// The failing cases, with expected vs actual.
        cases: Vec<CaseResult>,
    },
    /// The bundle's signature was refused.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// The registry or the runtime failed.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ControlError {
    fn invalid(error: impl Into<String>, problems: Vec<String>) -> Self {
        Self::Invalid {
            error: error.into(),
            problems,
            cases: Vec::new(),
        }
    }
}

impl From<BundleError> for ControlError {
    fn from(e: BundleError) -> Self {
        Self::invalid(
            format!(
                "invalid policy bundle ({} problem{})",
                e.problems.len(),
                if e.problems.len() == 1 { "" } else { "s" }
            ),
            e.problems,
        )
    }
}

/// Where a bundle comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// Uploaded through the admin API: its signature must verify with a trusted key.
    Api,
    /// The gateway's own policy directory (start-up, `SIGHUP`, `--watch`): trusted as the
    /// operator's, like the gateway's configuration.
    Local(String),
}

/// The validation gate: loads `package` (compiling its components, checking their worlds
/// and their configuration) and runs its policy test cases in the sandbox.
pub fn validate(
    package: Package,
    components: &Components,
    runtime: &Runtime,
    cache: Option<&CompiledCache>,
) -> Result<Policy, ControlError> {
    let policy = bundle::load(package, components, runtime, cache)?;
    check_cases(&policy, runtime)?;
    Ok(policy)
}

/// Runs the policy test cases of `policy`; any failure refuses it.
fn check_cases(policy: &Policy, runtime: &Runtime) -> Result<(), ControlError> {
    let failing: Vec<CaseResult> = cases::run_all(policy, runtime)
        .into_iter()
        .filter(|c| !c.passed())
        .collect();
    if !failing.is_empty() {
        return Err(ControlError::Invalid {
            error: format!(
                "{} of the bundle's policy test cases failed ({})",
                failing.len(),
                policy.id
            ),
            problems: failing
                .iter()
                .map(|c| format!("{}: {}", c.name, c.failures.join("; ")))
                .collect(),
            cases: failing,
        });
    }
    Ok(())
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ControlError> + Send + 'static,
) -> Result<T, ControlError> {
    tokio::task::spawn_blocking(f)
        .await
        .context("joining a blocking task")?
}

/// Runs `f` (which runs a bundle's policy test cases) on a blocking thread holding a
/// pipeline's worth of plugin instances.
async fn with_pipeline<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce() -> Result<T, ControlError> + Send + 'static,
) -> Result<T, ControlError> {
    match state.executor.run(Admission::Wait, 1, move |_| f()).await {
        Ok(done) => done,
        Err(ExecError::Closed) => Err(ControlError::Conflict(
            "the gateway is shutting down".into(),
        )),
        Err(e) => Err(ControlError::from(anyhow::Error::from(e))),
    }
}

/// Uploads a plugin component claiming to implement `world`: compiles it and checks the
/// claim before storing it. Returns its registry entry and whether it is new.
pub async fn upload_plugin(
    state: &Arc<AppState>,
    name: &str,
    version: &str,
    world: World,
    bytes: Vec<u8>,
    actor: &str,
) -> Result<(PluginInfo, bool), ControlError> {
    if !bundle::is_name(name) {
        return Err(ControlError::invalid(
            format!("plugin name {name:?} must be lowercase letters, digits, '-' or '_'"),
            Vec::new(),
        ));
    }
    let digest = crate::runtime::digest(&bytes);
    if let Some(existing) = state.registry.plugin(&digest)? {
        if existing.world != world {
            return Err(ControlError::Conflict(format!(
                "component {digest} is registered as a {} plugin, not {world}",
                existing.world
            )));
        }
        return Ok((existing, false));
    }
    let info = PluginInfo {
        digest: digest.clone(),
        name: name.to_string(),
        version: version.to_string(),
        world,
        size: bytes.len() as u64,
        uploaded_at: rfc3339_ms(state.clock.now_ms()),
        uploaded_by: actor.to_string(),
    };
    let entry = AuditEntry::admin(
        "policy.plugin-uploaded",
        state.clock.now_ms(),
        actor,
        None,
        serde_json::json!({"digest": digest, "name": name, "version": version, "world": world}),
    );
    let st = state.clone();
    let stored = info.clone();
    let put = blocking(move || {
        let component = st.runtime.compile(&bytes, Some(&st.cache)).map_err(|e| {
            ControlError::invalid(format!("not a valid component: {e:#}"), Vec::new())
        })?;
        st.runtime
            .link(&stored.name, &stored.digest, world, &component)
            .map_err(|e| ControlError::invalid(format!("{e:#}"), Vec::new()))?;
        Ok(st.registry.put_plugin(&stored, &bytes, entry)?)
    })
    .await?;
    tracing::info!(%digest, name, version, %world, "plugin uploaded");
    Ok((info, put == Put::Created))
}

/// Uploads a bundle package: checks its signature (for [`Source::Api`]), that every plugin
/// digest it names is registered for the world its manifest claims, and puts it through the
/// validation gate before storing it. Returns its entry and whether it is new.
pub async fn upload_bundle(
    state: &Arc<AppState>,
    package: Package,
    source: Source,
    actor: &str,
) -> Result<(BundleEntry, bool), ControlError> {
    let signed_by = match &source {
        Source::Api => state.options.trust.verify(&package)?,
        Source::Local(_) => None,
    };
    let manifest = package.manifest()?;
    let id = format!("{}@{}", manifest.name, manifest.version);
    let digest = package.digest();
    if let Some(existing) = state.registry.bundle(&id)? {
        return if existing.digest == digest {
            Ok((existing, false))
        } else {
            Err(ControlError::Conflict(format!(
                "bundle {id} is already published with other content ({}); a published \
                 version never changes: give the new one another version",
                existing.digest
            )))
        };
    }
    let mut problems = Vec::new();
    for (name, decl) in &manifest.plugins {
        let Some(digest) = package.plugins.get(name) else {
            continue; // reported by the gate
        };
        match state.registry.plugin(digest)? {
            None => problems.push(format!(
                "plugins.{name}: unknown plugin digest {digest} (upload the component first)"
            )),
            Some(p) if p.world != decl.world => problems.push(format!(
                "plugins.{name}: the manifest declares a {} plugin, but component {digest} \
                 implements the {} world",
                decl.world, p.world
            )),
            Some(_) => {}
        }
    }
    if !problems.is_empty() {
        return Err(ControlError::from(BundleError { problems }));
    }
    let published_by = match &source {
        Source::Api => actor.to_string(),
        Source::Local(from) => format!("local:{from}"),
    };
    let entry = BundleEntry {
        id: id.clone(),
        name: manifest.name.clone(),
        version: manifest.version.clone(),
        digest: digest.clone(),
        signed_by: signed_by.clone(),
        published_by,
        published_at: rfc3339_ms(state.clock.now_ms()),
        package,
    };
    let audit = AuditEntry::admin(
        "policy.bundle-uploaded",
        state.clock.now_ms(),
        actor,
        Some(&id),
        serde_json::json!({"digest": digest, "signed_by": signed_by,
                           "cases": entry.package.cases.len()}),
    );
    let st = state.clone();
    let stored = entry.clone();
    let put = with_pipeline(state, move || {
        let components = st.registry.components(&stored.package)?;
        validate(
            stored.package.clone(),
            &components,
            &st.runtime,
            Some(&st.cache),
        )?;
        Ok(st.registry.put_bundle(&stored, audit)?)
    })
    .await?;
    match put {
        Put::Conflict { existing } => Err(ControlError::Conflict(format!(
            "bundle {id} is already published with other content ({existing})"
        ))),
        put => {
            tracing::info!(bundle = %id, %digest, "bundle uploaded");
            Ok((entry, put == Put::Created))
        }
    }
}

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

fn scope_name(scope: Scope<'_>) -> String {
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

async fn activate_locked(
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
        crate::recompute::on_change(state, scope, &previous, &policy, followed).await?;
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
fn install(state: &AppState, scope: Scope<'_>, policy: Option<Arc<Policy>>) -> (Arc<Policy>, bool) {
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
async fn follow_default(
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
        crate::recompute::on_change(state, Some(tenant), &previous, &default, followed).await?;
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

/// Registers a package read from a local directory with its components; returns its id.
pub async fn register_local(
    state: &Arc<AppState>,
    package: Package,
    components: Components,
    actor: &str,
) -> Result<String, ControlError> {
    let worlds = package::claimed_worlds(&package)?;
    let version = package.manifest()?.version;
    for (name, digest) in &package.plugins {
        let (Some(world), Some(bytes)) = (worlds.get(name), components.get(digest)) else {
            continue; // reported by the gate
        };
        upload_plugin(state, name, &version, *world, bytes.to_vec(), actor)
            .await
            .map_err(|e| match e {
                ControlError::Invalid { error, .. } => {
                    ControlError::invalid(format!("plugins.{name}: {error}"), Vec::new())
                }
                e => e,
            })?;
    }
    let from = state.options.policy_source.clone();
    let (entry, _) = upload_bundle(state, package, Source::Local(from), actor).await?;
    Ok(entry.id)
}

/// The policies a gateway starts on: the registry's default bundle and every tenant's own
/// (each distinct bundle loaded once), or, in an empty registry, the bundle of the policy
/// directory `dir`, registered and activated through the gate as the default.
/// Blocks (compiles plugins, runs policy test cases).
pub fn startup_policy(
    registry: &crate::store::Registry,
    runtime: &Runtime,
    cache: &CompiledCache,
    dir: Option<&cap_std::fs::Dir>,
    source: &str,
    now_ms: i64,
) -> anyhow::Result<crate::state::Policies> {
    let default = match registry.active()? {
        Some(active) => load_registered(registry, runtime, cache, &active.bundle)?,
        None => bootstrap(registry, runtime, cache, dir, source, now_ms)?,
    };
    let default = Arc::new(default);
    let mut loaded = std::collections::HashMap::from([(default.id.clone(), default.clone())]);
    let mut policies = crate::state::Policies::new(default);
    for (tenant, active) in registry.tenant_actives()? {
        let policy = match loaded.get(&active.bundle) {
            Some(p) => p.clone(),
            None => {
                let p = Arc::new(load_registered(registry, runtime, cache, &active.bundle)?);
                loaded.insert(active.bundle.clone(), p.clone());
                p
            }
        };
        policies.tenants.insert(tenant, policy);
    }
    Ok(policies)
}

/// Loads the registered bundle `id` (without the gate: it passed it when activated).
fn load_registered(
    registry: &crate::store::Registry,
    runtime: &Runtime,
    cache: &CompiledCache,
    id: &str,
) -> anyhow::Result<Policy> {
    let entry = registry
        .bundle(id)?
        .with_context(|| format!("the registry's active bundle {id} is missing"))?;
    let components = registry.components(&entry.package)?;
    bundle::load(entry.package, &components, runtime, Some(cache))
        .with_context(|| format!("loading the active bundle {id}"))
}

/// Registers and activates the bundle of the policy directory `dir` as the default of an
/// empty registry.
fn bootstrap(
    registry: &crate::store::Registry,
    runtime: &Runtime,
    cache: &CompiledCache,
    dir: Option<&cap_std::fs::Dir>,
    source: &str,
    now_ms: i64,
) -> anyhow::Result<Policy> {
    let dir =
        dir.context("the registry holds no active bundle and no policy directory was given")?;
    // Loading the directory reports every problem of the bundle at once.
    let policy = bundle::load_dir(dir, runtime, Some(cache))?;
    check_cases(&policy, runtime).map_err(|e| anyhow::anyhow!("{}", describe(&e)))?;
    let (package, components) = package::from_dir(dir)?;
    let worlds = package::claimed_worlds(&package)?;
    let actor = format!("local:{source}");
    for (name, digest) in &package.plugins {
        let (Some(world), Some(bytes)) = (worlds.get(name), components.get(digest)) else {
            continue;
        };
        let info = PluginInfo {
            digest: digest.clone(),
            name: name.clone(),
            version: policy.version.clone(),
            world: *world,
            size: bytes.len() as u64,
            uploaded_at: rfc3339_ms(now_ms),
            uploaded_by: actor.clone(),
        };
        let audit = AuditEntry::admin(
            "policy.plugin-uploaded",
            now_ms,
            &actor,
            None,
            serde_json::json!({"digest": digest, "name": name, "world": world}),
        );
        registry.put_plugin(&info, bytes, audit)?;
    }
    let entry = BundleEntry {
        id: policy.id.clone(),
        name: policy.name.clone(),
        version: policy.version.clone(),
        digest: policy.digest.clone(),
        signed_by: None,
        published_by: actor.clone(),
        published_at: rfc3339_ms(now_ms),
        package,
    };
    let audit = AuditEntry::admin(
        "policy.bundle-uploaded",
        now_ms,
        &actor,
        Some(&policy.id),
        serde_json::json!({"digest": policy.digest, "cases": entry.package.cases.len()}),
    );
    if let Put::Conflict { existing } = registry.put_bundle(&entry, audit)? {
        anyhow::bail!(
            "bundle {} is already registered with other content ({existing})",
            policy.id
        );
    }
    let activation = Activation {
        seq: 0,
        tenant: None,
        follows_default: false,
        bundle: policy.id.clone(),
        digest: policy.digest.clone(),
        action: "bootstrap".into(),
        actor: actor.clone(),
        at: rfc3339_ms(now_ms),
    };
    let audit = AuditEntry::admin(
        "policy.activated",
        now_ms,
        &actor,
        Some(&policy.id),
        serde_json::json!({"digest": policy.digest, "action": "bootstrap"}),
    );
    registry.record_activation(activation, None, audit)?;
    Ok(policy)
}

/// A control error with every problem, for logs and the command line.
pub fn describe(e: &ControlError) -> String {
    match e {
        ControlError::Invalid {
            error, problems, ..
        } if !problems.is_empty() => format!("{error}:\n  - {}", problems.join("\n  - ")),
        e => e.to_string(),
    }
}
