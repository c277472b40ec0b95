//! The WebAssembly runtime: one wasmtime [`Engine`] with the pooling allocator and epoch
//! interruption; each plugin compiled once (or loaded from the compiled-component cache) and
//! pre-instantiated; a fresh, limited [`Store`] for every request.

pub mod cache;
pub mod convert;
pub mod generated;
mod instance;

/// The WIT types of each world's calls, re-exported for the pipeline.
pub mod instance_types {
    pub use super::instance::{Audience, Change, Delivery, Edit, Expiry, Projection, Rejection};
}

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::{Context as _, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

pub use instance::{HostState, Instance};

use generated::{admission, disclosure, forwarder, redaction, retention};

/// The kind of a plugin: which world of `wit/policy.wit` it implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum World {
    /// Accepts or rejects records.
    Admission,
    /// Rewrites fields before storage.
    Redaction,
    /// Schedules deletions.
    Retention,
    /// Decides what an audience may see.
    Disclosure,
    /// Computes deliveries to vendors.
    Forwarder,
}

impl fmt::Display for World {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            World::Admission => "admission",
            World::Redaction => "redaction",
            World::Retention => "retention",
            World::Disclosure => "disclosure",
            World::Forwarder => "forwarder",
        })
    }
}

/// Limits applied to every plugin call.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Wall-clock deadline of one call (enforced by epoch interruption).
    pub deadline: Duration,
    /// Cap on a plugin instance's linear memory, in bytes.
    pub memory: usize,
    /// How many plugin instances may exist at once (the size of the instance pool).
    pub instances: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            deadline: Duration::from_millis(100),
            memory: 16 << 20,
            instances: 256,
        }
    }
}

/// How often the epoch advances; the deadline is a whole number of ticks.
const EPOCH_TICK: Duration = Duration::from_millis(5);

/// The engine and its limits, shared by every plugin.
pub struct Runtime {
    engine: Engine,
    limits: Limits,
    deadline_ticks: u64,
    stop_ticker: Arc<AtomicBool>,
    metered: bool,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("limits", &self.limits)
            .finish()
    }
}

impl Runtime {
    /// Creates the engine and starts its epoch ticker.
    pub fn new(limits: Limits) -> Result<Self> {
        Self::build(limits, false)
    }

    /// A runtime that also counts the work of every plugin call in wasmtime *fuel* (about
    /// one unit per WebAssembly instruction), for tests and benchmarks that bound a plugin's
    /// work deterministically rather than by the clock: each call starts with an unlimited
    /// tank and [`Instance::fuel_used`] tells what the last call burnt. Counting costs some
    /// speed, and the code compiled for it differs from the gateway's: a metered runtime is
    /// not for serving. The deadline and memory cap of `limits` apply as in [`Runtime::new`].
    pub fn metered(limits: Limits) -> Result<Self> {
        Self::build(limits, true)
    }

    fn build(limits: Limits, metered: bool) -> Result<Self> {
        let mut pool = PoolingAllocationConfig::default();
        let instances = limits.instances.max(1);
        // A Rust guest for wasm32-wasip2 is one component of a few core instances (the
        // program, shims and fix-ups), one linear memory and a couple of tables.
        pool.total_component_instances(instances)
            .total_core_instances(instances * 8)
            .total_memories(instances)
            .total_tables(instances * 4)
            .max_memory_size(limits.memory)
            // Keep the pages a typical call touches mapped, so a fresh instance does not
            // fault them in again; the pagemap scan resets only the pages the last instance
            // wrote (see "Runtime" and "Performance" in ARCHITECTURE.md).
            .linear_memory_keep_resident(2 << 20)
            .table_keep_resident(64 << 10)
            .pagemap_scan(Enabled::Auto);
        let mut config = Config::new();
        config
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool))
            .epoch_interruption(true)
            .max_wasm_stack(512 << 10)
            .consume_fuel(metered);
        let engine = Engine::new(&config)
            .map_err(anyhow::Error::from)
            .context("creating the wasmtime engine")?;

        let stop_ticker = Arc::new(AtomicBool::new(false));
        let ticker_engine = engine.clone();
        let stop = stop_ticker.clone();
        std::thread::Builder::new()
            .name("sluice-epoch".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(EPOCH_TICK);
                    ticker_engine.increment_epoch();
                }
            })
            .context("starting the epoch ticker")?;

        let tick = EPOCH_TICK.as_micros().max(1);
        let deadline_ticks = u64::try_from(limits.deadline.as_micros().div_ceil(tick))
            .unwrap_or(u64::MAX)
            .max(1)
            // The deadline counts from an arbitrary point within the current tick.
            + 1;
        Ok(Self {
            engine,
            limits,
            deadline_ticks,
            stop_ticker,
            metered,
        })
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The limits every call runs under.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Compiles `bytes` (a component), through `cache` when given.
    pub fn compile(&self, bytes: &[u8], cache: Option<&cache::CompiledCache>) -> Result<Component> {
        match cache {
            Some(cache) => cache.load_or_compile(&self.engine, bytes),
            None => Ok(Component::new(&self.engine, bytes)?),
        }
    }

    /// Links a compiled component as a plugin of `world`, checking that it implements it.
    pub fn link(
        &self,
        name: &str,
        digest: &str,
        world: World,
        component: &Component,
    ) -> Result<Plugin> {
        let mut linker: Linker<HostState> = Linker::new(&self.engine);
        // Plugins get no WASI: every import (clocks, environment, filesystem, sockets, the
        // standard streams) traps if called, so a plugin cannot reach the ambient world.
        linker
            .define_unknown_imports_as_traps(component)
            .map_err(anyhow::Error::from)
            .context("linking its imports")?;
        let pre = linker
            .instantiate_pre(component)
            .map_err(anyhow::Error::from)
            .context("pre-instantiating")?;
        let typed = match world {
            World::Admission => admission::AdmissionPre::new(pre).map(WorldPre::Admission),
            World::Redaction => redaction::RedactionPre::new(pre).map(WorldPre::Redaction),
            World::Retention => retention::RetentionPre::new(pre).map(WorldPre::Retention),
            World::Disclosure => disclosure::DisclosurePre::new(pre).map(WorldPre::Disclosure),
            World::Forwarder => forwarder::ForwarderPre::new(pre).map(WorldPre::Forwarder),
        }
        .map_err(anyhow::Error::from)
        .with_context(|| format!("the component does not implement the `{world}` world"))?;
        Ok(Plugin {
            name: name.to_string(),
            digest: digest.to_string(),
            world,
            pre: typed,
        })
    }

    pub(crate) fn deadline_ticks(&self) -> u64 {
        self.deadline_ticks
    }

    /// Whether calls are metered in fuel (see [`Runtime::metered`]).
    pub fn is_metered(&self) -> bool {
        self.metered
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.stop_ticker.store(true, Ordering::Relaxed);
    }
}

/// `sha256:<hex>` of a component's bytes: the identity of a plugin.
pub fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// A pre-instantiated component of one world.
pub(crate) enum WorldPre {
    Admission(admission::AdmissionPre<HostState>),
    Redaction(redaction::RedactionPre<HostState>),
    Retention(retention::RetentionPre<HostState>),
    Disclosure(disclosure::DisclosurePre<HostState>),
    Forwarder(forwarder::ForwarderPre<HostState>),
}

/// A plugin, ready to be instantiated for a request.
pub struct Plugin {
    /// Its name in the bundle.
    pub name: String,
    /// `sha256:<hex>` of its component.
    pub digest: String,
    /// The world it implements.
    pub world: World,
    pub(crate) pre: WorldPre,
}

impl fmt::Debug for Plugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plugin")
            .field("name", &self.name)
            .field("digest", &self.digest)
            .field("world", &self.world)
            .finish()
    }
}

/// Why a plugin call did not produce a result. Every failure refuses the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FailureKind {
    /// The call ran past its deadline.
    Timeout,
    /// The instance tried to grow its memory past the cap.
    OutOfMemory,
    /// The guest trapped (a bug in the plugin, or a forbidden import).
    Trap(String),
    /// The plugin returned an error (e.g. it could not read its configuration).
    Error(String),
    /// No instance could be created.
    Instantiate(String),
}

impl FailureKind {
    /// A short label for metrics.
    pub fn label(&self) -> &'static str {
        match self {
            FailureKind::Timeout => "timeout",
            FailureKind::OutOfMemory => "out-of-memory",
            FailureKind::Trap(_) => "trap",
            FailureKind::Error(_) => "error",
            FailureKind::Instantiate(_) => "instantiate",
        }
    }
}

/// A failed plugin call, naming the plugin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe())]
pub struct PluginFailure {
    /// The plugin's name in the bundle.
    pub plugin: String,
    /// What went wrong.
    pub kind: FailureKind,
    /// The limits in force (for the message).
    pub deadline_ms: u128,
    /// The memory cap in force (for the message).
    pub memory: usize,
}

impl PluginFailure {
    fn describe(&self) -> String {
        let p = &self.plugin;
        match &self.kind {
            FailureKind::Timeout => format!(
                "plugin `{p}` exceeded its deadline of {} ms",
                self.deadline_ms
            ),
            FailureKind::OutOfMemory => format!(
                "plugin `{p}` exceeded its memory cap of {} MiB",
                self.memory >> 20
            ),
            FailureKind::Trap(t) => format!("plugin `{p}` trapped: {t}"),
            FailureKind::Error(e) => format!("plugin `{p}` failed: {e}"),
            FailureKind::Instantiate(e) => format!("plugin `{p}` could not be instantiated: {e}"),
        }
    }
}
