//! The one place where errors become HTTP responses: every failure leaves the server as a FHIR
//! OperationOutcome with a status that says whose fault it was.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use super::FHIR_JSON;
use crate::store::StoreError;

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
        response.content_type(FHIR_JSON).body(body.to_string())
    }
}
