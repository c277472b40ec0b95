//! `sluice token create|revoke|list`: API tokens on a stopped gateway's data directory.

use anyhow::{Context as _, Result};
use cap_std::ambient_authority;
use cap_std::fs::Dir;

use sluice::clock::Clock as _;
use sluice::config::TokenCommand;

/// Issues a token offline and prints it.
fn issue_token(db: &sluice::store::Db, spec: sluice::auth::TokenSpec, now: i64) -> Result<()> {
    let issued = sluice::auth::issue(db, spec, now, "cli")?;
    let r = &issued.record;
    let binding = match (&r.tenant, &r.vendor) {
        (Some(t), _) => format!(" for tenant {t}"),
        (_, Some(v)) => format!(" for vendor {v}"),
        _ => String::new(),
    };
    println!(
        "issued {} token {}{binding}; it is shown only once:",
        r.role, r.id
    );
    println!("{}", issued.token);
    Ok(())
}

/// The subprocessors a vendor token may be issued for on a stopped gateway: those the
/// registers of the bundles active in its database list or, while no bundle is active there
/// yet (no gateway has opened the database), those of the bundle in `policies`, the one the
/// gateway will start on.
fn listed_vendors(
    db: &sluice::store::Db,
    policies: &std::path::Path,
) -> Result<std::collections::BTreeSet<String>> {
    if let Some(ids) = db.registry().active_register_ids()? {
        return Ok(ids);
    }
    let file = policies.join(sluice::bundle::MANIFEST);
    let text = std::fs::read_to_string(&file).with_context(|| {
        format!(
            "no bundle is active in the database yet, and the bundle to check the vendor \
             against cannot be read: {} (set --policies)",
            file.display()
        )
    })?;
    let manifest: sluice::bundle::Manifest =
        toml::from_str(&text).with_context(|| format!("parsing {}", file.display()))?;
    Ok(manifest.register.into_keys().collect())
}

/// `sluice token ...` on a stopped gateway's data directory.
pub fn token(command: TokenCommand) -> Result<()> {
    let open = |dir: &std::path::Path| -> Result<sluice::store::Db> {
        Dir::create_ambient_dir_all(dir, ambient_authority())
            .with_context(|| format!("creating data directory {}", dir.display()))?;
        let data = Dir::open_ambient_dir(dir, ambient_authority())
            .with_context(|| format!("opening data directory {}", dir.display()))?;
        sluice::auth::open_offline(&data)
    };
    let now = sluice::clock::SystemClock.now_ms();
    match command {
        TokenCommand::Create {
            data_dir,
            role,
            tenant,
            vendor,
            label,
            policies,
        } => {
            let db = std::sync::Arc::new(open(&data_dir)?);
            let spec = sluice::auth::TokenSpec {
                role,
                tenant,
                vendor,
                label,
            }
            .normalized()?;
            if spec.role == sluice::auth::Role::Vendor {
                let listed = listed_vendors(&db, &policies)?;
                spec.check_listed(|v| listed.contains(v))?;
            }
            issue_token(&db, spec, now)
        }
        TokenCommand::Revoke { data_dir, token } => {
            let db = open(&data_dir)?;
            let id = if token.starts_with(sluice::auth::PREFIX) {
                sluice::auth::id_of(&token)
            } else {
                token
            };
            match sluice::auth::revoke(&db, &id, now, "cli")? {
                Some(r) => {
                    println!("revoked {} token {}", r.role, r.id);
                    Ok(())
                }
                None => anyhow::bail!("no token with id `{id}`"),
            }
        }
        TokenCommand::List { data_dir } => {
            let db = open(&data_dir)?;
            for r in sluice::auth::list(&db)? {
                let binding = r.tenant.as_deref().or(r.vendor.as_deref()).unwrap_or("-");
                let state = if r.revoked_at.is_some() {
                    "revoked"
                } else {
                    "valid"
                };
                println!(
                    "{}\t{}\t{binding}\t{state}\t{}",
                    r.id,
                    r.role,
                    r.label.as_deref().unwrap_or("")
                );
            }
            Ok(())
        }
    }
}
