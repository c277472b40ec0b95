//! What the test and benchmark code of the workspace shares: the end-to-end tests
//! (`sluice-tests`), the host's integration tests (`host/tests/`) and its benchmarks
//! (`host/benches/`).
//!
//! - [`bundle`]: the ProVu bundle of the repository, copies of it and edits of a copy's
//!   manifest;
//! - [`gateway`]: a gateway started in-process, and tokens issued on it;
//! - [`cli`]: the `sluice` binary run as an operator runs it (`serve`, `token create`) and
//!   plain HTTP/1.0 requests to it;
//! - [`vendor`]: a vendor's HTTP server on loopback;
//! - [`http`]: NDJSON requests and answers, and waiting for a condition;
//! - [`bench`]: the benchmarks' settings, load generator and tallies.

pub mod bench;
pub mod bundle;
pub mod cli;
pub mod gateway;
pub mod http;
pub mod vendor;
