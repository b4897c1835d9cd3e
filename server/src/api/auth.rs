//! `POST /api/v1/auth/token`: access and refresh tokens for the three grant
//! types. The body is JSON or `application/x-www-form-urlencoded` (what
//! OAuth 2 clients send).

use axum::{
    Json,
    body::Bytes,
    extract::State,
    http::{HeaderMap, header},
};
use serde::{Deserialize, Serialize};
use serde_json::json;

use app::{
    audit::ssr::{self as audit, AuditEvent},
    auth::ssr::{
        self as auth, Principal, clients,
        throttle::{self, Decision},
        tokens::{self, Redeemed, SubjectKind},
        users,
    },
    error::AppError,
    state::AppState,
};
use shared::{FieldError, FieldErrors};

use super::{ApiError, Meta};

#[derive(Debug, Default, Deserialize)]
pub struct TokenRequest {
    grant_type: Option<String>,
    username: Option<String>,
    password: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    refresh_token: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
    refresh_token: String,
}

fn parse_body(headers: &HeaderMap, body: &[u8]) -> Result<TokenRequest, AppError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if content_type.starts_with("application/x-www-form-urlencoded") {
        let mut request = TokenRequest::default();
        for (key, value) in url::form_urlencoded::parse(body) {
            let slot = match key.as_ref() {
                "grant_type" => &mut request.grant_type,
                "username" => &mut request.username,
                "password" => &mut request.password,
                "client_id" => &mut request.client_id,
                "client_secret" => &mut request.client_secret,
                "refresh_token" => &mut request.refresh_token,
                _ => continue,
            };
            *slot = Some(value.into_owned());
        }
        Ok(request)
    } else {
        serde_json::from_slice(body).map_err(|_| {
            FieldErrors::from(FieldError::new(
                "body",
                "must be a JSON object or a form-encoded body with a grant_type",
            ))
            .into()
        })
    }
}

fn required<'a>(value: &'a Option<String>, field: &str, errors: &mut FieldErrors) -> &'a str {
    match value.as_deref().map(str::trim) {
        Some(value) if !value.is_empty() => value,
        _ => {
            errors.push(field, "is required for this grant_type");
            ""
        }
    }
}

pub async fn token(
    State(state): State<AppState>,
    Meta(meta): Meta,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<TokenResponse>, ApiError> {
    let request = parse_body(&headers, &body)?;
    let mut errors = FieldErrors::new();
    let grant = request.grant_type.as_deref().unwrap_or_default().to_owned();
    let ttl = state.auth.refresh_token_ttl.as_secs();

    let (principal, session_epoch, family) = match grant.as_str() {
        "password" => {
            let username = required(&request.username, "username", &mut errors);
            let password = required(&request.password, "password", &mut errors);
            errors.clone().into_result().map_err(AppError::from)?;
            let outcome =
                auth::login_with_password(state.accounts(), username, password, &meta, "api")
                    .await?
                    .map_err(AppError::from)?;
            let user = match outcome {
                auth::PasswordOutcome::SignedIn(user) => user,
                // Checked after the password, so the answer tells nobody
                // without it whether the account has a second factor.
                auth::PasswordOutcome::NeedsCode(_) | auth::PasswordOutcome::NeedsEnrolment(_) => {
                    refuse(&state, &meta, "mfa_required").await?;
                    return Err(mfa_refusal().into());
                }
            };
            (Principal::user(&user), Some(user.session_epoch), None)
        }
        "client_credentials" => {
            let client_id = required(&request.client_id, "client_id", &mut errors);
            let secret = required(&request.client_secret, "client_secret", &mut errors);
            errors.clone().into_result().map_err(AppError::from)?;
            throttle_token_request(&state, &meta, Some(client_id)).await?;
            let Some(client) = clients::authenticate(state.db.pool(), client_id, secret).await?
            else {
                refuse(&state, &meta, "unknown_client_or_wrong_secret").await?;
                return Err(AppError::InvalidCredentials.into());
            };
            clients::touch(state.db.pool(), &client.id).await?;
            // A client with neither a partner nor an internal grant gets
            // no token (the same answer as a wrong secret).
            let Some(principal) = Principal::client(client) else {
                refuse(&state, &meta, "client_without_partner_or_internal_grant").await?;
                return Err(AppError::InvalidCredentials.into());
            };
            (principal, None, None)
        }
        "refresh_token" => {
            let token = required(&request.refresh_token, "refresh_token", &mut errors);
            errors.clone().into_result().map_err(AppError::from)?;
            throttle_token_request(&state, &meta, None).await?;
            match tokens::redeem_refresh(&state.db, token, ttl).await? {
                Redeemed::Rotated {
                    kind,
                    subject,
                    family,
                    successor,
                } => {
                    let Some((principal, epoch)) = current_subject(&state, kind, &subject).await?
                    else {
                        refuse(&state, &meta, "subject_disabled_or_revoked").await?;
                        return Err(AppError::InvalidCredentials.into());
                    };
                    (principal, epoch, Some((family, successor)))
                }
                Redeemed::Reused { family, .. } => {
                    tracing::warn!("a spent refresh token was presented; its family is revoked");
                    audit::append_now(
                        &state.db,
                        &auth::audit_context(None, &meta),
                        AuditEvent {
                            action: "auth.refresh_token_reused",
                            entity_type: "token_family",
                            entity_id: Some(&family),
                            details: json!({ "family_revoked": true }),
                        },
                    )
                    .await?;
                    return Err(AppError::InvalidCredentials.into());
                }
                Redeemed::Invalid => {
                    refuse(&state, &meta, "invalid_refresh_token").await?;
                    return Err(AppError::InvalidCredentials.into());
                }
            }
        }
        _ => {
            return Err(AppError::from(FieldErrors::from(FieldError::new(
                "grant_type",
                "must be one of password, client_credentials, refresh_token",
            )))
            .into());
        }
    };

    let expires_in = state.auth.access_token_ttl.as_secs();
    let access_token = state
        .auth
        .jwt
        .issue_access(
            principal.kind,
            &principal.id,
            principal.role,
            session_epoch,
            expires_in,
        )
        .map_err(|e| AppError::internal(&e))?;
    let mut tx = state.db.begin_write().await?;
    let refresh_token = match family {
        Some((_, successor)) => successor,
        None => tokens::issue_refresh(&mut tx, None, principal.kind, &principal.id, ttl).await?,
    };
    audit::append(
        &mut tx,
        &auth::audit_context(Some(&principal), &meta),
        AuditEvent {
            action: "auth.token_issued",
            entity_type: principal.kind.as_str(),
            entity_id: Some(&principal.id),
            details: json!({ "grant_type": grant }),
        },
    )
    .await?;
    tx.commit().await?;

    Ok(Json(TokenResponse {
        access_token,
        token_type: "bearer",
        expires_in,
        refresh_token,
    }))
}

/// Why the password grant refuses staff with multi-factor authentication:
/// it takes no second factor, so a token from it would bypass MFA. 403
/// with the rule named; staff sign in on `/login`, integrations use an API
/// client.
fn mfa_refusal() -> AppError {
    AppError::Forbidden(
        "use the password grant: this account signs in with multi-factor authentication          (or VANGUARD_REQUIRE_MFA is on), which the password grant cannot carry. Sign in on          /login, or use an API client with the client_credentials grant"
            .into(),
    )
}

/// The subject of a refresh token, if it may still get tokens.
async fn current_subject(
    state: &AppState,
    kind: SubjectKind,
    subject: &str,
) -> Result<Option<(Principal, Option<i64>)>, ApiError> {
    Ok(match kind {
        // A refresh token of a user who has (or must have) a second
        // factor by now is refused like the password grant would be.
        SubjectKind::User => users::find_by_id(state.db.pool(), subject)
            .await?
            .filter(|user| user.active && !user.mfa_enabled && !state.auth.require_mfa)
            .map(|user| (Principal::user(&user), Some(user.session_epoch))),
        SubjectKind::ApiClient => clients::find(state.db.pool(), subject)
            .await?
            .and_then(Principal::client)
            .map(|principal| (principal, None)),
    })
}

/// The strict limit of sign-ins, applied per client IP and per client id.
async fn throttle_token_request(
    state: &AppState,
    meta: &app::request::RequestMeta,
    client_id: Option<&str>,
) -> Result<(), ApiError> {
    let ip = meta
        .client_ip
        .map(|ip| ip.to_string())
        .unwrap_or_else(|| "-".into());
    let mut buckets = vec![format!("token:ip:{ip}")];
    if let Some(client_id) = client_id {
        buckets.push(format!("token:client:{client_id}"));
    }
    for bucket in buckets {
        if let Decision::Limited { retry_after } =
            throttle::hit_shared(&state.db, &bucket, state.auth.login_limit).await?
        {
            return Err(AppError::RateLimited(retry_after.as_secs()).into());
        }
    }
    Ok(())
}

async fn refuse(
    state: &AppState,
    meta: &app::request::RequestMeta,
    reason: &str,
) -> Result<(), ApiError> {
    audit::append_now(
        &state.db,
        &auth::audit_context(None, meta),
        AuditEvent {
            action: "auth.token_refused",
            entity_type: "token",
            entity_id: None,
            details: json!({ "reason": reason }),
        },
    )
    .await?;
    Ok(())
}
