//! Unit tests of `outbox`.

use super::*;

fn entry() -> Entry {
    Entry {
        seq: 1,
        id: "k".into(),
        record: "r".into(),
        tenant: "t".into(),
        kind: "device".into(),
        subject: "sha256:00".into(),
        vendor: "v".into(),
        endpoint: "redirection".into(),
        payload: serde_json::json!({"mac": "00:15:65:aa:bb:cc"}),
        clause: "2.2.2".into(),
        plugin: "f".into(),
        bundle: "b@1".into(),
        mode: Mode::Push,
        state: State::Pending,
        attempts: 0,
        next_at: 0,
        created_at: 0,
        updated_at: 0,
        last_error: None,
        delivered_at: None,
        payload_digest: None,
        paths: Vec::new(),
        claim: None,
    }
}

#[test]
fn backoff_doubles_within_its_jitter_and_is_capped() {
    let r = RetryPolicy::default();
    for attempts in 1..20 {
        let exp = (1_000i64 << (attempts - 1).min(30)).min(600_000) as f64;
        let b = r.backoff("key", attempts) as f64;
        assert!(
            b >= exp * 0.75 - 1.0 && b <= exp * 1.25 + 1.0,
            "{attempts}: {b}"
        );
    }
    assert_eq!(r.backoff("key", 3), r.backoff("key", 3));
}

#[test]
fn failures_end_in_dead_after_the_attempts_and_a_redrive_requeues() {
    let retry = RetryPolicy {
        max_attempts: 3,
        ..RetryPolicy::default()
    };
    let mut e = entry();
    for i in 1..=3 {
        e = attempted(&e, &Attempt::Failed("503".into()), i * 10, &retry);
    }
    assert_eq!(e.state, State::Dead);
    assert_eq!(e.attempts, 3);
    let r = redriven(&e, 100).unwrap();
    assert_eq!((r.state, r.attempts, r.next_at), (State::Pending, 0, 100));
    let d = attempted(&r, &Attempt::Delivered, 200, &retry);
    assert_eq!((d.state, d.delivered_at), (State::Delivered, Some(200)));
    assert!(redriven(&d, 300).is_none());
}

#[test]
fn a_failure_past_the_maximum_age_is_dead() {
    let retry = RetryPolicy {
        max_age_ms: 5_000,
        ..RetryPolicy::default()
    };
    let e = attempted(&entry(), &Attempt::Failed("down".into()), 4_900, &retry);
    assert_eq!(e.state, State::Dead);
}

#[test]
fn only_pulled_pending_deliveries_are_acknowledged() {
    let mut e = entry();
    assert!(acknowledged(&e, 1).is_none());
    e.mode = Mode::Pull;
    assert_eq!(acknowledged(&e, 1).unwrap().state, State::Delivered);
}

#[test]
fn a_settled_delivery_keeps_the_digest_and_paths_not_the_payload() {
    let e = entry();
    let retry = RetryPolicy::default();
    for settled in [
        attempted(&e, &Attempt::Delivered, 5, &retry),
        attempted(
            &e,
            &Attempt::Refused {
                clause: "3.1".into(),
                reason: "no safeguards".into(),
            },
            5,
            &retry,
        ),
        cancelled(&e, 5).unwrap(),
    ] {
        assert!(settled.payload.is_null(), "{settled:?}");
        assert_eq!(settled.paths, vec!["/mac".to_string()]);
        assert!(
            settled
                .payload_digest
                .as_deref()
                .unwrap()
                .starts_with("sha256:")
        );
        assert_eq!(settled.payload_paths(), vec!["/mac".to_string()]);
    }
    let failed = attempted(&e, &Attempt::Failed("503".into()), 5, &retry);
    assert_eq!(failed.payload, e.payload);
}

#[test]
fn scrubbing_removes_the_field_and_its_copies_under_other_names() {
    use serde_json::json;
    let mut p = json!({"password": "s3cret-Pass", "sip": {"auth": "S3CRET-PASS"},
                       "note": "pass=s3cret-Pass;", "mac": "00:15", "list": ["a", "s3cret-Pass", "b"],
                       "keys": {"s3cret-Pass": true, "other": 1}, "user": "1001"});
    let n = scrub(&mut p, "/password", &json!("s3cret-Pass"));
    assert_eq!(n, 5);
    assert_eq!(
        p,
        json!({"sip": {"auth": "[deleted]"}, "note": "pass=[deleted];", "mac": "00:15",
               "list": ["a", "[deleted]", "b"], "keys": {"other": 1}, "user": "1001"})
    );
    // A short value goes only where it was: an equal username stays.
    let mut p = json!({"password": "1001", "username": "1001", "line": "1001@sip"});
    assert_eq!(scrub(&mut p, "/password", &json!("1001")), 1);
    assert_eq!(p, json!({"username": "1001", "line": "1001@sip"}));
    // A long number copied elsewhere goes too; a dropped payload stays dropped.
    let mut p = json!({"x": {"pin": 48213377}, "y": 48213377, "z": [48213377, 1]});
    assert_eq!(scrub(&mut p, "/x", &json!({"pin": 48213377})), 3);
    assert_eq!(p, json!({"z": [1]}));
    let mut dropped = serde_json::Value::Null;
    assert_eq!(scrub(&mut dropped, "/x", &json!("s3cret-Pass")), 0);
}
