//! The gateway started in-process (`sluice::gateway::start`) and tokens issued on it.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context as _, Result};
use cap_std::ambient_authority;
use cap_std::fs::Dir;
use sluice::auth::{Role, TokenSpec};
use sluice::gateway::{self, Dirs, Options, Running};

/// The options of a gateway under test: listening on a free loopback port, sweeping hourly
/// (a test or benchmark sweeps when it means to), the rest the gateway's defaults.
pub fn options() -> Options {
    Options {
        listen: "127.0.0.1:0".parse().expect("a socket address"),
        sweep_interval: Duration::from_secs(3600),
        ..Options::new()
    }
}

/// Starts a gateway in-process with `options` on the bundle directory `policy` and the data
/// directory `data` (database and compiled-plugin cache).
pub async fn start_on(policy: &Path, data: &Path, options: Options) -> Result<Running> {
    let dirs = Dirs {
        data: Dir::open_ambient_dir(data, ambient_authority())
            .with_context(|| format!("opening {}", data.display()))?,
        policy: Some(
            Dir::open_ambient_dir(policy, ambient_authority())
                .with_context(|| format!("opening {}", policy.display()))?,
        ),
    };
    gateway::start(options, dirs).await
}

/// Starts a gateway in-process with `options` on the bundle directory `policy` and a
/// temporary data directory, kept while the returned directory lives.
pub async fn start(policy: &Path, options: Options) -> Result<(Running, tempfile::TempDir)> {
    let data = tempfile::tempdir().context("creating a temporary data directory")?;
    let running = start_on(policy, data.path(), options).await?;
    Ok((running, data))
}

/// Issues a token of `role` on `running` (as `POST /v1/admin/tokens` does), for `tenant`
/// (default when `None`) and `vendor`, labelled and issued by `by`, at `now_ms`.
pub fn issue_token(
    running: &Running,
    role: Role,
    tenant: Option<&str>,
    vendor: Option<&str>,
    by: &str,
    now_ms: i64,
) -> Result<String> {
    let spec = TokenSpec {
        role,
        tenant: tenant.map(str::to_string),
        vendor: vendor.map(str::to_string),
        label: Some(by.to_string()),
    };
    Ok(running.state().tokens.issue(spec, now_ms, by)?.token)
}

/// Bearer tokens of a running gateway (tenant `default`), one per role whose routes the
/// benchmarks call.
#[derive(Debug, Clone)]
pub struct Tokens {
    /// `service`: the record routes.
    pub service: String,
    /// `compliance`: the policy routes under `/v1/admin`.
    pub compliance: String,
    /// `admin`: the outbox, tokens, backups and `/metrics`.
    pub admin: String,
}

impl Tokens {
    /// Issues a token of each role on `running` (blocking: durable writes), labelled and
    /// issued by `by`, at the gateway's clock.
    pub fn issue(running: &Running, by: &str) -> Result<Self> {
        let now = running.state().clock.now_ms();
        let issue = |role| issue_token(running, role, None, None, by, now);
        Ok(Self {
            service: issue(Role::Service)?,
            compliance: issue(Role::Compliance)?,
            admin: issue(Role::Admin)?,
        })
    }
}
