//! The `sluice` command.

use std::process::ExitCode;

use anyhow::{Context as _, Result};
use cap_std::ambient_authority;
use cap_std::fs::Dir;
use clap::Parser;
use tracing_subscriber::EnvFilter;

use sluice::bundle::{self, package, signing};
use sluice::clock::Clock as _;
use sluice::config::{
    AuditCommand, BundleCommand, Cli, Command, LogFormat, PolicyCommand, Serve, TokenCommand,
};
use sluice::gateway::{self, Dirs};
use sluice::runtime::{Limits, Runtime};

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
        .and_then(|rt| rt.block_on(run(cli)));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sluice: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<()> {
    // The only place the gateway uses ambient authority: it opens the directories it is
    // given, and everything after this works through those handles.
    let authority = ambient_authority();
    match cli.command {
        Command::Serve(serve) => {
            init_logging(serve.log_format);
            Dir::create_ambient_dir_all(&serve.data_dir, authority)
                .with_context(|| format!("creating data directory {}", serve.data_dir.display()))?;
            let dirs = Dirs {
                data: Dir::open_ambient_dir(&serve.data_dir, authority).with_context(|| {
                    format!("opening data directory {}", serve.data_dir.display())
                })?,
                policy: Some(open_bundle(&serve.policies, authority)?),
            };
            let watch = if serve.watch {
                Some(open_bundle(&serve.policies, authority)?)
            } else {
                None
            };
            let mut options = serve.options();
            options.trust = trusted_keys(&serve)?;
            options.delivery.secrets = vendor_secrets(&serve)?;
            serve_until_signal(options, dirs, watch).await
        }
        Command::Openapi => {
            print!("{}", sluice::api::openapi_json());
            Ok(())
        }
        Command::Keygen { out } => keygen(&out),
        Command::Token { command } => token(command),
        Command::Backup(args) => backup(args).await,
        Command::Restore(args) => restore(&args),
        Command::Vacuum { data_dir } => {
            let vacuumed = sluice::backup::vacuum(&data_dir)?;
            println!(
                "rewrote {}: {} -> {} bytes",
                vacuumed.path.display(),
                vacuumed.before,
                vacuumed.after
            );
            println!("{}", vacuumed.summary);
            Ok(())
        }
        Command::BackupKey { out } => {
            let key = sluice::backup::BackupKey::generate()?;
            key.write_new(&out)?;
            println!(
                "backup key: {} (keep it secret, and apart from the backups)",
                out.display()
            );
            println!("key id {}", key.id_hex());
            Ok(())
        }
        Command::Audit {
            command: AuditCommand::Verify { data_dir },
        } => {
            let data = Dir::open_ambient_dir(&data_dir, authority)
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
        Command::Bundle { command } => {
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
        Command::Policy { command } => {
            init_logging(LogFormat::Human);
            policy_command(command, authority)
        }
    }
}

fn keygen(out: &std::path::Path) -> Result<()> {
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

fn read_secret_key(path: &std::path::Path) -> Result<ed25519_dalek::SigningKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading secret key {}", path.display()))?;
    signing::parse_secret_key(&text).with_context(|| format!("secret key {}", path.display()))
}

fn trusted_keys(serve: &Serve) -> Result<signing::TrustedKeys> {
    let mut keys = Vec::new();
    for path in &serve.trusted_keys {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading trusted key {}", path.display()))?;
        keys.push(
            signing::parse_public_key(&text)
                .with_context(|| format!("trusted key {}", path.display()))?,
        );
    }
    let trust = signing::TrustedKeys::new(keys, serve.allow_unsigned_bundles);
    if serve.allow_unsigned_bundles {
        tracing::warn!(
            "--allow-unsigned-bundles: the admin API accepts unsigned bundles (development only)"
        );
    }
    tracing::info!(keys = ?trust.ids(), "trusted publisher keys");
    Ok(trust)
}

/// Vendors' secrets: the `--vendor-secrets` file, then `SLUICE_VENDOR_SECRET_<ID>`.
fn vendor_secrets(serve: &Serve) -> Result<sluice::outbox::worker::VendorSecrets> {
    let mut secrets = std::collections::BTreeMap::new();
    if let Some(path) = &serve.vendor_secrets {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading vendor secrets {}", path.display()))?;
        secrets = toml::from_str::<std::collections::BTreeMap<String, String>>(&text)
            .with_context(|| {
                format!(
                    "vendor secrets {}: expected lines `vendor-id = \"secret\"`",
                    path.display()
                )
            })?;
    }
    for (name, value) in std::env::vars() {
        if let Some(id) = name.strip_prefix("SLUICE_VENDOR_SECRET_") {
            secrets.insert(id.to_lowercase().replace('_', "-"), value);
        }
    }
    let secrets = sluice::outbox::worker::VendorSecrets::new(secrets);
    tracing::info!(vendors = ?secrets, "vendor secrets loaded");
    Ok(secrets)
}

fn open_bundle(dir: &std::path::Path, authority: cap_std::AmbientAuthority) -> Result<Dir> {
    Dir::open_ambient_dir(dir, authority)
        .with_context(|| format!("opening policy bundle {}", dir.display()))
}

fn policy_command(command: PolicyCommand, authority: cap_std::AmbientAuthority) -> Result<()> {
    let runtime = Runtime::new(Limits::default())?;
    match command {
        PolicyCommand::Check { dir } => {
            let dir = open_bundle(&dir, authority)?;
            let policy = bundle::load_dir(&dir, &runtime, None)?;
            let problems = clause_problems(&dir, &policy)?;
            if !problems.is_empty() {
                anyhow::bail!(
                    "clause map ({} problems):\n  - {}",
                    problems.len(),
                    problems.join("\n  - ")
                );
            }
            println!(
                "{}: ok ({} kinds, {} plugins)",
                policy.id,
                policy.kinds.len(),
                policy.plugins.len()
            );
            Ok(())
        }
        PolicyCommand::Test { dir } => {
            let dir = open_bundle(&dir, authority)?;
            let policy = bundle::load_dir(&dir, &runtime, None)?;
            let results = sluice::cases::run_all(&policy, &runtime);
            let failed = results.iter().filter(|r| !r.passed()).count();
            for r in &results {
                if r.passed() {
                    println!("ok      {}", r.name);
                } else {
                    println!("FAILED  {}", r.name);
                    for f in &r.failures {
                        println!("        {f}");
                    }
                }
            }
            println!("{} passed, {} failed", results.len() - failed, failed);
            if failed > 0 {
                anyhow::bail!("{failed} policy test case(s) of {} failed", policy.id);
            }
            Ok(())
        }
        PolicyCommand::Clauses { dir } => {
            let dir = open_bundle(&dir, authority)?;
            let map = bundle::clauses::load(&dir)?;
            let text = dir.read_to_string(bundle::clauses::POLICY_TEXT)?;
            for (number, title, enforcement) in bundle::clauses::table(&map, &text) {
                println!("{number:<7} {title:<48} {enforcement}");
            }
            Ok(())
        }
    }
}

/// Problems of the bundle's clause map against its policy text, plugins and cases.
fn clause_problems(dir: &Dir, policy: &sluice::bundle::Policy) -> Result<Vec<String>> {
    if !dir.exists(bundle::clauses::FILE) {
        return Ok(Vec::new());
    }
    let map = bundle::clauses::load(dir)?;
    let text = dir.read_to_string(bundle::clauses::POLICY_TEXT)?;
    let plugins: Vec<String> = policy.plugins.keys().cloned().collect();
    let cases = sluice::cases::names(dir)?;
    Ok(bundle::clauses::check(&map, &text, &plugins, &cases))
}

async fn serve_until_signal(
    options: gateway::Options,
    dirs: Dirs,
    watch: Option<Dir>,
) -> Result<()> {
    let running = gateway::start(options, dirs).await?;
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    let mut hangup = hangup_signal()?;
    let mut watched = match &watch {
        Some(dir) => Some(dir_digest(dir).await),
        None => None,
    };
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            Some(()) = hangup.recv() => reload(&running, "local:sighup").await,
            _ = tick.tick(), if watch.is_some() => {
                let Some(dir) = &watch else { continue };
                let now = dir_digest(dir).await;
                if watched.as_ref() != Some(&now) {
                    watched = Some(now);
                    reload(&running, "local:watch").await;
                }
            }
        }
    }
    tracing::info!("shutting down: finishing requests in flight");
    running.shutdown().await
}

/// The content digest of a bundle directory (or its error), to notice changes.
async fn dir_digest(dir: &Dir) -> std::result::Result<String, String> {
    let dir = match dir.try_clone() {
        Ok(d) => d,
        Err(e) => return Err(e.to_string()),
    };
    tokio::task::spawn_blocking(move || {
        package::from_dir(&dir)
            .map(|(p, _)| p.digest())
            .map_err(|e| e.to_string())
    })
    .await
    .unwrap_or_else(|e| Err(e.to_string()))
}

async fn reload(running: &gateway::Running, actor: &str) {
    match running.reload(actor).await {
        Ok(r) if r.changed => {
            tracing::info!(bundle = %r.active, previous = %r.previous, took_ms = r.took_ms, "policy directory reloaded")
        }
        Ok(r) => tracing::info!(bundle = %r.active, "policy directory unchanged"),
        Err(e) => tracing::error!(
            error = %sluice::control::describe(&e),
            "policy directory refused; the active bundle keeps serving"
        ),
    }
}

/// A stream of `SIGHUP`s (none on other platforms).
fn hangup_signal() -> Result<tokio::sync::mpsc::Receiver<()>> {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    #[cfg(unix)]
    {
        let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            .context("listening for SIGHUP")?;
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                let _ = tx.try_send(());
            }
        });
    }
    #[cfg(not(unix))]
    drop(tx);
    Ok(rx)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

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
fn token(command: TokenCommand) -> Result<()> {
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

/// `sluice backup`: from a running gateway (`--url`) or a stopped one's data directory.
async fn backup(args: sluice::config::BackupArgs) -> Result<()> {
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
fn restore(args: &sluice::config::RestoreArgs) -> Result<()> {
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
