//! The policy a gateway starts on: the active bundles of its registry, or the bootstrap
//! from the policy directory.

use std::sync::Arc;

use anyhow::Context as _;

use crate::bundle::package::{self, Components, Package};
use crate::bundle::{self, Policy};
use crate::clock::rfc3339_ms;
use crate::registry::{Activation, BundleEntry, PluginInfo, Put};
use crate::runtime::Runtime;
use crate::runtime::cache::CompiledCache;
use crate::state::AppState;
use crate::store::AuditEntry;

use super::*;

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
    let loader = Loader {
        registry,
        runtime,
        cache,
    };
    let default = match registry.active()? {
        Some(active) => loader.registered(&active.bundle)?,
        None => loader.bootstrap(dir, source, now_ms)?,
    };
    let default = Arc::new(default);
    let mut loaded = std::collections::HashMap::from([(default.id.clone(), default.clone())]);
    let mut policies = crate::state::Policies::new(default);
    for (tenant, active) in registry.tenant_actives()? {
        let policy = match loaded.get(&active.bundle) {
            Some(p) => p.clone(),
            None => {
                let p = Arc::new(loader.registered(&active.bundle)?);
                loaded.insert(active.bundle.clone(), p.clone());
                p
            }
        };
        policies.tenants.insert(tenant, policy);
    }
    Ok(policies)
}

/// What the start-up policies are loaded with.
#[derive(Clone, Copy)]
struct Loader<'a> {
    registry: &'a crate::store::Registry,
    runtime: &'a Runtime,
    cache: &'a CompiledCache,
}

impl Loader<'_> {
    /// Loads the registered bundle `id` (without the gate: it passed it when activated).
    fn registered(self, id: &str) -> anyhow::Result<Policy> {
        let Self {
            registry,
            runtime,
            cache,
        } = self;
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
        self,
        dir: Option<&cap_std::fs::Dir>,
        source: &str,
        now_ms: i64,
    ) -> anyhow::Result<Policy> {
        let Self {
            registry,
            runtime,
            cache,
        } = self;
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
