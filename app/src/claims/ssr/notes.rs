//! Notes on a claim: free text, kept out of the audit trail but for its
//! size, because notes may quote the claimant.

use serde_json::json;
use shared::FieldErrors;

use crate::{
    audit::ssr::{self as audit, AuditContext, AuditEvent},
    auth::ssr::Principal,
    db::{Db, new_id, now_micros},
    error::AppError,
};

pub const NOTE_MAX_CHARS: usize = 4000;

pub async fn add_note(
    db: &Db,
    context: &AuditContext,
    principal: &Principal,
    id: &str,
    body: &str,
) -> Result<(), AppError> {
    let body = shared::validation::text("body", body, 1, NOTE_MAX_CHARS, true)
        .map_err(FieldErrors::from)?;
    let mut tx = db.begin_write().await?;
    let exists = sqlx::query("SELECT id FROM claims WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
    if exists.is_none() {
        return Err(AppError::NotFound("The claim".into()));
    }
    let note_id = new_id();
    sqlx::query(
        "INSERT INTO claim_notes (id, claim_id, author_kind, author_id, author_name, body, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&note_id)
    .bind(id)
    .bind(principal.kind.as_str())
    .bind(&principal.id)
    .bind(&principal.name)
    .bind(&body)
    .bind(now_micros())
    .execute(&mut *tx)
    .await?;
    audit::append(
        &mut tx,
        context,
        AuditEvent {
            action: "claim.note_added",
            entity_type: "claim",
            entity_id: Some(id),
            // Notes may quote the claimant: the trail keeps only their size.
            details: json!({ "note_id": note_id, "chars": body.chars().count() }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
