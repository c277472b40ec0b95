//! Data subjects' standing requests (clause 9): a restriction of processing, and objections
//! to purposes. Kept per subject (by the pseudonymous subject digest of the audit log) and
//! enforced by the gateway before any plugin runs: a restricted subject's data is kept but not
//! read, disclosed or forwarded except for the purposes a restriction allows; a purpose
//! objected to is refused from then on.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::record::{Action, Decision};

/// The purposes a read may still name while processing is restricted (clause 9: the data may
/// be kept, and used for legal claims).
pub const ALLOWED_WHILE_RESTRICTED: &[&str] = &["legal-claim"];

/// When and by which request a right was exercised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Since {
    /// The request id.
    pub request: String,
    /// When (ms since the epoch).
    pub at: i64,
}

/// A subject's standing requests.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rights {
    /// Processing is restricted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restricted: Option<Since>,
    /// Purposes objected to.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub objections: BTreeMap<String, Since>,
}

impl Rights {
    /// The gateway's refusal of a read for `purpose`, if the subject's rights forbid it.
    pub fn refusal(&self, purpose: &str) -> Option<Decision> {
        if self.restricted.is_some() && !ALLOWED_WHILE_RESTRICTED.contains(&purpose) {
            return Some(Decision {
                plugin: "gateway".into(),
                action: Action::Refuse,
                path: None,
                clause: crate::clause::RIGHTS.into(),
                reason: format!(
                    "the data subject has restricted processing; only {} may read it",
                    ALLOWED_WHILE_RESTRICTED.join(", ")
                ),
            });
        }
        self.objections.contains_key(purpose).then(|| Decision {
            plugin: "gateway".into(),
            action: Action::Refuse,
            path: None,
            clause: crate::clause::objection(purpose).into(),
            reason: format!("the data subject objected to `{purpose}`"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn since() -> Since {
        Since {
            request: "r".into(),
            at: 0,
        }
    }

    #[test]
    fn a_restriction_refuses_every_purpose_but_legal_claims() {
        let r = Rights {
            restricted: Some(since()),
            ..Rights::default()
        };
        assert_eq!(r.refusal("delivery").unwrap().clause, "9");
        assert_eq!(r.refusal("").unwrap().clause, "9");
        assert!(r.refusal("legal-claim").is_none());
    }

    #[test]
    fn an_objection_refuses_its_purpose_only() {
        let mut r = Rights::default();
        r.objections.insert("email-marketing".into(), since());
        assert_eq!(r.refusal("email-marketing").unwrap().clause, "2.1.4");
        assert!(r.refusal("delivery").is_none());
    }
}
