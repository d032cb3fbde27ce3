//! CodeSystem: read, search and `$lookup`, over the code systems of the generation served
//! (built from the codes' labels: see [`crate::mapping::codesystem`]).
//!
//! Open like `/fhir/metadata` on a server with access control (see
//! [`super::paths::is_terminology`]): the terminologies are public (the ANS publishes them) and
//! hold no directory data, so no type scope reads them; they are rate-limited per address as
//! the other public paths are. In JSON here, in XML through `format::respond_in_kind` like
//! every other answer.

use std::sync::Arc;

use actix_web::http::header::{self, HttpDate};
use actix_web::{HttpRequest, HttpResponse, web};

use super::conditional::not_modified;
use super::error::ApiError;
use super::handlers::{check_format, read_body};
use super::media::FHIR_JSON;
use super::request::{fhir_base, prefer, query_pairs};
use super::state::AppState;
use crate::generation::Generation;
use crate::mapping::codesystem::CodeSystems;
use crate::search::terminology::{self, LookupMiss};

/// The generation served and its code systems.
fn served(state: &AppState) -> Result<(Arc<Generation>, Arc<CodeSystems>), ApiError> {
    let store = state.current()?;
    let systems = store.code_systems()?;
    Ok((store, systems))
}

/// A JSON answer that changes only with the generation: its validator is the generation's id
/// (and what asked for it), so a client revalidates for free until the next import.
fn generational(req: &HttpRequest, store: &Generation, body: String) -> HttpResponse {
    let etag = format!(
        "W/\"{}-{}\"",
        store.info().id(),
        crate::fhir::short_hash(&format!("{}?{}", req.path(), req.query_string()))
    );
    let last_modified = std::time::SystemTime::from(store.info().import_time().to_datetime());
    if not_modified(req, &etag, Some(last_modified)) {
        return HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .finish();
    }
    HttpResponse::Ok()
        .content_type(FHIR_JSON)
        .insert_header((header::ETAG, etag))
        .insert_header((header::LAST_MODIFIED, HttpDate::from(last_modified)))
        .body(body)
}

/// `GET /fhir/CodeSystem/{id}`.
pub async fn read(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    check_format(&req)?;
    let id = path.into_inner();
    let (store, systems) = served(&state)?;
    let system = systems.by_id(&id).ok_or_else(|| {
        ApiError::NotFound(format!(
            "CodeSystem/{id} is not known to this server (GET CodeSystem lists those it holds)"
        ))
    })?;
    let body = system.resource(&store.info().last_updated).to_string();
    Ok(generational(&req, &store, body))
}

/// `GET /fhir/CodeSystem?...`: every matching system, on one page.
pub async fn search(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    check_format(&req)?;
    let params = query_pairs(req.query_string());
    let request = terminology::parse_search(&params, prefer(&req).is_strict())?;
    let (store, systems) = served(&state)?;
    let base = fhir_base(&req);
    let query = req.query_string();
    let self_link = if query.is_empty() {
        format!("{base}/CodeSystem")
    } else {
        format!("{base}/CodeSystem?{query}")
    };
    let bundle = terminology::search(
        &systems,
        &request,
        &base,
        &self_link,
        &store.info().last_updated,
    );
    Ok(generational(&req, &store, bundle.to_string()))
}

/// `GET /fhir/CodeSystem/$lookup?system=...&code=...`.
pub async fn lookup_get(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    check_format(&req)?;
    let (store, answer) = lookup(&state, query_pairs(req.query_string()), None)?;
    Ok(generational(&req, &store, answer))
}

/// `GET /fhir/CodeSystem/{id}/$lookup?code=...`.
pub async fn lookup_instance_get(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    check_format(&req)?;
    let id = path.into_inner();
    let (store, answer) = lookup(&state, query_pairs(req.query_string()), Some(&id))?;
    Ok(generational(&req, &store, answer))
}

/// `POST /fhir/CodeSystem/$lookup` with a `Parameters` body.
pub async fn lookup_post(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    check_format(&req)?;
    let params = posted_parameters(&req, payload, &state).await?;
    let (_, answer) = lookup(&state, params, None)?;
    Ok(posted(answer))
}

/// `POST /fhir/CodeSystem/{id}/$lookup` with a `Parameters` body.
pub async fn lookup_instance_post(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    check_format(&req)?;
    let params = posted_parameters(&req, payload, &state).await?;
    let (_, answer) = lookup(&state, params, Some(&path.into_inner()))?;
    Ok(posted(answer))
}

/// The answer to a POST: no validator, since it depends on a body a cache does not key on.
fn posted(body: String) -> HttpResponse {
    HttpResponse::Ok().content_type(FHIR_JSON).body(body)
}

/// The query's parameters and those of the `Parameters` resource of the body (FHIR JSON: this
/// server reads no XML).
async fn posted_parameters(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
) -> Result<Vec<(String, String)>, ApiError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let body = read_body(payload, state, "$lookup").await?;
    let is_json = [
        "application/fhir+json",
        "application/json",
        "application/json+fhir",
    ]
    .iter()
    .any(|media| content_type.starts_with(media));
    if !is_json {
        return Err(ApiError::BadRequest(format!(
            "POST $lookup takes a Parameters resource in FHIR JSON (Content-Type: application/fhir+json), not `{content_type}`"
        )));
    }
    let value: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
        ApiError::BadRequest(format!("the $lookup body is not a JSON resource: {e}"))
    })?;
    let mut params: Vec<(String, String)> = query_pairs(req.query_string())
        .into_iter()
        .filter(|(name, _)| crate::search::shared_params::is_presentation(name))
        .collect();
    params.extend(terminology::parameters_body(&value)?);
    Ok(params)
}

/// Answers a `$lookup` (its `Parameters`, and the generation it comes from): on one system
/// (`CodeSystem/{id}/$lookup`) or the one named.
fn lookup(
    state: &AppState,
    params: Vec<(String, String)>,
    id: Option<&str>,
) -> Result<(Arc<Generation>, String), ApiError> {
    let (store, systems) = served(state)?;
    let instance = match id {
        Some(id) => Some(systems.by_id(id).ok_or_else(|| {
            ApiError::NotFound(format!("CodeSystem/{id} is not known to this server"))
        })?),
        None => None,
    };
    let asked = terminology::parse_lookup(&params, instance.map(|s| s.url()))?;
    let answer = terminology::lookup(&systems, &asked)
        .map_err(|miss: LookupMiss| ApiError::NotFound(miss.to_string()))?;
    Ok((store, answer.to_string()))
}
