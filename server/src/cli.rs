//! The `server` command line: `serve` (default), `migrate`, `healthcheck`.
//! Operator commands of later capabilities (`create-admin`, `rotate-keys`,
//! `verify-audit`, `worker`, ...) join this enum as those capabilities land.

use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::{config::Config, startup};

#[derive(Debug, Parser)]
#[command(
    name = "server",
    version,
    about = "Vanguard insurance operations platform"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web application and API (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Exit 0 when this host's server answers /health/ready with 200 (for
    /// container health checks; needs no curl).
    Healthcheck {
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 3)]
        timeout: u64,
    },
}

pub async fn run(cli: Cli, config: Config) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Migrate => migrate(config).await,
        Command::Healthcheck { timeout } => {
            healthcheck(&config, Duration::from_secs(timeout)).await
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let app = startup::Application::build(&config).await?;
    tracing::info!(
        address = %app.local_addr()?,
        database = %config.database_url.redacted(),
        version = shared::VERSION,
        "Vanguard is listening on http://{}",
        app.local_addr()?
    );
    app.run_until_stopped(startup::shutdown_signal()).await?;
    Ok(())
}

async fn migrate(config: Config) -> anyhow::Result<()> {
    let db = app::db::Db::connect(&config.database_url, &config.pool).await?;
    db.migrate()
        .await
        .context("cannot apply database migrations")?;
    let version = db.schema_version().await?;
    tracing::info!(schema_version = ?version, database = %config.database_url.redacted(), "migrations applied");
    db.close().await;
    Ok(())
}

/// A minimal HTTP/1.1 GET against our own listener.
async fn healthcheck(config: &Config, timeout: Duration) -> anyhow::Result<()> {
    let mut addr = config.site_addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let probe = async {
        let mut stream = tokio::net::TcpStream::connect(addr).await?;
        stream
            .write_all(
                b"GET /health/ready HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
            )
            .await?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).await?;
        Ok::<_, std::io::Error>(head)
    };
    let head = tokio::time::timeout(timeout, probe)
        .await
        .with_context(|| format!("no answer from {addr} within {timeout:?}"))?
        .with_context(|| format!("cannot reach {addr}"))?;
    anyhow::ensure!(
        head.starts_with(b"HTTP/1.1 200"),
        "{addr}/health/ready answered {}",
        String::from_utf8_lossy(&head)
    );
    Ok(())
}
