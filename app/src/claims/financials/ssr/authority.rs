//! The authority limits' SQL (see [`shared::authority`]): a caller's
//! limit in a currency (their own row, else their role's, else the
//! default), the table admins edit, and its audited changes.

use serde_json::json;
use shared::{
    FieldError, FieldErrors,
    authority::{Authority, LimitInput, NewLimit, SubjectKind},
    money::{Currency, Money},
};
use sqlx::{AnyConnection, Row as _};

use crate::{
    audit::ssr::{self as audit, AuditContext, AuditEvent},
    auth::ssr::Principal,
    claims::financials::LimitView,
    db::{Db, now_micros},
    error::AppError,
};

/// `principal`'s authority in `currency`, in one indexed read.
pub(crate) async fn of(
    conn: &mut AnyConnection,
    principal: &Principal,
    currency: Currency,
) -> Result<Authority, AppError> {
    let rows = sqlx::query(
        "SELECT subject_kind, reserve_limit, payment_limit FROM authority_limits \
         WHERE currency = $1 AND ((subject_kind = 'user' AND subject = $2) \
         OR (subject_kind = 'role' AND subject = $3))",
    )
    .bind(currency.as_str())
    .bind(&principal.id)
    .bind(principal.role.as_str())
    .fetch_all(&mut *conn)
    .await?;
    let pick = |kind: &str| {
        rows.iter().find(|r| {
            r.try_get::<String, _>("subject_kind")
                .is_ok_and(|k| k == kind)
        })
    };
    let Some(row) = pick("user").or_else(|| pick("role")) else {
        return Ok(Authority::default_for(principal.role, currency));
    };
    let limit = |column: &str| -> Result<Option<Money>, sqlx::Error> {
        Ok(row
            .try_get::<Option<i64>, _>(column)?
            .map(|amount| Money::new(amount, currency)))
    };
    Ok(Authority {
        currency,
        reserve: limit("reserve_limit")?,
        payment: limit("payment_limit")?,
    })
}

/// [`of`] for a page: what the forms show before anything is submitted.
pub async fn authority_of(
    db: &Db,
    principal: &Principal,
    currency: Currency,
) -> Result<Authority, AppError> {
    let mut conn = db.pool().acquire().await?;
    of(&mut conn, principal, currency).await
}

/// Every configured limit, roles first, then users by name.
pub async fn limits(db: &Db) -> Result<Vec<LimitView>, AppError> {
    let rows = sqlx::query(
        "SELECT a.subject_kind, a.subject, u.display_name, a.currency, a.reserve_limit, a.payment_limit \
         FROM authority_limits a LEFT JOIN users u ON a.subject_kind = 'user' AND u.id = a.subject \
         ORDER BY a.subject_kind, COALESCE(u.display_name, a.subject), a.currency",
    )
    .fetch_all(db.pool())
    .await?;
    rows.into_iter()
        .map(|row| {
            let currency =
                Currency::from_stored("currency", &row.try_get::<String, _>("currency")?)
                    .map_err(AppError::internal_message)?;
            let limit = |column: &str| -> Result<Option<Money>, sqlx::Error> {
                Ok(row
                    .try_get::<Option<i64>, _>(column)?
                    .map(|amount| Money::new(amount, currency)))
            };
            let kind =
                SubjectKind::parse("subject_kind", &row.try_get::<String, _>("subject_kind")?)
                    .map_err(AppError::internal_message)?;
            let subject: String = row.try_get("subject")?;
            Ok(LimitView {
                subject_kind: kind,
                label: row
                    .try_get::<Option<String>, _>("display_name")?
                    .unwrap_or_else(|| subject.clone()),
                subject,
                authority: Authority {
                    currency,
                    reserve: limit("reserve_limit")?,
                    payment: limit("payment_limit")?,
                },
            })
        })
        .collect()
}

/// Sets (or replaces) one limit, audited with what it was
/// (`authority.limit_set`).
pub async fn set_limit(
    db: &Db,
    context: &AuditContext,
    principal: &Principal,
    input: &LimitInput,
) -> Result<(), AppError> {
    let limit = NewLimit::parse(input)?;
    let mut tx = db.begin_write().await?;
    if limit.subject_kind == SubjectKind::User {
        let known: Option<String> = sqlx::query_scalar("SELECT id FROM users WHERE id = $1")
            .bind(&limit.subject)
            .fetch_optional(&mut *tx)
            .await?;
        if known.is_none() {
            return Err(FieldErrors::from(FieldError::new("subject", "is not a user")).into());
        }
    }
    let currency = limit.authority.currency;
    let before = sqlx::query(
        "SELECT reserve_limit, payment_limit FROM authority_limits \
         WHERE subject_kind = $1 AND subject = $2 AND currency = $3",
    )
    .bind(limit.subject_kind.as_str())
    .bind(&limit.subject)
    .bind(currency.as_str())
    .fetch_optional(&mut *tx)
    .await?
    .map(|row| {
        Ok::<_, sqlx::Error>(json!({
            "reserve": row.try_get::<Option<i64>, _>("reserve_limit")?,
            "payment": row.try_get::<Option<i64>, _>("payment_limit")?,
        }))
    })
    .transpose()?;
    let minor = |m: Option<Money>| m.map(|m| m.amount);
    sqlx::query(
        "INSERT INTO authority_limits (subject_kind, subject, currency, reserve_limit, payment_limit, updated_by, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (subject_kind, subject, currency) DO UPDATE SET reserve_limit = excluded.reserve_limit, \
         payment_limit = excluded.payment_limit, updated_by = excluded.updated_by, updated_at = excluded.updated_at",
    )
    .bind(limit.subject_kind.as_str())
    .bind(&limit.subject)
    .bind(currency.as_str())
    .bind(minor(limit.authority.reserve))
    .bind(minor(limit.authority.payment))
    .bind(&principal.id)
    .bind(now_micros())
    .execute(&mut *tx)
    .await?;
    audit::append(
        &mut tx,
        context,
        AuditEvent {
            action: "authority.limit_set",
            entity_type: "authority_limit",
            entity_id: Some(&format!(
                "{}:{}:{}",
                limit.subject_kind.as_str(),
                limit.subject,
                currency
            )),
            details: json!({
                "currency": currency,
                "before": before,
                "after": { "reserve": minor(limit.authority.reserve), "payment": minor(limit.authority.payment) },
                "summary": format!("{} {}: {}", limit.subject_kind.label(), limit.subject, limit.authority.describe()),
            }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
