//! `sluice serve`: the gateway, until a signal stops it; `SIGHUP` or a change of the watched
//! policy directory reloads the bundle.

use anyhow::{Context as _, Result};
use cap_std::AmbientAuthority;
use cap_std::fs::Dir;

use sluice::bundle::{package, signing};
use sluice::config::Serve;
use sluice::gateway::{self, Dirs};

use super::{init_logging, open_bundle};

/// `sluice serve`.
pub async fn run(serve: Box<Serve>, authority: AmbientAuthority) -> Result<()> {
    init_logging(serve.log_format);
    Dir::create_ambient_dir_all(&serve.data_dir, authority)
        .with_context(|| format!("creating data directory {}", serve.data_dir.display()))?;
    let dirs = Dirs {
        data: Dir::open_ambient_dir(&serve.data_dir, authority)
            .with_context(|| format!("opening data directory {}", serve.data_dir.display()))?,
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
            error = %sluice::service::policy::describe(&e),
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
