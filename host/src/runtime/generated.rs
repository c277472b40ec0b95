//! Host-side bindings of `wit/policy.wit`, one module per world. The `types` interface is
//! generated once (in `admission`) and shared by every other world.

/// Bindings of the `admission` world (and the shared `types`).
pub mod admission {
    wasmtime::component::bindgen!({ world: "admission", path: "../wit" });
}

/// Bindings of the `redaction` world.
pub mod redaction {
    wasmtime::component::bindgen!({
        world: "redaction",
        path: "../wit",
        with: { "sluice:policy/types": super::admission::sluice::policy::types },
    });
}

/// Bindings of the `retention` world.
pub mod retention {
    wasmtime::component::bindgen!({
        world: "retention",
        path: "../wit",
        with: { "sluice:policy/types": super::admission::sluice::policy::types },
    });
}

/// Bindings of the `disclosure` world.
pub mod disclosure {
    wasmtime::component::bindgen!({
        world: "disclosure",
        path: "../wit",
        with: { "sluice:policy/types": super::admission::sluice::policy::types },
    });
}

/// Bindings of the `forwarder` world.
pub mod forwarder {
    wasmtime::component::bindgen!({
        world: "forwarder",
        path: "../wit",
        with: { "sluice:policy/types": super::admission::sluice::policy::types },
    });
}

pub use admission::sluice::policy::types;
