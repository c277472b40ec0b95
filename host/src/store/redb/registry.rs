//! The policy registry's tables: plugin components (content-addressed), bundles (by
//! `name@version`), the history of activations and the policy change notices.
//!
//! Every change is one redb transaction together with its audit entry. All functions block;
//! callers run them off the async workers.

use crate::store::redb::codec;
use anyhow::{Context as _, Result};
use redb::{ReadableDatabase, ReadableTable};
use serde::Deserialize;

use super::Db;

use super::tables::{ACTIVATIONS, BUNDLES, COMPONENTS, NOTICES, PLUGINS};
use crate::bundle::package::{Components, Package};
use crate::registry::{Activation, BundleEntry, Notice, PluginInfo, Put, View};
use crate::store::AuditEntry;

/// Handle to the registry tables.
#[derive(Clone)]
pub struct Registry {
    db: Db,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").finish_non_exhaustive()
    }
}

fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T> {
    codec::decode(bytes).context("decoding a registry entry")
}

impl Registry {
    /// The registry in `db` (the store's database).
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Stores a plugin component and its metadata, with `audit`, unless one with the same
    /// digest is stored already.
    pub fn put_plugin(&self, info: &PluginInfo, bytes: &[u8], entry: AuditEntry) -> Result<Put> {
        let txn = self.db.raw().begin_write()?;
        let put = {
            let mut plugins = txn.open_table(PLUGINS)?;
            if plugins.get(info.digest.as_str())?.is_some() {
                Put::Exists
            } else {
                plugins.insert(info.digest.as_str(), codec::encode(info)?.as_slice())?;
                txn.open_table(COMPONENTS)?
                    .insert(info.digest.as_str(), bytes)?;
                self.db.append_audit(&txn, entry)?;
                Put::Created
            }
        };
        txn.commit()?;
        Ok(put)
    }

    /// The plugin with `digest`.
    pub fn plugin(&self, digest: &str) -> Result<Option<PluginInfo>> {
        let txn = self.db.raw().begin_read()?;
        let table = txn.open_table(PLUGINS)?;
        table.get(digest)?.map(|v| decode(v.value())).transpose()
    }

    /// Every plugin, by digest.
    pub fn plugins(&self) -> Result<Vec<PluginInfo>> {
        let txn = self.db.raw().begin_read()?;
        let table = txn.open_table(PLUGINS)?;
        let mut out = Vec::new();
        for entry in table.iter()? {
            out.push(decode(entry?.1.value())?);
        }
        Ok(out)
    }

    /// The components of `package` that the registry holds (the others are missing).
    pub fn components(&self, package: &Package) -> Result<Components> {
        let txn = self.db.raw().begin_read()?;
        let table = txn.open_table(COMPONENTS)?;
        let mut out = Components::new();
        for digest in package.plugins.values() {
            if let Some(bytes) = table.get(digest.as_str())? {
                out.insert(digest.clone(), bytes.value().to_vec().into());
            }
        }
        Ok(out)
    }

    /// Stores a bundle, with `audit`; an id already stored with the same digest is left as
    /// it is, with another digest it is a conflict (a published version never changes).
    pub fn put_bundle(&self, bundle: &BundleEntry, entry: AuditEntry) -> Result<Put> {
        let txn = self.db.raw().begin_write()?;
        let put = {
            let mut bundles = txn.open_table(BUNDLES)?;
            let existing = bundles
                .get(bundle.id.as_str())?
                .map(|v| decode::<BundleEntry>(v.value()))
                .transpose()?;
            match existing {
                Some(e) if e.digest == bundle.digest => Put::Exists,
                Some(e) => Put::Conflict { existing: e.digest },
                None => {
                    bundles.insert(bundle.id.as_str(), codec::encode(bundle)?.as_slice())?;
                    self.db.append_audit(&txn, entry)?;
                    Put::Created
                }
            }
        };
        txn.commit()?;
        Ok(put)
    }

    /// The bundle `id`.
    pub fn bundle(&self, id: &str) -> Result<Option<BundleEntry>> {
        let txn = self.db.raw().begin_read()?;
        let table = txn.open_table(BUNDLES)?;
        table.get(id)?.map(|v| decode(v.value())).transpose()
    }

    /// Every bundle, by id.
    pub fn bundles(&self) -> Result<Vec<BundleEntry>> {
        let txn = self.db.raw().begin_read()?;
        let table = txn.open_table(BUNDLES)?;
        let mut out = Vec::new();
        for entry in table.iter()? {
            out.push(decode(entry?.1.value())?);
        }
        Ok(out)
    }

    /// Records an activation (and its notice, if any) with `audit`, in one transaction.
    /// Fills in the sequence numbers.
    pub fn record_activation(
        &self,
        mut activation: Activation,
        notice: Option<Notice>,
        entry: AuditEntry,
    ) -> Result<Activation> {
        let txn = self.db.raw().begin_write()?;
        {
            let mut table = txn.open_table(ACTIVATIONS)?;
            activation.seq = table.last()?.map_or(1, |(k, _)| k.value() + 1);
            table.insert(activation.seq, codec::encode(&activation)?.as_slice())?;
            if let Some(mut notice) = notice {
                let mut notices = txn.open_table(NOTICES)?;
                notice.seq = notices.last()?.map_or(1, |(k, _)| k.value() + 1);
                notices.insert(notice.seq, codec::encode(&notice)?.as_slice())?;
            }
            self.db.append_audit(&txn, entry)?;
        }
        txn.commit()?;
        if let Some(tenant) = activation.tenant.clone() {
            activation.seq = self.activations_for(View::Tenant(&tenant))?.len() as u64;
        }
        Ok(activation)
    }

    /// Every activation, oldest first.
    pub fn activations(&self) -> Result<Vec<Activation>> {
        let txn = self.db.raw().begin_read()?;
        let table = txn.open_table(ACTIVATIONS)?;
        let mut out = Vec::new();
        for entry in table.iter()? {
            out.push(decode(entry?.1.value())?);
        }
        Ok(out)
    }

    /// The activations a tenant's view holds, oldest first: the gateway default's and the
    /// tenant's own (`None`: the default's only; see [`View`]).
    pub fn activations_for(&self, view: View<'_>) -> Result<Vec<Activation>> {
        let mut seen: Vec<Activation> = self
            .activations()?
            .into_iter()
            .filter(|a| view.shows(a.tenant.as_deref()))
            .collect();
        if !matches!(view, View::All) {
            for (i, a) in seen.iter_mut().enumerate() {
                a.seq = i as u64 + 1;
            }
        }
        Ok(seen)
    }

    /// The last activation of the gateway default: the default bundle.
    pub fn active(&self) -> Result<Option<Activation>> {
        Ok(self
            .activations()?
            .into_iter()
            .rev()
            .find(|a| a.tenant.is_none()))
    }

    /// The last activation of every tenant that runs on a bundle of its own (a tenant whose
    /// last activation took it back to the default is left out).
    pub fn tenant_actives(&self) -> Result<std::collections::BTreeMap<String, Activation>> {
        let mut last = std::collections::BTreeMap::new();
        for a in self.activations()? {
            if let Some(t) = a.tenant.clone() {
                last.insert(t, a);
            }
        }
        last.retain(|_, a| !a.follows_default);
        Ok(last)
    }

    /// The subprocessors listed by the register of any bundle active in the database (the
    /// default's and those tenants run on of their own), for checks made without a running
    /// gateway; `None` when no bundle was ever activated (no gateway has opened the
    /// database yet).
    pub fn active_register_ids(&self) -> Result<Option<std::collections::BTreeSet<String>>> {
        match self.db.raw().begin_read()?.open_table(ACTIVATIONS) {
            Ok(_) => {}
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        }
        let Some(default) = self.active()? else {
            return Ok(None);
        };
        let mut ids = std::collections::BTreeSet::new();
        for a in std::iter::once(default).chain(self.tenant_actives()?.into_values()) {
            let bundle = self
                .bundle(&a.bundle)?
                .with_context(|| format!("active bundle {} is not in the registry", a.bundle))?;
            let manifest = bundle
                .package
                .manifest()
                .map_err(|e| anyhow::anyhow!("bundle {}: {e}", a.bundle))?;
            ids.extend(manifest.register.into_keys());
        }
        Ok(Some(ids))
    }

    /// The policy change notices of a view, oldest first, after `after` (exclusive).
    pub fn notices(&self, after: u64, view: View<'_>) -> Result<Vec<Notice>> {
        let txn = self.db.raw().begin_read()?;
        let table = txn.open_table(NOTICES)?;
        let mut out = Vec::new();
        let mut position = 0;
        for entry in table.iter()? {
            let mut notice: Notice = decode(entry?.1.value())?;
            if !view.shows(notice.tenant.as_deref()) {
                continue;
            }
            position += 1;
            if !matches!(view, View::All) {
                notice.seq = position;
            }
            if notice.seq > after {
                out.push(notice);
            }
        }
        Ok(out)
    }

    /// Appends an audit entry on its own.
    pub fn audit(&self, entry: AuditEntry) -> Result<()> {
        let txn = self.db.raw().begin_write()?;
        self.db.append_audit(&txn, entry)?;
        txn.commit()?;
        Ok(())
    }
}
