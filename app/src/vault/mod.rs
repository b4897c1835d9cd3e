//! The PII vault: personal data encrypted at rest, searchable by exact
//! match through blind indexes, erasable by destroying one key.
//!
//! The cryptography is in [`crypto`]; the per-customer data keys live in
//! `customer_keys` (this module holds that table's SQL). Master-key
//! derivation (HKDF) happens once, at start-up; a request only unwraps the
//! 32-byte data keys of the rows it reads, which it fetches with the rows
//! (one JOIN, no extra query per row).

pub mod crypto;
pub mod rotation;
pub mod unreadable;

use std::collections::HashMap;

use sqlx::{AnyConnection, Row as _};

use self::crypto::{MasterKey, SecretKey, VaultError, aad, blind_index, index_key, open, seal};
use crate::db::{Db, now_micros};

/// The `vault_keys` row holding the blind-index root.
pub const BLIND_INDEX_ROOT: &str = "blind_index_root";

/// The columns with a blind index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexedColumn {
    Email,
    LastName,
    NationalId,
}

/// The version of the data keys this code creates; it is part of every
/// field's associated data, so a value cannot be replayed under another.
pub const DATA_KEY_VERSION: &str = "1";

/// Master keys (the primary one wraps new data keys; older ones still
/// unwrap what they wrapped until `rotate-keys` re-wraps it) and the blind
/// index keys.
pub struct Vault {
    primary: MasterKey,
    known: HashMap<String, MasterKey>,
    email_index: SecretKey,
    last_name_index: SecretKey,
    national_id_index: SecretKey,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("primary", &self.primary.id)
            .field("known", &self.known.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// A customer's data key as the row it came with carries it.
#[derive(Debug, Clone)]
pub struct WrappedKey {
    pub kek_id: String,
    /// `None` once the customer was erased.
    pub wrapped: Option<Vec<u8>>,
}

impl WrappedKey {
    /// From the `kek_id` and `wrapped_key` columns a query joined from
    /// `customer_keys` (both `NULL` when the row has no key).
    pub fn from_row(row: &sqlx::any::AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            kek_id: row
                .try_get::<Option<String>, _>("kek_id")?
                .unwrap_or_default(),
            wrapped: row.try_get("wrapped_key")?,
        })
    }
}

impl Vault {
    /// Opens the vault: `primary` wraps new keys; `previous` master keys
    /// only unwrap (what they wrapped before a rotation). The blind-index
    /// root is a random key stored wrapped in `vault_keys` (created by the
    /// first replica to start), so master-key rotation never changes an
    /// index value and searches keep working throughout.
    pub async fn open(
        db: &Db,
        primary: &[u8; 32],
        previous: &[[u8; 32]],
    ) -> Result<Self, VaultFailure> {
        let primary = MasterKey::derive(primary);
        let mut known: HashMap<String, MasterKey> = previous
            .iter()
            .map(|key| {
                let key = MasterKey::derive(key);
                (key.id.clone(), key)
            })
            .collect();
        known.insert(primary.id.clone(), primary.clone());

        let candidate = SecretKey::generate()?;
        // Concurrent first starts: one insert wins, everyone reads it back.
        sqlx::query(
            "INSERT INTO vault_keys (purpose, kek_id, wrapped_key, created_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (purpose) DO NOTHING",
        )
        .bind(BLIND_INDEX_ROOT)
        .bind(&primary.id)
        .bind(primary.wrap("vault_keys", BLIND_INDEX_ROOT, &candidate)?)
        .bind(now_micros())
        .execute(db.pool())
        .await?;
        let row = sqlx::query("SELECT kek_id, wrapped_key FROM vault_keys WHERE purpose = $1")
            .bind(BLIND_INDEX_ROOT)
            .fetch_one(db.pool())
            .await?;
        let stored = WrappedKey {
            kek_id: row.try_get("kek_id")?,
            wrapped: row.try_get("wrapped_key")?,
        };
        let root = unwrap_with(&known, "vault_keys", BLIND_INDEX_ROOT, &stored)?;
        Ok(Self {
            email_index: index_key(&root, "customers", "email"),
            last_name_index: index_key(&root, "customers", "last_name"),
            national_id_index: index_key(&root, "customers", "national_id"),
            primary,
            known,
        })
    }

    /// Wraps `key` for `owner` in `table` under the primary master key.
    pub fn wrap_owned(
        &self,
        table: &str,
        owner: &str,
        key: &SecretKey,
    ) -> Result<Vec<u8>, VaultError> {
        self.primary.wrap(table, owner, key)
    }

    /// Unwraps a key with whichever configured master key wrapped it.
    pub fn unwrap_owned(
        &self,
        table: &str,
        owner: &str,
        key: &WrappedKey,
    ) -> Result<SecretKey, VaultError> {
        unwrap_with(&self.known, table, owner, key)
    }

    pub fn primary_key_id(&self) -> &str {
        &self.primary.id
    }

    /// The blind index of a value already normalised by its `shared` type
    /// (trimmed, case-folded), so equal values always index equal.
    pub fn index(&self, column: IndexedColumn, normalized: &str) -> String {
        let key = match column {
            IndexedColumn::Email => &self.email_index,
            IndexedColumn::LastName => &self.last_name_index,
            IndexedColumn::NationalId => &self.national_id_index,
        };
        blind_index(key, normalized)
    }

    /// Creates, wraps and stores a new data key for `customer_id`.
    pub async fn create_data_key(
        &self,
        conn: &mut AnyConnection,
        customer_id: &str,
    ) -> Result<SecretKey, VaultFailure> {
        let dek = SecretKey::generate()?;
        let wrapped = self.wrap_owned("customer_keys", customer_id, &dek)?;
        sqlx::query(
            "INSERT INTO customer_keys (customer_id, kek_id, wrapped_key, key_version, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(customer_id)
        .bind(&self.primary.id)
        .bind(wrapped)
        .bind(DATA_KEY_VERSION)
        .bind(now_micros())
        .execute(conn)
        .await?;
        Ok(dek)
    }

    /// Unwraps a customer's data key fetched with its row.
    pub fn unwrap_key(&self, customer_id: &str, key: &WrappedKey) -> Result<SecretKey, VaultError> {
        self.unwrap_owned("customer_keys", customer_id, key)
    }

    /// Reads the wrapped key of one customer.
    pub async fn load_key(
        &self,
        conn: &mut AnyConnection,
        customer_id: &str,
    ) -> Result<SecretKey, VaultFailure> {
        let row =
            sqlx::query("SELECT kek_id, wrapped_key FROM customer_keys WHERE customer_id = $1")
                .bind(customer_id)
                .fetch_optional(conn)
                .await?
                .ok_or(VaultError::Erased)?;
        let key = WrappedKey::from_row(&row)?;
        Ok(self.unwrap_key(customer_id, &key)?)
    }

    /// Destroys a customer's data key (crypto-shredding): every value it
    /// encrypted, in this database and in every backup, becomes noise.
    pub async fn destroy_key(
        &self,
        conn: &mut AnyConnection,
        customer_id: &str,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE customer_keys SET wrapped_key = NULL, destroyed_at = $2 WHERE customer_id = $1",
        )
        .bind(customer_id)
        .bind(now_micros())
        .execute(conn)
        .await?;
        Ok(())
    }

    /// Encrypts one field of one row.
    pub fn seal_field(
        &self,
        dek: &SecretKey,
        table: &str,
        column: &str,
        row_id: &str,
        plaintext: &str,
    ) -> Result<Vec<u8>, VaultError> {
        seal(
            dek,
            plaintext.as_bytes(),
            &aad(table, column, row_id, DATA_KEY_VERSION),
        )
    }

    /// Decrypts one field of one row; fails cleanly when the value was moved
    /// from another row or column.
    pub fn open_field(
        &self,
        dek: &SecretKey,
        table: &str,
        column: &str,
        row_id: &str,
        envelope: &[u8],
    ) -> Result<String, VaultError> {
        let bytes = open(dek, envelope, &aad(table, column, row_id, DATA_KEY_VERSION))?;
        String::from_utf8(bytes).map_err(|_| VaultError::Malformed)
    }
}

fn unwrap_with(
    known: &HashMap<String, MasterKey>,
    table: &str,
    owner: &str,
    key: &WrappedKey,
) -> Result<SecretKey, VaultError> {
    let wrapped = key.wrapped.as_deref().ok_or(VaultError::Erased)?;
    let master = known
        .get(&key.kek_id)
        .ok_or_else(|| VaultError::UnknownKey(key.kek_id.clone()))?;
    master.unwrap_key(table, owner, wrapped)
}

/// A vault operation failed in the database or in the cryptography.
#[derive(Debug, thiserror::Error)]
pub enum VaultFailure {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Crypto(#[from] VaultError),
}

impl From<VaultFailure> for crate::error::AppError {
    fn from(failure: VaultFailure) -> Self {
        match failure {
            VaultFailure::Database(error) => error.into(),
            VaultFailure::Crypto(VaultError::Erased) => {
                crate::error::AppError::Conflict("This customer's personal data was erased.".into())
            }
            VaultFailure::Crypto(error) => crate::error::AppError::internal(&error),
        }
    }
}
