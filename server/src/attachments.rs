//! Claim attachments over HTTP, for partners (`/api/v1/claims/{id}/attachments`,
//! bearer token) and for staff in the browser (`/claims/{id}/attachments`,
//! session): `multipart/form-data` uploads with a part named `file`, and
//! downloads that are authorised and audited on every read.
//!
//! The size limit (`VANGUARD_ATTACHMENT_MAX_BYTES`) is enforced while the
//! upload streams in, so an oversized file is refused with 413 after at
//! most the limit has been read, whatever its declared length.

use axum::{
    Extension, Json, Router,
    extract::{Multipart, Path, State, multipart::MultipartRejection},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Redirect, Response},
    routing::get,
};

use app::{
    auth::ssr::{Principal, audit_context},
    claims::attachments::{
        AttachmentView,
        ssr::{self as attachments, Uploaded},
    },
    error::AppError,
    request::RequestMeta,
    state::AppState,
    tenancy::Owned,
};
use shared::{FieldError, FieldErrors, attachment::AttachmentError, auth::Permission};

use crate::{
    api::{ApiError, Caller},
    middleware::auth::authorize_session,
};

/// The JSON API routes (no session layer).
pub fn api_routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/claims/{id}/attachments",
            get(api_list).post(api_upload),
        )
        .route(
            "/api/v1/claims/{id}/attachments/{attachment_id}",
            get(api_download),
        )
        // The limit is ours (streamed, configurable), not axum's 2 MB default.
        .layer(axum::extract::DefaultBodyLimit::disable())
}

/// The browser routes (session, sign-in gate, CSRF check).
pub fn browser_routes() -> Router<AppState> {
    Router::new()
        .route(
            "/claims/{id}/attachments",
            axum::routing::post(browser_upload),
        )
        .route(
            "/claims/{id}/attachments/{attachment_id}",
            get(browser_download),
        )
        .layer(axum::extract::DefaultBodyLimit::disable())
}

/// The `file` part of a multipart upload: its name and content, refused
/// with 413 once more than `max_bytes` have arrived.
async fn read_file(
    multipart: Result<Multipart, MultipartRejection>,
    max_bytes: u64,
) -> Result<(String, Vec<u8>), AppError> {
    let malformed = || {
        AppError::from(FieldErrors::from(FieldError::new(
            "file",
            "must be sent as multipart/form-data in a part named `file`",
        )))
    };
    let too_large = || AppError::from(AttachmentError::TooLarge { max_bytes });
    let multipart_error = |error: axum::extract::multipart::MultipartError| {
        if error.status() == StatusCode::PAYLOAD_TOO_LARGE {
            too_large()
        } else {
            malformed()
        }
    };
    let mut multipart = multipart.map_err(|_| malformed())?;
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        if field.name() != Some("file") {
            continue;
        }
        let filename = field.file_name().unwrap_or_default().to_owned();
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
            if (bytes.len() + chunk.len()) as u64 > max_bytes {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        return Ok((filename, bytes));
    }
    Err(malformed())
}

/// The download response: the type Vanguard detected (never the uploader's),
/// always as a download, never cached by shared caches.
fn download(attachment: &AttachmentView, bytes: Vec<u8>) -> Response {
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(attachment.kind.mime()),
    );
    if let Ok(value) = HeaderValue::from_str(&content_disposition(&attachment.filename)) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-store"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// `attachment; filename="…"; filename*=UTF-8''…` (RFC 6266): an ASCII
/// fallback and the exact name percent-encoded.
fn content_disposition(filename: &str) -> String {
    let ascii: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .filter(|c| *c != '"' && *c != '\\')
        .collect();
    let encoded: String = filename
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

async fn api_list(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<AttachmentView>>, ApiError> {
    caller.require(&state, Permission::ClaimsRead).await?;
    caller.guard(&state, Owned::Claim, &id).await?;
    exists(&state, &id).await?;
    Ok(Json(attachments::list(&state.db, &id).await?))
}

/// Partners attach files to the claims they submit; staff clients with
/// write access may too.
async fn api_upload(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, ApiError> {
    let permission = if caller.principal.can(Permission::ClaimsWrite) {
        Permission::ClaimsWrite
    } else {
        Permission::ClaimsIngest
    };
    caller.require(&state, permission).await?;
    caller.guard(&state, Owned::Claim, &id).await?;
    let (filename, bytes) = read_file(multipart, state.attachment_max_bytes).await?;
    let context = audit_context(Some(&caller.principal), &caller.meta);
    let uploaded = attachments::upload(
        &state.db,
        &state.storage,
        &context,
        &caller.principal,
        &id,
        &filename,
        bytes,
        state.attachment_max_bytes,
    )
    .await?;
    let status = if uploaded.deduplicated {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let location = format!(
        "/api/v1/claims/{}/attachments/{}",
        uploaded.attachment.claim_id, uploaded.attachment.id
    );
    let mut response = (status, Json(uploaded)).into_response();
    if let Ok(location) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

async fn api_download(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, attachment_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    caller.require(&state, Permission::ClaimsRead).await?;
    caller.guard(&state, Owned::Claim, &id).await?;
    let context = audit_context(Some(&caller.principal), &caller.meta);
    let (attachment, bytes) =
        attachments::download(&state.db, &state.storage, &context, &id, &attachment_id).await?;
    Ok(download(&attachment, bytes))
}

/// 404 for a claim that does not exist, rather than an empty list.
async fn exists(state: &AppState, id: &str) -> Result<(), AppError> {
    app::claims::ssr::find(&state.db, id)
        .await?
        .map(|_| ())
        .ok_or_else(|| AppError::NotFound("The claim".into()))
}

/// The claim page's upload form (works without JavaScript): back to the
/// claim page, with the refusal in the URL for the page to show.
async fn browser_upload(
    State(state): State<AppState>,
    principal: Option<Extension<Principal>>,
    extensions: axum::http::Extensions,
    Path(id): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, ApiError> {
    let principal =
        authorize_session(&state, principal, &extensions, Permission::ClaimsWrite).await?;
    let meta = RequestMeta::from_extensions(&extensions);
    let outcome: Result<Uploaded, AppError> = async {
        let (filename, bytes) = read_file(multipart, state.attachment_max_bytes).await?;
        let context = audit_context(Some(&principal), &meta);
        attachments::upload(
            &state.db,
            &state.storage,
            &context,
            &principal,
            &id,
            &filename,
            bytes,
            state.attachment_max_bytes,
        )
        .await
    }
    .await;
    let back = format!("/claims/{id}");
    Ok(match outcome {
        Ok(_) => Redirect::to(&format!("{back}#attachments")).into_response(),
        Err(AppError::NotFound(what)) => return Err(AppError::NotFound(what).into()),
        Err(error) => {
            let message: String =
                url::form_urlencoded::byte_serialize(error.to_string().as_bytes()).collect();
            Redirect::to(&format!("{back}?attachment_error={message}#attachments")).into_response()
        }
    })
}

async fn browser_download(
    State(state): State<AppState>,
    principal: Option<Extension<Principal>>,
    extensions: axum::http::Extensions,
    Path((id, attachment_id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let principal =
        authorize_session(&state, principal, &extensions, Permission::ClaimsRead).await?;
    let meta = RequestMeta::from_extensions(&extensions);
    let context = audit_context(Some(&principal), &meta);
    let (attachment, bytes) =
        attachments::download(&state.db, &state.storage, &context, &id, &attachment_id).await?;
    Ok(download(&attachment, bytes))
}

#[cfg(test)]
mod tests {
    use super::content_disposition;

    #[test]
    fn download_names_are_quoted_safely_and_kept_exactly_in_the_encoded_form() {
        assert_eq!(
            content_disposition("dégât eau.pdf"),
            "attachment; filename=\"d_g_t eau.pdf\"; filename*=UTF-8''d%C3%A9g%C3%A2t%20eau.pdf"
        );
    }
}
