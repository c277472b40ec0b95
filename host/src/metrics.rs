//! Prometheus metrics, served as text at `GET /metrics`.

use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::record::Decision;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: String,
    method: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PluginLabels {
    plugin: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FailureLabels {
    plugin: String,
    kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DecisionLabels {
    action: String,
    clause: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeliveryLabels {
    vendor: String,
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ShedLabels {
    resource: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeletionLabels {
    target: String,
}

/// The gateway's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    plugin_seconds: Family<PluginLabels, Histogram>,
    plugin_failures: Family<FailureLabels, Counter>,
    decisions: Family<DecisionLabels, Counter>,
    sweeper_deletions: Family<DeletionLabels, Counter>,
    commit_batch: Histogram,
    commit_seconds: Histogram,
    records: Gauge,
    deliveries: Family<DeliveryLabels, Counter>,
    outbox_depth: Gauge,
    outbox_oldest: Gauge,
    shed: Family<ShedLabels, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("sluice");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route, method and status",
            requests.clone(),
        );
        let plugin_seconds = Family::<PluginLabels, Histogram>::new_with_constructor(|| {
            // 1 µs .. ~0.5 s
            Histogram::new(exponential_buckets(1e-6, 2.0, 20))
        });
        registry.register(
            "plugin_call_seconds",
            "Latency of one plugin call (instantiation included when it was fresh)",
            plugin_seconds.clone(),
        );
        let plugin_failures = Family::<FailureLabels, Counter>::default();
        registry.register(
            "plugin_failures",
            "Plugin calls that trapped, timed out, ran out of memory or failed",
            plugin_failures.clone(),
        );
        let decisions = Family::<DecisionLabels, Counter>::default();
        registry.register(
            "decisions",
            "Policy decisions by action and clause",
            decisions.clone(),
        );
        let sweeper_deletions = Family::<DeletionLabels, Counter>::default();
        registry.register(
            "sweeper_deletions",
            "Fields and records deleted by the retention sweeper",
            sweeper_deletions.clone(),
        );
        let commit_batch = Histogram::new(exponential_buckets(1.0, 2.0, 12));
        registry.register(
            "store_commit_batch_writes",
            "Writes (records, deletions, audit entries) per durable store transaction (group commit)",
            commit_batch.clone(),
        );
        let commit_seconds = Histogram::new(exponential_buckets(1e-5, 2.0, 16));
        registry.register(
            "store_commit_seconds",
            "Duration of one durable store transaction",
            commit_seconds.clone(),
        );
        let records = Gauge::default();
        registry.register(
            "records_written",
            "Records written since start",
            records.clone(),
        );
        let deliveries = Family::<DeliveryLabels, Counter>::default();
        registry.register(
            "deliveries",
            "Delivery push attempts by vendor and outcome (delivered, failed, dead, refused)",
            deliveries.clone(),
        );
        let outbox_depth = Gauge::default();
        registry.register(
            "outbox_pending",
            "Deliveries waiting to be pushed or pulled",
            outbox_depth.clone(),
        );
        let outbox_oldest = Gauge::default();
        registry.register(
            "outbox_oldest_pending_age_seconds",
            "Age of the oldest pending delivery",
            outbox_oldest.clone(),
        );
        let shed = Family::<ShedLabels, Counter>::default();
        registry.register(
            "requests_shed",
            "Requests answered 503 with Retry-After because a bounded resource was in use \
             (pipelines, body-memory)",
            shed.clone(),
        );
        Self {
            shed,
            deliveries,
            outbox_depth,
            outbox_oldest,
            registry,
            requests,
            plugin_seconds,
            plugin_failures,
            decisions,
            sweeper_deletions,
            commit_batch,
            commit_seconds,
            records,
        }
    }

    /// Counts a request shed for want of `resource`.
    pub fn shed(&self, resource: &str) {
        self.shed
            .get_or_create(&ShedLabels {
                resource: resource.to_string(),
            })
            .inc();
    }

    /// Counts an HTTP response.
    pub fn request(&self, route: &str, method: &str, status: u16) {
        self.requests
            .get_or_create(&RequestLabels {
                route: route.to_string(),
                method: method.to_string(),
                status,
            })
            .inc();
    }

    /// Observes one plugin call.
    pub fn plugin_call(&self, plugin: &str, took: Duration) {
        self.plugin_seconds
            .get_or_create(&PluginLabels {
                plugin: plugin.to_string(),
            })
            .observe(took.as_secs_f64());
    }

    /// Counts a plugin failure.
    pub fn plugin_failure(&self, plugin: &str, kind: &str) {
        self.plugin_failures
            .get_or_create(&FailureLabels {
                plugin: plugin.to_string(),
                kind: kind.to_string(),
            })
            .inc();
    }

    /// Counts decisions.
    pub fn decisions<'a>(&self, decisions: impl IntoIterator<Item = &'a Decision>) {
        for d in decisions {
            self.decisions
                .get_or_create(&DecisionLabels {
                    action: d.action.as_str().to_string(),
                    clause: d.clause.clone(),
                })
                .inc();
        }
    }

    /// Counts a sweeper deletion (`field` or `record`).
    pub fn sweeper_deletion(&self, target: &str) {
        self.sweeper_deletions
            .get_or_create(&DeletionLabels {
                target: target.to_string(),
            })
            .inc();
    }

    /// Observes one durable commit of `records` writes.
    pub fn commit(&self, writes: usize, records: usize, took: Duration) {
        self.commit_batch.observe(writes as f64);
        self.commit_seconds.observe(took.as_secs_f64());
        self.records
            .inc_by(i64::try_from(records).unwrap_or(i64::MAX));
    }

    /// Counts a push attempt's outcome for `vendor`.
    pub fn delivery(&self, vendor: &str, outcome: &str) {
        self.deliveries
            .get_or_create(&DeliveryLabels {
                vendor: vendor.to_string(),
                outcome: outcome.to_string(),
            })
            .inc();
    }

    /// Sets the outbox gauges.
    pub fn outbox(&self, pending: u64, oldest_age_secs: i64) {
        self.outbox_depth
            .set(i64::try_from(pending).unwrap_or(i64::MAX));
        self.outbox_oldest.set(oldest_age_secs);
    }

    /// The metrics in Prometheus text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}
