//! The activities' SQL. Adding one bumps the claim's version (a stale page
//! or `If-Match` gets 412); completing one takes the claim's row too, so a
//! close and a completion on one claim run one after the other.

use serde::Deserialize;
use serde_json::json;
use shared::{
    FieldError, FieldErrors,
    activity::{ActivityInput, NewActivity, due_in_words},
    claim::Priority,
    dates::Date,
};
use sqlx::AnyConnection;

use super::ActivityView;
use crate::{
    audit::ssr::AuditContext,
    auth::ssr::Principal,
    claims::ssr::{bump_version, record_claim_event as record},
    clock::today,
    db::{Db, new_id, now_micros},
    error::AppError,
};

/// `(key, expression)` pairs of an activity, over `claim_activities a`
/// joined to `users u` (its owner) and `claims cl`.
pub fn json_fields() -> Vec<(String, String)> {
    [
        ("id", "a.id"),
        ("claim_id", "a.claim_id"),
        ("claim_number", "cl.claim_number"),
        ("subject", "a.subject"),
        ("due_on", "a.due_on"),
        ("priority", "a.priority"),
        ("owner_id", "a.owner_id"),
        ("owner_name", "u.display_name"),
        ("status", "a.status"),
        ("completed_by_name", "a.completed_by_name"),
        ("completed_at", "a.completed_at"),
        ("created_at", "a.created_at"),
    ]
    .into_iter()
    .map(|(key, expr)| (key.to_owned(), expr.to_owned()))
    .collect()
}

/// An activity as stored, with its claim's number and its owner's name.
#[derive(Debug, Deserialize, sqlx::FromRow)]
pub struct StoredActivity {
    id: String,
    claim_id: String,
    claim_number: String,
    subject: String,
    due_on: String,
    priority: String,
    owner_id: String,
    owner_name: Option<String>,
    status: String,
    completed_by_name: Option<String>,
    completed_at: Option<i64>,
    created_at: i64,
}

impl StoredActivity {
    /// With its due date in words as of `today`.
    pub fn into_view(self, today: Date) -> Result<ActivityView, sqlx::Error> {
        let decode = |e: FieldError| sqlx::Error::Decode(e.to_string().into());
        let due_on = Date::parse("due_on", &self.due_on).map_err(decode)?;
        let open = self.status == "open";
        Ok(ActivityView {
            due: if open {
                due_in_words(due_on, today)
            } else {
                "done".to_owned()
            },
            overdue: open && due_on.days_since(today) < 0,
            priority: Priority::parse("priority", &self.priority).map_err(decode)?,
            id: self.id,
            claim_id: self.claim_id,
            claim_number: self.claim_number,
            subject: self.subject,
            due_on: self.due_on,
            owner_id: self.owner_id,
            owner_name: self.owner_name.unwrap_or_else(|| "A former user".into()),
            status: self.status,
            completed_by: self.completed_by_name,
            completed_at: self.completed_at,
            created_at: self.created_at,
        })
    }
}

fn select() -> String {
    let fields = json_fields()
        .into_iter()
        .map(|(key, expr)| format!("{expr} AS {key}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "SELECT {fields} FROM claim_activities a JOIN claims cl ON cl.id = a.claim_id \
         LEFT JOIN users u ON u.id = a.owner_id"
    )
}

async fn one(conn: &mut AnyConnection, id: &str) -> Result<ActivityView, AppError> {
    let stored = sqlx::query_as::<_, StoredActivity>(&format!("{} WHERE a.id = $1", select()))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| AppError::NotFound("The activity".into()))?;
    Ok(stored.into_view(today())?)
}

/// Adds an activity to an open claim (`claim.activity_added`).
pub async fn add(
    db: &Db,
    context: &AuditContext,
    principal: &Principal,
    claim_id: &str,
    input: &ActivityInput,
    expected: Option<i64>,
) -> Result<ActivityView, AppError> {
    let activity = NewActivity::parse(input, today())?;
    let mut tx = db.begin_write().await?;
    bump_version(&mut tx, claim_id, expected).await?;
    let status: String = sqlx::query_scalar("SELECT status FROM claims WHERE id = $1")
        .bind(claim_id)
        .fetch_one(&mut *tx)
        .await?;
    if status == "closed" {
        return Err(AppError::Conflict(
            "The claim is closed; reopen it to plan more work.".into(),
        ));
    }
    let owner = activity.owner_id.as_deref().unwrap_or(&principal.id);
    let known: Option<String> =
        sqlx::query_scalar("SELECT id FROM users WHERE id = $1 AND active = 1")
            .bind(owner)
            .fetch_optional(&mut *tx)
            .await?;
    if known.is_none() {
        return Err(FieldErrors::from(FieldError::new("owner_id", "is not an active user")).into());
    }
    let id = new_id();
    sqlx::query(
        "INSERT INTO claim_activities (id, claim_id, subject, due_on, priority, owner_id, status, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'open', $7, $8)",
    )
    .bind(&id)
    .bind(claim_id)
    .bind(&activity.subject)
    .bind(activity.due_on.to_string())
    .bind(activity.priority.as_str())
    .bind(owner)
    .bind(&principal.id)
    .bind(now_micros())
    .execute(&mut *tx)
    .await?;
    let view = one(&mut tx, &id).await?;
    let details = json!({
        "activity": id,
        "owner_id": owner,
        "due_on": view.due_on,
        "summary": format!("{} for {}, {}", view.subject, view.owner_name, view.due),
    });
    record(&mut tx, context, claim_id, "claim.activity_added", details).await?;
    tx.commit().await?;
    Ok(view)
}

/// Marks activity `activity_id` of the claim done
/// (`claim.activity_completed`).
pub async fn complete(
    db: &Db,
    context: &AuditContext,
    principal: &Principal,
    (claim_id, activity_id): (&str, &str),
) -> Result<ActivityView, AppError> {
    let mut tx = db.begin_write().await?;
    bump_version(&mut tx, claim_id, None).await?;
    let done = sqlx::query(
        "UPDATE claim_activities SET status = 'done', completed_by = $1, completed_by_name = $2, completed_at = $3 \
         WHERE id = $4 AND claim_id = $5 AND status = 'open'",
    )
    .bind(&principal.id)
    .bind(&principal.name)
    .bind(now_micros())
    .bind(activity_id)
    .bind(claim_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    let view = one(&mut tx, activity_id).await?;
    if view.claim_id != claim_id {
        return Err(AppError::NotFound("The activity".into()));
    }
    if done == 0 {
        return Err(AppError::Conflict("This activity is already done.".into()));
    }
    let details = json!({ "activity": activity_id, "summary": format!("Done: {}", view.subject) });
    record(
        &mut tx,
        context,
        claim_id,
        "claim.activity_completed",
        details,
    )
    .await?;
    tx.commit().await?;
    Ok(view)
}

/// `user_id`'s open activities, soonest due (most overdue) first; at most
/// 200.
pub async fn my_work(db: &Db, user_id: &str) -> Result<Vec<ActivityView>, AppError> {
    let rows = sqlx::query_as::<_, StoredActivity>(&format!(
        "{} WHERE a.owner_id = $1 AND a.status = 'open' ORDER BY a.due_on, a.id LIMIT 200",
        select()
    ))
    .bind(user_id)
    .fetch_all(db.pool())
    .await?;
    let today = today();
    Ok(rows
        .into_iter()
        .map(|row| row.into_view(today))
        .collect::<Result<_, _>>()?)
}

/// The claim's activities, oldest first (the API's list).
pub async fn of_claim(db: &Db, claim_id: &str) -> Result<Vec<ActivityView>, AppError> {
    let rows = sqlx::query_as::<_, StoredActivity>(&format!(
        "{} WHERE a.claim_id = $1 ORDER BY a.created_at, a.id",
        select()
    ))
    .bind(claim_id)
    .fetch_all(db.pool())
    .await?;
    let today = today();
    Ok(rows
        .into_iter()
        .map(|row| row.into_view(today))
        .collect::<Result<_, _>>()?)
}

/// What stops the claim from closing on the work side: its open
/// activities, named.
pub async fn close_blocker(
    conn: &mut AnyConnection,
    claim_id: &str,
) -> Result<Option<String>, AppError> {
    let open: Vec<String> = sqlx::query_scalar(
        "SELECT subject FROM claim_activities WHERE claim_id = $1 AND status = 'open' ORDER BY due_on, id",
    )
    .bind(claim_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok((!open.is_empty()).then(|| {
        format!(
            "The claim has open activities ({}); complete them before closing.",
            open.join(", ")
        )
    }))
}
