//! The API fuzzer: schemathesis (pinned in `tests/fuzz/requirements.txt`, installed into
//! `<repo>/.venv` by `.ci/run`) sends generated requests, valid and invalid, to every
//! operation of the gateway's own OpenAPI document, once per role with a token of that
//! role. Any 5xx, any status, content type, header or body that the document does not
//! describe, and any crash fails the test.
//!
//! The runs share one gateway; the operators' run comes last, so that what it may do to the
//! gateway's state (revoke a token, reload the policy) cannot spoil the others. A revoked
//! token is no failure either: its 401 is a documented answer.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use sluice::auth::Role;
use sluice_tests::TestEnv;

/// The checks run on every response.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
                      response_headers_conformance,response_schema_conformance,ignored_auth";

/// Test cases per operation and phase.
const MAX_EXAMPLES: &str = "12";

/// The vendor whose token the vendor run uses (a courier of the ProVu register).
const VENDOR: &str = "dpd";

/// The schemathesis executable: `$SLUICE_SCHEMATHESIS`, or `<repo>/.venv/bin/schemathesis`.
fn schemathesis() -> PathBuf {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let path = std::env::var_os("SLUICE_SCHEMATHESIS")
        .map_or_else(|| repo.join(".venv/bin/schemathesis"), PathBuf::from);
    assert!(
        path.exists(),
        "schemathesis is not installed at {}: run `bash .ci/run` once, or install it by hand \
         with `python3 -m venv .venv && .venv/bin/pip install -r tests/fuzz/requirements.txt` \
         at the repository root (or set SLUICE_SCHEMATHESIS to its path)",
        path.display()
    );
    path
}

/// One role's run: the operations its token may call, as the tags of the operations to
/// include (`--include-tag`) and further schemathesis filters.
struct Run {
    role: Role,
    vendor: Option<&'static str>,
    tags: &'static [&'static str],
    filters: &'static [&'static str],
    /// The run's time budget in seconds: schemathesis keeps fuzzing until it is spent.
    seconds: u64,
}

const RUNS: &[Run] = &[
    Run {
        role: Role::Service,
        vendor: None,
        tags: &["service", "rights", "any"],
        filters: &[],
        seconds: 30,
    },
    Run {
        role: Role::Compliance,
        vendor: None,
        tags: &["compliance", "rights", "any"],
        filters: &[],
        seconds: 30,
    },
    Run {
        role: Role::Vendor,
        vendor: Some(VENDOR),
        tags: &["vendor", "any"],
        filters: &[],
        seconds: 12,
    },
    // Schemathesis reuses the ids that responses show (`GET /v1/admin/tokens`), so revoking
    // tokens would soon revoke the run's own: that operation has a run of its own, last.
    Run {
        role: Role::Admin,
        vendor: None,
        tags: &["admin", "any", "public"],
        filters: &["--exclude-operation-id", "revoke"],
        seconds: 25,
    },
    Run {
        role: Role::Admin,
        vendor: None,
        tags: &[],
        filters: &["--include-operation-id", "revoke"],
        seconds: 5,
    },
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_nothing() {
    let exe = schemathesis();
    let started = Instant::now();
    let mut failures = Vec::new();
    let env = TestEnv::provu().await;
    // A few records, so that reads, searches and exports have something to show.
    for subject in ["ada", "grace"] {
        env.create(&crate::contact(subject)).await;
    }
    let hooks = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/hooks.py");
    for run in RUNS {
        // A token of its own for each run (the last one revokes tokens).
        let token = env.issue_token(run.role, None, run.vendor);
        let work = tempfile::tempdir().expect("a scratch directory");
        let out_path = work.path().join("out.txt");
        let out = std::fs::File::create(&out_path).expect("the output file");
        let mut cmd = std::process::Command::new(&exe);
        cmd.current_dir(work.path())
            .arg("run")
            .arg(format!("{}/openapi.json", env.base))
            .args(["--url", &env.base])
            .args(["--checks", CHECKS])
            .args(["--phases", "examples,coverage,fuzzing"])
            .args(["--mode", "all"])
            .args(["--max-examples", MAX_EXAMPLES])
            .args(["--max-time", &run.seconds.to_string()])
            // One worker: two trip a CPython 3.11 race in `ast.parse` (hypothesis describes its
            // filters from their source), which schemathesis reports as an error.
            .args(["--workers", "1"])
            .args(["--request-timeout", "10"])
            .args(["--generation-database", "none"])
            .args(["--seed", &seed()])
            .args(["--no-color", "--output-truncate", "false"])
            .args(["-H", &format!("Authorization: Bearer {token}")])
            .env("SCHEMATHESIS_HOOKS", &hooks)
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("the output file"))
            .stderr(out);
        for tag in run.tags {
            cmd.args(["--include-tag", tag]);
        }
        cmd.args(run.filters);
        let begun = Instant::now();
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("running {}: {e}", exe.display()));
        let deadline = Duration::from_secs(run.seconds * 3 + 30);
        let status = loop {
            if let Some(status) = child.try_wait().expect("waiting for schemathesis") {
                break Some(status);
            }
            if begun.elapsed() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        let output = std::fs::read_to_string(&out_path).unwrap_or_default();
        eprintln!(
            "schemathesis as {} ({:.1}s):\n{output}",
            run.role,
            begun.elapsed().as_secs_f64()
        );
        match status {
            Some(s) if s.success() => {}
            Some(s) => failures.push(format!("{} ({s})", run.role)),
            None => failures.push(format!("{} (did not finish in {deadline:?})", run.role)),
        }
    }
    env.stop().await;
    eprintln!(
        "schemathesis: {} runs in {:.1}s",
        RUNS.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "schemathesis found problems in the runs as {} (see the output above; rerun one \
         case with the seed and the `curl` line it prints)",
        failures.join(", ")
    );
}

/// The seed of the generated data: `$SLUICE_FUZZ_SEED`, or a fixed one so that CI runs
/// are repeatable.
fn seed() -> String {
    std::env::var("SLUICE_FUZZ_SEED").unwrap_or_else(|_| "20261201".to_string())
}
