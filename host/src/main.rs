//! The `sluice` command.

use std::process::ExitCode;

use anyhow::{Context as _, Result};
use cap_std::ambient_authority;
use cap_std::fs::Dir;
use clap::Parser;
use tracing_subscriber::EnvFilter;

use sluice::config::{Cli, Command, LogFormat, Serve};
use sluice::gateway::{self, Dirs};

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
                policy: Dir::open_ambient_dir(&serve.policies, authority).with_context(|| {
                    format!("opening policy bundle {}", serve.policies.display())
                })?,
            };
            serve_until_signal(&serve, dirs).await
        }
        Command::Check { policies } => {
            init_logging(LogFormat::Human);
            let dir = Dir::open_ambient_dir(&policies, authority)
                .with_context(|| format!("opening policy bundle {}", policies.display()))?;
            let runtime = sluice::runtime::Runtime::new(sluice::runtime::Limits::default())?;
            let policy = sluice::bundle::load(&dir, &runtime, None)?;
            println!(
                "{}: ok ({} kinds, {} plugins)",
                policy.id,
                policy.kinds.len(),
                policy.plugins.len()
            );
            Ok(())
        }
    }
}

async fn serve_until_signal(serve: &Serve, dirs: Dirs) -> Result<()> {
    let running = gateway::start(serve.options(), dirs).await?;
    shutdown_signal().await;
    tracing::info!("shutting down: finishing requests in flight");
    running.shutdown().await
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
