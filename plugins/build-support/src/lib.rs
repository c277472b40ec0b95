//! Builds WebAssembly guests (policy plugins and test guests) from a host crate's build
//! script, the way wasmtime's `test-programs` do: one nested
//! `cargo build --release --target wasm32-wasip2` into a target directory of its own, then a
//! generated Rust file that embeds or names the resulting components.
//!
//! A plain `cargo build` / `cargo test` of the host therefore always runs against plugins
//! built from the sources in the tree; there is no separate manual step.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The target every guest is built for.
pub const TARGET: &str = "wasm32-wasip2";

/// One built guest component.
#[derive(Debug, Clone)]
pub struct Guest {
    /// The crate's package name, e.g. `card-redaction`.
    pub name: String,
    /// Path of the built `.wasm` component.
    pub path: PathBuf,
}

/// Finds the guest crates directly below `dir`: every sub-directory whose `Cargo.toml`
/// declares a `cdylib`. Returns their package names, sorted.
pub fn discover(dir: &Path) -> Vec<String> {
    let mut names = Vec::new();
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
    for entry in entries.flatten() {
        let manifest = entry.path().join("Cargo.toml");
        let Ok(text) = fs::read_to_string(&manifest) else {
            continue;
        };
        if !text.contains("cdylib") {
            continue;
        }
        let name = text
            .lines()
            .find_map(|l| {
                let l = l.trim();
                l.strip_prefix("name").map(|rest| {
                    rest.trim_start()
                        .trim_start_matches('=')
                        .trim()
                        .trim_matches('"')
                })
            })
            .unwrap_or_else(|| panic!("{} has no package name", manifest.display()));
        names.push(name.to_string());
    }
    names.sort();
    names
}

/// Stops the build with the fix when the `wasm32-wasip2` target is not installed.
pub fn require_target() {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let installed = sysroot
        .map(|s| s.join("lib/rustlib").join(TARGET).join("lib").is_dir())
        .unwrap_or(false);
    if !installed {
        panic!(
            "\n\nThe `{TARGET}` Rust target is not installed; Sluice's policy plugins are built for it.\n\
             Install it with:\n\n    rustup target add {TARGET}\n\n"
        );
    }
}

/// Builds the named guest packages of the workspace at `workspace` for `wasm32-wasip2`
/// (release profile) and returns the component of each.
///
/// Watches `watch` for changes so cargo re-runs the build script when guest sources change.
pub fn build(workspace: &Path, packages: &[String], watch: &[PathBuf]) -> Vec<Guest> {
    require_target();
    for path in watch {
        println!("cargo:rerun-if-changed={}", path.display());
    }
    // The guests' link flags (stack size, initial memory) live there.
    println!(
        "cargo:rerun-if-changed={}",
        workspace.join(".cargo/config.toml").display()
    );
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR is set for build scripts"));
    // Share one guest target directory between the build scripts of a profile, next to the
    // host's own target directory (`target/<profile>/build/<crate>/out` -> `target/guests`).
    let target_dir = out_dir
        .ancestors()
        .nth(4)
        .map(|t| t.join("guests"))
        .unwrap_or_else(|| out_dir.join("guests"));

    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace)
        .args(["build", "--release", "--target", TARGET, "--target-dir"])
        .arg(&target_dir);
    for p in packages {
        cmd.args(["-p", p]);
    }
    // The outer build's flags and wrappers (clippy, coverage, host RUSTFLAGS) are not meant
    // for the guests.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_WRAPPER",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
    ] {
        cmd.env_remove(var);
    }
    // Guests are shipped to gateways: no debug info (the host keeps line tables for itself).
    cmd.env("CARGO_PROFILE_RELEASE_DEBUG", "false")
        .env("CARGO_PROFILE_RELEASE_STRIP", "debuginfo")
        // Every record of every request runs through them: whole-program optimisation
        // (the shared rules inlined into each plugin) is worth the longer guest build.
        .env("CARGO_PROFILE_RELEASE_LTO", "fat")
        .env("CARGO_PROFILE_RELEASE_CODEGEN_UNITS", "1");
    let status = cmd
        .status()
        .unwrap_or_else(|e| panic!("running cargo for the {TARGET} guests: {e}"));
    if !status.success() {
        panic!("building the {TARGET} guests failed ({status}); see the output above");
    }
    packages
        .iter()
        .map(|name| {
            let path = target_dir
                .join(TARGET)
                .join("release")
                .join(format!("{}.wasm", name.replace('-', "_")));
            assert!(
                path.is_file(),
                "guest {name} was not built at {}",
                path.display()
            );
            Guest {
                name: name.clone(),
                path,
            }
        })
        .collect()
}

/// Writes `OUT_DIR/<file>` with one `(name, bytes)` entry per guest, embedding each
/// component with `include_bytes!`, as `pub const <CONST>: &[(&str, &[u8])]`.
pub fn write_embedded(guests: &[Guest], file: &str, const_name: &str) {
    let mut src = format!(
        "/// Guest components built from the tree.\npub const {const_name}: &[(&str, &[u8])] = &[\n"
    );
    for g in guests {
        writeln!(
            src,
            "    ({:?}, include_bytes!({:?})),",
            g.name,
            g.path.display().to_string()
        )
        .expect("writing to a String");
    }
    src.push_str("];\n");
    let out = PathBuf::from(env::var("OUT_DIR").expect("OUT_DIR")).join(file);
    fs::write(&out, src).unwrap_or_else(|e| panic!("writing {}: {e}", out.display()));
}
