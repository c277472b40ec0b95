//! `sluice backup` and `sluice restore` as an operator runs them: backup while serving,
//! wipe, restore; every record and the audit chain come back identical.
#![cfg(unix)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use redb::{ReadableDatabase as _, ReadableTable as _};
use serde_json::{Value, json};
use sluice_test_support::bundle::PROVU as POLICIES;
use sluice_test_support::cli::{Sluice, free_port, request, stop, wait_for};

const SLUICE: Sluice = Sluice::new(env!("CARGO_BIN_EXE_sluice"));

fn sluice_with(args: &[&str], envs: &[(&str, &str)]) -> (bool, String, String) {
    SLUICE.run_with(args, envs)
}

fn sluice(args: &[&str]) -> (bool, String, String) {
    SLUICE.run(args)
}

fn create_token(data: &Path, args: &[&str]) -> String {
    SLUICE.create_token(data, args)
}

fn serve(port: u16, args: &[&str], envs: &[(&str, &str)]) -> sluice_test_support::cli::Child {
    SLUICE.serve(port, args, envs)
}

/// `sluice restore --from FROM --key KEY --data-dir DATA`, with `--force` when `force`.
fn restore(from: &Path, key: &Path, data: &Path, force: bool) -> (bool, String, String) {
    let mut args = vec![
        "restore",
        "--from",
        s(from),
        "--key",
        s(key),
        "--data-dir",
        s(data),
    ];
    if force {
        args.push("--force");
    }
    sluice(&args)
}

/// `GET /v1/records/{id}` with `token`: the status and the body.
fn read(port: u16, token: &str, id: &str) -> (u16, String) {
    request(port, "GET", &format!("/v1/records/{id}"), token, None)
}

/// `DELETE /v1/records/{id}` with `token`: the status.
fn delete(port: u16, token: &str, id: &str) -> u16 {
    request(port, "DELETE", &format!("/v1/records/{id}"), token, None).0
}

/// `sluice audit verify --data-dir DATA`.
fn audit_verify(data: &Path) -> (bool, String, String) {
    sluice(&["audit", "verify", "--data-dir", s(data)])
}

/// `sluice backup --url URL --out OUT --key KEY`, with `SLUICE_TOKEN` set to `token` when
/// given.
fn backup_over_http(
    url: &str,
    out: &Path,
    key: &Path,
    token: Option<&str>,
) -> (bool, String, String) {
    let args = ["backup", "--url", url, "--out", s(out), "--key", s(key)];
    let envs: Vec<(&str, &str)> = token.map(|t| ("SLUICE_TOKEN", t)).into_iter().collect();
    sluice_with(&args, &envs)
}

/// `sluice backup --data-dir DATA --out OUT --key KEY`.
fn backup_offline(data: &Path, out: &Path, key: &Path) -> (bool, String, String) {
    sluice(&[
        "backup",
        "--data-dir",
        s(data),
        "--out",
        s(out),
        "--key",
        s(key),
    ])
}

/// A temporary directory for a test's files, the data directory `data` in it and the path
/// of its backup key, `backup.key`.
fn files() -> (tempfile::TempDir, PathBuf, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let key = tmp.path().join("backup.key");
    (tmp, data, key)
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// `POST /v1/records`; the new record's id.
fn create(port: u16, token: &str, record: &Value) -> String {
    let (status, body) = request(port, "POST", "/v1/records", token, Some(record));
    assert_eq!(status, 201, "{record}: {body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    body["id"].as_str().unwrap().to_string()
}

fn contact(subject: &str, name: &str) -> Value {
    json!({"kind": "contact", "subject": subject, "fields": {
        "name": name, "organisation": "Analytical Engines Ltd", "relationship": "customer",
        "email": "ada@example.co.uk", "phone": "01484 840048"}})
}

/// The audit log of the (stopped) gateway's database in `data`: sequence number -> the
/// entry's stored bytes.
fn audit_log(data: &Path) -> BTreeMap<u64, Vec<u8>> {
    let db = redb::Database::open(data.join("sluice.redb")).unwrap();
    let txn = db.begin_read().unwrap();
    let table = txn.open_table(sluice::store::tables::AUDIT).unwrap();
    table
        .iter()
        .unwrap()
        .map(|e| {
            let (k, v) = e.unwrap();
            (k.value(), v.value().to_vec())
        })
        .collect()
}

fn events(log: &BTreeMap<u64, Vec<u8>>) -> Vec<Value> {
    log.values()
        .map(|v| serde_json::from_slice(v).unwrap())
        .collect()
}

/// Every table of the database in `data`, as a snapshot dated 0.
fn everything(data: &Path) -> Vec<u8> {
    let db = redb::Database::open(data.join("sluice.redb")).unwrap();
    let txn = db.begin_read().unwrap();
    let mut out = Vec::new();
    sluice::backup::dump_txn(&txn, 0, &mut out).unwrap();
    out
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn backup_wipe_restore_brings_back_every_record_and_the_audit_chain() {
    let (tmp, data, key) = files();
    let root = tmp.path();
    let other_key = root.join("other.key");
    let file = root.join("gateway.sluice-backup");

    // The backup key: 64 hex digits, the owner's only, never overwritten.
    let (ok, stdout, stderr) = sluice(&["backup-key", "--out", s(&key)]);
    assert!(ok, "{stderr}");
    let text = std::fs::read_to_string(&key).unwrap();
    assert_eq!(text.len(), 65, "{text:?}");
    assert!(text.trim().bytes().all(|b| b.is_ascii_hexdigit()), "{text}");
    assert_eq!(mode(&key), 0o600);
    assert!(stdout.contains("key id "), "{stdout}");
    let (ok, _, stderr) = sluice(&["backup-key", "--out", s(&key)]);
    assert!(!ok && stderr.contains("never overwritten"), "{stderr}");
    assert_eq!(std::fs::read_to_string(&key).unwrap(), text);
    assert!(sluice(&["backup-key", "--out", s(&other_key)]).0);

    let service = create_token(&data, &["--role", "service", "--tenant", "default"]);
    let admin = create_token(&data, &["--role", "admin"]);
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let serve_args = ["--data-dir", s(&data), "--policies", POLICIES];
    let gateway = serve(port, &serve_args, &[]);

    // Records of several kinds, a rectification and a deletion.
    let mut ids: Vec<String> = Vec::new();
    let ada = create(port, &service, &contact("subject-1", "Ada Lovelace"));
    ids.push(ada.clone());
    let others = [
        json!({"kind": "call-recording", "subject": "subject-1", "fields": {
            "direction": "inbound", "party_number": "+44 1484 840048",
            "started_at": "2026-11-20T09:30:00Z", "recording_ref": "rec-0001",
            "notes": {"summary": {"text": "card 4111 1111 1111 1111"}}}}),
        json!({"kind": "delivery", "subject": "recipient-1", "fields": {
            "name": "Grace Hopper", "company": "Hopper Labs",
            "address": {"line1": "1 Savile Street", "city": "Huddersfield",
                        "postcode": "HD3 4PG", "country": "GB"},
            "courier": "dpd", "order_ref": "ORD-2026-004242", "phone": "07700 900123",
            "ready_to_ship": false}}),
        json!({"kind": "marketing-subscription", "subject": "sub-1", "fields": {
            "email": "ada@example.co.uk", "joined_at": "2026-10-01T00:00:00Z",
            "basis": "opt-in",
            "consent_evidence": {"form": "newsletter", "ip": "203.0.113.7",
                                 "at": "2026-10-01T00:00:00Z"}}}),
    ];
    ids.extend(others.iter().map(|record| create(port, &service, record)));
    let web_form = create(
        port,
        &service,
        &json!({"kind": "web-form", "subject": "visitor-1", "fields": {
            "form": "quote", "purpose": "quote-request", "fields": {"message": "a quote"}}}),
    );
    ids.push(web_form.clone());
    // Web-form data is disclosed for the purpose the form stated only (clause 2.3.1).
    let path = |id: &str| {
        if id == web_form {
            format!("/v1/records/{id}?purpose=quote-request")
        } else {
            format!("/v1/records/{id}")
        }
    };
    let (status, body) = request(
        port,
        "PATCH",
        &format!("/v1/records/{ada}"),
        &service,
        Some(&json!({"fields": {"job_title": "Countess"}})),
    );
    assert_eq!(status, 200, "{body}");
    let gone = create(port, &service, &contact("subject-2", "Charles Babbage"));
    let status = delete(port, &service, &gone);
    assert_eq!(status, 204);

    // Only an admin token may take a backup; a refused backup leaves no file behind.
    let refused = root.join("refused.sluice-backup");
    let (ok, _, stderr) = backup_over_http(&url, &refused, &key, None);
    assert!(!ok && stderr.contains("401"), "{stderr}");
    let (ok, _, stderr) = backup_over_http(&url, &refused, &key, Some(&service));
    assert!(!ok && stderr.contains("403"), "{stderr}");
    assert!(!refused.exists() && !root.join("refused.sluice-backup.tmp").exists());
    // The database of a running gateway is locked: --data-dir is refused.
    let (ok, _, stderr) = backup_offline(&data, &refused, &key);
    assert!(!ok, "{stderr}");
    assert!(
        stderr.contains("the database is in use: stop the gateway or use --url"),
        "{stderr}"
    );
    // Exactly one source.
    let (ok, _, stderr) = sluice(&["backup", "--out", s(&refused), "--key", s(&key)]);
    assert!(!ok && stderr.contains("--url"), "{stderr}");

    // A write right before, writes while it runs, and a write right after the backup.
    ids.push(create(
        port,
        &service,
        &contact("subject-3", "Mary Somerville"),
    ));
    let mut backup = SLUICE
        .command()
        .args(["backup", "--url", &url, "--out", s(&file), "--key", s(&key)])
        .env("SLUICE_TOKEN", &admin)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut during = Vec::new();
    while backup.try_wait().unwrap().is_none() && during.len() < 500 {
        during.push(create(
            port,
            &service,
            &contact("subject-4", "Caroline Herschel"),
        ));
    }
    let output = backup.wait_with_output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("backup written to"), "{stdout}");
    assert!(!stdout.contains(&admin) && !stderr.contains(&admin));
    eprintln!("{} writes while the backup ran", during.len());
    let after = create(port, &service, &contact("subject-5", "Emmy Noether"));

    let bytes = std::fs::read(&file).unwrap();
    assert!(bytes.starts_with(b"SLUICE-BACKUP\0"));
    assert_eq!(mode(&file), 0o600);
    assert!(!root.join("gateway.sluice-backup.tmp").exists());
    // Encrypted: no personal data in the clear.
    let clear = String::from_utf8_lossy(&bytes);
    assert!(!clear.contains("Ada Lovelace") && !clear.contains("Huddersfield"));
    // An existing file is not overwritten.
    let (ok, _, stderr) = backup_over_http(&url, &file, &key, Some(&admin));
    assert!(!ok && stderr.contains("exists"), "{stderr}");
    assert_eq!(std::fs::read(&file).unwrap(), bytes);

    // What the records read as before the wipe.
    let mut reads = BTreeMap::new();
    for id in ids.iter().chain(&during).chain([&after]) {
        let (status, body) = request(port, "GET", &path(id), &service, None);
        assert_eq!(status, 200, "{id}: {body}");
        reads.insert(id.clone(), body);
    }
    let ada_read: Value = serde_json::from_str(&reads[&ada]).unwrap();
    assert_eq!(ada_read["fields"]["job_title"], "Countess");
    assert_eq!(ada_read["revision"], 2);
    let (status, _) = read(port, &service, &gone);
    assert_eq!(status, 404);

    // Restoring over the database of a running gateway is refused, even with --force.
    let (ok, _, stderr) = restore(&file, &key, &data, true);
    assert!(!ok && stderr.contains("is in use"), "{stderr}");
    stop(gateway);

    let original = audit_log(&data);
    let (ok, stdout, stderr) = audit_verify(&data);
    assert!(
        ok && stdout.contains("audit log intact"),
        "{stdout}{stderr}"
    );
    let backup_entry = events(&original)
        .into_iter()
        .find(|e| e["event"] == "backup.created")
        .expect("the backup is audited");
    let backup_seq = backup_entry["seq"].as_u64().unwrap();
    assert!(
        backup_entry["actor"].as_str().unwrap().starts_with("admin"),
        "{backup_entry}"
    );
    assert_eq!(backup_entry["detail"]["action"], "backup");

    // Restoring over an existing database needs --force; the database is left as it was.
    let db_file = data.join("sluice.redb");
    let db_bytes = std::fs::read(&db_file).unwrap();
    let (ok, _, stderr) = restore(&file, &key, &data, false);
    assert!(
        !ok && stderr.contains("exists") && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&db_file).unwrap(), db_bytes);

    // Wipe.
    std::fs::remove_dir_all(&data).unwrap();

    // A wrong key, a changed byte, a cut file: refused, and the data directory untouched.
    let bad = root.join("bad.sluice-backup");
    let mut flipped = bytes.clone();
    flipped[bytes.len() / 2] ^= 0x01;
    // Cut at the end of the first chunk (header 46 bytes, 1 MiB + 16-byte tag per chunk):
    // every chunk left verifies, but the one marked last is missing.
    let boundary = 46 + (1 << 20) + 16;
    assert!(
        bytes.len() > boundary,
        "the backup fits one chunk ({})",
        bytes.len()
    );
    let not_a_key = root.join("not-a-key");
    std::fs::write(&not_a_key, "hunter2\n").unwrap();
    // The contents of the file restored (the backup itself without), the key, the refusal.
    let refusals: [(Option<&[u8]>, &Path, &str); 7] = [
        (
            None,
            &other_key,
            "this backup was made with a different key",
        ),
        (
            Some(&flipped),
            &key,
            "the backup is corrupted or was tampered with (chunk ",
        ),
        (Some(&bytes[..bytes.len() - 100]), &key, "corrupted"),
        (
            Some(&bytes[..boundary]),
            &key,
            "the backup is truncated: it ends after chunk 1",
        ),
        (Some(&bytes[..46]), &key, "truncated"),
        (Some(b"not a backup at all"), &key, "not a Sluice backup"),
        (None, &not_a_key, "64 hex digits"),
    ];
    for (contents, key, refusal) in refusals {
        let from = match contents {
            Some(contents) => {
                std::fs::write(&bad, contents).unwrap();
                &bad
            }
            None => &file,
        };
        let (ok, _, stderr) = restore(from, key, &data, false);
        assert!(!ok && stderr.contains(refusal), "{refusal}: {stderr}");
        assert!(!data.exists(), "{refusal}");
    }

    // Restore.
    let (ok, stdout, stderr) = restore(&file, &key, &data, false);
    assert!(ok, "{stdout}\n{stderr}");
    let restored_entries: u64 = stdout
        .lines()
        .find_map(|l| l.strip_prefix("audit log intact: "))
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{stdout}"));
    assert!(!data.join("sluice.redb.restoring").exists());

    // The audit log up to the snapshot comes back byte for byte: the backup's own entry,
    // and whatever the concurrent writes had committed before the snapshot.
    let restored = audit_log(&data);
    assert_eq!(restored.len() as u64, restored_entries);
    assert!(
        restored_entries >= backup_seq,
        "{restored_entries} < {backup_seq}"
    );
    assert!((restored_entries as usize) < original.len());
    let prefix: BTreeMap<u64, Vec<u8>> = original
        .iter()
        .filter(|(k, _)| **k <= restored_entries)
        .map(|(k, v)| (*k, v.clone()))
        .collect();
    assert_eq!(restored, prefix, "the restored audit log differs");
    let created_in_snapshot: Vec<String> = events(&restored)
        .into_iter()
        .filter(|e| e["event"] == "record.created")
        .map(|e| e["record"].as_str().unwrap().to_string())
        .collect();

    // Every record reads the same; the ones written after the snapshot are not there.
    let gateway = serve(port, &serve_args, &[]);
    for id in &ids {
        let (status, body) = request(port, "GET", &path(id), &service, None);
        assert_eq!(status, 200, "{id}: {body}");
        assert_eq!(
            body, reads[id],
            "record {id} reads differently after the restore"
        );
    }
    // A write during the backup is in it whole (record and audit entry) or not at all.
    for id in &during {
        let (status, body) = request(port, "GET", &path(id), &service, None);
        if created_in_snapshot.contains(id) {
            assert_eq!(status, 200, "{id}: {body}");
            assert_eq!(body, reads[id]);
        } else {
            assert_eq!(
                status, 404,
                "{id} is in the snapshot without its audit entry"
            );
        }
    }
    let (status, _) = read(port, &service, &after);
    assert_eq!(status, 404, "a record written after the backup came back");
    let (status, _) = read(port, &service, &gone);
    assert_eq!(status, 404);
    stop(gateway);

    let (ok, stdout, stderr) = audit_verify(&data);
    assert!(
        ok && stdout.contains("audit log intact"),
        "{stdout}{stderr}"
    );
    let reopened = audit_log(&data);
    assert!(reopened.len() > restored.len(), "the reads are audited");
    for (seq, entry) in &restored {
        assert_eq!(&reopened[seq], entry);
    }

    // A stopped gateway's data directory: backed up directly, restored elsewhere, every
    // table identical.
    let offline = root.join("offline.sluice-backup");
    let (ok, stdout, stderr) = backup_offline(&data, &offline, &key);
    assert!(ok, "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("{} audit entries", reopened.len())),
        "{stdout}"
    );
    let elsewhere = root.join("elsewhere");
    let (ok, stdout, stderr) = restore(&offline, &key, &elsewhere, false);
    assert!(ok, "{stdout}\n{stderr}");
    assert!(
        stdout.contains(&format!("audit log intact: {} entries", reopened.len())),
        "{stdout}"
    );
    assert_eq!(everything(&data), everything(&elsewhere));
    // --force replaces a database.
    let (ok, _, stderr) = restore(&file, &key, &elsewhere, true);
    assert!(ok, "{stderr}");
    assert_eq!(audit_log(&elsewhere), restored);
}

/// A timestamp `secs` seconds from now, in RFC 3339.
fn in_secs(secs: i64) -> String {
    let t = time::OffsetDateTime::now_utc() + time::Duration::seconds(secs);
    t.replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

#[test]
fn a_restore_over_the_gateway_redoes_the_deletions_made_after_the_backup() {
    let (tmp, data, key) = files();
    let file = tmp.path().join("before.sluice-backup");
    assert!(sluice(&["backup-key", "--out", s(&key)]).0);
    let service = create_token(&data, &["--role", "service"]);
    let compliance = create_token(&data, &["--role", "compliance"]);
    let admin = create_token(&data, &["--role", "admin"]);
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let serve_args = [
        "--data-dir",
        s(&data),
        "--policies",
        POLICIES,
        "--sweep-interval",
        "1",
    ];
    let gateway = serve(port, &serve_args, &[]);

    // A prospect's contact (erased whole later), a contact deleted later, and a device whose
    // password falls due (15 days after provisioning, 2.2.2) a few seconds after the backup.
    let mut prospect = contact("prospect-1", "Hedy Lamarr");
    prospect["fields"]["relationship"] = json!("prospect");
    let hedy = create(port, &service, &prospect);
    let gone = create(port, &service, &contact("subject-9", "Alan Turing"));
    let device = create(
        port,
        &service,
        &json!({"kind": "device-provisioning", "subject": "end-user-9", "fields": {
            "mac": "00:15:65:00:00:09", "vendor": "yealink", "username": "1009",
            "password": "Pw-restore-0909", "sip_server": "sip.example.net",
            "provisioned_at": in_secs(4 - 15 * 86_400), "provisioning_host": "vendor"}}),
    );
    let (ok, stdout, stderr) = backup_over_http(&url, &file, &key, Some(&admin));
    assert!(ok, "{stdout}\n{stderr}");

    // After the backup: a deletion, an erasure and a retention deletion.
    let status = delete(port, &service, &gone);
    assert_eq!(status, 204);
    let (status, body) = request(
        port,
        "POST",
        "/v1/subjects/prospect-1/erasure",
        &compliance,
        Some(&json!({})),
    );
    assert_eq!(status, 200, "{body}");
    let password_gone = || {
        let (_, body) = read(port, &service, &device);
        !body.contains("Pw-restore-0909")
    };
    wait_for("the password's deletion", password_gone);
    stop(gateway);

    // Restoring the backup over the gateway's database carries those deletions over.
    let (ok, stdout, stderr) = restore(&file, &key, &data, true);
    assert!(ok, "{stdout}\n{stderr}");
    assert!(
        stdout.contains("re-applied when the gateway starts: 3"),
        "{stdout}"
    );
    // The restored file alone still holds them until the gateway starts...
    let restored = std::fs::read(data.join("sluice.redb")).unwrap();
    assert!(String::from_utf8_lossy(&restored).contains("Alan Turing"));

    // ...which re-applies them before it serves anything.
    let gateway = serve(port, &serve_args, &[]);
    for id in [&gone, &hedy] {
        let (status, body) = read(port, &service, id);
        assert_eq!(status, 404, "{id} came back with the restore: {body}");
    }
    let (status, body) = read(port, &service, &device);
    assert_eq!(status, 200, "{body}");
    assert!(!body.contains("Pw-restore-0909"), "{body}");
    let (status, outbox) = request(port, "GET", "/v1/admin/outbox?limit=1000", &admin, None);
    assert_eq!(status, 200);
    assert!(!outbox.contains("Pw-restore-0909"), "{outbox}");
    stop(gateway);
    let events: Vec<String> = events(&audit_log(&data))
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        events.iter().filter(|e| *e == "restore.reapplied").count(),
        3,
        "{events:?}"
    );
    let (ok, stdout, stderr) = audit_verify(&data);
    assert!(ok, "{stdout}\n{stderr}");

    // The deleted values may linger in freed pages of the file; a vacuum rewrites it with
    // only what is stored now, the audit chain intact.
    let (ok, stdout, stderr) = sluice(&["vacuum", "--data-dir", s(&data)]);
    assert!(ok, "{stdout}\n{stderr}");
    let file = std::fs::read(data.join("sluice.redb")).unwrap();
    for gone in ["Alan Turing", "Hedy Lamarr", "Pw-restore-0909"] {
        assert!(
            !file.windows(gone.len()).any(|w| w == gone.as_bytes()),
            "{gone} is still in the database file"
        );
    }
    let (ok, stdout, stderr) = audit_verify(&data);
    assert!(ok, "{stdout}\n{stderr}");
    let gateway = serve(port, &serve_args, &[]);
    let (status, body) = read(port, &service, &device);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("00:15:65:00:00:09"), "{body}");
    stop(gateway);
}
