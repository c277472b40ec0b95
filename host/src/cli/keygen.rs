//! `sluice keygen`: a publisher's signing key pair for bundles.

use anyhow::{Context as _, Result};

use sluice::bundle::signing;

pub fn keygen(out: &std::path::Path) -> Result<()> {
    use std::io::Write as _;
    let secret = out.with_extension("key");
    let public = out.with_extension("pub");
    let key = signing::generate()?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
        .open(&secret)
        .and_then(|mut f| f.write_all(signing::secret_key_text(&key).as_bytes()))
        .with_context(|| {
            format!(
                "writing {} (an existing key is never overwritten)",
                secret.display()
            )
        })?;
    std::fs::write(&public, signing::public_key_text(&key.verifying_key()))
        .with_context(|| format!("writing {}", public.display()))?;
    println!(
        "secret key: {} (keep it secret)\npublic key: {} (give it to gateways: --trusted-key)",
        secret.display(),
        public.display()
    );
    println!("{}", signing::key_id(&key.verifying_key()));
    Ok(())
}
