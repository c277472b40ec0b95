//! Starting and stopping a gateway: opening the store, loading the policies, building the
//! shared state ([`crate::state`]), serving HTTP, and the background tasks (sweeper,
//! recompute, deliveries).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, Result};
use arc_swap::ArcSwap;
use cap_std::fs::Dir;
use tokio::sync::watch;

use crate::metrics::Metrics;
use crate::runtime::Runtime;
use crate::runtime::cache::CompiledCache;
use crate::service::executor::Executor;
use crate::state::UPDATE_LOCKS;
pub use crate::state::{AppState, Options, Policies, longest_chain};
use crate::store::Store;

/// The directories a gateway may touch, and nothing else.
#[derive(Debug)]
pub struct Dirs {
    /// Where the database and the compiled-plugin cache live.
    pub data: Dir,
    /// The policy bundle directory (holding `bundle.toml`): the bundle a new data
    /// directory starts on, and the one `SIGHUP` or `--watch` reloads.
    pub policy: Option<Dir>,
}

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
        let policies = crate::service::policy::startup_policy(
            &reg,
            &rt,
            &cache,
            dirs.policy.as_ref(),
            &source,
            now,
        );
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
    let executor = Executor::new(
        runtime.clone(),
        metrics.clone(),
        pipelines as usize,
        per_pipeline as usize,
        queue,
    );
    let body_budget = crate::budget::BodyBudget::new(options.body_memory, options.queue_wait);
    Ok(Arc::new(AppState {
        clock: options.clock.clone(),
        options,
        active: ArcSwap::from_pointee(policies),
        runtime,
        store,
        metrics,
        executor,
        body_budget,
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
    crate::forgetting::reapply(&state.store, &state.clock).await?;
    // Catch up on deletions that fell due while the gateway was down, before serving reads.
    let caught_up = crate::service::sweeper::sweep(&state).await?;
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
    let sweeper = crate::service::sweeper::spawn(state.clone(), interval, stopped.clone());
    // Resumes a recomputation a restart interrupted, then waits for activations.
    let recompute = crate::service::recompute::spawn(state.clone(), stopped.clone());
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
    ) -> Result<crate::service::policy::ActivationReport, crate::service::policy::ControlError>
    {
        crate::service::policy::reload_dir(&self.state, actor).await
    }

    /// Runs the retention sweeper now; returns the number of deletions.
    pub async fn sweep_now(&self) -> Result<usize> {
        Ok(crate::service::sweeper::sweep(&self.state).await?)
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
