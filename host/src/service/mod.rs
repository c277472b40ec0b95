//! The services: what the gateway does for a request or a background task, below the HTTP
//! handlers of [`crate::api`] and above the policy pipeline and the store. Every policy
//! chain runs through the [`executor`].

pub mod executor;
pub mod impact;
pub mod policy;
pub mod reads;
pub mod recompute;
pub mod rights;
pub mod shadow;
pub mod sweeper;
pub mod writes;
