//! Every SQL statement on policies, and the services the server functions
//! and the JSON API share.

use serde_json::json;
use shared::{
    FieldError, FieldErrors,
    confirm::Irreversible,
    dates::DateRange,
    money::{Currency, Money, MoneyInput},
    pagination::{Page, PageRequest},
    policy::{
        Jurisdiction, LineOfBusiness, NewPolicy, NewPolicyInput, PolicyAction, PolicyNumber,
        PolicyStatus,
    },
};
use sqlx::{FromRow as _, Row as _, any::AnyRow};

use super::PolicyView;
use crate::{
    audit::ssr::{self as audit, AuditContext, AuditEvent},
    clock::today,
    db::{Db, Filter, new_id, now_micros},
    error::AppError,
    numbering::{Counter, Numbers},
    tenancy::{self, Scope},
};

const SELECT: &str = "SELECT p.id, p.policy_number, p.customer_id, c.customer_number, p.line, p.status, \
    p.starts_on, p.ends_on, p.currency, p.premium, p.coverage_limit, p.deductible, p.renewed_from, \
    p.jurisdiction, p.version, p.created_at FROM policies p JOIN customers c ON c.id = p.customer_id";

/// A row of [`SELECT`] as stored; [`PolicyRow::parse`] gives the view.
#[derive(sqlx::FromRow)]
struct PolicyRow {
    id: String,
    policy_number: String,
    customer_id: String,
    customer_number: String,
    line: String,
    status: String,
    starts_on: String,
    ends_on: String,
    currency: String,
    premium: i64,
    coverage_limit: i64,
    deductible: i64,
    renewed_from: Option<String>,
    jurisdiction: Option<String>,
    version: i64,
    created_at: i64,
}

impl PolicyRow {
    /// Stored codes passed these parses on the way in: a failure is a
    /// damaged row, reported as a decode error.
    fn parse(self) -> Result<PolicyView, sqlx::Error> {
        let decode = |e: FieldError| sqlx::Error::Decode(e.to_string().into());
        let currency = Currency::from_stored("currency", &self.currency).map_err(decode)?;
        let money = |amount| Money { amount, currency };
        let status = PolicyStatus::parse("status", &self.status).map_err(decode)?;
        Ok(PolicyView {
            id: self.id,
            policy_number: self.policy_number,
            customer_id: self.customer_id,
            customer_number: self.customer_number,
            line: LineOfBusiness::parse("line", &self.line).map_err(decode)?,
            status,
            starts_on: self.starts_on,
            ends_on: self.ends_on,
            premium: money(self.premium),
            coverage_limit: money(self.coverage_limit),
            deductible: money(self.deductible),
            renewed_from: self.renewed_from,
            jurisdiction: self.jurisdiction,
            version: self.version,
            created_at: self.created_at,
            available_actions: status.available_actions(),
            blocked_actions: status.blocked_actions(),
            can_renew: status.can_renew(),
        })
    }
}

fn from_row(row: &AnyRow) -> Result<PolicyView, sqlx::Error> {
    PolicyRow::from_row(row)?.parse()
}

/// Inserts a quote for `policy` (new business or a renewal) with its audit
/// record, inside the caller's transaction.
///
/// The policy belongs to its customer's partner; a partner's caller
/// (`scope`) may only insure its own customers, and another partner's
/// customer reads as unknown.
async fn insert(
    tx: &mut sqlx::AnyConnection,
    counter: &Counter,
    context: &AuditContext,
    scope: &Scope,
    policy: &NewPolicy,
    renewed_from: Option<&str>,
) -> Result<String, AppError> {
    let customer = sqlx::query("SELECT erased_at, partner_id FROM customers WHERE id = $1")
        .bind(&policy.customer_id)
        .fetch_optional(&mut *tx)
        .await?
        .filter(|row| tenancy::sees_row(scope, row))
        .ok_or_else(|| {
            FieldErrors::from(FieldError::new(
                "customer_id",
                "does not match any customer",
            ))
        })?;
    if customer.try_get::<Option<i64>, _>("erased_at")?.is_some() {
        return Err(AppError::Conflict(
            "This customer's personal data was erased; no new policies.".into(),
        ));
    }
    let partner: Option<String> = customer.try_get("partner_id")?;
    let year = counter.year();
    let sequence = counter.next(tx).await?;
    let number = u32::try_from(sequence)
        .ok()
        .and_then(|sequence| PolicyNumber::format(year, sequence))
        .ok_or_else(|| AppError::internal_message("policy numbers exhausted for the year"))?;
    let id = new_id();
    let now = now_micros();
    sqlx::query(
        "INSERT INTO policies (id, policy_number, customer_id, line, status, starts_on, ends_on, currency, \
         premium, coverage_limit, deductible, renewed_from, version, created_at, updated_at, partner_id, jurisdiction) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 1, $13, $13, $14, $15)",
    )
    .bind(&id)
    .bind(number.as_str())
    .bind(&policy.customer_id)
    .bind(policy.line.as_str())
    .bind(PolicyStatus::INITIAL.as_str())
    .bind(policy.term.starts_on().to_string())
    .bind(policy.term.ends_on().to_string())
    .bind(policy.premium.currency.as_str())
    .bind(policy.premium.amount)
    .bind(policy.coverage_limit.amount)
    .bind(policy.deductible.amount)
    .bind(renewed_from)
    .bind(now)
    .bind(&partner)
    .bind(policy.jurisdiction.as_ref().map(|j| j.as_str()))
    .execute(&mut *tx)
    .await
    .map_err(|error| match &error {
        // Two renewals raced: the unique index on renewed_from let one win.
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            AppError::Conflict("This policy was already renewed.".into())
        }
        _ => error.into(),
    })?;
    audit::append(
        tx,
        context,
        AuditEvent {
            action: if renewed_from.is_some() {
                "policy.renewed"
            } else {
                "policy.created"
            },
            entity_type: "policy",
            entity_id: Some(&id),
            details: json!({ "after": {
                "policy_number": number.as_str(),
                "customer_id": policy.customer_id,
                "line": policy.line,
                "status": PolicyStatus::INITIAL,
                "starts_on": policy.term.starts_on().to_string(),
                "ends_on": policy.term.ends_on().to_string(),
                "premium": policy.premium,
                "coverage_limit": policy.coverage_limit,
                "deductible": policy.deductible,
                "jurisdiction": policy.jurisdiction,
                "renewed_from": renewed_from,
            }}),
        },
    )
    .await?;
    crate::metrics::global().policy_created();
    Ok(id)
}

pub async fn create(
    db: &Db,
    context: &AuditContext,
    scope: &Scope,
    input: &NewPolicyInput,
) -> Result<PolicyView, AppError> {
    let policy = NewPolicy::parse(input)?;
    let counter = Numbers::yearly(db, "policy").await?;
    let mut tx = db.begin_write().await?;
    let id = insert(&mut tx, &counter, context, scope, &policy, None).await?;
    tx.commit().await?;
    find(db, &id)
        .await?
        .ok_or_else(|| AppError::NotFound("The new policy".into()))
}

pub async fn find(db: &Db, id: &str) -> Result<Option<PolicyView>, AppError> {
    let row = sqlx::query(&format!("{SELECT} WHERE p.id = $1"))
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    Ok(row.as_ref().map(from_row).transpose()?)
}

/// List filters (all optional, combined with AND).
#[derive(Debug, Clone, Default)]
pub struct Filters {
    pub line: Option<String>,
    pub status: Option<String>,
    /// Active policies whose term ends within this many days from today.
    pub expiring_within_days: Option<String>,
    pub customer_id: Option<String>,
}

pub async fn list(
    db: &Db,
    scope: &Scope,
    filters: &Filters,
    page: PageRequest,
) -> Result<Page<PolicyView>, AppError> {
    let mut errors = FieldErrors::new();
    let mut filter = Filter::default();
    tenancy::restrict(&mut filter, scope, "p.partner_id");
    let present = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
    };
    if let Some(line) =
        present(&filters.line).and_then(|raw| errors.check(LineOfBusiness::parse("line", &raw)))
    {
        filter.equals("p.line", line.as_str().to_owned());
    }
    if let Some(status) =
        present(&filters.status).and_then(|raw| errors.check(PolicyStatus::parse("status", &raw)))
    {
        filter.equals("p.status", status.as_str().to_owned());
    }
    if let Some(raw) = present(&filters.expiring_within_days) {
        match raw.parse::<i64>() {
            Ok(days) if (0..=3650).contains(&days) => expiring_within(&mut filter, days),
            _ => errors.push(
                "expiring_within_days",
                "must be a whole number of days from 0 to 3650",
            ),
        }
    }
    if let Some(customer) = present(&filters.customer_id) {
        filter.equals("p.customer_id", customer);
    }
    errors.into_result()?;
    let (rows, total) = filter
        .fetch_page(
            db,
            SELECT,
            "policies p",
            "p.created_at DESC, p.id DESC",
            page,
        )
        .await?;
    let items = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(Page::new(page, items, total))
}

/// Active policies whose term ends between today and `days` from today.
fn expiring_within(filter: &mut Filter, days: i64) {
    let today = today();
    let until = today.add_days(days).unwrap_or(today);
    filter.compare("p.ends_on", ">=", today.to_string());
    filter.compare("p.ends_on", "<=", until.to_string());
    filter.literal("p.status = 'active'");
}

/// Moves a policy through its lifecycle. `expected_version` (the `If-Match`
/// of the API, the version the page showed) makes a stale write a 412.
/// Cancelling, lapsing and expiring need `confirm` set to the action's name
/// (see [`Irreversible`]), from pages and API clients alike.
pub async fn apply_action(
    db: &Db,
    context: &AuditContext,
    id: &str,
    raw_action: &str,
    confirm: Option<&str>,
    expected_version: Option<i64>,
) -> Result<PolicyView, AppError> {
    let action = PolicyAction::parse("action", raw_action).map_err(FieldErrors::from)?;
    if let Some(irreversible) = Irreversible::of_policy(action) {
        irreversible.check(confirm).map_err(FieldErrors::from)?;
    }
    let mut tx = db.begin_write().await?;
    let row = sqlx::query("SELECT status, version FROM policies WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| AppError::NotFound("The policy".into()))?;
    let version: i64 = row.try_get("version")?;
    AppError::check_version("policy", expected_version, version)?;
    let before = PolicyStatus::parse("status", &row.try_get::<String, _>("status")?)
        .map_err(AppError::internal_message)?;
    let after = before
        .apply(action)
        .map_err(|e| AppError::Conflict(e.to_string()))?;
    sqlx::query("UPDATE policies SET status = $1, version = version + 1, updated_at = $2 WHERE id = $3 AND version = $4")
        .bind(after.as_str())
        .bind(now_micros())
        .bind(id)
        .bind(version)
        .execute(&mut *tx)
        .await?;
    audit::append(
        &mut tx,
        context,
        AuditEvent {
            action: &format!("policy.{}", action.as_str()),
            entity_type: "policy",
            entity_id: Some(id),
            details: json!({ "before": { "status": before, "version": version }, "after": { "status": after, "version": version + 1 } }),
        },
    )
    .await?;
    tx.commit().await?;
    find(db, id)
        .await?
        .ok_or_else(|| AppError::NotFound("The policy".into()))
}

/// Changes to a quote's terms, as the API takes them: fields left out keep
/// their value.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct QuoteChanges {
    pub line: Option<String>,
    pub starts_on: Option<String>,
    pub ends_on: Option<String>,
    pub premium: Option<MoneyInput>,
    pub coverage_limit: Option<MoneyInput>,
    pub deductible: Option<MoneyInput>,
    /// An ISO 3166 code; left out or empty keeps the current one.
    pub jurisdiction: Option<String>,
}

/// Edits a quote. An issued policy's terms are fixed (changing them is an
/// endorsement, which Vanguard does not model yet), so anything but a
/// quote is a 409. The merged terms pass the same rules as a new policy.
pub async fn update_quote(
    db: &Db,
    context: &AuditContext,
    id: &str,
    changes: &QuoteChanges,
    expected_version: Option<i64>,
) -> Result<PolicyView, AppError> {
    let current = find(db, id)
        .await?
        .ok_or_else(|| AppError::NotFound("The policy".into()))?;
    AppError::check_version("policy", expected_version, current.version)?;
    if current.status != PolicyStatus::Quote {
        return Err(AppError::Conflict(format!(
            "Only a quote can be edited; this policy is {}.",
            current.status.label().to_lowercase()
        )));
    }
    let keep = |value: &Option<String>, current: &str| {
        value
            .clone()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| current.to_owned())
    };
    let merged = NewPolicyInput {
        customer_id: current.customer_id.clone(),
        line: keep(&changes.line, current.line.as_str()),
        starts_on: keep(&changes.starts_on, &current.starts_on),
        ends_on: keep(&changes.ends_on, &current.ends_on),
        premium: changes.premium.clone().unwrap_or(current.premium.into()),
        coverage_limit: changes
            .coverage_limit
            .clone()
            .unwrap_or(current.coverage_limit.into()),
        deductible: changes
            .deductible
            .clone()
            .unwrap_or(current.deductible.into()),
        jurisdiction: keep(
            &changes.jurisdiction,
            current.jurisdiction.as_deref().unwrap_or_default(),
        ),
    };
    let policy = NewPolicy::parse(&merged)?;
    let mut tx = db.begin_write().await?;
    let updated = sqlx::query(
        "UPDATE policies SET line = $1, starts_on = $2, ends_on = $3, currency = $4, premium = $5, \
         coverage_limit = $6, deductible = $7, version = version + 1, updated_at = $8, jurisdiction = $11 \
         WHERE id = $9 AND version = $10 AND status = 'quote'",
    )
    .bind(policy.line.as_str())
    .bind(policy.term.starts_on().to_string())
    .bind(policy.term.ends_on().to_string())
    .bind(policy.premium.currency.as_str())
    .bind(policy.premium.amount)
    .bind(policy.coverage_limit.amount)
    .bind(policy.deductible.amount)
    .bind(now_micros())
    .bind(id)
    .bind(current.version)
    .bind(policy.jurisdiction.as_ref().map(|j| j.as_str()))
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated == 0 {
        return Err(AppError::PreconditionFailed(
            "The policy changed while this was being saved; reload and try again.".into(),
        ));
    }
    audit::append(
        &mut tx,
        context,
        AuditEvent {
            action: "policy.updated",
            entity_type: "policy",
            entity_id: Some(id),
            details: json!({
                "before": { "line": current.line, "starts_on": current.starts_on, "ends_on": current.ends_on,
                    "premium": current.premium, "coverage_limit": current.coverage_limit,
                    "deductible": current.deductible, "jurisdiction": current.jurisdiction,
                    "version": current.version },
                "after": { "line": policy.line, "starts_on": policy.term.starts_on().to_string(),
                    "ends_on": policy.term.ends_on().to_string(), "premium": policy.premium,
                    "coverage_limit": policy.coverage_limit, "deductible": policy.deductible,
                    "jurisdiction": policy.jurisdiction, "version": current.version + 1 },
            }),
        },
    )
    .await?;
    tx.commit().await?;
    find(db, id)
        .await?
        .ok_or_else(|| AppError::NotFound("The policy".into()))
}

/// Issues the next term of an active or expired policy as a new quote.
pub async fn renew(db: &Db, context: &AuditContext, id: &str) -> Result<PolicyView, AppError> {
    let current = find(db, id)
        .await?
        .ok_or_else(|| AppError::NotFound("The policy".into()))?;
    let term = DateRange::parse(&current.starts_on, &current.ends_on)?;
    let next = current
        .status
        .renew(&term)
        .map_err(|e| AppError::Conflict(e.to_string()))?;
    let policy = NewPolicy {
        customer_id: current.customer_id.clone(),
        line: current.line,
        term: next,
        premium: current.premium,
        coverage_limit: current.coverage_limit,
        deductible: current.deductible,
        // The next term is written where this one was.
        jurisdiction: current
            .jurisdiction
            .as_deref()
            .map(|j| Jurisdiction::parse("jurisdiction", j))
            .transpose()
            .map_err(AppError::internal_message)?,
    };
    let counter = Numbers::yearly(db, "policy").await?;
    let mut tx = db.begin_write().await?;
    let renewed =
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM policies WHERE renewed_from = $1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
    if renewed > 0 {
        return Err(AppError::Conflict(
            "This policy was already renewed.".into(),
        ));
    }
    // The route checked the caller may see this policy; the renewal
    // inherits the customer's partner like any policy.
    let new_id = insert(&mut tx, &counter, context, &Scope::All, &policy, Some(id)).await?;
    tx.commit().await?;
    find(db, &new_id)
        .await?
        .ok_or_else(|| AppError::NotFound("The renewal".into()))
}

/// Counts, premium in force and the next expiries, for the dashboard.
pub async fn summary(db: &Db) -> Result<super::PolicySummary, AppError> {
    let mut by_status = Vec::new();
    for row in sqlx::query("SELECT status, COUNT(*) AS policies FROM policies GROUP BY status")
        .fetch_all(db.pool())
        .await?
    {
        let status: String = row.try_get("status")?;
        if let Ok(status) = PolicyStatus::parse("status", &status) {
            by_status.push((status, row.try_get::<i64, _>("policies")?));
        }
    }
    by_status.sort_by_key(|(status, _)| PolicyStatus::ALL.iter().position(|s| s == status));
    let mut premium_in_force = Vec::new();
    // SUM of a BIGINT is NUMERIC on PostgreSQL, which `Any` cannot decode.
    for row in sqlx::query(
        "SELECT currency, CAST(SUM(premium) AS BIGINT) AS premium FROM policies WHERE status = 'active' GROUP BY currency ORDER BY currency",
    )
    .fetch_all(db.pool())
    .await?
    {
        let currency = Currency::from_stored("currency", &row.try_get::<String, _>("currency")?)
            .map_err(AppError::internal_message)?;
        premium_in_force.push(Money {
            amount: row.try_get("premium")?,
            currency,
        });
    }
    let mut soon = Filter::default();
    expiring_within(&mut soon, super::EXPIRY_HORIZON_DAYS);
    let (rows, _) = soon
        .fetch_page(
            db,
            SELECT,
            "policies p",
            "p.ends_on, p.id",
            PageRequest::new(1, 5)?,
        )
        .await?;
    let expiring = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    Ok(super::PolicySummary {
        by_status,
        premium_in_force,
        expiring,
    })
}
