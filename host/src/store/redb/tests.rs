//! Unit tests of `redb`.

use super::*;
use crate::record::Expiry;
use std::collections::BTreeSet;

use crate::store::{Erasure, PutRecord};

fn open(dir: &std::path::Path) -> Store {
    let data = Dir::open_ambient_dir(dir, cap_std::ambient_authority()).unwrap();
    Store::open(&data, Arc::new(Metrics::new())).unwrap()
}

fn record(id: &str, tenant: &str, due: Option<i64>) -> StoredRecord {
    StoredRecord {
        id: id.into(),
        tenant: tenant.into(),
        kind: "k".into(),
        subject: format!("s-{id}"),
        fields: serde_json::json!({"a": 1}),
        created_at: 1,
        updated_at: 1,
        revision: 1,
        bundle: "b@1".into(),
        plugins: vec![],
        decisions: vec![],
        expiries: due
            .map(|due| Expiry {
                path: String::new(),
                due,
                clause: "1".into(),
                reason: String::new(),
                plugin: "r".into(),
            })
            .into_iter()
            .collect(),
        deliveries: vec![],
        retention_bundle: None,
        deadlines: Vec::new(),
        index: vec![],
    }
}

fn put(record: &StoredRecord, expect: Option<u64>) -> Op {
    Op::Put {
        record: Box::new(PutRecord::new(record).unwrap()),
        expect,
        audit: AuditEntry::admin("test", 1, "test", None, serde_json::json!({})),
    }
}

fn ids(store: &Store, tenant: &str, after: &str, limit: usize) -> Vec<String> {
    store
        .tenant_records_after(tenant, after, limit)
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect()
}

#[tokio::test]
async fn the_writer_keeps_each_tenants_records_indexed() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let ops = vec![
        put(&record("r1", "acme", None), None),
        put(&record("r2", "beta", None), None),
        put(&record("r3", "acme", Some(10)), None),
        put(&record("r4", "beta", Some(10)), None),
        put(&record("r5", "acme", None), None),
        put(&record("r6", "beta", None), None),
        put(&record("r7", "acme", None), None),
    ];
    store.write(ops).await.unwrap();
    assert_eq!(ids(&store, "acme", "", 10), ["r1", "r3", "r5", "r7"]);
    assert_eq!(ids(&store, "acme", "r1", 2), ["r3", "r5"]);
    assert_eq!(ids(&store, "acme", "r2", 10), ["r3", "r5", "r7"]);
    assert_eq!(ids(&store, "acme", "r7", 10), Vec::<String>::new());
    assert_eq!(ids(&store, "beta", "", 10), ["r2", "r4", "r6"]);
    assert_eq!(ids(&store, "gamma", "", 10), Vec::<String>::new());
    assert_eq!(store.tenant_count("acme").unwrap(), 4);

    // An update is no new record; a delete, a sweep of the whole record and an erasure
    // each remove one.
    let mut r1 = record("r1", "acme", None);
    r1.revision = 2;
    let delete = Op::Delete {
        id: "r5".into(),
        tenant: "acme".into(),
        audit: AuditEntry::admin("test", 1, "test", None, serde_json::json!({})),
    };
    let erase = Op::Erase {
        records: vec![Erasure {
            id: "r6".into(),
            tenant: "beta".into(),
            revision: 1,
            kept: None,
            audit: AuditEntry::admin("test", 1, "test", None, serde_json::json!({})),
        }],
        audit: AuditEntry::admin("test", 1, "test", None, serde_json::json!({})),
    };
    let results = store
        .write(vec![put(&r1, Some(1)), delete, erase])
        .await
        .unwrap();
    assert_eq!(results[0], OpResult::Done(2));
    assert_eq!(results[1], OpResult::Done(1));
    store
        .write(vec![Op::Sweep {
            now: 100,
            limit: 10,
        }])
        .await
        .unwrap();
    assert_eq!(ids(&store, "acme", "", 10), ["r1", "r7"]);
    assert_eq!(ids(&store, "beta", "", 10), ["r2"]);
    store.close();
}

#[tokio::test]
async fn a_database_without_the_tenant_index_gets_it_at_open() {
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let ops = vec![
        put(&record("r1", "acme", None), None),
        put(&record("r2", "beta", None), None),
        put(&record("r3", "acme", None), None),
    ];
    store.write(ops).await.unwrap();
    // As written before the index existed.
    let txn = store.db().raw().begin_write().unwrap();
    txn.delete_table(tables::TENANT_RECORDS).unwrap();
    txn.commit().unwrap();
    store.close();

    let store = open(dir.path());
    assert_eq!(ids(&store, "acme", "", 10), ["r1", "r3"]);
    assert_eq!(ids(&store, "beta", "", 10), ["r2"]);
    store.close();
}

fn admin(at: i64) -> Op {
    Op::Audit(AuditEntry::admin(
        "test",
        at,
        "test",
        None,
        serde_json::json!({}),
    ))
}

/// Rewrites audit entry `seq` with `change` applied to its JSON text.
fn tamper(dir: &std::path::Path, seq: u64, change: impl FnOnce(&mut serde_json::Value)) {
    let db = Database::open(dir.join(tables::FILE)).unwrap();
    let txn = db.begin_write().unwrap();
    {
        let mut audit = txn.open_table(AUDIT).unwrap();
        let mut entry: serde_json::Value =
            serde_json::from_slice(audit.get(seq).unwrap().unwrap().value()).unwrap();
        change(&mut entry);
        audit
            .insert(seq, serde_json::to_vec(&entry).unwrap().as_slice())
            .unwrap();
    }
    txn.commit().unwrap();
}

fn verify(dir: &std::path::Path) -> Verdict {
    let data = Dir::open_ambient_dir(dir, cap_std::ambient_authority()).unwrap();
    Store::verify_audit(&data).unwrap()
}

#[tokio::test]
async fn each_process_appends_to_a_chain_of_its_own_and_every_chain_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let mut writers = Vec::new();
    for round in 0..3 {
        let store = open(dir.path());
        writers.push(store.writer().to_string());
        store.write(vec![admin(round), admin(round)]).await.unwrap();
        // The registry's transactions append to the same process's chain.
        store
            .db()
            .registry()
            .audit(AuditEntry::admin(
                "reg",
                round,
                "t",
                None,
                serde_json::json!({}),
            ))
            .unwrap();
        store.close();
    }
    assert_eq!(verify(dir.path()), Verdict::Intact { entries: 9 });
    let store = open(dir.path());
    let entries = store.audit(0, 100).unwrap();
    store.close();
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(e.writer, writers[i / 3], "entry {}", e.seq);
        // The first entry of each chain links to nothing; the others to their chain's.
        assert_eq!(e.prev.is_empty(), i % 3 == 0, "entry {}", e.seq);
    }
    assert_eq!(writers.iter().collect::<BTreeSet<_>>().len(), 3);

    // A changed entry in the middle of the first chain is named by the next entry of its
    // chain, whichever chains were written since.
    tamper(dir.path(), 2, |e| e["event"] = "forged".into());
    let Verdict::Broken { seq, .. } = verify(dir.path()) else {
        panic!("a forged entry verified")
    };
    assert_eq!(seq, 2);
}

#[tokio::test]
async fn an_entry_moved_to_another_chain_or_cut_from_its_chain_is_named() {
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        let store = open(dir.path());
        store.write(vec![admin(1), admin(2)]).await.unwrap();
        store.close();
    }
    assert_eq!(verify(dir.path()), Verdict::Intact { entries: 4 });
    // Entry 4 claimed for the first writer: it links to nothing that chain has.
    let first = {
        let store = open(dir.path());
        let w = store.audit(0, 1).unwrap()[0].writer.clone();
        store.close();
        w
    };
    // (Opening again added nothing to the log.)
    assert_eq!(verify(dir.path()), Verdict::Intact { entries: 4 });
    tamper(dir.path(), 4, |e| e["writer"] = first.clone().into());
    // The first chain's last entry (2) is not what entry 4 says came before it.
    assert!(matches!(verify(dir.path()), Verdict::Broken { seq: 2, .. }));

    // The last entry of a chain deleted: the recorded head no longer matches.
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    store.write(vec![admin(1), admin(2)]).await.unwrap();
    store.close();
    let db = Database::open(dir.path().join(tables::FILE)).unwrap();
    let txn = db.begin_write().unwrap();
    txn.open_table(AUDIT).unwrap().remove(2).unwrap();
    txn.commit().unwrap();
    drop(db);
    assert!(matches!(verify(dir.path()), Verdict::Broken { seq: 1, .. }));
}

fn delivery(record: &str, vendor: &str, now: i64) -> crate::outbox::Entry {
    use crate::outbox::{Entry, Mode, State};
    Entry {
        seq: 0,
        id: format!("key-{record}"),
        record: record.into(),
        tenant: "t".into(),
        kind: "k".into(),
        subject: "sha256:00".into(),
        vendor: vendor.into(),
        endpoint: "redirection".into(),
        payload: serde_json::json!({"a": 1}),
        clause: "2.2.2".into(),
        plugin: "f".into(),
        bundle: "b@1".into(),
        mode: Mode::Push,
        state: State::Pending,
        attempts: 0,
        next_at: now,
        created_at: now,
        updated_at: now,
        last_error: None,
        delivered_at: None,
        payload_digest: None,
        paths: Vec::new(),
        claim: None,
    }
}

fn claim(by: &str, now: i64, per_vendor: usize, room: Vec<(String, usize)>) -> Op {
    Op::Outbox(crate::store::OutboxOp::Claim {
        by: by.into(),
        now,
        lease_ms: 1_000,
        limit: 100,
        per_vendor,
        room,
    })
}

fn claimed(result: &[OpResult]) -> Vec<String> {
    let [OpResult::Claimed(entries)] = result else {
        panic!("{result:?}")
    };
    entries.iter().map(|e| e.record.clone()).collect()
}

#[tokio::test]
async fn a_claim_holds_a_delivery_for_one_worker_until_its_lease_runs_out() {
    use crate::outbox::Attempt;
    let dir = tempfile::tempdir().unwrap();
    let store = open(dir.path());
    let mut ops = Vec::new();
    for (id, vendor) in [("r1", "v"), ("r2", "v"), ("r3", "v"), ("r4", "w")] {
        let mut put = PutRecord::new(&record(id, "t", None)).unwrap();
        put.deliveries = vec![delivery(id, vendor, 100)];
        ops.push(Op::Put {
            record: Box::new(put),
            expect: None,
            audit: AuditEntry::admin("test", 1, "test", None, serde_json::json!({})),
        });
    }
    store.write(ops).await.unwrap();

    // At most two of `v`'s, and none of `w`'s, which has no room left.
    let a = store
        .write(vec![claim("a", 100, 2, vec![("w".into(), 0)])])
        .await
        .unwrap();
    assert_eq!(claimed(&a), ["r1", "r2"]);
    // Another worker sees only what is left.
    let b = store.write(vec![claim("b", 100, 8, vec![])]).await.unwrap();
    assert_eq!(claimed(&b), ["r3", "r4"]);
    assert!(store.outbox_due(100, 10).unwrap().is_empty());
    let b = store.write(vec![claim("b", 500, 8, vec![])]).await.unwrap();
    assert!(claimed(&b).is_empty(), "claimed while the lease runs");

    // `a` dies; its lease runs out at 1100 and `b` takes r1 and r2 over.
    let b = store
        .write(vec![claim("b", 1_100, 8, vec![])])
        .await
        .unwrap();
    assert_eq!(claimed(&b), ["r1", "r2", "r3", "r4"]);
    // `a`'s late failure is stale and changes nothing; its late success is news.
    let late = |id: &str, attempt| {
        Op::Outbox(crate::store::OutboxOp::Attempted {
            by: "a".into(),
            id: format!("key-{id}"),
            attempt,
            now: 1_200,
            retry: crate::outbox::RetryPolicy::default(),
        })
    };
    let r = store
        .write(vec![
            late("r1", Attempt::Failed("timeout".into())),
            late("r2", Attempt::Delivered),
        ])
        .await
        .unwrap();
    let [OpResult::Delivery(r1), OpResult::Delivery(r2)] = &r[..] else {
        panic!("{r:?}")
    };
    assert_eq!(
        (r1.attempts, r1.claim.as_ref().unwrap().by.as_str()),
        (0, "b")
    );
    assert_eq!(r2.state, crate::outbox::State::Delivered);
    assert_eq!(r2.claim, None);
    store.close();

    // A restart releases every claim: r1, r3 and r4 are due again at once.
    let store = open(dir.path());
    let due: Vec<String> = store
        .outbox_due(1_200, 10)
        .unwrap()
        .into_iter()
        .map(|e| e.record)
        .collect();
    assert_eq!(due, ["r1", "r3", "r4"]);
    assert!(
        store
            .outbox_due(1_200, 10)
            .unwrap()
            .iter()
            .all(|e| e.claim.is_none())
    );
    store.close();
}
