//! The engine's own write ceiling (issue 16): one INSERT of a claim-sized
//! row per transaction, with none of Vanguard's code or SQL, so the
//! "Ingestion / ceiling" share shows what Vanguard makes of the database
//! rather than what its own statements allow.
//!
//! PostgreSQL: `pgbench` (a custom script, prepared statements, as many
//! clients as the HTTP load, initial connection time excluded) on a table
//! of its own in the ceiling's scratch database. SQLite: a bare loop of the
//! same prepared INSERT through sqlx's native driver, one row per
//! transaction, on a fresh file with the server's pragmas.

use std::{path::Path, str::FromStr as _, time::Duration};

use anyhow::{Context as _, bail};
use sqlx::{
    Connection as _, Executor as _, PgConnection,
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};

use crate::{load, stats::millis};

/// What a ceiling measured: its rate and how to show it.
#[derive(Debug, Clone)]
pub struct WriteCeiling {
    /// Transactions per second.
    pub rate: f64,
    pub described: String,
}

/// About the size of a claim's JSON-ish details (~300 bytes), without a
/// quote so it can sit in the pgbench script as a literal, and with a space
/// after every colon: pgbench reads `:name` as one of its variables.
const DETAILS: &str = r#"{"description": "Water damage in the kitchen after a pipe burst.","lines": [{"code": "PLUMB","description": "Emergency plumber","amount": 60000},{"code": "FLOOR","amount": 60000}],"claimant_given": true,"source": "api","fraud_flags": [],"currency": "USD","total_claimed": 120000,"incident_date": "2026-01-01"}"#;

/// A claim-sized table: text UUID key, a unique claim number, the policy,
/// status, date, money, the details and two timestamps.
const TABLE: &str = "CREATE TABLE ceiling_claims (
    id            TEXT   PRIMARY KEY,
    claim_number  TEXT   NOT NULL UNIQUE,
    policy_id     TEXT   NOT NULL,
    status        TEXT   NOT NULL,
    incident_date TEXT   NOT NULL,
    currency      TEXT   NOT NULL,
    total_claimed BIGINT NOT NULL,
    details       TEXT   NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
)";

/// The pgbench script: claim numbers from a sequence (as the server numbers
/// claims on PostgreSQL), ids and timestamps made by the database.
fn pgbench_script() -> String {
    format!(
        "\\set policy random(1, 16)\n\
         INSERT INTO ceiling_claims VALUES (gen_random_uuid()::text, \
         'CLM-C' || nextval('ceiling_claim_numbers'), 'policy-' || :policy, 'submitted', \
         '2026-01-01', 'USD', 120000, '{DETAILS}', \
         (extract(epoch FROM clock_timestamp()) * 1000000)::bigint, \
         (extract(epoch FROM clock_timestamp()) * 1000000)::bigint);\n"
    )
}

/// The pgbench binary: on `PATH`, else Debian's.
pub fn find_pgbench() -> Option<std::path::PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    on_path
        .into_iter()
        .map(|dir| dir.join("pgbench"))
        .chain(std::iter::once("/usr/bin/pgbench".into()))
        .find(|path| path.is_file())
}

/// pgbench against `database_url` (a scratch database of this run), the
/// table created first; `None` when there is no pgbench.
pub async fn postgres(
    database_url: &str,
    work_dir: &Path,
    clients: usize,
    window: Duration,
) -> anyhow::Result<Option<WriteCeiling>> {
    let Some(pgbench) = find_pgbench() else {
        return Ok(None);
    };
    let mut conn = PgConnection::connect(database_url).await?;
    conn.execute("CREATE SEQUENCE ceiling_claim_numbers")
        .await?;
    conn.execute(TABLE).await?;
    conn.execute("CREATE INDEX ON ceiling_claims (policy_id)")
        .await?;
    conn.close().await.ok();
    let script = work_dir.join("claim-insert.pgbench");
    std::fs::write(&script, pgbench_script())
        .with_context(|| format!("cannot write {}", script.display()))?;
    // pgbench counts whole seconds; -j 2: the machine's two cores.
    let seconds = window.as_secs_f64().ceil().max(1.0);
    let output = tokio::process::Command::new(&pgbench)
        .args(["-n", "-M", "prepared", "-j", "2"])
        .arg("-c")
        .arg(clients.to_string())
        .arg("-T")
        .arg(format!("{seconds:.0}"))
        .arg("-f")
        .arg(&script)
        .arg(database_url)
        .kill_on_drop(true)
        .output()
        .await
        .with_context(|| format!("cannot run {}", pgbench.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!(
            "pgbench failed ({}):\n{}{}",
            output.status,
            crate::server::tail(&String::from_utf8_lossy(&output.stderr), 20),
            crate::server::tail(&stdout, 20)
        );
    }
    let (rate, latency_ms) = parse_pgbench(&stdout)?;
    Ok(Some(WriteCeiling {
        rate,
        described: format!(
            "{rate:.0} tx/s · latency avg {} (pgbench, {seconds:.0} s)",
            millis(Duration::from_secs_f64(latency_ms / 1_000.0))
        ),
    }))
}

/// `tps` (without the initial connection time) and the average latency in
/// ms from pgbench's summary.
fn parse_pgbench(stdout: &str) -> anyhow::Result<(f64, f64)> {
    let number_after = |prefix: &str| {
        stdout.lines().find_map(|line| {
            line.trim()
                .strip_prefix(prefix)?
                .split_whitespace()
                .next()?
                .parse::<f64>()
                .ok()
        })
    };
    let tps = number_after("tps = ")
        .with_context(|| format!("pgbench printed no `tps = ` line:\n{stdout}"))?;
    Ok((tps, number_after("latency average = ").unwrap_or_default()))
}

/// `tasks` loops of one prepared INSERT each (its own transaction) on a
/// fresh SQLite file, with the server's pragmas.
pub async fn sqlite(
    path: &Path,
    tasks: usize,
    warmup: Duration,
    window: Duration,
) -> anyhow::Result<WriteCeiling> {
    let options = SqliteConnectOptions::from_str(&format!("sqlite://{}", path.display()))?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5));
    let pool = SqlitePoolOptions::new()
        .max_connections(u32::try_from(tasks).unwrap_or(16).max(1))
        .test_before_acquire(false)
        .connect_with(options)
        .await
        .context("cannot open the SQLite ceiling file")?;
    pool.execute(TABLE).await?;
    pool.execute("CREATE INDEX ceiling_claims_policy ON ceiling_claims (policy_id)")
        .await?;
    let loop_pool = pool.clone();
    let summary = load::closed_loop(tasks, warmup, window, move |task, sequence| {
        let pool = loop_pool.clone();
        async move {
            let now = crate::ceiling::now_micros();
            sqlx::query(
                "INSERT INTO ceiling_claims VALUES ($1, $2, $3, 'submitted', '2026-01-01', 'USD', \
                 120000, $4, $5, $5)",
            )
            .bind(uuid::Uuid::now_v7().to_string())
            .bind(format!("CLM-C{task}-{sequence}"))
            .bind(format!("policy-{}", task % 16))
            .bind(DETAILS)
            .bind(now)
            .execute(&pool)
            .await?;
            Ok(())
        }
    })
    .await;
    pool.close().await;
    let summary = summary.context("the SQLite INSERT loop")?;
    Ok(WriteCeiling {
        rate: summary.rate(),
        described: format!("{} (sqlx, prepared)", summary.describe("tx")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tps_without_connection_time_and_the_average_latency_are_read_from_pgbench() {
        let printed = "transaction type: claim-insert.pgbench\nscaling factor: 1\n\
                       number of clients: 16\nnumber of failed transactions: 0 (0.000%)\n\
                       latency average = 2.512 ms\ninitial connection time = 31.203 ms\n\
                       tps = 6369.421337 (without initial connection time)\n";
        let (tps, latency) = parse_pgbench(printed).unwrap_or_default();
        assert!((tps - 6369.421337).abs() < 1e-6, "{tps}");
        assert!((latency - 2.512).abs() < 1e-9, "{latency}");
    }

    #[test]
    fn a_pgbench_summary_without_tps_is_an_error() {
        assert!(parse_pgbench("pgbench: error: connection failed\n").is_err());
    }

    #[test]
    fn the_pgbench_script_row_is_claim_sized_and_quotes_nothing_it_should_not() {
        assert!((250..400).contains(&DETAILS.len()), "{}", DETAILS.len());
        assert!(!DETAILS.contains('\''));
        assert_eq!(pgbench_script().matches('\'').count() % 2, 0);
        // Casts (`::`) aside, the one `:name` is the script's own variable.
        let script = pgbench_script().replace("::", "");
        let variables = script
            .split(':')
            .skip(1)
            .filter(|rest| rest.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_'))
            .count();
        assert_eq!(variables, 1, "{script}");
    }
}
