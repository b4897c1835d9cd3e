//! The JSON API, `/api/v1`: bearer tokens only (there is no session layer
//! on these routes, so a browser's cookie authenticates nothing here),
//! problem+json errors, a per-client rate limit.

pub mod activities;
pub mod audit;
pub mod auth;
pub mod claims;
pub mod customers;
pub mod error;
pub mod financials;
pub mod openapi;
pub mod policies;
pub mod problem;
pub mod webhooks;

use axum::{
    Json, Router,
    extract::{FromRequestParts, MatchedPath},
    http::{HeaderMap, header, request::Parts},
    routing::{get, post},
};
use serde_json::json;

use app::{
    audit::ssr::AuditContext,
    auth::ssr::{self as auth_ssr, Principal, throttle::Decision},
    error::AppError,
    request::{CallerSlot, RequestMeta},
    state::AppState,
    tenancy::{self, Owned, Scope},
};
use shared::auth::Permission;

pub use self::{error::ApiError, problem::is_api_path};

/// The API's own routes. Attachments' API routes live with their browser
/// routes in [`crate::attachments`] (which builds on this module) and are
/// merged beside these in [`crate::startup::router`].
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/auth/token", post(auth::token))
        .route("/api/v1/me", get(me))
        .merge(customers::routes())
        .merge(policies::routes())
        .merge(claims::routes())
        .merge(financials::routes())
        .merge(activities::routes())
        .merge(webhooks::routes())
        .merge(audit::routes())
        .merge(openapi::routes())
        .merge(problem::fallback_routes())
}

/// An authenticated API caller: a valid bearer access token whose subject
/// still exists and is active, within its rate limit.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal: Principal,
    pub meta: RequestMeta,
    /// `METHOD /path/{template}`: what a `tenancy.denied` record names.
    pub route: String,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer_token(&parts.headers).ok_or(AppError::Unauthenticated)?;
        let principal = auth_ssr::resolve_bearer(state.accounts(), token)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        CallerSlot::record(&parts.extensions, principal.kind.as_str(), &principal.id);
        let bucket = format!("api:{}", principal.id);
        if let Decision::Limited { retry_after } =
            state.auth.api_limiter.hit(&bucket, state.auth.api_limit)
        {
            return Err(AppError::RateLimited(retry_after.as_secs()).into());
        }
        let template = parts
            .extensions
            .get::<MatchedPath>()
            .map_or_else(|| parts.uri.path().to_owned(), |m| m.as_str().to_owned());
        Ok(Self {
            principal,
            meta: RequestMeta::from_extensions(&parts.extensions),
            route: format!("{} {template}", parts.method),
        })
    }
}

/// The token of an `Authorization: Bearer <token>` header. The scheme is
/// case-insensitive (RFC 9110 section 11.1): `BEARER` and `bearer` are the
/// same scheme, and partners' HTTP stacks send all three spellings.
pub fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim_start().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The request's correlation id and client address.
#[derive(Debug, Clone)]
pub struct Meta(pub RequestMeta);

impl<S: Send + Sync> FromRequestParts<S> for Meta {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(RequestMeta::from_extensions(&parts.extensions)))
    }
}

impl Caller {
    /// The permission check of every API route (audits refusals).
    pub async fn require(&self, state: &AppState, permission: Permission) -> Result<(), ApiError> {
        auth_ssr::require(&state.db, Some(&self.principal), permission, &self.meta).await?;
        Ok(())
    }

    /// Whose records the caller sees.
    pub fn scope(&self) -> &Scope {
        &self.principal.scope
    }

    /// The tenancy check of every by-id route, after its permission check:
    /// a record outside the caller's organisation is a 404 (audited).
    pub async fn guard(&self, state: &AppState, entity: Owned, id: &str) -> Result<(), ApiError> {
        let context = auth_ssr::audit_context(Some(&self.principal), &self.meta);
        tenancy::guard(&state.db, self.scope(), &context, entity, id, &self.route).await?;
        Ok(())
    }

    /// The audit context of the caller's request.
    pub fn context(&self) -> AuditContext {
        auth_ssr::audit_context(Some(&self.principal), &self.meta)
    }

    /// A change to claim `id`, checked in this order: the permission, that
    /// the caller may see the claim (so nothing is decoded for a caller who
    /// may not make it), then the JSON body and `If-Match`.
    pub async fn claim_change<B: serde::de::DeserializeOwned>(
        &self,
        state: &AppState,
        permission: Permission,
        id: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<ClaimChange<B>, ApiError> {
        self.require(state, permission).await?;
        self.guard(state, Owned::Claim, id).await?;
        Ok(ClaimChange {
            body: json_body(body)?,
            expected: if_match(headers, "claim")?,
            context: self.context(),
        })
    }
}

/// A claim change as [`Caller::claim_change`] checked it.
pub struct ClaimChange<B> {
    pub body: B,
    /// The version `If-Match` names, if any.
    pub expected: Option<i64>,
    pub context: AuditContext,
}

/// Who the token belongs to: lets a partner check its credentials.
async fn me(caller: Caller) -> Json<serde_json::Value> {
    let principal = caller.principal;
    Json(json!({
        "id": principal.id,
        "kind": principal.kind,
        "name": principal.name,
        "role": principal.role,
        "scope": principal.scope,
        "permissions": Permission::ALL
            .into_iter()
            .filter(|p| principal.can(*p))
            .collect::<Vec<_>>(),
    }))
}

/// A JSON body, or a 422 naming `body` and what was wrong with it.
pub fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|error| {
        AppError::from(shared::FieldErrors::from(shared::FieldError::new(
            "body",
            format!("must be a JSON object of the documented shape ({error})"),
        )))
        .into()
    })
}

/// The `Idempotency-Key` header: 1 to 255 visible ASCII characters.
pub fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    match value.to_str() {
        Ok(key) if (1..=255).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic()) => {
            Ok(Some(key.to_owned()))
        }
        _ => Err(shared::FieldErrors::from(shared::FieldError::new(
            "Idempotency-Key",
            "must be 1 to 255 visible ASCII characters",
        ))
        .into()),
    }
}

/// The `If-Match` of an update: `None` when absent, 422 when it is not an
/// ETag we issued (`"v3"`).
pub fn if_match(headers: &HeaderMap, entity: &str) -> Result<Option<i64>, ApiError> {
    match headers
        .get(header::IF_MATCH)
        .map(|v| v.to_str().ok().and_then(app::encoding::parse_etag))
    {
        None => Ok(None),
        Some(Some(version)) => Ok(Some(version)),
        Some(None) => Err(
            AppError::from(shared::FieldErrors::from(shared::FieldError::new(
                "If-Match",
                format!("must be the ETag of the {entity}, e.g. \"v3\""),
            )))
            .into(),
        ),
    }
}
