//! Sending: one signed request per endpoint and event, every attempt in the
//! delivery log; the pipeline's `notify` step and staff replays.

use std::time::Instant;

use serde_json::json;
use shared::{FieldError, FieldErrors, webhook::WebhookEvent};
use sqlx::{Row as _, any::AnyRow};

use super::{ENDPOINT_COLUMNS, ERROR_MAX_CHARS, Webhooks, secret_text, signature};
use crate::{
    audit::ssr::{self as audit, AuditContext, AuditEvent},
    claims::ssr as claims,
    db::{new_id, now_micros},
    error::AppError,
    vault::{Vault, WrappedKey},
    webhooks::{
        DeliveryView,
        target::{TargetRefused, refusal},
    },
};

/// An endpoint with its unwrapped secret, ready to send to.
struct Target {
    id: String,
    url: String,
    secret: String,
}

fn target(vault: &Vault, row: &AnyRow) -> Result<Target, AppError> {
    let id: String = row.try_get("id")?;
    let wrapped = WrappedKey {
        kek_id: row.try_get("kek_id")?,
        wrapped: row.try_get("wrapped_secret")?,
    };
    let key = vault
        .unwrap_owned("webhook_endpoints", &id, &wrapped)
        .map_err(|e| AppError::internal(&e))?;
    Ok(Target {
        url: row.try_get("url")?,
        secret: secret_text(&key),
        id,
    })
}

/// One event to deliver.
struct Event<'a> {
    kind: WebhookEvent,
    id: &'a str,
    claim_id: Option<&'a str>,
    payload: &'a str,
}

/// Sends one signed request and records the attempt in the log.
async fn deliver(
    webhooks: Webhooks<'_>,
    target: &Target,
    event: &Event<'_>,
    cause: &str,
    created_by: Option<&str>,
) -> Result<DeliveryView, AppError> {
    let delivery_id = new_id();
    let timestamp = now_micros() / 1_000_000;
    let started = Instant::now();
    // A literal address is checked here (no DNS happens for it); a name is
    // checked and pinned by the client's resolver while connecting.
    let sent = match webhooks.client.policy.check_url(&target.url) {
        Err(refused) => Err(NotSent::Refused(refused)),
        Ok(()) => webhooks
            .client
            .http
            .post(&target.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("vanguard-event", event.kind.as_str())
            .header("vanguard-event-id", event.id)
            .header("vanguard-delivery", &delivery_id)
            .header(
                "vanguard-signature",
                signature(&target.secret, timestamp, event.payload.as_bytes()),
            )
            .body(event.payload.to_owned())
            .send()
            .await
            .map_err(NotSent::Sent),
    };
    let (status, error) = match sent {
        Ok(response) if response.status().is_success() => (Some(response.status().as_u16()), None),
        Ok(response) => {
            let status = response.status();
            let body: String = response
                .text()
                .await
                .unwrap_or_default()
                .chars()
                .take(ERROR_MAX_CHARS)
                .collect();
            let error = match body.trim() {
                "" => format!("HTTP {status}"),
                body => format!("HTTP {status}: {body}"),
            };
            (Some(status.as_u16()), Some(error))
        }
        Err(NotSent::Refused(refused)) => (None, Some(refused.to_string())),
        // Without the URL: reqwest's message repeats it.
        Err(NotSent::Sent(error)) => (None, Some(describe(&error))),
    };
    let duration_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    let outcome = if error.is_none() {
        "delivered"
    } else {
        "failed"
    };
    let now = now_micros();
    let mut tx = webhooks.db.begin_write().await?;
    sqlx::query(
        "INSERT INTO webhook_deliveries (id, endpoint_id, event, event_id, claim_id, payload, cause, outcome, \
         response_status, error, duration_ms, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(&delivery_id)
    .bind(&target.id)
    .bind(event.kind.as_str())
    .bind(event.id)
    .bind(event.claim_id)
    .bind(event.payload)
    .bind(cause)
    .bind(outcome)
    .bind(status.map(i64::from))
    .bind(&error)
    .bind(duration_ms)
    .bind(created_by)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    crate::metrics::global().webhook_delivered(outcome);
    Ok(DeliveryView {
        id: delivery_id,
        endpoint_id: target.id.clone(),
        url: target.url.clone(),
        event: event.kind.as_str().into(),
        event_id: event.id.into(),
        claim_id: event.claim_id.map(str::to_owned),
        cause: cause.into(),
        outcome: outcome.into(),
        response_status: status.map(i64::from),
        error,
        duration_ms,
        created_at: now,
    })
}

/// Why a request did not get an answer.
enum NotSent {
    Refused(TargetRefused),
    Sent(reqwest::Error),
}

fn describe(error: &reqwest::Error) -> String {
    if let Some(refused) = refusal(error) {
        return refused.to_string();
    }
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(error);
    let mut detail = String::new();
    while let Some(cause) = source {
        detail = cause.to_string();
        source = cause.source();
    }
    if detail.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {detail}")
    }
}

/// The workflow's `notify` step for a batch of `(event id, claim id)`:
/// `claim.triaged` to every active endpoint that has not had it yet, one
/// result per event in the order given. The endpoints are read (and their
/// secrets unwrapped) once for the whole batch, and with none registered
/// that read is all the step costs. The payload is fixed by the first
/// attempt and resent as stored, so every retry and replay carries the same
/// bytes. An inner `Err` names each endpoint that failed and how (what
/// staff see on the pipeline panel); that step is then retried with backoff.
pub async fn notify_claims_triaged(
    webhooks: Webhooks<'_>,
    events: &[(&str, &str)],
) -> Result<Vec<Result<Result<(), String>, AppError>>, AppError> {
    let kind = WebhookEvent::ClaimTriaged;
    let endpoints: Vec<(Option<String>, Result<Target, String>)> = sqlx::query(&format!(
        "{ENDPOINT_COLUMNS} WHERE active = 1 ORDER BY created_at"
    ))
    .fetch_all(webhooks.db.pool())
    .await?
    .iter()
    .filter(|row| {
        row.try_get::<String, _>("events")
            .is_ok_and(|events| events.split(',').any(|e| e == kind.as_str()))
    })
    .map(|row| {
        Ok((
            row.try_get("partner_id")?,
            target(webhooks.vault, row).map_err(|e| e.cause()),
        ))
    })
    .collect::<Result<_, sqlx::Error>>()?;
    if endpoints.is_empty() || events.is_empty() {
        return Ok(events.iter().map(|_| Ok(Ok(()))).collect());
    }
    let sql = format!(
        "SELECT id, partner_id FROM claims WHERE id IN ({})",
        crate::db::placeholders(1, events.len())
    );
    let mut select = sqlx::query(&sql);
    for (_, claim_id) in events {
        select = select.bind(*claim_id);
    }
    let partner_of: std::collections::HashMap<String, Option<String>> = select
        .fetch_all(webhooks.db.pool())
        .await?
        .iter()
        .map(|row| Ok((row.try_get("id")?, row.try_get("partner_id")?)))
        .collect::<Result<_, sqlx::Error>>()?;
    let mut results = Vec::with_capacity(events.len());
    for (event_id, claim_id) in events {
        // The insurer's own endpoints, and the claim's partner's: never
        // another partner's (their endpoints would learn of claims they may
        // not see).
        let partner = partner_of.get(*claim_id).cloned().flatten();
        let targets: Result<Vec<&Target>, AppError> = endpoints
            .iter()
            .filter(|(owner, _)| owner.is_none() || *owner == partner)
            .map(|(_, target)| target.as_ref().map_err(AppError::internal_message))
            .collect();
        results.push(match targets {
            Ok(targets) => notify_one(webhooks, kind, event_id, claim_id, &targets).await,
            Err(error) => Err(error),
        });
    }
    Ok(results)
}

/// One event of [`notify_claims_triaged`] to its endpoints.
async fn notify_one(
    webhooks: Webhooks<'_>,
    kind: WebhookEvent,
    event_id: &str,
    claim_id: &str,
    targets: &[&Target],
) -> Result<Result<(), String>, AppError> {
    if targets.is_empty() {
        return Ok(Ok(()));
    }
    // Earlier attempts at this event: who acknowledged it, and the bytes
    // every resend must repeat.
    let earlier = sqlx::query(
        "SELECT endpoint_id, outcome, payload FROM webhook_deliveries WHERE event_id = $1 ORDER BY created_at",
    )
    .bind(event_id)
    .fetch_all(webhooks.db.pool())
    .await?;
    let mut done = Vec::new();
    for row in &earlier {
        if row.try_get::<String, _>("outcome")? == "delivered" {
            done.push(row.try_get::<String, _>("endpoint_id")?);
        }
    }
    let stored: Option<String> = earlier
        .first()
        .map(|row| row.try_get("payload"))
        .transpose()?;
    let payload = match stored {
        Some(payload) => payload,
        None => claim_payload(webhooks, kind, event_id, claim_id).await?,
    };
    let event = Event {
        kind,
        id: event_id,
        claim_id: Some(claim_id),
        payload: &payload,
    };
    let mut failures = Vec::new();
    for target in targets.iter().filter(|t| !done.contains(&t.id)) {
        let delivery = deliver(webhooks, target, &event, "pipeline", None).await?;
        if let Some(error) = delivery.error {
            failures.push(format!("{}: {error}", target.url));
        }
    }
    Ok(if failures.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "webhook delivery failed for {} of {} endpoint(s): {}",
            failures.len(),
            targets.len(),
            failures.join("; ")
        ))
    })
}

/// The event body: what the claim looks like after triage, without
/// personal data (partners fetch more through the API if they may).
async fn claim_payload(
    webhooks: Webhooks<'_>,
    kind: WebhookEvent,
    event_id: &str,
    claim_id: &str,
) -> Result<String, AppError> {
    let claim = claims::find(webhooks.db, claim_id)
        .await?
        .ok_or_else(|| AppError::NotFound("The claim".into()))?;
    let occurred_at = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .map_err(|e| AppError::internal(&e))?;
    serde_json::to_string(&json!({
        "id": event_id,
        "type": kind.as_str(),
        "created_at": occurred_at,
        "data": {
            "claim_id": claim.id,
            "claim_number": claim.claim_number,
            "policy_number": claim.policy_number,
            "status": claim.status,
            "priority": claim.priority,
            "fraud_flags": claim.fraud_flags.iter().map(|f| f.code).collect::<Vec<_>>(),
            "total_claimed": claim.total_claimed,
            "incident_date": claim.incident_date,
        },
    }))
    .map_err(|e| AppError::internal(&e))
}

/// Sends a logged delivery again, now, to its endpoint (same event id and
/// body, a new signature); the new attempt joins the log.
pub async fn replay(
    webhooks: Webhooks<'_>,
    context: &AuditContext,
    delivery_id: &str,
) -> Result<DeliveryView, AppError> {
    let row = sqlx::query(
        "SELECT d.event, d.event_id, d.claim_id, d.payload, e.id, e.url, e.active, e.kek_id, e.wrapped_secret \
         FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id WHERE d.id = $1",
    )
    .bind(delivery_id)
    .fetch_optional(webhooks.db.pool())
    .await?
    .ok_or_else(|| AppError::NotFound("The delivery".into()))?;
    if row.try_get::<i64, _>("active")? != 1 {
        return Err(AppError::Conflict(
            "The endpoint is disabled; register it again to send to it.".into(),
        ));
    }
    let kind = WebhookEvent::parse("event", &row.try_get::<String, _>("event")?)
        .map_err(|e| AppError::from(FieldErrors::from(FieldError::new("event", e.message))))?;
    let target = target(webhooks.vault, &row)?;
    let (event_id, claim_id, payload): (String, Option<String>, String) = (
        row.try_get("event_id")?,
        row.try_get("claim_id")?,
        row.try_get("payload")?,
    );
    let event = Event {
        kind,
        id: &event_id,
        claim_id: claim_id.as_deref(),
        payload: &payload,
    };
    let delivery = deliver(webhooks, &target, &event, "replay", context.actor.id()).await?;
    let mut tx = webhooks.db.begin_write().await?;
    audit::append(
        &mut tx,
        context,
        AuditEvent {
            action: "webhook.replayed",
            entity_type: "webhook_endpoint",
            entity_id: Some(&target.id),
            details: json!({
                "replayed": delivery_id, "delivery_id": delivery.id, "event_id": event_id,
                "outcome": delivery.outcome, "response_status": delivery.response_status,
            }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(delivery)
}
