//! End-to-end write throughput of the gateway over real HTTP.
//!
//! Starts the real gateway in-process (ProVu bundle, a temporary redb, port 0) on a
//! multi-thread tokio runtime and drives it with reqwest clients:
//!
//! - `batch`: `POST /v1/records:batch`, NDJSON bodies of 1,000 `call-recording` records, from
//!   4 concurrent clients;
//! - `single`: `POST /v1/records`, 64 concurrent tasks sharing one pooled client.
//!
//! Each phase runs for `SLUICE_BENCH_SECS` seconds (default 10; `--secs N` also works) and
//! reports acknowledged records per second and request latency; after each phase the number
//! of stored records must equal the number of 201s acknowledged so far. The clients run in
//! the same process and on the same cores as the gateway, so the figures are a lower bound of
//! what the gateway does alone. Without `--bench` (e.g. `cargo test --benches`) it runs a
//! one-second smoke version.
//!
//! Run with `cargo bench -p sluice --bench throughput`. Other knobs (arguments or
//! environment): `--clients N` / `SLUICE_BENCH_CLIENTS` (64), `--batch-clients N` /
//! `SLUICE_BENCH_BATCH_CLIENTS` (4), `--batch-size N` / `SLUICE_BENCH_BATCH_SIZE` (1000).
//! Unknown arguments are ignored.

use sluice_test_support::bench::{self, ms, percentile, timed_post};
use sluice_test_support::http::NDJSON;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use serde::Deserialize;
use serde_json::{Value, json};
use sluice::gateway::Running;

#[derive(Debug, Clone)]
struct Settings {
    secs: f64,
    clients: usize,
    batch_clients: usize,
    batch_size: usize,
}

impl Settings {
    /// The settings the command line and the environment give.
    fn from_args(args: &bench::Args) -> Self {
        let default_secs = if args.bench_mode { 10.0 } else { 1.0 };
        Self {
            secs: args.num("--secs", "SLUICE_BENCH_SECS", default_secs),
            clients: args.num("--clients", "SLUICE_BENCH_CLIENTS", 64.0) as usize,
            batch_clients: args.num("--batch-clients", "SLUICE_BENCH_BATCH_CLIENTS", 4.0) as usize,
            batch_size: args.num("--batch-size", "SLUICE_BENCH_BATCH_SIZE", 1000.0) as usize,
        }
    }

    fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.secs)
    }
}

/// Numbers the records, so that every record (and subject) is distinct.
static NEXT: AtomicU64 = AtomicU64::new(0);

/// One `call-recording` record of ~400 bytes; one in ten holds a card number.
fn record() -> Value {
    let i = NEXT.fetch_add(1, Ordering::Relaxed);
    let notes = if i.is_multiple_of(10) {
        format!(
            "card 4111 1111 1111 1111, order ORD-2024-{:06}; customer asked for a callback \
             on the mobile number after 17:00",
            i % 1_000_000
        )
    } else {
        format!(
            "order ORD-2024-{:06}; delivery query, parcel 1550{:010} with DPD; customer asked \
             for a callback on the mobile number after 17:00",
            i % 1_000_000,
            i
        )
    };
    json!({
        "kind": "call-recording",
        "subject": format!("cust-{i:08}"),
        "fields": {
            "direction": if i.is_multiple_of(2) { "inbound" } else { "outbound" },
            "party_number": format!("+44 1484 {:06}", 840_000 + i % 100_000),
            "started_at": "2026-01-05T10:00:00Z",
            "recording_ref": format!("rec-{i}"),
            "agent": "Sam Taylor",
            "duration_seconds": 60 + (i % 600),
            "notes": { "text": notes },
        }
    })
}

/// What one phase measured.
#[derive(Debug, Default)]
struct PhaseResult {
    name: &'static str,
    /// What its clients counted, together.
    totals: TaskResult,
    elapsed: Duration,
    cpu: Duration,
    server: ServerStats,
}

/// What one client counted (or all of a phase's, merged).
#[derive(Debug, Default)]
struct TaskResult {
    requests: u64,
    records_sent: u64,
    created: u64,
    errors: u64,
    error_samples: Vec<String>,
    response_bytes: u64,
    latencies: Vec<Duration>,
}

impl TaskResult {
    fn merge(&mut self, other: TaskResult) {
        self.requests += other.requests;
        self.records_sent += other.records_sent;
        self.created += other.created;
        self.errors += other.errors;
        self.response_bytes += other.response_bytes;
        for s in other.error_samples {
            if self.error_samples.len() < 5 && !self.error_samples.contains(&s) {
                self.error_samples.push(s);
            }
        }
        self.latencies.extend(other.latencies);
    }

    fn error(&mut self, n: u64, sample: impl FnOnce() -> String) {
        self.errors += n;
        if self.error_samples.len() < 3 {
            self.error_samples.push(sample());
        }
    }
}

/// One line of the batch response; only the status matters here.
#[derive(Deserialize)]
struct BatchLine {
    status: u16,
}

fn truncate(s: &str) -> String {
    bench::truncate(s, 300)
}

async fn batch_client(url: String, token: String, size: usize, until: Instant) -> TaskResult {
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("building an HTTP client");
    let mut out = TaskResult::default();
    while Instant::now() < until {
        let mut body = Vec::with_capacity(size * 450);
        for _ in 0..size {
            serde_json::to_writer(&mut body, &record()).expect("serializing a record");
            body.push(b'\n');
        }
        let (latency, response) = timed_post(&client, &url, &token, NDJSON, body).await;
        out.latencies.push(latency);
        out.requests += 1;
        out.records_sent += size as u64;
        if let Ok((_, bytes)) = &response {
            out.response_bytes += bytes.len() as u64;
        }
        match response {
            Ok((status, bytes)) if status.as_u16() == 200 => {
                let text = String::from_utf8_lossy(&bytes);
                let mut lines = 0;
                for line in text.lines().filter(|l| !l.trim().is_empty()) {
                    lines += 1;
                    match serde_json::from_str::<BatchLine>(line) {
                        Ok(l) if l.status == 201 => out.created += 1,
                        Ok(l) => {
                            out.error(1, || format!("batch line {}: {}", l.status, truncate(line)))
                        }
                        Err(e) => out.error(1, || {
                            format!("unparsable batch line ({e}): {}", truncate(line))
                        }),
                    }
                }
                if lines != size {
                    out.error((size as u64).saturating_sub(lines as u64), || {
                        format!("{lines} result lines for {size} records")
                    });
                }
            }
            Ok((status, bytes)) => out.error(size as u64, || {
                format!(
                    "batch HTTP {status}: {}",
                    truncate(&String::from_utf8_lossy(&bytes))
                )
            }),
            Err(e) => out.error(size as u64, || format!("batch request failed: {e}")),
        }
    }
    out
}

async fn single_client(
    client: reqwest::Client,
    url: String,
    token: String,
    until: Instant,
) -> TaskResult {
    let mut out = TaskResult::default();
    while Instant::now() < until {
        let body = serde_json::to_vec(&record()).expect("serializing a record");
        let (latency, response) = timed_post(&client, &url, &token, "application/json", body).await;
        out.latencies.push(latency);
        out.requests += 1;
        out.records_sent += 1;
        if let Ok((_, bytes)) = &response {
            out.response_bytes += bytes.len() as u64;
        }
        match response {
            Ok((status, _)) if status.as_u16() == 201 => out.created += 1,
            Ok((status, bytes)) => out.error(1, || {
                format!(
                    "HTTP {status}: {}",
                    truncate(&String::from_utf8_lossy(&bytes))
                )
            }),
            Err(e) => out.error(1, || format!("request failed: {e}")),
        }
    }
    out
}

/// Process CPU time (user + system), from /proc (Linux only; zero elsewhere).
fn cpu_time() -> Duration {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return Duration::ZERO;
    };
    // Fields after the command name (which is in parentheses and may hold spaces).
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return Duration::ZERO;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after the name.
    let ticks: u64 = [11, 12]
        .iter()
        .filter_map(|&i| fields.get(i).and_then(|v| v.parse::<u64>().ok()))
        .sum();
    // USER_HZ is 100 on every Linux this runs on.
    Duration::from_millis(ticks * 10)
}

/// The gateway's own view of a phase, from `GET /metrics` deltas.
#[derive(Debug, Default)]
struct ServerStats {
    commits: f64,
    committed_records: f64,
    commit_seconds: f64,
    plugin_calls: Vec<(String, f64, f64)>,
}

async fn scrape(client: &reqwest::Client, base: &str, admin: &str) -> Result<HashMap<String, f64>> {
    let text = client
        .get(format!("{base}/metrics"))
        .bearer_auth(admin)
        .send()
        .await?
        .text()
        .await?;
    Ok(text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            Some((k.to_string(), v.parse::<f64>().ok()?))
        })
        .collect())
}

fn server_stats(before: &HashMap<String, f64>, after: &HashMap<String, f64>) -> ServerStats {
    let delta =
        |k: &str| after.get(k).copied().unwrap_or(0.0) - before.get(k).copied().unwrap_or(0.0);
    const COUNT: &str = "sluice_plugin_call_seconds_count{plugin=\"";
    let mut plugins: Vec<&str> = after
        .keys()
        .filter_map(|k| k.strip_prefix(COUNT)?.strip_suffix("\"}"))
        .collect();
    plugins.sort_unstable();
    let mut plugin_calls = Vec::new();
    for plugin in plugins {
        let n = delta(&format!(
            "sluice_plugin_call_seconds_count{{plugin=\"{plugin}\"}}"
        ));
        let s = delta(&format!(
            "sluice_plugin_call_seconds_sum{{plugin=\"{plugin}\"}}"
        ));
        plugin_calls.push((plugin.to_string(), n, s));
    }
    ServerStats {
        commits: delta("sluice_store_commit_seconds_count"),
        committed_records: delta("sluice_store_commit_batch_writes_sum"),
        commit_seconds: delta("sluice_store_commit_seconds_sum"),
        plugin_calls,
    }
}

async fn run_phase(
    name: &'static str,
    running: &Running,
    tokens: &bench::Tokens,
    settings: &Settings,
    acknowledged: &mut u64,
) -> Result<PhaseResult> {
    let base = format!("http://{}", running.addr());
    let probe = reqwest::Client::builder().no_proxy().build()?;
    let before = scrape(&probe, &base, &tokens.admin).await?;
    let cpu_before = cpu_time();
    let started = Instant::now();
    let until = started + settings.duration();
    let mut tasks = Vec::new();
    match name {
        "batch" => {
            let url = format!("{base}/v1/records:batch");
            for _ in 0..settings.batch_clients.max(1) {
                tasks.push(tokio::spawn(batch_client(
                    url.clone(),
                    tokens.service.clone(),
                    settings.batch_size.max(1),
                    until,
                )));
            }
        }
        _ => {
            let url = format!("{base}/v1/records");
            let client = bench::pooled_client(settings.clients.max(1))?;
            for _ in 0..settings.clients.max(1) {
                tasks.push(tokio::spawn(single_client(
                    client.clone(),
                    url.clone(),
                    tokens.service.clone(),
                    until,
                )));
            }
        }
    }
    let mut result = PhaseResult {
        name,
        ..PhaseResult::default()
    };
    for t in tasks {
        result
            .totals
            .merge(t.await.context("a client task panicked")?);
    }
    result.elapsed = started.elapsed();
    result.cpu = cpu_time().saturating_sub(cpu_before);
    result.totals.latencies.sort_unstable();
    let after = scrape(&probe, &base, &tokens.admin).await?;
    result.server = server_stats(&before, &after);
    *acknowledged += result.totals.created;

    // Durability as a user would check it: everything acknowledged is stored.
    let stored = running.state().store.count()?;
    if stored != *acknowledged {
        bail!(
            "after the {name} phase the store holds {stored} records, but {acknowledged} writes \
             were acknowledged with 201"
        );
    }
    eprintln!(
        "{name}: {} records acknowledged, store holds {stored} (matches)",
        result.totals.created
    );
    Ok(result)
}

fn print_results(settings: &Settings, results: &[PhaseResult]) {
    println!();
    println!(
        "gateway write throughput ({} s per phase; batch: {} clients x {} records/request; \
         single: {} concurrent clients)",
        settings.secs, settings.batch_clients, settings.batch_size, settings.clients
    );
    println!(
        "{:<7} {:>8} {:>9} {:>9} {:>7} {:>7} {:>10} {:>9} {:>9} {:>9} {:>9} {:>6}",
        "phase",
        "requests",
        "records",
        "201s",
        "errors",
        "secs",
        "records/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "max ms",
        "cpu %"
    );
    for r in results {
        let secs = r.elapsed.as_secs_f64();
        println!(
            "{:<7} {:>8} {:>9} {:>9} {:>7} {:>7.2} {:>10.0} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>6.0}",
            r.name,
            r.totals.requests,
            r.totals.records_sent,
            r.totals.created,
            r.totals.errors,
            secs,
            r.totals.created as f64 / secs,
            ms(percentile(&r.totals.latencies, 0.50)),
            ms(percentile(&r.totals.latencies, 0.95)),
            ms(percentile(&r.totals.latencies, 0.99)),
            ms(r.totals.latencies.last().copied().unwrap_or_default()),
            100.0 * r.cpu.as_secs_f64() / secs,
        );
    }
    println!();
    println!("server side (from /metrics):");
    for r in results {
        let s = &r.server;
        let per_commit = if s.commits > 0.0 {
            s.committed_records / s.commits
        } else {
            0.0
        };
        let commit_ms = if s.commits > 0.0 {
            1e3 * s.commit_seconds / s.commits
        } else {
            0.0
        };
        let plugins: Vec<String> = s
            .plugin_calls
            .iter()
            .map(|(p, n, sum)| {
                let us = if *n > 0.0 { 1e6 * sum / n } else { 0.0 };
                format!("{p} {us:.1} µs/call")
            })
            .collect();
        println!(
            "  {:<7} {:.0} commits, {per_commit:.1} writes/commit, {commit_ms:.2} ms/commit \
             ({:.0}% of the phase in commits); {}; {:.0} response bytes/record",
            r.name,
            s.commits,
            100.0 * s.commit_seconds / r.elapsed.as_secs_f64(),
            plugins.join(", "),
            r.totals.response_bytes as f64 / r.totals.records_sent.max(1) as f64,
        );
    }
    for r in results
        .iter()
        .filter(|r| !r.totals.error_samples.is_empty())
    {
        println!();
        println!("{} errors ({} in all), samples:", r.name, r.totals.errors);
        for s in &r.totals.error_samples {
            println!("  {s}");
        }
    }
}

async fn run(settings: Settings) -> Result<()> {
    let (running, data_tmp) = bench::start_provu(Default::default()).await?;
    let tokens = bench::tokens(&running)?;

    // One request first: the gateway answers, and redacts the card number.
    let mut acknowledged = 0u64;
    {
        let client = reqwest::Client::builder().no_proxy().build()?;
        NEXT.store(0, Ordering::Relaxed);
        let response = client
            .post(format!("http://{}/v1/records", running.addr()))
            .bearer_auth(&tokens.service)
            .json(&record())
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await?;
        if status.as_u16() != 201 {
            bail!("the first write was answered {status}: {body}");
        }
        if body.to_string().contains("4111 1111 1111 1111") {
            bail!("the card number was not redacted: {body}");
        }
        acknowledged += 1;
    }

    let mut results = Vec::new();
    for phase in ["batch", "single"] {
        let r = run_phase(phase, &running, &tokens, &settings, &mut acknowledged).await;
        match r {
            Ok(r) => results.push(r),
            Err(e) => {
                print_results(&settings, &results);
                running.shutdown().await?;
                return Err(e);
            }
        }
    }
    print_results(&settings, &results);

    let stopping = Instant::now();
    running.shutdown().await?;
    eprintln!("gateway shut down in {:.0} ms", ms(stopping.elapsed()));
    if let Ok(meta) = std::fs::metadata(data_tmp.path().join("sluice.redb")) {
        eprintln!(
            "database: {:.1} MiB for {acknowledged} records ({:.0} bytes/record, audit log \
             and indexes included)",
            meta.len() as f64 / f64::from(1 << 20),
            meta.len() as f64 / acknowledged.max(1) as f64
        );
    }
    let errors: u64 = results.iter().map(|r| r.totals.errors).sum();
    if errors > 0 {
        eprintln!("note: {errors} records were not acknowledged with 201 (see above)");
    }
    drop(data_tmp);
    Ok(())
}

fn main() -> Result<()> {
    bench::block_on(run(Settings::from_args(&bench::Args::read())))
}
