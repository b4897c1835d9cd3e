//! The parties' SQL: sealed on the way in with the policyholder's data key
//! (bound to `claim_parties`, the column and the party's id, so a value
//! moved to another row does not open), opened and masked on the way out.

use serde::Deserialize;
use serde_json::json;
use shared::{
    contact::{Email, Phone, mask_name},
    customer::ERASED,
    party::{NewParty, PartyInput, PartyRole},
};
use sqlx::Row as _;

use super::PartyView;
use crate::{
    audit::ssr::{self as audit, AuditContext, AuditEvent},
    claims::ssr::bump_version,
    db::{Db, new_id, now_micros},
    encoding::{from_hex, hex},
    error::AppError,
    vault::{
        Vault, VaultFailure,
        crypto::{SecretKey, VaultError},
        unreadable::UNREADABLE,
    },
};

const TABLE: &str = "claim_parties";

/// A party as the claim page's statement selects it: the sealed fields as
/// hex (JSON holds no bytes).
#[derive(Debug, Deserialize)]
pub struct StoredParty {
    id: String,
    role: String,
    name: String,
    email: Option<String>,
    phone: Option<String>,
    created_at: i64,
}

/// `(key, expression)` pairs of a party in the claim page's JSON, on the
/// engine whose hex function is `hex_fn` (`hex` on SQLite, `encode(…,
/// 'hex')` on PostgreSQL).
pub fn json_fields(alias: &str, hex_of: impl Fn(&str) -> String) -> Vec<(String, String)> {
    let mut fields = vec![
        ("id".to_owned(), format!("{alias}.id")),
        ("role".to_owned(), format!("{alias}.role")),
        ("created_at".to_owned(), format!("{alias}.created_at")),
    ];
    for column in ["name", "email", "phone"] {
        fields.push((column.to_owned(), hex_of(&format!("{alias}.{column}"))));
    }
    fields
}

impl StoredParty {
    /// Opened with the policyholder's key and masked; `None` for the key
    /// means the policyholder was erased. A value that does not open under
    /// this party reads `unreadable`.
    pub fn into_view(self, vault: &Vault, dek: Option<&SecretKey>) -> Result<PartyView, AppError> {
        let role = PartyRole::parse("role", &self.role).map_err(AppError::internal_message)?;
        let show = |column: &str, sealed: &str, mask: fn(&str) -> String| -> String {
            let Some(dek) = dek else {
                return ERASED.to_owned();
            };
            from_hex(sealed)
                .and_then(|envelope| {
                    vault
                        .open_field(dek, TABLE, column, &self.id, &envelope)
                        .ok()
                })
                .map_or_else(|| UNREADABLE.to_owned(), |plain| mask(&plain))
        };
        let email = |v: &str| Email::parse("email", v).map_or_else(|_| "***".into(), |e| e.mask());
        let phone = |v: &str| Phone::parse("phone", v).map_or_else(|_| "***".into(), |p| p.mask());
        Ok(PartyView {
            name: show("name", &self.name, mask_name),
            email: self.email.as_deref().map(|e| show("email", e, email)),
            phone: self.phone.as_deref().map(|p| show("phone", p, phone)),
            role,
            id: self.id,
            created_at: self.created_at,
        })
    }
}

/// Adds a party (`claim.party_added`; the audit record names the role, not
/// the person).
pub async fn add_party(
    db: &Db,
    vault: &Vault,
    context: &AuditContext,
    claim_id: &str,
    input: &PartyInput,
    expected: Option<i64>,
    idempotency: Option<&crate::idempotency::Key>,
) -> Result<PartyView, AppError> {
    let party = NewParty::parse(input)?;
    let mut tx = db.begin_write().await?;
    bump_version(&mut tx, claim_id, expected).await?;
    let row = sqlx::query("SELECT customer_id, status FROM claims WHERE id = $1")
        .bind(claim_id)
        .fetch_one(&mut *tx)
        .await?;
    if row.try_get::<String, _>("status")? == "closed" {
        return Err(AppError::Conflict(
            "The claim is closed; reopen it to add parties.".into(),
        ));
    }
    let customer_id: String = row.try_get("customer_id")?;
    let dek = vault
        .load_key(&mut tx, &customer_id)
        .await
        .map_err(|failure| match failure {
            VaultFailure::Crypto(VaultError::Erased) => AppError::Conflict(
                "The policyholder's personal data was erased; this claim cannot take new parties."
                    .into(),
            ),
            other => other.into(),
        })?;
    let id = new_id();
    let seal = |column: &str, value: &str| {
        vault
            .seal_field(&dek, TABLE, column, &id, value)
            .map_err(|e| AppError::internal(&e))
    };
    let name = seal("name", &party.name)?;
    let email = party
        .email
        .as_ref()
        .map(|e| seal("email", e.as_str()))
        .transpose()?;
    let phone = party
        .phone
        .as_ref()
        .map(|p| seal("phone", p.as_str()))
        .transpose()?;
    let created_at = now_micros();
    sqlx::query(
        "INSERT INTO claim_parties (id, claim_id, role, name, email, phone, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&id)
    .bind(claim_id)
    .bind(party.role.as_str())
    .bind(&name)
    .bind(email.as_deref())
    .bind(phone.as_deref())
    .bind(context.actor.id())
    .bind(created_at)
    .execute(&mut *tx)
    .await?;
    audit::append(
        &mut tx,
        context,
        AuditEvent {
            action: "claim.party_added",
            entity_type: "claim",
            entity_id: Some(claim_id),
            details: json!({ "party_id": id, "role": party.role, "summary": format!("{} added", party.role.label()) }),
        },
    )
    .await?;
    let stored = StoredParty {
        id,
        role: party.role.as_str().to_owned(),
        name: hex(&name),
        email: email.as_deref().map(hex),
        phone: phone.as_deref().map(hex),
        created_at,
    };
    let view = stored.into_view(vault, Some(&dek))?;
    if let Some(key) = idempotency {
        // The masked view: a replay shows no more than the first answer.
        let body = serde_json::to_string(&view).map_err(|e| AppError::internal(&e))?;
        crate::idempotency::remember(&mut tx, key, 201, &body).await?;
    }
    tx.commit().await?;
    Ok(view)
}

/// The claim's parties, masked (the API's list).
pub async fn parties_of(
    db: &Db,
    vault: &Vault,
    claim_id: &str,
) -> Result<Vec<PartyView>, AppError> {
    let mut conn = db.pool().acquire().await?;
    let customer: Option<String> =
        sqlx::query_scalar("SELECT customer_id FROM claims WHERE id = $1")
            .bind(claim_id)
            .fetch_optional(&mut *conn)
            .await?;
    let customer = customer.ok_or_else(|| AppError::NotFound("The claim".into()))?;
    let dek = match vault.load_key(&mut conn, &customer).await {
        Ok(dek) => Some(dek),
        Err(VaultFailure::Crypto(VaultError::Erased)) => None,
        Err(other) => return Err(other.into()),
    };
    let rows = sqlx::query(
        "SELECT id, role, name, email, phone, created_at FROM claim_parties WHERE claim_id = $1 \
         ORDER BY created_at, id",
    )
    .bind(claim_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            let sealed = |column: &str| -> Result<Option<String>, sqlx::Error> {
                Ok(row
                    .try_get::<Option<Vec<u8>>, _>(column)?
                    .as_deref()
                    .map(hex))
            };
            StoredParty {
                id: row.try_get("id")?,
                role: row.try_get("role")?,
                name: sealed("name")?.unwrap_or_default(),
                email: sealed("email")?,
                phone: sealed("phone")?,
                created_at: row.try_get("created_at")?,
            }
            .into_view(vault, dek.as_ref())
        })
        .collect()
}

/// The party fields that can be revealed.
const REVEALABLE: [&str; 3] = ["name", "email", "phone"];

/// Shows one of a party's fields in clear to someone allowed to see it,
/// for a stated reason, audited like the claimant's
/// (`claim.party_pii_revealed`, naming the party and the field, never the
/// value). `None`: the field was not given.
pub async fn reveal_party(
    db: &Db,
    vault: &Vault,
    context: &AuditContext,
    (claim_id, party_id): (&str, &str),
    field: &str,
    reason: &str,
) -> Result<Option<String>, AppError> {
    let mut errors = shared::FieldErrors::new();
    let column = REVEALABLE.into_iter().find(|f| *f == field.trim());
    if column.is_none() {
        errors.push("field", "must be one of name, email, phone");
    }
    let reason = errors.check(shared::customer::RevealReason::parse("reason", reason));
    let (Some(column), Some(reason)) = (column, reason) else {
        return Err(errors.into());
    };
    let mut tx = db.begin_write().await?;
    let row = sqlx::query(&format!(
        "SELECT cl.customer_id, pa.{column} AS envelope, k.kek_id, k.wrapped_key \
         FROM claim_parties pa JOIN claims cl ON cl.id = pa.claim_id \
         LEFT JOIN customer_keys k ON k.customer_id = cl.customer_id \
         WHERE pa.id = $1 AND pa.claim_id = $2"
    ))
    .bind(party_id)
    .bind(claim_id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(|| AppError::NotFound("The party".into()))?;
    let value = match row.try_get::<Option<Vec<u8>>, _>("envelope")? {
        None => None,
        Some(envelope) => {
            let key = crate::vault::WrappedKey::from_row(&row)?;
            let customer_id: String = row.try_get("customer_id")?;
            let dek = vault.unwrap_key(&customer_id, &key).map_err(|_| {
                AppError::Conflict("The policyholder's personal data was erased.".into())
            })?;
            let plain = vault
                .open_field(&dek, TABLE, column, party_id, &envelope)
                .map_err(|_| crate::vault::unreadable::conflict(column))?;
            Some(plain)
        }
    };
    audit::append(
        &mut tx,
        context,
        AuditEvent {
            action: "claim.party_pii_revealed",
            entity_type: "claim",
            entity_id: Some(claim_id),
            details: json!({ "party_id": party_id, "field": column, "reason": reason }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(value)
}
