//! Domain types and validation shared by the browser and the server.
//!
//! Everything here is pure (no I/O) and compiles to `wasm32` and native, so
//! the same rule runs in `on:submit` and again inside the server function or
//! API handler. Validation failures are reported as [`FieldErrors`]: each one
//! names the field and the rule it broke, which is what both the forms and the
//! `application/problem+json` bodies show.

pub mod auth;
pub mod contact;
pub mod validation;

pub use validation::{FieldError, FieldErrors};

/// The product's version, shown in the UI footer and in `/health`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
