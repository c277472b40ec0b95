//! A bundle as it is published: the manifest text, the policy test cases and the digest of
//! every plugin component it uses. A package is content-addressed (its [`Package::digest`]
//! covers everything that decides its behaviour) and is what a publisher signs.
//!
//! A bundle directory becomes a package with [`from_dir`]; the gateway's registry stores
//! packages and component bytes separately, so that bundles share plugins.

use std::borrow::Cow;
use std::collections::BTreeMap;

use cap_std::fs::Dir;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{BundleError, MANIFEST, Manifest};
use crate::runtime::World;

/// The file of a bundle directory that holds its signature (written by `sluice bundle sign`).
pub const SIGNATURE_FILE: &str = "bundle.sig";

/// The first line of the signed statement; changes with its layout.
const STATEMENT_HEADER: &str = "sluice-bundle-v1";

/// One policy test case, as the text of its two files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseFiles {
    /// `input.json`
    pub input: String,
    /// `expected.json`
    pub expected: String,
}

/// An ed25519 signature over a package's statement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signature {
    /// The signing key's id (`ed25519:<first 16 hex digits of sha256(public key)>`).
    pub key: String,
    /// The public key, base64.
    pub public: String,
    /// The signature, base64.
    pub signature: String,
}

/// A bundle as published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Package {
    /// The text of `bundle.toml`.
    pub manifest: String,
    /// Plugin name (as in `[plugins]`) -> `sha256:<hex>` of its component.
    pub plugins: BTreeMap<String, String>,
    /// Case name -> its files (`tests/<case>/`).
    #[serde(default)]
    pub cases: BTreeMap<String, CaseFiles>,
    /// The publisher's signature; `None` for an unsigned package.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<Signature>,
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

impl Package {
    /// The statement a publisher signs: one line per item, in a fixed order, naming the
    /// digest of the manifest, of every plugin component and of every case file.
    pub fn statement(&self) -> String {
        let mut s = format!(
            "{STATEMENT_HEADER}\nmanifest {}\n",
            sha256(self.manifest.as_bytes())
        );
        for (name, digest) in &self.plugins {
            s.push_str(&format!("plugin {name} {digest}\n"));
        }
        for (name, case) in &self.cases {
            s.push_str(&format!(
                "case {name} {} {}\n",
                sha256(case.input.as_bytes()),
                sha256(case.expected.as_bytes())
            ));
        }
        s
    }

    /// `sha256:<hex>` of the statement: the identity of the package's content.
    pub fn digest(&self) -> String {
        sha256(self.statement().as_bytes())
    }

    /// Parses the manifest.
    pub fn manifest(&self) -> Result<Manifest, BundleError> {
        toml::from_str(&self.manifest).map_err(|e| BundleError {
            problems: vec![format!("{MANIFEST}: {}", e.to_string().trim_end())],
        })
    }
}

/// Component bytes by digest.
pub type Components = BTreeMap<String, Cow<'static, [u8]>>;

/// Reads the bundle directory `dir` into a package (with its `bundle.sig`, if any) and the
/// components it uses: `builtin:` plugins from this binary, the others from their files.
pub fn from_dir(dir: &Dir) -> Result<(Package, Components), BundleError> {
    let (package, components, problems) = read_dir(dir)?;
    if !problems.is_empty() {
        return Err(BundleError { problems });
    }
    Ok((package, components))
}

/// Like [`from_dir`], but a component or case that cannot be read is a problem returned
/// beside what could be read (the plugin has no digest in the package), so that loading can
/// go on and report every problem at once.
pub fn read_dir(dir: &Dir) -> Result<(Package, Components, Vec<String>), BundleError> {
    let fail = |p: String| BundleError { problems: vec![p] };
    let manifest_text = dir
        .read_to_string(MANIFEST)
        .map_err(|e| fail(format!("cannot read {MANIFEST}: {e}")))?;
    let manifest: Manifest = toml::from_str(&manifest_text)
        .map_err(|e| fail(format!("{MANIFEST}: {}", e.to_string().trim_end())))?;
    let mut problems = Vec::new();
    let mut plugins = BTreeMap::new();
    let mut components = Components::new();
    for (name, decl) in &manifest.plugins {
        match component_bytes(dir, name, &decl.component) {
            Ok(bytes) => {
                let digest = crate::runtime::digest(&bytes);
                plugins.insert(name.clone(), digest.clone());
                components.insert(digest, bytes);
            }
            Err(e) => problems.push(e),
        }
    }
    let cases = match read_cases(dir) {
        Ok(c) => c,
        Err(e) => {
            problems.push(e);
            BTreeMap::new()
        }
    };
    let signature = if dir.exists(SIGNATURE_FILE) {
        match dir
            .read_to_string(SIGNATURE_FILE)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
        {
            Ok(sig) => Some(sig),
            Err(e) => {
                problems.push(format!("{SIGNATURE_FILE}: {e}"));
                None
            }
        }
    } else {
        None
    };
    Ok((
        Package {
            manifest: manifest_text,
            plugins,
            cases,
            signature,
        },
        components,
        problems,
    ))
}

/// The world each plugin of `package` claims, by name (from its manifest).
pub fn claimed_worlds(package: &Package) -> Result<BTreeMap<String, World>, BundleError> {
    Ok(package
        .manifest()?
        .plugins
        .into_iter()
        .map(|(name, decl)| (name, decl.world))
        .collect())
}

fn component_bytes(dir: &Dir, name: &str, component: &str) -> Result<Cow<'static, [u8]>, String> {
    let at = format!("plugins.{name}");
    match component.strip_prefix("builtin:") {
        Some(builtin) => crate::builtin::get(builtin)
            .map(Cow::Borrowed)
            .ok_or_else(|| {
                let known: Vec<&str> = crate::builtin::BUILTIN_PLUGINS
                    .iter()
                    .map(|(n, _)| *n)
                    .collect();
                format!(
                    "{at}: no built-in plugin `{builtin}` (built-in: {})",
                    known.join(", ")
                )
            }),
        None => dir
            .read(component)
            .map(Cow::Owned)
            .map_err(|e| format!("{at}: cannot read component {component:?}: {e}")),
    }
}

fn read_cases(dir: &Dir) -> Result<BTreeMap<String, CaseFiles>, String> {
    let mut cases = BTreeMap::new();
    if !dir.exists(CASES_DIR) {
        return Ok(cases);
    }
    let root = dir
        .open_dir(CASES_DIR)
        .map_err(|e| format!("{}: {e}", CASES_DIR))?;
    for name in case_names(dir).map_err(|e| format!("{}: {e}", CASES_DIR))? {
        let read = |file: &str| {
            root.read_to_string(format!("{name}/{file}"))
                .map_err(|e| format!("{}/{name}/{file}: {e}", CASES_DIR))
        };
        cases.insert(
            name.clone(),
            CaseFiles {
                input: read("input.json")?,
                expected: read("expected.json")?,
            },
        );
    }
    Ok(cases)
}

/// Where a bundle keeps its policy test cases (see [`crate::cases`]).
pub const CASES_DIR: &str = "tests";

/// The case names of the bundle in `dir`, sorted.
pub fn case_names(dir: &Dir) -> anyhow::Result<Vec<String>> {
    if !dir.exists(CASES_DIR) {
        return Ok(Vec::new());
    }
    let mut names = Vec::new();
    for entry in dir.read_dir(CASES_DIR)? {
        let entry = entry?;
        if entry.file_type()?.is_dir() {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    Ok(names)
}
