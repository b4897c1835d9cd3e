//! The read baseline (issue 16): a bare axum + sqlx server that answers
//! `GET /claims/{id}` with one SELECT of the claim row as JSON, and nothing
//! else (no authentication, no tenancy, no joins). The harness runs it as a
//! separate process, this very binary re-executed with a hidden option, on
//! the database the server's claim-read phase used, with the same pool
//! size, so "Claim read / bare axum + sqlx" compares two servers answering
//! for the same rows on the same machine in the same run.

use std::{io::Write as _, process::Stdio, str::FromStr as _, sync::Arc, time::Duration};

use anyhow::Context as _;
use axum::{
    Json, Router,
    extract::{Path, State},
    http::StatusCode,
    response::{IntoResponse as _, Response},
    routing::get,
};
use sqlx::{
    PgPool, SqlitePool,
    postgres::{PgConnectOptions, PgPoolOptions},
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};
use tokio::io::AsyncBufReadExt as _;

/// The hidden option that turns this binary into the bare server.
pub const FLAG: &str = "--serve-bare-reads";

/// One claim row: what the claim's own table holds, no joins.
type ClaimRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    i64,
);

const SELECT: &str = "SELECT id, claim_number, policy_id, customer_id, status, incident_date, \
                      description, currency, total_claimed, created_at, updated_at \
                      FROM claims WHERE id = $1";

/// The engine's native pool: the baseline is what sqlx does at its best.
enum Pool {
    Postgres(PgPool),
    Sqlite(SqlitePool),
}

async fn claim(State(pool): State<Arc<Pool>>, Path(id): Path<String>) -> Response {
    let row = match &*pool {
        Pool::Postgres(pool) => {
            sqlx::query_as::<_, ClaimRow>(SELECT)
                .bind(&id)
                .fetch_optional(pool)
                .await
        }
        Pool::Sqlite(pool) => {
            sqlx::query_as::<_, ClaimRow>(SELECT)
                .bind(&id)
                .fetch_optional(pool)
                .await
        }
    };
    match row {
        Ok(Some(row)) => Json(serde_json::json!({
            "id": row.0, "claim_number": row.1, "policy_id": row.2, "customer_id": row.3,
            "status": row.4, "incident_date": row.5, "description": row.6,
            "total_claimed": { "amount": row.8, "currency": row.7 },
            "created_at": row.9, "updated_at": row.10,
        }))
        .into_response(),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(error) => (StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response(),
    }
}

/// The child's side: serves on a free loopback port, prints `port=N` on
/// stdout once it listens, and runs until killed.
pub async fn serve(database_url: &str, pool_size: u32) -> anyhow::Result<()> {
    // No ping per checkout, as the server's pool (app/src/db.rs).
    let pool = if database_url.starts_with("sqlite:") {
        let options = SqliteConnectOptions::from_str(database_url)?
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(5));
        Pool::Sqlite(
            SqlitePoolOptions::new()
                .max_connections(pool_size)
                .test_before_acquire(false)
                .connect_with(options)
                .await?,
        )
    } else {
        Pool::Postgres(
            PgPoolOptions::new()
                .max_connections(pool_size)
                .test_before_acquire(false)
                .connect_with(PgConnectOptions::from_str(database_url)?)
                .await?,
        )
    };
    let app = Router::new()
        .route("/claims/{id}", get(claim))
        .with_state(Arc::new(pool));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "port={port}")?;
    stdout.flush()?;
    drop(stdout);
    axum::serve(listener, app).await?;
    Ok(())
}

/// The parent's side: the bare server as a child process.
pub struct BareServer {
    child: tokio::process::Child,
    pub port: u16,
}

impl BareServer {
    /// Re-executes this binary as the bare server on `database_url` and
    /// waits for the port it listens on.
    pub async fn start(database_url: &str, pool_size: u32) -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("cannot find the bench binary")?;
        let mut child = tokio::process::Command::new(exe)
            .arg(FLAG)
            .arg(database_url)
            .arg("--bare-pool")
            .arg(pool_size.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("cannot start the bare axum + sqlx server")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .context("the bare server did not start within 30 s")??
            .context("the bare server exited before it listened")?;
        let port = crate::server::printed_value(&line, "port")?.parse()?;
        Ok(Self { child, port })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Kills it: a baseline has nothing to drain.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.child.kill().await?;
        Ok(())
    }
}

/// The claim of `ids` that `client` reads at its `sequence`-th request:
/// spread over the claims, different for every client.
pub fn spread(ids: &[String], client: usize, sequence: u64) -> anyhow::Result<&str> {
    anyhow::ensure!(!ids.is_empty(), "no claim ids to read");
    let n = usize::try_from(sequence).unwrap_or_default();
    let index = (client * 7_919 + n * 104_729) % ids.len();
    ids.get(index).map(String::as_str).context("no claim id")
}

/// The bare server on `database_url`, loaded as "Claim read" is: `clients`
/// closed loops over `ids` for `warmup` and then `window`.
pub async fn measure(
    database_url: &str,
    pool_size: u32,
    http: reqwest::Client,
    ids: Arc<Vec<String>>,
    (clients, warmup, window): (usize, Duration, Duration),
) -> anyhow::Result<crate::stats::Summary> {
    let bare = BareServer::start(database_url, pool_size).await?;
    let base = bare.url("/claims/");
    let measured = crate::load::closed_loop(clients, warmup, window, move |client, sequence| {
        let (http, ids, base) = (http.clone(), Arc::clone(&ids), base.clone());
        async move {
            let id = spread(&ids, client, sequence)?;
            let response = http.get(format!("{base}{id}")).send().await?;
            crate::fixtures::expect(response, 200, "GET /claims/{id} (bare)")
                .await?
                .bytes()
                .await?;
            Ok(())
        }
    })
    .await;
    bare.stop().await?;
    measured.context("reads from the bare axum + sqlx server")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_spread_over_every_claim_and_differ_between_clients() {
        let ids: Vec<String> = (0..10).map(|i| i.to_string()).collect();
        let first: Vec<&str> = (0..10)
            .filter_map(|seq| spread(&ids, 0, seq).ok())
            .collect();
        let mut distinct = first.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), 10);
        assert_ne!(spread(&ids, 1, 0).ok(), spread(&ids, 0, 0).ok());
        assert!(spread(&[], 0, 0).is_err());
    }
}
