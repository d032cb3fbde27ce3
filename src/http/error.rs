//! The one place where errors become HTTP responses: every failure leaves the server as a FHIR
//! OperationOutcome with a status that says whose fault it was.

use actix_web::body::BoxBody;
use actix_web::dev::ServiceResponse;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, CONTENT_TYPE, HeaderName, HeaderValue};
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use super::media::FHIR_JSON;
use super::paths;
use crate::auth::jwt::TokenError;
use crate::auth::{Access, AccessError};
use crate::export::ExportError;
use crate::fhir::InvalidId;
use crate::generation::StoreError;
use crate::local::LocalError;
use crate::metrics::Refusal;
use crate::notify::NotifyError;
use crate::search::SearchError;
use crate::search::limits::Interrupted;
use crate::search::query::QueryError;

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
    /// A search parameter the server recognizes but cannot honour: 400 `not-supported`, in
    /// every `Prefer: handling` mode (ignoring it would answer more than was asked).
    #[error("{0}")]
    NotHonoured(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    /// A method that would start work where only `GET` does (`HEAD $export`): 405, `Allow:
    /// GET`.
    #[error("{0}")]
    OnlyGet(String),
    /// A condition of the request (`If-Match`) is false: 412.
    #[error("{0}")]
    PreconditionFailed(String),
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
    /// Too much work of this caller's already (its live exports): 429, try again after
    /// `retry_after` seconds.
    #[error("{message}")]
    Busy { message: String, retry_after: u64 },
    /// Too much work on the server already, or too little disk left for it (exports): 503,
    /// try again after `retry_after` seconds.
    #[error("{message}")]
    Saturated { message: String, retry_after: u64 },
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
    /// A request URL longer than the limit: 414.
    #[error("{0}")]
    UrlTooLong(String),
    /// Request headers larger than the limit: 431.
    #[error("{0}")]
    HeadersTooLarge(String),
    /// The client's address holds as many connections as it may: 429, the connection closed.
    #[error("{0}")]
    TooManyConnections(String),
    /// An update without `If-Match` of a resource that requires it: 428.
    #[error("{0}")]
    PreconditionRequired(String),
    /// A body that is well-formed FHIR but not an acceptable resource here (a `List` entry
    /// pointing at an unserved type, a `Subscription` with an unsupported topic, filter,
    /// channel, payload or endpoint): 422 `processing`, the message saying what to change.
    #[error("{0}")]
    Unprocessable(String),
    /// Lists and subscriptions are kept by the writer, not by this replica (`--replica`): 421,
    /// for the load balancer (docs/haproxy.cfg) to send the request there.
    #[error("{0}")]
    Misdirected(String),
    /// The local store failed: 503 (an operator's problem; details in the log).
    #[error(
        "the server could not write or read its lists and subscriptions; the cause is in its log"
    )]
    LocalStore(String),
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
            e @ QueryError::NotHonoured { .. } => ApiError::NotHonoured(e.to_string()),
            other => ApiError::BadRequest(other.to_string()),
        }
    }
}

impl From<ExportError> for ApiError {
    fn from(e: ExportError) -> ApiError {
        match e {
            e if e.is_per_caller() => ApiError::Busy {
                message: e.to_string(),
                retry_after: whole_seconds(e.retry_after()),
            },
            e => ApiError::Saturated {
                message: e.to_string(),
                retry_after: whole_seconds(e.retry_after()),
            },
        }
    }
}

impl From<LocalError> for ApiError {
    fn from(e: LocalError) -> ApiError {
        match e {
            LocalError::Invalid(message) => ApiError::Unprocessable(message),
            e @ LocalError::PreconditionRequired(_) => {
                ApiError::PreconditionRequired(e.to_string())
            }
            e @ LocalError::VersionConflict { .. } => ApiError::PreconditionFailed(e.to_string()),
            LocalError::Store(detail) => {
                tracing::error!("local store: {detail}");
                ApiError::LocalStore(detail)
            }
        }
    }
}

impl From<NotifyError> for ApiError {
    fn from(e: NotifyError) -> ApiError {
        match e {
            NotifyError::Refused(message) => ApiError::Unprocessable(message),
            NotifyError::Local(e) => e.into(),
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

/// An OperationOutcome with one issue.
pub fn operation_outcome(severity: &str, code: &str, message: &str) -> serde_json::Value {
    json!({
        "resourceType": "OperationOutcome",
        "issue": [{"severity": severity, "code": code, "diagnostics": message}]
    })
}

/// Everything a client is told about an error besides its message: one row of the table in
/// [`ApiError::spec`].
#[derive(Debug, Clone, PartialEq, Eq)]
struct ErrorSpec {
    status: StatusCode,
    /// The OperationOutcome `issue.code` (http://hl7.org/fhir/issue-type).
    code: &'static str,
    /// `Retry-After`, in seconds: the client may try again then and be answered.
    retry_after: Option<u64>,
    /// What `/metrics` counts the refusal as, beyond its status.
    refusal: Option<Refusal>,
    /// The header the status calls for: `Allow` with 405, `WWW-Authenticate` with 401 and 403.
    header: Option<(HeaderName, String)>,
}

impl ErrorSpec {
    fn new(status: StatusCode, code: &'static str) -> ErrorSpec {
        ErrorSpec {
            status,
            code,
            retry_after: None,
            refusal: None,
            header: None,
        }
    }

    fn retry_after(self, seconds: u64) -> ErrorSpec {
        ErrorSpec {
            retry_after: Some(seconds),
            ..self
        }
    }

    fn counted_as(self, refusal: Refusal) -> ErrorSpec {
        ErrorSpec {
            refusal: Some(refusal),
            ..self
        }
    }

    fn header(self, name: HeaderName, value: String) -> ErrorSpec {
        ErrorSpec {
            header: Some((name, value)),
            ..self
        }
    }
}

impl ApiError {
    /// The error table: what each kind of error answers, in one place, so that a new variant
    /// is one new row (the compiler asks for it) rather than four matches to keep in step.
    fn spec(&self) -> ErrorSpec {
        use StatusCode as S;
        match self {
            ApiError::NotFound(_) => ErrorSpec::new(S::NOT_FOUND, "not-found"),
            ApiError::Gone(_) => ErrorSpec::new(S::GONE, "deleted"),
            ApiError::BadRequest(_) => ErrorSpec::new(S::BAD_REQUEST, "invalid"),
            ApiError::NotHonoured(_) => ErrorSpec::new(S::BAD_REQUEST, "not-supported"),
            ApiError::MethodNotAllowed(_) => ErrorSpec::new(S::METHOD_NOT_ALLOWED, "not-supported")
                .header(header::ALLOW, "GET, HEAD".into()),
            ApiError::OnlyGet(_) => ErrorSpec::new(S::METHOD_NOT_ALLOWED, "not-supported")
                .header(header::ALLOW, "GET".into()),
            ApiError::PreconditionFailed(_) => ErrorSpec::new(S::PRECONDITION_FAILED, "conflict"),
            ApiError::NotAcceptable(_) => ErrorSpec::new(S::NOT_ACCEPTABLE, "not-supported"),
            ApiError::Store(_) => ErrorSpec::new(S::INTERNAL_SERVER_ERROR, "exception"),
            ApiError::Unavailable(_) => ErrorSpec::new(S::SERVICE_UNAVAILABLE, "transient"),
            ApiError::NotReady(_) => {
                ErrorSpec::new(S::SERVICE_UNAVAILABLE, "transient").retry_after(1)
            }
            ApiError::Busy { retry_after, .. } => {
                ErrorSpec::new(S::TOO_MANY_REQUESTS, "throttled").retry_after(*retry_after)
            }
            ApiError::Saturated { retry_after, .. } => {
                ErrorSpec::new(S::SERVICE_UNAVAILABLE, "transient").retry_after(*retry_after)
            }
            ApiError::Overloaded(_) => ErrorSpec::new(S::SERVICE_UNAVAILABLE, "transient")
                .retry_after(1)
                .counted_as(Refusal::Overloaded),
            ApiError::TooCostly { limit, .. } => {
                ErrorSpec::new(S::BAD_REQUEST, "too-costly").counted_as(Refusal::Limit(limit))
            }
            ApiError::TooLarge(_) => ErrorSpec::new(S::PAYLOAD_TOO_LARGE, "too-long"),
            ApiError::Timeout(_) => ErrorSpec::new(S::REQUEST_TIMEOUT, "timeout"),
            ApiError::UrlTooLong(_) => ErrorSpec::new(S::URI_TOO_LONG, "too-long"),
            ApiError::HeadersTooLarge(_) => {
                ErrorSpec::new(S::REQUEST_HEADER_FIELDS_TOO_LARGE, "too-long")
            }
            ApiError::TooManyConnections(_) => {
                ErrorSpec::new(S::TOO_MANY_REQUESTS, "throttled").retry_after(1)
            }
            ApiError::PreconditionRequired(_) => {
                ErrorSpec::new(S::PRECONDITION_REQUIRED, "required")
            }
            ApiError::Unprocessable(_) => ErrorSpec::new(S::UNPROCESSABLE_ENTITY, "processing"),
            ApiError::Misdirected(_) => ErrorSpec::new(S::MISDIRECTED_REQUEST, "not-supported"),
            ApiError::LocalStore(_) => ErrorSpec::new(S::SERVICE_UNAVAILABLE, "transient"),
            ApiError::Access { error, realm } => access_spec(error, realm),
        }
    }
}

/// The rows of access control's refusals: 401 and 403 carry the bearer challenge, 429 says
/// when the caller's bucket has a token again; each is counted in `/metrics` by why.
fn access_spec(error: &AccessError, realm: &str) -> ErrorSpec {
    use StatusCode as S;
    let challenged = |status, code, label| {
        ErrorSpec::new(status, code)
            .counted_as(Refusal::Auth(label))
            .header(header::WWW_AUTHENTICATE, www_authenticate(realm, error))
    };
    match error {
        AccessError::NoCredentials => challenged(S::UNAUTHORIZED, "login", "no_credentials"),
        AccessError::UnknownKey => challenged(S::UNAUTHORIZED, "login", "unknown_api_key"),
        AccessError::NotBearer => challenged(S::UNAUTHORIZED, "login", "not_bearer"),
        AccessError::BadToken(TokenError::Expired) => {
            challenged(S::UNAUTHORIZED, "expired", "token_expired")
        }
        AccessError::BadToken(_) => challenged(S::UNAUTHORIZED, "login", "invalid_token"),
        AccessError::Forbidden(_) => challenged(S::FORBIDDEN, "forbidden", "forbidden"),
        AccessError::RateLimited {
            bucket,
            retry_after,
            ..
        } => ErrorSpec::new(S::TOO_MANY_REQUESTS, "throttled")
            .retry_after(whole_seconds(*retry_after))
            .counted_as(Refusal::RateLimited(bucket)),
    }
}

/// A wait as `Retry-After` seconds: rounded up, and at least one.
fn whole_seconds(wait: Duration) -> u64 {
    (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1)
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.spec().status
    }

    fn error_response(&self) -> HttpResponse {
        if let ApiError::Store(e) = self {
            tracing::error!("store failure: {e}");
        }
        let spec = self.spec();
        let body = operation_outcome("error", spec.code, &self.to_string());
        let mut response = HttpResponse::build(spec.status);
        if let Some(seconds) = spec.retry_after {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        if let Some(named) = spec.header {
            response.insert_header(named);
        }
        let mut response = response.content_type(FHIR_JSON).body(body.to_string());
        if let Some(refusal) = spec.refusal {
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
    // The page's own routes under `/ui/` (sign-in, "my record") answer the page and people in
    // their own JSON or HTML, in French: kept as written when they say what they are.
    let is_page_own = response.request().path().starts_with("/ui/")
        && response.response().headers().contains_key(CONTENT_TYPE);
    if is_fhir || is_operators || is_page_own {
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
    use actix_web::body::{EitherBody, MessageBody};
    use actix_web::test::TestRequest;

    /// Status, issue code, headers and `/metrics` label of a response, as the table says.
    fn answered(error: ApiError) -> (u16, String, Option<Refusal>, HttpResponse<()>) {
        let response = error.error_response();
        let refusal = response.extensions().get::<Refusal>().copied();
        let (response, body) = response.into_parts();
        let body = body.try_into_bytes().expect("a body in one piece");
        let outcome: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let code = outcome["issue"][0]["code"].as_str().unwrap().to_owned();
        (response.status().as_u16(), code, refusal, response)
    }

    #[test]
    fn the_table_answers_each_error() {
        let (status, code, refusal, response) = answered(ApiError::Access {
            error: AccessError::RateLimited {
                who: "this address".into(),
                bucket: "address",
                retry_after: Duration::from_millis(1200),
            },
            realm: "annuaire".into(),
        });
        assert_eq!((status, code.as_str()), (429, "throttled"));
        assert_eq!(refusal, Some(Refusal::RateLimited("address")));
        assert_eq!(response.headers().get(header::RETRY_AFTER).unwrap(), "2");
        assert!(!response.headers().contains_key(header::WWW_AUTHENTICATE));

        let (status, code, refusal, response) = answered(ApiError::Access {
            error: AccessError::Forbidden("no \"scope\"".into()),
            realm: "the \"realm\"".into(),
        });
        assert_eq!((status, code.as_str()), (403, "forbidden"));
        assert_eq!(refusal, Some(Refusal::Auth("forbidden")));
        assert_eq!(
            response.headers().get(header::WWW_AUTHENTICATE).unwrap(),
            r#"Bearer realm="the realm", error="insufficient_scope", error_description="no 'scope'""#
        );

        let (status, code, refusal, response) = answered(ApiError::Access {
            error: AccessError::BadToken(TokenError::Expired),
            realm: "annuaire".into(),
        });
        assert_eq!((status, code.as_str()), (401, "expired"));
        assert_eq!(refusal, Some(Refusal::Auth("token_expired")));
        assert!(response.headers().contains_key(header::WWW_AUTHENTICATE));

        let (status, code, refusal, response) = answered(ApiError::Busy {
            message: "busy".into(),
            retry_after: 10,
        });
        assert_eq!((status, code.as_str(), refusal), (429, "throttled", None));
        assert_eq!(response.headers().get(header::RETRY_AFTER).unwrap(), "10");

        let (status, code, refusal, response) = answered(ApiError::Saturated {
            message: "full".into(),
            retry_after: 60,
        });
        assert_eq!((status, code.as_str(), refusal), (503, "transient", None));
        assert_eq!(response.headers().get(header::RETRY_AFTER).unwrap(), "60");

        let (status, code, _, response) = answered(ApiError::OnlyGet("no".into()));
        assert_eq!((status, code.as_str()), (405, "not-supported"));
        assert_eq!(response.headers().get(header::ALLOW).unwrap(), "GET");

        let (status, code, refusal, response) = answered(ApiError::Overloaded("full".into()));
        assert_eq!((status, code.as_str()), (503, "transient"));
        assert_eq!(refusal, Some(Refusal::Overloaded));
        assert_eq!(response.headers().get(header::RETRY_AFTER).unwrap(), "1");

        let (status, code, _, response) = answered(ApiError::MethodNotAllowed("no".into()));
        assert_eq!((status, code.as_str()), (405, "not-supported"));
        assert_eq!(response.headers().get(header::ALLOW).unwrap(), "GET, HEAD");

        let (status, code, refusal, _) = answered(ApiError::TooCostly {
            limit: "max_sort_keys",
            message: "too many".into(),
        });
        assert_eq!((status, code.as_str()), (400, "too-costly"));
        assert_eq!(refusal, Some(Refusal::Limit("max_sort_keys")));

        let (status, code, refusal, _) = answered(ApiError::from(QueryError::not_honoured(
            "_list",
            "this server holds no List resources",
        )));
        assert_eq!(
            (status, code.as_str(), refusal),
            (400, "not-supported", None)
        );

        let (status, code, _, response) = answered(ApiError::Unavailable("later".into()));
        assert_eq!((status, code.as_str()), (503, "transient"));
        assert!(!response.headers().contains_key(header::RETRY_AFTER));
    }

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
