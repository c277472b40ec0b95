//! What the gateway benchmarks share: their settings (flags or environment variables),
//! latency statistics, the gateway and its bearer tokens.

use std::time::Duration;

/// The benchmark's command line and environment.
pub struct Args {
    args: Vec<String>,
    /// `cargo bench` passes `--bench`; without it (`cargo test --benches`) a bench runs a
    /// short smoke version.
    pub bench_mode: bool,
}

impl Args {
    /// Reads the command line.
    pub fn read() -> Self {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let bench_mode = args.iter().any(|a| a == "--bench");
        Self { args, bench_mode }
    }

    fn get(&self, flag: &str, env: &str) -> Option<String> {
        let prefixed = format!("{flag}=");
        let mut it = self.args.iter();
        while let Some(a) = it.next() {
            if a == flag {
                return it.next().cloned();
            }
            if let Some(v) = a.strip_prefix(&prefixed) {
                return Some(v.to_string());
            }
        }
        std::env::var(env).ok()
    }

    /// A positive number given as `--flag N`, `--flag=N` or the environment variable `env`.
    pub fn num(&self, flag: &str, env: &str, default: f64) -> f64 {
        self.get(flag, env)
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|v| v.is_finite() && *v > 0.0)
            .unwrap_or(default)
    }
}

/// The `p` quantile (0..=1) of `sorted`.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

/// Milliseconds.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The ProVu bundle of the repository.
pub const PROVU: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../policies/provu");

/// Starts a gateway in-process with the ProVu bundle on a temporary data directory (kept
/// while the returned directory lives), trusting `trust`'s publisher keys.
pub async fn start_provu(
    trust: sluice::bundle::signing::TrustedKeys,
) -> anyhow::Result<(sluice::gateway::Running, tempfile::TempDir)> {
    start(
        std::path::Path::new(PROVU),
        sluice::gateway::Options {
            trust,
            ..sluice::gateway::Options::new()
        },
    )
    .await
}

/// Starts a gateway in-process on the bundle directory `policy` and a temporary data
/// directory (kept while the returned directory lives), with `options` listening on a free
/// loopback port and sweeping hourly.
pub async fn start(
    policy: &std::path::Path,
    options: sluice::gateway::Options,
) -> anyhow::Result<(sluice::gateway::Running, tempfile::TempDir)> {
    use anyhow::Context as _;
    use cap_std::fs::Dir;
    use sluice::gateway::{self, Dirs, Options};
    let data_tmp = tempfile::tempdir().context("creating a temporary data directory")?;
    let data = Dir::open_ambient_dir(data_tmp.path(), cap_std::ambient_authority())?;
    let policy = Dir::open_ambient_dir(policy, cap_std::ambient_authority())
        .with_context(|| format!("opening {}", policy.display()))?;
    let loading = std::time::Instant::now();
    let running = gateway::start(
        Options {
            listen: "127.0.0.1:0".parse()?,
            sweep_interval: Duration::from_secs(3600),
            ..options
        },
        Dirs {
            data,
            policy: Some(policy),
        },
    )
    .await?;
    eprintln!(
        "gateway listening on {} (started in {:.0} ms)",
        running.addr(),
        ms(loading.elapsed())
    );
    Ok((running, data_tmp))
}

/// Bearer tokens of a running gateway, one per role the benchmarks call routes of.
#[allow(dead_code, reason = "not every bench calls the routes of every role")]
pub struct Tokens {
    /// `service` (tenant `default`): the record routes.
    pub service: String,
    /// `compliance`: the policy routes under `/v1/admin`.
    pub compliance: String,
    /// `admin`: the outbox, tokens, backups and `/metrics`.
    pub admin: String,
}

/// Issues a token of each role in `running` (blocking: durable writes).
pub fn tokens(running: &sluice::gateway::Running) -> anyhow::Result<Tokens> {
    use sluice::auth::{Role, TokenSpec};
    let state = running.state();
    let issue = |role| -> anyhow::Result<String> {
        let spec = TokenSpec {
            role,
            tenant: None,
            vendor: None,
            label: Some("bench".into()),
        };
        let now = state.clock.now_ms();
        Ok(state.tokens.issue(spec, now, "bench")?.token)
    };
    Ok(Tokens {
        service: issue(Role::Service)?,
        compliance: issue(Role::Compliance)?,
        admin: issue(Role::Admin)?,
    })
}
