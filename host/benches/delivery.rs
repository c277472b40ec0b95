//! Outbox delivery: deliveries per second to a fast local vendor, and the write latency a
//! delivery adds.
//!
//! Starts an in-process vendor HTTP server on loopback (axum, answers 200 at once, counts
//! requests and distinct `Idempotency-Key`s) and the real gateway in-process (a copy of the
//! ProVu bundle whose Yealink register entry pushes to that vendor, a temporary redb, port 0)
//! on a multi-thread tokio runtime, and drives it with reqwest clients:
//!
//! 1. `deliveries`: writes `--records` `device-provisioning` records of Yealink devices
//!    provisioned on ProVu's own server (each produces exactly one `redirection` delivery)
//!    with `POST /v1/records:batch`, NDJSON batches of `--batch-size`, one batch after the
//!    other. Measures from the first batch sent until the vendor has received every
//!    delivery's key: deliveries per second end to end (writes included), and the drain rate
//!    after the last batch returned (deliveries received after it / time until the last
//!    one). Reports the outbox depth (`GET /v1/admin/outbox` → `pending`) right after the
//!    last write, and checks that it falls to 0.
//! 2. `push` / `none`: `--clients` concurrent clients write the same kind of record with
//!    single `POST /v1/records` requests for `--secs` seconds each, on two gateways one after
//!    the other: `push` on the bundle above (every write enqueues a delivery that the workers
//!    push while the writes go on), `none` on the same bundle without the
//!    `provisioning-forwarder` step in the device chain (no deliveries; the policy test cases
//!    that expect forwarding are left out of that copy). Reports throughput and latency of
//!    each and the latency a delivery adds (push − none).
//!
//! The vendor, the clients and the gateway run in the same process on the same cores. Without
//! `--bench` (e.g. `cargo test --benches`) it runs a short smoke version.
//!
//! Run with `cargo bench -p sluice --bench delivery`. Knobs (arguments or environment):
//! `--records N` / `SLUICE_BENCH_RECORDS` (5000), `--batch-size N` /
//! `SLUICE_BENCH_BATCH_SIZE` (500), `--concurrency N` / `SLUICE_BENCH_CONCURRENCY` (16, pushes
//! in flight per vendor), `--clients N` / `SLUICE_BENCH_CLIENTS` (16), `--secs N` /
//! `SLUICE_BENCH_SECS` (5). Unknown arguments are ignored; the process exits non-zero if any
//! request fails or a delivery goes missing.

use sluice_test_support::bench::{self, Tally, ms, timed_post};
use sluice_test_support::bundle::{
    copy_dir, edit_manifest, provu_dir, push_delivery_table, replace_once, with_delivery,
};
use sluice_test_support::http::post_ndjson;
use sluice_test_support::vendor::{Loopback, header};
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use serde::Deserialize;
use serde_json::{Value, json};
use sluice::gateway::{Options, Running};
use sluice::outbox::worker::{DeliveryOptions, VendorSecrets};

/// The provisioning-forwarder step of the device-provisioning chain in
/// `policies/provu/bundle.toml`, removed for the `none` variant.
const FORWARDER_STEP: &str = "[[kinds.device-provisioning.chain]]\n\
plugin = \"provisioning-forwarder\"\n\
# 2.2.2: \"We will however pass MAC addresses to the vendor's redirection server.\"\n\
config = { provisioning_url = \"https://provisioning.provu.co.uk/devices/{mac}\" }\n";

/// How long the vendor may take to receive everything (and the outbox to empty).
const DRAIN_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug, Clone)]
struct Settings {
    records: usize,
    batch_size: usize,
    concurrency: usize,
    clients: usize,
    secs: f64,
}

impl Settings {
    /// The settings the command line and the environment give.
    fn from_args(args: &bench::Args) -> Self {
        let (records, secs) = if args.bench_mode {
            (5000.0, 5.0)
        } else {
            (200.0, 1.0)
        };
        Self {
            records: (args.num("--records", "SLUICE_BENCH_RECORDS", records) as usize).max(1),
            batch_size: (args.num("--batch-size", "SLUICE_BENCH_BATCH_SIZE", 500.0) as usize)
                .max(1),
            concurrency: (args.num("--concurrency", "SLUICE_BENCH_CONCURRENCY", 16.0) as usize)
                .max(1),
            clients: (args.num("--clients", "SLUICE_BENCH_CLIENTS", 16.0) as usize).max(1),
            secs: args.num("--secs", "SLUICE_BENCH_SECS", secs),
        }
    }

    fn load(&self) -> bench::Load {
        bench::Load::new(self.clients, self.secs)
    }
}

/// Numbers the records, so that every MAC address and subject is distinct.
static NEXT: AtomicU64 = AtomicU64::new(0);

/// A Yealink device provisioned on ProVu's own server: one `redirection` delivery.
fn record() -> Value {
    let i = NEXT.fetch_add(1, Ordering::Relaxed);
    json!({
        "kind": "device-provisioning",
        "subject": format!("u{i}"),
        "fields": {
            "mac": format!(
                "00-15-65-{:02X}-{:02X}-{:02X}",
                (i >> 16) & 0xff,
                (i >> 8) & 0xff,
                i & 0xff
            ),
            "vendor": "yealink",
            "username": "1001",
            "sip_server": "sip.example.net",
            "provisioned_at": "2026-11-20T00:00:00Z",
            "provisioning_host": "own",
        }
    })
}

fn truncate(s: &str) -> String {
    bench::truncate(s, 300)
}

// ---------------------------------------------------------------------------------------
// The vendor.

/// What the vendor counts.
#[derive(Debug, Default)]
struct Received {
    requests: u64,
    /// Requests to another path than the redirection endpoint.
    other_paths: u64,
    keys: HashSet<String>,
    /// How many distinct keys to wait for, and when the last of them arrived.
    target: usize,
    reached: Option<Instant>,
}

/// A fast vendor on loopback: answers every request 200 at once.
struct Vendor {
    url: String,
    received: Arc<Mutex<Received>>,
    _server: Loopback,
}

impl Vendor {
    async fn start() -> Result<Self> {
        let received: Arc<Mutex<Received>> = Arc::default();
        let r = received.clone();
        let app = axum::Router::new().fallback(
            move |uri: axum::http::Uri,
                  headers: axum::http::HeaderMap,
                  _body: axum::body::Bytes| {
                let r = r.clone();
                async move {
                    let key = header(&headers, "idempotency-key");
                    let mut r = r.lock().expect("the vendor's counters");
                    r.requests += 1;
                    if uri.path() != "/r" {
                        r.other_paths += 1;
                    }
                    r.keys.insert(key);
                    if r.reached.is_none() && r.target > 0 && r.keys.len() >= r.target {
                        r.reached = Some(Instant::now());
                    }
                    axum::http::StatusCode::OK
                }
            },
        );
        let server = Loopback::serve(app).await?;
        Ok(Self {
            url: server.url.clone(),
            received,
            _server: server,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Received> {
        self.received.lock().expect("the vendor's counters")
    }

    /// Forgets what it received; then waits for `target` distinct keys.
    fn reset(&self, target: usize) {
        *self.lock() = Received {
            target,
            ..Received::default()
        };
    }

    fn distinct(&self) -> usize {
        self.lock().keys.len()
    }

    /// Waits until `target` distinct keys arrived; when the last one did.
    async fn wait(&self, timeout: Duration) -> Result<Instant> {
        let until = Instant::now() + timeout;
        loop {
            {
                let r = self.lock();
                if let Some(at) = r.reached {
                    return Ok(at);
                }
                if Instant::now() > until {
                    bail!(
                        "after {} s the vendor has received {} of {} deliveries",
                        timeout.as_secs(),
                        r.keys.len(),
                        r.target
                    );
                }
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }
}

// ---------------------------------------------------------------------------------------
// The gateway.

/// Whether a policy test case of the ProVu bundle expects what the provisioning forwarder
/// does (a write of a device record with deliveries or a `forward` decision).
fn expects_forwarding(case: &Path) -> Result<bool> {
    let read = |name: &str| -> Result<Value> {
        let path = case.join(name);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    };
    let input = read("input.json")?;
    if input["record"]["kind"] != "device-provisioning" || input.get("read").is_some() {
        return Ok(false);
    }
    let expected = read("expected.json")?;
    let forwards = expected["decisions"]
        .as_array()
        .is_some_and(|d| d.iter().any(|d| d["action"] == "forward"));
    Ok(expected.get("deliveries").is_some() || forwards)
}

/// A copy of the ProVu bundle in which Yealink receives its deliveries by push at
/// `vendor/r` (redirection) and `vendor/p` (provisioning); without the forwarder step when
/// `forwarder` is false. Returns the directory and the number of policy test cases left out.
fn bundle_copy(root: &Path, name: &str, vendor: &str, forwarder: bool) -> Result<(PathBuf, usize)> {
    let dir = root.join(name);
    copy_dir(provu_dir(), &dir)?;
    let (redirection, provisioning) = (format!("{vendor}/r"), format!("{vendor}/p"));
    let push = push_delivery_table(
        &[
            ("redirection", &redirection),
            ("provisioning", &provisioning),
        ],
        "",
    );
    edit_manifest(&dir, |manifest| {
        let manifest = with_delivery(manifest, "yealink", &push)?;
        if forwarder {
            Ok(manifest)
        } else {
            replace_once(&manifest, FORWARDER_STEP, "")
        }
    })?;
    let mut left_out = 0;
    if !forwarder {
        let tests = dir.join("tests");
        for entry in std::fs::read_dir(&tests)? {
            let case = entry?.path();
            if case.is_dir() && expects_forwarding(&case)? {
                std::fs::remove_dir_all(&case)?;
                left_out += 1;
            }
        }
        if left_out == 0 {
            bail!("no policy test case of policies/provu expects the provisioning forwarder");
        }
    }
    Ok((dir, left_out))
}

/// Starts a gateway in-process on the bundle directory `policy`, pushing to Yealink with
/// `concurrency` pushes in flight.
async fn start_gateway(policy: &Path, concurrency: usize) -> Result<(Running, tempfile::TempDir)> {
    bench::start(
        policy,
        Options {
            delivery: DeliveryOptions {
                concurrency,
                secrets: VendorSecrets::new(BTreeMap::from([(
                    "yealink".to_string(),
                    "yealink-bench-secret".to_string(),
                )])),
                ..DeliveryOptions::default()
            },
            ..sluice_test_support::gateway::options()
        },
    )
    .await
}

/// Runs `body` on a gateway started on `policy` (with its URL and tokens), then shuts the
/// gateway down (also when `body` failed).
async fn with_gateway<T>(
    policy: &Path,
    concurrency: usize,
    body: impl AsyncFnOnce(&str, &bench::Tokens) -> Result<T>,
) -> Result<T> {
    let (running, data_tmp) = start_gateway(policy, concurrency).await?;
    let result = match bench::tokens(&running) {
        Ok(tokens) => body(&format!("http://{}", running.addr()), &tokens).await,
        Err(e) => Err(e),
    };
    let stopping = Instant::now();
    let stopped = running.shutdown().await;
    eprintln!("gateway shut down in {:.0} ms", ms(stopping.elapsed()));
    drop(data_tmp);
    let out = result?;
    stopped?;
    Ok(out)
}

/// The number of pending deliveries (`GET /v1/admin/outbox` → `pending`), asked with the
/// admin token `admin`.
async fn pending(client: &reqwest::Client, base: &str, admin: &str) -> Result<u64> {
    let response = client
        .get(format!("{base}/v1/admin/outbox?state=pending&limit=1"))
        .bearer_auth(admin)
        .send()
        .await
        .context("GET /v1/admin/outbox")?;
    let status = response.status();
    let body: Value = response
        .json()
        .await
        .context("GET /v1/admin/outbox: the answer is not JSON")?;
    if status.as_u16() != 200 {
        bail!("GET /v1/admin/outbox answered {status}: {body}");
    }
    body["pending"]
        .as_u64()
        .with_context(|| format!("GET /v1/admin/outbox: no `pending` in {body}"))
}

/// Waits until no delivery is pending; how long that took.
async fn wait_empty(client: &reqwest::Client, base: &str, admin: &str) -> Result<Duration> {
    let started = Instant::now();
    loop {
        let n = pending(client, base, admin).await?;
        if n == 0 {
            return Ok(started.elapsed());
        }
        if started.elapsed() > DRAIN_TIMEOUT {
            bail!(
                "{n} deliveries are still pending {} s after the vendor received them all",
                DRAIN_TIMEOUT.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The deliveries a write answer lists (only these fields matter here).
#[derive(Debug, Deserialize)]
struct DeliveryView {
    vendor: String,
    endpoint: String,
}

/// A write answer, or one line of a batch answer.
#[derive(Debug, Deserialize)]
struct Written {
    #[serde(default)]
    status: Option<u16>,
    #[serde(default)]
    deliveries: Vec<DeliveryView>,
}

/// Checks that a written record produced `expected` deliveries (each a Yealink redirection).
fn check_deliveries(written: &Written, expected: usize) -> Result<()> {
    let ok = written.deliveries.len() == expected
        && written
            .deliveries
            .iter()
            .all(|d| d.vendor == "yealink" && d.endpoint == "redirection");
    if !ok {
        bail!(
            "a record produced the deliveries {:?}, not {expected} Yealink redirection(s)",
            written.deliveries
        );
    }
    Ok(())
}

/// Writes one record with the service token `token` and checks the deliveries it produced.
async fn write_one(
    client: &reqwest::Client,
    base: &str,
    token: &str,
    deliveries: usize,
) -> Result<()> {
    let response = client
        .post(format!("{base}/v1/records"))
        .bearer_auth(token)
        .json(&record())
        .send()
        .await
        .context("POST /v1/records")?;
    let status = response.status();
    let bytes = response.bytes().await?;
    if status.as_u16() != 201 {
        bail!(
            "POST /v1/records answered {status}: {}",
            truncate(&String::from_utf8_lossy(&bytes))
        );
    }
    check_deliveries(&serde_json::from_slice(&bytes)?, deliveries)
}

// ---------------------------------------------------------------------------------------
// Part 1: deliveries per second.

#[derive(Debug)]
struct Throughput {
    records: usize,
    batches: usize,
    /// First batch sent → last batch answered.
    writes: Duration,
    /// First batch sent → the vendor received every key.
    end_to_end: Duration,
    /// Distinct keys the vendor had received when the last batch was answered.
    at_writes_end: usize,
    /// Pending deliveries right after the last batch was answered.
    depth_after_writes: u64,
    /// The vendor received every key → the outbox shows none pending.
    recorded_after: Duration,
    requests: u64,
    other_paths: u64,
}

async fn throughput(
    settings: &Settings,
    vendor: &Vendor,
    base: &str,
    tokens: &bench::Tokens,
) -> Result<Throughput> {
    let client = reqwest::Client::builder().no_proxy().build()?;
    // One record first: the setup delivers (and the plugin instances are warm).
    vendor.reset(1);
    write_one(&client, base, &tokens.service, 1).await?;
    vendor.wait(Duration::from_secs(10)).await?;
    wait_empty(&client, base, &tokens.admin).await?;

    let n = settings.records;
    let bodies: Vec<(usize, Vec<u8>)> = (0..n)
        .step_by(settings.batch_size)
        .map(|start| {
            let size = settings.batch_size.min(n - start);
            let mut body = Vec::with_capacity(size * 300);
            for _ in 0..size {
                serde_json::to_writer(&mut body, &record()).expect("serializing a record");
                body.push(b'\n');
            }
            (size, body)
        })
        .collect();
    let batches = bodies.len();
    vendor.reset(n);
    let url = format!("{base}/v1/records:batch");
    let started = Instant::now();
    for (i, (size, body)) in bodies.into_iter().enumerate() {
        let response = post_ndjson(&client, &url, &tokens.service, body)
            .await
            .with_context(|| format!("batch {i}: request failed"))?;
        let status = response.status();
        let text = response.text().await?;
        if status.as_u16() != 200 {
            bail!("batch {i} answered {status}: {}", truncate(&text));
        }
        let mut lines = 0;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            lines += 1;
            let written: Written = serde_json::from_str(line)
                .with_context(|| format!("batch {i}: unparsable line {}", truncate(line)))?;
            if written.status != Some(201) {
                bail!("batch {i}: a record was answered {}", truncate(line));
            }
            check_deliveries(&written, 1)?;
        }
        if lines != size {
            bail!("batch {i}: {lines} result lines for {size} records");
        }
    }
    let writes_done = Instant::now();
    let at_writes_end = vendor.distinct();
    let depth_after_writes = pending(&client, base, &tokens.admin).await?;
    let reached = vendor.wait(DRAIN_TIMEOUT).await?;
    let recorded_after = wait_empty(&client, base, &tokens.admin).await?;
    let r = vendor.lock();
    Ok(Throughput {
        records: n,
        batches,
        writes: writes_done - started,
        end_to_end: reached.saturating_duration_since(started),
        at_writes_end,
        depth_after_writes,
        recorded_after,
        requests: r.requests,
        other_paths: r.other_paths,
    })
}

// ---------------------------------------------------------------------------------------
// Part 2: the write latency a delivery adds.

/// Writes records until `until`: the tally, and the deliveries the answers listed.
async fn writer(
    client: reqwest::Client,
    url: String,
    token: String,
    until: Instant,
) -> (Tally, u64) {
    let (mut tally, mut deliveries) = (Tally::default(), 0);
    while Instant::now() < until {
        let body = serde_json::to_vec(&record()).expect("serializing a record");
        let (latency, answer) = timed_post(&client, &url, &token, "application/json", body).await;
        tally.count(latency, answer, "201 unparsable", |bytes| {
            let w: Written = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
            deliveries += w.deliveries.len() as u64;
            Ok(())
        });
    }
    (tally, deliveries)
}

/// What one latency phase measured.
#[derive(Debug, Default)]
struct Phase {
    name: &'static str,
    elapsed: Duration,
    tally: Tally,
    /// Deliveries the answers listed.
    deliveries: u64,
    /// Distinct deliveries the vendor received while the clients wrote.
    received_during: usize,
    /// Pending deliveries when the clients stopped.
    pending_at_end: u64,
    /// The clients stopped → the vendor received every delivery and none is pending.
    drained_after: Duration,
    /// Requests the vendor received in all (a delivery sent twice counts twice).
    vendor_requests: u64,
}

impl Phase {
    fn requests(&self) -> u64 {
        self.tally.requests()
    }

    fn failures(&self) -> u64 {
        self.tally.failures()
    }

    fn p(&self, q: f64) -> Duration {
        self.tally.p(q)
    }
}

async fn latency(
    name: &'static str,
    settings: &Settings,
    vendor: &Vendor,
    base: &str,
    tokens: &bench::Tokens,
    per_record: usize,
) -> Result<Phase> {
    let client = bench::pooled_client(settings.clients)?;
    // One record first: the setup delivers (or not), and the plugin instances are warm.
    vendor.reset(per_record);
    write_one(&client, base, &tokens.service, per_record).await?;
    if per_record > 0 {
        vendor.wait(Duration::from_secs(10)).await?;
    }
    wait_empty(&client, base, &tokens.admin).await?;

    // The vendor waits for as many keys as there will be deliveries (set below).
    vendor.reset(usize::MAX);
    let writers = settings
        .load()
        .spawn(&client, base, &tokens.service, writer);
    let started = writers.started;
    let (tally, deliveries) = writers.join().await?;
    let stopped = Instant::now();
    let mut out = Phase {
        name,
        elapsed: stopped - started,
        tally,
        deliveries: deliveries.iter().sum(),
        ..Phase::default()
    };
    out.tally.sort();
    out.received_during = vendor.distinct();
    out.pending_at_end = pending(&client, base, &tokens.admin).await?;
    let created = out.tally.created();
    if out.deliveries != created * per_record as u64 {
        bail!(
            "{name}: {created} records produced {} deliveries, not {per_record} each",
            out.deliveries
        );
    }
    if out.deliveries > 0 {
        {
            let mut r = vendor.lock();
            r.target = out.deliveries as usize;
            if r.keys.len() >= r.target {
                r.reached = Some(Instant::now());
            }
        }
        vendor.wait(DRAIN_TIMEOUT).await?;
    }
    wait_empty(&client, base, &tokens.admin).await?;
    out.drained_after = stopped.elapsed();
    out.vendor_requests = vendor.lock().requests;
    Ok(out)
}

// ---------------------------------------------------------------------------------------

fn print_results(settings: &Settings, t: &Throughput, phases: &[Phase], left_out: usize) {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!();
    println!(
        "outbox delivery to a fast local vendor ({cores} cores available; {} pushes in \
         flight per vendor)",
        settings.concurrency
    );
    let e2e = t.end_to_end.as_secs_f64();
    let drained = t.records - t.at_writes_end.min(t.records);
    let drain = t.end_to_end.saturating_sub(t.writes).as_secs_f64();
    println!(
        "  {} records in {} NDJSON batches of up to {}, one delivery each",
        t.records, t.batches, settings.batch_size
    );
    println!(
        "  writes:                 {:>9.0} ms  ({:.0} records/s)",
        ms(t.writes),
        t.records as f64 / t.writes.as_secs_f64()
    );
    println!(
        "  end to end:             {:>9.0} ms  ({:.0} deliveries/s, first batch sent -> last \
         key received)",
        ms(t.end_to_end),
        t.records as f64 / e2e
    );
    if drain > 0.0 {
        println!(
            "  drain after the writes: {:>9.0} ms  ({drained} deliveries, {:.0} deliveries/s)",
            drain * 1e3,
            drained as f64 / drain
        );
    } else {
        println!("  drain after the writes: every delivery arrived before the last batch returned");
    }
    println!(
        "  received when the writes finished: {}; outbox depth (pending) then: {}",
        t.at_writes_end, t.depth_after_writes
    );
    println!(
        "  vendor requests: {} ({} resent with a key already received, {} to another \
         endpoint); pending 0 after {:.1} ms more",
        t.requests,
        t.requests.saturating_sub(t.records as u64),
        t.other_paths,
        ms(t.recorded_after)
    );

    println!();
    println!(
        "write latency with and without a delivery ({} concurrent clients, single POST \
         /v1/records, {} s per phase)",
        settings.clients, settings.secs
    );
    println!(
        "  push: every write enqueues a delivery, pushed while the writes go on; none: no \
         forwarder step ({left_out} forwarding test cases left out of that copy); received and \
         pending@end: when the clients stopped; drained: clients stopped -> all received and \
         none pending; resent: vendor requests beyond one per delivery"
    );
    println!(
        "{:<6} {} {:>10} {:>11} {:>10} {:>7}",
        "phase",
        Tally::headings(),
        "received",
        "pending@end",
        "drained ms",
        "resent"
    );
    for r in phases {
        println!(
            "{:<6} {} {:>10} {:>11} {:>10.0} {:>7}",
            r.name,
            r.tally.columns(r.elapsed),
            r.received_during,
            r.pending_at_end,
            ms(r.drained_after),
            r.vendor_requests.saturating_sub(r.deliveries),
        );
    }
    if let [a, b] = phases {
        println!(
            "added by a delivery (push - none): p50 {:+.2} ms, p99 {:+.2} ms",
            ms(a.p(0.50)) - ms(b.p(0.50)),
            ms(a.p(0.99)) - ms(b.p(0.99)),
        );
    }
    for r in phases.iter().filter(|r| r.failures() > 0) {
        println!();
        r.tally.print_failures(r.name);
    }
}

async fn run(settings: Settings) -> Result<()> {
    let vendor = Vendor::start().await?;
    eprintln!("vendor listening on {}", vendor.url);
    let bundles = tempfile::tempdir().context("creating a temporary directory")?;
    let (push, _) = bundle_copy(bundles.path(), "push", &vendor.url, true)?;
    let (none, left_out) = bundle_copy(bundles.path(), "none", &vendor.url, false)?;

    let t = with_gateway(&push, settings.concurrency, async |base, tokens| {
        throughput(&settings, &vendor, base, tokens).await
    })
    .await
    .context("deliveries per second")?;
    eprintln!(
        "deliveries: {} received in {:.0} ms",
        t.records,
        ms(t.end_to_end)
    );

    let mut phases = Vec::new();
    for (name, dir, per_record) in [("push", &push, 1), ("none", &none, 0)] {
        let phase = with_gateway(dir, settings.concurrency, async |base, tokens| {
            latency(name, &settings, &vendor, base, tokens, per_record).await
        })
        .await
        .with_context(|| format!("the {name} latency phase"))?;
        eprintln!(
            "{name}: {} requests, {} not 201",
            phase.requests(),
            phase.failures()
        );
        phases.push(phase);
    }
    print_results(&settings, &t, &phases, left_out);

    let failures: u64 = phases.iter().map(Phase::failures).sum();
    if failures > 0 {
        bail!("{failures} record writes were not answered 201");
    }
    if t.other_paths > 0 {
        bail!(
            "the vendor received {} requests at another endpoint than redirection",
            t.other_paths
        );
    }
    Ok(())
}

fn main() -> Result<()> {
    bench::block_on(run(Settings::from_args(&bench::Args::read())))
}
