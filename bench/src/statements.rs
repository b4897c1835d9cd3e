//! SQL statements per request (issue 16): a server of its own on the
//! loaded database, with sqlx's statement log on (`sqlx::query` at debug),
//! sent one request at a time; the statements are the `sqlx::query` lines
//! of its log written inside a request's span (so a background task's
//! statements are not counted), over the requests sent. BEGIN and COMMIT
//! count; sqlx's connection pings (not logged) do not.

use std::time::Duration;

use crate::{
    Plan, bare,
    fixtures::ClaimFeed,
    server::{Launch, Server, Target},
};

/// Requests of each kind counted.
const REQUESTS: u64 = 20;

/// Mean statements per request.
#[derive(Debug, Clone, Copy)]
pub struct PerRequest {
    pub read: f64,
    pub ingest: f64,
}

/// Statement lines so far: sqlx's, inside a request span.
fn statements(server: &Server) -> usize {
    server.log_lines_with_all(&[r#""target":"sqlx::query""#, "correlation_id"])
}

/// Counts what `GET /api/v1/claims/{id}` (over `ids`) and
/// `POST /api/v1/claims` send to the database, after one of each that is
/// not counted (the caller's identity is then cached, as under load).
pub async fn count(
    target: &Target,
    launch: &Launch,
    feed: &ClaimFeed,
    ids: &[String],
    plan: Plan,
) -> anyhow::Result<PerRequest> {
    let (mut server, _) = Server::start_with(
        target,
        launch,
        &crate::probe_client()?,
        "statements",
        &[("RUST_LOG", "info,sqlx=warn,sqlx::query=debug")],
    )
    .await?;
    let counted = async {
        let feed = feed.to(&server);
        feed.api.read(bare::spread(ids, 0, 0)?).await?;
        feed.submit(0, "statements-warm").await?;
        let settle = || tokio::time::sleep(Duration::from_millis(100));
        settle().await;
        let start = statements(&server);
        for seq in 0..REQUESTS {
            feed.api.read(bare::spread(ids, plan.clients, seq)?).await?;
        }
        settle().await;
        let after_reads = statements(&server);
        for seq in 0..REQUESTS {
            let index = usize::try_from(seq).unwrap_or_default();
            feed.submit(index, &format!("statements-{seq}")).await?;
        }
        settle().await;
        let after_ingest = statements(&server);
        let mean = |count: usize| count as f64 / REQUESTS as f64;
        anyhow::ensure!(
            after_reads > start,
            "the server logged no sqlx statement (is `sqlx::query` logged at debug?)"
        );
        anyhow::Ok(PerRequest {
            read: mean(after_reads - start),
            ingest: mean(after_ingest.saturating_sub(after_reads)),
        })
    }
    .await;
    if counted.is_err() {
        crate::explain_failure(&mut server);
    }
    server.stop().await?;
    counted
}
