//! Human-facing numbers (`CUS-000001`, `POL-2026-000001`, `CLM-2026-000001`):
//! unique, never reused, gaps allowed, and no row that every writer locks
//! until it commits.
//!
//! # Why not one counter row
//!
//! The first design advanced a `counters` row with an upsert early in the
//! business transaction. On PostgreSQL that row's lock is held through
//! every later statement and the commit, so all writers of claims queued on
//! it (11.6 of ~15 sessions waiting under load; one connection wrote as fast
//! as sixteen). Each engine now takes numbers its own way:
//!
//! * **PostgreSQL**: one `SEQUENCE` per counter name (`claim:2026` becomes
//!   `vanguard_number_claim_2026`). `nextval` is lock-free and not rolled
//!   back, so a failed transaction leaves a gap, never a duplicate. The
//!   sequence is created outside any business transaction the first time a
//!   process needs it ([`Numbers::prepare`]), under an advisory lock, and
//!   starts above the name's old `counters` value, so numbers continue
//!   where the counter stopped; which sequences exist is cached per pool.
//!   All replicas must run this version: one still advancing the counter
//!   row would hand out numbers the sequence also hands out (the unique
//!   indexes on the number columns refuse the second, nothing is stored
//!   twice).
//! * **SQLite**: the `counters` upsert stays. `BEGIN IMMEDIATE` already
//!   gives a write transaction the whole database until it commits (one
//!   writer at a time, see [`crate::db`]), so the counter row adds no wait
//!   of its own wherever it sits in the transaction, and a rolled-back
//!   transaction takes its number back with it.

use sqlx::Connection as _;

use crate::db::{Db, Engine};

/// A counter ready to hand out numbers: from [`Numbers::prepare`], before
/// the business transaction starts; [`Counter::next`] inside it.
#[derive(Debug, Clone)]
pub struct Counter {
    name: String,
    engine: Engine,
    year: i32,
}

/// Why a counter name cannot be used.
fn bad_name(name: &str) -> sqlx::Error {
    sqlx::Error::Protocol(format!(
        "counter name `{name}` must be lower-case letters, digits, `_` or `:`"
    ))
}

/// The sequence of counter `name` (validated: it is spliced into DDL).
fn sequence_name(name: &str) -> Result<String, sqlx::Error> {
    let valid = !name.is_empty()
        && name.len() <= 40
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b':');
    if !valid {
        return Err(bad_name(name));
    }
    Ok(format!("vanguard_number_{}", name.replace(':', "_")))
}

/// Entry point: `Numbers::prepare(&db, "customer")`, or
/// `Numbers::yearly(&db, "claim")` for numbers that restart every year.
pub struct Numbers;

impl Numbers {
    /// The counter `prefix:YEAR` of this year (UTC), see [`Counter::year`].
    pub async fn yearly(db: &Db, prefix: &str) -> Result<Counter, sqlx::Error> {
        let year = crate::clock::today().year();
        let mut counter = Self::prepare(db, &format!("{prefix}:{year}")).await?;
        counter.year = year;
        Ok(counter)
    }

    /// Makes counter `name` usable on `db`. On PostgreSQL this creates its
    /// sequence the first time (one short transaction of its own, on its
    /// own connection, never inside a business transaction); afterwards,
    /// and on SQLite, it does not touch the database.
    pub async fn prepare(db: &Db, name: &str) -> Result<Counter, sqlx::Error> {
        let sequence = sequence_name(name)?;
        if db.engine() == Engine::Postgres && !db.known_sequences().contains(name) {
            create_sequence(db, name, &sequence).await?;
            db.known_sequences().insert(name);
        }
        Ok(Counter {
            name: name.to_owned(),
            engine: db.engine(),
            year: crate::clock::today().year(),
        })
    }
}

/// Creates the sequence of `name`, starting above the old counter row,
/// unless it exists. The advisory lock makes "check, read the counter,
/// create" one step across replicas, so no `nextval` can run before the
/// carried-over start is in place.
async fn create_sequence(db: &Db, name: &str, sequence: &str) -> Result<(), sqlx::Error> {
    let mut conn = db.pool().acquire().await?;
    let mut tx = conn.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('vanguard.numbering'))::text")
        .execute(&mut *tx)
        .await?;
    let exists: Option<String> = sqlx::query_scalar("SELECT to_regclass($1)::text")
        .bind(sequence)
        .fetch_one(&mut *tx)
        .await?;
    if exists.is_none() {
        let last: Option<i64> = sqlx::query_scalar("SELECT value FROM counters WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut *tx)
            .await?;
        let start = last.unwrap_or(0).saturating_add(1).max(1);
        sqlx::query(&format!(
            "CREATE SEQUENCE IF NOT EXISTS {sequence} AS BIGINT START WITH {start} MINVALUE 1"
        ))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}

impl Counter {
    /// The year a [`Numbers::yearly`] counter numbers (the year it was
    /// prepared in, so a transaction across midnight on 31 December still
    /// formats its number with the counter it took it from).
    pub fn year(&self) -> i32 {
        self.year
    }

    /// The next number as an SQL expression, for engines that can take it
    /// inside another statement (PostgreSQL's `nextval`; one round trip
    /// fewer). `None` on SQLite: use [`Counter::next`].
    pub fn select_expression(&self) -> Result<Option<String>, sqlx::Error> {
        Ok(match self.engine {
            Engine::Postgres => Some(format!("nextval('{}')", sequence_name(&self.name)?)),
            Engine::Sqlite => None,
        })
    }

    /// The next number, inside the caller's write transaction: one
    /// statement, no lock held until commit on PostgreSQL.
    pub async fn next(&self, conn: &mut sqlx::AnyConnection) -> Result<i64, sqlx::Error> {
        match self.engine {
            Engine::Postgres => {
                sqlx::query_scalar("SELECT nextval($1::regclass)")
                    .bind(sequence_name(&self.name)?)
                    .fetch_one(conn)
                    .await
            }
            Engine::Sqlite => {
                sqlx::query_scalar(
                    "INSERT INTO counters (name, value) VALUES ($1, 1) \
                     ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value",
                )
                .bind(&self.name)
                .fetch_one(conn)
                .await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_names_map_to_sequence_names() {
        assert_eq!(
            sequence_name("claim:2026").unwrap(),
            "vanguard_number_claim_2026"
        );
        assert_eq!(
            sequence_name("customer").unwrap(),
            "vanguard_number_customer"
        );
    }

    #[test]
    fn a_counter_name_that_could_change_the_ddl_is_refused() {
        for name in [
            "",
            "claim; DROP TABLE claims",
            "Claim:2026",
            "a\"b",
            &"x".repeat(41),
        ] {
            assert!(sequence_name(name).is_err(), "{name}");
        }
    }
}
