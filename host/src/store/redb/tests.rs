//! Unit tests of `redb`.

use super::*;
use crate::record::Expiry;
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
