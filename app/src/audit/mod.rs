//! The tamper-evident audit trail.
//!
//! Every change, every authentication event and every refused call appends a
//! record in the same transaction as what it describes. Records form a hash
//! chain, `hash = SHA-256(prev_hash | seq | canonical JSON of the record)`,
//! and writers are serialised on the chain's head row, so concurrent
//! replicas never fork it. [`ssr::verify`] recomputes the chain and names
//! the first record that does not match.

#[cfg(feature = "ssr")]
pub mod ssr;
