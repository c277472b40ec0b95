//! What `sluice backup`, `sluice restore` and `sluice vacuum` do with files: backup files
//! written atomically ([`AtomicFile`]) and checked ([`verify_file`]), a stopped gateway's
//! data directory backed up ([`backup_data_dir`]) or a running one's ([`backup_url`]), and a
//! data directory restored ([`restore`]) or rewritten ([`vacuum`]).

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Write as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail, ensure};

use super::envelope::{BackupKey, Decryptor, Encryptor};
use crate::store::snapshot::{
    Carried, Summary, carry_deletions, copy_database, dump, ensure_not_in_use, open_stopped,
    restore_database, verify_snapshot,
};
use crate::store::tables;

/// A file written beside its destination (`NAME.tmp`, readable by its owner only) and
/// moved into place by [`Self::commit`]; removed if dropped before.
#[derive(Debug)]
pub struct AtomicFile {
    dest: PathBuf,
    tmp: PathBuf,
    file: Option<File>,
    force: bool,
    committed: bool,
}

impl AtomicFile {
    /// Starts writing `dest`; refuses if it exists, unless `force`.
    pub fn create(dest: &Path, force: bool) -> Result<Self> {
        if !force && fs::symlink_metadata(dest).is_ok() {
            bail!(
                "{} exists: refusing to overwrite it (--force replaces it)",
                dest.display()
            );
        }
        let mut name = dest
            .file_name()
            .with_context(|| format!("{} names no file", dest.display()))?
            .to_os_string();
        name.push(".tmp");
        let tmp = dest.with_file_name(name);
        let _ = fs::remove_file(&tmp);
        let mut options = fs::OpenOptions::new();
        options.write(true).read(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options
            .open(&tmp)
            .with_context(|| format!("creating {}", tmp.display()))?;
        Ok(Self {
            dest: dest.to_path_buf(),
            tmp,
            file: Some(file),
            force,
            committed: false,
        })
    }

    /// The file being written.
    pub fn file(&mut self) -> &mut File {
        self.file
            .as_mut()
            .expect("an uncommitted AtomicFile has its file")
    }

    /// Where it is written until committed.
    pub fn tmp_path(&self) -> &Path {
        &self.tmp
    }

    /// Makes it durable and moves it to its destination.
    pub fn commit(mut self) -> Result<()> {
        if let Some(file) = self.file.take() {
            file.sync_all()
                .with_context(|| format!("writing {}", self.tmp.display()))?;
        }
        if self.force {
            fs::rename(&self.tmp, &self.dest)
        } else {
            // Never replaces a file that appeared meanwhile.
            fs::hard_link(&self.tmp, &self.dest).and_then(|()| fs::remove_file(&self.tmp))
        }
        .with_context(|| format!("moving {} to {}", self.tmp.display(), self.dest.display()))?;
        self.committed = true;
        sync_parent(&self.dest);
        Ok(())
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.committed {
            self.file = None;
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Best effort: makes a rename in `path`'s directory durable.
fn sync_parent(path: &Path) {
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        let dir = if dir.as_os_str().is_empty() {
            Path::new(".")
        } else {
            dir
        };
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// Reads the whole backup file `path`, checking every chunk and the snapshot inside; what
/// it holds.
pub fn verify_file(path: &Path, key: &BackupKey) -> Result<Summary> {
    verify_snapshot(open_backup(path, key)?).with_context(|| format!("backup {}", path.display()))
}

/// Opens the backup file `path` and checks its header.
fn open_backup(path: &Path, key: &BackupKey) -> Result<Decryptor<BufReader<File>>> {
    let file = File::open(path).with_context(|| format!("opening backup {}", path.display()))?;
    Decryptor::new(key, BufReader::new(file)).with_context(|| format!("backup {}", path.display()))
}

/// What [`backup_data_dir`] and [`backup_url`] wrote.
#[derive(Debug, Clone)]
pub struct Written {
    /// What the backup holds.
    pub summary: Summary,
    /// Its size.
    pub bytes: u64,
}

/// Backs up the database in `data_dir` (of a stopped gateway) to `out`.
pub fn backup_data_dir(
    data_dir: &Path,
    key: &BackupKey,
    out: &Path,
    force: bool,
) -> Result<Written> {
    let path = data_dir.join(tables::FILE);
    ensure!(
        path.is_file(),
        "{} holds no database ({} does not exist)",
        data_dir.display(),
        path.display()
    );
    let db = open_stopped(&path)?;
    let mut file = AtomicFile::create(out, force)?;
    {
        let mut enc = Encryptor::new(key, BufWriter::new(file.file()))?;
        dump(&db, &mut enc)?;
        enc.finish()?;
    }
    drop(db);
    finish(file, key)
}

/// Checks the backup just written and moves it into place.
fn finish(file: AtomicFile, key: &BackupKey) -> Result<Written> {
    let summary = verify_file(file.tmp_path(), key).context("checking the backup just written")?;
    let bytes = fs::metadata(file.tmp_path())?.len();
    file.commit()?;
    Ok(Written { summary, bytes })
}

/// Backs up a running gateway at `url` to `out`: the gateway takes the snapshot
/// (`GET /v1/admin/backup`, with `token` as bearer token) and it is encrypted here.
pub async fn backup_url(
    url: &str,
    token: Option<&str>,
    key: &BackupKey,
    out: &Path,
    force: bool,
) -> Result<Written> {
    let base = url.trim_end_matches('/');
    let mut file = AtomicFile::create(out, force)?;
    let mut request = reqwest::Client::new().get(format!("{base}/v1/admin/backup"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let mut response = request.send().await.context("reaching the gateway")?;
    let status = response.status();
    if !status.is_success() {
        let text = response.text().await.unwrap_or_default();
        let error = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_string))
            .unwrap_or(text);
        let hint = match status.as_u16() {
            401 => " (give an admin token: --token or SLUICE_TOKEN)",
            403 => " (backups need a token with the admin role)",
            _ => "",
        };
        bail!("the gateway refused the backup: {status}: {error}{hint}");
    }
    {
        let mut enc = Encryptor::new(key, BufWriter::new(file.file()))?;
        while let Some(bytes) = response
            .chunk()
            .await
            .context("receiving the snapshot from the gateway")?
        {
            enc.write_all(&bytes)?;
        }
        enc.finish()?;
    }
    finish(file, key)
}

/// What [`restore`] did.
#[derive(Debug, Clone)]
pub struct Restored {
    /// What the backup held.
    pub summary: Summary,
    /// The restored database.
    pub path: PathBuf,
    /// Audit entries whose hash chain was verified in the restored database.
    pub audit_verified: u64,
    /// The deletions carried over from the database it replaced.
    pub carried: Carried,
}

/// The name of the database being restored, beside the live one.
pub const RESTORING: &str = "sluice.redb.restoring";

/// Restores the backup `from` into `data_dir` (created if missing): checks the whole backup
/// first, then writes a new database beside the live one, checks its audit hash chain, and
/// renames it into place. Refuses to replace an existing database unless `force`, and a
/// database in use by a gateway in any case.
pub fn restore(from: &Path, key: &BackupKey, data_dir: &Path, force: bool) -> Result<Restored> {
    let target = data_dir.join(tables::FILE);
    if !force && fs::symlink_metadata(&target).is_ok() {
        bail!(
            "{} exists: refusing to replace it (stop the gateway, and give --force to replace \
             its database with the backup)",
            target.display()
        );
    }
    // Before anything in the data directory is touched.
    let summary = verify_file(from, key)?;

    fs::create_dir_all(data_dir)
        .with_context(|| format!("creating data directory {}", data_dir.display()))?;
    if fs::symlink_metadata(&target).is_ok() {
        ensure_not_in_use(&target)?;
    }
    let staging = data_dir.join(RESTORING);
    remove_stale(&staging)?;
    let written = write_restored(from, key, &staging, &summary);
    let audit_verified = match written {
        Ok(n) => n,
        Err(e) => {
            let _ = fs::remove_file(&staging);
            return Err(e);
        }
    };
    let carried = if fs::symlink_metadata(&target).is_ok() {
        carry_deletions(&target, &staging)
    } else {
        Ok(Carried::default())
    };
    let carried = match carried {
        Ok(c) => c,
        Err(e) => {
            let _ = fs::remove_file(&staging);
            return Err(e);
        }
    };
    if let Err(e) = fs::rename(&staging, &target) {
        let _ = fs::remove_file(&staging);
        return Err(e)
            .with_context(|| format!("moving the restored database to {}", target.display()));
    }
    sync_parent(&target);
    Ok(Restored {
        summary,
        path: target,
        audit_verified,
        carried,
    })
}

/// Writes the database of backup `from` at `path`; the audit entries verified.
fn write_restored(from: &Path, key: &BackupKey, path: &Path, expected: &Summary) -> Result<u64> {
    restore_database(path, from, || open_backup(from, key), expected)
}

/// The name of the database being rewritten by [`vacuum`], beside the live one.
pub const VACUUMING: &str = "sluice.redb.vacuuming";

/// What [`vacuum`] did.
#[derive(Debug, Clone)]
pub struct Vacuumed {
    /// The database rewritten.
    pub path: PathBuf,
    /// What it holds.
    pub summary: Summary,
    /// Its size before, in bytes.
    pub before: u64,
    /// Its size after, in bytes.
    pub after: u64,
}

/// Rewrites the database of the stopped gateway in `data_dir` into a fresh file (the same
/// logical snapshot a backup takes, streamed through a pipe, never to disk in the clear),
/// checks the copy's audit hash chain and renames it into place. the database leaves the bytes of
/// freed pages in its file until they are reused; the fresh file holds only live data.
pub fn vacuum(data_dir: &Path) -> Result<Vacuumed> {
    let target = data_dir.join(tables::FILE);
    let before = fs::metadata(&target)
        .with_context(|| format!("{} has no database", data_dir.display()))?
        .len();
    ensure_not_in_use(&target)?;
    let staging = data_dir.join(VACUUMING);
    remove_stale(&staging)?;
    let copied = copy_database(&target, &staging);
    if let Err(e) = copied {
        let _ = fs::remove_file(&staging);
        return Err(e);
    }
    let summary = copied?;
    fs::rename(&staging, &target)
        .with_context(|| format!("moving the rewritten database to {}", target.display()))?;
    sync_parent(&target);
    Ok(Vacuumed {
        after: fs::metadata(&target)?.len(),
        path: target,
        summary,
        before,
    })
}

/// Removes what an earlier run left at `path`, if anything.
fn remove_stale(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("removing {}", path.display())),
    }
}
