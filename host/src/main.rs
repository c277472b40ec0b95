//! The `sluice` command; each subcommand is a module of [`cli`].

mod cli;

use std::process::ExitCode;

use anyhow::{Context as _, Result};
use cap_std::ambient_authority;
use clap::Parser;

use sluice::config::{AuditCommand, Cli, Command};

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
        Command::Serve(serve) => cli::serve::run(serve, authority).await,
        Command::Openapi => {
            print!("{}", sluice::api::openapi_json());
            Ok(())
        }
        Command::Keygen { out } => cli::keygen::keygen(&out),
        Command::Token { command } => cli::token::token(command),
        Command::Backup(args) => cli::backup::backup(args).await,
        Command::Restore(args) => cli::backup::restore(&args),
        Command::Vacuum { data_dir } => cli::backup::vacuum(&data_dir),
        Command::BackupKey { out } => cli::backup::backup_key(&out),
        Command::Audit {
            command: AuditCommand::Verify { data_dir },
        } => cli::audit::verify(&data_dir, authority),
        Command::Bundle { command } => cli::bundle::run(command, authority).await,
        Command::Policy { command } => cli::policy::run(command, authority),
    }
}
