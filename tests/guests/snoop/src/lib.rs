//! Test guest: tries to use the ambient world (clock, environment, filesystem), which a
//! plugin never gets.
use sluice_plugin_sdk::redaction::exports::sluice::policy::redact;
use sluice_plugin_sdk::types::{Context, RecordData};

struct Guest;

impl redact::Guest for Guest {
    fn check_config(_config: String) -> Result<(), Vec<String>> {
        Ok(())
    }

    fn redact(ctx: Context, _record: RecordData) -> Result<Vec<redact::Edit>, String> {
        let what = ctx.config.as_str();
        let seen = match what {
            r#"{"try":"env"}"# => std::env::var("HOME").unwrap_or_default(),
            r#"{"try":"file"}"# => std::fs::read_to_string("/etc/passwd").unwrap_or_default(),
            _ => format!("{:?}", std::time::SystemTime::now()),
        };
        Err(format!(
            "the guest saw the ambient world: {} bytes",
            seen.len()
        ))
    }
}

sluice_plugin_sdk::redaction::export_redaction!(Guest);
