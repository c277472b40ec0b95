//! The one place that runs policy chains: every caller (writes, reads, shadow runs,
//! recomputes, impact reports, the validation gate's test cases) takes its pipelines, its
//! blocking thread and its plugin instances here.
//!
//! A pipeline is a permit of a semaphore sized so that every pipeline running at once finds
//! its instances in the pool; the work runs on tokio's blocking pool (plugins are CPU-bound
//! and synchronous) and gets [`Lane`]s, each a pipeline's worth of plugin instances that
//! live for the work and no longer. A lane never reuses an instance after a failure, and
//! counts the plugin failures of client requests in the gateway's metrics.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::budget::{Queue, Shed};
use crate::bundle::Policy;
use crate::metrics::Metrics;
use crate::pipeline::{
    self, Disclosure, Instances, Outcome, PipelineError, ReadRequest, WriteInput,
};
use crate::record::{Expiry, StoredRecord};
use crate::runtime::Runtime;

/// How a caller waits for its pipelines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// A client's request: at once if one is free, else in the bounded queue for at most
    /// the queue's wait; shed beyond either bound.
    Queued,
    /// Background work (a recompute, the validation gate, an impact report): as long as it
    /// takes, until the gateway shuts down.
    Wait,
    /// Optional work (a shadow run): only if one is free now.
    Try,
}

/// Why work got no pipeline or did not finish.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExecError {
    /// Every pipeline is busy and the wait is over (or was not to be had): nothing ran.
    #[error("the gateway's pipelines are saturated")]
    Saturated,
    /// The gateway is shutting down: nothing ran.
    #[error("the gateway is shutting down")]
    Closed,
    /// The blocking task stopped without a result (it panicked or was cancelled).
    #[error("the policy pipeline task failed: {0}")]
    Failed(String),
}

impl From<Shed> for ExecError {
    fn from(shed: Shed) -> Self {
        match shed {
            Shed::Saturated => Self::Saturated,
            Shed::Closed => Self::Closed,
        }
    }
}

/// Runs policy chains; see the module documentation.
#[derive(Debug)]
pub struct Executor {
    worker: Arc<Worker>,
    pipelines: Arc<Semaphore>,
    queue: Queue,
    instances_per_pipeline: usize,
}

/// What the work on a blocking thread gets: lanes to run chains in.
#[derive(Debug)]
pub struct Worker {
    runtime: Arc<Runtime>,
    metrics: Arc<Metrics>,
}

impl Executor {
    /// An executor of `pipelines` pipelines at once, each of `instances_per_pipeline`
    /// plugin instances, clients waiting in `queue`.
    pub fn new(
        runtime: Arc<Runtime>,
        metrics: Arc<Metrics>,
        pipelines: usize,
        instances_per_pipeline: usize,
        queue: Queue,
    ) -> Self {
        Self {
            worker: Arc::new(Worker { runtime, metrics }),
            pipelines: Arc::new(Semaphore::new(pipelines)),
            queue,
            instances_per_pipeline,
        }
    }

    /// Plugin instances reserved per pipeline: the longest chain a bundle may have.
    pub fn instances_per_pipeline(&self) -> usize {
        self.instances_per_pipeline
    }

    /// Runs `work` on a blocking thread holding `pipelines` pipelines (admitted as
    /// `admission` says), and returns its result.
    pub async fn run<T: Send + 'static>(
        &self,
        admission: Admission,
        pipelines: u32,
        work: impl FnOnce(&Worker) -> T + Send + 'static,
    ) -> Result<T, ExecError> {
        let permit = self.admit(admission, pipelines).await?;
        let worker = self.worker.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work(&worker)
        })
        .await
        .map_err(|e| ExecError::Failed(e.to_string()))
    }

    /// Starts `work` on a blocking thread if a pipeline is free now, without waiting for
    /// it to finish; `false` (and nothing run) when none is.
    pub fn try_spawn(&self, work: impl FnOnce(&Worker) + Send + 'static) -> bool {
        let Ok(permit) = self.pipelines.clone().try_acquire_owned() else {
            return false;
        };
        let worker = self.worker.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            work(&worker)
        });
        true
    }

    /// The pipelines, for tests that hold every one of them.
    pub fn pipelines(&self) -> &Arc<Semaphore> {
        &self.pipelines
    }

    async fn admit(
        &self,
        admission: Admission,
        pipelines: u32,
    ) -> Result<OwnedSemaphorePermit, ExecError> {
        let sem = || self.pipelines.clone();
        let permit = match admission {
            Admission::Queued if pipelines == 1 => {
                let permit = self.queue.permit(&self.pipelines).await;
                if permit.as_ref().err() == Some(&Shed::Saturated) {
                    self.worker.metrics.shed("pipelines");
                }
                permit
            }
            Admission::Queued | Admission::Wait => sem()
                .acquire_many_owned(pipelines)
                .await
                .map_err(|_| Shed::Closed),
            Admission::Try => sem()
                .try_acquire_many_owned(pipelines)
                .map_err(|e| match e {
                    tokio::sync::TryAcquireError::Closed => Shed::Closed,
                    tokio::sync::TryAcquireError::NoPermits => Shed::Saturated,
                }),
        };
        permit.map_err(ExecError::from)
    }
}

impl Worker {
    /// A lane for the live chains: their plugin failures count in the gateway's metrics.
    pub fn lane(&self) -> Lane<'_> {
        Lane::new(self, true)
    }

    /// A lane whose failures its caller reports (a shadow run's or an impact report's
    /// findings, the records a retention recompute left as they were) rather than the
    /// gateway's failure metrics, which count the failures of client requests.
    pub fn dry_lane(&self) -> Lane<'_> {
        Lane::new(self, false)
    }

    /// The gateway's metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }
}

/// A pipeline's worth of plugin instances, reused across the records of one piece of work
/// and replaced after a failure.
pub struct Lane<'a> {
    worker: &'a Worker,
    instances: Instances<'a>,
    counts_failures: bool,
}

impl<'a> Lane<'a> {
    fn new(worker: &'a Worker, counts_failures: bool) -> Self {
        Self {
            worker,
            instances: Instances::new(&worker.runtime),
            counts_failures,
        }
    }

    /// Runs `policy`'s write chain over `input` (see [`pipeline::write`]).
    pub fn write(
        &mut self,
        policy: &'a Policy,
        input: &WriteInput,
        now: i64,
    ) -> Result<Outcome, PipelineError> {
        self.run(|instances, metrics| pipeline::write(policy, input, now, instances, metrics))
    }

    /// Runs `policy`'s read chain over `record` (see [`pipeline::read`]).
    pub fn read(
        &mut self,
        policy: &'a Policy,
        record: &StoredRecord,
        request: &ReadRequest,
        now: i64,
    ) -> Result<Disclosure, PipelineError> {
        self.run(|instances, metrics| {
            pipeline::read(policy, record, request, now, instances, metrics)
        })
    }

    /// `policy`'s retention schedule of `record` (see [`pipeline::schedule`]).
    pub fn schedule(
        &mut self,
        policy: &'a Policy,
        record: &StoredRecord,
        now: i64,
    ) -> Result<Vec<Expiry>, PipelineError> {
        self.run(|instances, metrics| pipeline::schedule(policy, record, now, instances, metrics))
    }

    /// The gateway's metrics.
    pub fn metrics(&self) -> &Metrics {
        self.worker.metrics()
    }

    /// Runs a chain on the lane's instances. A failure replaces them, and a plugin failure
    /// on a live lane counts in the gateway's metrics.
    fn run<T>(
        &mut self,
        chain: impl FnOnce(&mut Instances<'a>, &Metrics) -> Result<T, PipelineError>,
    ) -> Result<T, PipelineError> {
        let worker = self.worker;
        let out = chain(&mut self.instances, worker.metrics());
        if let Err(e) = &out {
            if let (true, PipelineError::Plugin(f)) = (self.counts_failures, e) {
                self.worker
                    .metrics
                    .plugin_failure(&f.plugin, f.kind.label());
            }
            // A failed instance is not reused.
            self.instances = Instances::new(&self.worker.runtime);
        }
        out
    }
}
