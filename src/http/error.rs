//! The one place where errors become HTTP responses: every failure leaves the server as a FHIR
//! OperationOutcome with a status that says whose fault it was.

use actix_web::body::BoxBody;
use actix_web::dev::ServiceResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_TYPE, HeaderValue};
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use super::media::FHIR_JSON;
use super::paths;
use crate::auth::jwt::TokenError;
use crate::auth::{Access, AccessError};
use crate::fhir::InvalidId;
use crate::metrics::Refusal;
use crate::search::SearchError;
use crate::search::limits::Interrupted;
use crate::search::query::QueryError;
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
    /// The resource existed and was deleted: 410.
    #[error("{0}")]
    Gone(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    NotAcceptable(String),
    /// The details (paths) go to the log, never to the client.
    #[error("the server could not read its data; the cause is in its log")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Unavailable(String),
    /// This server cannot answer yet (no data, or a page of a generation it has not loaded):
    /// 503 with `Retry-After: 1`; a load balancer may send the request to another replica.
    #[error("{0}")]
    NotReady(String),
    /// Too much work running already: 429, try again shortly.
    #[error("{0}")]
    Busy(String),
    /// Every search slot is taken and the queue is full: 503, try again shortly.
    #[error("{0}")]
    Overloaded(String),
    /// The request would cost more than the limits allow: 400 `too-costly`. `limit` names the
    /// setting in `[limits]` (counted in `/metrics`).
    #[error("{message}")]
    TooCostly {
        limit: &'static str,
        message: String,
    },
    /// A body larger than the limit: 413.
    #[error("{0}")]
    TooLarge(String),
    /// A body that did not arrive in time: 408.
    #[error("{0}")]
    Timeout(String),
    /// Refused by access control: 401, 403 or 429.
    #[error("{error}")]
    Access {
        error: crate::auth::AccessError,
        realm: String,
    },
}

impl ApiError {
    /// A refusal of access control, with the realm its `WWW-Authenticate` challenge names.
    pub fn refused(policy: &Access, error: AccessError) -> ApiError {
        ApiError::Access {
            error,
            realm: policy.realm().to_owned(),
        }
    }
}

impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> ApiError {
        match e {
            QueryError::TooCostly(e) => ApiError::TooCostly {
                limit: e.setting,
                message: e.to_string(),
            },
            other => ApiError::BadRequest(other.to_string()),
        }
    }
}

impl From<InvalidId> for ApiError {
    fn from(e: InvalidId) -> ApiError {
        ApiError::BadRequest(e.to_string())
    }
}

impl From<SearchError> for ApiError {
    fn from(e: SearchError) -> ApiError {
        match e {
            SearchError::Query(e) => e.into(),
            SearchError::Store(e) => e.into(),
            SearchError::NotFound(message) => ApiError::NotFound(message),
            SearchError::Interrupted(Interrupted::Deadline(ms)) => ApiError::TooCostly {
                limit: "deadline_ms",
                message: format!(
                    "too costly: the search ran past its deadline of {ms} ms (limit `limits.deadline_ms`); narrow it (more specific parameters, fewer includes, no sort)"
                ),
            },
            SearchError::Interrupted(Interrupted::Cancelled) => {
                ApiError::Unavailable("the search was cancelled: its client went away".into())
            }
        }
    }
}

impl ApiError {
    /// The OperationOutcome `issue.code` (http://hl7.org/fhir/issue-type).
    fn issue_code(&self) -> &'static str {
        match self {
            ApiError::NotFound(_) => "not-found",
            ApiError::Gone(_) => "deleted",
            ApiError::BadRequest(_) => "invalid",
            ApiError::MethodNotAllowed(_) => "not-supported",
            ApiError::NotAcceptable(_) => "not-supported",
            ApiError::Store(_) => "exception",
            ApiError::Unavailable(_) | ApiError::NotReady(_) => "transient",
            ApiError::Busy(_) => "throttled",
            ApiError::Overloaded(_) => "transient",
            ApiError::TooCostly { .. } => "too-costly",
            ApiError::TooLarge(_) => "too-long",
            ApiError::Timeout(_) => "timeout",
            ApiError::Access { error, .. } => match error {
                AccessError::BadToken(TokenError::Expired) => "expired",
                AccessError::Forbidden(_) => "forbidden",
                AccessError::RateLimited { .. } => "throttled",
                _ => "login",
            },
        }
    }
}

impl ApiError {
    /// What `/metrics` counts this refusal as, beyond its status.
    fn refusal(&self) -> Option<Refusal> {
        match self {
            ApiError::TooCostly { limit, .. } => Some(Refusal::Limit(limit)),
            ApiError::Overloaded(_) => Some(Refusal::Overloaded),
            ApiError::Access { error, .. } => Some(match error {
                AccessError::RateLimited { bucket, .. } => Refusal::RateLimited(bucket),
                AccessError::NoCredentials => Refusal::Auth("no_credentials"),
                AccessError::UnknownKey => Refusal::Auth("unknown_api_key"),
                AccessError::NotBearer => Refusal::Auth("not_bearer"),
                AccessError::BadToken(TokenError::Expired) => Refusal::Auth("token_expired"),
                AccessError::BadToken(_) => Refusal::Auth("invalid_token"),
                AccessError::Forbidden(_) => Refusal::Auth("forbidden"),
            }),
            _ => None,
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
            ApiError::Gone(_) => StatusCode::GONE,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::NotAcceptable(_) => StatusCode::NOT_ACCEPTABLE,
            ApiError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Unavailable(_) | ApiError::NotReady(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Busy(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Overloaded(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::TooCostly { .. } => StatusCode::BAD_REQUEST,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
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
        match self {
            ApiError::Busy(_) => {
                response.insert_header((actix_web::http::header::RETRY_AFTER, "10"));
            }
            ApiError::Overloaded(_) | ApiError::NotReady(_) => {
                response.insert_header((actix_web::http::header::RETRY_AFTER, "1"));
            }
            _ => {}
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
        let mut response = response.content_type(FHIR_JSON).body(body.to_string());
        if let Some(refusal) = self.refusal() {
            response.extensions_mut().insert(refusal);
        }
        response
    }
}

/// Responses actix makes itself, before or around a handler (an extractor that refuses a body,
/// a payload over its limit), come as plain text: they are rewritten here as OperationOutcomes
/// with the same status, so that a client only ever reads FHIR.
pub fn outcome_for_bare_errors(
    response: ServiceResponse<BoxBody>,
) -> actix_web::Result<ErrorHandlerResponse<BoxBody>> {
    let is_fhir = response
        .response()
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|value| value == HeaderValue::from_static(FHIR_JSON));
    // `/readyz` answers 503 with its own JSON, for load balancers and people.
    let is_operators = paths::is_operators(response.request().path());
    if is_fhir || is_operators {
        return Ok(ErrorHandlerResponse::Response(
            response.map_into_left_body(),
        ));
    }
    let status = response.status();
    let message = match response.response().error() {
        Some(error) => error.to_string(),
        None => status
            .canonical_reason()
            .unwrap_or("the request failed")
            .to_owned(),
    };
    let code = match status {
        StatusCode::NOT_FOUND => "not-found",
        StatusCode::METHOD_NOT_ALLOWED | StatusCode::UNSUPPORTED_MEDIA_TYPE => "not-supported",
        StatusCode::PAYLOAD_TOO_LARGE => "too-costly",
        status if status.is_client_error() => "invalid",
        _ => "exception",
    };
    let body = operation_outcome("error", code, &message).to_string();
    let outcome = HttpResponse::build(status)
        .content_type(FHIR_JSON)
        .body(body);
    Ok(ErrorHandlerResponse::Response(
        response.into_response(outcome).map_into_right_body(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::EitherBody;
    use actix_web::test::TestRequest;

    #[test]
    fn bare_errors_become_outcomes_and_outcomes_stay() {
        let bare = TestRequest::default().to_srv_response(
            HttpResponse::PayloadTooLarge()
                .body("payload reached size limit")
                .map_into_boxed_body(),
        );
        let ErrorHandlerResponse::Response(rewritten) = outcome_for_bare_errors(bare).unwrap()
        else {
            panic!("an immediate response")
        };
        assert_eq!(rewritten.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            rewritten.response().headers().get(CONTENT_TYPE).unwrap(),
            FHIR_JSON
        );
        let fhir =
            TestRequest::default().to_srv_response(ApiError::NotFound("x".into()).error_response());
        let ErrorHandlerResponse::Response(kept) = outcome_for_bare_errors(fhir).unwrap() else {
            panic!("an immediate response")
        };
        assert!(matches!(kept.response().body(), EitherBody::Left { .. }));
    }
}
