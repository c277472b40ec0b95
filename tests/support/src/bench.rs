//! What the gateway benchmarks (`host/benches/`) share: their settings (flags or
//! environment variables), the gateway they start, timed requests, the tallies of their
//! writing clients and latency statistics.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use axum::body::Bytes;
use sluice::gateway::{Options, Running};

pub use crate::gateway::Tokens;

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

/// Runs `run` on a multi-thread tokio runtime (what a benchmark's `main` does).
pub fn block_on<T>(run: impl Future<Output = Result<T>>) -> Result<T> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("building the tokio runtime")?
        .block_on(run)
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

/// The first `n` characters of `s`.
pub fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// The first `n` characters of `bytes` read as UTF-8 (lossily).
pub fn truncate_bytes(bytes: &[u8], n: usize) -> String {
    truncate(&String::from_utf8_lossy(bytes), n)
}

/// Starts a gateway in-process on the bundle directory `policy` and a temporary data
/// directory (kept while the returned directory lives), with `options` (from
/// [`crate::gateway::options`]: a free loopback port, an hourly sweep); says where it
/// listens and how long it took to start.
pub async fn start(policy: &Path, options: Options) -> Result<(Running, tempfile::TempDir)> {
    let loading = Instant::now();
    let (running, data) = crate::gateway::start(policy, options).await?;
    eprintln!(
        "gateway listening on {} (started in {:.0} ms)",
        running.addr(),
        ms(loading.elapsed())
    );
    Ok((running, data))
}

/// [`start`] on the ProVu bundle, trusting `trust`'s publisher keys.
pub async fn start_provu(
    trust: sluice::bundle::signing::TrustedKeys,
) -> Result<(Running, tempfile::TempDir)> {
    start(
        crate::bundle::provu_dir(),
        Options {
            trust,
            ..crate::gateway::options()
        },
    )
    .await
}

/// Issues a token of each role on `running` for a benchmark.
pub fn tokens(running: &Running) -> Result<Tokens> {
    Tokens::issue(running, "bench")
}

/// A client without proxies keeping up to `idle` connections per host.
pub fn pooled_client(idle: usize) -> Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(idle)
        .build()?)
}

/// What a request got: its status and body, or the error.
pub type Answer = reqwest::Result<(reqwest::StatusCode, Bytes)>;

/// `POST url` with the bearer token `token` and `body` of `content_type`, timed from the
/// request sent to the whole answer read.
pub async fn timed_post(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (Duration, Answer) {
    let started = Instant::now();
    let sent = client
        .post(url)
        .bearer_auth(token)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await;
    let answer = match sent {
        Ok(r) => {
            let status = r.status();
            r.bytes().await.map(|b| (status, b))
        }
        Err(e) => Err(e),
    };
    (started.elapsed(), answer)
}

/// How the writing clients of a latency phase load the gateway: how many write at once, and
/// for how long.
#[derive(Debug, Clone, Copy)]
pub struct Load {
    /// Concurrent writing clients.
    pub clients: usize,
    /// How long they write.
    pub duration: Duration,
}

impl Load {
    /// `clients` writing for `secs` seconds.
    pub fn new(clients: usize, secs: f64) -> Self {
        Self {
            clients,
            duration: Duration::from_secs_f64(secs),
        }
    }

    /// Spawns the writing tasks `writer(client, url, token, until)`, sharing `client`, that
    /// write records (`base/v1/records`) with the service token `token` from now on.
    pub fn spawn<E, F>(
        &self,
        client: &reqwest::Client,
        base: &str,
        token: &str,
        writer: impl Fn(reqwest::Client, String, String, Instant) -> F,
    ) -> Writers<E>
    where
        F: Future<Output = (Tally, E)> + Send + 'static,
        E: Send + 'static,
    {
        let url = format!("{base}/v1/records");
        let started = Instant::now();
        let until = started + self.duration;
        let tasks = (0..self.clients)
            .map(|_| {
                tokio::spawn(writer(
                    client.clone(),
                    url.clone(),
                    token.to_string(),
                    until,
                ))
            })
            .collect();
        Writers {
            started,
            until,
            tasks,
        }
    }
}

/// Writing tasks started by [`Load::spawn`]; each returns its tally and what else it counted.
pub struct Writers<E> {
    /// When they started.
    pub started: Instant,
    /// Until when they write.
    pub until: Instant,
    tasks: Vec<tokio::task::JoinHandle<(Tally, E)>>,
}

impl<E> Writers<E> {
    /// Waits for every task: their tallies merged (latencies not sorted yet), and what else
    /// each counted (an error if one panicked).
    pub async fn join(self) -> Result<(Tally, Vec<E>)> {
        let mut tally = Tally::default();
        let mut rest = Vec::with_capacity(self.tasks.len());
        for (t, e) in join_all(self.tasks).await? {
            tally.merge(t);
            rest.push(e);
        }
        Ok((tally, rest))
    }
}

/// The results of `tasks`, in order (an error if one panicked).
pub async fn join_all<T>(tasks: Vec<tokio::task::JoinHandle<T>>) -> Result<Vec<T>> {
    let mut out = Vec::with_capacity(tasks.len());
    for t in tasks {
        out.push(t.await.context("a writing task panicked")?);
    }
    Ok(out)
}

/// The tally of single-record writes (`POST /v1/records`): the latency of each, the answers
/// by status, and samples of the errors.
#[derive(Debug)]
pub struct Tally {
    /// Every request's latency (sorted once [`Tally::sort`] ran).
    pub latencies: Vec<Duration>,
    /// Answers by status (`201`, `422`, ..., `failed` when the request failed).
    pub statuses: BTreeMap<String, u64>,
    /// A few error messages.
    pub error_samples: Vec<String>,
    /// How much of an answer's body an error sample shows.
    sample_chars: usize,
}

impl Default for Tally {
    fn default() -> Self {
        Self::showing(300)
    }
}

impl Tally {
    /// An empty tally whose error samples show `sample_chars` characters of a body.
    pub fn showing(sample_chars: usize) -> Self {
        Self {
            latencies: Vec::new(),
            statuses: BTreeMap::new(),
            error_samples: Vec::new(),
            sample_chars,
        }
    }

    /// Counts one write that took `latency` and got `answer`: a 201 whose body `created`
    /// accepts is a `201`; one it refuses counts as `refused` (with the reason and the body
    /// as a sample), any other answer by its status.
    pub fn count(
        &mut self,
        latency: Duration,
        answer: Answer,
        refused: &str,
        created: impl FnOnce(&[u8]) -> Result<(), String>,
    ) {
        self.latencies.push(latency);
        let body = |bytes: &[u8]| truncate_bytes(bytes, self.sample_chars);
        let (status, sample) = match answer {
            Ok((status, bytes)) if status.as_u16() == 201 => match created(&bytes) {
                Ok(()) => ("201".to_string(), None),
                Err(e) => (refused.to_string(), Some(format!("{e}: {}", body(&bytes)))),
            },
            Ok((status, bytes)) => (
                status.as_u16().to_string(),
                Some(format!("HTTP {status}: {}", body(&bytes))),
            ),
            Err(e) => ("failed".to_string(), Some(format!("request failed: {e}"))),
        };
        *self.statuses.entry(status).or_default() += 1;
        if let Some(s) = sample
            && self.error_samples.len() < 3
        {
            self.error_samples.push(s);
        }
    }

    /// Adds `other` (a writing task's tally) to this one (a phase's), keeping up to five
    /// distinct error samples.
    pub fn merge(&mut self, other: Tally) {
        self.latencies.extend(other.latencies);
        for (k, n) in other.statuses {
            *self.statuses.entry(k).or_default() += n;
        }
        for s in other.error_samples {
            if self.error_samples.len() < 5 && !self.error_samples.contains(&s) {
                self.error_samples.push(s);
            }
        }
    }

    /// Sorts the latencies (before [`Tally::p`] and [`Tally::max`]).
    pub fn sort(&mut self) {
        self.latencies.sort_unstable();
    }

    /// The requests sent.
    pub fn requests(&self) -> u64 {
        self.latencies.len() as u64
    }

    /// The requests not answered 201.
    pub fn failures(&self) -> u64 {
        self.statuses
            .iter()
            .filter(|(s, _)| s.as_str() != "201")
            .map(|(_, n)| n)
            .sum()
    }

    /// The writes answered 201.
    pub fn created(&self) -> u64 {
        self.statuses.get("201").copied().unwrap_or(0)
    }

    /// The `q` quantile of the (sorted) latencies.
    pub fn p(&self, q: f64) -> Duration {
        percentile(&self.latencies, q)
    }

    /// The largest (sorted) latency.
    pub fn max(&self) -> Duration {
        self.latencies.last().copied().unwrap_or_default()
    }

    /// The headings of [`Tally::columns`].
    pub fn headings() -> String {
        format!(
            "{:>8} {:>10} {:>9} {:>9} {:>9} {:>8}",
            "requests", "requests/s", "p50 ms", "p99 ms", "max ms", "non-201"
        )
    }

    /// The requests, requests per second over `elapsed`, p50, p99 and max latency and the
    /// requests not answered 201, in the columns of a phase's table row.
    pub fn columns(&self, elapsed: Duration) -> String {
        format!(
            "{:>8} {:>10.0} {:>9.2} {:>9.2} {:>9.2} {:>8}",
            self.requests(),
            self.requests() as f64 / elapsed.as_secs_f64(),
            ms(self.p(0.50)),
            ms(self.p(0.99)),
            ms(self.max()),
            self.failures()
        )
    }

    /// Prints, for the phase `name`, the requests not answered 201 and the error samples
    /// (nothing when there were none).
    pub fn print_failures(&self, name: &str) {
        if self.failures() == 0 {
            return;
        }
        println!(
            "!!! {name}: {} of {} requests were NOT answered 201: {:?}",
            self.failures(),
            self.requests(),
            self.statuses
        );
        for s in &self.error_samples {
            println!("!!!   {s}");
        }
    }
}

/// Median, p95 and max of a set of durations.
#[derive(Debug, Default)]
pub struct Summary {
    /// How many.
    pub n: usize,
    /// The median.
    pub p50: Duration,
    /// The 95th percentile.
    pub p95: Duration,
    /// The largest.
    pub max: Duration,
}

impl Summary {
    /// The summary of `samples`.
    pub fn of(mut samples: Vec<Duration>) -> Self {
        samples.sort_unstable();
        Self {
            n: samples.len(),
            p50: percentile(&samples, 0.50),
            p95: percentile(&samples, 0.95),
            max: samples.last().copied().unwrap_or_default(),
        }
    }
}
