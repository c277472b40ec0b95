//! Tests of backups (the snapshot here, the envelope and the files of [`crate::backup`]): every table is backed up, a backup restores the same database, the
//! envelope refuses what it must, snapshots with bad lengths, key files, and restores.

use std::collections::BTreeSet;
use std::fs;
use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;

use redb::{
    Database, MultimapTableHandle as _, ReadableDatabase, ReadableTable as _, TableHandle as _,
};

use super::*;
use crate::backup::envelope::{HEADER, KEY_ID};
use crate::backup::*;
use crate::store::redb::Store;
use crate::store::redb::audit;
use crate::store::{AuditEntry, Op, tables};

fn key() -> BackupKey {
    BackupKey::generate().unwrap()
}

/// A store with rows in every kind of table the gateway writes through the store, and a
/// few written directly.
async fn sample(dir: &Path) -> Store {
    let data = cap_std::fs::Dir::open_ambient_dir(dir, cap_std::ambient_authority()).unwrap();
    let store = Store::open(&data, Arc::new(crate::metrics::Metrics::new())).unwrap();
    for i in 0..5 {
        let entry = AuditEntry::admin(
            "test.entry",
            1_000 + i,
            "tester",
            None,
            serde_json::json!({"i": i}),
        );
        store.write(vec![Op::Audit(entry)]).await.unwrap();
    }
    let db = store.db().raw().clone();
    let txn = db.begin_write().unwrap();
    {
        let mut records = txn.open_table(tables::RECORDS).unwrap();
        records.insert("rec-1", b"{\"a\":1}".as_slice()).unwrap();
        records
            .insert("rec-2", b"{\"b\":[1,2]}".as_slice())
            .unwrap();
        let mut subjects = txn.open_multimap_table(tables::SUBJECTS).unwrap();
        subjects.insert(("default", "s-1"), "rec-1").unwrap();
        subjects.insert(("default", "s-1"), "rec-2").unwrap();
        let mut fields = txn.open_multimap_table(tables::FIELDS).unwrap();
        fields
            .insert(("default", "contact", "/email", "a@b.c"), "rec-1")
            .unwrap();
        let mut expiries = txn.open_table(tables::EXPIRIES).unwrap();
        expiries.insert((-5i64, "rec-1", "/phone"), ()).unwrap();
        expiries
            .insert((1_900_000_000i64, "rec-2", ""), ())
            .unwrap();
        let mut due = txn.open_table(tables::OUTBOX_DUE).unwrap();
        due.insert((7i64, 3u64), ()).unwrap();
        let mut keys = txn.open_table(tables::OUTBOX_KEYS).unwrap();
        keys.insert("idem-1", 3u64).unwrap();
        let mut components = txn.open_table(tables::COMPONENTS).unwrap();
        let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        components.insert("sha256:00", big.as_slice()).unwrap();
    }
    txn.commit().unwrap();
    store
}

fn snapshot(db: &impl ReadableDatabase) -> Vec<u8> {
    let txn = db.begin_read().unwrap();
    let mut out = Vec::new();
    dump_txn(&txn, 42, &mut out).unwrap();
    out
}

#[tokio::test]
async fn every_table_is_backed_up() {
    // Every table tables.rs declares...
    let source = include_str!("../tables.rs");
    let mut declared = BTreeSet::new();
    for (marker, kind) in [
        ("MultimapTableDefinition::new(\"", Kind::Multimap),
        (" TableDefinition::new(\"", Kind::Table),
    ] {
        for (at, _) in source.match_indices(marker) {
            let rest = &source[at + marker.len()..];
            let name = &rest[..rest.find('"').unwrap()];
            declared.insert((name.to_string(), kind));
        }
    }
    let listed: BTreeSet<(String, Kind)> = table_names().into_iter().collect();
    assert_eq!(listed.len(), table_names().len(), "a table is listed twice");
    assert_eq!(
        declared, listed,
        "each_table in backup.rs must list every table of store/tables.rs"
    );
    // ... and every table a store creates.
    let dir = tempfile::tempdir().unwrap();
    let store = sample(dir.path()).await;
    let txn = store.db().raw().begin_read().unwrap();
    let mut created = BTreeSet::new();
    for t in txn.list_tables().unwrap() {
        created.insert((t.name().to_string(), Kind::Table));
    }
    for t in txn.list_multimap_tables().unwrap() {
        created.insert((t.name().to_string(), Kind::Multimap));
    }
    assert!(created.len() >= 19, "{created:?}");
    let missing: Vec<_> = created.difference(&listed).collect();
    assert!(missing.is_empty(), "not backed up: {missing:?}");
    drop(txn);
    store.close();
}

#[tokio::test]
async fn a_backup_restores_the_same_database() {
    let dir = tempfile::tempdir().unwrap();
    let store = sample(dir.path()).await;
    let key = key();
    let before = snapshot(&**store.db().raw());
    let mut plain = Vec::new();
    let summary = dump(&**store.db().raw(), &mut plain).unwrap();
    assert_eq!(summary.audit_entries, 5);
    assert_eq!(summary.tables as usize, table_names().len());
    // 5 audit entries, meta (format, head), 2 records, 2 + 1 index pairs, 2 expiries,
    // 1 due, 1 key, 1 component.
    assert_eq!(summary.rows, 5 + 2 + 2 + 3 + 2 + 1 + 1 + 1);
    let head = store
        .meta(&crate::store::audit::head_key(store.writer()))
        .unwrap();
    assert!(head.as_deref().unwrap().starts_with("sha256:"));
    assert_eq!(summary.audit_head, head);
    store.close();

    // Round trip through the envelope, over several chunks.
    let mut file = Vec::new();
    let mut enc = Encryptor::with_chunk_size(&key, &mut file, 4096).unwrap();
    enc.write_all(&plain).unwrap();
    enc.finish().unwrap();
    assert!(file.len() > plain.len() + 16 * (plain.len() / 4096));
    let mut back = Vec::new();
    decrypt(&key, file.as_slice(), &mut back).unwrap();
    assert_eq!(back, plain);
    assert_eq!(verify_snapshot(back.as_slice()).unwrap(), summary);

    let restored = tempfile::tempdir().unwrap();
    let db = Database::create(restored.path().join("r.redb")).unwrap();
    let got = restore_snapshot(Decryptor::new(&key, file.as_slice()).unwrap(), &db).unwrap();
    assert_eq!(got, summary);
    assert_eq!(
        audit::verify(&db).unwrap(),
        audit::Verdict::Intact { entries: 5 }
    );
    assert_eq!(snapshot(&db), before, "the restored database differs");
    let txn = db.begin_read().unwrap();
    let records = txn.open_table(tables::RECORDS).unwrap();
    assert_eq!(
        records.get("rec-2").unwrap().unwrap().value(),
        b"{\"b\":[1,2]}"
    );
    let expiries = txn.open_table(tables::EXPIRIES).unwrap();
    let first = expiries.first().unwrap().unwrap().0;
    assert_eq!(first.value(), (-5, "rec-1", "/phone"));
}

#[test]
fn the_envelope_refuses_a_wrong_key_a_changed_byte_and_a_cut() {
    let key = key();
    let plain: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 256) as u8).collect();
    let mut file = Vec::new();
    let mut enc = Encryptor::with_chunk_size(&key, &mut file, 1000).unwrap();
    enc.write_all(&plain).unwrap();
    enc.finish().unwrap();
    // 10 full chunks, the last one marked last.
    assert_eq!(file.len(), HEADER + 10 * 1016);
    let read = |bytes: &[u8], key: &BackupKey| -> std::result::Result<Vec<u8>, String> {
        let mut out = Vec::new();
        decrypt(key, bytes, &mut out)
            .map(|_| out)
            .map_err(|e| format!("{e:#}"))
    };
    assert_eq!(read(&file, &key).unwrap(), plain);

    let other = BackupKey::generate().unwrap();
    let e = read(&file, &other).unwrap_err();
    assert!(e.contains("made with a different key"), "{e}");
    assert!(
        e.contains(&key.id_hex()) && e.contains(&other.id_hex()),
        "{e}"
    );

    // A changed byte in the body: the chunk holding it.
    for (at, chunk) in [
        (HEADER + 5, 1),
        (HEADER + 3 * 1016 + 999, 4),
        (file.len() - 1, 10),
    ] {
        let mut bad = file.clone();
        bad[at] ^= 0x20;
        let e = read(&bad, &key).unwrap_err();
        assert!(
            e.contains(&format!("corrupted or was tampered with (chunk {chunk})")),
            "{at}: {e}"
        );
    }
    // In the header: the nonce prefix (authenticated by every chunk), the chunk size,
    // the version, the magic.
    let mut bad = file.clone();
    bad[HEADER - KEY_ID - 3] ^= 1;
    assert!(read(&bad, &key).unwrap_err().contains("(chunk 1)"));
    let mut bad = file.clone();
    bad[MAGIC.len() + 1] ^= 1;
    let e = read(&bad, &key).unwrap_err();
    assert!(e.contains("corrupted or was tampered with"), "{e}");
    let mut bad = file.clone();
    bad[MAGIC.len()] = 9;
    assert!(
        read(&bad, &key)
            .unwrap_err()
            .contains("version 9 is not supported")
    );
    let mut bad = file.clone();
    bad[0] = b'X';
    assert!(
        read(&bad, &key)
            .unwrap_err()
            .contains("not a Sluice backup")
    );
    assert!(read(b"", &key).unwrap_err().contains("not a Sluice backup"));
    // Reordered chunks.
    let mut bad = file.clone();
    let (a, b) = (HEADER, HEADER + 1016);
    let first: Vec<u8> = bad[a..b].to_vec();
    bad.copy_within(b..b + 1016, a);
    bad[b..b + 1016].copy_from_slice(&first);
    assert!(read(&bad, &key).unwrap_err().contains("(chunk 1)"));

    // Cut: at a chunk boundary, inside a chunk, right after the header, in the header.
    let e = read(&file[..HEADER + 4 * 1016], &key).unwrap_err();
    assert!(
        e.contains("truncated: it ends after chunk 4 and its last chunk is missing"),
        "{e}"
    );
    let e = read(&file[..HEADER + 4 * 1016 + 500], &key).unwrap_err();
    assert!(e.contains("(chunk 5)"), "{e}");
    let e = read(&file[..file.len() - 1016], &key).unwrap_err();
    assert!(e.contains("truncated: it ends after chunk 9"), "{e}");
    let e = read(&file[..HEADER], &key).unwrap_err();
    assert!(e.contains("ends after its header"), "{e}");
    let e = read(&file[..20], &key).unwrap_err();
    assert!(e.contains("truncated"), "{e}");
    // Bytes appended after the last chunk make it a middle chunk that fails.
    let mut long = file.clone();
    long.push(0);
    assert!(read(&long, &key).is_err());
}

#[test]
fn an_empty_and_an_exact_plaintext_round_trip() {
    let key = key();
    for len in [0usize, 1, 999, 1000, 1001, 3000] {
        let plain = vec![7u8; len];
        let mut file = Vec::new();
        let mut enc = Encryptor::with_chunk_size(&key, &mut file, 1000).unwrap();
        enc.write_all(&plain).unwrap();
        enc.finish().unwrap();
        let mut out = Vec::new();
        decrypt(&key, file.as_slice(), &mut out).unwrap();
        assert_eq!(out, plain, "{len}");
    }
}

#[test]
fn a_snapshot_with_bad_lengths_is_refused_without_allocating_them() {
    let mut s = Vec::new();
    s.extend_from_slice(SNAPSHOT_MAGIC);
    s.extend_from_slice(&SNAPSHOT_FORMAT.to_le_bytes());
    s.extend_from_slice(&0i64.to_le_bytes());
    s.extend_from_slice(&1u32.to_le_bytes());
    s.extend_from_slice(&4u16.to_le_bytes());
    s.extend_from_slice(b"meta");
    s.push(0);
    s.extend_from_slice(&u64::MAX.to_le_bytes());
    let mut huge = s.clone();
    huge.extend_from_slice(&(MAX_ITEM - 1).to_le_bytes());
    huge.extend_from_slice(b"format");
    let e = format!("{:#}", verify_snapshot(huge.as_slice()).unwrap_err());
    assert!(e.contains("ends in the middle of a row"), "{e}");
    let mut over = s.clone();
    over.extend_from_slice(&u32::MAX.to_le_bytes());
    let e = format!("{:#}", verify_snapshot(over.as_slice()).unwrap_err());
    assert!(e.contains("claims"), "{e}");

    let mut unknown = s[..s.len() - 8 - 1 - 4 - 2].to_vec();
    unknown.extend_from_slice(&5u16.to_le_bytes());
    unknown.extend_from_slice(b"bogus");
    unknown.push(0);
    unknown.extend_from_slice(&0u64.to_le_bytes());
    let e = format!("{:#}", verify_snapshot(unknown.as_slice()).unwrap_err());
    assert!(e.contains("table bogus"), "{e}");

    let e = format!("{:#}", verify_snapshot(&b"garbage"[..]).unwrap_err());
    assert!(e.contains("snapshot"), "{e}");
}

#[test]
fn a_key_file_holds_64_hex_digits() {
    let key = key();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("backup.key");
    key.write_new(&path).unwrap();
    let text = fs::read_to_string(&path).unwrap();
    assert_eq!(text.trim().len(), 64);
    assert_eq!(BackupKey::read(&path).unwrap().id(), key.id());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let e = format!("{:#}", key.write_new(&path).unwrap_err());
    assert!(e.contains("never overwritten"), "{e}");
    for bad in ["", "abc", &"g".repeat(64), &"a".repeat(63), &"a".repeat(66)] {
        let e = format!("{:#}", BackupKey::parse(bad).unwrap_err());
        assert!(e.contains("64 hex digits"), "{bad}: {e}");
    }
    assert!(BackupKey::parse(&format!("  {}\n", "Ab".repeat(32))).is_ok());
}

#[tokio::test]
async fn restore_checks_first_and_replaces_only_with_force() {
    let src = tempfile::tempdir().unwrap();
    let store = sample(src.path()).await;
    store.close();
    let key = key();
    let out = tempfile::tempdir().unwrap();
    let file = out.path().join("b.sluice-backup");
    let written = backup_data_dir(src.path(), &key, &file, false).unwrap();
    assert_eq!(written.summary.audit_entries, 5);
    assert!(!out.path().join("b.sluice-backup.tmp").exists());
    let e = format!(
        "{:#}",
        backup_data_dir(src.path(), &key, &file, false).unwrap_err()
    );
    assert!(e.contains("exists: refusing to overwrite"), "{e}");

    // A wrong key touches nothing: the data directory is not even created.
    let target = out.path().join("data");
    let e = format!(
        "{:#}",
        restore(&file, &BackupKey::generate().unwrap(), &target, false).unwrap_err()
    );
    assert!(e.contains("different key"), "{e}");
    assert!(!target.exists());

    let restored = restore(&file, &key, &target, false).unwrap();
    assert_eq!(restored.audit_verified, 5);
    assert_eq!(restored.summary, written.summary);
    assert!(!target.join(RESTORING).exists());
    let e = format!("{:#}", restore(&file, &key, &target, false).unwrap_err());
    assert!(e.contains("--force"), "{e}");
    restore(&file, &key, &target, true).unwrap();

    let a = Database::open(src.path().join(tables::FILE)).unwrap();
    let b = Database::open(target.join(tables::FILE)).unwrap();
    assert_eq!(snapshot(&a), snapshot(&b));
}
