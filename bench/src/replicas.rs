//! Claim ingestion through one replica or several (issue 16: two replicas
//! at least 1.8 times one): the same closed loop, client `c` sending to
//! replica `c % replicas`, all replicas on one database.

use std::sync::{Arc, Mutex};

use anyhow::Context as _;

use crate::{Plan, fixtures::ClaimFeed, load, stats::Summary};

/// `plan.clients` closed loops of `POST /api/v1/claims`, client `c` through
/// `feeds[c % feeds.len()]`, the ids of the accepted claims kept in `ids`;
/// `tag` keeps the idempotency keys of one phase apart from another's.
pub async fn ingest(
    feeds: Vec<ClaimFeed>,
    tag: &'static str,
    plan: Plan,
    ids: Arc<Mutex<Vec<String>>>,
) -> anyhow::Result<Summary> {
    anyhow::ensure!(!feeds.is_empty(), "no replica to ingest through");
    let feeds = Arc::new(feeds);
    load::closed_loop(
        plan.clients,
        plan.warmup,
        plan.window,
        move |client, seq| {
            let (feeds, ids) = (Arc::clone(&feeds), Arc::clone(&ids));
            async move {
                let feed = feeds.get(client % feeds.len()).context("no feed")?;
                let id = feed
                    .submit(client, &format!("{tag}-{client}-{seq}"))
                    .await?;
                ids.lock()
                    .map_err(|_| anyhow::anyhow!("the id list is poisoned"))?
                    .push(id);
                Ok(())
            }
        },
    )
    .await
}
