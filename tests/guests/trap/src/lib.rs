//! Test guest: traps (a Rust panic) on every call.
use sluice_plugin_sdk::redaction::exports::sluice::policy::redact;
use sluice_plugin_sdk::types::{Context, RecordData};

struct Guest;

impl redact::Guest for Guest {
    fn check_config(_config: String) -> Result<(), Vec<String>> {
        Ok(())
    }

    fn redact(_ctx: Context, record: RecordData) -> Result<Vec<redact::Edit>, String> {
        panic!("guest-trap always traps (record kind {})", record.kind);
    }
}

sluice_plugin_sdk::redaction::export_redaction!(Guest);
