//! Policy test cases: records in, decisions out, run offline in the sandbox.
//!
//! A bundle keeps its cases in `tests/<case>/`, one directory per case:
//! - `input.json`: `{"now": RFC 3339 (optional), "record": {"kind","subject","fields"},
//!   "read": {"audience","purpose"} (optional)}`;
//! - `expected.json`: `{"status": 201 | 422 | 200 | 403, "decisions": [{"action","path",
//!   "clause"[,"plugin"]}], "fields": {...}, "error": {"clause","path"}, "expiries": [...],
//!   "deliveries": [...]}`; every key but `status` is optional and checked only when given.
//!
//! For a write the status is 201 (accepted) or 422 (refused by the policy or the schema);
//! with `read`, the record is first written and the read's status is 200 or 403. `fields`
//! is the stored record (write) or the projection (read); `decisions` are the write's, or
//! the read's disclosure decisions.

use anyhow::{Context as _, Result};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::bundle::Policy;
use crate::bundle::package::CaseFiles;
pub use crate::bundle::package::{CASES_DIR as DIR, case_names as names};
use crate::metrics::Metrics;
use crate::pipeline::{
    self, Disclosure, Instances, Outcome, PipelineError, ReadRequest, WriteInput,
};
use crate::record::{Decision, StoredRecord};
use crate::runtime::Runtime;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    #[serde(default)]
    now: Option<String>,
    record: RecordIn,
    #[serde(default)]
    read: Option<ReadIn>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordIn {
    kind: String,
    subject: String,
    fields: Value,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReadIn {
    #[serde(default = "internal")]
    audience: String,
    #[serde(default)]
    purpose: String,
}

fn internal() -> String {
    pipeline::INTERNAL.to_string()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    status: u16,
    #[serde(default)]
    decisions: Option<Vec<Value>>,
    #[serde(default)]
    fields: Option<Value>,
    #[serde(default)]
    error: Option<Value>,
    #[serde(default)]
    expiries: Option<Vec<Value>>,
    #[serde(default)]
    deliveries: Option<Vec<Value>>,
}

/// The outcome of one case.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CaseResult {
    /// The case directory's name.
    pub name: String,
    /// Every difference between expected and actual (empty: the case passed).
    pub failures: Vec<String>,
}

impl CaseResult {
    /// Whether the case passed.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// Runs every case of the bundle's package against `policy`, in name order.
pub fn run_all(policy: &Policy, runtime: &Runtime) -> Vec<CaseResult> {
    let metrics = Metrics::new();
    policy
        .package
        .cases
        .iter()
        .map(|(name, files)| {
            let failures = match parse(files) {
                Ok((input, expected)) => run(policy, runtime, &metrics, input, &expected),
                Err(e) => vec![format!("unreadable case: {e:#}")],
            };
            CaseResult {
                name: name.clone(),
                failures,
            }
        })
        .collect()
}

fn parse(files: &CaseFiles) -> Result<(Input, Expected)> {
    let input = serde_json::from_str(&files.input).context("input.json")?;
    let expected = serde_json::from_str(&files.expected).context("expected.json")?;
    Ok((input, expected))
}

fn run(
    policy: &Policy,
    runtime: &Runtime,
    metrics: &Metrics,
    input: Input,
    expected: &Expected,
) -> Vec<String> {
    let now_ms = match input.now.as_deref().map(crate::clock::parse_rfc3339_ms) {
        None => crate::clock::parse_rfc3339_ms("2026-11-25T12:00:00Z").unwrap_or_default(),
        Some(Some(ms)) => ms,
        Some(None) => return vec!["input.json: `now` is not an RFC 3339 timestamp".into()],
    };
    let now = now_ms.div_euclid(1000);
    let write = WriteInput {
        id: "00000000-0000-7000-8000-000000000000".into(),
        tenant: "policy-test".into(),
        kind: input.record.kind.clone(),
        subject: input.record.subject.clone(),
        fields: input.record.fields,
        created_at: now_ms,
        updated_at: now_ms,
    };
    let mut instances = Instances::new(runtime);
    let mut actual = Actual::default();
    match pipeline::write(policy, &write, now, &mut instances, metrics) {
        Err(PipelineError::Schema { clause, problems }) => {
            actual.status = 422;
            actual.error =
                json!({"clause": clause, "path": problems[0].path, "error": problems[0].message});
        }
        Err(e) => return vec![format!("the policy failed: {e}")],
        Ok(Outcome::Rejected(r)) => {
            actual.status = 422;
            actual.error = json!({"clause": r.decision.clause, "path": r.decision.path});
            actual.decisions = r.decisions;
            actual.decisions.push(r.decision);
        }
        Ok(Outcome::Accepted(a)) => {
            actual.status = 201;
            actual.fields = a.fields.clone();
            actual.expiries = a
                .expiries
                .iter()
                .map(|e| {
                    json!({"path": (!e.path.is_empty()).then(|| e.path.clone()),
                           "due": crate::clock::rfc3339_secs(e.due), "clause": e.clause})
                })
                .collect();
            actual.deliveries = a
                .deliveries
                .iter()
                .map(|d| json!({"vendor": d.vendor, "endpoint": d.endpoint, "payload": d.payload, "clause": d.clause}))
                .collect();
            actual.decisions = a.decisions.clone();
            if let Some(read) = input.read {
                let stored = StoredRecord {
                    id: write.id,
                    tenant: write.tenant,
                    kind: write.kind,
                    subject: write.subject,
                    fields: a.fields,
                    created_at: now_ms,
                    updated_at: now_ms,
                    revision: 1,
                    bundle: policy.id.clone(),
                    plugins: a.plugins,
                    decisions: a.decisions,
                    expiries: a.expiries,
                    deliveries: a.deliveries,
                    index: Vec::new(),
                    retention_bundle: None,
                    deadlines: Vec::new(),
                };
                let request = ReadRequest {
                    audience: read.audience,
                    purpose: read.purpose,
                };
                match pipeline::read(policy, &stored, &request, now, &mut instances, metrics) {
                    Err(e) => return vec![format!("the policy failed on the read: {e}")],
                    Ok(Disclosure::Permitted { fields, decisions }) => {
                        actual.status = 200;
                        actual.fields = fields;
                        actual.decisions = decisions;
                    }
                    Ok(Disclosure::Refused(d)) => {
                        actual.status = 403;
                        actual.error = json!({"clause": d.clause, "path": d.path});
                        actual.decisions = vec![d];
                    }
                }
            }
        }
    }
    actual.compare(expected)
}

#[derive(Debug, Default)]
struct Actual {
    status: u16,
    decisions: Vec<Decision>,
    fields: Value,
    error: Value,
    expiries: Vec<Value>,
    deliveries: Vec<Value>,
}

impl Actual {
    fn compare(&self, expected: &Expected) -> Vec<String> {
        let mut failures = Vec::new();
        if self.status != expected.status {
            failures.push(format!(
                "status: expected {}, got {} (error {}, decisions {})",
                expected.status,
                self.status,
                self.error,
                brief(&self.decisions)
            ));
        }
        if let Some(want) = &expected.decisions {
            let got: Vec<Value> = self
                .decisions
                .iter()
                .zip(want.iter().chain(std::iter::repeat(&Value::Null)))
                .map(|(d, w)| {
                    let mut v = json!({"action": d.action, "path": d.path, "clause": d.clause});
                    if w.get("plugin").is_some() {
                        v["plugin"] = json!(d.plugin);
                    }
                    v
                })
                .collect();
            let want: Vec<Value> = want
                .iter()
                .map(|w| {
                    let mut w = w.clone();
                    if let Some(o) = w.as_object_mut() {
                        o.entry("path").or_insert(Value::Null);
                    }
                    w
                })
                .collect();
            if got != want {
                failures.push(format!(
                    "decisions: expected {}, got {}",
                    Value::Array(want),
                    Value::Array(got)
                ));
            }
        }
        if let Some(want) = &expected.fields
            && *want != self.fields
        {
            failures.push(format!("fields: expected {want}, got {}", self.fields));
        }
        if let Some(want) = &expected.error {
            for key in ["clause", "path"] {
                if let Some(w) = want.get(key)
                    && self.error.get(key) != Some(w)
                {
                    failures.push(format!(
                        "error {key}: expected {w}, got {}",
                        self.error.get(key).unwrap_or(&Value::Null)
                    ));
                }
            }
        }
        for (name, want, got) in [
            ("expiries", &expected.expiries, &self.expiries),
            ("deliveries", &expected.deliveries, &self.deliveries),
        ] {
            if let Some(want) = want
                && want != got
            {
                failures.push(format!(
                    "{name}: expected {}, got {}",
                    Value::Array(want.clone()),
                    Value::Array(got.clone())
                ));
            }
        }
        failures
    }
}

fn brief(decisions: &[Decision]) -> String {
    let parts: Vec<String> = decisions
        .iter()
        .map(|d| {
            format!(
                "{} {} ({})",
                d.action.as_str(),
                d.path.as_deref().unwrap_or("-"),
                d.clause
            )
        })
        .collect();
    format!("[{}]", parts.join(", "))
}
