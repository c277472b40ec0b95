//! Disclosure plugin: what each audience may see of a record under ProVu's privacy policy
//! (clauses 2.1.4, 2.1.5, 2.2.1, 2.2.2, 2.3.1, 3, 3.1 and 3.2).
//!
//! The audience is `internal` (the calling service itself) or `subprocessor:ID`, an id of
//! the subprocessor register. The first rule that matches decides:
//!
//! - a purpose that is not one of the bundle's is refused (clause 3); only an internal read
//!   may give no purpose;
//! - internal reads see the whole record, except that web-form data serves only the form's
//!   stated purpose (2.3.1), email marketing goes only to subscribers who have not opted out
//!   (2.1.4) and telephone marketing only to contacts (2.1.5) and subscribers (2.1.4) who
//!   have not opted out;
//! - a subprocessor must be in the register (3.2), is never given data for direct marketing
//!   (3), nor outside the EEA without safeguards (3.1); it sees a web form's data only when
//!   the form names it, for the form's purpose (2.3.1); a courier sees the name, company,
//!   address, phone and email of its own deliveries for delivery or fulfilment (2.2.1); a
//!   manufacturer sees the MAC address of its own devices for redirection, and their SIP
//!   details for provisioning only when it hosts the provisioning (2.2.2); another
//!   subprocessor sees a contact's name and organisation for a credit check (3.2). Anything
//!   else is refused (3).
//!
//! Configuration (all optional):
//! ```toml
//! config = { marketing_purposes = ["email-marketing", "telephone-marketing", "direct-marketing"] }
//! ```
//! The host adds the subprocessor `register` and the bundle's `purposes`.

pub mod config;
pub mod rules;

#[cfg(test)]
mod tests;

mod plugin {
    use sluice_plugin_sdk::disclosure::exports::sluice::policy::disclose;
    use sluice_plugin_sdk::types::{Context, Note, RecordData};

    use crate::config::Config;
    use crate::rules::{self, Audience, Record};

    struct Plugin;

    impl disclose::Guest for Plugin {
        fn check_config(config: String) -> Result<(), Vec<String>> {
            sluice_plugin_sdk::check_config(&config, Config::problems)
        }

        fn disclose(
            ctx: Context,
            record: RecordData,
            audience: disclose::Audience,
        ) -> Result<disclose::Projection, Note> {
            // A configuration the plugin cannot read discloses nothing (fail closed).
            let cfg: Config =
                sluice_plugin_sdk::parse_config(&ctx.config).map_err(|reason| Note {
                    clause: "3".into(),
                    reason,
                    path: None,
                })?;
            let view = Record {
                kind: &record.kind,
                fields: &record.fields,
            };
            let audience = Audience {
                name: &audience.name,
                purpose: &audience.purpose,
            };
            match rules::disclose(&cfg, &view, audience) {
                Ok(p) => Ok(disclose::Projection {
                    paths: p.paths.iter().map(|&p| p.into()).collect(),
                    clause: p.clause.into(),
                    reason: p.reason,
                }),
                Err(r) => Err(Note {
                    clause: r.clause.into(),
                    reason: r.reason,
                    path: r.path.map(Into::into),
                }),
            }
        }
    }

    sluice_plugin_sdk::export_plugin!(disclosure: Plugin);
}
