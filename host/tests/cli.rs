//! The `sluice` command as an operator runs it.

use std::process::Command;

fn sluice(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .expect("running sluice");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn policy_test_runs_the_bundle_cases_offline() {
    let (ok, stdout, stderr) = sluice(&["policy", "test", "policies/provu"]);
    assert!(ok, "{stdout}\n{stderr}");
    let last = stdout.lines().last().unwrap_or_default();
    assert!(last.ends_with("passed, 0 failed"), "{stdout}");
    assert!(
        stdout.contains("ok      card-number-in-free-text-is-redacted"),
        "{stdout}"
    );
}

#[test]
fn policy_clauses_prints_every_clause_with_its_enforcement() {
    let (ok, stdout, stderr) = sluice(&["policy", "clauses"]);
    assert!(ok, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 29, "{stdout}");
    assert!(lines[0].starts_with("1 "), "{stdout}");
    assert!(
        stdout.contains("2.1.2") && stdout.contains("plugins: card-redaction"),
        "{stdout}"
    );
    assert!(
        stdout.contains("2.3.2") && stdout.contains("organisational:"),
        "{stdout}"
    );
    assert!(!stdout.contains("MISSING"), "{stdout}");
}

#[test]
fn policy_check_accepts_the_provu_bundle_and_refuses_a_broken_one() {
    let (ok, stdout, stderr) = sluice(&["policy", "check", "policies/provu"]);
    assert!(ok, "{stderr}");
    assert!(stdout.starts_with("provu@"), "{stdout}");

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("bundle.toml"),
        "format = 2\nname = \"Bad Name\"\nversion = \"1\"\nplugins = {}\nkinds = {}\n",
    )
    .unwrap();
    let (ok, _, stderr) = sluice(&["policy", "check", dir.path().to_str().unwrap()]);
    assert!(!ok);
    assert!(
        stderr.contains("invalid policy bundle (3 problems)"),
        "{stderr}"
    );
    assert!(stderr.contains("format = 2 is not supported"), "{stderr}");
    assert!(stderr.contains("no record kinds"), "{stderr}");
}

#[test]
fn serve_refuses_to_start_on_an_invalid_bundle() {
    let bundle = tempfile::tempdir().unwrap();
    std::fs::write(bundle.path().join("bundle.toml"), "format = 1\n").unwrap();
    let data = tempfile::tempdir().unwrap();
    let (ok, _, stderr) = sluice(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        data.path().to_str().unwrap(),
        "--policies",
        bundle.path().to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(stderr.contains("bundle.toml"), "{stderr}");
}
