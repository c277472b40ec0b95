//! The `sluice` command.

use std::process::ExitCode;

use anyhow::{Context as _, Result};
use cap_std::ambient_authority;
use cap_std::fs::Dir;
use clap::Parser;
use tracing_subscriber::EnvFilter;

use sluice::bundle;
use sluice::config::{Cli, Command, LogFormat, PolicyCommand, Serve};
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
                policy: Dir::open_ambient_dir(&serve.policies, authority).with_context(|| {
                    format!("opening policy bundle {}", serve.policies.display())
                })?,
            };
            serve_until_signal(&serve, dirs).await
        }
        Command::Policy { command } => {
            init_logging(LogFormat::Human);
            policy_command(command, authority)
        }
    }
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
            let policy = bundle::load(&dir, &runtime, None)?;
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
            let policy = bundle::load(&dir, &runtime, None)?;
            let results = bundle::cases::run_all(&dir, &policy, &runtime)?;
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
    let cases = bundle::cases::names(dir)?;
    Ok(bundle::clauses::check(&map, &text, &plugins, &cases))
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
