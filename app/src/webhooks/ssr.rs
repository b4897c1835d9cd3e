//! Every SQL statement on webhook endpoints and deliveries, the signature,
//! and the HTTP client that sends them.
//!
//! A request carries:
//!
//! * `Vanguard-Event: claim.triaged` and `Vanguard-Event-Id: <id>` (the same
//!   for every retry and replay of one event: deduplicate on it);
//! * `Vanguard-Delivery: <id>` (this attempt, as the delivery log shows it);
//! * `Vanguard-Signature: t=<unix seconds>,v1=<hex>` where `v1` is
//!   HMAC-SHA256 keyed with the endpoint's `whsec_…` secret over
//!   `"<t>.<raw body>"`. Receivers recompute it, compare in constant time,
//!   and refuse a `t` more than five minutes old (replayed captures).

use std::time::{Duration, Instant};

use base64::Engine as _;
use hmac::{Hmac, Mac as _};
use serde_json::json;
use sha2::Sha256;
use shared::{
    FieldError, FieldErrors,
    webhook::{NewWebhook, WebhookEvent},
};
use sqlx::{Row as _, any::AnyRow};

use super::{
    CreatedWebhook, DeliveryView, WebhookEndpoint,
    target::{TargetPolicy, refusal},
};
use crate::{
    audit::ssr::{self as audit, AuditContext, AuditEvent},
    claims::ssr as claims,
    db::{Db, Filter, new_id, now_micros},
    error::AppError,
    state::AppState,
    tenancy::{self, Scope},
    vault::{WrappedKey, crypto::SecretKey},
};

/// How long one delivery may take before it counts as failed.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);
/// How old a signature's timestamp receivers should accept.
pub const SIGNATURE_TOLERANCE_SECONDS: i64 = 300;
/// Longest response excerpt kept in the log (receivers' error pages can be
/// large).
const ERROR_MAX_CHARS: usize = 300;

/// The outgoing HTTP client, built once (connection pool, TLS roots), and
/// the rules its targets follow ([`TargetPolicy`]).
#[derive(Debug, Clone)]
pub struct WebhookClient {
    http: reqwest::Client,
    policy: TargetPolicy,
}

impl WebhookClient {
    /// Redirects are not followed: a moved endpoint is an administrator's
    /// change to make, not something a receiver can do to Vanguard (nor a
    /// way round the address rules). No proxy: the resolver must see the
    /// target's name to check and pin its addresses.
    pub fn new(policy: TargetPolicy) -> Result<Self, AppError> {
        reqwest::Client::builder()
            .timeout(DELIVERY_TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(policy.clone())
            .user_agent(concat!("Vanguard-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map(|http| Self { http, policy })
            .map_err(|e| AppError::internal(&e))
    }

    /// The development allow-list (empty in production).
    pub fn allowed_hosts(&self) -> &[String] {
        self.policy.allowed()
    }
}

/// `t=<timestamp>,v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    format!(
        "t={timestamp},v1={}",
        crate::encoding::hex(&mac(secret, timestamp, body))
    )
}

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> Vec<u8> {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.as_bytes()) else {
        return Vec::new();
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize().into_bytes().to_vec()
}

/// What a receiver does with `Vanguard-Signature` (here for the tests and
/// as the reference the README points to): the timestamp is recent and the
/// MAC matches, compared in constant time.
pub fn verify(secret: &str, header: &str, body: &[u8], now_seconds: i64) -> bool {
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => candidates.push(value.to_owned()),
            _ => {}
        }
    }
    let Some(timestamp) = timestamp else {
        return false;
    };
    if (now_seconds - timestamp).abs() > SIGNATURE_TOLERANCE_SECONDS {
        return false;
    }
    let expected = mac(secret, timestamp, body);
    candidates.iter().any(|candidate| {
        use subtle::ConstantTimeEq as _;
        crate::encoding::from_hex(candidate)
            .is_some_and(|bytes| bool::from(bytes.as_slice().ct_eq(&expected)))
    })
}

/// The secret as administrators copy it: `whsec_` and the key in base64url.
fn secret_text(key: &SecretKey) -> String {
    format!(
        "whsec_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.expose())
    )
}

fn endpoint_from_row(row: &AnyRow) -> Result<WebhookEndpoint, sqlx::Error> {
    Ok(WebhookEndpoint {
        id: row.try_get("id")?,
        url: row.try_get("url")?,
        description: row.try_get("description")?,
        events: row
            .try_get::<String, _>("events")?
            .split(',')
            .map(str::to_owned)
            .collect(),
        active: row.try_get::<i64, _>("active")? == 1,
        partner_id: row.try_get("partner_id")?,
        created_at: row.try_get("created_at")?,
    })
}

const ENDPOINT_COLUMNS: &str = "SELECT id, url, description, events, active, partner_id, created_at, kek_id, wrapped_secret FROM webhook_endpoints";

/// Most endpoints listed (an installation has a handful).
const ENDPOINTS_MAX: i64 = 1_000;

/// The endpoints `scope` may see: a partner's own only.
pub async fn list_endpoints(db: &Db, scope: &Scope) -> Result<Vec<WebhookEndpoint>, AppError> {
    let mut filter = Filter::default();
    tenancy::restrict(&mut filter, scope, "partner_id");
    Ok(filter
        .fetch_all(
            db,
            ENDPOINT_COLUMNS,
            "active DESC, created_at",
            ENDPOINTS_MAX,
        )
        .await?
        .iter()
        .map(endpoint_from_row)
        .collect::<Result<_, _>>()?)
}

/// Registers an endpoint for every event; its secret is returned once and
/// stored only wrapped by the vault's master key. With `partner` (an id or
/// slug) it receives only events about that partner's claims; without, it
/// is the insurer's own and receives every event.
pub async fn create(
    state: &AppState,
    context: &AuditContext,
    url: &str,
    description: &str,
    partner: Option<&str>,
) -> Result<CreatedWebhook, AppError> {
    let new = NewWebhook::parse(url, description, state.webhooks.allowed_hosts())?;
    let partner_id = match partner.map(str::trim).filter(|p| !p.is_empty()) {
        None => None,
        Some(partner) => Some(
            crate::auth::ssr::partners::find(state.db.pool(), partner)
                .await?
                .ok_or_else(|| {
                    FieldErrors::from(FieldError::new("partner", "must name an existing partner"))
                })?
                .id,
        ),
    };
    state
        .webhooks
        .policy
        .check_registration(&new.url)
        .await
        .map_err(|rule| FieldErrors::from(FieldError::new("url", rule)))?;
    let id = new_id();
    let key = SecretKey::generate().map_err(|e| AppError::internal(&e))?;
    let wrapped = state
        .vault
        .wrap_owned("webhook_endpoints", &id, &key)
        .map_err(|e| AppError::internal(&e))?;
    let events = WebhookEvent::ALL.map(WebhookEvent::as_str).join(",");
    let now = now_micros();
    let mut tx = state.db.begin_write().await?;
    sqlx::query(
        "INSERT INTO webhook_endpoints (id, url, description, events, kek_id, wrapped_secret, active, created_by, \
         created_at, updated_at, partner_id) VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8, $8, $9)",
    )
    .bind(&id)
    .bind(&new.url)
    .bind(&new.description)
    .bind(&events)
    .bind(state.vault.primary_key_id())
    .bind(wrapped)
    .bind(context.actor.id())
    .bind(now)
    .bind(&partner_id)
    .execute(&mut *tx)
    .await?;
    audit::append(
        &mut tx,
        context,
        AuditEvent {
            action: "webhook.created",
            entity_type: "webhook_endpoint",
            entity_id: Some(&id),
            details: json!({ "url": new.url, "events": events, "partner_id": partner_id }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(CreatedWebhook {
        endpoint: WebhookEndpoint {
            id,
            url: new.url,
            description: new.description,
            events: events.split(',').map(str::to_owned).collect(),
            active: true,
            partner_id,
            created_at: now,
        },
        secret: secret_text(&key),
    })
}

/// Stops sending to an endpoint; its log stays.
pub async fn disable(db: &Db, context: &AuditContext, id: &str) -> Result<(), AppError> {
    let mut tx = db.begin_write().await?;
    let updated = sqlx::query(
        "UPDATE webhook_endpoints SET active = 0, updated_at = $1 WHERE id = $2 AND active = 1",
    )
    .bind(now_micros())
    .bind(id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if updated == 0 {
        let exists = sqlx::query("SELECT id FROM webhook_endpoints WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        return match exists {
            None => Err(AppError::NotFound("The webhook endpoint".into())),
            Some(_) => Ok(()),
        };
    }
    audit::append(
        &mut tx,
        context,
        AuditEvent {
            action: "webhook.disabled",
            entity_type: "webhook_endpoint",
            entity_id: Some(id),
            details: json!({}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

const DELIVERY_COLUMNS: &str = "SELECT d.id, d.endpoint_id, e.url, d.event, d.event_id, d.claim_id, d.cause, d.outcome, \
     d.response_status, d.error, d.duration_ms, d.created_at FROM webhook_deliveries d \
     JOIN webhook_endpoints e ON e.id = d.endpoint_id";

fn delivery_from_row(row: &AnyRow) -> Result<DeliveryView, sqlx::Error> {
    Ok(DeliveryView {
        id: row.try_get("id")?,
        endpoint_id: row.try_get("endpoint_id")?,
        url: row.try_get("url")?,
        event: row.try_get("event")?,
        event_id: row.try_get("event_id")?,
        claim_id: row.try_get("claim_id")?,
        cause: row.try_get("cause")?,
        outcome: row.try_get("outcome")?,
        response_status: row.try_get("response_status")?,
        error: row.try_get("error")?,
        duration_ms: row.try_get("duration_ms")?,
        created_at: row.try_get("created_at")?,
    })
}

/// The delivery log, newest first, for one endpoint or all, of the
/// endpoints `scope` may see.
pub async fn deliveries(
    db: &Db,
    scope: &Scope,
    endpoint_id: Option<&str>,
    limit: i64,
) -> Result<Vec<DeliveryView>, AppError> {
    let mut filter = Filter::default();
    if let Some(endpoint) = endpoint_id {
        filter.equals("d.endpoint_id", endpoint.to_owned());
    }
    tenancy::restrict(&mut filter, scope, "e.partner_id");
    Ok(filter
        .fetch_all(db, DELIVERY_COLUMNS, "d.created_at DESC, d.id", limit)
        .await?
        .iter()
        .map(delivery_from_row)
        .collect::<Result<_, _>>()?)
}

/// An endpoint with its unwrapped secret, ready to send to.
struct Target {
    id: String,
    url: String,
    secret: String,
}

fn target(state: &AppState, row: &AnyRow) -> Result<Target, AppError> {
    let id: String = row.try_get("id")?;
    let wrapped = WrappedKey {
        kek_id: row.try_get("kek_id")?,
        wrapped: row.try_get("wrapped_secret")?,
    };
    let key = state
        .vault
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
    state: &AppState,
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
    let sent = match state.webhooks.policy.check_url(&target.url) {
        Err(refused) => Err(NotSent::Refused(refused)),
        Ok(()) => state
            .webhooks
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
    let mut tx = state.db.begin_write().await?;
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
    Refused(super::target::TargetRefused),
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
    state: &AppState,
    events: &[(&str, &str)],
) -> Result<Vec<Result<Result<(), String>, AppError>>, AppError> {
    let kind = WebhookEvent::ClaimTriaged;
    let endpoints: Vec<(Option<String>, Result<Target, String>)> = sqlx::query(&format!(
        "{ENDPOINT_COLUMNS} WHERE active = 1 ORDER BY created_at"
    ))
    .fetch_all(state.db.pool())
    .await?
    .iter()
    .filter(|row| {
        row.try_get::<String, _>("events")
            .is_ok_and(|events| events.split(',').any(|e| e == kind.as_str()))
    })
    .map(|row| {
        Ok((
            row.try_get("partner_id")?,
            target(state, row).map_err(|e| e.cause()),
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
        .fetch_all(state.db.pool())
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
            Ok(targets) => notify_one(state, kind, event_id, claim_id, &targets).await,
            Err(error) => Err(error),
        });
    }
    Ok(results)
}

/// One event of [`notify_claims_triaged`] to its endpoints.
async fn notify_one(
    state: &AppState,
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
    .fetch_all(state.db.pool())
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
        None => claim_payload(state, kind, event_id, claim_id).await?,
    };
    let event = Event {
        kind,
        id: event_id,
        claim_id: Some(claim_id),
        payload: &payload,
    };
    let mut failures = Vec::new();
    for target in targets.iter().filter(|t| !done.contains(&t.id)) {
        let delivery = deliver(state, target, &event, "pipeline", None).await?;
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
    state: &AppState,
    kind: WebhookEvent,
    event_id: &str,
    claim_id: &str,
) -> Result<String, AppError> {
    let claim = claims::find(state, claim_id)
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
    state: &AppState,
    context: &AuditContext,
    delivery_id: &str,
) -> Result<DeliveryView, AppError> {
    let row = sqlx::query(
        "SELECT d.event, d.event_id, d.claim_id, d.payload, e.id, e.url, e.active, e.kek_id, e.wrapped_secret \
         FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id WHERE d.id = $1",
    )
    .bind(delivery_id)
    .fetch_optional(state.db.pool())
    .await?
    .ok_or_else(|| AppError::NotFound("The delivery".into()))?;
    if row.try_get::<i64, _>("active")? != 1 {
        return Err(AppError::Conflict(
            "The endpoint is disabled; register it again to send to it.".into(),
        ));
    }
    let kind = WebhookEvent::parse("event", &row.try_get::<String, _>("event")?)
        .map_err(|e| AppError::from(FieldErrors::from(FieldError::new("event", e.message))))?;
    let target = target(state, &row)?;
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
    let delivery = deliver(state, &target, &event, "replay", context.actor.id()).await?;
    let mut tx = state.db.begin_write().await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_with_its_secret_only_and_only_while_fresh() {
        let body = br#"{"id":"e1","type":"claim.triaged"}"#;
        let header = signature("whsec_abc", 1_700_000_000, body);
        assert!(header.starts_with("t=1700000000,v1="));
        assert!(verify("whsec_abc", &header, body, 1_700_000_100));
        assert!(!verify("whsec_other", &header, body, 1_700_000_100));
        assert!(!verify("whsec_abc", &header, b"{}", 1_700_000_100));
        assert!(!verify("whsec_abc", &header, body, 1_700_000_000 + 301));
        assert!(!verify("whsec_abc", "v1=deadbeef", body, 1_700_000_000));
    }

    #[test]
    fn the_signature_is_hmac_sha256_over_timestamp_dot_body() {
        // The known answer of `printf '1.body' | openssl dgst -sha256 -hmac key`.
        let header = signature("key", 1, b"body");
        assert_eq!(
            header,
            "t=1,v1=91b5374b153842ad05b2c4eab9349b8321b14703165bd3fb8b034dfb8be98ae5"
        );
    }
}
