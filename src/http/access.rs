//! The access-control middleware: authenticates every request but the public ones, applies
//! the caller's rate limit, hands the caller to the handlers, and writes the audit line.

use std::sync::Arc;
use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::AUTHORIZATION;
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, ResponseError, web};

use super::error::ApiError;
use super::paths;
use super::request::client_address;
use super::state::AppState;
use crate::auth::audit::AuditRecord;
use crate::auth::jwt::TokenError;
use crate::auth::{API_KEY_HEADER, AccessError, Caller, Identity, Permissions};
use crate::fhir::ResourceType;

/// How many resources a response returned, for the audit trail (set by the handlers).
#[derive(Debug, Clone, Copy)]
pub struct Returned(pub u64);

/// How long a request's search or history page worked, for the rate limit: charged to the
/// caller's bucket beyond the one token every request takes (set by the handlers).
#[derive(Debug, Clone, Copy)]
pub struct Work(pub std::time::Duration);

/// Rate-limit tokens charged beyond the one every request takes for work a request starts
/// and that runs after its answer (an export's kick-off; set by the handler).
#[derive(Debug, Clone, Copy)]
pub struct Tokens(pub u32);

/// The type of the resources an export file holds, for the audit trail, whose path names a
/// job and a file rather than a type (set by the download handler, with [`Returned`]).
#[derive(Debug, Clone, Copy)]
pub struct AuditedType(pub &'static str);

/// The parameters of a `POST _search` (query and form body together), for the audit trail,
/// which would otherwise see only the query string.
#[derive(Debug, Clone)]
pub struct SearchedQuery(pub String);

/// Paths anyone may read: the CapabilityStatement (the spec requires it), the SMART
/// discovery document, which clients need before they have a token, the lookup page, which
/// asks for credentials and then calls the API with them, and the CodeSystems (public
/// terminology, no directory data: see `terminology`).
fn is_public(path: &str) -> bool {
    paths::is_page(path)
        || paths::is_terminology(path)
        || matches!(
            path.trim_end_matches('/'),
            "/fhir/metadata"
                | paths::HEALTH
                | paths::READY
                | paths::SMART_CONFIGURATION
                | "/fhir/.well-known/smart-configuration"
                // The subscriptions' websocket: its credential is the binding token the
                // client sends on it (browsers cannot send headers on a websocket).
                | "/fhir/$subscription-websocket"
        )
}

/// The caller the middleware authenticated. Without one (a route outside the middleware),
/// nothing is allowed: failing closed.
pub fn caller(req: &HttpRequest) -> Arc<Caller> {
    req.extensions()
        .get::<Arc<Caller>>()
        .cloned()
        .unwrap_or_else(|| {
            Arc::new(Caller {
                identity: Identity::Anonymous,
                permissions: Permissions::default(),
            })
        })
}

/// Served type named by a path (`/fhir/Practitioner/...`), for the audit trail.
fn resource_type(path: &str) -> Option<ResourceType> {
    path.strip_prefix("/fhir/")?.split('/').next()?.parse().ok()
}

pub async fn control(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .expect("AppState is registered");
    let policy = state.access.policy.clone();
    let header = |name| {
        req.headers().get(name).map(|v| {
            v.to_str()
                .map_err(|_| AccessError::BadToken(TokenError::Malformed))
        })
    };
    let authorization = header(AUTHORIZATION.as_str());
    let api_key = header(API_KEY_HEADER);
    let address = client_address(req.request());
    // A refusal keeps the caller when it is known (a valid credential over its rate limit),
    // for the audit line.
    let admitted: Result<Arc<Caller>, (Option<Arc<Caller>>, AccessError)> = if is_public(req.path())
    {
        // No credentials to key a limit by: the client's address is.
        state
            .admit_public(address)
            .map(|()| Arc::new(Caller::open()))
            .map_err(|refused| (None, refused))
    } else {
        authorization
            .transpose()
            .and_then(|authorization| policy.authenticate(authorization, api_key.transpose()?))
            .map_err(|refused| (None, refused))
            .and_then(|caller| match policy.admit(&caller, address) {
                Ok(()) => Ok(caller),
                Err(refused) => Err((Some(caller), refused)),
            })
    };
    let audit = state.access.audit.clone();
    // What the audit line needs, captured before the request moves on.
    let asked = audit.as_ref().map(|_| {
        (
            req.method().to_string(),
            req.path().to_owned(),
            req.query_string().to_owned(),
        )
    });
    let (response, caller_json) = match admitted {
        Ok(caller) => {
            let caller_json = audit.as_ref().map(|_| caller.audit_json());
            req.extensions_mut().insert(caller.clone());
            let response = next.call(req).await?.map_into_boxed_body();
            if let Some(Work(work)) = response.response().extensions().get::<Work>().copied() {
                policy.charge(&caller, address, state.limits.extra_tokens_for(work));
            }
            if let Some(Tokens(tokens)) = response.response().extensions().get::<Tokens>().copied()
            {
                policy.charge(&caller, address, tokens);
            }
            (response, caller_json)
        }
        Err((known, refused)) => {
            let caller_json = audit.as_ref().map(|_| match &known {
                Some(caller) => caller.audit_json(),
                None => serde_json::json!({"kind": "refused", "reason": refused.audit_reason()}),
            });
            let response = req.into_response(ApiError::refused(&policy, refused).error_response());
            (response, caller_json)
        }
    };
    if let (Some(audit), Some((method, path, query))) = (audit, asked) {
        let returned = response
            .response()
            .extensions()
            .get::<Returned>()
            .map_or(0, |r| r.0);
        let query = response
            .response()
            .extensions()
            .get::<SearchedQuery>()
            .map_or(query, |q| q.0.clone());
        let audited_type = response
            .response()
            .extensions()
            .get::<AuditedType>()
            .map(|t| t.0);
        audit.record(
            &AuditRecord {
                time: state.clock.now_utc(),
                caller: caller_json.unwrap_or_default(),
                client_address: address,
                method: &method,
                path: &path,
                query: &query,
                resource_type: audited_type.or(resource_type(&path).map(ResourceType::as_str)),
                returned,
                status: response.status().as_u16(),
                latency: started.elapsed(),
            },
            policy.redaction(),
        );
    }
    Ok(response)
}
