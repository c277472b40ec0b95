//! Builds the policy plugins in `plugins/` for wasm32-wasip2 and embeds them in the host as
//! its built-in plugin library (`builtin:<name>` in a bundle).

use std::path::PathBuf;

fn main() {
    let host = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let root = host
        .parent()
        .expect("host/ lives in the workspace root")
        .to_path_buf();
    let plugins_dir = root.join("plugins");
    let plugins = sluice_guest_build::discover(&plugins_dir);
    let guests = sluice_guest_build::build(
        &root,
        &plugins,
        &[plugins_dir, root.join("wit"), root.join("Cargo.lock")],
    );
    sluice_guest_build::write_embedded(&guests, "builtin_plugins.rs", "BUILTIN_PLUGINS");
}
