//! What a failed database (or storage) call means for the client: retry
//! shortly, retry once storage is freed, or a bug.
//!
//! The drill behind this module found every one of these answered as an
//! opaque 500, so a client could not tell "retry" from "bug". The engines
//! report their conditions as codes: SQLite's (extended) result codes and
//! PostgreSQL's SQLSTATEs; both are matched here, in one place, so the JSON
//! API and the server functions classify alike.

use std::error::Error as StdError;

/// The client-facing meaning of a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// Transient: the database is busy, restarting or unreachable, or the
    /// transaction lost a race (serialization failure, deadlock). Retrying
    /// the same request shortly is expected to work.
    Unavailable,
    /// The database or object storage has no space left. Retrying works
    /// once an operator frees space; nothing was written.
    StorageFull,
    /// Anything else: a bug or a broken invariant (500).
    Internal,
}

/// `ENOSPC` on Linux and the BSDs (`io::ErrorKind::StorageFull` covers it
/// too, but only where std maps the code).
const ENOSPC: i32 = 28;

/// Classifies an error of sqlx (either engine, through `Any`).
pub fn classify(error: &sqlx::Error) -> Failure {
    match error {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => {
            Failure::Unavailable
        }
        // A connection closed or reset under a query (a PostgreSQL restart).
        sqlx::Error::Io(io) if is_out_of_space_io(io) => Failure::StorageFull,
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) => Failure::Unavailable,
        sqlx::Error::Database(db) => {
            let Some(code) = db.code() else {
                return Failure::Internal;
            };
            // SQLite reports its extended result code as a decimal number,
            // PostgreSQL a five-character SQLSTATE.
            if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                code.parse::<i32>().map_or(Failure::Internal, sqlite_code)
            } else {
                sqlstate(&code)
            }
        }
        _ => Failure::Internal,
    }
}

/// SQLite result codes (<https://www.sqlite.org/rescode.html>); the low
/// byte of an extended code is its primary code.
pub fn sqlite_code(code: i32) -> Failure {
    match code & 0xff {
        // SQLITE_FULL: a page could not be allocated (disk or
        // `max_page_count`); the OS's ENOSPC arrives as this too.
        13 => Failure::StorageFull,
        // SQLITE_BUSY, SQLITE_LOCKED (the busy timeout ran out),
        // SQLITE_IOERR (a failing or detached volume), SQLITE_READONLY (a
        // file system remounted read-only), SQLITE_CANTOPEN, SQLITE_PROTOCOL
        // (a WAL lock race).
        5 | 6 | 8 | 10 | 14 | 15 => Failure::Unavailable,
        _ => Failure::Internal,
    }
}

/// PostgreSQL SQLSTATEs
/// (<https://www.postgresql.org/docs/current/errcodes-appendix.html>).
pub fn sqlstate(code: &str) -> Failure {
    match code {
        // disk_full
        "53100" => Failure::StorageFull,
        // serialization_failure, deadlock_detected: the transaction lost a
        // race and is safe to run again.
        "40001" | "40P01"
        // insufficient_resources, out_of_memory, too_many_connections
        | "53000" | "53200" | "53300"
        // lock_not_available, query_canceled (a statement timeout)
        | "55P03" | "57014"
        // admin_shutdown, crash_shutdown, cannot_connect_now: a restart.
        | "57P01" | "57P02" | "57P03"
        // read_only_sql_transaction: a failover left us on a standby.
        | "25006"
        // io_error
        | "58030" => Failure::Unavailable,
        // Class 08: connection exception.
        _ if code.starts_with("08") => Failure::Unavailable,
        _ => Failure::Internal,
    }
}

/// Whether `error` or any error it wraps is the OS saying "no space left"
/// (object storage on a local file system reports ENOSPC this way).
pub fn is_out_of_space(error: &(dyn StdError + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(error) = current {
        if let Some(io) = error.downcast_ref::<std::io::Error>()
            && is_out_of_space_io(io)
        {
            return true;
        }
        current = error.source();
    }
    false
}

fn is_out_of_space_io(error: &std::io::Error) -> bool {
    error.kind() == std::io::ErrorKind::StorageFull || error.raw_os_error() == Some(ENOSPC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_restarts_races_and_connection_loss_are_retryable() {
        for code in [
            "57P01", "57P02", "57P03", "08000", "08003", "08006", "08001", "40001", "40P01",
            "53300", "25006",
        ] {
            assert_eq!(sqlstate(code), Failure::Unavailable, "{code}");
        }
    }

    #[test]
    fn postgres_disk_full_is_storage_full_and_constraint_errors_are_internal() {
        assert_eq!(sqlstate("53100"), Failure::StorageFull);
        for code in ["23505", "23503", "42P01", "22001", "XX000"] {
            assert_eq!(sqlstate(code), Failure::Internal, "{code}");
        }
    }

    #[test]
    fn sqlite_busy_and_locked_are_retryable_with_their_extended_codes() {
        // SQLITE_BUSY, SQLITE_BUSY_SNAPSHOT (517), SQLITE_LOCKED_SHAREDCACHE
        // (262), SQLITE_IOERR_WRITE (778).
        for code in [5, 517, 6, 262, 10, 778] {
            assert_eq!(sqlite_code(code), Failure::Unavailable, "{code}");
        }
    }

    #[test]
    fn sqlite_full_is_storage_full_and_constraints_are_internal() {
        assert_eq!(sqlite_code(13), Failure::StorageFull);
        // SQLITE_CONSTRAINT_UNIQUE (2067), SQLITE_ERROR (1).
        assert_eq!(sqlite_code(2067), Failure::Internal);
        assert_eq!(sqlite_code(1), Failure::Internal);
    }

    #[test]
    fn pool_exhaustion_and_lost_connections_are_retryable() {
        assert_eq!(classify(&sqlx::Error::PoolTimedOut), Failure::Unavailable);
        assert_eq!(classify(&sqlx::Error::PoolClosed), Failure::Unavailable);
        let reset = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
        assert_eq!(classify(&sqlx::Error::Io(reset)), Failure::Unavailable);
        assert_eq!(
            classify(&sqlx::Error::RowNotFound),
            Failure::Internal,
            "a missing row is a bug at this point"
        );
    }

    #[test]
    fn enospc_is_found_however_deeply_it_is_wrapped() {
        #[derive(Debug, thiserror::Error)]
        #[error("cannot write the object")]
        struct Wrapper(#[source] std::io::Error);

        let wrapped = Wrapper(std::io::Error::from_raw_os_error(ENOSPC));
        assert!(is_out_of_space(&wrapped));
        let io = sqlx::Error::Io(std::io::Error::from_raw_os_error(ENOSPC));
        assert_eq!(classify(&io), Failure::StorageFull);
        let other = Wrapper(std::io::Error::from(std::io::ErrorKind::PermissionDenied));
        assert!(!is_out_of_space(&other));
    }
}
