//! The one place that knows Vanguard runs on two database engines.
//!
//! # Why the `Any` driver
//!
//! Every feature writes one SQL text and runs it through one pool type, one
//! transaction type and one row type (`AnyPool`, `Transaction<'_, Any>`,
//! `AnyRow`). The alternative, an enum over native `PgPool`/`SqlitePool`
//! with a dispatch macro, would decode native column types but doubles every
//! query call site, every transaction signature and every helper that takes
//! an executor; that cost is paid by every feature forever, while the price of
//! `Any` is paid once, in the schema conventions below:
//!
//! * ids are `TEXT` (UUIDv7 strings) or `BIGINT` sequences;
//! * instants are `BIGINT` microseconds since the Unix epoch (UTC), calendar
//!   dates are `TEXT` `YYYY-MM-DD` (both sort and compare correctly);
//! * money is `BIGINT` minor units plus a `TEXT` ISO-4217 code;
//! * flags are `BIGINT` 0/1 (`Any` on SQLite cannot decode a BOOLEAN
//!   column);
//! * ciphertext is `BLOB` / `BYTEA`; JSON documents are `TEXT`.
//!
//! Statements that exist on one engine only (e.g. `FOR UPDATE SKIP LOCKED`,
//! advisory locks) are the rare, named exception: they branch on
//! [`Db::engine`] next to the query that needs them.
//!
//! SQLite runs in WAL mode with `synchronous=FULL` (an acknowledged write
//! survives a power cut) and foreign keys on. Write transactions start with
//! `BEGIN IMMEDIATE` there, so two writers queue on the busy timeout instead
//! of failing with `SQLITE_BUSY` when a read transaction tries to upgrade.
//!
//! # A connection whose transaction state is unknown is closed
//!
//! A dropped `Transaction` only *queues* its ROLLBACK. When that ROLLBACK
//! fails (SQLite rolls a transaction back by itself on `SQLITE_FULL`, so
//! sqlx's own ROLLBACK then fails with "no transaction is active"), sqlx
//! 0.8.6 leaves the connection at transaction depth 1 and returns it to the
//! pool, where every later `BEGIN IMMEDIATE` on it fails with "attempted to
//! call begin_with at non-zero transaction depth" until a restart. The
//! pool's `after_release` hook therefore closes any connection still at a
//! non-zero depth once the queued rollback has run (and `before_acquire`
//! refuses one, in case any path skips the release hook).
//!
//! # No ping per checkout
//!
//! sqlx pings a connection before handing it out unless told not to
//! (`test_before_acquire`): one more round trip, three more messages, per
//! checkout, which measured as a large share of the server's CPU under load.
//! The pool here does not. A connection that died while idle (a PostgreSQL
//! restart or failover) is found by the first statement of the request that
//! gets it: that statement fails as a connection error (`57P01` or an I/O
//! error), which [`crate::db_failure`] answers as a retryable 503 with
//! `Retry-After`, and sqlx's ping on release (which sqlx 0.8.6 always does,
//! and which runs after the response is sent) closes the connection, so the
//! retry gets a fresh one. At most one request per pooled connection sees
//! the 503 after a restart.

use std::{
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant},
};

use sqlx::{
    Any, AnyPool, Connection as _, Transaction,
    any::{AnyPoolOptions, install_default_drivers},
    migrate::{MigrateError, Migrator},
};

mod filter;
mod identity;
mod url;

pub use self::{
    filter::{FetchedPage, Filter, KeyValue},
    url::DatabaseUrl,
};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/postgres");

/// The `app_settings` row the SQLite write probe writes and deletes.
const WRITE_PROBE_KEY: &str = "health.write_probe";
/// Larger than a 4 KiB page, so the probe needs an overflow page.
const WRITE_PROBE_BYTES: usize = 6_000;

/// How long a writer waits for SQLite's write lock before giving up.
const SQLITE_BUSY_TIMEOUT_MS: u32 = 5_000;

/// Each SQLite connection's page cache, in KiB (`PRAGMA cache_size`). A miss
/// is a read from the OS page cache (microseconds), and the pool's caches
/// count against the process's memory budget.
const SQLITE_CACHE_KIB: u32 = 512;

/// Which engine a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

/// Pool settings (from configuration).
#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_connections: u32,
    /// How long a request waits for a connection (sqlx's 30 s default is far
    /// too long for a request path; the checklist asks for a lower bound).
    pub acquire_timeout: Duration,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// Why the database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot connect to {url}: {source}")]
    Connect { url: String, source: sqlx::Error },
}

/// The PostgreSQL channel on which a change to who someone is (a user
/// deactivated, a role changed, sessions revoked, an API client revoked or
/// moved) is announced, with the user's or client's id as the payload.
pub const IDENTITY_CHANNEL: &str = "vanguard_identity";

/// What [`Db::identity_changes`] carries: the id of a user or API client
/// whose identity changed, or [`IdentityChange::Everyone`] when
/// announcements may have been missed (the listener reconnected).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityChange {
    Subject(String),
    Everyone,
}

/// A pool on `url` with the connection hooks every handle needs.
async fn open_pool(url: &DatabaseUrl, settings: &PoolSettings) -> Result<AnyPool, ConnectError> {
    let engine = url.engine();
    let mut options = AnyPoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(settings.acquire_timeout)
            // See "No ping per checkout" in the module docs.
            .test_before_acquire(false)
            .after_release(move |conn, _meta| {
                Box::pin(async move {
                    // SQLite's worker applies a queued rollback (and updates
                    // the depth) in order with later commands: a ping waits
                    // for it. PostgreSQL updates the depth when it queues the
                    // rollback, and sqlx pings after this hook anyway.
                    if engine == Engine::Sqlite {
                        conn.ping().await?;
                    }
                    let clean = !conn.is_in_transaction();
                    if !clean {
                        tracing::warn!(
                            "closing a database connection whose rollback failed (transaction state unknown)"
                        );
                    }
                    Ok(clean)
                })
            })
            .before_acquire(|conn, _meta| Box::pin(async move { Ok(!conn.is_in_transaction()) }));
    if engine == Engine::Sqlite {
        options = options.after_connect(|conn, _meta| {
            Box::pin(async move {
                use sqlx::Executor;
                // WAL lets readers run beside the writer; FULL syncs the
                // WAL on every commit so an acknowledged write survives
                // an OS crash, not only an application crash.
                conn.execute("PRAGMA journal_mode = WAL").await?;
                conn.execute("PRAGMA synchronous = FULL").await?;
                conn.execute("PRAGMA foreign_keys = ON").await?;
                conn.execute(format!("PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}").as_str())
                    .await?;
                // Each connection has a page cache of its own, inside
                // this process: at SQLite's default (2 MB) a pool of 16
                // holds 32 MB of copies of pages the OS caches anyway.
                conn.execute(format!("PRAGMA cache_size = -{SQLITE_CACHE_KIB}").as_str())
                    .await?;
                Ok(())
            })
        });
    }
    options
        .connect(&url.connect_string())
        .await
        .map_err(|source| ConnectError::Connect {
            url: url.redacted(),
            source,
        })
}

/// Names of database objects this process has seen exist (shared by the
/// clones of a [`Db`]), so that the check that one exists (and its creation)
/// runs once per process rather than once per use. It lives here, not with its user, so
/// that `Db` depends on no feature.
#[derive(Debug, Default, Clone)]
pub(crate) struct KnownNames(Arc<std::sync::Mutex<std::collections::HashSet<String>>>);

impl KnownNames {
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.0.lock().is_ok_and(|known| known.contains(name))
    }

    pub(crate) fn insert(&self, name: &str) {
        if let Ok(mut known) = self.0.lock() {
            known.insert(name.to_owned());
        }
    }
}

/// The database handle every feature uses: a pool plus the engine it runs on.
#[derive(Debug, Clone)]
pub struct Db {
    pool: AnyPool,
    engine: Engine,
    /// SQLite's writers in this process take turns here (see [`WriteTx`]).
    writer: Arc<tokio::sync::Mutex<()>>,
    /// Identity changes committed by this process, and (on PostgreSQL)
    /// those other processes announced on [`IDENTITY_CHANNEL`].
    identity: tokio::sync::broadcast::Sender<IdentityChange>,
    /// Which number sequences exist in this database (PostgreSQL).
    sequences: KnownNames,
    /// What the SLA clocks read (tests advance it).
    clock: crate::clock::Clock,
}

impl Db {
    /// Opens the pool and checks that one connection works, so a wrong URL or
    /// an unreachable server fails start-up with a clear message.
    pub async fn connect(url: &DatabaseUrl, settings: &PoolSettings) -> Result<Self, ConnectError> {
        install_default_drivers();
        if let DatabaseUrl::Sqlite(path) = url
            && let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir).map_err(|source| ConnectError::DataDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }

        let engine = url.engine();
        let pool = open_pool(url, settings).await?;
        let (identity, _) = tokio::sync::broadcast::channel(IDENTITY_BACKLOG);
        let db = Self {
            pool,
            engine,
            writer: Arc::default(),
            identity,
            sequences: KnownNames::default(),
            clock: crate::clock::Clock::default(),
        };
        if let DatabaseUrl::Postgres(url) = url {
            tokio::spawn(identity::listen_for_identity_changes(
                db.clone(),
                url.to_string(),
            ));
        }
        Ok(db)
    }

    /// A second handle on the same database with a pool of its own: the
    /// workflow workers', so that web requests and workers never queue for
    /// each other's connections (a worker asks for one per step, a request
    /// for one per request; sharing a pool, a busy web tier left a worker a
    /// seventeenth of the connections and the pipeline fell behind). It
    /// shares this handle's SQLite write turns, identity announcements and
    /// known sequences.
    pub async fn with_own_pool(
        &self,
        url: &DatabaseUrl,
        settings: &PoolSettings,
    ) -> Result<Self, ConnectError> {
        Ok(Self {
            pool: open_pool(url, settings).await?,
            engine: self.engine,
            writer: Arc::clone(&self.writer),
            identity: self.identity.clone(),
            sequences: self.sequences.clone(),
            clock: self.clock.clone(),
        })
    }

    /// Identity changes from now on (see [`WriteTx::identity_changed`]).
    pub fn identity_changes(&self) -> tokio::sync::broadcast::Receiver<IdentityChange> {
        self.identity.subscribe()
    }

    /// Applies the pending migrations of this engine. Safe to run from
    /// several replicas at once: sqlx takes an advisory lock on PostgreSQL
    /// and SQLite's write lock serialises them there.
    pub async fn migrate(&self) -> Result<(), MigrateError> {
        self.migrator().run(&self.pool).await
    }

    fn migrator(&self) -> &'static Migrator {
        match self.engine {
            Engine::Sqlite => &SQLITE_MIGRATIONS,
            Engine::Postgres => &POSTGRES_MIGRATIONS,
        }
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn engine(&self) -> Engine {
        self.engine
    }

    /// The clock the SLA deadlines are set and read by, shared with every
    /// handle from [`Db::with_own_pool`].
    pub fn clock(&self) -> &crate::clock::Clock {
        &self.clock
    }

    /// The number sequences known to exist (see `crate::numbering`).
    pub(crate) fn known_sequences(&self) -> &KnownNames {
        &self.sequences
    }

    /// Starts a transaction that will write. On SQLite it takes the write
    /// lock up front (`BEGIN IMMEDIATE`, see the module docs), after this
    /// process's other writers: they queue on an in-process mutex, first
    /// come first served, instead of in SQLite's busy handler, which sleeps
    /// and retries (1, 2, 5 … 100 ms) and so leaves the lock idle while
    /// writers sleep and lets a late writer overtake one that waited for
    /// hundreds of milliseconds. Writers in other processes (a `server
    /// worker` on the same file) still meet in the busy handler.
    pub async fn begin_write(&self) -> Result<WriteTx, sqlx::Error> {
        let started = std::time::Instant::now();
        let tx = match self.engine {
            Engine::Sqlite => {
                // Bounded like the busy handler: a writer that cannot get
                // its turn fails (503) instead of hanging.
                let turn = tokio::time::timeout(
                    Duration::from_millis(u64::from(SQLITE_BUSY_TIMEOUT_MS)),
                    Arc::clone(&self.writer).lock_owned(),
                )
                .await
                .map_err(|_| sqlx::Error::PoolTimedOut)?;
                self.pool
                    .begin_with("BEGIN IMMEDIATE")
                    .await
                    .map(|tx| WriteTx {
                        tx,
                        _turn: Some(turn),
                        engine: self.engine,
                        identity: self.identity.clone(),
                        changed: Vec::new(),
                    })
            }
            Engine::Postgres => self.pool.begin().await.map(|tx| WriteTx {
                tx,
                _turn: None,
                engine: self.engine,
                identity: self.identity.clone(),
                changed: Vec::new(),
            }),
        };
        // Includes the wait for SQLite's writer turn: that is the wait.
        crate::metrics::global().pool_waited(started.elapsed());
        tx
    }

    /// Round-trips `SELECT 1` and reports how long it took; `timeout` bounds
    /// the wait so a health probe answers even while the database hangs.
    pub async fn ping(&self, timeout: Duration) -> Result<Duration, PingError> {
        let started = Instant::now();
        match tokio::time::timeout(timeout, sqlx::query("SELECT 1").execute(&self.pool)).await {
            Ok(Ok(_)) => Ok(started.elapsed()),
            Ok(Err(error)) => Err(PingError::Database(error)),
            Err(_) => Err(PingError::Timeout(timeout)),
        }
    }

    /// Whether the database accepts a write right now, bounded by `timeout`.
    ///
    /// On SQLite a read can succeed while every write fails (a full disk, a
    /// volume remounted read-only), so readiness must write: two autocommit
    /// statements upsert then delete a row larger than a page, which needs
    /// fresh pages (and WAL space) just as a claim does, and leave nothing
    /// behind. Autocommit, so a probe cut off by its timeout cannot leave a
    /// transaction open. A probe still waiting for the write lock when the
    /// timeout ends counts as a pass: writes are queued, not failing, and
    /// dropping a replica from the load balancer under load would make it
    /// worse. PostgreSQL reports its own write failures through the ping
    /// (and `53100` on each write): no probe there.
    pub async fn probe_write(&self, timeout: Duration) -> Result<(), sqlx::Error> {
        if self.engine != Engine::Sqlite {
            return Ok(());
        }
        let probe = async {
            sqlx::query(
                "INSERT INTO app_settings (key, value, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            )
            .bind(WRITE_PROBE_KEY)
            .bind("x".repeat(WRITE_PROBE_BYTES))
            .bind(now_micros())
            .execute(&self.pool)
            .await?;
            sqlx::query("DELETE FROM app_settings WHERE key = $1")
                .bind(WRITE_PROBE_KEY)
                .execute(&self.pool)
                .await?;
            Ok(())
        };
        tokio::time::timeout(timeout, probe).await.unwrap_or(Ok(()))
    }

    /// The newest applied migration version, for `/health`.
    pub async fn schema_version(&self) -> Result<Option<i64>, sqlx::Error> {
        sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success = $1")
            .bind(true)
            .fetch_one(&self.pool)
            .await
    }

    /// Closes every connection (used on shutdown so SQLite checkpoints its WAL).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A write transaction from [`Db::begin_write`]: used like the connection
/// it runs on (`&mut *tx`), ended by [`WriteTx::commit`] or, when dropped,
/// rolled back. On SQLite it holds this process's writer turn until then.
pub struct WriteTx {
    tx: Transaction<'static, Any>,
    _turn: Option<tokio::sync::OwnedMutexGuard<()>>,
    engine: Engine,
    identity: tokio::sync::broadcast::Sender<IdentityChange>,
    /// Announced in this process once the commit succeeded.
    changed: Vec<String>,
}

impl WriteTx {
    /// Records that this transaction changes who `subject` (a user or API
    /// client id) is, so that cached identities are dropped when it
    /// commits: in this process right after the commit, in the others
    /// through `NOTIFY` on [`IDENTITY_CHANNEL`] (PostgreSQL delivers it at
    /// the commit, and not at all on a rollback).
    pub async fn identity_changed(&mut self, subject: &str) -> Result<(), sqlx::Error> {
        if self.engine == Engine::Postgres {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(IDENTITY_CHANNEL)
                .bind(subject)
                .execute(&mut *self.tx)
                .await?;
        }
        self.changed.push(subject.to_owned());
        Ok(())
    }

    pub async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await?;
        for subject in self.changed {
            // No receiver (nothing cached yet) is not an error.
            let _ = self.identity.send(IdentityChange::Subject(subject));
        }
        Ok(())
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.tx.rollback().await
    }
}

impl std::ops::Deref for WriteTx {
    type Target = sqlx::AnyConnection;

    fn deref(&self) -> &Self::Target {
        &self.tx
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.tx
    }
}

/// How many identity changes a slow cache may fall behind before it is told
/// to forget everything instead.
const IDENTITY_BACKLOG: usize = 1_024;

/// Now, in the unit of every stored instant: microseconds since the Unix
/// epoch, UTC.
pub fn now_micros() -> i64 {
    crate::clock::system_micros()
}

/// A new primary key: a UUIDv7, so keys are unguessable in URLs yet sort by
/// creation time (index-friendly).
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// `$first, $first+1, …` for `count` values: the list of an `IN (…)` or a
/// multi-row `VALUES`, so a batch is one statement whatever its size.
pub fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why a [`Db::ping`] failed.
#[derive(Debug, thiserror::Error)]
pub enum PingError {
    #[error("database error: {0}")]
    Database(#[source] sqlx::Error),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
}

#[cfg(test)]
mod tests;
