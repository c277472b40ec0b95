//! Bearer tokens and roles: who may call which route.
//!
//! A token is 32 random bytes (`sluice_` + base64url), shown once when it is issued. The store
//! keeps only its SHA-256 (table `tokens`), with the role it grants, the tenant (services and
//! compliance) or vendor (vendors) it is bound to, and when it was issued and revoked. The
//! gateway keeps the valid tokens in memory ([`Tokens`]), so authenticating a request is a
//! hash and a map lookup. Tokens are issued and revoked either by `sluice token` on a stopped
//! gateway's data directory or through `/v1/admin/tokens` while it runs; both go through
//! [`issue`] and [`revoke`], and both are audited (by token id, never the token).

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::{Result, bail};
use arc_swap::ArcSwap;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::store::AuditEntry;
use crate::store::Db;

/// What a token may do.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// A backend service: reads and writes the records of its tenant, and files data
    /// subjects' requests for them.
    Service,
    /// The compliance team: publishes policy, handles data subjects' requests.
    Compliance,
    /// A vendor or subprocessor: reads and acknowledges its own delivery feed.
    Vendor,
    /// An operator: manages tokens, the outbox, backups and metrics.
    Admin,
}

impl Role {
    /// The role's name, as in the CLI and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Service => "service",
            Self::Compliance => "compliance",
            Self::Vendor => "vendor",
            Self::Admin => "admin",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The tenant of tokens issued without `--tenant`.
pub const DEFAULT_TENANT: &str = "default";

/// A token as the store keeps it (without the token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// The token's public id (`tok_` + 12 hex digits of its hash): what logs, the audit log
    /// and `sluice token revoke` name.
    pub id: String,
    /// What it may do.
    pub role: Role,
    /// The tenant whose records it reaches (services and compliance).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// The vendor whose feed it reads (vendors).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vendor: Option<String>,
    /// A note saying what it is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// When it was issued (ms since the epoch).
    pub created_at: i64,
    /// Who issued it.
    pub created_by: String,
    /// When it was revoked, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<i64>,
}

impl TokenRecord {
    /// How the audit log names the holder: `role:token-id`.
    pub fn actor(&self) -> String {
        format!("{}:{}", self.role, self.id)
    }
}

/// What a new token is for.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenSpec {
    /// The role.
    pub role: Role,
    /// The tenant (services and compliance; default [`DEFAULT_TENANT`]).
    #[serde(default)]
    pub tenant: Option<String>,
    /// The vendor (required for, and only for, vendors).
    #[serde(default)]
    pub vendor: Option<String>,
    /// A note.
    #[serde(default)]
    pub label: Option<String>,
}

/// Why a token cannot be issued as asked.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// A vendor token names no vendor.
    #[error("a vendor token needs a vendor (--vendor, `vendor`)")]
    VendorMissing,
    /// A non-vendor token names a vendor.
    #[error("only vendor tokens name a vendor")]
    VendorNotAllowed,
    /// A tenant on a token that reaches no tenant's records.
    #[error("{0} tokens are not bound to a tenant")]
    TenantNotAllowed(Role),
    /// A label holding a card number (clause 2.1.2: card data is never stored).
    #[error("the label holds a card number, and card data is never stored (clause 2.1.2)")]
    CardInLabel,
    /// A malformed name.
    #[error("{0} must be 1 to 64 characters of a-z, A-Z, 0-9, `-`, `_` or `.`")]
    BadName(&'static str),
    /// A vendor token for a vendor that no active bundle's subprocessor register lists.
    #[error(
        "`{0}` is not in the subprocessor register of any active bundle (clause 3.2); vendor tokens are issued only for listed subprocessors"
    )]
    VendorNotListed(String),
}

impl SpecError {
    /// The policy clause behind the refusal, if one is.
    pub fn clause(&self) -> Option<&'static str> {
        match self {
            Self::CardInLabel => Some(crate::clause::CARD),
            Self::VendorNotListed(_) => Some(crate::clause::REGISTER),
            _ => None,
        }
    }
}

fn check_name(what: &'static str, v: &str) -> Result<(), SpecError> {
    if v.is_empty()
        || v.len() > 64
        || !v
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return Err(SpecError::BadName(what));
    }
    Ok(())
}

impl TokenSpec {
    /// The spec with defaults applied, or why it is not a valid token.
    pub fn normalized(mut self) -> Result<Self, SpecError> {
        match self.role {
            Role::Vendor => {
                let vendor = self.vendor.as_deref().ok_or(SpecError::VendorMissing)?;
                check_name("the vendor", vendor)?;
                if self.tenant.is_some() {
                    return Err(SpecError::TenantNotAllowed(self.role));
                }
            }
            Role::Service | Role::Compliance => {
                if self.vendor.is_some() {
                    return Err(SpecError::VendorNotAllowed);
                }
                let tenant = self.tenant.get_or_insert_with(|| DEFAULT_TENANT.into());
                check_name("the tenant", tenant)?;
            }
            Role::Admin => {
                if self.vendor.is_some() {
                    return Err(SpecError::VendorNotAllowed);
                }
                if self.tenant.is_some() {
                    return Err(SpecError::TenantNotAllowed(self.role));
                }
            }
        }
        if let Some(l) = &self.label
            && (l.len() > 200 || l.chars().any(char::is_control))
        {
            return Err(SpecError::BadName("the label"));
        }
        if let Some(l) = &self.label
            && sluice_rules::card::contains_card_number(l)
        {
            return Err(SpecError::CardInLabel);
        }
        Ok(self)
    }

    /// Refuses a vendor token for a vendor that `listed` (whether an active bundle's
    /// subprocessor register lists an id) does not know: a vendor's feed exists only for
    /// the subprocessors of the register (clause 3.2). Other roles pass.
    pub fn check_listed(&self, listed: impl Fn(&str) -> bool) -> Result<(), SpecError> {
        match (&self.role, &self.vendor) {
            (Role::Vendor, Some(v)) if !listed(v) => Err(SpecError::VendorNotListed(v.clone())),
            _ => Ok(()),
        }
    }
}

/// A token just issued: the only time the token itself exists outside its holder.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The bearer token.
    pub token: String,
    /// What the store keeps.
    pub record: TokenRecord,
}

/// The prefix of every token.
pub const PREFIX: &str = "sluice_";

/// The hex SHA-256 of a token: its key in the store.
fn digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The public id of `token`.
pub fn id_of(token: &str) -> String {
    format!("tok_{}", &digest(token)[..12])
}

/// The valid tokens, in memory, for authenticating requests.
#[derive(Debug)]
pub struct Tokens {
    db: Db,
    valid: ArcSwap<HashMap<String, Arc<TokenRecord>>>,
}

impl Tokens {
    /// Loads the valid tokens of `db`.
    pub fn load(db: Db) -> Result<Self> {
        let valid = ArcSwap::from_pointee(valid_tokens(&db)?);
        Ok(Self { db, valid })
    }

    /// The holder of `token`, if it is a valid (issued, unrevoked) token.
    pub fn authenticate(&self, token: &str) -> Option<Arc<TokenRecord>> {
        if !token.starts_with(PREFIX) || token.len() > 128 {
            return None;
        }
        self.valid.load().get(&digest(token)).cloned()
    }

    /// Issues a token (blocking: a durable write).
    pub fn issue(&self, spec: TokenSpec, now_ms: i64, by: &str) -> Result<Issued> {
        let issued = issue(&self.db, spec, now_ms, by)?;
        self.refresh()?;
        Ok(issued)
    }

    /// Revokes the token with id `id` (blocking); `None` if there is none.
    pub fn revoke(&self, id: &str, now_ms: i64, by: &str) -> Result<Option<TokenRecord>> {
        let revoked = revoke(&self.db, id, now_ms, by)?;
        self.refresh()?;
        Ok(revoked)
    }

    /// Every token issued (blocking).
    pub fn list(&self) -> Result<Vec<TokenRecord>> {
        list(&self.db)
    }

    fn refresh(&self) -> Result<()> {
        self.valid.store(Arc::new(valid_tokens(&self.db)?));
        Ok(())
    }
}

fn valid_tokens(db: &Db) -> Result<HashMap<String, Arc<TokenRecord>>> {
    Ok(db
        .tokens()?
        .into_iter()
        .filter(|(_, record)| record.revoked_at.is_none())
        .map(|(hash, record)| (hash, Arc::new(record)))
        .collect())
}

/// Every token issued in `db`, oldest first.
pub fn list(db: &Db) -> Result<Vec<TokenRecord>> {
    let mut all: Vec<_> = db.tokens()?.into_iter().map(|(_, r)| r).collect();
    all.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
    Ok(all)
}

/// Issues a token in `db` and audits it (`token.issued`), in one durable transaction.
pub fn issue(db: &Db, spec: TokenSpec, now_ms: i64, by: &str) -> Result<Issued> {
    let spec = spec.normalized()?;
    let mut secret = [0u8; 32];
    getrandom::fill(&mut secret).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let token = format!(
        "{PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret)
    );
    let hash = digest(&token);
    let record = TokenRecord {
        id: id_of(&token),
        role: spec.role,
        tenant: spec.tenant,
        vendor: spec.vendor,
        label: spec.label,
        created_at: now_ms,
        created_by: by.to_string(),
        revoked_at: None,
    };
    db.put_token(
        &hash,
        &record,
        token_entry("token.issued", &record, now_ms, by),
    )?;
    Ok(Issued { token, record })
}

/// Revokes the token with id `id` in `db` and audits it (`token.revoked`); `None` if there
/// is no such token. Revoking a revoked token changes nothing.
pub fn revoke(db: &Db, id: &str, now_ms: i64, by: &str) -> Result<Option<TokenRecord>> {
    db.revoke_token(id, now_ms, |record| {
        token_entry("token.revoked", record, now_ms, by)
    })
}

fn token_entry(event: &str, record: &TokenRecord, now_ms: i64, by: &str) -> AuditEntry {
    AuditEntry::admin(
        event,
        now_ms,
        by,
        None,
        serde_json::json!({
            "token": record.id,
            "role": record.role,
            "tenant": record.tenant,
            "vendor": record.vendor,
        }),
    )
}

/// Opens the database of a stopped gateway's data directory for `sluice token`.
pub fn open_offline(data: &cap_std::fs::Dir) -> Result<Db> {
    crate::store::Store::open_stopped(
        data,
        true,
        "stop the gateway, or use the admin API (POST /v1/admin/tokens)",
    )
}

/// Checks a `Bearer` authorization header value, returning the token.
pub fn bearer(header: &str) -> Result<&str> {
    let Some((scheme, token)) = header.split_once(' ') else {
        bail!("the Authorization header must be `Bearer <token>`");
    };
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        bail!("the Authorization header must be `Bearer <token>`");
    }
    Ok(token.trim())
}

#[cfg(test)]
mod tests;
