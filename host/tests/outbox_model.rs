//! A model-based property test of the outbox state machine, run against the real store (a
//! redb file in a temporary directory): random sequences of enqueue, claim by one of two
//! workers, push attempt (success or failure, by either worker), redrive, pull
//! acknowledgement, clock advance and restart, checked after every step against a plain
//! model of what each delivery's state and claim must be.

use std::sync::Arc;

use cap_std::fs::Dir;
use proptest::prelude::*;
use serde_json::json;
use sluice::metrics::Metrics;
use sluice::outbox::{Attempt, Entry, Mode, RetryPolicy, State};
use sluice::record::StoredRecord;
use sluice::store::{AuditEntry, Op, OpResult, OutboxFilter, OutboxOp, PutRecord, Store};

const MAX_ATTEMPTS: u32 = 3;

#[derive(Debug, Clone)]
enum Step {
    /// A write with a delivery to vendor `v`, pushed or pulled.
    Enqueue { vendor: u8, push: bool },
    /// Worker `w` claims what is due.
    Claim { worker: u8 },
    /// A push attempt of the n-th delivery (modulo their number) by worker `w`, succeeding
    /// or not.
    Attempt { n: usize, ok: bool, worker: u8 },
    /// A redrive of the n-th delivery.
    Redrive { n: usize },
    /// Vendor `v` acknowledges its whole feed.
    Ack { vendor: u8 },
    /// The clock moves on.
    Advance { secs: u16 },
    /// The gateway restarts (the store is closed and opened again).
    Restart,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0u8..3, any::<bool>()).prop_map(|(vendor, push)| Step::Enqueue { vendor, push }),
        2 => (0u8..2).prop_map(|worker| Step::Claim { worker }),
        4 => (0usize..64, any::<bool>(), 0u8..2).prop_map(|(n, ok, worker)| Step::Attempt { n, ok, worker }),
        1 => (0usize..64).prop_map(|n| Step::Redrive { n }),
        1 => (0u8..3).prop_map(|vendor| Step::Ack { vendor }),
        1 => (1u16..4000).prop_map(|secs| Step::Advance { secs }),
        1 => Just(Step::Restart),
    ]
}

/// What the model knows of one delivery.
#[derive(Debug, Clone, PartialEq)]
struct Model {
    vendor: String,
    push: bool,
    state: State,
    attempts: u32,
    /// The worker holding a claim on it, and until when.
    claim: Option<(String, i64)>,
}

/// How long a claim holds in the model (ms).
const LEASE: i64 = 5_000;

fn record(i: usize, vendor: &str, push: bool, now: i64) -> Box<PutRecord> {
    let id = format!("r{i:04}");
    let stored = StoredRecord {
        id: id.clone(),
        tenant: "t".into(),
        kind: "device".into(),
        subject: "s".into(),
        fields: json!({"mac": "00:15:65:aa:bb:cc"}),
        created_at: now,
        updated_at: now,
        revision: 1,
        bundle: "b@1".into(),
        plugins: vec![],
        decisions: vec![],
        expiries: vec![],
        deliveries: vec![],
        retention_bundle: None,
        deadlines: Vec::new(),
        index: vec![],
    };
    let mut put = Box::new(PutRecord::new(&stored).unwrap());
    put.deliveries = vec![Entry {
        seq: 0,
        id: format!("key-{i:04}"),
        record: id,
        tenant: "t".into(),
        kind: "device".into(),
        subject: "sha256:00".into(),
        vendor: vendor.into(),
        endpoint: "redirection".into(),
        payload: json!({"mac": "00:15:65:aa:bb:cc"}),
        clause: "2.2.2".into(),
        plugin: "f".into(),
        bundle: "b@1".into(),
        mode: if push { Mode::Push } else { Mode::Pull },
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
    }];
    put
}

fn audit(now: i64) -> AuditEntry {
    AuditEntry::admin("test", now, "test", None, json!({}))
}

fn open(dir: &tempfile::TempDir) -> Store {
    let data = Dir::open_ambient_dir(dir.path(), cap_std::ambient_authority()).unwrap();
    Store::open(&data, Arc::new(Metrics::new())).unwrap()
}

fn check(store: &Store, models: &[Model], now: i64) {
    let all = store
        .deliveries(&OutboxFilter::default(), 0, usize::MAX)
        .unwrap();
    assert_eq!(
        all.len(),
        models.len(),
        "one outbox entry per enqueued delivery"
    );
    for (e, m) in all.iter().zip(models) {
        assert_eq!(
            (e.state, e.attempts),
            (m.state, m.attempts),
            "{e:?} vs {m:?}"
        );
        assert_eq!(e.vendor, m.vendor);
        assert_eq!(
            e.claim.as_ref().map(|c| (c.by.clone(), c.until)),
            m.claim,
            "{e:?} vs {m:?}"
        );
    }
    // The due index holds exactly the pushed pending deliveries whose time has come.
    let due: Vec<String> = store
        .outbox_due(now, usize::MAX)
        .unwrap()
        .into_iter()
        .map(|e| e.id)
        .collect();
    let mut want: Vec<(i64, u64, String)> = all
        .iter()
        .zip(models)
        .filter(|(e, _)| e.state == State::Pending && e.mode == Mode::Push)
        .map(|(e, m)| {
            let at = m.claim.as_ref().map_or(e.next_at, |c| c.1.max(e.next_at));
            (at, e.seq, e.id.clone())
        })
        .filter(|(at, ..)| *at <= now)
        .collect();
    want.sort();
    assert_eq!(due, want.into_iter().map(|w| w.2).collect::<Vec<_>>());
    // The depth counts every pending delivery, pushed or pulled.
    let pending = models.iter().filter(|m| m.state == State::Pending).count();
    assert_eq!(store.outbox_depth().unwrap().0, pending as u64);
    // Each vendor's feed is its own deliveries, in order.
    for v in ["v0", "v1", "v2"] {
        let feed = store
            .deliveries(
                &OutboxFilter {
                    vendor: Some(v.into()),
                    ..Default::default()
                },
                0,
                usize::MAX,
            )
            .unwrap();
        assert!(feed.iter().all(|e| e.vendor == v));
        assert!(feed.windows(2).all(|w| w[0].seq < w[1].seq));
        assert_eq!(feed.len(), models.iter().filter(|m| m.vendor == v).count());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn the_outbox_follows_its_state_machine_across_restarts(steps in prop::collection::vec(step(), 1..60)) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let mut store = open(&dir);
        let mut models: Vec<Model> = Vec::new();
        let mut now: i64 = 1_795_608_000_000;
        let retry = RetryPolicy { max_attempts: MAX_ATTEMPTS, max_age_ms: i64::MAX / 4, base_ms: 1_000, cap_ms: 60_000 };
        for step in steps {
            match step {
                Step::Enqueue { vendor, push } => {
                    let vendor = format!("v{vendor}");
                    let op = Op::Put { record: record(models.len(), &vendor, push, now), expect: None, audit: audit(now) };
                    let r = rt.block_on(store.write(vec![op])).unwrap();
                    prop_assert_eq!(&r[0], &OpResult::Done(1));
                    models.push(Model { vendor, push, state: State::Pending, attempts: 0, claim: None });
                }
                Step::Claim { worker } => {
                    let by = format!("w{worker}");
                    // Due: pushed, pending, its next attempt's time come, no lease running.
                    let all = store.deliveries(&OutboxFilter::default(), 0, usize::MAX).unwrap();
                    let mut want: Vec<String> = all
                        .iter()
                        .zip(&models)
                        .filter(|(e, m)| {
                            m.push && m.state == State::Pending && e.next_at <= now
                                && m.claim.as_ref().is_none_or(|c| c.1 <= now)
                        })
                        .map(|(e, _)| e.id.clone())
                        .collect();
                    let op = Op::Outbox(OutboxOp::Claim { by: by.clone(), now, lease_ms: LEASE, limit: 64, per_vendor: 64, room: Vec::new() });
                    let r = rt.block_on(store.write(vec![op])).unwrap();
                    let OpResult::Claimed(claimed) = &r[0] else { panic!("{:?}", r[0]) };
                    let mut got: Vec<String> = claimed.iter().map(|e| e.id.clone()).collect();
                    got.sort();
                    want.sort();
                    prop_assert_eq!(&got, &want);
                    for id in got {
                        let i: usize = id["key-".len()..].parse().unwrap();
                        models[i].claim = Some((by.clone(), now + LEASE));
                    }
                }
                Step::Attempt { n, ok, worker } if !models.is_empty() => {
                    let i = n % models.len();
                    let by = format!("w{worker}");
                    let attempt = if ok { Attempt::Delivered } else { Attempt::Failed("503".into()) };
                    let op = Op::Outbox(OutboxOp::Attempted { by: by.clone(), id: format!("key-{i:04}"), attempt, now, retry });
                    rt.block_on(store.write(vec![op])).unwrap();
                    let m = &mut models[i];
                    // Another worker's claim: a failure is stale and changes nothing.
                    let stale = m.claim.as_ref().is_some_and(|c| c.0 != by) && !ok;
                    if m.state == State::Pending && !stale {
                        m.claim = None;
                        m.attempts += 1;
                        m.state = if ok { State::Delivered } else if m.attempts >= MAX_ATTEMPTS { State::Dead } else { State::Pending };
                    }
                }
                Step::Redrive { n } if !models.is_empty() => {
                    let i = n % models.len();
                    let op = Op::Outbox(OutboxOp::Redrive { id: format!("key-{i:04}"), now, actor: "t".into() });
                    let r = rt.block_on(store.write(vec![op])).unwrap();
                    let m = &mut models[i];
                    if m.state == State::Dead {
                        prop_assert!(matches!(r[0], OpResult::Delivery(_)));
                        m.state = State::Pending;
                        m.attempts = 0;
                    } else {
                        prop_assert_eq!(&r[0], &OpResult::Conflict);
                    }
                }
                Step::Ack { vendor } => {
                    let vendor = format!("v{vendor}");
                    // Beyond what the feed served: refused, nothing changes.
                    let op = Op::Outbox(OutboxOp::Ack { vendor: vendor.clone(), cursor: u64::MAX, now });
                    let r = rt.block_on(store.write(vec![op])).unwrap();
                    prop_assert!(matches!(r[0], OpResult::AckOutOfRange(_)), "{:?}", r[0]);
                    // The whole feed served, then acknowledged.
                    let filter = OutboxFilter { vendor: Some(vendor.clone()), ..Default::default() };
                    let end = store.deliveries(&filter, 0, usize::MAX).unwrap().last().map_or(0, |e| e.seq);
                    let served = Op::Outbox(OutboxOp::Served { vendor: vendor.clone(), cursor: end });
                    let op = Op::Outbox(OutboxOp::Ack { vendor: vendor.clone(), cursor: end, now });
                    let r = rt.block_on(store.write(vec![served, op])).unwrap();
                    prop_assert!(matches!(r[1], OpResult::Done(_)), "{:?}", r[1]);
                    prop_assert_eq!(store.feed_marks(&vendor).unwrap().acknowledged, end);
                    for m in models.iter_mut().filter(|m| m.vendor == vendor && !m.push && m.state == State::Pending) {
                        m.state = State::Delivered;
                    }
                }
                Step::Advance { secs } => now += i64::from(secs) * 1000,
                Step::Restart => {
                    store.close();
                    store = open(&dir);
                    // The claims of the process that is gone are released.
                    for m in &mut models {
                        m.claim = None;
                    }
                }
                Step::Attempt { .. } | Step::Redrive { .. } => {}
            }
            check(&store, &models, now);
        }
        store.close();
    }
}
