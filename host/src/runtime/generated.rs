//! Host-side bindings of `wit/policy.wit`, one module per world. The `types` interface is
//! generated once (in `admission`) and shared by every other world.

/// Bindings of the `admission` world (and the shared `types`).
pub mod admission {
    wasmtime::component::bindgen!({ world: "admission", path: "../wit" });
}

/// The module `$module` of bindings of the world `$world`, sharing the `types` of
/// `admission`.
macro_rules! world {
    ($module:ident, $world:tt) => {
        #[doc = concat!("Bindings of the `", $world, "` world.")]
        pub mod $module {
            wasmtime::component::bindgen!({
                world: $world,
                path: "../wit",
                with: { "sluice:policy/types": super::admission::sluice::policy::types },
            });
        }
    };
}

world!(redaction, "redaction");
world!(retention, "retention");
world!(disclosure, "disclosure");
world!(forwarder, "forwarder");

pub use admission::sluice::policy::types;
