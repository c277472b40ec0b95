//! `sluice audit verify`: the audit log's hash chain checked on a stopped gateway's data
//! directory.

use std::path::Path;

use anyhow::{Context as _, Result};
use cap_std::AmbientAuthority;
use cap_std::fs::Dir;

/// `sluice audit verify`.
pub fn verify(data_dir: &Path, authority: AmbientAuthority) -> Result<()> {
    let data = Dir::open_ambient_dir(data_dir, authority)
        .with_context(|| format!("opening data directory {}", data_dir.display()))?;
    match sluice::store::Store::verify_audit(&data)? {
        sluice::store::audit::Verdict::Intact { entries } => {
            println!("audit log intact: {entries} entries, hash chain verified");
            Ok(())
        }
        sluice::store::audit::Verdict::Broken { seq, reason } => {
            anyhow::bail!("audit log tampered with at entry {seq}: {reason}")
        }
    }
}
