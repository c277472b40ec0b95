//! `sluice backup`, `sluice restore`, `sluice vacuum` and `sluice backup-key`.

use std::path::Path;

use anyhow::{Context as _, Result};

/// `sluice backup`: from a running gateway (`--url`) or a stopped one's data directory.
pub async fn backup(args: sluice::config::BackupArgs) -> Result<()> {
    use sluice::backup;
    let key = backup::BackupKey::read(&args.key)?;
    let key_id = key.id_hex();
    let written = match (&args.url, &args.data_dir) {
        (Some(url), _) => {
            backup::backup_url(url, args.token.as_deref(), &key, &args.out, args.force).await?
        }
        (None, Some(dir)) => {
            let (dir, out) = (dir.clone(), args.out.clone());
            tokio::task::spawn_blocking(move || {
                backup::backup_data_dir(&dir, &key, &out, args.force)
            })
            .await
            .context("backup task")??
        }
        (None, None) => anyhow::bail!("give --url or --data-dir"),
    };
    println!(
        "backup written to {} ({} bytes, key id {})",
        args.out.display(),
        written.bytes,
        key_id
    );
    println!("{}", written.summary);
    Ok(())
}

/// `sluice restore`.
pub fn restore(args: &sluice::config::RestoreArgs) -> Result<()> {
    use sluice::backup;
    let key = backup::BackupKey::read(&args.key)?;
    let restored = backup::restore(&args.from, &key, &args.data_dir, args.force)?;
    println!(
        "restored {} into {}",
        args.from.display(),
        restored.path.display()
    );
    println!("{}", restored.summary);
    println!(
        "audit log intact: {} entries, hash chain verified",
        restored.audit_verified
    );
    match &restored.carried.unrelated {
        None => println!(
            "deletions made after the backup was taken, re-applied when the gateway starts: {}",
            restored.carried.deletions
        ),
        Some(why) => println!(
            "no deletions carried over: {why}; retention deletions are redone by the \
             catch-up sweep at start, erasures made after the backup must be repeated"
        ),
    }
    Ok(())
}

/// `sluice vacuum`.
pub fn vacuum(data_dir: &Path) -> Result<()> {
    let vacuumed = sluice::backup::vacuum(data_dir)?;
    println!(
        "rewrote {}: {} -> {} bytes",
        vacuumed.path.display(),
        vacuumed.before,
        vacuumed.after
    );
    println!("{}", vacuumed.summary);
    Ok(())
}

/// `sluice backup-key`.
pub fn backup_key(out: &Path) -> Result<()> {
    let key = sluice::backup::BackupKey::generate()?;
    key.write_new(out)?;
    println!(
        "backup key: {} (keep it secret, and apart from the backups)",
        out.display()
    );
    println!("key id {}", key.id_hex());
    Ok(())
}
