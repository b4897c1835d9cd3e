//! Administration: staff accounts (create, re-role, disable), partner
//! organisations, and API clients (issue for a partner or as internal,
//! with a secret shown once; revoke).

pub mod pages;
pub mod partner_pages;

use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use shared::{auth::Role, tenancy::PartnerView};

use crate::error::AppError;

/// A staff account as the Admin page lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub role: Role,
    pub active: bool,
    pub locked: bool,
    pub last_login_at: Option<i64>,
    /// A second factor is on.
    pub mfa_enabled: bool,
}

/// An API client as the Admin page lists it (never its secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiClientSummary {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub created_at: i64,
    pub revoked_at: Option<i64>,
    pub last_used_at: Option<i64>,
    /// The partner it belongs to (`None` for an internal client).
    pub partner_id: Option<String>,
    pub internal: bool,
}

/// A newly issued client: the only time its secret is visible.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedClient {
    pub client_id: String,
    pub client_secret: String,
    pub name: String,
}

#[server]
pub async fn list_users() -> Result<Vec<UserSummary>, AppError> {
    use crate::{auth::ssr::users, db::now_micros, server_call::serve};
    use shared::auth::Permission;
    serve(Permission::UsersManage, |call| async move {
        let state = &call.state;
        let now = now_micros();
        Ok(users::list(state.db.pool())
            .await?
            .into_iter()
            .map(|user| UserSummary {
                locked: user.is_locked(now),
                id: user.id,
                email: user.email,
                display_name: user.display_name,
                role: user.role,
                active: user.active,
                last_login_at: user.last_login_at,
                mfa_enabled: user.mfa_enabled,
            })
            .collect())
    })
    .await
}

#[server]
pub async fn create_user(
    email: String,
    display_name: String,
    role: String,
    password: String,
) -> Result<(), AppError> {
    use crate::{auth::ssr as auth, server_call::serve};
    use shared::auth::Permission;
    serve(Permission::UsersManage, |call| async move {
        let (state, context) = (&call.state, &call.context);
        auth::create_user(&state.db, context, &email, &display_name, &role, &password).await?;
        Ok(())
    })
    .await
}

/// `active` is a checkbox: present when ticked.
#[server]
pub async fn update_user(
    user_id: String,
    role: String,
    active: Option<String>,
) -> Result<(), AppError> {
    use crate::{auth::ssr as auth, server_call::serve};
    use shared::auth::Permission;
    serve(Permission::UsersManage, |call| async move {
        let (state, context) = (&call.state, &call.context);
        auth::update_user_access(&state.db, context, &user_id, &role, active.is_some()).await
    })
    .await
}

/// Removes a user's second factors (a lost phone) and ends their sessions;
/// audited as `auth.mfa_reset`. They enrol again at their next sign-in.
#[server]
pub async fn reset_user_mfa(user_id: String) -> Result<(), AppError> {
    use crate::{auth::ssr as auth, server_call::serve};
    use shared::auth::Permission;
    serve(Permission::UsersManage, |call| async move {
        let (state, context) = (&call.state, &call.context);
        auth::mfa::reset(&state.db, context, &user_id).await
    })
    .await
}

#[server]
pub async fn list_partners() -> Result<Vec<PartnerView>, AppError> {
    use crate::{auth::ssr::partners, server_call::serve};
    use shared::auth::Permission;
    serve(Permission::ApiClientsManage, |call| async move {
        let state = &call.state;
        Ok(partners::list(state.db.pool()).await?)
    })
    .await
}

/// `partner_name`, not `name`: the Admin page's client form already has a
/// `name` field, and field ids derive from names.
#[server]
pub async fn create_partner(
    slug: String,
    partner_name: String,
    kind: String,
) -> Result<PartnerView, AppError> {
    use crate::{auth::ssr as auth, server_call::serve};
    use shared::auth::Permission;
    serve(Permission::ApiClientsManage, |call| async move {
        let (state, admin, context) = (&call.state, &call.principal, &call.context);
        auth::create_partner(
            &state.db,
            context,
            &slug,
            &partner_name,
            &kind,
            Some(&admin.id),
        )
        .await
    })
    .await
}

/// Every API client, or one partner's (`partner`: its id or slug).
#[server]
pub async fn list_api_clients(partner: Option<String>) -> Result<Vec<ApiClientSummary>, AppError> {
    use crate::{auth::ssr::clients, server_call::serve};
    use shared::auth::Permission;
    serve(Permission::ApiClientsManage, |call| async move {
        let state = &call.state;
        let partner = match partner.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            None => None,
            Some(raw) => Some(
                crate::auth::ssr::partners::find(state.db.pool(), raw)
                    .await?
                    .ok_or_else(|| AppError::NotFound("The partner".into()))?
                    .id,
            ),
        };
        Ok(clients::list(state.db.pool(), partner.as_deref())
            .await?
            .into_iter()
            .map(|client| ApiClientSummary {
                id: client.id,
                name: client.name,
                role: client.role,
                created_at: client.created_at,
                revoked_at: client.revoked_at,
                last_used_at: client.last_used_at,
                partner_id: client.partner_id,
                internal: client.internal,
            })
            .collect())
    })
    .await
}

/// `partner` (id or slug) or `internal` (a checkbox: present means granted);
/// exactly one of them.
#[server]
pub async fn create_api_client(
    name: String,
    role: String,
    partner: Option<String>,
    internal: Option<String>,
) -> Result<IssuedClient, AppError> {
    use crate::{auth::ssr as auth, server_call::serve};
    use shared::auth::Permission;
    serve(Permission::ApiClientsManage, |call| async move {
        let (state, admin, context) = (&call.state, &call.principal, &call.context);
        let (client, secret) = auth::create_api_client(
            &state.db,
            context,
            &name,
            &role,
            partner.as_deref(),
            internal.is_some(),
            Some(&admin.id),
        )
        .await?;
        Ok(IssuedClient {
            client_id: client.id,
            client_secret: secret,
            name: client.name,
        })
    })
    .await
}

#[server]
pub async fn revoke_api_client(client_id: String) -> Result<(), AppError> {
    use crate::{auth::ssr as auth, server_call::serve};
    use shared::auth::Permission;
    serve(Permission::ApiClientsManage, |call| async move {
        let (state, context) = (&call.state, &call.context);
        auth::revoke_api_client(&state.db, context, &client_id).await
    })
    .await
}
