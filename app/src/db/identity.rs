//! Identity changes announced by other processes (PostgreSQL `LISTEN`), so
//! every replica's identity cache forgets a changed user or client at once.

use std::time::Duration;

use super::{Db, IDENTITY_CHANNEL, IdentityChange};

/// How long the identity listener waits before reconnecting.
const LISTEN_RETRY: Duration = Duration::from_secs(1);

/// Forwards [`IDENTITY_CHANNEL`] announcements from other processes to this
/// one's caches until the pool closes. Whenever the listening connection was
/// (re)opened, announcements may have been missed in between: caches are
/// told to forget everyone then.
pub(super) async fn listen_for_identity_changes(db: Db, url: String) {
    use sqlx::postgres::PgListener;
    while !db.pool.is_closed() {
        let mut listener = match PgListener::connect(&url).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for identity changes; retrying");
                tokio::time::sleep(LISTEN_RETRY).await;
                continue;
            }
        };
        if let Err(error) = listener.listen(IDENTITY_CHANNEL).await {
            tracing::warn!(%error, "cannot listen for identity changes; retrying");
            tokio::time::sleep(LISTEN_RETRY).await;
            continue;
        }
        let _ = db.identity.send(IdentityChange::Everyone);
        loop {
            // Wakes now and then to notice a closed pool.
            match tokio::time::timeout(LISTEN_RETRY, listener.try_recv()).await {
                Err(_) if db.pool.is_closed() => return,
                Err(_) => {}
                Ok(Ok(Some(notification))) => {
                    let _ = db
                        .identity
                        .send(IdentityChange::Subject(notification.payload().to_owned()));
                }
                // The connection dropped (try_recv reconnects on the next
                // call, but what was sent meanwhile is lost).
                Ok(Ok(None)) => {
                    let _ = db.identity.send(IdentityChange::Everyone);
                }
                Ok(Err(error)) => {
                    tracing::warn!(%error, "lost the identity-change listener; reconnecting");
                    break;
                }
            }
        }
    }
}
