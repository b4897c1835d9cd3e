//! The SQL side of partner tenancy ([`shared::tenancy`]): the `WHERE` a
//! list adds for a scoped caller, and the guard every by-id route passes
//! before it reads or changes a record.
//!
//! Ownership is one column per table, `partner_id`, stamped when the record
//! is created and inherited downwards: a customer belongs to the partner
//! whose client created it, a policy to its customer's partner, a claim to
//! its policy's partner (so a claim staff file on a partner's policy is the
//! partner's too); attachments, executions, jobs and webhook deliveries
//! belong to their claim; a webhook endpoint to the partner it was
//! registered for, and its deliveries to it. `NULL` is the insurer's own
//! book.
//!
//! A record outside the caller's scope answers exactly like one that does
//! not exist (404, same message), so a partner cannot tell the two apart;
//! the attempt is audited as `tenancy.denied`.

use serde_json::json;
pub use shared::tenancy::Scope;

use crate::{
    audit::ssr::{self as audit, AuditContext, AuditEvent},
    db::{Db, Filter},
    error::AppError,
};

/// Adds the scope's condition on `column`, the `partner_id` of the listed
/// table: the filter runs in SQL, so counts and pages are the partner's.
pub fn restrict(filter: &mut Filter, scope: &Scope, column: &str) {
    if let Some(partner) = scope.partner() {
        filter.equals(column, partner.to_owned());
    }
}

/// Whether `row`, whose `partner_id` column is its owner, is visible under
/// `scope`; an owner that does not decode is visible to nobody scoped.
pub fn sees_row(scope: &Scope, row: &sqlx::any::AnyRow) -> bool {
    use sqlx::Row as _;
    scope.sees(
        row.try_get::<Option<String>, _>("partner_id")
            .ok()
            .flatten()
            .as_deref(),
    )
}

/// A kind of record that a by-id route names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owned {
    Customer,
    Policy,
    Claim,
    Execution,
    Job,
    WebhookEndpoint,
    WebhookDelivery,
}

impl Owned {
    pub fn as_str(self) -> &'static str {
        match self {
            Owned::Customer => "customer",
            Owned::Policy => "policy",
            Owned::Claim => "claim",
            Owned::Execution => "execution",
            Owned::Job => "job",
            Owned::WebhookEndpoint => "webhook_endpoint",
            Owned::WebhookDelivery => "webhook_delivery",
        }
    }

    /// The owner of one record: a primary-key read (plus one join on the
    /// claim's primary key for records that hang off a claim).
    fn owner_sql(self) -> &'static str {
        match self {
            Owned::Customer => "SELECT partner_id FROM customers WHERE id = $1",
            Owned::Policy => "SELECT partner_id FROM policies WHERE id = $1",
            Owned::Claim => "SELECT partner_id FROM claims WHERE id = $1",
            Owned::Execution => {
                "SELECT cl.partner_id FROM executions e JOIN claims cl ON cl.id = e.claim_id WHERE e.id = $1"
            }
            Owned::Job => {
                "SELECT cl.partner_id FROM jobs j JOIN claims cl ON cl.id = j.claim_id WHERE j.id = $1"
            }
            Owned::WebhookEndpoint => "SELECT partner_id FROM webhook_endpoints WHERE id = $1",
            // A delivery is its endpoint's: one to the insurer's own
            // endpoint is the insurer's, whichever claim it was about.
            Owned::WebhookDelivery => {
                "SELECT e.partner_id FROM webhook_deliveries d JOIN webhook_endpoints e ON e.id = d.endpoint_id WHERE d.id = $1"
            }
        }
    }

    /// The same answer as the route gives for an id that does not exist.
    pub fn not_found(self) -> AppError {
        AppError::NotFound(
            match self {
                Owned::Customer => "The customer",
                Owned::Policy => "The policy",
                Owned::Claim => "The claim",
                Owned::Execution => "The execution",
                Owned::Job => "The job",
                Owned::WebhookEndpoint => "The webhook endpoint",
                Owned::WebhookDelivery => "The delivery",
            }
            .into(),
        )
    }
}

/// Passes when `scope` may see record `id` of kind `entity`; otherwise the
/// route's own 404. A record that exists but belongs to someone else is
/// audited (`tenancy.denied`, with the route), so probing shows up in the
/// trail; the audit entry is filed under `tenancy`, not under the record,
/// so the owner's claim history does not list strangers' attempts.
pub async fn guard(
    db: &Db,
    scope: &Scope,
    context: &AuditContext,
    entity: Owned,
    id: &str,
    route: &str,
) -> Result<(), AppError> {
    let Some(partner) = scope.partner() else {
        return Ok(());
    };
    let owner = sqlx::query_scalar::<_, Option<String>>(entity.owner_sql())
        .bind(id)
        .fetch_optional(db.pool())
        .await?;
    match owner {
        None => Err(entity.not_found()),
        Some(owner) if owner.as_deref() == Some(partner) => Ok(()),
        Some(owner) => {
            tracing::warn!(entity = entity.as_str(), %id, %partner, route, "tenancy denied");
            audit::append_now(
                db,
                context,
                AuditEvent {
                    action: "tenancy.denied",
                    entity_type: "tenancy",
                    entity_id: Some(id),
                    details: json!({
                        "entity": entity.as_str(),
                        "route": route,
                        "partner_id": partner,
                        "owner_partner_id": owner,
                    }),
                },
            )
            .await?;
            Err(entity.not_found())
        }
    }
}
