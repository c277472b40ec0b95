//! Builds the policy plugins in `plugins/` for wasm32-wasip2 and embeds them in the host as
//! its built-in plugin library (`builtin:<name>` in a bundle).
//!
//! [`embed_guests`] serves the end-to-end tests' build script too (`tests/build.rs`), for
//! their misbehaving test guests.

use std::path::PathBuf;

fn main() {
    embed_guests(
        "plugins",
        &["plugins", "wit", "Cargo.lock"],
        "builtin_plugins.rs",
        "BUILTIN_PLUGINS",
    );
}

/// Builds every guest crate directly below `dir` (relative to the workspace root, one level
/// above the package being built), rebuilding when anything under `watch` (relative to the
/// root too) changes, and writes `file` in `OUT_DIR` embedding them as `const_name`.
pub fn embed_guests(dir: &str, watch: &[&str], file: &str, const_name: &str) {
    let package = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("CARGO_MANIFEST_DIR"));
    let root = package
        .parent()
        .expect("the package lives in the workspace root")
        .to_path_buf();
    let names = sluice_guest_build::discover(&root.join(dir));
    let watch: Vec<PathBuf> = watch.iter().map(|path| root.join(path)).collect();
    let guests = sluice_guest_build::build(&root, &names, &watch);
    sluice_guest_build::write_embedded(&guests, file, const_name);
}
