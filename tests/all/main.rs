//! End-to-end tests: the real gateway, the real plugins, a temporary redb, real HTTP.

mod admission;
mod auth;
mod bad_input;
mod batch;
mod bundle;
mod connections;
mod copies;
mod delivery;
mod durability;
mod fuzz;
mod limits;
mod metrics;
mod openapi;
mod policy_cases;
mod provu;
mod publishing;
mod records;
mod redaction;
mod retention;
mod rights;
mod sandbox;
mod tenancy;

use serde_json::{Value, json};

/// A valid `call-recording` whose notes hold `text`.
pub fn call_recording(subject: &str, text: &str) -> Value {
    json!({
        "kind": "call-recording",
        "subject": subject,
        "fields": {
            "direction": "inbound",
            "party_number": "+44 1484 840048",
            "started_at": "2026-11-20T09:30:00Z",
            "recording_ref": "rec-0001",
            "notes": { "summary": { "text": text } },
        }
    })
}

/// A valid `contact`.
pub fn contact(subject: &str) -> Value {
    json!({
        "kind": "contact",
        "subject": subject,
        "fields": {
            "name": "Ada Lovelace",
            "organisation": "Analytical Engines Ltd",
            "relationship": "customer",
            "email": "ada@example.co.uk",
            "phone": "01484 840048",
        }
    })
}
