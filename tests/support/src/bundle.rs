//! The ProVu bundle of the repository, copies of bundle directories and edits of a copy's
//! `bundle.toml`.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};

/// The ProVu policy bundle of the repository (`policies/provu`).
pub const PROVU: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../policies/provu");

/// The root of the workspace (where `sluice policy test policies/provu` is run from).
pub const WORKSPACE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// The version of the ProVu bundle of the repository.
pub const PROVU_VERSION: &str = "2026.11.0";

/// [`PROVU`] as a path.
pub fn provu_dir() -> &'static Path {
    Path::new(PROVU)
}

/// Copies directory `from` into `to` (created with its parents if missing), recursively.
pub fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)
                .with_context(|| format!("copying {}", entry.path().display()))?;
        }
    }
    Ok(())
}

/// `text` with the first occurrence of `from` replaced by `to`; an error if there is none.
pub fn replace_first(text: &str, from: &str, to: &str) -> Result<String> {
    if !text.contains(from) {
        bail!("bundle.toml has no `{from}`");
    }
    Ok(text.replacen(from, to, 1))
}

/// `text` with the one occurrence of `from` replaced by `to`; an error unless `from` occurs
/// exactly once.
pub fn replace_once(text: &str, from: &str, to: &str) -> Result<String> {
    match text.matches(from).count() {
        1 => Ok(text.replacen(from, to, 1)),
        n => bail!("bundle.toml holds {n} occurrences of {from:?}, not 1"),
    }
}

/// Rewrites the manifest `dir/bundle.toml` with `edit`.
pub fn edit_manifest(dir: &Path, edit: impl FnOnce(&str) -> Result<String>) -> Result<()> {
    let path = dir.join("bundle.toml");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let text = edit(&text)?;
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))
}

/// Changes the version of the bundle in `dir` from `from` to `to` (the manifest must say
/// `version = "FROM"`).
pub fn set_version(dir: &Path, from: &str, to: &str) -> Result<()> {
    edit_manifest(dir, |text| {
        replace_first(
            text,
            &format!("version = \"{from}\""),
            &format!("version = \"{to}\""),
        )
    })
}

/// Copies the ProVu bundle to `at` under version `version`.
pub fn copy_provu_to(at: &Path, version: &str) -> Result<()> {
    copy_dir(provu_dir(), at)?;
    set_version(at, PROVU_VERSION, version)
}

/// A copy of the ProVu bundle at `at` under version `version` (panics on failure); its path
/// as text, for command lines.
pub fn provu_copy(at: &Path, version: &str) -> String {
    copy_provu_to(at, version).expect("copying the ProVu bundle");
    at.to_str().expect("a UTF-8 path").to_string()
}

/// The `delivery` table of a push-mode register entry: `endpoints` are (endpoint name, URL)
/// pairs, `shapes` an optional shape table (TOML inline, empty for none).
pub fn push_delivery_table(endpoints: &[(&str, &str)], shapes: &str) -> String {
    let endpoints: Vec<String> = endpoints
        .iter()
        .map(|(name, url)| format!("{name} = \"{url}\""))
        .collect();
    let shapes = if shapes.is_empty() {
        String::new()
    } else {
        format!(", shapes = {shapes}")
    };
    format!(
        "delivery = {{ mode = \"push\", endpoints = {{ {} }}{shapes} }}",
        endpoints.join(", ")
    )
}

/// `manifest` with `delivery` (a line such as [`push_delivery_table`] writes) added to the
/// register entry of `vendor`, which must stand once.
pub fn with_delivery(manifest: &str, vendor: &str, delivery: &str) -> Result<String> {
    let header = format!("[register.{vendor}]\n");
    replace_once(manifest, &header, &format!("{header}{delivery}\n"))
}

/// A temporary directory holding a copy of the ProVu bundle (in the directory itself).
pub fn provu_in_tempdir() -> Result<(tempfile::TempDir, PathBuf)> {
    let tmp = tempfile::tempdir().context("creating a temporary directory")?;
    copy_dir(provu_dir(), tmp.path())?;
    let path = tmp.path().to_path_buf();
    Ok((tmp, path))
}

/// The ProVu bundle directory, opened.
pub fn open_provu() -> cap_std::fs::Dir {
    cap_std::fs::Dir::open_ambient_dir(PROVU, cap_std::ambient_authority())
        .expect("opening policies/provu")
}

/// The ProVu bundle loaded into `runtime` as the gateway loads it (no compiled-plugin
/// cache); panics if it does not load.
pub fn load_provu(runtime: &sluice::runtime::Runtime) -> sluice::bundle::Policy {
    sluice::bundle::load_dir(&open_provu(), runtime, None).expect("loading the ProVu bundle")
}
