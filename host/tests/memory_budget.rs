//! A bounded load test on loopback: 100 concurrent large batches against the real `sluice`
//! binary with a 64 MiB body budget. The gateway's peak memory follows the budget (the lines
//! in flight), not the 400 MiB of bodies offered at once, every batch is answered, and
//! `/healthz` keeps answering throughout.

use std::time::{Duration, Instant};

use sluice_test_support::cli::{Sluice, http_get, stop};
use sluice_test_support::http::post_ndjson;

const SLUICE: Sluice = Sluice::new(env!("CARGO_BIN_EXE_sluice"));

/// The peak resident memory (`VmHWM`) and the current one (`VmRSS`) of `pid`, in bytes.
fn memory_of(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<u64>().ok())
            .map(|kb| kb << 10)
            .unwrap_or_else(|| panic!("no {name} in /proc/{pid}/status"))
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// A batch body of about `bytes`: `call-recording` records with long plain notes.
fn batch_body(tag: usize, bytes: usize) -> String {
    let notes = "the caller asked about the invoice of last month and a new handset ".repeat(700);
    let mut body = String::with_capacity(bytes + notes.len() + 512);
    let mut i = 0;
    while body.len() < bytes {
        let record = serde_json::json!({
            "kind": "call-recording",
            "subject": format!("load-{tag}-{i}"),
            "fields": {
                "direction": "inbound",
                "party_number": "+44 1484 840048",
                "started_at": "2026-11-20T09:30:00Z",
                "recording_ref": "rec-0001",
                "notes": { "summary": { "text": notes } },
            }
        });
        body.push_str(&record.to_string());
        body.push('\n');
        i += 1;
    }
    body
}

#[cfg(target_os = "linux")]
#[test]
fn memory_stays_under_the_budget_with_100_concurrent_large_batches() {
    const BATCHES: usize = 100;
    const BATCH_BYTES: usize = 4 << 20;
    const BUDGET_MIB: u64 = 64;
    const CACHE_MIB: u64 = 16;
    let served = SLUICE.serve_provu_fresh(
        &["--role", "service"],
        &[
            "--body-memory-mib",
            &BUDGET_MIB.to_string(),
            "--plugin-instances",
            "64",
            // The test is about memory: 8 pipelines share 2 cores with the clients here, so
            // a plugin call takes several times its CPU time in wall-clock time.
            "--plugin-deadline-ms",
            "5000",
            "--store-cache-mib",
            &CACHE_MIB.to_string(),
            // Every batch waits for its share rather than being shed: all are answered.
            "--queue-timeout-ms",
            "120000",
        ],
    );
    let (port, service) = (served.port, &served.token);
    let pid = served.gateway.0.id();
    let bodies: Vec<String> = (0..BATCHES).map(|i| batch_body(i, BATCH_BYTES)).collect();
    let records: usize = bodies.iter().map(|b| b.lines().count()).sum();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    // Warm up: the plugins compiled and instantiated, the writer running.
    let url = format!("{base}/v1/records:batch");
    let warm = rt.block_on(async {
        post_ndjson(&client, &url, service, batch_body(9999, 256 << 10))
            .await
            .unwrap()
            .status()
    });
    assert_eq!(warm, 200);
    let (_, baseline) = memory_of(pid);

    let started = Instant::now();
    let (statuses, stored, refusals, worst_health) = rt.block_on(async {
        let mut tasks = Vec::new();
        for body in bodies {
            let (client, url, token) = (client.clone(), url.clone(), service.clone());
            tasks.push(tokio::spawn(async move {
                let resp = post_ndjson(&client, &url, &token, body).await.unwrap();
                let status = resp.status().as_u16();
                let text = resp.text().await.unwrap();
                let stored = text
                    .lines()
                    .filter(|l| l.contains("\"status\":201"))
                    .count();
                let refused: Vec<String> = text
                    .lines()
                    .filter(|l| !l.contains("\"status\":201"))
                    .map(|l| l.chars().take(300).collect())
                    .collect();
                (status, stored, refused)
            }));
        }
        // /healthz all along, from a thread of its own, on its own connections.
        let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let probe = {
            let done = done.clone();
            std::thread::spawn(move || {
                let mut worst = Duration::ZERO;
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    let t = Instant::now();
                    let body = http_get(port, "/healthz");
                    assert!(
                        body.is_some_and(|b| b.contains("\"ok\"")),
                        "/healthz did not answer under load"
                    );
                    worst = worst.max(t.elapsed());
                    std::thread::sleep(Duration::from_millis(50));
                }
                worst
            })
        };
        while tasks.iter().any(|t| !t.is_finished()) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        let worst = probe.join().unwrap();
        let mut statuses = Vec::new();
        let mut stored = 0;
        let mut refusals = Vec::new();
        for t in tasks {
            let (status, n, refused) = t.await.unwrap();
            statuses.push(status);
            stored += n;
            refusals.extend(refused);
        }
        (statuses, stored, refusals, worst)
    });
    let took = started.elapsed();
    let (peak, _) = memory_of(pid);
    let growth = peak.saturating_sub(baseline);
    println!(
        "{BATCHES} batches of {} MiB ({records} records) in {took:.1?}: peak RSS {} MiB, \
         {} MiB over the {} MiB after warm-up; body budget {BUDGET_MIB} MiB, page cache {CACHE_MIB} MiB; slowest /healthz \
         {worst_health:?}",
        BATCH_BYTES >> 20,
        peak >> 20,
        growth >> 20,
        baseline >> 20,
    );
    assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");
    assert!(refusals.is_empty(), "{refusals:?}");
    assert_eq!(stored, records, "every record of every batch is stored");
    // The bodies offered at once are 400 MiB; the gateway holds the budget's worth of them
    // (text, the parsed records of the chunks in flight, the answers) and its database page
    // cache, beside its plugin instances (8 pipelines here). Four times the budget and the
    // cache beyond the warm process is the bound (without the budget, the same load held
    // every body at once, several times over once parsed).
    assert!(
        growth < (4 * BUDGET_MIB + CACHE_MIB) << 20,
        "peak memory grew by {} MiB under a {BUDGET_MIB} MiB body budget and a {CACHE_MIB} MiB \
         page cache",
        growth >> 20
    );
    stop(served.gateway);
}
