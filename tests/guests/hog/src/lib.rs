//! Test guest: grabs memory until the host's cap stops it.
use sluice_plugin_sdk::redaction::exports::sluice::policy::redact;
use sluice_plugin_sdk::types::{Context, RecordData};

struct Guest;

impl redact::Guest for Guest {
    fn check_config(_config: String) -> Result<(), Vec<String>> {
        Ok(())
    }

    fn redact(_ctx: Context, _record: RecordData) -> Result<Vec<redact::Edit>, String> {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            let mut chunk = vec![0u8; 1 << 20];
            chunk[0] = std::hint::black_box(1);
            hoard.push(chunk);
        }
    }
}

sluice_plugin_sdk::redaction::export_redaction!(Guest);
