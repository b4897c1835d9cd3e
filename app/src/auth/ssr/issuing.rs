//! Issuing and revoking API clients, and creating the partner
//! organisations they belong to.

use serde_json::json;
use shared::{
    FieldError, FieldErrors,
    auth::Role,
    tenancy::{PartnerKind, PartnerView, parse_slug},
};

use super::{
    clients, partners,
    tokens::{self, SubjectKind},
};
use crate::{
    audit::ssr::{self as audit, AuditContext, AuditEvent},
    db::Db,
    error::AppError,
};

/// Issues an API client (Admin page and `server create-api-client`);
/// returns the record and the secret, shown once. A client belongs to
/// exactly one of: `partner` (id or slug; role `api_client` only, so a
/// partner can never hold an operator permission), or `internal`, which
/// sees every organisation's records and is audited as a grant.
pub async fn create_api_client(
    db: &Db,
    context: &AuditContext,
    name: &str,
    raw_role: &str,
    partner: Option<&str>,
    internal: bool,
    created_by: Option<&str>,
) -> Result<(clients::ApiClientRecord, String), AppError> {
    let mut errors = FieldErrors::new();
    let name = name.trim();
    if name.is_empty()
        || name.chars().count() > 80
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " -_.".contains(c))
    {
        errors.push(
            "name",
            "must be 1 to 80 letters, digits, spaces, dots, dashes or underscores",
        );
    }
    let role = errors.check(Role::parse("role", raw_role));
    let partner = partner.map(str::trim).filter(|p| !p.is_empty());
    let membership = match (partner, internal) {
        (Some(_), true) => {
            errors.push(
                "internal",
                "a client belongs to a partner or is internal, not both",
            );
            None
        }
        (None, false) => {
            errors.push(
                "partner",
                "choose the partner the client belongs to, or grant internal access explicitly",
            );
            None
        }
        (None, true) => Some(clients::Membership::Internal),
        (Some(partner), false) => match partners::find(db.pool(), partner).await? {
            Some(found) => Some(clients::Membership::Partner(found.id)),
            None => {
                errors.push("partner", "does not match any partner");
                None
            }
        },
    };
    if matches!(membership, Some(clients::Membership::Partner(_)))
        && role.is_some_and(|r| r != Role::ApiClient)
    {
        errors.push("role", "a partner's client must have the api_client role");
    }
    errors.clone().into_result()?;
    let (Some(role), Some(membership)) = (role, membership) else {
        return Err(errors.into());
    };

    let mut tx = db.begin_write().await?;
    let (client, secret) = clients::insert(&mut tx, name, role, &membership, created_by)
        .await
        .map_err(|e| AppError::on_unique(e, "name", "is already used by another API client"))?;
    audit::append(
        &mut tx,
        context,
        AuditEvent {
            action: "api_client.created",
            entity_type: "api_client",
            entity_id: Some(&client.id),
            details: json!({ "after": {
                "name": client.name, "role": role,
                "partner_id": client.partner_id, "internal": client.internal,
            } }),
        },
    )
    .await?;
    if client.internal {
        audit::append(
            &mut tx,
            context,
            AuditEvent {
                action: "api_client.internal_granted",
                entity_type: "api_client",
                entity_id: Some(&client.id),
                details: json!({ "name": client.name, "role": role }),
            },
        )
        .await?;
    }
    tx.commit().await?;
    Ok((client, secret))
}

/// Moves an API client to a partner (`server move-api-client`): from
/// internal (a client issued before tenancy, say) or another partner. It
/// then sees that partner's records only, from its next call on (the scope
/// is read with the client row on every bearer call). Audited as
/// `api_client.moved` with the partner and internal flag before and after.
pub async fn move_api_client(
    db: &Db,
    context: &AuditContext,
    client_id: &str,
    partner: &str,
) -> Result<clients::ApiClientRecord, AppError> {
    let partner = partners::find(db.pool(), partner.trim())
        .await?
        .ok_or_else(|| {
            FieldErrors::from(FieldError::new("partner", "does not match any partner"))
        })?;
    let mut tx = db.begin_write().await?;
    let client = clients::find(&mut *tx, client_id.trim())
        .await?
        .filter(|client| client.revoked_at.is_none())
        .ok_or_else(|| AppError::NotFound("The active API client".into()))?;
    if client.role != Role::ApiClient {
        return Err(FieldErrors::from(FieldError::new(
            "client",
            "a partner's client must have the api_client role; issue a new one",
        ))
        .into());
    }
    clients::set_partner(&mut tx, &client.id, &partner.id).await?;
    tx.identity_changed(&client.id).await?;
    audit::append(
        &mut tx,
        context,
        AuditEvent {
            action: "api_client.moved",
            entity_type: "api_client",
            entity_id: Some(&client.id),
            details: json!({
                "before": { "partner_id": client.partner_id, "internal": client.internal },
                "after": { "partner_id": partner.id, "internal": false },
            }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(clients::ApiClientRecord {
        partner_id: Some(partner.id),
        internal: false,
        ..client
    })
}

/// Creates a partner organisation (Admin page and `server create-partner`).
pub async fn create_partner(
    db: &Db,
    context: &AuditContext,
    raw_slug: &str,
    name: &str,
    raw_kind: &str,
    created_by: Option<&str>,
) -> Result<PartnerView, AppError> {
    let mut errors = FieldErrors::new();
    let slug = errors.check(parse_slug("slug", raw_slug));
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        errors.push("name", "must be 1 to 100 characters");
    }
    let kind = errors.check(PartnerKind::parse("kind", raw_kind));
    errors.clone().into_result()?;
    let (Some(slug), Some(kind)) = (slug, kind) else {
        return Err(errors.into());
    };
    let mut tx = db.begin_write().await?;
    let partner = partners::insert(&mut tx, &slug, name, kind, created_by)
        .await
        .map_err(|e| AppError::on_unique(e, "slug", "is already used by another partner"))?;
    audit::append(
        &mut tx,
        context,
        AuditEvent {
            action: "partner.created",
            entity_type: "partner",
            entity_id: Some(&partner.id),
            details: json!({ "after": { "slug": slug, "name": name, "kind": kind } }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(partner)
}

/// Revokes a client and every refresh token it holds; its access tokens
/// stop working on their next use ([`resolve_bearer`] checks).
pub async fn revoke_api_client(db: &Db, context: &AuditContext, id: &str) -> Result<(), AppError> {
    let mut tx = db.begin_write().await?;
    if !clients::revoke(&mut tx, id).await? {
        return Err(AppError::NotFound("The active API client".into()));
    }
    tokens::revoke_subject(&mut tx, SubjectKind::ApiClient, id).await?;
    tx.identity_changed(id).await?;
    audit::append(
        &mut tx,
        context,
        AuditEvent {
            action: "api_client.revoked",
            entity_type: "api_client",
            entity_id: Some(id),
            details: json!({}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
