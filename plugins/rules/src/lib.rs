//! Pure policy rules shared by Sluice plugins.
//!
//! Everything here is plain Rust over `&str` and byte slices: no I/O, no global state, no
//! platform-specific code; the only dependencies are the `unicode-normalization` and
//! `unicode-properties` tables. The same crate is compiled natively (for the host
//! and its tests) and for `wasm32-wasip2` (inside the policy plugins), so both sides of the
//! gateway apply exactly the same rules.
//!
//! - [`card`]: detection and redaction of payment card numbers in free text and in numbers
//!   (privacy-policy clauses 2.1.2 and 2.1.3, "we do not store / record credit card
//!   information").
//! - [`normalise`]: reading text after Unicode normalisation (NFKC digits and spaces, format
//!   characters dropped) while keeping the offsets of the original text.
//! - [`names`]: splitting field names into words, and matching them against vocabularies
//!   such as the special categories of clause 2.4 ("we do not collect any special category
//!   data").
//! - [`age`]: calendar dates and ages (clause 6, children under 16; the May 2018 cutoff of
//!   clause 2.1.4).
//! - [`mac`]: MAC addresses in their usual notations, and one canonical form (clause 2.2.2).
//! - [`pointer`]: JSON Pointers, the paths that name record fields.

pub mod age;
pub mod card;
pub mod mac;
pub mod names;
pub mod normalise;
pub mod pointer;
