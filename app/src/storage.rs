//! Object storage for claim snapshots and attachments: a local directory
//! by default, or an S3 bucket (`s3://bucket/prefix`), through the
//! `object_store` crate, so the backend is a configuration change.

use std::{fmt, path::Path, sync::Arc};

use object_store::{
    ObjectStore, ObjectStoreExt as _, PutPayload, aws::AmazonS3Builder, local::LocalFileSystem,
    memory::InMemory, path::Path as ObjectPath, prefix::PrefixStore,
};

use crate::error::AppError;

#[derive(Clone)]
pub struct Storage {
    store: Arc<dyn ObjectStore>,
    /// Where it points, for logs and `/health` (no credentials).
    description: String,
}

impl fmt::Debug for Storage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Storage")
            .field("location", &self.description)
            .finish()
    }
}

/// A storage operation failed (the message names the object, never its
/// content).
#[derive(Debug, thiserror::Error)]
#[error("object storage: {message}")]
pub struct StorageError {
    message: String,
    /// The volume under a local store had no space left (ENOSPC).
    full: bool,
}

impl StorageError {
    fn new(message: String) -> Self {
        Self {
            message,
            full: false,
        }
    }

    /// Wraps an `object_store` failure, remembering whether it was ENOSPC.
    fn from_store(message: String, error: &object_store::Error) -> Self {
        Self {
            message,
            full: crate::db_failure::is_out_of_space(error),
        }
    }

    /// Whether the store ran out of space (answered 507, not 500).
    pub fn is_full(&self) -> bool {
        self.full
    }
}

impl From<StorageError> for AppError {
    fn from(error: StorageError) -> Self {
        if error.full {
            tracing::error!(error = %error, "object storage is full");
            AppError::StorageFull
        } else {
            AppError::internal(&error)
        }
    }
}

impl Storage {
    /// Objects under `dir`, created if missing.
    pub fn local(dir: &Path) -> Result<Self, StorageError> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StorageError::new(format!("cannot create {}: {e}", dir.display())))?;
        let store = LocalFileSystem::new_with_prefix(dir)
            .map_err(|e| StorageError::new(format!("cannot open {}: {e}", dir.display())))?;
        Ok(Self {
            store: Arc::new(store),
            description: format!("file://{}", dir.display()),
        })
    }

    /// Objects in `bucket` under `prefix`. Region, credentials and endpoint
    /// come from the standard `AWS_*` variables (on ECS, the task role
    /// through `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`; for an
    /// S3-compatible store, `AWS_ENDPOINT` and `AWS_ALLOW_HTTP`).
    pub fn s3(bucket: &str, prefix: &str) -> Result<Self, StorageError> {
        let store = AmazonS3Builder::from_env()
            .with_bucket_name(bucket)
            .build()
            .map_err(|e| StorageError::new(format!("cannot configure S3 bucket {bucket}: {e}")))?;
        let description = format!("s3://{bucket}/{prefix}");
        let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
            Arc::new(store)
        } else {
            Arc::new(PrefixStore::new(store, prefix))
        };
        Ok(Self { store, description })
    }

    /// Objects in memory, for tests and tools that must not touch disk.
    pub fn memory() -> Self {
        Self {
            store: Arc::new(InMemory::new()),
            description: "memory://".into(),
        }
    }

    pub fn description(&self) -> &str {
        &self.description
    }

    fn path(key: &str) -> Result<ObjectPath, StorageError> {
        ObjectPath::parse(key).map_err(|e| StorageError::new(format!("bad object key {key}: {e}")))
    }

    /// Writes (or overwrites) one object.
    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), StorageError> {
        self.store
            .put(&Self::path(key)?, PutPayload::from(bytes))
            .await
            .map_err(|e| StorageError::from_store(format!("cannot write {key}: {e}"), &e))?;
        Ok(())
    }

    /// Whether an object exists (a metadata request; the content is not
    /// read).
    pub async fn exists(&self, key: &str) -> Result<bool, StorageError> {
        match self.store.head(&Self::path(key)?).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(StorageError::new(format!("cannot look up {key}: {e}"))),
        }
    }

    /// Reads one object; `None` when it does not exist.
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StorageError> {
        match self.store.get(&Self::path(key)?).await {
            Ok(result) => Ok(Some(
                result
                    .bytes()
                    .await
                    .map_err(|e| StorageError::new(format!("cannot read {key}: {e}")))?
                    .to_vec(),
            )),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(StorageError::new(format!("cannot read {key}: {e}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_out_of_space_is_storage_full_not_an_internal_error() {
        let enospc = object_store::Error::Generic {
            store: "LocalFileSystem",
            source: Box::new(std::io::Error::from_raw_os_error(28)),
        };
        let error = StorageError::from_store("cannot write k".into(), &enospc);
        assert!(error.is_full());
        assert_eq!(AppError::from(error), AppError::StorageFull);

        let denied = object_store::Error::Generic {
            store: "LocalFileSystem",
            source: Box::new(std::io::Error::from(std::io::ErrorKind::PermissionDenied)),
        };
        let error = StorageError::from_store("cannot write k".into(), &denied);
        assert!(matches!(AppError::from(error), AppError::Internal(..)));
    }
}
