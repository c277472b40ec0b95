//! A cache of compiled components, so that a restart does not compile the bundle's plugins
//! again. Entries are keyed by the component's digest and the engine's compatibility hash
//! (wasmtime version, target and configuration); a stale or foreign entry is recompiled.

use std::hash::{DefaultHasher, Hash, Hasher};

use anyhow::{Context as _, Result};
use cap_std::fs::Dir;
use wasmtime::Engine;
use wasmtime::component::Component;

/// A directory of serialized compiled components.
#[derive(Debug)]
pub struct CompiledCache {
    dir: Dir,
}

impl CompiledCache {
    /// Uses `dir` (usually `<data-dir>/compiled`) as the cache.
    pub fn new(dir: Dir) -> Self {
        Self { dir }
    }

    fn key(engine: &Engine, bytes: &[u8]) -> String {
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let digest = super::digest(bytes);
        format!(
            "{}-{:016x}.cwasm",
            digest.trim_start_matches("sha256:"),
            hasher.finish()
        )
    }

    /// Loads the compiled form of `bytes`, compiling and storing it on a miss.
    pub fn load_or_compile(&self, engine: &Engine, bytes: &[u8]) -> Result<Component> {
        let key = Self::key(engine, bytes);
        if let Ok(compiled) = self.dir.read(&key) {
            // SAFETY: the entry was written by `Component::serialize` of this same engine
            // configuration (the key includes its compatibility hash) into the gateway's own
            // data directory, which only the gateway writes. wasmtime additionally checks the
            // header and refuses an incompatible artifact, in which case we recompile.
            match unsafe { Component::deserialize(engine, &compiled) } {
                Ok(component) => return Ok(component),
                Err(e) => {
                    tracing::warn!(%key, error = %e, "discarding unusable compiled component")
                }
            }
        }
        let component = Component::new(engine, bytes)?;
        let serialized = component.serialize()?;
        let tmp = format!("{key}.tmp");
        self.dir
            .write(&tmp, &serialized)
            .and_then(|()| self.dir.rename(&tmp, &self.dir, &key))
            .with_context(|| format!("writing compiled component {key}"))?;
        Ok(component)
    }
}
