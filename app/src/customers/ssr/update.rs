//! Changing a customer's personal data: merge, check, reseal, and keep
//! what does not decrypt as it is stored.

use serde_json::json;
use shared::customer::{CustomerView, NewCustomer, NewCustomerInput, PiiField};
use sqlx::Row as _;

use super::{SELECT, Sealed, TABLE, from_row, last_name_key, masked_view, seal_customer, view_of};
use crate::{
    audit::ssr::{self as audit, AuditContext, AuditEvent},
    clock::today,
    db::{Db, now_micros},
    error::AppError,
    vault::{IndexedColumn, Vault, unreadable},
};

/// Changes a customer's personal data. A field left blank keeps its value
/// (the page never holds the clear values it would need to prefill a form);
/// the result is checked as a whole by the same rules as a new customer,
/// every field is sealed again under fresh nonces, the blind indexes follow,
/// and the audit record names the fields that changed, never their values.
/// `expected_version` (the API's `If-Match`, the version the page showed)
/// makes a stale write a 412.
pub async fn update(
    db: &Db,
    vault: &Vault,
    context: &AuditContext,
    id: &str,
    changes: &NewCustomerInput,
    expected_version: Option<i64>,
) -> Result<CustomerView, AppError> {
    let mut tx = db.begin_write().await?;
    let row = sqlx::query(&format!("{SELECT} WHERE c.id = $1"))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| AppError::NotFound("The customer".into()))?;
    let row = from_row(&row)?;
    if row.erased {
        return Err(AppError::Conflict(
            "This customer's personal data was erased.".into(),
        ));
    }
    AppError::check_version("customer", expected_version, row.version)?;
    let dek = vault
        .unwrap_key(&row.id, &row.key)
        .map_err(|e| AppError::internal(&e))?;
    // Each stored value in clear; a field that does not decrypt is kept as
    // stored (envelope and blind index) unless this change replaces it.
    let mut unreadable: Vec<PiiField> = Vec::new();
    let mut stored = Vec::with_capacity(row.fields.len());
    for (field, envelope) in &row.fields {
        let plain = match envelope {
            None => None,
            Some(envelope) => {
                match vault.open_field(&dek, TABLE, field.as_str(), &row.id, envelope) {
                    Ok(plain) => Some(plain),
                    Err(_) => {
                        unreadable.push(*field);
                        None
                    }
                }
            }
        };
        stored.push((*field, plain));
    }
    let current = |field: PiiField| -> Option<String> {
        stored
            .iter()
            .find(|(f, _)| *f == field)
            .and_then(|(_, plain)| plain.clone())
    };
    let given = |value: &Option<String>| value.clone().filter(|v| !v.trim().is_empty());
    let mut changed = Vec::new();
    let mut kept = Vec::new();
    let mut merge = |field: PiiField, value: Option<String>| -> Option<String> {
        let before = current(field);
        match value {
            Some(new) if unreadable.contains(&field) || Some(new.trim()) != before.as_deref() => {
                changed.push(field.as_str());
                Some(new)
            }
            _ if unreadable.contains(&field) => {
                kept.push(field);
                stand_in(field)
            }
            _ => before,
        }
    };
    let first_name = merge(
        PiiField::FirstName,
        given(&Some(changes.first_name.clone())),
    );
    let last_name = merge(PiiField::LastName, given(&Some(changes.last_name.clone())));
    let email = merge(PiiField::Email, given(&Some(changes.email.clone())));
    let phone = merge(PiiField::Phone, given(&changes.phone));
    let date_of_birth = merge(PiiField::DateOfBirth, given(&changes.date_of_birth));
    let national_id = merge(PiiField::NationalId, given(&changes.national_id));
    let address_given = changes
        .address
        .clone()
        .filter(|a| *a != shared::contact::AddressInput::default());
    let address = match address_given {
        Some(address) => {
            changed.push(PiiField::Address.as_str());
            Some(address)
        }
        None if unreadable.contains(&PiiField::Address) => {
            kept.push(PiiField::Address);
            None
        }
        None => current(PiiField::Address).and_then(|json| serde_json::from_str(&json).ok()),
    };
    let merged = NewCustomerInput {
        first_name: first_name.unwrap_or_default(),
        last_name: last_name.unwrap_or_default(),
        email: email.unwrap_or_default(),
        phone,
        date_of_birth,
        national_id,
        address,
    };
    let customer = NewCustomer::parse(&merged, Some(today()))?;
    let reported: Vec<String> = kept.iter().map(|f| f.as_str().to_owned()).collect();
    if changed.is_empty() {
        drop(tx);
        unreadable::report(db, "customer", id, &reported).await?;
        return Ok(view_of(vault, &row));
    }
    let mut sealed = seal_customer(vault, &dek, id, &customer)?;
    let mut indexes = [
        Some(vault.index(IndexedColumn::Email, customer.email.as_str())),
        Some(vault.index(IndexedColumn::LastName, &last_name_key(&customer.last_name))),
        customer
            .national_id
            .as_ref()
            .map(|n| vault.index(IndexedColumn::NationalId, n.as_str())),
    ];
    if !kept.is_empty() {
        let old = sqlx::query(
            "SELECT email_index, last_name_index, national_id_index FROM customers WHERE id = $1",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        for field in &kept {
            let envelope = row
                .fields
                .iter()
                .find(|(f, _)| f == field)
                .and_then(|(_, envelope)| envelope.clone());
            sealed.keep(*field, envelope);
            let index = match field {
                PiiField::Email => Some((0, "email_index")),
                PiiField::LastName => Some((1, "last_name_index")),
                PiiField::NationalId => Some((2, "national_id_index")),
                _ => None,
            };
            if let Some((slot, column)) = index {
                indexes[slot] = old.try_get(column)?;
            }
        }
    }
    let [email_index, last_name_index, national_id_index] = indexes;
    let version = row.version + 1;
    sqlx::query(
        "UPDATE customers SET first_name = $1, last_name = $2, email = $3, phone = $4, date_of_birth = $5, \
         address = $6, national_id = $7, email_index = $8, last_name_index = $9, national_id_index = $10, \
         version = $11, updated_at = $12 WHERE id = $13 AND version = $14",
    )
    .bind(sealed.first_name)
    .bind(sealed.last_name)
    .bind(sealed.email)
    .bind(sealed.phone)
    .bind(sealed.date_of_birth)
    .bind(sealed.address)
    .bind(sealed.national_id)
    .bind(email_index)
    .bind(last_name_index)
    .bind(national_id_index)
    .bind(version)
    .bind(now_micros())
    .bind(id)
    .bind(row.version)
    .execute(&mut *tx)
    .await
    .map_err(|e| AppError::on_unique(e, "email", "is already the email of another customer"))?;
    audit::append(
        &mut tx,
        context,
        AuditEvent {
            action: "customer.updated",
            entity_type: "customer",
            entity_id: Some(id),
            details: json!({
                "changed_fields": changed,
                "before": { "version": row.version },
                "after": { "version": version },
            }),
        },
    )
    .await?;
    tx.commit().await?;
    unreadable::report(db, "customer", id, &reported).await?;
    let mut view = masked_view(id, &row.number, &customer, row.created_at, version);
    for field in &kept {
        view.set_unreadable(*field);
    }
    Ok(view)
}

/// A value that passes its rule, standing in (for validation only) for a
/// required field that does not decrypt and that a change keeps as stored.
fn stand_in(field: PiiField) -> Option<String> {
    match field {
        PiiField::FirstName | PiiField::LastName => Some("Unreadable".into()),
        PiiField::Email => Some("unreadable@example.com".into()),
        _ => None,
    }
}

impl Sealed {
    /// Writes `envelope` back unchanged instead of the new seal of `field`.
    fn keep(&mut self, field: PiiField, envelope: Option<Vec<u8>>) {
        match field {
            PiiField::FirstName => self.first_name = envelope.unwrap_or_default(),
            PiiField::LastName => self.last_name = envelope.unwrap_or_default(),
            PiiField::Email => self.email = envelope.unwrap_or_default(),
            PiiField::Phone => self.phone = envelope,
            PiiField::DateOfBirth => self.date_of_birth = envelope,
            PiiField::Address => self.address = envelope,
            PiiField::NationalId => self.national_id = envelope,
        }
    }
}
