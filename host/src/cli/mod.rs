//! The subcommands of the `sluice` command, one module each, and what several of them use.

pub mod audit;
pub mod backup;
pub mod bundle;
pub mod keygen;
pub mod policy;
pub mod serve;
pub mod token;

use anyhow::{Context as _, Result};
use cap_std::fs::Dir;
use tracing_subscriber::EnvFilter;

use sluice::config::LogFormat;

pub fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

pub fn open_bundle(dir: &std::path::Path, authority: cap_std::AmbientAuthority) -> Result<Dir> {
    Dir::open_ambient_dir(dir, authority)
        .with_context(|| format!("opening policy bundle {}", dir.display()))
}
