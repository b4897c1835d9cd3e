//! Signed webhooks: endpoints partners register (through an administrator),
//! the pipeline's `notify` step that delivers `claim.triaged` to each of
//! them with an HMAC-SHA256 signature, the delivery log, and replay.
//!
//! Delivery is at least once: a step retried after a crash may deliver an
//! event again, with the same `Vanguard-Event-Id`, which receivers use to
//! ignore repeats. The services and SQL are in [`ssr`].

pub mod pages;
#[cfg(feature = "ssr")]
pub mod ssr;
#[cfg(feature = "ssr")]
pub mod target;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// A registered endpoint (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookEndpoint {
    pub id: String,
    pub url: String,
    pub description: String,
    pub events: Vec<String>,
    pub active: bool,
    /// The partner whose claims' events it receives; `None`: the
    /// insurer's own endpoint, which receives every event.
    pub partner_id: Option<String>,
    pub created_at: i64,
}

/// A new endpoint and its signing secret, shown once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedWebhook {
    #[serde(flatten)]
    pub endpoint: WebhookEndpoint,
    /// `whsec_…`: the HMAC key receivers verify `Vanguard-Signature` with.
    pub secret: String,
}

/// One attempt to deliver one event to one endpoint; on the server, also
/// the typed row of the delivery log (`ssr::DELIVERY_COLUMNS`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct DeliveryView {
    pub id: String,
    pub endpoint_id: String,
    pub url: String,
    pub event: String,
    pub event_id: String,
    pub claim_id: Option<String>,
    /// `pipeline` (the workflow's notify step) or `replay` (by an admin).
    pub cause: String,
    /// `delivered` (a 2xx answer) or `failed`.
    pub outcome: String,
    pub response_status: Option<i64>,
    pub error: Option<String>,
    pub duration_ms: i64,
    pub created_at: i64,
}

/// The admin view: endpoints and the latest deliveries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookOverview {
    pub endpoints: Vec<WebhookEndpoint>,
    pub deliveries: Vec<DeliveryView>,
    /// The development allow-list (`VANGUARD_WEBHOOK_ALLOW_HOSTS`), so the
    /// form's check agrees with the server's; empty in production.
    pub allowed_hosts: Vec<String>,
}

/// Deliveries the admin page lists.
pub const RECENT_DELIVERIES: i64 = 50;

#[server]
pub async fn get_webhooks() -> Result<WebhookOverview, AppError> {
    use crate::server_call::serve;
    use shared::auth::Permission;
    serve(Permission::OperationsManage, |call| async move {
        let state = &call.state;
        // Staff see every organisation's endpoints.
        let scope = crate::tenancy::Scope::All;
        Ok(WebhookOverview {
            endpoints: ssr::list_endpoints(&state.db, &scope).await?,
            deliveries: ssr::deliveries(&state.db, &scope, None, RECENT_DELIVERIES).await?,
            allowed_hosts: state.webhook_client.allowed_hosts().to_vec(),
        })
    })
    .await
}

#[server]
pub async fn create_webhook(
    url: String,
    description: String,
    partner: Option<String>,
) -> Result<CreatedWebhook, AppError> {
    use crate::server_call::serve;
    use shared::auth::Permission;
    serve(Permission::OperationsManage, |call| async move {
        ssr::create(
            call.state.webhooks(),
            &call.context,
            &url,
            &description,
            partner.as_deref(),
        )
        .await
    })
    .await
}

#[server]
pub async fn disable_webhook(id: String) -> Result<(), AppError> {
    use crate::server_call::serve;
    use shared::auth::Permission;
    serve(Permission::OperationsManage, |call| async move {
        ssr::disable(&call.state.db, &call.context, &id).await
    })
    .await
}

#[server]
pub async fn replay_delivery(id: String) -> Result<DeliveryView, AppError> {
    use crate::server_call::serve;
    use shared::auth::Permission;
    serve(Permission::OperationsManage, |call| async move {
        ssr::replay(call.state.webhooks(), &call.context, &id).await
    })
    .await
}
