//! Values that no longer decrypt under their record.
//!
//! Every envelope is bound to its table, column and row (the AEAD's
//! associated data), so a ciphertext a database user copied from another
//! record, or a damaged one, fails to open. That is an attack or a
//! corruption, not a reason to refuse the whole record: views show the
//! readable parts and mark the rest [`UNREADABLE`] (listing it in
//! `unreadable_fields`), an operation that needs the value answers 409
//! naming the field, and each occurrence is a security event.

use serde_json::json;

use crate::{
    audit::ssr::{self as audit, AuditContext, AuditEvent},
    db::Db,
    error::AppError,
};

pub use shared::customer::UNREADABLE;

/// Logs (target `security`, warn) and audits (`vault.unreadable`) that
/// `fields` of record `entity_id` do not decrypt: which fields, never any
/// value. Nothing happens for an empty list. Call it outside any write
/// transaction (it writes the audit trail on its own).
pub async fn report(
    db: &Db,
    entity_type: &str,
    entity_id: &str,
    fields: &[String],
) -> Result<(), AppError> {
    if fields.is_empty() {
        return Ok(());
    }
    tracing::warn!(
        target: "security",
        entity = entity_type,
        id = entity_id,
        fields = ?fields,
        "personal data does not decrypt under its record (moved from another record or damaged)"
    );
    audit::append_now(
        db,
        &AuditContext::system("vault"),
        AuditEvent {
            action: "vault.unreadable",
            entity_type,
            entity_id: Some(entity_id),
            details: json!({ "fields": fields }),
        },
    )
    .await?;
    Ok(())
}

/// The answer to an operation that needs the value of `field`.
pub fn conflict(field: &str) -> AppError {
    AppError::Conflict(format!(
        "The stored value of {field} is unreadable (moved from another record or damaged); \
         set a new value to replace it."
    ))
}
