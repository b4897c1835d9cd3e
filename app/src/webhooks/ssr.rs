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

use std::time::Duration;

use base64::Engine as _;
use hmac::{Hmac, Mac as _};
use serde_json::json;
use sha2::Sha256;
use shared::{
    FieldError, FieldErrors,
    webhook::{NewWebhook, WebhookEvent},
};
use sqlx::{FromRow as _, Row as _, any::AnyRow};

use super::{CreatedWebhook, DeliveryView, WebhookEndpoint, target::TargetPolicy};
use crate::{
    audit::ssr::{self as audit, AuditContext, AuditEvent},
    db::{Db, Filter, new_id, now_micros},
    error::AppError,
    tenancy::{self, Scope},
    vault::{Vault, crypto::SecretKey},
};

mod delivery;

pub use self::delivery::{notify_claims_triaged, replay};

/// How long one delivery may take before it counts as failed.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(10);
/// How old a signature's timestamp receivers should accept.
pub const SIGNATURE_TOLERANCE_SECONDS: i64 = 300;
/// Longest response excerpt kept in the log (receivers' error pages can be
/// large).
const ERROR_MAX_CHARS: usize = 300;

/// What the webhook services run on, borrowed from the server state: the
/// database (endpoints and the delivery log), the vault that wraps each
/// endpoint's secret, and the outgoing HTTP client.
#[derive(Debug, Clone, Copy)]
pub struct Webhooks<'a> {
    pub db: &'a Db,
    pub vault: &'a Vault,
    pub client: &'a WebhookClient,
}

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
    webhooks: Webhooks<'_>,
    context: &AuditContext,
    url: &str,
    description: &str,
    partner: Option<&str>,
) -> Result<CreatedWebhook, AppError> {
    let new = NewWebhook::parse(url, description, webhooks.client.allowed_hosts())?;
    let partner_id = match partner.map(str::trim).filter(|p| !p.is_empty()) {
        None => None,
        Some(partner) => Some(
            crate::auth::ssr::partners::find(webhooks.db.pool(), partner)
                .await?
                .ok_or_else(|| {
                    FieldErrors::from(FieldError::new("partner", "must name an existing partner"))
                })?
                .id,
        ),
    };
    webhooks
        .client
        .policy
        .check_registration(&new.url)
        .await
        .map_err(|rule| FieldErrors::from(FieldError::new("url", rule)))?;
    let id = new_id();
    let key = SecretKey::generate().map_err(|e| AppError::internal(&e))?;
    let wrapped = webhooks
        .vault
        .wrap_owned("webhook_endpoints", &id, &key)
        .map_err(|e| AppError::internal(&e))?;
    let events = WebhookEvent::ALL.map(WebhookEvent::as_str).join(",");
    let now = now_micros();
    let mut tx = webhooks.db.begin_write().await?;
    sqlx::query(
        "INSERT INTO webhook_endpoints (id, url, description, events, kek_id, wrapped_secret, active, created_by, \
         created_at, updated_at, partner_id) VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8, $8, $9)",
    )
    .bind(&id)
    .bind(&new.url)
    .bind(&new.description)
    .bind(&events)
    .bind(webhooks.vault.primary_key_id())
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
        .map(DeliveryView::from_row)
        .collect::<Result<_, _>>()?)
}

#[cfg(test)]
mod tests;
