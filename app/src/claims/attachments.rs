//! Files on a claim: photos, invoices, reports. Accepted by content (see
//! [`shared::attachment`]), stored once per SHA-256 in object storage, and
//! compared across claims: the same file on two claims links them as
//! possible duplicates and flags both. Uploads and downloads go through
//! plain HTTP routes (`server/src/api/attachments.rs`), not server
//! functions, because they carry bytes rather than form fields.

use serde::{Deserialize, Serialize};
use shared::attachment::AttachmentKind;

/// An attachment as the claim page and the API list it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttachmentView {
    pub id: String,
    pub claim_id: String,
    pub filename: String,
    pub kind: AttachmentKind,
    pub content_type: String,
    pub size_bytes: i64,
    /// Hex SHA-256 of the content: what deduplication and the duplicate
    /// rule compare.
    pub sha256: String,
    pub uploaded_by: String,
    pub created_at: i64,
}

#[cfg(feature = "ssr")]
pub mod ssr {
    //! Every SQL statement on `claim_attachments`, and the object keys.

    use serde::Serialize;
    use serde_json::json;
    use sha2::{Digest as _, Sha256};
    use shared::{
        attachment::{self, AttachmentError, AttachmentKind},
        claim::ClaimStatus,
        triage::{FlagCode, FraudFlag},
    };
    use sqlx::{FromRow as _, Row as _, any::AnyRow};

    use super::AttachmentView;
    use crate::{
        audit::ssr::{self as audit, AuditContext, AuditEvent},
        auth::ssr::Principal,
        claims::ssr::{add_flag, link_claims},
        db::{Db, new_id, now_micros},
        error::AppError,
        storage::Storage,
    };

    const COLUMNS: &str = "SELECT id, claim_id, filename, kind, size_bytes, sha256, uploaded_by_name, created_at \
                           FROM claim_attachments";

    /// Where the content of a file with this hash lives.
    fn object_key(sha256: &str) -> String {
        format!("attachments/{sha256}")
    }

    /// The [`COLUMNS`] of one attachment as stored, read from a row or
    /// from the JSON the claim view aggregates them into.
    #[derive(Debug, serde::Deserialize, sqlx::FromRow)]
    pub(crate) struct StoredAttachment {
        id: String,
        claim_id: String,
        filename: String,
        kind: String,
        size_bytes: i64,
        sha256: String,
        uploaded_by_name: Option<String>,
        created_at: i64,
    }

    /// The columns of [`StoredAttachment`], for a JSON aggregate.
    pub(crate) const STORED_COLUMNS: [&str; 8] = [
        "id",
        "claim_id",
        "filename",
        "kind",
        "size_bytes",
        "sha256",
        "uploaded_by_name",
        "created_at",
    ];

    impl StoredAttachment {
        pub(crate) fn into_view(self) -> Result<AttachmentView, sqlx::Error> {
            let kind = AttachmentKind::parse("kind", &self.kind)
                .map_err(|e| sqlx::Error::Decode(e.to_string().into()))?;
            Ok(AttachmentView {
                id: self.id,
                claim_id: self.claim_id,
                filename: self.filename,
                content_type: kind.mime().into(),
                kind,
                size_bytes: self.size_bytes,
                sha256: self.sha256,
                uploaded_by: self.uploaded_by_name.unwrap_or_else(|| "Vanguard".into()),
                created_at: self.created_at,
            })
        }
    }

    fn from_row(row: &AnyRow) -> Result<AttachmentView, sqlx::Error> {
        StoredAttachment::from_row(row)?.into_view()
    }

    /// A claim's attachments, oldest first.
    pub async fn list(db: &Db, claim_id: &str) -> Result<Vec<AttachmentView>, AppError> {
        Ok(sqlx::query(&format!(
            "{COLUMNS} WHERE claim_id = $1 ORDER BY created_at, id"
        ))
        .bind(claim_id)
        .fetch_all(db.pool())
        .await?
        .iter()
        .map(from_row)
        .collect::<Result<Vec<_>, _>>()?)
    }

    /// What an upload did.
    #[derive(Debug, Clone, Serialize)]
    pub struct Uploaded {
        #[serde(flatten)]
        pub attachment: AttachmentView,
        /// The claim already had this exact file: nothing new was stored.
        pub deduplicated: bool,
        /// Other claims holding the same file, now linked as possible
        /// duplicates.
        pub same_file_on: Vec<String>,
    }

    impl From<AttachmentError> for AppError {
        fn from(error: AttachmentError) -> Self {
            match error {
                AttachmentError::TooLarge { .. } => AppError::TooLarge(error.message()),
                AttachmentError::Invalid(field) => AppError::Validation(field.into()),
            }
        }
    }

    /// Checks, stores and records one file on a claim. The content check and
    /// the hash run off the async runtime (a 10 MB file hashes in tens of
    /// milliseconds).
    pub async fn upload(
        db: &Db,
        storage: &Storage,
        context: &AuditContext,
        principal: &Principal,
        claim_id: &str,
        filename: &str,
        bytes: Vec<u8>,
        max_bytes: u64,
    ) -> Result<Uploaded, AppError> {
        let claim = sqlx::query("SELECT status, claim_number FROM claims WHERE id = $1")
            .bind(claim_id)
            .fetch_optional(db.pool())
            .await?
            .ok_or_else(|| AppError::NotFound("The claim".into()))?;
        if claim.try_get::<String, _>("status")? == ClaimStatus::Closed.as_str() {
            return Err(AppError::Conflict(
                "The claim is closed; reopen it before adding files.".into(),
            ));
        }
        let this_number: String = claim.try_get("claim_number")?;
        let (bytes, kind, sha256) = tokio::task::spawn_blocking(move || {
            let kind = attachment::check(&bytes, max_bytes)?;
            let sha256 = crate::encoding::hex(&Sha256::digest(&bytes));
            Ok::<_, AttachmentError>((bytes, kind, sha256))
        })
        .await
        .map_err(|e| AppError::internal(&e))??;
        let filename = attachment::clean_filename(filename);
        let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
        let key = object_key(&sha256);
        // Content-addressed: a file any claim already holds is not written
        // again. Stored before the row, so a row never points at nothing.
        if !storage.exists(&key).await? {
            storage.put(&key, bytes).await?;
        }

        let mut tx = db.begin_write().await?;
        let id = new_id();
        let now = now_micros();
        let inserted = sqlx::query(
            "INSERT INTO claim_attachments (id, claim_id, sha256, kind, size_bytes, filename, uploaded_by_kind, \
             uploaded_by, uploaded_by_name, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
             ON CONFLICT (claim_id, sha256) DO NOTHING",
        )
        .bind(&id)
        .bind(claim_id)
        .bind(&sha256)
        .bind(kind.as_str())
        .bind(size)
        .bind(&filename)
        .bind(principal.kind.as_str())
        .bind(&principal.id)
        .bind(&principal.name)
        .bind(now)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 0 {
            let existing = sqlx::query(&format!("{COLUMNS} WHERE claim_id = $1 AND sha256 = $2"))
                .bind(claim_id)
                .bind(&sha256)
                .fetch_one(&mut *tx)
                .await?;
            tx.commit().await?;
            return Ok(Uploaded {
                attachment: from_row(&existing)?,
                deduplicated: true,
                same_file_on: Vec::new(),
            });
        }

        let others = sqlx::query(
            "SELECT DISTINCT c.id, c.claim_number, c.partner_id FROM claim_attachments a JOIN claims c ON c.id = a.claim_id \
             WHERE a.sha256 = $1 AND a.claim_id <> $2 ORDER BY c.claim_number",
        )
        .bind(&sha256)
        .bind(claim_id)
        .fetch_all(&mut *tx)
        .await?;
        let other_ids = others
            .iter()
            .map(|row| row.try_get::<String, _>("id"))
            .collect::<Result<Vec<_>, _>>()?;
        let other_numbers = others
            .iter()
            .map(|row| row.try_get::<String, _>("claim_number"))
            .collect::<Result<Vec<_>, _>>()?;
        // The uploader is told only of the claims it may see: a partner
        // must not learn that another organisation holds the same file.
        // Staff still get the flags and links on both claims.
        let visible_numbers = others
            .iter()
            .zip(&other_numbers)
            .filter(|(row, _)| {
                principal.scope.sees(
                    row.try_get::<Option<String>, _>("partner_id")
                        .ok()
                        .flatten()
                        .as_deref(),
                )
            })
            .map(|(_, number)| number.clone())
            .collect::<Vec<_>>();
        if !other_ids.is_empty() {
            let reason = "The same file (SHA-256) is attached to both claims";
            link_claims(&mut tx, claim_id, &other_ids, reason, now).await?;
            let flag = |numbers: &str| FraudFlag {
                code: FlagCode::DuplicateAttachment,
                reason: format!("{filename} is also attached to {numbers}"),
            };
            add_flag(&mut tx, claim_id, flag(&other_numbers.join(", "))).await?;
            for other in &other_ids {
                add_flag(&mut tx, other, flag(&this_number)).await?;
            }
        }
        audit::append(
            &mut tx,
            context,
            AuditEvent {
                action: "claim.attachment_added",
                entity_type: "claim",
                entity_id: Some(claim_id),
                // The name can be personal ("jane-doe-passport.jpg"): the
                // trail keeps the hash, type and size.
                details: json!({
                    "attachment_id": id, "sha256": sha256, "kind": kind, "size_bytes": size,
                    "same_file_on": other_numbers,
                }),
            },
        )
        .await?;
        let row = sqlx::query(&format!("{COLUMNS} WHERE id = $1"))
            .bind(&id)
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Uploaded {
            attachment: from_row(&row)?,
            deduplicated: false,
            same_file_on: visible_numbers,
        })
    }

    /// One attachment's record and content, for a download; every download
    /// is audited (who read which file of which claim).
    pub async fn download(
        db: &Db,
        storage: &Storage,
        context: &AuditContext,
        claim_id: &str,
        attachment_id: &str,
    ) -> Result<(AttachmentView, Vec<u8>), AppError> {
        let row = sqlx::query(&format!("{COLUMNS} WHERE id = $1 AND claim_id = $2"))
            .bind(attachment_id)
            .bind(claim_id)
            .fetch_optional(db.pool())
            .await?
            .ok_or_else(|| AppError::NotFound("The attachment".into()))?;
        let attachment = from_row(&row)?;
        let bytes = storage
            .get(&object_key(&attachment.sha256))
            .await?
            .ok_or_else(|| {
                AppError::internal_message(format!(
                    "attachment {} has no object {}",
                    attachment.id,
                    object_key(&attachment.sha256)
                ))
            })?;
        let mut tx = db.begin_write().await?;
        audit::append(
            &mut tx,
            context,
            AuditEvent {
                action: "claim.attachment_downloaded",
                entity_type: "claim",
                entity_id: Some(claim_id),
                details: json!({ "attachment_id": attachment.id, "sha256": attachment.sha256 }),
            },
        )
        .await?;
        tx.commit().await?;
        Ok((attachment, bytes))
    }
}
