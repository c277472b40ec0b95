//! What forwarder plugins share: a [`Delivery`] as their rules compute it, apart from the
//! generated bindings so the rules are tested natively, and the export of a forwarder
//! plugin made of a configuration and such rules ([`export_forwarder_rules!`]).

use crate::forwarder::exports::sluice::policy::forward;
use crate::types::Field;

/// One delivery to a subprocessor, as a forwarder's rules compute it.
#[derive(Debug, PartialEq)]
pub struct Delivery<'a, P> {
    /// The subprocessor's id in the register.
    pub vendor: &'a str,
    /// The subprocessor's endpoint kind.
    pub endpoint: &'static str,
    /// Exactly what the subprocessor receives.
    pub payload: Vec<P>,
    /// The clause that permits the transfer.
    pub clause: &'a str,
    /// Why.
    pub reason: &'static str,
}

/// An entry of a delivery's payload, as the leaf it is sent as.
pub trait Payload {
    /// The leaf sent.
    fn into_field(self) -> Field;
}

/// A leaf of the record, sent as it is.
impl Payload for &Field {
    fn into_field(self) -> Field {
        self.clone()
    }
}

impl<P: Payload> Delivery<'_, P> {
    /// The delivery as the host receives it.
    pub fn into_wit(self) -> forward::Delivery {
        forward::Delivery {
            vendor: self.vendor.into(),
            endpoint: self.endpoint.into(),
            payload: self.payload.into_iter().map(Payload::into_field).collect(),
            clause: self.clause.into(),
            reason: self.reason.into(),
        }
    }
}

/// Exports, in the Wasm build, the forwarder plugin whose configuration is `$config` (its
/// `problems` are those `check-config` lists) and whose deliveries are those of
/// `$forward(&config, kind, fields)`, a `Result` of [`Delivery`]s (an `Option` or a `Vec`).
///
/// ```ignore
/// sluice_plugin_sdk::export_forwarder_rules!(crate::config::Config, crate::rules::forward);
/// ```
#[macro_export]
macro_rules! export_forwarder_rules {
    ($config:ty, $forward:path) => {
        #[cfg(target_arch = "wasm32")]
        mod plugin {
            use $crate::forwarder::exports::sluice::policy::forward;
            use $crate::types::{Context, RecordData};

            struct Plugin;

            impl forward::Guest for Plugin {
                fn check_config(config: String) -> Result<(), Vec<String>> {
                    $crate::check_config(&config, <$config>::problems)
                }

                fn forward(
                    ctx: Context,
                    record: RecordData,
                ) -> Result<Vec<forward::Delivery>, String> {
                    let cfg: $config = $crate::parse_config(&ctx.config)?;
                    let deliveries = $forward(&cfg, &record.kind, &record.fields)?;
                    Ok(deliveries
                        .into_iter()
                        .map($crate::delivery::Delivery::into_wit)
                        .collect())
                }
            }

            $crate::forwarder::export_forwarder!(Plugin);
        }
    };
}
