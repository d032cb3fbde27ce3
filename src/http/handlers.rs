//! Request handlers: metadata and read.

use std::str::FromStr;
use std::time::SystemTime;

use actix_web::http::header::{self, HttpDate};
use actix_web::{HttpRequest, HttpResponse, web};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::access::{Returned, caller};
use super::error::ApiError;
use super::{AppState, FHIR_JSON};
use crate::fhir::{FhirId, ResourceType};

/// `GET /fhir/metadata`.
pub async fn metadata(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    check_format(&req)?;
    Ok(HttpResponse::Ok()
        .content_type(FHIR_JSON)
        .body(state.capability.as_ref().clone()))
}

/// `GET /fhir/{type}/{id}`: the stored bytes, with `ETag` and `Last-Modified` from the
/// generation (every resource of an import shares its versionId and lastUpdated).
pub async fn read(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    check_format(&req)?;
    let (type_name, id) = path.into_inner();
    let rtype = resource_type(&type_name)?;
    let caller = caller(&req);
    let policy = &state.access.policy;
    policy
        .authorize_read(&caller, rtype)
        .map_err(|error| access_error(policy, error))?;
    let id = FhirId::parse(&id)?;
    let store = state.current();
    let info = store.info();
    let etag = format!("W/\"{}\"", info.number);
    let last_modified = OffsetDateTime::parse(&info.last_updated, &Rfc3339)
        .map(SystemTime::from)
        .ok();
    // sled reads are served from its page cache or the OS's: fast enough to stay on the
    // async worker rather than pay a thread hop per request.
    let Some(json) = store.read(rtype, &id)? else {
        return Err(ApiError::NotFound(format!(
            "{rtype}/{id} is not known to this server"
        )));
    };
    if not_modified(&req, &etag, last_modified) {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .finish());
    }
    let mut response = HttpResponse::Ok();
    response
        .content_type(FHIR_JSON)
        .insert_header((header::ETAG, etag));
    if let Some(time) = last_modified {
        response.insert_header((header::LAST_MODIFIED, HttpDate::from(time)));
    }
    let json = if caller.permissions.restricted {
        json
    } else {
        policy.redaction().apply(rtype, &json).into_owned()
    };
    let mut response = response.body(json);
    response.extensions_mut().insert(Returned(1));
    Ok(response)
}

fn access_error(policy: &crate::auth::Access, error: crate::auth::AccessError) -> ApiError {
    ApiError::Access {
        error,
        realm: policy.realm().to_owned(),
    }
}

/// `GET /.well-known/smart-configuration` (also under `/fhir`): the authorization server's
/// endpoints and the scopes this server understands.
pub async fn smart_configuration(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let body = state.access.policy.smart_configuration().ok_or_else(|| {
        ApiError::NotFound(
            "this server has no SMART authorization server configured (`[auth.smart]`)".into(),
        )
    })?;
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        .body(body.to_string()))
}

/// Any other method on a resource: this server is read-only.
pub async fn read_only(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed(format!(
        "{} is not allowed: this server is read-only (GET only)",
        req.method()
    )))
}

/// Other methods on `/fhir/{type}`: this server is read-only.
pub async fn type_level(
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    resource_type(&path.into_inner())?;
    read_only(req).await
}

/// `GET /fhir/{type}?...`.
pub async fn search_get(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let params = query_pairs(req.query_string());
    search(req, &path.into_inner(), params, state).await
}

/// `POST /fhir/{type}/_search` with a form body (and possibly query parameters too).
pub async fn search_post(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !body.is_empty() && !content_type.starts_with("application/x-www-form-urlencoded") {
        return Err(ApiError::BadRequest(format!(
            "POST _search takes an application/x-www-form-urlencoded body, not `{content_type}`"
        )));
    }
    let body = std::str::from_utf8(&body)
        .map_err(|_| ApiError::BadRequest("the _search form body is not UTF-8".into()))?;
    let mut params = query_pairs(req.query_string());
    params.extend(query_pairs(body));
    search(req, &path.into_inner(), params, state).await
}

fn query_pairs(query: &str) -> Vec<(String, String)> {
    web::Query::<Vec<(String, String)>>::from_query(query)
        .map(|q| q.into_inner())
        .unwrap_or_default()
}

async fn search(
    req: HttpRequest,
    type_name: &str,
    params: Vec<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    check_format(&req)?;
    let rtype = resource_type(type_name)?;
    let strict =
        crate::search::query::is_strict(req.headers().get("prefer").and_then(|v| v.to_str().ok()));
    let mut request = crate::search::query::parse(rtype, &params, strict)?;
    let caller = caller(&req);
    let policy = state.access.policy.clone();
    policy
        .authorize_search(&caller, &request)
        .map_err(|error| access_error(&policy, error))?;
    let redaction = if caller.permissions.restricted {
        crate::auth::Redaction::none()
    } else {
        policy.redaction().clone()
    };
    let base = fhir_base(&req);
    request.localize_references(&base);
    let store = request
        .cursor
        .as_ref()
        .and_then(|cursor| cursor.pinned_generation())
        .and_then(|number| state.generations.get(number))
        .unwrap_or_else(|| state.current());
    let output = if request.is_point_lookup() {
        crate::search::run(store.as_ref(), &request, &base, &redaction)?
    } else {
        web::block(move || crate::search::run(store.as_ref(), &request, &base, &redaction))
            .await
            .map_err(|e| ApiError::Unavailable(format!("the search could not run: {e}")))??
    };
    let mut response = HttpResponse::Ok()
        .content_type(FHIR_JSON)
        .body(output.bundle);
    response.extensions_mut().insert(Returned(output.returned));
    Ok(response)
}

/// `GET /fhir/SearchParameter/{id}`: a declared search parameter.
pub async fn search_parameter(
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    check_format(&req)?;
    let id = path.into_inner();
    let declarations = crate::conformance::search_parameters();
    let declaration = declarations
        .iter()
        .find(|d| crate::conformance::search_parameter_id(d) == id)
        .ok_or_else(|| {
            ApiError::NotFound(format!("SearchParameter/{id} is not known to this server"))
        })?;
    let resource = crate::conformance::search_parameter_resource(declaration);
    Ok(HttpResponse::Ok()
        .content_type(FHIR_JSON)
        .body(resource.to_string()))
}

/// `GET /fhir/SearchParameter`: every declared search parameter, in one searchset Bundle.
pub async fn search_parameters(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    check_format(&req)?;
    let base = fhir_base(&req);
    let entries: Vec<serde_json::Value> = crate::conformance::search_parameters()
        .iter()
        .map(|d| {
            let resource = crate::conformance::search_parameter_resource(d);
            serde_json::json!({
                "fullUrl": format!("{base}/SearchParameter/{}", resource["id"].as_str().unwrap_or_default()),
                "resource": resource,
                "search": {"mode": "match"},
            })
        })
        .collect();
    let bundle = serde_json::json!({
        "resourceType": "Bundle",
        "id": "search-parameters",
        "type": "searchset",
        "total": entries.len(),
        "link": [{"relation": "self", "url": format!("{base}/SearchParameter")}],
        "entry": entries,
    });
    Ok(HttpResponse::Ok()
        .content_type(FHIR_JSON)
        .body(bundle.to_string()))
}

pub async fn unknown_path(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound(format!(
        "no FHIR endpoint at {}; the FHIR base is /fhir (try /fhir/metadata)",
        req.path()
    )))
}

fn resource_type(name: &str) -> Result<ResourceType, ApiError> {
    ResourceType::from_str(name).map_err(|_| {
        let served: Vec<&str> = ResourceType::ALL.iter().map(|t| t.as_str()).collect();
        ApiError::NotFound(format!(
            "resource type `{name}` is not served here; this server serves {}",
            served.join(", ")
        ))
    })
}

/// The FHIR base URL as the client reached it (scheme and host it came through).
fn fhir_base(req: &HttpRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}/fhir", info.scheme(), info.host())
}

/// `If-None-Match` (weak comparison, `*`) or, without it, `If-Modified-Since`.
fn not_modified(req: &HttpRequest, etag: &str, last_modified: Option<SystemTime>) -> bool {
    if let Some(value) = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    {
        let weak = |tag: &str| tag.trim().trim_start_matches("W/").to_owned();
        return value
            .split(',')
            .any(|tag| tag.trim() == "*" || weak(tag) == weak(etag));
    }
    let since = req
        .headers()
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<HttpDate>().ok())
        .map(SystemTime::from);
    matches!((since, last_modified), (Some(since), Some(modified)) if modified <= since)
}

/// JSON is the only format: `_format` or `Accept` asking for anything else gets 406.
fn check_format(req: &HttpRequest) -> Result<(), ApiError> {
    let query = web::Query::<Vec<(String, String)>>::from_query(req.query_string())
        .map(|q| q.into_inner())
        .unwrap_or_default();
    if let Some((_, format)) = query.iter().find(|(k, _)| k == "_format") {
        if !is_json_media(format) {
            return Err(ApiError::NotAcceptable(format!(
                "_format={format} is not available: this server speaks FHIR JSON only (_format=json)"
            )));
        }
        return Ok(());
    }
    if let Some(accept) = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
    {
        let acceptable = accept
            .split(',')
            .map(|item| item.split(';').next().unwrap_or("").trim())
            .any(|media| media.is_empty() || is_json_media(media));
        if !acceptable {
            return Err(ApiError::NotAcceptable(format!(
                "cannot answer in `{accept}`: this server speaks FHIR JSON only (application/fhir+json)"
            )));
        }
    }
    Ok(())
}

fn is_json_media(media: &str) -> bool {
    // An unencoded `+` in a query string (`_format=application/fhir+json`) arrives as a space.
    matches!(
        media.trim().replace(' ', "+").to_ascii_lowercase().as_str(),
        "json"
            | "application/json"
            | "application/fhir+json"
            | "application/json+fhir"
            | "*/*"
            | "application/*"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_media_types() {
        assert!(is_json_media("application/fhir+json"));
        assert!(is_json_media("JSON"));
        assert!(!is_json_media("application/fhir+xml"));
        assert!(
            is_json_media("application/fhir json"),
            "`+` decoded as a space"
        );
    }
}
