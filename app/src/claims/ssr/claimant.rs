//! The claimant's details on a claim: opened and masked for the page, and
//! revealed one field at a time, for a reason, into the audit trail.

use serde_json::json;
use shared::{
    FieldErrors,
    contact::{Email, PersonName, Phone},
    customer::RevealReason,
};
use sqlx::{Row as _, any::AnyRow};

use super::TABLE;
use crate::{
    audit::ssr::{self as audit, AuditContext, AuditEvent},
    claims::ClaimantView,
    db::Db,
    error::AppError,
    vault::{
        Vault,
        unreadable::{self, UNREADABLE},
    },
};

/// Opens and masks the claimant's details; an erased policyholder's key is
/// gone, so they read as erased. A value that does not decrypt under this
/// claim (moved from another record) reads `unreadable` and is named in the
/// second half of the answer.
pub(super) fn claimant_of(
    vault: &Vault,
    row: &AnyRow,
    id: &str,
) -> Result<(Option<ClaimantView>, Vec<String>), AppError> {
    let Some(name) = row.try_get::<Option<Vec<u8>>, _>("claimant_name")? else {
        return Ok((None, Vec::new()));
    };
    let key = crate::vault::WrappedKey::from_row(row)?;
    let customer_id: String = row.try_get("customer_id")?;
    let Ok(dek) = vault.unwrap_key(&customer_id, &key) else {
        return Ok((
            Some(ClaimantView {
                name: shared::customer::ERASED.into(),
                email: None,
                phone: None,
            }),
            Vec::new(),
        ));
    };
    let mut unreadable = Vec::new();
    // Stored values passed these parses on the way in.
    let mut show = |column: &str, envelope: &[u8], mask: fn(&str) -> Option<String>| match vault
        .open_field(&dek, TABLE, column, id, envelope)
    {
        Ok(plain) => mask(&plain).unwrap_or_else(|| "***".into()),
        Err(_) => {
            unreadable.push(column.to_owned());
            UNREADABLE.to_owned()
        }
    };
    let name = show("claimant_name", &name, |v| {
        PersonName::parse("name", v).ok().map(|n| n.mask())
    });
    let email = row
        .try_get::<Option<Vec<u8>>, _>("claimant_email")?
        .map(|e| {
            show("claimant_email", &e, |v| {
                Email::parse("email", v).ok().map(|e| e.mask())
            })
        });
    let phone = row
        .try_get::<Option<Vec<u8>>, _>("claimant_phone")?
        .map(|p| {
            show("claimant_phone", &p, |v| {
                Phone::parse("phone", v).ok().map(|p| p.mask())
            })
        });
    Ok((Some(ClaimantView { name, email, phone }), unreadable))
}

/// The claimant's details that can be revealed.
const CLAIMANT_FIELDS: [&str; 3] = ["claimant_name", "claimant_email", "claimant_phone"];

/// Shows one claimant field in clear to someone allowed to see it, for a
/// stated reason, audited like a customer's (`claim.pii_revealed`).
pub async fn reveal_claimant(
    db: &Db,
    vault: &Vault,
    context: &AuditContext,
    id: &str,
    field: &str,
    reason: &str,
) -> Result<Option<String>, AppError> {
    let mut errors = FieldErrors::new();
    let column = CLAIMANT_FIELDS.into_iter().find(|f| *f == field.trim());
    if column.is_none() {
        errors.push(
            "field",
            "must be one of claimant_name, claimant_email, claimant_phone",
        );
    }
    let reason = errors.check(RevealReason::parse("reason", reason));
    errors.clone().into_result()?;
    let (Some(column), Some(reason)) = (column, reason) else {
        return Err(errors.into());
    };
    let mut tx = db.begin_write().await?;
    let row = sqlx::query(&format!(
        "SELECT cl.customer_id, cl.{column} AS envelope, k.kek_id, k.wrapped_key FROM claims cl \
         LEFT JOIN customer_keys k ON k.customer_id = cl.customer_id WHERE cl.id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| AppError::NotFound("The claim".into()))?;
    let value = match row.try_get::<Option<Vec<u8>>, _>("envelope")? {
        None => None,
        Some(envelope) => {
            let key = crate::vault::WrappedKey::from_row(&row)?;
            let customer_id: String = row.try_get("customer_id")?;
            let dek = vault.unwrap_key(&customer_id, &key).map_err(|_| {
                AppError::Conflict("The policyholder's personal data was erased.".into())
            })?;
            match vault.open_field(&dek, TABLE, column, id, &envelope) {
                Ok(plain) => Some(plain),
                Err(_) => {
                    drop(tx);
                    unreadable::report(db, "claim", id, &[column.to_owned()]).await?;
                    return Err(unreadable::conflict(column));
                }
            }
        }
    };
    audit::append(
        &mut tx,
        context,
        AuditEvent {
            action: "claim.pii_revealed",
            entity_type: "claim",
            entity_id: Some(id),
            details: json!({ "field": column, "reason": reason }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(value)
}
