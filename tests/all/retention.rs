//! The retention sweeper deletes what is due, keeps the rest, and audits each deletion.

use std::time::Duration;

use serde_json::json;
use sluice_tests::{START_MS, TestEnv, items, string_pairs, strings};

use crate::contact;

const DAY: i64 = 86_400;

#[tokio::test(flavor = "multi_thread")]
async fn the_sweeper_deletes_due_fields_keeps_the_rest_and_audits_each_deletion() {
    let env = TestEnv::provu().await;
    // Left 100 days ago: phone and email are 10 days overdue (2.1.1: 90 days).
    let mut left = contact("c-left");
    left["fields"]["left_organisation_at"] = json!("2026-08-17T12:00:00Z");
    // Written 20 days ago, before they were due (data already overdue is never stored).
    env.clock.set_ms(START_MS - 20 * DAY * 1000);
    let body = env.create(&left).await;
    env.clock.set_ms(START_MS);
    let id = body["id"].as_str().unwrap().to_string();
    let scheduled = strings(&body, "expiries", "path");
    assert_eq!(scheduled, ["/phone", "/email"]);
    assert_eq!(body["expiries"][0]["due"], "2026-11-15T12:00:00Z");
    assert_eq!(body["expiries"][0]["clause"], "2.1.1");

    // Still employed: nothing scheduled.
    let staying = env.create(&contact("c-stays")).await;
    assert_eq!(staying["expiries"], json!([]));

    assert_eq!(env.sweep().await, 2);
    let (_, read) = env.get(&format!("/v1/records/{id}")).await;
    assert_eq!(read["fields"]["name"], "Ada Lovelace");
    assert_eq!(read["fields"]["organisation"], "Analytical Engines Ltd");
    assert!(read["fields"].get("phone").is_none(), "{read}");
    assert!(read["fields"].get("email").is_none(), "{read}");
    assert_eq!(read["expiries"], json!([]));
    let (_, other) = env
        .get(&format!("/v1/records/{}", staying["id"].as_str().unwrap()))
        .await;
    assert_eq!(other["fields"]["phone"], "01484 840048");

    let deletions: Vec<_> = env
        .audit()
        .into_iter()
        .filter(|e| e.event == "retention.field-deleted")
        .collect();
    assert_eq!(deletions.len(), 2);
    for d in &deletions {
        assert_eq!(d.record.as_deref(), Some(id.as_str()));
        assert_eq!(d.decisions[0].clause, "2.1.1");
        assert_eq!(d.decisions[0].action, sluice::record::Action::Delete);
    }
    let paths: Vec<_> = deletions
        .iter()
        .map(|d| d.decisions[0].path.clone().unwrap())
        .collect();
    assert!(paths.contains(&"/phone".to_string()) && paths.contains(&"/email".to_string()));
    // Nothing left to do.
    assert_eq!(env.sweep().await, 0);
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_whole_record_is_deleted_when_its_period_ends_and_not_before() {
    let env = TestEnv::provu().await;
    let rec = json!({"kind": "call-recording", "subject": "caller", "fields": {
        "direction": "outbound", "party_number": "01484 840048",
        "started_at": "2026-01-01T00:00:00Z", "recording_ref": "r-9"}});
    let body = env.create(&rec).await;
    let id = body["id"].as_str().unwrap().to_string();
    assert_eq!(
        body["expiries"],
        json!([{"path": null, "due": "2027-01-01T00:00:00Z", "clause": "2.1.3"}])
    );

    assert_eq!(env.sweep().await, 0, "not due yet");
    assert_eq!(env.get(&format!("/v1/records/{id}")).await.0, 200);

    env.clock.advance_secs(37 * DAY + 1);
    assert_eq!(env.sweep().await, 1);
    assert_eq!(env.get(&format!("/v1/records/{id}")).await.0, 404);
    let (_, listed) = env.get("/v1/subjects/caller/records").await;
    assert_eq!(listed["records"], json!([]));
    let last = env.audit().pop().unwrap();
    assert_eq!(last.event, "retention.record-deleted");
    assert_eq!(last.decisions[0].clause, "2.1.3");
    assert!(env.gateway().state().store.expiries().unwrap().is_empty());
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rectification_shortens_retention_and_never_extends_or_cancels_it() {
    let env = TestEnv::provu().await;
    let id = env.create_id(&contact("c-r")).await;
    // A first date sets the deadline; an earlier one shortens it.
    for (left, due) in [
        ("2026-11-01T00:00:00Z", "2027-01-30T00:00:00Z"),
        ("2026-10-01T00:00:00Z", "2026-12-30T00:00:00Z"),
    ] {
        let fields = json!({"left_organisation_at": left});
        let (_, patched) = env.rectify(&id, fields).await;
        assert_eq!(patched["expiries"][0]["due"], due, "left {left}");
    }
    // A later date, or none, keeps the phone and email to their deadline all the same.
    for later in [json!("2026-12-20T00:00:00Z"), json!(null)] {
        let fields = json!({"left_organisation_at": later});
        let (status, patched) = env.rectify(&id, fields).await;
        assert_eq!(status, 200, "{patched}");
        let dues = string_pairs(items(&patched["expiries"]), "path", "due");
        assert_eq!(
            dues,
            [
                ("/phone", "2026-12-30T00:00:00Z"),
                ("/email", "2026-12-30T00:00:00Z")
            ],
            "{later}"
        );
    }
    // Only those deadlines are in the schedule table.
    assert_eq!(env.gateway().state().store.expiries().unwrap().len(), 2);
    // A new phone number has a deadline of its own from the (earliest) date it runs from.
    env.clock.advance_secs(36 * DAY);
    assert_eq!(env.sweep().await, 2);
    let (_, read) = env.get(&format!("/v1/records/{id}")).await;
    assert!(read["fields"].get("phone").is_none(), "{read}");
    env.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_background_sweeper_runs_on_its_interval() {
    let env = TestEnv::with_bundle(
        &std::fs::read_to_string(sluice_tests::provu_bundle().join("bundle.toml")).unwrap(),
        &[],
        |o| o.sweep_interval = Duration::from_millis(50),
    )
    .await
    .unwrap();
    let mut left = contact("c-bg");
    left["fields"]["left_organisation_at"] = json!("2026-01-01T00:00:00Z");
    let id = env.create_id(&left).await;
    let mut gone = false;
    for _ in 0..200 {
        let (_, read) = env.get(&format!("/v1/records/{id}")).await;
        if read["fields"].get("phone").is_none() {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(
        gone,
        "the background sweeper deleted the overdue phone number"
    );
    env.stop().await;
}
