//! End-to-end tests of the HTTP surface: the real router, a real database
//! (SQLite by default, PostgreSQL with `TEST_DATABASE_URL`), real sockets.

mod health;
mod helpers;
mod lifecycle;
mod pages;
