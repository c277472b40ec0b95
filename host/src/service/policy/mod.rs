//! The control plane: publishing policy to a running gateway.
//!
//! Uploads put plugins and bundles in the [`Registry`] (global: content-addressed, and a
//! bundle id never changes); activation puts a bundle through the validation gate (compile,
//! check worlds, check configuration, run its policy test cases in the sandbox), records the
//! activation (and a change notice for a material change), and swaps the whole policy of one
//! scope at once: a tenant's own (activations and rollbacks by its compliance team), or the
//! gateway default (the bootstrap, reloads of the policy directory), which every tenant
//! without a bundle of its own runs on. Requests in flight keep the policy they loaded; new
//! ones see the new one. One administrative change runs at a time.

mod activate;
mod publish;
mod startup;

use anyhow::Context as _;

use crate::bundle::package::{Components, Package};
use crate::bundle::signing::SignatureError;
use crate::bundle::{self, BundleError, Policy};
use crate::cases::{self, CaseResult};
use crate::runtime::Runtime;
use crate::runtime::cache::CompiledCache;
use crate::service::executor::{Admission, ExecError};
use crate::state::AppState;

pub use activate::{ActivationReport, activate, reload_dir, rollback};
pub use publish::{upload_bundle, upload_plugin};
pub use startup::{describe, startup_policy};

/// Why an administrative request was refused.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// No such plugin or bundle.
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with what the registry holds.
    #[error("{0}")]
    Conflict(String),
    /// The bundle or plugin is invalid: every problem, and the failing policy test cases.
    #[error("{error}")]
    Invalid {
        /// A summary.
        error: String,
        /// Every problem found.
        problems: Vec<String>,
        /// The failing cases, with expected vs actual.
        cases: Vec<CaseResult>,
    },
    /// The bundle's signature was refused.
    #[error(transparent)]
    Signature(#[from] SignatureError),
    /// The registry or the runtime failed.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ControlError {
    fn invalid(error: impl Into<String>, problems: Vec<String>) -> Self {
        Self::Invalid {
            error: error.into(),
            problems,
            cases: Vec::new(),
        }
    }
}

impl From<BundleError> for ControlError {
    fn from(e: BundleError) -> Self {
        Self::invalid(
            format!(
                "invalid policy bundle ({} problem{})",
                e.problems.len(),
                if e.problems.len() == 1 { "" } else { "s" }
            ),
            e.problems,
        )
    }
}

/// Where a bundle comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// Uploaded through the admin API: its signature must verify with a trusted key.
    Api,
    /// The gateway's own policy directory (start-up, `SIGHUP`, `--watch`): trusted as the
    /// operator's, like the gateway's configuration.
    Local(String),
}

/// The validation gate: loads `package` (compiling its components, checking their worlds
/// and their configuration) and runs its policy test cases in the sandbox.
pub fn validate(
    package: Package,
    components: &Components,
    runtime: &Runtime,
    cache: Option<&CompiledCache>,
) -> Result<Policy, ControlError> {
    let policy = bundle::load(package, components, runtime, cache)?;
    check_cases(&policy, runtime)?;
    Ok(policy)
}

/// Runs the policy test cases of `policy`; any failure refuses it.
pub(super) fn check_cases(policy: &Policy, runtime: &Runtime) -> Result<(), ControlError> {
    let failing: Vec<CaseResult> = cases::run_all(policy, runtime)
        .into_iter()
        .filter(|c| !c.passed())
        .collect();
    if !failing.is_empty() {
        return Err(ControlError::Invalid {
            error: format!(
                "{} of the bundle's policy test cases failed ({})",
                failing.len(),
                policy.id
            ),
            problems: failing
                .iter()
                .map(|c| format!("{}: {}", c.name, c.failures.join("; ")))
                .collect(),
            cases: failing,
        });
    }
    Ok(())
}

pub(super) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ControlError> + Send + 'static,
) -> Result<T, ControlError> {
    tokio::task::spawn_blocking(f)
        .await
        .context("joining a blocking task")?
}

/// Runs `f` (which runs a bundle's policy test cases) on a blocking thread holding a
/// pipeline's worth of plugin instances.
pub(super) async fn with_pipeline<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce() -> Result<T, ControlError> + Send + 'static,
) -> Result<T, ControlError> {
    match state.executor.run(Admission::Wait, 1, move |_| f()).await {
        Ok(done) => done,
        Err(ExecError::Closed) => Err(ControlError::Conflict(
            "the gateway is shutting down".into(),
        )),
        Err(e) => Err(ControlError::from(anyhow::Error::from(e))),
    }
}
