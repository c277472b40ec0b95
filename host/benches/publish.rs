//! Policy publishing on a running gateway, over real HTTP.
//!
//! Starts the real gateway in-process (ProVu bundle, a temporary redb, port 0, a freshly
//! generated publisher key as the only trusted one) on a multi-thread tokio runtime and
//! drives it with reqwest clients:
//!
//! 1. `publish`: copies `policies/provu` into temporary directories under new versions
//!    (`2026.12.N`), packages and signs each, and publishes it with
//!    `POST /v1/admin/bundles?activate=true`; then writes one record after another until one
//!    is answered with the new bundle's id. Reports the publish request alone (upload + gate +
//!    activate) and publish → first request on the new bundle. Then re-activates two of the
//!    uploaded versions back and forth with `POST /v1/admin/bundles/{id}/activate`.
//! 2. `steady` / `swapping`: concurrent clients write `provisioning-request` records
//!    (`POST /v1/records`, one record per request) for `SLUICE_BENCH_SECS` seconds each, first
//!    without any activation, then while another task re-activates two versions back and
//!    forth every `SLUICE_BENCH_SWAP_MS` milliseconds. Reports throughput and latency of each
//!    phase and the number of responses other than 201 (which must be none).
//!
//! The clients run in the same process and on the same cores as the gateway. Without
//! `--bench` (e.g. `cargo test --benches`) it runs a short smoke version.
//!
//! Run with `cargo bench -p sluice --bench publish`. Knobs (arguments or environment):
//! `--secs N` / `SLUICE_BENCH_SECS` (5), `--versions N` / `SLUICE_BENCH_VERSIONS` (10),
//! `--reactivations N` / `SLUICE_BENCH_REACTIVATIONS` (20), `--clients N` /
//! `SLUICE_BENCH_CLIENTS` (16), `--swap-ms N` / `SLUICE_BENCH_SWAP_MS` (100). Unknown
//! arguments are ignored; the process exits non-zero if any request fails.

use sluice_test_support::bench::{self, Summary, Tally, ms, timed_post};
use sluice_test_support::bundle::copy_provu_to;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use cap_std::fs::Dir;
use ed25519_dalek::SigningKey;
use serde::Deserialize;
use serde_json::{Value, json};
use sluice::bundle::package::{self, Package};
use sluice::bundle::signing::{self, TrustedKeys};
use sluice::gateway::Running;

/// How much of an answer an error shows.
const SHOWN: usize = 500;

#[derive(Debug, Clone)]
struct Settings {
    secs: f64,
    versions: usize,
    reactivations: usize,
    clients: usize,
    swap: Duration,
}

impl Settings {
    /// The settings the command line and the environment give.
    fn from_args(args: &bench::Args) -> Self {
        let (secs, versions, reactivations) = if args.bench_mode {
            (5.0, 10.0, 20.0)
        } else {
            (1.0, 2.0, 4.0)
        };
        Self {
            secs: args.num("--secs", "SLUICE_BENCH_SECS", secs),
            // Two at least: re-activation alternates between two uploaded versions.
            versions: (args.num("--versions", "SLUICE_BENCH_VERSIONS", versions) as usize).max(2),
            reactivations: args.num(
                "--reactivations",
                "SLUICE_BENCH_REACTIVATIONS",
                reactivations,
            ) as usize,
            clients: (args.num("--clients", "SLUICE_BENCH_CLIENTS", 16.0) as usize).max(1),
            swap: Duration::from_secs_f64(
                args.num("--swap-ms", "SLUICE_BENCH_SWAP_MS", 100.0) / 1e3,
            ),
        }
    }

    fn load(&self) -> bench::Load {
        bench::Load::new(self.clients, self.secs)
    }
}

/// The record every write sends: accepted by the ProVu bundle with 201.
fn record() -> Value {
    json!({
        "kind": "provisioning-request",
        "subject": "203.0.113.9",
        "fields": {
            "ip": "203.0.113.9",
            "requested_at": "2026-11-25T11:00:00Z",
            "path": "/devices/001565aabbcc.cfg",
            "status": 404,
        }
    })
}

fn truncate(s: &str) -> String {
    bench::truncate(s, SHOWN)
}

/// Sends `request` and returns the status and the body as JSON; anything but `expected`
/// fails with the body (an API error is `{"error": ..., "details": [...]}`).
async fn call(request: reqwest::RequestBuilder, expected: &[u16], what: &str) -> Result<Value> {
    let response = request
        .send()
        .await
        .with_context(|| format!("{what}: request failed"))?;
    let status = response.status();
    let bytes = response
        .bytes()
        .await
        .with_context(|| format!("{what}: reading the response"))?;
    if !expected.contains(&status.as_u16()) {
        let text = String::from_utf8_lossy(&bytes);
        let shown = serde_json::from_slice::<Value>(&bytes)
            .ok()
            .and_then(|v| serde_json::to_string_pretty(&v).ok())
            .unwrap_or_else(|| truncate(&text));
        bail!("{what}: answered {status}:\n{shown}");
    }
    serde_json::from_slice(&bytes).with_context(|| {
        format!(
            "{what}: the {status} response is not JSON: {}",
            truncate(&String::from_utf8_lossy(&bytes))
        )
    })
}

/// The ProVu bundle under version `version`, packaged and signed with `key`.
fn variant(root: &Path, version: &str, key: &SigningKey) -> Result<Package> {
    let dir = root.join(version);
    copy_provu_to(&dir, version)?;
    let dir = Dir::open_ambient_dir(&dir, cap_std::ambient_authority())?;
    let (mut package, _components) = package::from_dir(&dir)
        .map_err(|e| anyhow::anyhow!("packaging {version}: {}", e.problems.join("; ")))?;
    package.signature = Some(signing::sign(&package, key));
    Ok(package)
}

/// What a `POST /v1/records` answers with; only the bundle matters here.
#[derive(Deserialize)]
struct Created {
    bundle: String,
}

/// Writes one record with the service token `token`; returns the id of the bundle it was
/// written under.
async fn write(client: &reqwest::Client, base: &str, token: &str) -> Result<String> {
    let body = call(
        client
            .post(format!("{base}/v1/records"))
            .bearer_auth(token)
            .json(&record()),
        &[201],
        "POST /v1/records",
    )
    .await?;
    let created: Created = serde_json::from_value(body.clone())
        .with_context(|| format!("the record answer has no bundle: {body}"))?;
    Ok(created.bundle)
}

/// The fields of an activation report this bench checks.
#[derive(Debug, Deserialize)]
struct Activation {
    active: String,
    previous: String,
    changed: bool,
    cases_passed: usize,
    took_ms: u64,
}

/// Re-activates bundle `id` with the compliance token `token`.
async fn activate(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    id: &str,
) -> Result<Activation> {
    let what = format!("POST /v1/admin/bundles/{id}/activate");
    let body = call(
        client
            .post(format!("{base}/v1/admin/bundles/{id}/activate"))
            .bearer_auth(token),
        &[200],
        &what,
    )
    .await?;
    let report: Activation = serde_json::from_value(body.clone())
        .with_context(|| format!("{what}: unexpected answer {body}"))?;
    if report.active != id {
        bail!("{what}: the active bundle is {} afterwards", report.active);
    }
    Ok(report)
}

/// What part 1 measured.
#[derive(Debug, Default)]
struct Publishing {
    publish: Summary,
    first_request: Summary,
    reactivate: Summary,
    /// The gateway's own `took_ms` of the activations.
    publish_took_ms: Vec<u64>,
    reactivate_took_ms: Vec<u64>,
    /// Record writes answered under the old bundle after a publish returned (must be 0).
    stale_writes: usize,
    cases_passed: usize,
    package_bytes: usize,
    packaging: Duration,
}

async fn publishing(
    settings: &Settings,
    client: &reqwest::Client,
    base: &str,
    tokens: &bench::Tokens,
    key: &SigningKey,
    versions: &[String],
) -> Result<Publishing> {
    let variants_tmp = tempfile::tempdir().context("creating a temporary directory")?;
    let mut out = Publishing::default();
    let mut publish = Vec::new();
    let mut first_request = Vec::new();
    for version in versions {
        let id = format!("provu@{version}");
        let packaging = Instant::now();
        let package = variant(variants_tmp.path(), version, key)?;
        let body = serde_json::to_value(&package)?;
        out.packaging += packaging.elapsed();
        out.package_bytes = body.to_string().len();

        let started = Instant::now();
        let answer = call(
            client
                .post(format!("{base}/v1/admin/bundles?activate=true"))
                .bearer_auth(&tokens.compliance)
                .json(&body),
            &[201],
            &format!("publishing {id}"),
        )
        .await?;
        let published = started.elapsed();
        let report: Activation = serde_json::from_value(answer["activation"].clone())
            .with_context(|| format!("publishing {id}: no activation report in {answer}"))?;
        if report.active != id || !report.changed {
            bail!("publishing {id}: unexpected activation report {answer}");
        }
        loop {
            let bundle = write(client, base, &tokens.service).await?;
            if bundle == id {
                break;
            }
            out.stale_writes += 1;
            if started.elapsed() > Duration::from_secs(30) {
                bail!("30 s after publishing {id} records are still written under {bundle}");
            }
        }
        first_request.push(started.elapsed());
        publish.push(published);
        out.publish_took_ms.push(report.took_ms);
        out.cases_passed = report.cases_passed;
        eprintln!(
            "published {id} (previous {}): {:.1} ms, first record on it after {:.1} ms",
            report.previous,
            ms(published),
            ms(started.elapsed())
        );
    }

    let pair = [
        format!("provu@{}", versions[versions.len() - 2]),
        format!("provu@{}", versions[versions.len() - 1]),
    ];
    let mut reactivate = Vec::new();
    for i in 0..settings.reactivations {
        // The last one published is active: start with the other.
        let id = &pair[i % 2];
        let started = Instant::now();
        let report = activate(client, base, &tokens.compliance, id).await?;
        reactivate.push(started.elapsed());
        if !report.changed {
            bail!("re-activating {id} changed nothing: {report:?}");
        }
        out.reactivate_took_ms.push(report.took_ms);
    }
    out.publish = Summary::of(publish);
    out.first_request = Summary::of(first_request);
    out.reactivate = Summary::of(reactivate);
    Ok(out)
}

/// Writes records until `until`: the tally, and the records written by bundle.
async fn writer(
    client: reqwest::Client,
    url: String,
    token: String,
    until: Instant,
) -> (Tally, BTreeMap<String, u64>) {
    let (mut tally, mut bundles) = (Tally::showing(SHOWN), BTreeMap::new());
    let body = serde_json::to_vec(&record()).expect("serializing a record");
    while Instant::now() < until {
        let (latency, answer) =
            timed_post(&client, &url, &token, "application/json", body.clone()).await;
        tally.count(latency, answer, "201 without a bundle", |bytes| {
            let c: Created = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
            *bundles.entry(c.bundle).or_default() += 1;
            Ok(())
        });
    }
    (tally, bundles)
}

/// What the swapping task did.
#[derive(Debug, Default)]
struct Swaps {
    done: u64,
    latencies: Vec<Duration>,
    errors: Vec<String>,
}

async fn swapper(
    client: reqwest::Client,
    base: String,
    token: String,
    pair: [String; 2],
    every: Duration,
    until: Instant,
) -> Swaps {
    let mut out = Swaps::default();
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick is immediate: wait one period so that the writers are running.
    tick.tick().await;
    let mut i = 0usize;
    loop {
        tick.tick().await;
        if Instant::now() >= until {
            break;
        }
        let id = &pair[i % 2];
        i += 1;
        let started = Instant::now();
        match activate(&client, &base, &token, id).await {
            Ok(report) if report.changed => {
                out.done += 1;
                out.latencies.push(started.elapsed());
            }
            Ok(report) => out
                .errors
                .push(format!("activating {id} changed nothing: {report:?}")),
            Err(e) => out.errors.push(format!("{e:#}")),
        }
    }
    out
}

/// What one latency phase measured.
#[derive(Debug, Default)]
struct Phase {
    name: &'static str,
    elapsed: Duration,
    tally: Tally,
    bundles: BTreeMap<String, u64>,
    swaps: Option<Swaps>,
}

impl Phase {
    fn failures(&self) -> u64 {
        self.tally.failures()
    }
}

async fn phase(
    name: &'static str,
    settings: &Settings,
    base: &str,
    tokens: &bench::Tokens,
    swap: Option<[String; 2]>,
) -> Result<Phase> {
    let client = bench::pooled_client(settings.clients)?;
    let admin = reqwest::Client::builder().no_proxy().build()?;
    let writers = settings
        .load()
        .spawn(&client, base, &tokens.service, writer);
    let (started, until) = (writers.started, writers.until);
    let swapping = swap.map(|pair| {
        tokio::spawn(swapper(
            admin.clone(),
            base.to_string(),
            tokens.compliance.clone(),
            pair,
            settings.swap,
            until,
        ))
    });
    let (tally, by_task) = writers.join().await?;
    let mut out = Phase {
        name,
        elapsed: started.elapsed(),
        tally,
        ..Phase::default()
    };
    for (k, n) in by_task.into_iter().flatten() {
        *out.bundles.entry(k).or_default() += n;
    }
    if let Some(s) = swapping {
        out.swaps = Some(s.await.context("the swapping task panicked")?);
    }
    out.tally.sort();
    Ok(out)
}

fn print_summary(name: &str, s: &Summary, took_ms: &[u64]) {
    let mut took = took_ms.to_vec();
    took.sort_unstable();
    let server = took
        .get((took.len().saturating_sub(1)) / 2)
        .map_or_else(String::new, |t| {
            format!("   (gateway's took_ms median {t})")
        });
    println!(
        "  {name:<30} {:>4} {:>9.2} {:>9.2} {:>9.2}{server}",
        s.n,
        ms(s.p50),
        ms(s.p95),
        ms(s.max)
    );
}

fn print_results(settings: &Settings, p: &Publishing, phases: &[Phase]) {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!();
    println!("policy publishing on a running gateway ({cores} cores available)");
    println!(
        "ProVu bundle variants: {} cases each, package JSON {:.1} KiB, packaging + signing \
         {:.1} ms per variant (not in the figures)",
        p.cases_passed,
        p.package_bytes as f64 / 1024.0,
        ms(p.packaging) / p.publish.n.max(1) as f64
    );
    println!(
        "  {:<30} {:>4} {:>9} {:>9} {:>9}",
        "", "n", "p50 ms", "p95 ms", "max ms"
    );
    print_summary(
        "publish (upload+gate+activate)",
        &p.publish,
        &p.publish_took_ms,
    );
    print_summary("publish -> first request", &p.first_request, &[]);
    print_summary("re-activate", &p.reactivate, &p.reactivate_took_ms);
    println!(
        "  records written under the old bundle after a publish returned: {}",
        p.stale_writes
    );

    println!();
    println!(
        "request latency, steady vs swapping ({} concurrent clients, {} s per phase, one \
         re-activation every {} ms while swapping)",
        settings.clients,
        settings.secs,
        settings.swap.as_millis()
    );
    println!("{:<9} {} {:>6}", "phase", Tally::headings(), "swaps");
    for r in phases {
        println!(
            "{:<9} {} {:>6}",
            r.name,
            r.tally.columns(r.elapsed),
            r.swaps
                .as_ref()
                .map_or("-".to_string(), |s| s.done.to_string()),
        );
    }
    for r in phases {
        let bundles: Vec<String> = r.bundles.iter().map(|(b, n)| format!("{b} {n}")).collect();
        print!("  {}: records by bundle: {}", r.name, bundles.join(", "));
        if let Some(s) = &r.swaps {
            let swap = Summary::of(s.latencies.clone());
            print!(
                "; re-activation p50 {:.2} ms, max {:.2} ms",
                ms(swap.p50),
                ms(swap.max)
            );
        }
        println!();
    }
    for r in phases {
        if r.failures() > 0 {
            println!();
            println!("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
            r.tally.print_failures(r.name);
            println!("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
        }
        if let Some(s) = r.swaps.as_ref().filter(|s| !s.errors.is_empty()) {
            println!();
            println!("!!! {}: {} re-activations failed:", r.name, s.errors.len());
            for e in s.errors.iter().take(5) {
                println!("!!!   {e}");
            }
        }
    }
}

async fn measure(settings: &Settings, running: &Running, key: &SigningKey) -> Result<()> {
    let base = format!("http://{}", running.addr());
    let client = reqwest::Client::builder().no_proxy().build()?;
    let tokens = bench::tokens(running)?;

    // One request first: the gateway answers under the bundle it started with.
    let bundle = write(&client, &base, &tokens.service).await?;
    if bundle != "provu@2026.11.0" {
        bail!("the first record was written under {bundle}, not provu@2026.11.0");
    }

    let versions: Vec<String> = (1..=settings.versions)
        .map(|n| format!("2026.12.{n}"))
        .collect();
    let publishing = publishing(settings, &client, &base, &tokens, key, &versions).await?;

    let pair = [
        format!("provu@{}", versions[versions.len() - 2]),
        format!("provu@{}", versions[versions.len() - 1]),
    ];
    let phases = vec![
        phase("steady", settings, &base, &tokens, None).await?,
        phase("swapping", settings, &base, &tokens, Some(pair)).await?,
    ];
    print_results(settings, &publishing, &phases);

    let failures: u64 = phases.iter().map(Phase::failures).sum();
    let swap_errors: usize = phases
        .iter()
        .filter_map(|p| p.swaps.as_ref())
        .map(|s| s.errors.len())
        .sum();
    if failures > 0 || swap_errors > 0 || publishing.stale_writes > 0 {
        bail!(
            "{failures} record writes were not answered 201, {swap_errors} re-activations \
             failed, {} writes after a publish used the old bundle",
            publishing.stale_writes
        );
    }
    Ok(())
}

async fn run(settings: Settings) -> Result<()> {
    let key = signing::generate()?;
    let (running, data_tmp) =
        bench::start_provu(TrustedKeys::new(vec![key.verifying_key()], false)).await?;

    let result = measure(&settings, &running, &key).await;
    let stopping = Instant::now();
    running.shutdown().await?;
    eprintln!("gateway shut down in {:.0} ms", ms(stopping.elapsed()));
    drop(data_tmp);
    result
}

fn main() -> Result<()> {
    bench::block_on(run(Settings::from_args(&bench::Args::read())))
}
