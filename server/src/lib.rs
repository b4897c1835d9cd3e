//! The Vanguard server: configuration, start-up, HTTP surface and operator
//! commands. `main.rs` only parses the command line and calls [`cli::run`];
//! the integration tests build the same [`startup::Application`].

pub mod api;
pub mod assets;
pub mod attachments;
pub mod cli;
pub mod config;
pub mod demo;
pub mod exports;
pub mod health;
pub mod metrics;
pub mod middleware;
pub mod serve;
pub mod startup;
pub mod telemetry;
