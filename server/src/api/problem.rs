//! Every answer under `/api/v1` is JSON, errors `application/problem+json`.
//!
//! Our handlers already answer with [`super::ApiError`]; what is left are
//! the answers axum and tower write themselves: an unknown path (the
//! browser's HTML 404 page otherwise), 405 for a wrong method, 413 from the
//! body limit, 415 and 400/422 from the `Json` and `Query` extractors (plain
//! text), and 500 from the panic guard. [`errors_as_problems`] rewrites each
//! such body into a problem, keeping status and headers (`Allow` on a 405),
//! and names the field when the rejection did.

use axum::{
    Router,
    body::Body,
    extract::Request,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    middleware::Next,
    response::Response,
    routing::any,
};
use serde_json::json;

use app::{error::AppError, state::AppState};

use super::ApiError;

/// Where the JSON API lives.
pub const PREFIX: &str = "/api/v1";

/// An extractor's rejection is one sentence.
const MAX_PLAIN_BODY_BYTES: usize = 64 * 1024;

/// Whether `path` belongs to the JSON API.
pub fn is_api_path(path: &str) -> bool {
    path.strip_prefix(PREFIX)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Unknown paths under the prefix: a problem, not the browser's 404 page
/// (static segments and parameters outrank the catch-all).
pub fn fallback_routes() -> Router<AppState> {
    Router::new()
        .route(PREFIX, any(not_found))
        .route(&format!("{PREFIX}/"), any(not_found))
        .route(&format!("{PREFIX}/{{*rest}}"), any(not_found))
}

async fn not_found() -> ApiError {
    AppError::NotFound("No API resource at this path".into()).into()
}

/// Rewrites non-JSON error answers of `/api/v1` into problems; everything
/// else passes untouched.
pub async fn errors_as_problems(request: Request, next: Next) -> Response {
    if !is_api_path(request.uri().path()) {
        return next.run(request).await;
    }
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(response.headers()) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MAX_PLAIN_BODY_BYTES)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_owned())
        .unwrap_or_default();
    let problem = problem_for(status, &text);
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    Response::from_parts(parts, Body::from(problem.to_string()))
}

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            let essence = ct.split(';').next().unwrap_or_default().trim();
            essence == "application/json" || essence.ends_with("+json")
        })
}

fn problem_for(status: StatusCode, text: &str) -> serde_json::Value {
    let detail = match (status, text.is_empty()) {
        // A panic's text is not for clients.
        (StatusCode::INTERNAL_SERVER_ERROR, _) => "Something went wrong on our side.".to_owned(),
        (_, false) => text.to_owned(),
        (StatusCode::METHOD_NOT_ALLOWED, true) => {
            "This method is not allowed here; the Allow header lists those that are.".to_owned()
        }
        (_, true) => status
            .canonical_reason()
            .unwrap_or("Request failed")
            .to_owned(),
    };
    let mut problem = json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or("Error"),
        "status": status.as_u16(),
        "detail": detail,
    });
    if status.is_client_error()
        && let Some(field) = field_named(text)
    {
        problem["errors"] = json!([shared::FieldError::new(field, detail)]);
    }
    problem
}

/// The field a serde or extractor message names: "missing field `email`",
/// "unknown field `x`", or serde_path_to_error's "target type: premium.amount:
/// invalid type ..." (and "query string: page: ..." for a query).
pub fn field_named(message: &str) -> Option<String> {
    if let Some((_, rest)) = message.split_once("field `") {
        return rest
            .split_once('`')
            .map(|(field, _)| field.to_owned())
            .filter(|field| !field.is_empty());
    }
    let (_, rest) = message
        .split_once("target type: ")
        .or_else(|| message.split_once("query string: "))?;
    let (path, _) = rest.split_once(": ")?;
    (!path.is_empty() && !path.contains(char::is_whitespace)).then(|| path.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_named_from_the_messages_serde_and_axum_write() {
        for (message, field) in [
            ("missing field `email`", Some("email")),
            (
                "Failed to deserialize the JSON body into the target type: missing field `name` at line 1 column 2",
                Some("name"),
            ),
            (
                "Failed to deserialize the JSON body into the target type: premium.amount: invalid type: string \"x\", expected i64 at line 1 column 30",
                Some("premium.amount"),
            ),
            (
                "Failed to parse the request body as JSON: expected value at line 1 column 1",
                None,
            ),
            (
                "Failed to deserialize query string: per_page: invalid digit found in string",
                Some("per_page"),
            ),
            ("length limit exceeded", None),
        ] {
            assert_eq!(field_named(message).as_deref(), field, "{message}");
        }
    }

    #[test]
    fn plain_rejections_become_problems_that_keep_their_words_but_hide_a_panics_text() {
        let wrong_type = problem_for(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Expected request with `Content-Type: application/json`",
        );
        assert_eq!(wrong_type["status"], 415);
        assert!(
            wrong_type["detail"]
                .as_str()
                .unwrap()
                .contains("application/json")
        );
        assert!(wrong_type.get("errors").is_none());

        let method = problem_for(StatusCode::METHOD_NOT_ALLOWED, "");
        assert!(method["detail"].as_str().unwrap().contains("Allow"));

        let missing = problem_for(StatusCode::UNPROCESSABLE_ENTITY, "missing field `name`");
        assert_eq!(missing["errors"][0]["field"], "name");

        let panic = problem_for(
            StatusCode::INTERNAL_SERVER_ERROR,
            "index out of bounds at x.rs",
        );
        assert!(!panic["detail"].as_str().unwrap().contains("x.rs"));
    }

    #[test]
    fn only_the_api_prefix_itself_and_below_is_the_api() {
        for path in ["/api/v1", "/api/v1/", "/api/v1/claims/x"] {
            assert!(is_api_path(path), "{path}");
        }
        for path in ["/api/v10", "/api/login123", "/claims", "/api"] {
            assert!(!is_api_path(path), "{path}");
        }
    }
}
