//! The one place where errors become HTTP responses: every failure leaves the server as a FHIR
//! OperationOutcome with a status that says whose fault it was.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use super::FHIR_JSON;
use crate::auth::AccessError;
use crate::auth::jwt::TokenError;
use crate::store::StoreError;

/// RFC 6750 §3 challenge: the realm, plus the error code and description when a token was
/// presented or a scope is missing. Quotes are removed from the description so that it stays
/// one quoted-string.
fn www_authenticate(realm: &str, error: &AccessError) -> String {
    let realm = realm.replace('"', "");
    match error.bearer_error() {
        Some(code) => format!(
            r#"Bearer realm="{realm}", error="{code}", error_description="{}""#,
            error.to_string().replace(['"', '\\'], "'")
        ),
        None => format!(r#"Bearer realm="{realm}""#),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    NotAcceptable(String),
    #[error("the server could not read its data: {0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Unavailable(String),
    /// Refused by access control: 401, 403 or 429.
    #[error("{error}")]
    Access {
        error: crate::auth::AccessError,
        realm: String,
    },
}

impl From<crate::search::query::QueryError> for ApiError {
    fn from(e: crate::search::query::QueryError) -> ApiError {
        ApiError::BadRequest(e.to_string())
    }
}

impl ApiError {
    /// The OperationOutcome `issue.code` (http://hl7.org/fhir/issue-type).
    fn issue_code(&self) -> &'static str {
        match self {
            ApiError::NotFound(_) => "not-found",
            ApiError::BadRequest(_) => "invalid",
            ApiError::MethodNotAllowed(_) => "not-supported",
            ApiError::NotAcceptable(_) => "not-supported",
            ApiError::Store(_) => "exception",
            ApiError::Unavailable(_) => "transient",
            ApiError::Access { error, .. } => match error {
                AccessError::BadToken(TokenError::Expired) => "expired",
                AccessError::Forbidden(_) => "forbidden",
                AccessError::RateLimited { .. } => "throttled",
                _ => "login",
            },
        }
    }
}

/// An OperationOutcome with one issue.
pub fn operation_outcome(severity: &str, code: &str, message: &str) -> serde_json::Value {
    json!({
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": message}]
    })
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            ApiError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Access { error, .. } => match error {
                AccessError::Forbidden(_) => StatusCode::FORBIDDEN,
                AccessError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
                _ => StatusCode::UNAUTHORIZED,
            },
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Store(e) = self {
            tracing::error!("store failure: {e}");
        }
        let body = operation_outcome("error", self.issue_code(), &self.to_string());
        let mut response = HttpResponse::build(self.status_code());
        if let ApiError::MethodNotAllowed(_) = self {
            response.insert_header((actix_web::http::header::ALLOW, "GET, HEAD"));
        }
        if let ApiError::Access { error, realm } = self {
            match error {
                AccessError::RateLimited { retry_after, .. } => {
                    let seconds = retry_after.as_secs() + u64::from(retry_after.subsec_nanos() > 0);
                    response.insert_header((
                        actix_web::http::header::RETRY_AFTER,
                        seconds.max(1).to_string(),
                    ));
                }
                _ => {
                    response.insert_header((
                        actix_web::http::header::WWW_AUTHENTICATE,
                        www_authenticate(realm, error),
                    ));
                }
            }
        }
        response.content_type(FHIR_JSON).body(body.to_string())
    }
}
