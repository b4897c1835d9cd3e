//! Errors of the JSON API as `application/problem+json` (RFC 9457), with
//! the 422 field list every client relies on: `errors: [{ field, message }]`
//! (README, "Claims and the pipeline"; the OpenAPI `Problem` schema).

use axum::{
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

use app::error::AppError;

/// An API failure; every variant of [`AppError`] keeps its documented
/// status.
#[derive(Debug)]
pub struct ApiError(pub AppError);

impl From<AppError> for ApiError {
    fn from(error: AppError) -> Self {
        Self(error)
    }
}

impl From<shared::FieldErrors> for ApiError {
    fn from(errors: shared::FieldErrors) -> Self {
        AppError::from(errors).into()
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        AppError::from(error).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status_code()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut body = json!({
            "type": "about:blank",
            "title": self.0.title(),
            "status": status.as_u16(),
            "detail": self.0.to_string(),
        });
        if let Some(errors) = self.0.field_errors() {
            body["errors"] = json!(errors.0);
        }
        let mut response = (status, body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        match &self.0 {
            AppError::Unauthenticated | AppError::InvalidCredentials => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            _ => {}
        }
        if let Some(seconds) = self.0.retry_after()
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            headers.insert(header::RETRY_AFTER, value);
        }
        response
    }
}
