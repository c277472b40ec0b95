//! Test guest: loops forever, so only the host's deadline stops it.
use sluice_plugin_sdk::redaction::exports::sluice::policy::redact;
use sluice_plugin_sdk::types::{Context, RecordData};

struct Guest;

impl redact::Guest for Guest {
    fn check_config(_config: String) -> Result<(), Vec<String>> {
        Ok(())
    }

    fn redact(_ctx: Context, record: RecordData) -> Result<Vec<redact::Edit>, String> {
        let mut n: u64 = record.fields.len() as u64;
        loop {
            n = std::hint::black_box(n.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
    }
}

sluice_plugin_sdk::redaction::export_redaction!(Guest);
