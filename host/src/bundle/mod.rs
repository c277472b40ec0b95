//! Policy bundles: the declarative half of a policy.
//!
//! A bundle directory holds `bundle.toml`: for each record kind, its field schema and the
//! ordered chain of plugins (with each plugin's configuration) that every write passes
//! through, plus the disclosure plugins that every read passes through. Loading a bundle
//! validates all of it, compiles its plugins and has every plugin check its configuration;
//! every problem is reported at once.

pub mod clauses;
pub mod package;
pub mod schema;
pub mod signing;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::Arc;

use serde::Deserialize;

use crate::runtime::cache::CompiledCache;
use crate::runtime::{Plugin, Runtime, World};
use package::{Components, Package};
use schema::{Extra, FieldSchema};

/// The file a bundle directory must hold.
pub const MANIFEST: &str = "bundle.toml";

/// `bundle.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// `format = 1`: the version of this file format.
    pub format: u32,
    /// `name = "provu"`
    pub name: String,
    /// `version = "2026.11.0"`: every stored record names the bundle version that wrote it.
    pub version: String,
    /// `description = "..."`
    #[serde(default)]
    pub description: String,
    /// `[notice]`: what this version changes, for the policy change notices (clause 8).
    #[serde(default)]
    pub notice: NoticeDecl,
    /// `purposes = ["delivery", ...]`: the purposes a read may name.
    #[serde(default)]
    pub purposes: Vec<String>,
    /// `[register.<id>]`: the subprocessor register (clause 3.2).
    #[serde(default)]
    pub register: BTreeMap<String, Subprocessor>,
    /// `[plugins.<name>]`: the plugins the bundle uses.
    pub plugins: BTreeMap<String, PluginDecl>,
    /// `[kinds.<kind>]`: the record kinds the bundle accepts.
    pub kinds: BTreeMap<String, KindDecl>,
}

/// `[notice]`
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoticeDecl {
    /// `material = true`: the change is material; activating the bundle publishes a
    /// policy change notice (clause 8).
    #[serde(default)]
    pub material: bool,
    /// `summary = "..."`: the change in a sentence or two, as partners will read it.
    #[serde(default)]
    pub summary: String,
}

/// `[register.dpd]`: one subprocessor.
#[derive(Debug, Clone, serde::Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Subprocessor {
    /// `name = "DPD"`
    pub name: String,
    /// `category = "courier" | "manufacturer" | "other"`
    pub category: Category,
    /// `website = "http://www.dpd.co.uk/"`
    #[serde(default)]
    pub website: String,
    /// `outside_eea = true`: processing happens outside the European Economic Area (3.1).
    #[serde(default)]
    pub outside_eea: bool,
    /// `safeguards = true`: a transfer outside the EEA is covered by adequate safeguards (3.1).
    #[serde(default)]
    pub safeguards: bool,
    /// `[register.<id>.delivery]`: how the subprocessor receives its deliveries.
    #[serde(default)]
    pub delivery: DeliveryDecl,
}

impl Subprocessor {
    /// Whether transfers to it are forbidden by clause 3.1 (outside the EEA without
    /// safeguards).
    pub fn transfer_forbidden(&self) -> bool {
        self.outside_eea && !self.safeguards
    }
}

/// `[register.yealink.delivery]`
#[derive(Debug, Clone, Default, serde::Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliveryDecl {
    /// `mode = "push"` (the gateway pushes to `endpoints`) or `"pull"` (the default: the
    /// vendor reads `GET /v1/vendor/feed`).
    #[serde(default)]
    pub mode: crate::outbox::Mode,
    /// `endpoints = { redirection = "https://rps.example.com/sluice" }`: the URL of each
    /// endpoint kind the forwarders address (`redirection`, `provisioning`, `courier`, ...).
    #[serde(default)]
    pub endpoints: BTreeMap<String, String>,
    /// `shapes = { redirection = { "/serverUrl" = "/provisioning_url", "/mac" = "/mac" } }`:
    /// per endpoint kind, the JSON the vendor receives, as target pointer = payload pointer.
    /// Without a shape the vendor receives the payload as the forwarder computed it.
    #[serde(default)]
    pub shapes: BTreeMap<String, BTreeMap<String, String>>,
}

/// The section of the register a subprocessor is listed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    /// 3.2.1 Couriers.
    Courier,
    /// 3.2.2 Product manufacturers.
    Manufacturer,
    /// 3.2.3 Other.
    Other,
}

/// `[plugins.card-redaction]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginDecl {
    /// `world = "redaction"`: the world the component implements.
    pub world: World,
    /// `component = "builtin:card-redaction"` (a plugin built into the gateway) or a path
    /// relative to the bundle directory, e.g. `"plugins/my-filter.wasm"`.
    pub component: String,
}

/// `[kinds.contact]`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KindDecl {
    /// `clause = "2.1.1"`: the clause that governs the kind, cited by schema errors.
    #[serde(default)]
    pub clause: Option<String>,
    /// `description = "..."`
    #[serde(default)]
    pub description: String,
    /// `extra_fields = "allow" | "reject"`: fields the schema does not list.
    #[serde(default)]
    pub extra_fields: Extra,
    /// `[kinds.contact.fields]`: the field schema.
    #[serde(default)]
    pub fields: BTreeMap<String, FieldSchema>,
    /// `[[kinds.contact.chain]]`: the write chain, run in order.
    #[serde(default)]
    pub chain: Vec<StepDecl>,
    /// `[[kinds.contact.read]]`: the disclosure plugins every read passes, in order.
    #[serde(default)]
    pub read: Vec<StepDecl>,
    /// `index = ["/mac"]`: fields (JSON Pointers) the kind's records can be searched by.
    #[serde(default)]
    pub index: Vec<String>,
    /// `[[kinds.delivery.keep_on_erasure]]`: what an erasure request must leave, when, and
    /// under which clause (see [`crate::erasure`]).
    #[serde(default)]
    pub keep_on_erasure: Vec<crate::erasure::KeepRule>,
}

/// `{ plugin = "retention", config = { ... } }`
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepDecl {
    /// The plugin's name in `[plugins]`.
    pub plugin: String,
    /// The plugin's configuration, passed to it as JSON.
    #[serde(default)]
    pub config: Option<toml::Table>,
}

/// A bundle, loaded and ready to serve.
#[derive(Debug)]
pub struct Policy {
    /// `name@version`.
    pub id: String,
    /// `sha256:<hex>` of the package (see [`Package::digest`]).
    pub digest: String,
    /// The package it was loaded from (manifest, cases, plugin digests, signature).
    pub package: Arc<Package>,
    /// The change notice of this version.
    pub notice: NoticeDecl,
    /// The bundle's name.
    pub name: String,
    /// The bundle's version.
    pub version: String,
    /// The kinds, by name.
    pub kinds: HashMap<String, Kind>,
    /// The plugins, by name.
    pub plugins: BTreeMap<String, Arc<Plugin>>,
    /// The purposes a read may name.
    pub purposes: Vec<String>,
    /// The subprocessor register.
    pub register: BTreeMap<String, Subprocessor>,
}

/// A record kind of a loaded bundle.
#[derive(Debug)]
pub struct Kind {
    /// The governing clause.
    pub clause: Option<String>,
    /// What to do with unlisted fields.
    pub extra_fields: Extra,
    /// The field schema.
    pub fields: BTreeMap<String, FieldSchema>,
    /// The write chain.
    pub chain: Vec<Step>,
    /// The read (disclosure) chain.
    pub read: Vec<Step>,
    /// Searchable fields.
    pub index: Vec<String>,
    /// What erasure keeps.
    pub keep_on_erasure: Vec<crate::erasure::KeepRule>,
}

/// One plugin of a chain, with its configuration.
#[derive(Debug, Clone)]
pub struct Step {
    /// The plugin.
    pub plugin: Arc<Plugin>,
    /// Its configuration as JSON text.
    pub config: Arc<str>,
}

/// Why a bundle was refused: every problem found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleError {
    /// One line per problem.
    pub problems: Vec<String>,
}

impl fmt::Display for BundleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid policy bundle ({} problem", self.problems.len())?;
        if self.problems.len() != 1 {
            f.write_str("s")?;
        }
        f.write_str("):")?;
        for p in &self.problems {
            write!(f, "\n  - {p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for BundleError {}

/// Whether `s` is a valid name (of a bundle, plugin, kind, purpose): lowercase letters,
/// digits, `-` and `_`.
pub fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// Loads the bundle in directory `dir` (see [`load`]).
pub fn load_dir(
    dir: &cap_std::fs::Dir,
    runtime: &Runtime,
    cache: Option<&CompiledCache>,
) -> Result<Policy, BundleError> {
    let (package, components, problems) = package::read_dir(dir)?;
    build(package, &components, runtime, cache, problems)
}

/// Loads a bundle package: parses and validates its manifest, compiles (or loads from
/// `cache`) the component of each plugin from `components` (by digest), checks that it
/// implements the world the manifest claims, and has each plugin check its configuration.
pub fn load(
    package: Package,
    components: &Components,
    runtime: &Runtime,
    cache: Option<&CompiledCache>,
) -> Result<Policy, BundleError> {
    build(package, components, runtime, cache, Vec::new())
}

/// [`load`], adding to `problems` found while reading the package (a plugin whose component
/// could not be read, and so has no digest, is then not reported again).
fn build(
    package: Package,
    components: &Components,
    runtime: &Runtime,
    cache: Option<&CompiledCache>,
    mut problems: Vec<String>,
) -> Result<Policy, BundleError> {
    let unreadable = !problems.is_empty();
    let manifest = package.manifest()?;
    check_manifest(&manifest, &mut problems);
    for name in package.plugins.keys() {
        if !manifest.plugins.contains_key(name) {
            problems.push(format!(
                "the package lists a digest for plugin `{name}`, which is not in [plugins]"
            ));
        }
    }

    // Compile the plugins that exist, even if other problems were found, so that one run
    // reports everything.
    let mut plugins = BTreeMap::new();
    for (name, decl) in &manifest.plugins {
        let at = format!("plugins.{name}");
        let Some(digest) = package.plugins.get(name) else {
            if !unreadable {
                problems.push(format!("{at}: the package names no component digest"));
            }
            continue;
        };
        let Some(bytes) = components.get(digest) else {
            problems.push(format!("{at}: unknown plugin digest {digest}"));
            continue;
        };
        match load_plugin(runtime, cache, name, decl, digest, bytes) {
            Ok(p) => {
                plugins.insert(name.clone(), Arc::new(p));
            }
            Err(e) => problems.push(e),
        }
    }

    let mut kinds = HashMap::new();
    for (kind_name, decl) in &manifest.kinds {
        let mut steps = |list: &[StepDecl], what: &str, allowed: &dyn Fn(World) -> bool| {
            let mut out = Vec::new();
            for (i, step) in list.iter().enumerate() {
                let at = format!("kinds.{kind_name}.{what}[{i}] ({})", step.plugin);
                let Some(plugin) = plugins.get(&step.plugin) else {
                    if !manifest.plugins.contains_key(&step.plugin) {
                        problems.push(format!("{at}: no plugin `{}` in [plugins]", step.plugin));
                    }
                    continue;
                };
                if !allowed(plugin.world) {
                    problems.push(format!(
                        "{at}: a {} plugin cannot run in `{what}`",
                        plugin.world
                    ));
                    continue;
                }
                let config = step_config(&manifest, step, plugin.world);
                match plugin
                    .instantiate(runtime)
                    .and_then(|mut i| i.check_config(&config))
                {
                    Ok(Ok(())) => {}
                    Ok(Err(errs)) => {
                        problems.extend(errs.into_iter().map(|e| format!("{at}: {e}")))
                    }
                    Err(failure) => {
                        problems.push(format!("{at}: checking its configuration: {failure}"))
                    }
                }
                out.push(Step {
                    plugin: plugin.clone(),
                    config: config.into(),
                });
            }
            out
        };
        let chain = steps(&decl.chain, "chain", &|w| w != World::Disclosure);
        let read = steps(&decl.read, "read", &|w| w == World::Disclosure);
        kinds.insert(
            kind_name.clone(),
            Kind {
                clause: decl.clause.clone(),
                extra_fields: decl.extra_fields,
                fields: decl.fields.clone(),
                chain,
                read,
                index: decl.index.clone(),
                keep_on_erasure: decl.keep_on_erasure.clone(),
            },
        );
    }

    if !problems.is_empty() {
        return Err(BundleError { problems });
    }
    Ok(Policy {
        id: format!("{}@{}", manifest.name, manifest.version),
        digest: package.digest(),
        package: Arc::new(package),
        notice: manifest.notice,
        name: manifest.name,
        version: manifest.version,
        kinds,
        plugins,
        purposes: manifest.purposes,
        register: manifest.register,
    })
}

/// A step's configuration as JSON text. Disclosure and forwarder plugins also receive the
/// bundle's `register` and `purposes`, so that the register is written once per bundle.
fn step_config(manifest: &Manifest, step: &StepDecl, world: World) -> String {
    let mut config = serde_json::to_value(step.config.clone().unwrap_or_default())
        .unwrap_or_else(|_| serde_json::Value::Object(Default::default()));
    if matches!(world, World::Disclosure | World::Forwarder)
        && let Some(map) = config.as_object_mut()
    {
        map.insert(
            "register".into(),
            serde_json::to_value(&manifest.register).unwrap_or_default(),
        );
        map.insert(
            "purposes".into(),
            serde_json::to_value(&manifest.purposes).unwrap_or_default(),
        );
    }
    config.to_string()
}

fn check_manifest(m: &Manifest, problems: &mut Vec<String>) {
    if m.format != 1 {
        problems.push(format!(
            "format = {} is not supported (this gateway reads format 1)",
            m.format
        ));
    }
    if !is_name(&m.name) {
        problems.push(format!(
            "name {:?} must be lowercase letters, digits, '-' or '_'",
            m.name
        ));
    }
    if m.version.trim().is_empty() || m.version.contains(['@', ' ']) {
        problems.push(format!(
            "version {:?} must be non-empty, without spaces or '@'",
            m.version
        ));
    }
    if m.kinds.is_empty() {
        problems.push("the bundle defines no record kinds ([kinds.<name>])".into());
    }
    for name in m.plugins.keys().filter(|n| !is_name(n)) {
        problems.push(format!(
            "plugin name {name:?} must be lowercase letters, digits, '-' or '_'"
        ));
    }
    for id in m.register.keys().filter(|n| !is_name(n)) {
        problems.push(format!(
            "register id {id:?} must be lowercase letters, digits, '-' or '_'"
        ));
    }
    for (id, s) in &m.register {
        check_delivery(&format!("register.{id}.delivery"), &s.delivery, problems);
    }
    for (i, p) in m.purposes.iter().enumerate() {
        if !is_name(p) || m.purposes[..i].contains(p) {
            problems.push(format!("purposes: {p:?} must be a unique lowercase name"));
        }
    }
    for (kind, decl) in &m.kinds {
        for path in &decl.index {
            if !path.starts_with('/') {
                problems.push(format!(
                    "kinds.{kind}.index: {path:?} must be a JSON Pointer such as \"/mac\""
                ));
            }
        }
        if !is_name(kind) {
            problems.push(format!(
                "kind name {kind:?} must be lowercase letters, digits, '-' or '_'"
            ));
        }
        check_fields(&format!("kinds.{kind}.fields"), &decl.fields, problems);
        for (i, rule) in decl.keep_on_erasure.iter().enumerate() {
            let at = format!("kinds.{kind}.keep_on_erasure[{i}]");
            let when = rule.when.iter().map(|w| &w.path);
            for path in rule.fields.iter().chain(when) {
                if schema::field_type(&decl.fields, path).is_none() {
                    problems.push(format!(
                        "{at}: {path:?} is not a field of the kind (a JSON Pointer such as \"/name\")"
                    ));
                }
            }
            if rule.fields.is_empty() {
                problems.push(format!("{at}: `fields` names no field"));
            }
            if rule.clause.trim().is_empty() || rule.reason.trim().is_empty() {
                problems.push(format!(
                    "{at}: `clause` and `reason` must say why the fields are kept"
                ));
            }
        }
    }
}

fn check_delivery(at: &str, d: &DeliveryDecl, problems: &mut Vec<String>) {
    if d.mode == crate::outbox::Mode::Push && d.endpoints.is_empty() {
        problems.push(format!(
            "{at}: mode = \"push\" needs `endpoints` (e.g. {{ redirection = \"https://...\" }})"
        ));
    }
    for (kind, url) in &d.endpoints {
        match reqwest::Url::parse(url) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            _ => problems.push(format!(
                "{at}.endpoints.{kind}: {url:?} is not an http(s) URL"
            )),
        }
    }
    for (kind, shape) in &d.shapes {
        for (target, source) in shape {
            if !target.starts_with('/') || !source.starts_with('/') {
                problems.push(format!(
                    "{at}.shapes.{kind}: {target:?} = {source:?} must map a JSON Pointer to a \
                     JSON Pointer, e.g. \"/serverUrl\" = \"/provisioning_url\""
                ));
            }
        }
    }
}

fn check_fields(at: &str, fields: &BTreeMap<String, FieldSchema>, problems: &mut Vec<String>) {
    use schema::FieldType;
    for (name, f) in fields {
        let here = format!("{at}.{name}");
        if !f.one_of.is_empty() && f.ty != FieldType::String {
            problems.push(format!("{here}: `one_of` applies only to string fields"));
        }
        if !f.fields.is_empty() && f.ty != FieldType::Object {
            problems.push(format!("{here}: `fields` applies only to object fields"));
        }
        check_fields(&format!("{here}.fields"), &f.fields, problems);
    }
}

fn load_plugin(
    runtime: &Runtime,
    cache: Option<&CompiledCache>,
    name: &str,
    decl: &PluginDecl,
    digest: &str,
    bytes: &[u8],
) -> Result<Plugin, String> {
    let at = format!("plugins.{name}");
    if crate::runtime::digest(bytes) != digest {
        return Err(format!(
            "{at}: the component's bytes do not match its digest {digest}"
        ));
    }
    let component = runtime
        .compile(bytes, cache)
        .map_err(|e| format!("{at}: {:?} is not a valid component: {e:#}", decl.component))?;
    runtime
        .link(name, digest, decl.world, &component)
        .map_err(|e| format!("{at}: {e:#}"))
}
