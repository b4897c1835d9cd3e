//! The caller's identity, cached briefly.
//!
//! Every request resolves its caller: the user behind a session or an
//! access token, or the API client behind a token, each one primary-key
//! read. Those rows change rarely, so each process keeps what it read for a
//! short time (`VANGUARD_IDENTITY_CACHE_MS`, 1 s by default; 0 turns the
//! cache off) and the read disappears from almost every request.
//!
//! Revocation still takes effect at once: every change to who someone is
//! (deactivation, a role change, sessions revoked through the session
//! epoch, a second factor added or removed, an API client revoked or moved
//! to a partner) goes through [`WriteTx::identity_changed`](crate::db::WriteTx::identity_changed),
//! which drops the entry in this process when the transaction commits and,
//! on PostgreSQL, sends `NOTIFY vanguard_identity, '<id>'` that every other
//! process's listener turns into the same eviction (see
//! [`Db::identity_changes`]). The TTL bounds what could still slip through:
//! a read that started before a commit and is stored just after it, or an
//! announcement lost while a listener reconnects (caches are cleared on
//! every reconnect too).
//!
//! Only rows that exist are cached: an unknown id is read again each time.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use tokio::sync::broadcast::{Receiver, error::TryRecvError};

use super::{
    clients::{self, ApiClientRecord},
    users::{self, UserRecord},
};
use crate::db::{Db, IdentityChange};

/// The default time an identity is reused.
pub const DEFAULT_TTL: Duration = Duration::from_secs(1);

struct Entries {
    users: HashMap<String, (Instant, UserRecord)>,
    clients: HashMap<String, (Instant, ApiClientRecord)>,
    /// Changes announced since the last look (subscribed on first use).
    changes: Option<Receiver<IdentityChange>>,
    /// Counts the changes applied: a row read while one arrived is not
    /// stored (it may predate the change).
    generation: u64,
}

/// Users and API clients read recently, per process.
pub struct IdentityCache {
    ttl: Duration,
    entries: Mutex<Entries>,
}

impl std::fmt::Debug for IdentityCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IdentityCache")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl Default for IdentityCache {
    fn default() -> Self {
        Self::new(DEFAULT_TTL)
    }
}

impl IdentityCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::new(Entries {
                users: HashMap::new(),
                clients: HashMap::new(),
                changes: None,
                generation: 0,
            }),
        }
    }

    /// The entries, after applying every change announced since the last
    /// look. `None` when the cache is off.
    fn fresh(&self, db: &Db) -> Option<std::sync::MutexGuard<'_, Entries>> {
        if self.ttl.is_zero() {
            return None;
        }
        // A poisoned lock only means a panic elsewhere mid-update of a
        // cache: start again from empty rather than trust it.
        let mut entries = self.entries.lock().unwrap_or_else(|poisoned| {
            let mut entries = poisoned.into_inner();
            entries.users.clear();
            entries.clients.clear();
            entries
        });
        let entries_ref = &mut *entries;
        let changes = entries_ref
            .changes
            .get_or_insert_with(|| db.identity_changes());
        loop {
            let change = changes.try_recv();
            if !matches!(change, Err(TryRecvError::Empty | TryRecvError::Closed)) {
                entries_ref.generation += 1;
            }
            match change {
                Ok(IdentityChange::Subject(id)) => {
                    entries_ref.users.remove(&id);
                    entries_ref.clients.remove(&id);
                }
                Ok(IdentityChange::Everyone) | Err(TryRecvError::Lagged(_)) => {
                    entries_ref.users.clear();
                    entries_ref.clients.clear();
                }
                Err(TryRecvError::Empty | TryRecvError::Closed) => break,
            }
        }
        Some(entries)
    }

    /// The cached value under `id` in `map` when read within the TTL, or
    /// the generation to store a fresh read under.
    fn lookup<T: Clone>(
        &self,
        db: &Db,
        map: impl Fn(&Entries) -> &HashMap<String, (Instant, T)>,
        id: &str,
    ) -> Result<T, Option<u64>> {
        let Some(entries) = self.fresh(db) else {
            return Err(None);
        };
        match map(&entries).get(id) {
            Some((at, value)) if at.elapsed() < self.ttl => Ok(value.clone()),
            _ => Err(Some(entries.generation)),
        }
    }

    /// Stores a read made at `generation`, unless a change arrived since.
    fn store<T>(
        &self,
        db: &Db,
        generation: Option<u64>,
        map: impl Fn(&mut Entries) -> &mut HashMap<String, (Instant, T)>,
        id: &str,
        read_at: Instant,
        value: T,
    ) {
        if let Some(mut entries) = self.fresh(db)
            && Some(entries.generation) == generation
        {
            map(&mut entries).insert(id.to_owned(), (read_at, value));
        }
    }

    /// The user `id`, from the cache when read within the TTL.
    pub async fn user(&self, db: &Db, id: &str) -> Result<Option<UserRecord>, sqlx::Error> {
        let generation = match self.lookup(db, |e| &e.users, id) {
            Ok(user) => return Ok(Some(user)),
            Err(generation) => generation,
        };
        let read_at = Instant::now();
        let user = users::find_by_id(db.pool(), id).await?;
        if let Some(user) = &user {
            self.store(db, generation, |e| &mut e.users, id, read_at, user.clone());
        }
        Ok(user)
    }

    /// The API client `id`, from the cache when read within the TTL.
    pub async fn client(&self, db: &Db, id: &str) -> Result<Option<ApiClientRecord>, sqlx::Error> {
        let generation = match self.lookup(db, |e| &e.clients, id) {
            Ok(client) => return Ok(Some(client)),
            Err(generation) => generation,
        };
        let read_at = Instant::now();
        let client = clients::find(db.pool(), id).await?;
        if let Some(client) = &client {
            self.store(
                db,
                generation,
                |e| &mut e.clients,
                id,
                read_at,
                client.clone(),
            );
        }
        Ok(client)
    }
}
