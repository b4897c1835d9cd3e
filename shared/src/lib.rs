//! Domain types and validation shared by the browser and the server.
//!
//! Everything here is pure (no I/O) and compiles to `wasm32` and native, so
//! the same rule runs in `on:submit` and again inside the server function or
//! API handler. Validation failures are reported as [`FieldErrors`]: each one
//! names the field and the rule it broke, which is what both the forms and the
//! `application/problem+json` bodies show.

mod macros;

pub mod activity;
pub mod assignment;
pub mod attachment;
pub mod auth;
pub mod authority;
pub mod claim;
pub mod confirm;
pub mod contact;
pub mod customer;
pub mod dates;
pub mod ledger;
pub mod money;
pub mod net;
pub mod pagination;
pub mod party;
pub mod policy;
pub mod redirect;
pub mod sla;
pub mod tenancy;
#[cfg(test)]
mod test_support;
pub mod triage;
pub mod unicode;
pub mod validation;
pub mod webhook;
pub mod workflow;

pub use claim::{ClaimAction, ClaimNumber, ClaimStatus, Priority};
pub use dates::{Date, DateRange};
pub use money::{Currency, Money, MoneyError, MoneyInput};
pub use pagination::{Page, PageRequest};
pub use policy::{LineOfBusiness, PolicyAction, PolicyNumber, PolicyStatus};
pub use validation::{FieldError, FieldErrors};
pub use workflow::{Blocked, TransitionError};

/// The product's version, shown in the UI footer and in `/health`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
