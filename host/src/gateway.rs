//! Starting and stopping a gateway: the shared state, the HTTP server, the sweeper.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use arc_swap::ArcSwap;
use cap_std::fs::Dir;
use tokio::sync::{Semaphore, watch};

use crate::bundle::Policy;
use crate::bundle::signing::TrustedKeys;
use crate::clock::SharedClock;
use crate::metrics::Metrics;
use crate::store::Registry;
use crate::runtime::cache::CompiledCache;
use crate::runtime::{Limits, Runtime};
use crate::store::Store;

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
    pub delivery: crate::outbox::worker::DeliveryOptions,
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

/// The directories a gateway may touch, and nothing else.
#[derive(Debug)]
pub struct Dirs {
    /// Where the database and the compiled-plugin cache live.
    pub data: Dir,
    /// The policy bundle directory (holding `bundle.toml`): the bundle a new data
    /// directory starts on, and the one `SIGHUP` or `--watch` reloads.
    pub policy: Option<Dir>,
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
    /// Bounds the pipelines running at once (each holds a few plugin instances).
    pub pipelines: Arc<Semaphore>,
    /// Bounds the wait for a pipeline (load shedding).
    pub queue: crate::budget::Queue,
    /// Bounds the request bodies held in memory.
    pub body_budget: crate::budget::BodyBudget,
    /// Plugin instances reserved per pipeline: the longest chain a bundle may have.
    pub instances_per_pipeline: usize,
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
    pub shadows: ArcSwap<HashMap<String, Arc<crate::shadow::Shadow>>>,
    /// Striped locks that serialize updates of one record through this gateway, so that
    /// concurrent rectifications queue instead of conflicting.
    update_locks: Box<[tokio::sync::Mutex<()>]>,
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

    /// A pipeline for a request: at once if one is free, else after a bounded wait in a
    /// bounded queue; refused (load shedding) beyond either bound.
    pub async fn pipeline_permit(
        &self,
    ) -> Result<tokio::sync::OwnedSemaphorePermit, crate::budget::Shed> {
        let permit = self.queue.permit(&self.pipelines).await;
        if permit.as_ref().err() == Some(&crate::budget::Shed::Saturated) {
            self.metrics.shed("pipelines");
        }
        permit
    }

    /// The lock that serializes updates of record `id`.
    pub fn update_lock(&self, id: &str) -> &tokio::sync::Mutex<()> {
        use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
        let hash = BuildHasherDefault::<DefaultHasher>::default().hash_one(id);
        &self.update_locks[(hash % self.update_locks.len() as u64) as usize]
    }
}

/// Number of update lock stripes.
const UPDATE_LOCKS: usize = 256;

/// Plugin instances reserved per pipeline at least (one per plugin of a chain).
const INSTANCES_PER_PIPELINE: u32 = 8;

/// The pipelines asked for: `0` is one per CPU.
fn pipelines_wanted(asked: usize) -> usize {
    match asked {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
}

/// Opens the store, loads the active bundles (the default and every tenant's own, or
/// bootstraps the registry from the policy directory) and builds the shared state (no
/// server yet).
pub async fn open(options: Options, dirs: Dirs) -> Result<Arc<AppState>> {
    let metrics = Arc::new(Metrics::new());
    let runtime = Arc::new(Runtime::new(options.limits.clone())?);
    dirs.data
        .create_dir_all("compiled")
        .context("creating the compiled-plugin cache")?;
    let cache = CompiledCache::new(dirs.data.open_dir("compiled")?);
    let store = Store::open_with_cache(&dirs.data, metrics.clone(), options.store_cache)?;
    let registry = store.db().registry();
    let tokens = crate::auth::Tokens::load(store.db())?;
    if tokens.list()?.is_empty() {
        tracing::warn!(
            "no tokens issued: every route but /healthz answers 401 until one is (`sluice token create`)"
        );
    }
    let (rt, reg, source, now) = (
        runtime.clone(),
        registry.clone(),
        options.policy_source.clone(),
        options.clock.now_ms(),
    );
    let (policies, cache, policy_dir) = tokio::task::spawn_blocking(move || {
        let policies =
            crate::control::startup_policy(&reg, &rt, &cache, dirs.policy.as_ref(), &source, now);
        (policies, cache, dirs.policy)
    })
    .await
    .context("loading the policy bundle")?;
    let policies = policies?;
    let policy = &policies.default;
    tracing::info!(bundle = %policy.id, digest = %policy.digest, kinds = policy.kinds.len(), plugins = policy.plugins.len(), "policy bundle active");
    for (tenant, p) in &policies.tenants {
        tracing::info!(%tenant, bundle = %p.id, digest = %p.digest, "tenant's own policy bundle active");
    }
    // A pipeline holds at most one instance per plugin of the longest chain.
    let longest = policies
        .distinct()
        .into_iter()
        .map(|p| longest_chain(p))
        .max()
        .unwrap_or(0)
        .max(1);
    let per_pipeline = u32::try_from(longest)
        .unwrap_or(u32::MAX)
        .max(INSTANCES_PER_PIPELINE);
    let pipelines = (options.limits.instances / per_pipeline)
        .min(u32::try_from(pipelines_wanted(options.pipelines)).unwrap_or(u32::MAX))
        .max(1);
    tracing::info!(pipelines, "plugin pipelines at once");
    let queue = crate::budget::Queue::new(options.max_queued, options.queue_wait);
    let body_budget = crate::budget::BodyBudget::new(options.body_memory, options.queue_wait);
    Ok(Arc::new(AppState {
        clock: options.clock.clone(),
        options,
        active: ArcSwap::from_pointee(policies),
        runtime,
        store,
        metrics,
        pipelines: Arc::new(Semaphore::new(pipelines as usize)),
        queue,
        body_budget,
        instances_per_pipeline: per_pipeline as usize,
        registry,
        tokens,
        cache,
        admin: tokio::sync::Mutex::new(()),
        policy_dir,
        recompute: tokio::sync::Notify::new(),
        outbox_wake: tokio::sync::Notify::new(),
        shadows: ArcSwap::default(),
        update_locks: (0..UPDATE_LOCKS)
            .map(|_| tokio::sync::Mutex::new(()))
            .collect(),
    }))
}

/// The most plugins one request of `policy` instantiates: its longest write or read chain.
pub fn longest_chain(policy: &Policy) -> usize {
    policy
        .kinds
        .values()
        .map(|k| k.chain.len().max(k.read.len()))
        .max()
        .unwrap_or(0)
}

/// A running gateway.
#[derive(Debug)]
pub struct Running {
    addr: SocketAddr,
    state: Arc<AppState>,
    stop: watch::Sender<bool>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    sweeper: tokio::task::JoinHandle<()>,
    recompute: tokio::task::JoinHandle<()>,
    delivery: tokio::task::JoinHandle<()>,
}

/// Starts a gateway: raises the file-descriptor limit, loads the bundle, opens the store,
/// binds, serves (see [`crate::server`]), sweeps.
pub async fn start(options: Options, dirs: Dirs) -> Result<Running> {
    let fd_limit = crate::server::raise_fd_limit();
    let listen = options.listen;
    let connections = options.connections.clone();
    let interval = options.sweep_interval;
    let state = open(options, dirs).await?;
    // Deletions made after a restored backup was taken come first (see `forgetting`).
    crate::forgetting::reapply(&state).await?;
    // Catch up on deletions that fell due while the gateway was down, before serving reads.
    let caught_up = crate::sweeper::sweep(&state).await?;
    if caught_up > 0 {
        tracing::info!(
            deletions = caught_up,
            "retention: deleted what fell due while stopped"
        );
    }
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("binding {listen}"))?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = watch::channel(false);
    let app = crate::api::router(state.clone());
    let server = tokio::spawn(crate::server::serve(
        listener,
        app,
        connections,
        fd_limit,
        stopped.clone(),
    ));
    let sweeper = crate::sweeper::spawn(state.clone(), interval, stopped.clone());
    // Resumes a recomputation a restart interrupted, then waits for activations.
    let recompute = crate::recompute::spawn(state.clone(), stopped.clone());
    let delivery = crate::outbox::worker::spawn(state.clone(), stopped);
    tracing::info!(%addr, "sluice is listening");
    Ok(Running {
        addr,
        state,
        stop,
        server,
        sweeper,
        recompute,
        delivery,
    })
}

impl Running {
    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The shared state.
    pub fn state(&self) -> &Arc<AppState> {
        &self.state
    }

    /// Reloads the policy directory through the validation gate and activates it as the
    /// gateway default (for every tenant without a bundle of its own).
    pub async fn reload(
        &self,
        actor: &str,
    ) -> Result<crate::control::ActivationReport, crate::control::ControlError> {
        crate::control::reload_dir(&self.state, actor).await
    }

    /// Runs the retention sweeper now; returns the number of deletions.
    pub async fn sweep_now(&self) -> Result<usize> {
        Ok(crate::sweeper::sweep(&self.state).await?)
    }

    /// Stops accepting connections, finishes the requests in flight, stops the sweeper and
    /// closes the store (every acknowledged write is already durable).
    pub async fn shutdown(self) -> Result<()> {
        let _ = self.stop.send(true);
        let served = self.server.await.context("joining the server")?;
        let _ = self.sweeper.await;
        let _ = self.recompute.await;
        let _ = self.delivery.await;
        // Wait (bounded) for the last request task to release the state, then close the
        // store so that the database file can be opened again (e.g. by a restart in the
        // same process). Every acknowledged write is durable whether or not this completes.
        let mut state = self.state;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            match Arc::try_unwrap(state) {
                Ok(s) => {
                    let store = s.store;
                    tokio::task::spawn_blocking(move || store.close())
                        .await
                        .context("closing the store")?;
                    break;
                }
                Err(shared) if tokio::time::Instant::now() < deadline => {
                    state = shared;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err(_) => {
                    tracing::warn!(
                        "the gateway state is still shared; the store closes when it is dropped"
                    );
                    break;
                }
            }
        }
        served.context("serving HTTP")
    }
}
