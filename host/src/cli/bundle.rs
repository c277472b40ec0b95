//! `sluice bundle sign|publish`: a policy bundle signed, or published to a running gateway.

use anyhow::{Context as _, Result};
use cap_std::AmbientAuthority;

use sluice::bundle::{package, signing};
use sluice::config::{BundleCommand, LogFormat};

use super::{init_logging, open_bundle};

/// `sluice bundle ...`.
pub async fn run(command: BundleCommand, authority: AmbientAuthority) -> Result<()> {
    init_logging(LogFormat::Human);
    match command {
        BundleCommand::Sign { dir, key } => {
            let dir = open_bundle(&dir, authority)?;
            let key = read_secret_key(&key)?;
            let (mut package, _) = package::from_dir(&dir)?;
            package.signature = None;
            let signature = signing::sign(&package, &key);
            dir.write(
                package::SIGNATURE_FILE,
                serde_json::to_string_pretty(&signature)? + "\n",
            )
            .context("writing bundle.sig")?;
            let manifest = package.manifest()?;
            println!(
                "signed {}@{} ({}) with {}",
                manifest.name,
                manifest.version,
                package.digest(),
                signature.key
            );
            Ok(())
        }
        BundleCommand::Publish {
            dir,
            key,
            url,
            activate,
            token,
        } => {
            let dir = open_bundle(&dir, authority)?;
            let (mut package, components) = package::from_dir(&dir)?;
            if let Some(key) = key {
                let key = read_secret_key(&key)?;
                package.signature = None;
                package.signature = Some(signing::sign(&package, &key));
            }
            sluice::publish::publish(&url, package, &components, activate, &token).await
        }
    }
}

fn read_secret_key(path: &std::path::Path) -> Result<ed25519_dalek::SigningKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading secret key {}", path.display()))?;
    signing::parse_secret_key(&text).with_context(|| format!("secret key {}", path.display()))
}
