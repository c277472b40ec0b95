//! Uploads: plugins and bundles into the registry, each checked before it is stored.

use std::sync::Arc;

use crate::bundle::package::Package;
use crate::bundle::{self, BundleError};
use crate::clock::rfc3339_ms;
use crate::registry::{BundleEntry, PluginInfo, Put};
use crate::runtime::World;
use crate::state::AppState;
use crate::store::AuditEntry;

use super::*;

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
