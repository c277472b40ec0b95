//! The services: what the gateway does for a request or a background task, below the HTTP
//! handlers of [`crate::api`] and above the policy pipeline and the store.

pub mod executor;
pub mod policy;
pub mod reads;
pub mod writes;
