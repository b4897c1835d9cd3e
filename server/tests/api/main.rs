//! End-to-end tests of the HTTP surface: the real router, a real database
//! (SQLite by default, PostgreSQL with `TEST_DATABASE_URL`), real sockets.
#![expect(
    clippy::unwrap_used,
    reason = "helpers outside #[test] fns unwrap too: a failed unwrap is a failed test"
)]

mod activities;
mod api_errors;
mod assets;
mod assignment;
mod attachments;
mod audit;
mod audit_page;
mod auth;
mod claim_view;
mod claims;
mod confirmations;
mod connections;
mod customers;
mod db_faults;
mod durability;
mod exports;
mod financials;
mod health;
mod helpers;
mod identity_cache;
mod isolation;
mod lifecycle;
mod list_pages;
mod mfa;
mod moved_ciphertext;
mod numbering;
mod openapi;
mod pages;
mod password_throttling;
mod pipeline;
mod policies;
mod roles;
mod security;
mod server_fns;
mod shutdown;
mod sla;
mod storage_s3;
mod tenancy;
mod tenancy_followups;
mod tracing_export;
mod webhook_ssrf;
mod webhook_tenancy;
mod webhooks;
