//! Scheduling priority of bulk work.
//!
//! The CPU-heavy part of a request (parsing a batch, running the plugins of a write or a
//! read, a shadow run, a retention recompute) runs on threads of tokio's blocking pool. Those
//! threads run it at a lower scheduling priority ([`BULK_NICE`] above the process's own)
//! than the runtime's worker threads, which accept connections, read and write sockets and
//! answer `/healthz`. On a saturated machine the kernel then gives the worker threads the CPU
//! first: liveness probes and the sockets keep being served while bulk work waits its turn,
//! and the bulk work still gets every cycle the workers leave.
//!
//! A thread of the blocking pool is lowered the first time it runs bulk work and stays
//! lowered for its life (it only ever runs blocking work). The worker threads never run it.

use std::cell::Cell;
use std::sync::OnceLock;

/// How much lower (in nice steps) bulk work runs than the process.
pub const BULK_NICE: i32 = 5;

thread_local! {
    static LOWERED: Cell<bool> = const { Cell::new(false) };
}

/// The priority (nice value) of the thread that started the gateway.
static BASE: OnceLock<i32> = OnceLock::new();

/// Notes the priority the gateway runs at; called once at start, from a thread that does
/// no bulk work. Bulk work runs [`BULK_NICE`] below it (a thread created by a lowered one
/// inherits its priority, so the level is set, not stepped down).
pub fn init() {
    BASE.get_or_init(current);
}

/// The calling thread's nice value (0 where it cannot be read).
fn current() -> i32 {
    #[cfg(target_os = "linux")]
    if let Ok(nice) = rustix::process::getpriority_process(None) {
        return nice;
    }
    0
}

/// Lowers the calling thread's priority for bulk work, once per thread. Where the system
/// refuses (or has no per-thread priorities), the work runs at the process's priority.
pub fn bulk() {
    LOWERED.with(|lowered| {
        if lowered.replace(true) {
            return;
        }
        let target = (*BASE.get_or_init(current) + BULK_NICE).min(19);
        // On Linux a priority set for "the calling process" (pid 0) applies to the calling
        // thread only.
        #[cfg(target_os = "linux")]
        if let Err(e) = rustix::process::setpriority_process(None, target) {
            tracing::debug!(error = %e, "could not lower the priority of a bulk-work thread");
        }
        #[cfg(not(target_os = "linux"))]
        let _ = target;
    });
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn bulk_work_runs_below_the_gateway_once_per_thread() {
        init();
        let base = *BASE.get().expect("initialised");
        let levels = std::thread::spawn(|| {
            bulk();
            let once = current();
            bulk();
            (once, current())
        })
        .join()
        .unwrap();
        let want = (base + BULK_NICE).min(19);
        assert_eq!(levels, (want, want));
        // The thread that started the gateway is untouched.
        assert_eq!(current(), base);
    }
}
