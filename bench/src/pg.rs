//! Throw-away PostgreSQL databases: `vanguard_bench_<random>`, created on
//! the administrative URL and dropped afterwards (even after a failure).

use anyhow::Context as _;
use sqlx::{Connection as _, Executor as _, PgConnection};

/// A database this run created; [`Scratch::drop_now`] removes it.
pub struct Scratch {
    admin_url: String,
    pub name: String,
    pub url: String,
}

impl Scratch {
    /// Creates `vanguard_bench_<random><suffix>` next to `admin_url`'s
    /// database.
    pub async fn create(admin_url: &str, suffix: &str) -> anyhow::Result<Self> {
        let random = uuid::Uuid::new_v4().simple().to_string();
        let name = format!(
            "vanguard_bench_{}{suffix}",
            random.get(..12).unwrap_or(&random)
        );
        let mut url = url::Url::parse(admin_url).context("BENCH_DATABASE_URL is not a URL")?;
        let mut admin = PgConnection::connect(admin_url).await.with_context(|| {
            format!(
                "cannot connect to PostgreSQL at {} (set BENCH_DATABASE_URL or --database-url, \
                 or run with --engine sqlite)",
                redact(&url)
            )
        })?;
        admin
            .execute(format!(r#"CREATE DATABASE "{name}""#).as_str())
            .await
            .with_context(|| format!("cannot create the database {name}"))?;
        admin.close().await.ok();
        url.set_path(&format!("/{name}"));
        Ok(Self {
            admin_url: admin_url.to_owned(),
            name,
            url: url.to_string(),
        })
    }

    /// Drops the database, first ending any connection still open on it.
    pub async fn drop_now(self) -> anyhow::Result<()> {
        let mut admin = PgConnection::connect(&self.admin_url).await?;
        admin
            .execute(format!(r#"DROP DATABASE IF EXISTS "{}" WITH (FORCE)"#, self.name).as_str())
            .await
            .with_context(|| format!("cannot drop the database {}", self.name))?;
        admin.close().await.ok();
        Ok(())
    }

    /// Drops every database of `dbs`; the first error, after trying all.
    pub async fn drop_all(dbs: Vec<Self>) -> anyhow::Result<()> {
        let mut first_error = None;
        for db in dbs {
            if let Err(error) = db.drop_now().await {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// Fails early, before any engine runs, when PostgreSQL does not answer.
pub async fn check(admin_url: &str) -> anyhow::Result<()> {
    let url = url::Url::parse(admin_url).context("BENCH_DATABASE_URL is not a URL")?;
    let admin = PgConnection::connect(admin_url).await.with_context(|| {
        format!(
            "cannot connect to PostgreSQL at {} (set BENCH_DATABASE_URL or --database-url, \
             or run with --engine sqlite)",
            redact(&url)
        )
    })?;
    admin.close().await.ok();
    Ok(())
}

/// The URL without its password, for messages.
pub fn redact(url: &url::Url) -> String {
    let mut url = url.clone();
    if url.password().is_some() {
        let _ = url.set_password(Some("***"));
    }
    url.to_string()
}
