//! The state a running gateway shares between its requests and background tasks: the
//! configuration, the active policies, the store, the executor of policy chains.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use cap_std::fs::Dir;

use crate::bundle::Policy;
use crate::bundle::signing::TrustedKeys;
use crate::clock::SharedClock;
use crate::metrics::Metrics;
use crate::runtime::cache::CompiledCache;
use crate::runtime::{Limits, Runtime};
use crate::service::executor::Executor;
use crate::store::{Registry, Store};

/// Everything a gateway is configured with, apart from its directories.
#[derive(Debug, Clone)]
pub struct Options {
    /// The address to listen on (`127.0.0.1:0` picks a free port).
    pub listen: SocketAddr,
    /// How often the retention sweeper runs.
    pub sweep_interval: Duration,
    /// Plugin limits (deadline, memory cap, instance pool).
    pub limits: Limits,
    /// Largest request body, in bytes.
    pub max_body: usize,
    /// Largest `POST /v1/records:batch` body, in bytes.
    pub max_batch_body: usize,
    /// The clock.
    pub clock: SharedClock,
    /// The publisher keys whose signed bundles the admin API accepts.
    pub trust: TrustedKeys,
    /// How the policy directory is named in the registry (`local:<source>`).
    pub policy_source: String,
    /// How deliveries are pushed to vendors.
    pub delivery: crate::outbox::push::DeliveryOptions,
    /// Limits on the shape of a record, checked before any plugin runs.
    pub shape: crate::shape::ShapeLimits,
    /// Request body bytes held in memory across all connections.
    pub body_memory: usize,
    /// Longest wait for a pipeline or for body memory before a 503 with `Retry-After`.
    pub queue_wait: Duration,
    /// Most requests waiting for a pipeline at once; more are answered 503 at once.
    pub max_queued: usize,
    /// The database's page cache, in bytes.
    pub store_cache: usize,
    /// Most pipelines (plugin chains) running at once; `0` is one per CPU. Plugin work is
    /// CPU-bound: pipelines beyond the cores only switch between threads and evict each
    /// other's instances from the caches. The instance pool bounds it too (see `limits`).
    pub pipelines: usize,
    /// The bounds of the connection layer: the connection cap and the header, body and
    /// idle timeouts (see [`crate::server`]).
    pub connections: crate::server::ConnectionLimits,
}

impl Options {
    /// Defaults: `127.0.0.1:8080`, a 60 s sweep, 256 KiB bodies and 32 MiB batches, 256 MiB
    /// of bodies in memory, a 2 s wait in a queue of 1,024, the system clock, 1024
    /// connections with a 10 s header timeout, a 30 s body timeout and a 60 s idle timeout,
    /// one pipeline per CPU.
    pub fn new() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            sweep_interval: Duration::from_secs(60),
            limits: Limits::default(),
            max_body: 256 << 10,
            max_batch_body: 32 << 20,
            clock: Arc::new(crate::clock::SystemClock),
            trust: TrustedKeys::default(),
            policy_source: "policies".into(),
            delivery: Default::default(),
            shape: crate::shape::ShapeLimits::default(),
            body_memory: 256 << 20,
            queue_wait: Duration::from_secs(2),
            max_queued: 1024,
            store_cache: Store::DEFAULT_CACHE,
            pipelines: 0,
            connections: crate::server::ConnectionLimits::default(),
        }
    }
}

impl Default for Options {
    fn default() -> Self {
        Self::new()
    }
}

/// The active policies: the gateway default and the bundles tenants activated for
/// themselves. Replaced as a whole (copy on write) when one of them changes.
#[derive(Debug, Clone)]
pub struct Policies {
    /// The gateway default: the bootstrap bundle, or what a reload of the policy directory
    /// activated last. Every tenant without a bundle of its own runs on it.
    pub default: Arc<Policy>,
    /// The bundles tenants activated for themselves, by tenant.
    pub tenants: HashMap<String, Arc<Policy>>,
}

impl Policies {
    /// Only the default.
    pub fn new(default: Arc<Policy>) -> Self {
        Self {
            default,
            tenants: HashMap::new(),
        }
    }

    /// The policy `tenant` runs on.
    pub fn get(&self, tenant: &str) -> &Arc<Policy> {
        self.tenants.get(tenant).unwrap_or(&self.default)
    }

    /// The policy of `scope`: a tenant's, or the default (`None`).
    pub fn of(&self, scope: Option<&str>) -> &Arc<Policy> {
        scope.map_or(&self.default, |t| self.get(t))
    }

    /// Whether `tenant` runs on a bundle of its own.
    pub fn has_own(&self, tenant: &str) -> bool {
        self.tenants.contains_key(tenant)
    }

    /// Every distinct active policy (the default first).
    pub fn distinct(&self) -> Vec<&Arc<Policy>> {
        let mut out = vec![&self.default];
        for p in self.all().skip(1) {
            if !out.iter().any(|o| Arc::ptr_eq(o, p)) {
                out.push(p);
            }
        }
        out
    }

    /// Every active policy, the default first (a bundle several tenants run on appears as
    /// often).
    fn all(&self) -> impl Iterator<Item = &Arc<Policy>> {
        std::iter::once(&self.default).chain(self.tenants.values())
    }

    /// The loaded policy of bundle `id` with package digest `digest`, if one is active.
    pub fn loaded(&self, id: &str, digest: &str) -> Option<&Arc<Policy>> {
        self.all().find(|p| p.id == id && p.digest == digest)
    }

    /// Whether any active bundle's register lists subprocessor `id`.
    pub fn any_register_has(&self, id: &str) -> bool {
        self.all().any(|p| p.register.contains_key(id))
    }
}

/// State shared by every request.
#[derive(Debug)]
pub struct AppState {
    /// The configuration.
    pub options: Options,
    /// The active policies; swapped atomically as a whole.
    pub active: ArcSwap<Policies>,
    /// The wasm runtime.
    pub runtime: Arc<Runtime>,
    /// The store.
    pub store: Store,
    /// The clock.
    pub clock: SharedClock,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Runs the policy chains: pipelines, their queue, plugin instances.
    pub executor: Executor,
    /// Bounds the request bodies held in memory.
    pub body_budget: crate::budget::BodyBudget,
    /// The policy registry (plugins, bundles, activations, notices).
    pub registry: Registry,
    /// The valid bearer tokens.
    pub tokens: crate::auth::Tokens,
    /// The compiled-component cache.
    pub cache: CompiledCache,
    /// Serializes administrative changes (activations, rollbacks, reloads).
    pub admin: tokio::sync::Mutex<()>,
    /// The policy directory, for reloads.
    pub policy_dir: Option<Dir>,
    /// Wakes the retention recompute task.
    pub recompute: tokio::sync::Notify,
    /// Wakes the delivery workers (a write enqueued deliveries).
    pub outbox_wake: tokio::sync::Notify,
    /// The candidate bundles running in shadow, by tenant (one run per tenant).
    pub shadows: ArcSwap<HashMap<String, Arc<crate::service::shadow::Shadow>>>,
    /// Striped locks that serialize updates of one record through this gateway, so that
    /// concurrent rectifications queue instead of conflicting.
    pub(crate) update_locks: Box<[tokio::sync::Mutex<()>]>,
}

impl AppState {
    /// The policy `tenant` runs on (requests keep the one they started with): its own
    /// bundle, else the gateway default. One atomic load and one hash lookup.
    pub fn policy_for(&self, tenant: &str) -> Arc<Policy> {
        self.active.load().get(tenant).clone()
    }

    /// The gateway default policy.
    pub fn default_policy(&self) -> Arc<Policy> {
        self.active.load().default.clone()
    }

    /// Every active policy.
    pub fn policies(&self) -> Arc<Policies> {
        self.active.load_full()
    }

    /// The lock that serializes updates of record `id`.
    pub fn update_lock(&self, id: &str) -> &tokio::sync::Mutex<()> {
        use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
        let hash = BuildHasherDefault::<DefaultHasher>::default().hash_one(id);
        &self.update_locks[(hash % self.update_locks.len() as u64) as usize]
    }
}

/// Number of update lock stripes.
pub(crate) const UPDATE_LOCKS: usize = 256;

/// The most plugins one request of `policy` instantiates: its longest write or read chain.
pub fn longest_chain(policy: &Policy) -> usize {
    policy
        .kinds
        .values()
        .map(|k| k.chain.len().max(k.read.len()))
        .max()
        .unwrap_or(0)
}
