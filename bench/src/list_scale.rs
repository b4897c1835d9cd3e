//! The claims list as the table grows (issue 16): the first page of
//! `GET /api/v1/claims` at 1k claims and at 100k, on a fresh database. The
//! claims beyond the first are copies of one ingested claim made by a bulk
//! `INSERT … SELECT` (ingesting 100k claims through the API would take
//! longer than the rest of the run), each with its own id, number and an
//! older receipt time, so the list's sort and its capped count see a table
//! of that size. Budget: at 100k at least 80 % of the rate at 1k.

use std::time::Duration;

use anyhow::Context as _;
use sqlx::{AnyPool, Row as _};

use crate::{
    ceiling,
    fixtures::{self, ClaimFeed},
    load,
    report::{Figure, Status},
    server::{Engine, Launch, Server, Target},
    stats::Summary,
};

/// The table sizes compared.
pub const SMALL: i64 = 1_000;
pub const LARGE: i64 = 100_000;
/// The least share of the small table's rate the large one must keep.
const RATIO_MIN: f64 = 80.0;
/// Rows of the measured page.
const PER_PAGE: usize = 25;

/// What the phase found.
pub struct Scaled {
    pub small: Summary,
    pub large: Summary,
}

impl Scaled {
    pub fn figures(&self, clients: usize) -> Vec<Figure> {
        let ratio = if self.small.rate() > 0.0 {
            self.large.rate() / self.small.rate() * 100.0
        } else {
            0.0
        };
        vec![
            Figure::info(
                format!("`GET /api/v1/claims` first page at {SMALL} claims, {clients} clients"),
                self.small.describe("req"),
            ),
            Figure::info(
                format!("`GET /api/v1/claims` first page at {LARGE} claims, {clients} clients"),
                self.large.describe("req"),
            ),
            Figure::new(
                format!("Claims list at {LARGE} / at {SMALL} claims"),
                format!("{ratio:.0} %"),
                format!("≥ {RATIO_MIN:.0} %"),
                Status::of(ratio >= RATIO_MIN),
            ),
        ]
    }
}

/// The claims table's columns, in order.
async fn claim_columns(pool: &AnyPool, engine: Engine) -> anyhow::Result<Vec<String>> {
    let sql = match engine {
        Engine::Postgres => {
            "SELECT CAST(column_name AS TEXT) AS name FROM information_schema.columns \
             WHERE table_name = 'claims' AND table_schema = current_schema() ORDER BY ordinal_position"
        }
        Engine::Sqlite => "SELECT name FROM pragma_table_info('claims') ORDER BY cid",
    };
    sqlx::query(sql)
        .fetch_all(pool)
        .await?
        .iter()
        .map(|row| row.try_get::<String, _>("name").map_err(Into::into))
        .collect()
}

/// Copies claim `template` until the table holds `total` claims: copy `n`
/// gets the id and number `<template's>-n` and a receipt time `n` µs
/// earlier. One statement.
async fn fill(
    pool: &AnyPool,
    engine: Engine,
    template: &str,
    from: i64,
    total: i64,
) -> anyhow::Result<()> {
    if from > total {
        return Ok(());
    }
    let columns = claim_columns(pool, engine).await?;
    let values = columns
        .iter()
        .map(|column| match column.as_str() {
            "id" | "claim_number" => format!("t.{column} || '-' || CAST(s.n AS TEXT)"),
            "created_at" | "updated_at" => format!("t.{column} - s.n"),
            _ => format!("t.{column}"),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let columns = columns.join(", ");
    let sql = match engine {
        Engine::Postgres => format!(
            "INSERT INTO claims ({columns}) SELECT {values} FROM claims t \
             CROSS JOIN generate_series(CAST($2 AS BIGINT), CAST($3 AS BIGINT)) AS s(n) WHERE t.id = $1"
        ),
        Engine::Sqlite => format!(
            "WITH RECURSIVE s(n) AS (SELECT $2 UNION ALL SELECT n + 1 FROM s WHERE n < $3) \
             INSERT INTO claims ({columns}) SELECT {values} FROM claims t CROSS JOIN s WHERE t.id = $1"
        ),
    };
    sqlx::query(&sql)
        .bind(template)
        .bind(from)
        .bind(total)
        .execute(pool)
        .await
        .context("bulk insert of claims")?;
    // Fresh statistics, as autovacuum would give a table that grew slowly.
    sqlx::query("ANALYZE").execute(pool).await?;
    Ok(())
}

async fn first_pages(
    feed: &ClaimFeed,
    clients: usize,
    warmup: Duration,
    window: Duration,
) -> anyhow::Result<Summary> {
    let api = feed.api.clone();
    load::closed_loop(clients, warmup, window, move |_, _| {
        let api = api.clone();
        async move {
            let response = api
                .client
                .get(format!("{}/api/v1/claims?per_page={PER_PAGE}", api.base))
                .bearer_auth(&api.token)
                .send()
                .await?;
            fixtures::expect(response, 200, "GET /api/v1/claims")
                .await?
                .bytes()
                .await?;
            Ok(())
        }
    })
    .await
    .context("the claims list")
}

/// Runs the phase on `target` (a fresh database, `url` to reach it).
pub async fn measure(
    target: &Target,
    url: &str,
    launch: &Launch,
    client: reqwest::Client,
    probe: &reqwest::Client,
    (clients, warmup, window): (usize, Duration, Duration),
) -> anyhow::Result<Scaled> {
    eprintln!("bench:   claims list at {SMALL} and {LARGE} claims");
    let server = Server::start(target, launch, probe, "list").await?.0;
    let feed = ClaimFeed::prepare(target, launch, &server, client, 1).await?;
    let template = feed.submit(0, "list-template").await?;
    let pool = ceiling::pool(target.engine, url, 2).await?;
    let measured = async {
        fill(&pool, target.engine, &template, 1, SMALL - 1).await?;
        let small = first_pages(&feed, clients, warmup, window).await?;
        fill(&pool, target.engine, &template, SMALL, LARGE - 1).await?;
        let large = first_pages(&feed, clients, warmup, window).await?;
        anyhow::Ok(Scaled { small, large })
    }
    .await;
    pool.close().await;
    server.stop().await?;
    measured
}
