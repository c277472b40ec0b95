//! Test guest: an admission plugin that refuses any record holding a field named
//! `forbidden` (clause from its configuration) and erases it on update when asked to.

use sluice_plugin_sdk::admission::exports::sluice::policy::admit;
use sluice_plugin_sdk::types::{Context, Note, RecordData};

struct Guest;

impl admit::Guest for Guest {
    fn check_config(config: String) -> Result<(), Vec<String>> {
        if config.contains("\"clause\"") {
            Ok(())
        } else {
            Err(vec!["`clause` is required".into()])
        }
    }

    fn admit(ctx: Context, record: RecordData) -> Result<Vec<Note>, admit::Rejection> {
        let erase = ctx.config.contains("\"erase\":true");
        let clause = ctx
            .config
            .split("\"clause\":\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or("?")
            .to_string();
        match record
            .fields
            .iter()
            .find(|f| f.path.ends_with("/forbidden"))
        {
            Some(f) => Err(admit::Rejection {
                clause,
                reason: "a forbidden field was sent".into(),
                path: Some(f.path.clone()),
                erase,
            }),
            None => Ok(vec![Note {
                clause,
                reason: "no forbidden field".into(),
                path: None,
            }]),
        }
    }
}

sluice_plugin_sdk::admission::export_admission!(Guest);
