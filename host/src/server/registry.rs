//! The open connections ([`Registry`]): the cap, and which idle connection makes room for
//! a new one.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use super::state::ConnState;

/// The open connections, for the cap and for choosing which idle one makes room.
pub(super) struct Registry {
    pub(super) cap: usize,
    pub(super) inner: Arc<Mutex<RegistryInner>>,
    /// Told whenever a socket is closed.
    pub(super) closed: Arc<Notify>,
}

#[derive(Default)]
pub(super) struct RegistryInner {
    next: u64,
    open: std::collections::HashMap<u64, Arc<ConnState>>,
    /// Connections evicted whose socket is not closed yet: they still hold a descriptor.
    evicted: usize,
}

/// A connection's place in the registry, given back when its socket is closed.
pub(super) struct Slot {
    id: u64,
    registry: Arc<Mutex<RegistryInner>>,
    closed: Arc<Notify>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Ok(mut inner) = self.registry.lock()
            && inner.open.remove(&self.id).is_none()
        {
            inner.evicted = inner.evicted.saturating_sub(1);
        }
        self.closed.notify_one();
    }
}

impl Registry {
    pub(super) fn new(cap: usize) -> Self {
        Self {
            cap,
            inner: Arc::default(),
            closed: Arc::new(Notify::new()),
        }
    }

    /// Waits while the sockets still open (evicted ones included) fill the cap and an
    /// evicted one is about to close: accepting now would hold one descriptor more than
    /// the cap for every eviction not yet done, and a flood of connections would run the
    /// process out of descriptors.
    pub(super) async fn room(&self) {
        loop {
            let closed = self.closed.notified();
            tokio::pin!(closed);
            closed.as_mut().enable();
            {
                let inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
                if inner.evicted == 0 || inner.open.len() + inner.evicted < self.cap {
                    return;
                }
            }
            closed.await;
        }
    }

    /// A place for a new connection: a free one, or the place of the connection idle
    /// longest (which is told to close). `None` when every connection is busy.
    pub(super) fn admit(&self) -> Option<(Arc<ConnState>, Slot)> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if inner.open.len() >= self.cap {
            let victim = inner
                .open
                .iter()
                .filter(|(_, s)| s.is_idle() && !s.closed.load(Ordering::Acquire))
                .min_by_key(|(_, s)| {
                    // Since when it has been idle, in one time base.
                    let since = match s.head_started.load(Ordering::Acquire) {
                        0 => s.idle_since.load(Ordering::Acquire),
                        started => started - 1,
                    };
                    s.at(since)
                })
                .map(|(id, _)| *id)?;
            let state = inner.open.remove(&victim).expect("listed above");
            inner.evicted += 1;
            state.evicted.store(true, Ordering::Release);
            state.wake.notify_one();
        }
        let id = inner.next;
        inner.next += 1;
        let state = Arc::new(ConnState::new());
        inner.open.insert(id, state.clone());
        Some((
            state,
            Slot {
                id,
                registry: self.inner.clone(),
                closed: self.closed.clone(),
            },
        ))
    }
}
