//! The access-control middleware: authenticates every request but the public ones, applies
//! the caller's rate limit, hands the caller to the handlers, and writes the audit line.
//!
//! A write (a `List` or `Subscription` created, updated or deleted; a websocket binding token
//! issued) gets a `write` object in its line: type, id, version written and outcome. The
//! handlers may say exactly what they wrote ([`Written`]); otherwise the line reads it from
//! the answer's `Location` and `ETag`, and from the path.

use std::sync::Arc;
use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{AUTHORIZATION, ETAG, LOCATION};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, ResponseError, web};

use super::error::ApiError;
use super::paths;
use super::request::client_address;
use super::signin;
use super::state::AppState;
use crate::auth::audit::{AuditRecord, WriteRecord};
use crate::auth::jwt::TokenError;
use crate::auth::{API_KEY_HEADER, AccessError, Caller, Identity, Permissions};
use crate::fhir::ResourceType;
use crate::local::LocalType;

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

/// What a write handler wrote, for the audit trail: the id and the version (the deletion's
/// for a delete; `None` for a websocket binding token). Optional: without it the audit line
/// reads the same from the answer's `Location` and `ETag` headers.
#[derive(Debug, Clone)]
pub struct Written {
    pub id: String,
    pub version: Option<u32>,
}

/// The operation that issues a websocket binding token: audited as a write (it grants access
/// to a subscription's events), whatever its method.
const BINDING_TOKEN: &str = "$get-ws-binding-token";

/// The write a request made or tried, for the audit trail: `None` for everything but writes
/// of the local types (`List`, `Subscription`) and binding tokens.
fn write_record(method: &Method, path: &str, response: &ServiceResponse) -> Option<WriteRecord> {
    let mut segments = path.strip_prefix("/fhir/")?.split('/');
    let rtype = LocalType::parse(segments.next()?)?;
    let rest: Vec<&str> = segments.filter(|s| !s.is_empty()).collect();
    let token = rest.contains(&BINDING_TOKEN);
    let writes = matches!(
        *method,
        Method::POST | Method::PUT | Method::DELETE | Method::PATCH
    ) && !rest.iter().any(|s| s.starts_with('$') || *s == "_search");
    if !(token || writes) {
        return None;
    }
    let answer = response.response();
    let status = answer.status();
    let written = answer.extensions().get::<Written>().cloned();
    let location = answer
        .headers()
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|l| location_of(l, rtype));
    let etag = answer
        .headers()
        .get(ETAG)
        .and_then(|v| v.to_str().ok())
        .and_then(version_of_etag);
    let path_id = rest
        .first()
        .filter(|s| !s.starts_with('$') && !s.starts_with('_'))
        .map(|s| s.to_string());
    let id = written
        .as_ref()
        .map(|w| w.id.clone())
        .or_else(|| location.as_ref().map(|(id, _)| id.clone()))
        .or(path_id);
    let version = match &written {
        Some(w) => w.version,
        None => etag.or(location.and_then(|(_, v)| v)),
    };
    let outcome = if status.is_server_error() {
        "failed"
    } else if !status.is_success() {
        "refused"
    } else if token {
        "token-issued"
    } else if *method == Method::DELETE {
        "deleted"
    } else if status == actix_web::http::StatusCode::CREATED {
        "created"
    } else {
        "updated"
    };
    Some(WriteRecord {
        resource_type: rtype.as_str().to_owned(),
        id,
        version: version.filter(|_| status.is_success()),
        outcome,
    })
}

/// The id and version of a `Location` naming a resource of `rtype`
/// (`<base>/List/<id>/_history/<v>`, or without the version).
fn location_of(location: &str, rtype: LocalType) -> Option<(String, Option<u32>)> {
    let location = location.split(['?', '#']).next()?;
    let segments: Vec<&str> = location.split('/').collect();
    let at = segments.iter().rposition(|s| *s == rtype.as_str())?;
    let id = segments.get(at + 1).filter(|s| !s.is_empty())?;
    let version = match (segments.get(at + 2), segments.get(at + 3)) {
        (Some(&"_history"), Some(v)) => v.parse().ok(),
        _ => None,
    };
    Some((id.to_string(), version))
}

/// The version of a FHIR ETag (`W/"3"`).
fn version_of_etag(etag: &str) -> Option<u32> {
    etag.trim()
        .trim_start_matches("W/")
        .trim_matches('"')
        .parse()
        .ok()
}

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
                // Sign-in with the OpenID provider: these authenticate through the session
                // themselves (`/ui/moi` is not one: it needs the session).
                | paths::SIGNIN
                | paths::SIGNIN_CALLBACK
                | paths::SIGNOUT
                | paths::SESSION
        )
}

/// How long a request whose bearer token names a key the server does not know waits for the
/// provider's keys to be fetched again (they may just have rotated) before it is refused.
const UNKNOWN_KEY_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// The caller of the lookup page's session cookie, when the request carries no
/// `Authorization` or `ESANTE-API-KEY` header (a header always wins): `None` without a live
/// session; a 403 when an unsafe method lacks the session's CSRF token (plan D3).
fn session_caller(req: &HttpRequest, state: &AppState) -> Option<Result<Arc<Caller>, AccessError>> {
    let session = signin::session_of(req, state)?;
    if !signin::csrf_holds(req.method(), signin::csrf_header(req), &session) {
        return Some(Err(AccessError::Forbidden(
            "a request made with the page's session cookie must carry the X-CSRF-Token header that GET /ui/session gives (for POST, PUT, PATCH and DELETE)".into(),
        )));
    }
    Some(Ok(session.caller.clone()))
}

/// The query as the audit trail records it: the provider's redirect back carries a one-time
/// code and the login's `state`, secrets the trail keeps out (their names stay).
fn audited_query(path: &str, query: &str) -> String {
    if path != paths::SIGNIN_CALLBACK {
        return query.to_owned();
    }
    query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((name, _)) if matches!(name, "code" | "state") => format!("{name}=hidden"),
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("&")
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
                rules: Vec::new(),
                channel: Default::default(),
            })
        })
}

/// The caller, once it may `action` resources of the local type `rtype` (`List`,
/// `Subscription`): what the handlers of lists, subscriptions and the websocket call first.
/// 401 without credentials (refused by the middleware already), 403 without the scope.
pub fn authorize_local(
    req: &HttpRequest,
    state: &AppState,
    rtype: LocalType,
    action: crate::auth::LocalAction,
) -> Result<Arc<Caller>, ApiError> {
    let caller = caller(req);
    let policy = &state.access.policy;
    policy
        .authorize_local(&caller, rtype, action)
        .map_err(|error| ApiError::refused(policy, error))?;
    Ok(caller)
}

/// Served or local type named by a path (`/fhir/Practitioner/...`, `/fhir/List/...`), for the
/// audit trail.
fn resource_type(path: &str) -> Option<&'static str> {
    let name = path.strip_prefix("/fhir/")?.split('/').next()?;
    match name.parse::<ResourceType>() {
        Ok(rtype) => Some(rtype.as_str()),
        Err(_) => LocalType::parse(name).map(LocalType::as_str),
    }
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
    } else if let Some(from_session) = (authorization.is_none() && api_key.is_none())
        .then(|| session_caller(req.request(), &state))
        .flatten()
    {
        from_session
            .map_err(|refused| (None, refused))
            .and_then(|caller| match policy.admit(&caller, address) {
                Ok(()) => Ok(caller),
                Err(refused) => Err((Some(caller), refused)),
            })
    } else {
        let authenticate = || {
            authorization.clone().transpose().and_then(|authorization| {
                policy.authenticate(authorization, api_key.clone().transpose()?)
            })
        };
        let mut authenticated = authenticate();
        if matches!(
            authenticated,
            Err(AccessError::BadToken(TokenError::UnknownKey))
        ) && let Some(keys) = policy.provider_keys()
        {
            // Checked again whatever the fetch did: another request's fetch may have brought
            // the key meanwhile, and an unknown kid is refused before any signature check.
            keys.fetch_awaited(UNKNOWN_KEY_WAIT).await;
            authenticated = authenticate();
        }
        authenticated
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
            req.method().clone(),
            req.path().to_owned(),
            audited_query(req.path(), req.query_string()),
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
        let write = write_record(&method, &path, &response);
        audit.record(
            &AuditRecord {
                time: state.clock.now_utc(),
                caller: caller_json.unwrap_or_default(),
                client_address: address,
                method: method.as_str(),
                path: &path,
                query: &query,
                resource_type: audited_type.or(resource_type(&path)),
                returned,
                status: response.status().as_u16(),
                latency: started.elapsed(),
                write,
            },
            policy.redaction(),
        );
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_and_etags_name_the_version_written() {
        assert_eq!(
            location_of("http://h/fhir/List/cardio/_history/3", LocalType::List),
            Some(("cardio".into(), Some(3)))
        );
        assert_eq!(
            location_of("/fhir/Subscription/s1", LocalType::Subscription),
            Some(("s1".into(), None))
        );
        assert_eq!(location_of("/fhir/List/", LocalType::List), None);
        assert_eq!(location_of("/fhir/Practitioner/x", LocalType::List), None);
        assert_eq!(version_of_etag("W/\"12\""), Some(12));
        assert_eq!(version_of_etag("\"2\""), Some(2));
        assert_eq!(version_of_etag("W/\"x\""), None);
    }

    #[test]
    fn the_providers_code_and_state_stay_out_of_the_audit_trail() {
        assert_eq!(
            audited_query(paths::SIGNIN_CALLBACK, "code=abc&state=xyz&iss=i"),
            "code=hidden&state=hidden&iss=i"
        );
        assert_eq!(audited_query("/fhir/Practitioner", "code=abc"), "code=abc");
    }

    #[test]
    fn paths_name_served_and_local_types() {
        assert_eq!(resource_type("/fhir/Practitioner/x"), Some("Practitioner"));
        assert_eq!(resource_type("/fhir/List/x/_history"), Some("List"));
        assert_eq!(resource_type("/fhir/Subscription"), Some("Subscription"));
        assert_eq!(resource_type("/fhir/metadata"), None);
    }
}
