//! The `sluice` command as an operator runs it.

use sluice_test_support::bundle::{PROVU, provu_copy, set_version};
use sluice_test_support::cli::{
    Sluice, free_port, http_get, http_get_as, http_post, http_post_as, request_json, stop, wait_for,
};

const SLUICE: Sluice = Sluice::new(env!("CARGO_BIN_EXE_sluice"));

/// `sluice ARGS...` in the workspace root: whether it succeeded, its output and its errors.
fn sluice(args: &[&str]) -> (bool, String, String) {
    SLUICE.run(args)
}

/// A data directory (`data` in a temporary directory, which holds the test's other files
/// too) that no gateway has opened yet.
#[cfg(unix)]
struct DataDir {
    tmp: tempfile::TempDir,
    path: std::path::PathBuf,
}

#[cfg(unix)]
impl DataDir {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("data");
        Self { tmp, path }
    }

    /// The directory as an argument.
    fn arg(&self) -> &str {
        self.path.to_str().unwrap()
    }

    /// `sluice token COMMAND --data-dir DATA ARGS...`.
    fn token(&self, command: &str, args: &[&str]) -> (bool, String, String) {
        sluice(&[&["token", command, "--data-dir", self.arg()][..], args].concat())
    }
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

#[cfg(unix)]
#[test]
fn keygen_sign_and_publish_update_a_running_gateway_and_sighup_reloads_its_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let key = root.join("publisher");
    let (ok, stdout, stderr) = sluice(&["keygen", "--out", key.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    let key_id = stdout.lines().last().unwrap().to_string();
    assert!(key_id.starts_with("ed25519:"), "{stdout}");
    let secret = root.join("publisher.key");
    let public = root.join("publisher.pub");
    // The secret key is readable by its owner only, and never overwritten.
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(&secret).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let (ok, _, stderr) = sluice(&["keygen", "--out", key.to_str().unwrap()]);
    assert!(!ok && stderr.contains("never overwritten"), "{stderr}");

    let served = provu_copy(&root.join("served"), "2026.11.0");
    let port = free_port();
    let data = root.join("data");
    // Tokens are issued on the stopped gateway's data directory.
    let compliance = SLUICE.create_token(&data, &["--role", "compliance"]);
    // The compliance team of another tenant, which never activates a bundle of its own.
    let other = SLUICE.create_token(&data, &["--role", "compliance", "--tenant", "other"]);
    let gateway = SLUICE.serve(
        port,
        &[
            "--data-dir",
            data.to_str().unwrap(),
            "--policies",
            &served,
            "--trusted-key",
            public.to_str().unwrap(),
        ],
        &[],
    );
    let active = || http_get_as(port, "/v1/admin/active", &compliance).unwrap_or_default();
    assert!(active().contains("\"bundle\":\"provu@2026.11.0\""));

    // The three-command loop: keygen (above), sign, publish.
    let v2 = provu_copy(&root.join("v2"), "2026.12.0");
    let (ok, stdout, stderr) = sluice(&["bundle", "sign", &v2, "--key", secret.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("signed provu@2026.12.0 (sha256:"),
        "{stdout}"
    );
    assert!(stdout.contains(&key_id), "{stdout}");
    let url = format!("http://127.0.0.1:{port}");
    let (ok, stdout, stderr) = sluice(&[
        "bundle",
        "publish",
        &v2,
        "--url",
        &url,
        "--activate",
        "--token",
        &compliance,
    ]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("published provu@2026.12.0"), "{stdout}");
    assert!(
        stdout
            .contains("active: provu@2026.12.0 (was provu@2026.11.0; 39 policy test cases passed"),
        "{stdout}"
    );
    assert!(active().contains("\"bundle\":\"provu@2026.12.0\""));

    // Unsigned: refused, and the gateway keeps its bundle.
    let v3 = provu_copy(&root.join("v3"), "2026.12.1");
    let (ok, _, stderr) = sluice(&[
        "bundle",
        "publish",
        &v3,
        "--url",
        &url,
        "--activate",
        "--token",
        &compliance,
    ]);
    assert!(!ok);
    assert!(stderr.contains("422: the bundle is unsigned"), "{stderr}");
    assert!(active().contains("\"bundle\":\"provu@2026.12.0\""));

    // The activation was tenant `default`'s: the gateway default and the other tenant are
    // still on the bundle the gateway started with.
    let other_active = || http_get_as(port, "/v1/admin/active", &other).unwrap_or_default();
    assert!(other_active().contains("\"bundle\":\"provu@2026.11.0\""));
    assert!(
        http_get(port, "/healthz")
            .unwrap_or_default()
            .contains("provu@2026.11.0")
    );

    // SIGHUP reloads the policy directory through the gate, as the gateway default: the
    // tenant without a bundle of its own runs on it, the one with its own keeps it.
    set_version(std::path::Path::new(&served), "2026.11.0", "2026.11.5").unwrap();
    sluice_test_support::cli::signal(&gateway, "HUP");
    wait_for("the reload", || {
        other_active().contains("\"bundle\":\"provu@2026.11.5\"")
    });
    assert!(other_active().contains("\"action\":\"reload\""));
    assert!(
        http_get(port, "/healthz")
            .unwrap_or_default()
            .contains("provu@2026.11.5")
    );
    assert!(active().contains("\"bundle\":\"provu@2026.12.0\""));
}

#[cfg(unix)]
#[test]
fn audit_verify_checks_the_hash_chain_and_names_the_entry_that_was_changed() {
    use redb::{ReadableDatabase as _, ReadableTable as _};
    let served = SLUICE.serve_provu_fresh(&["--role", "service"], &[]);
    let (port, data, service) = (served.port, &served.data, &served.token);
    for i in 0..3 {
        let record = format!(
            r#"{{"kind":"contact","subject":"c-{i}","fields":{{"name":"Ada Lovelace","organisation":"Analytical Engines Ltd","relationship":"customer","email":"ada@example.co.uk"}}}}"#
        );
        assert_eq!(http_post_as(port, "/v1/records", &record, service), 201);
    }
    stop(served.gateway);
    let data_dir = data.to_str().unwrap();
    let (ok, stdout, stderr) = sluice(&["audit", "verify", "--data-dir", data_dir]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("audit log intact"), "{stdout}");

    // Flip one byte of a stored audit entry (the third record's creation).
    let entries = {
        let db = redb::Database::open(data.join("sluice.redb")).unwrap();
        let txn = db.begin_read().unwrap();
        let table = txn.open_table(sluice::store::tables::AUDIT).unwrap();
        let found: Vec<(u64, String)> = table
            .iter()
            .unwrap()
            .map(|e| {
                let (k, v) = e.unwrap();
                (k.value(), String::from_utf8(v.value().to_vec()).unwrap())
            })
            .collect();
        found
    };
    let (seq, text) = entries
        .iter()
        .filter(|(_, t)| t.contains("\"record.created\""))
        .nth(1)
        .cloned()
        .unwrap();
    let tampered = text.replacen("record.created", "record.crea7ed", 1);
    {
        let db = redb::Database::open(data.join("sluice.redb")).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(sluice::store::tables::AUDIT)
            .unwrap()
            .insert(seq, tampered.as_bytes())
            .unwrap();
        txn.commit().unwrap();
    }
    let (ok, _, stderr) = sluice(&["audit", "verify", "--data-dir", data_dir]);
    assert!(!ok);
    assert!(
        stderr.contains(&format!("audit log tampered with at entry {seq}")),
        "{stderr}"
    );
}

#[cfg(unix)]
#[test]
fn tokens_are_issued_offline_revoked_online_and_never_logged() {
    let data = DataDir::new();
    let data_dir = data.arg();
    // Issued on a data directory no gateway has opened yet; the token is the last line.
    let (ok, stdout, stderr) = data.token("create", &["--role", "service", "--tenant", "acme"]);
    assert!(ok, "{stderr}");
    let service = stdout.lines().last().unwrap().trim().to_string();
    assert!(
        service.starts_with("sluice_") && !service.contains(' '),
        "{stdout}"
    );
    assert!(stdout.contains("for tenant acme"), "{stdout}");
    let admin = SLUICE.create_token(&data.path, &["--role", "admin"]);
    let (ok, _, stderr) = data.token("create", &["--role", "vendor"]);
    assert!(!ok && stderr.contains("needs a vendor"), "{stderr}");
    // Only the hash is stored: the token is nowhere in the database file.
    let db_bytes = std::fs::read(data.path.join("sluice.redb")).unwrap();
    let secret = &service["sluice_".len()..];
    assert!(
        !db_bytes
            .windows(secret.len())
            .any(|w| w == secret.as_bytes()),
        "the token itself is stored"
    );
    let (ok, listed, _) = data.token("list", &[]);
    assert!(ok && listed.contains("service\tacme\tvalid"), "{listed}");
    assert!(!listed.contains(secret), "{listed}");

    let port = free_port();
    let log = data.tmp.path().join("gateway.log");
    let gateway = SLUICE.serve_to(
        port,
        &["--data-dir", data_dir, "--policies", PROVU],
        &[("RUST_LOG", "debug")],
        std::fs::File::create(&log).unwrap().into(),
        std::fs::File::create(data.tmp.path().join("stderr.log"))
            .unwrap()
            .into(),
    );
    let record = r#"{"kind":"contact","subject":"c-1","fields":{"name":"Ada","organisation":"AE Ltd","relationship":"customer"}}"#;
    assert_eq!(http_post_as(port, "/v1/records", record, &service), 201);
    assert_eq!(http_post(port, "/v1/records", record), 401);
    assert_eq!(
        http_post_as(port, "/v1/records", record, "sluice_forged"),
        401
    );
    assert_eq!(http_post_as(port, "/v1/records", record, &admin), 403);

    // The running gateway issues and revokes through the admin route; a revoked token
    // stops working at once.
    let issued = request_json(
        port,
        "POST",
        "/v1/admin/tokens",
        r#"{"role":"service","tenant":"acme"}"#,
        &admin,
    );
    let second = issued["token"].as_str().unwrap().to_string();
    let id = issued["record"]["id"].as_str().unwrap().to_string();
    assert_eq!(http_post_as(port, "/v1/records", record, &second), 201);
    let revoked = request_json(
        port,
        "DELETE",
        &format!("/v1/admin/tokens/{id}"),
        "",
        &admin,
    );
    assert!(revoked["revoked"]["revoked_at"].is_string(), "{revoked}");
    assert_eq!(http_post_as(port, "/v1/records", record, &second), 401);
    stop(gateway);

    // Revoked offline: refused after the restart.
    let (ok, stdout, stderr) = data.token("revoke", &[&service]);
    assert!(
        ok && stdout.contains("revoked service token tok_"),
        "{stdout}{stderr}"
    );
    let gateway = SLUICE.serve(port, &["--data-dir", data_dir, "--policies", PROVU], &[]);
    assert_eq!(http_post_as(port, "/v1/records", record, &service), 401);
    stop(gateway);

    let logged = std::fs::read_to_string(&log).unwrap()
        + &std::fs::read_to_string(data.tmp.path().join("stderr.log")).unwrap();
    assert!(logged.contains("token issued"), "the issue is logged by id");
    for token in [&service, &admin, &second] {
        assert!(
            !logged.contains(&token["sluice_".len()..]),
            "a token was logged"
        );
    }
    assert!(
        !logged.contains("sluice_forged"),
        "a presented token was logged"
    );
}

#[cfg(unix)]
#[test]
fn vendor_tokens_are_issued_offline_only_for_vendors_of_the_active_register() {
    let data = DataDir::new();
    let tmp = &data.tmp;
    let vendor = |args: &[&str]| data.token("create", &[&["--role", "vendor"][..], args].concat());
    // No gateway has opened the database: the bundle it will start on (`--policies`,
    // policies/provu by default) decides.
    let (ok, stdout, stderr) = vendor(&["--vendor", "acme"]);
    assert!(!ok, "{stdout}");
    assert!(
        stderr.contains("`acme` is not in the subprocessor register") && stderr.contains("3.2"),
        "{stderr}"
    );
    let (ok, stdout, stderr) = vendor(&["--vendor", "yealink"]);
    assert!(
        ok && stdout.contains("for vendor yealink"),
        "{stdout}{stderr}"
    );
    let listing_acme = tmp.path().join("with-acme");
    provu_copy(&listing_acme, "2026.11.1");
    let manifest = listing_acme.join("bundle.toml");
    let text = std::fs::read_to_string(&manifest).unwrap();
    std::fs::write(
        &manifest,
        format!("{text}\n[register.acme]\nname = \"Acme\"\ncategory = \"other\"\n"),
    )
    .unwrap();
    let with_acme = listing_acme.to_str().unwrap();
    let (ok, stdout, stderr) = vendor(&["--vendor", "acme", "--policies", with_acme]);
    assert!(ok && stdout.contains("for vendor acme"), "{stdout}{stderr}");
    let missing = tmp.path().join("missing");
    let missing = missing.to_str().unwrap();
    let (ok, _, stderr) = vendor(&["--vendor", "dpd", "--policies", missing]);
    assert!(
        !ok && stderr.contains("no bundle is active in the database yet"),
        "{stderr}"
    );
    let (_, listed, _) = data.token("list", &[]);
    assert_eq!(listed.lines().count(), 2, "{listed}");

    // Once a gateway has started on it, the registers of the bundles active in the database
    // decide, whatever `--policies` says.
    let port = free_port();
    let gateway = SLUICE.serve(port, &["--data-dir", data.arg(), "--policies", PROVU], &[]);
    stop(gateway);
    let (ok, _, stderr) = vendor(&["--vendor", "acme", "--policies", with_acme]);
    assert!(
        !ok && stderr.contains("`acme` is not in the subprocessor register"),
        "{stderr}"
    );
    let (ok, stdout, stderr) = vendor(&["--vendor", "dpd", "--policies", missing]);
    assert!(ok && stdout.contains("for vendor dpd"), "{stdout}{stderr}");
    let (_, listed, _) = data.token("list", &[]);
    assert_eq!(listed.lines().count(), 3, "{listed}");
}
