//! One plugin instance: a fresh [`Store`] with its limits, the component instantiated in
//! it, and typed calls that turn every failure into a [`PluginFailure`].

use wasmtime::{ResourceLimiter, Store, StoreLimits, StoreLimitsBuilder, Trap};

use super::generated::types::{Context, Note, RecordData};
use super::generated::{admission, disclosure, forwarder, redaction, retention};
use super::{FailureKind, Plugin, PluginFailure, Runtime, WorldPre};

pub use admission::exports::sluice::policy::admit::Rejection;
pub use disclosure::exports::sluice::policy::disclose::{Audience, Projection};
pub use forwarder::exports::sluice::policy::forward::Delivery;
pub use redaction::exports::sluice::policy::redact::{Change, Edit};
pub use retention::exports::sluice::policy::retain::Expiry;

/// Per-store state: wasmtime's [`StoreLimits`] (the memory cap and table/instance limits),
/// and whether the guest ran into the memory cap, so the failure can say so.
pub struct HostState {
    limits: StoreLimits,
    hit_memory_cap: bool,
}

impl ResourceLimiter for HostState {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.limits.memory_growing(current, desired, maximum)?;
        self.hit_memory_cap |= !allowed;
        Ok(allowed)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}

enum Bound {
    Admission(admission::Admission),
    Redaction(redaction::Redaction),
    Retention(retention::Retention),
    Disclosure(disclosure::Disclosure),
    Forwarder(forwarder::Forwarder),
}

/// A live instance of a plugin, for one request. Several calls may be made on it (the
/// records of one batch); after a failure the next call gets a fresh instance.
pub struct Instance<'a> {
    plugin: &'a Plugin,
    runtime: &'a Runtime,
    store: Store<HostState>,
    bound: Option<Bound>,
    fuel_used: Option<u64>,
}

impl Plugin {
    /// Creates a fresh instance of this plugin for one request.
    pub fn instantiate<'a>(&'a self, runtime: &'a Runtime) -> Result<Instance<'a>, PluginFailure> {
        let (store, bound) = bind(self, runtime)?;
        Ok(Instance {
            plugin: self,
            runtime,
            store,
            bound: Some(bound),
            fuel_used: None,
        })
    }
}

fn new_store(runtime: &Runtime) -> Store<HostState> {
    let mut store = Store::new(
        runtime.engine(),
        HostState {
            limits: StoreLimitsBuilder::new()
                .memory_size(runtime.limits().memory)
                .table_elements(100_000)
                .build(),
            hit_memory_cap: false,
        },
    );
    store.limiter(|state| state as &mut dyn ResourceLimiter);
    if runtime.is_metered() {
        store
            .set_fuel(u64::MAX)
            .expect("a metered engine consumes fuel");
    }
    store
}

/// A fresh store with the plugin instantiated in it.
fn bind(plugin: &Plugin, runtime: &Runtime) -> Result<(Store<HostState>, Bound), PluginFailure> {
    let mut store = new_store(runtime);
    store.set_epoch_deadline(runtime.deadline_ticks());
    let bound = match &plugin.pre {
        WorldPre::Admission(p) => p.instantiate(&mut store).map(Bound::Admission),
        WorldPre::Redaction(p) => p.instantiate(&mut store).map(Bound::Redaction),
        WorldPre::Retention(p) => p.instantiate(&mut store).map(Bound::Retention),
        WorldPre::Disclosure(p) => p.instantiate(&mut store).map(Bound::Disclosure),
        WorldPre::Forwarder(p) => p.instantiate(&mut store).map(Bound::Forwarder),
    };
    match bound {
        Ok(b) => Ok((store, b)),
        Err(e) => {
            let kind = match classify(&store, &e) {
                FailureKind::Trap(t) => FailureKind::Instantiate(t),
                other => other,
            };
            Err(failure(plugin, runtime, kind))
        }
    }
}

fn failure(plugin: &Plugin, runtime: &Runtime, kind: FailureKind) -> PluginFailure {
    PluginFailure {
        plugin: plugin.name.clone(),
        kind,
        deadline_ms: runtime.limits().deadline.as_millis(),
        memory: runtime.limits().memory,
    }
}

fn classify(store: &Store<HostState>, error: &wasmtime::Error) -> FailureKind {
    if store.data().hit_memory_cap {
        return FailureKind::OutOfMemory;
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => FailureKind::Timeout,
        Some(trap) => FailureKind::Trap(trap.to_string()),
        None => FailureKind::Trap(format!("{error:#}")),
    }
}

impl Instance<'_> {
    fn failure(&self, kind: FailureKind) -> PluginFailure {
        failure(self.plugin, self.runtime, kind)
    }

    fn classify(&self, error: &wasmtime::Error) -> FailureKind {
        classify(&self.store, error)
    }

    fn bind(&mut self) -> Result<(), PluginFailure> {
        let (store, bound) = bind(self.plugin, self.runtime)?;
        self.store = store;
        self.bound = Some(bound);
        Ok(())
    }

    /// Runs one call under the deadline; a failure discards the instance.
    fn call<R>(
        &mut self,
        f: impl FnOnce(&Bound, &mut Store<HostState>) -> Option<wasmtime::Result<R>>,
    ) -> Result<R, PluginFailure> {
        if self.bound.is_none() {
            self.bind()?;
        }
        self.store.set_epoch_deadline(self.runtime.deadline_ticks());
        if self.runtime.is_metered() {
            self.store
                .set_fuel(u64::MAX)
                .expect("a metered engine consumes fuel");
        }
        let bound = self.bound.as_ref().expect("bound above");
        let result = f(bound, &mut self.store);
        self.fuel_used = self
            .runtime
            .is_metered()
            .then(|| u64::MAX - self.store.get_fuel().unwrap_or(0));
        match result {
            Some(Ok(r)) => Ok(r),
            Some(Err(e)) => {
                let kind = self.classify(&e);
                self.bound = None;
                Err(self.failure(kind))
            }
            None => Err(self.failure(FailureKind::Error(format!(
                "a {} plugin cannot be used here",
                self.plugin.world
            )))),
        }
    }

    /// [`Self::call`] of a function whose own error (the plugin's `Err(message)`) is a
    /// failure too.
    fn call_or_fail<R>(
        &mut self,
        f: impl FnOnce(&Bound, &mut Store<HostState>) -> Option<wasmtime::Result<Result<R, String>>>,
    ) -> Result<R, PluginFailure> {
        let r = self.call(f)?;
        r.map_err(|e| self.failure(FailureKind::Error(e)))
    }

    /// The fuel the last call on this instance burnt (successful or not), when its runtime
    /// is [metered](Runtime::metered); `None` otherwise or before any call.
    pub fn fuel_used(&self) -> Option<u64> {
        self.fuel_used
    }

    /// The plugin's verdict on its configuration.
    pub fn check_config(&mut self, config: &str) -> Result<Result<(), Vec<String>>, PluginFailure> {
        self.call(|b, s| {
            Some(match b {
                Bound::Admission(x) => x.sluice_policy_admit().call_check_config(s, config),
                Bound::Redaction(x) => x.sluice_policy_redact().call_check_config(s, config),
                Bound::Retention(x) => x.sluice_policy_retain().call_check_config(s, config),
                Bound::Disclosure(x) => x.sluice_policy_disclose().call_check_config(s, config),
                Bound::Forwarder(x) => x.sluice_policy_forward().call_check_config(s, config),
            })
        })
    }

    /// Admission: `Ok(notes)` accepts, `Err(rejection)` refuses.
    pub fn admit(
        &mut self,
        ctx: &Context,
        record: &RecordData,
    ) -> Result<Result<Vec<Note>, Rejection>, PluginFailure> {
        self.call(|b, s| match b {
            Bound::Admission(x) => Some(x.sluice_policy_admit().call_admit(s, ctx, record)),
            _ => None,
        })
    }

    /// Redaction: the edits to apply.
    pub fn redact(
        &mut self,
        ctx: &Context,
        record: &RecordData,
    ) -> Result<Vec<Edit>, PluginFailure> {
        self.call_or_fail(|b, s| match b {
            Bound::Redaction(x) => Some(x.sluice_policy_redact().call_redact(s, ctx, record)),
            _ => None,
        })
    }

    /// Retention: the deletions to schedule.
    pub fn schedule(
        &mut self,
        ctx: &Context,
        record: &RecordData,
    ) -> Result<Vec<Expiry>, PluginFailure> {
        self.call_or_fail(|b, s| match b {
            Bound::Retention(x) => Some(x.sluice_policy_retain().call_schedule(s, ctx, record)),
            _ => None,
        })
    }

    /// Disclosure: the projection the audience may see, or a refusal.
    pub fn disclose(
        &mut self,
        ctx: &Context,
        record: &RecordData,
        audience: &Audience,
    ) -> Result<Result<Projection, Note>, PluginFailure> {
        self.call(|b, s| match b {
            Bound::Disclosure(x) => Some(
                x.sluice_policy_disclose()
                    .call_disclose(s, ctx, record, audience),
            ),
            _ => None,
        })
    }

    /// Forwarding: the deliveries a write causes.
    pub fn forward(
        &mut self,
        ctx: &Context,
        record: &RecordData,
    ) -> Result<Vec<Delivery>, PluginFailure> {
        self.call_or_fail(|b, s| match b {
            Bound::Forwarder(x) => Some(x.sluice_policy_forward().call_forward(s, ctx, record)),
            _ => None,
        })
    }
}
