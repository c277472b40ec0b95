//! Sluice: a privacy policy gateway.
//!
//! Backend services send every write and read of personal data through the gateway; the
//! gateway routes each record through sandboxed WebAssembly policy plugins (admission,
//! redaction, retention, disclosure, forwarding) chosen by a policy bundle, and persists the
//! result in its store. Every decision names the clause of the privacy policy it enforces.
//!
//! The binary (`sluice`) is a thin CLI over [`gateway::start`]; tests and benchmarks start
//! the same gateway in-process.

pub mod api;
pub mod auth;
pub mod backup;
pub mod budget;
pub mod bundle;
pub mod cases;
pub mod clause;
pub mod clock;
pub mod config;
pub mod erasure;
pub mod forgetting;
pub mod gateway;
pub mod metrics;
pub mod outbox;
pub mod pipeline;
pub mod publish;
pub mod record;
pub mod registry;
pub mod rights;
pub mod runtime;
pub mod server;
pub mod service;
pub mod shape;
pub mod state;
pub mod store;

/// The policy plugins built from `plugins/` and embedded in the host, by name. A bundle
/// refers to them as `builtin:<name>`.
pub mod builtin {
    include!(concat!(env!("OUT_DIR"), "/builtin_plugins.rs"));

    /// The component bytes of the built-in plugin `name`.
    pub fn get(name: &str) -> Option<&'static [u8]> {
        BUILTIN_PLUGINS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, b)| *b)
    }
}
