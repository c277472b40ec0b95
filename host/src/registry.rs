//! What the policy registry holds: plugin components (content-addressed), bundles (by
//! `name@version`), the history of activations and the policy change notices. The store
//! keeps them ([`crate::store::Registry`]), each change together with its audit entry.

use serde::{Deserialize, Serialize};

use crate::bundle::package::Package;
use crate::runtime::World;

/// A plugin component in the registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PluginInfo {
    /// `sha256:<hex>` of the component.
    pub digest: String,
    /// Its name, as given at upload.
    pub name: String,
    /// Its version, as given at upload.
    pub version: String,
    /// The world it implements (checked at upload).
    pub world: World,
    /// Size of the component in bytes.
    pub size: u64,
    /// When it was uploaded (RFC 3339).
    pub uploaded_at: String,
    /// Who uploaded it.
    pub uploaded_by: String,
}

/// A bundle in the registry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleEntry {
    /// `name@version`.
    pub id: String,
    /// The bundle's name.
    pub name: String,
    /// The bundle's version.
    pub version: String,
    /// `sha256:<hex>` of the package.
    pub digest: String,
    /// The id of the key that signed it; `None` for a bundle loaded from the gateway's own
    /// policy directory, or an unsigned one accepted by the development setting.
    pub signed_by: Option<String>,
    /// Who published it (`local:<source>` for the policy directory).
    pub published_by: String,
    /// When it was published (RFC 3339).
    pub published_at: String,
    /// The package: manifest, cases, plugin digests, signature.
    pub package: Package,
}

/// One activation of a bundle, for the gateway default or for one tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Activation {
    /// Position in the history (1-based) as the reader sees it: in a tenant's view the
    /// position among the activations that view holds, so that numbering reveals nothing of
    /// other tenants' activations; in the operators' view the position in the whole history.
    pub seq: u64,
    /// The tenant that activated the bundle for itself; `None` for the gateway default
    /// (the bootstrap and reloads of the policy directory; every activation of a database
    /// written before tenants had bundles of their own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// Whether the tenant went back to the gateway default with this activation (a
    /// rollback past its first bundle of its own): from then on it runs on whatever the
    /// default is, and `bundle` names the default of that moment.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub follows_default: bool,
    /// The bundle activated.
    pub bundle: String,
    /// Its package digest.
    pub digest: String,
    /// `bootstrap`, `activate`, `rollback` or `reload`.
    pub action: String,
    /// Who activated it.
    pub actor: String,
    /// When (RFC 3339).
    pub at: String,
}

/// A policy change notice (clause 8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// Position in the list (1-based) as the reader sees it (in a tenant's view, among the
    /// notices that view holds; the `after` cursor of `/v1/policy/changes` counts the same).
    pub seq: u64,
    /// The tenant whose policy changed; `None` for the gateway default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// The bundle whose activation changed the policy.
    pub bundle: String,
    /// Its version.
    pub version: String,
    /// What changed.
    pub summary: String,
    /// When the change took effect (RFC 3339).
    pub at: String,
}

/// Whose activations and notices a caller sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View<'a> {
    /// The gateway default's and those of one tenant.
    Tenant(&'a str),
    /// The gateway default's only.
    Default,
    /// Everything (operators).
    All,
}

impl View<'_> {
    /// Whether an entry of `tenant` (`None`: the default's) is in the view.
    pub fn shows(self, tenant: Option<&str>) -> bool {
        match (self, tenant) {
            (_, None) | (Self::All, _) => true,
            (Self::Tenant(t), Some(of)) => t == of,
            (Self::Default, Some(_)) => false,
        }
    }
}

/// What became of an upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Put {
    /// Stored now.
    Created,
    /// The same content was already stored.
    Exists,
    /// Another content is stored under the same id.
    Conflict {
        /// The digest stored.
        existing: String,
    },
}
