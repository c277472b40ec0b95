use sluice_tests::TestEnv;

use crate::call_recording;

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_requests_plugin_calls_decisions_and_deletions() {
    let env = TestEnv::provu().await;
    env.create(&call_recording("m-1", "card 4111 1111 1111 1111"))
        .await;
    let _ = env.get("/v1/records/missing").await;
    env.clock.advance_secs(400 * 86_400);
    assert_eq!(env.sweep().await, 1);
    let resp = env
        .request(reqwest::Method::GET, "/metrics")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    for expected in [
        r#"sluice_http_requests_total{route="/v1/records",method="POST",status="201"} 1"#,
        r#"sluice_http_requests_total{route="/v1/records/{id}",method="GET",status="404"} 1"#,
        r#"sluice_plugin_call_seconds_count{plugin="card-redaction"} 1"#,
        r#"sluice_plugin_call_seconds_count{plugin="retention"} 1"#,
        r#"sluice_decisions_total{action="redact",clause="2.1.3"} 1"#,
        r#"sluice_decisions_total{action="schedule-deletion",clause="2.1.3"} 1"#,
        r#"sluice_sweeper_deletions_total{target="record"} 1"#,
    ] {
        assert!(text.contains(expected), "missing `{expected}` in:\n{text}");
    }
    let (status, health) = env.get("/healthz").await;
    assert_eq!(status, 200);
    assert_eq!(health["bundle"], "provu@2026.11.0");
    env.stop().await;
}
