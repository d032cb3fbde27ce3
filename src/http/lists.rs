//! (package A) `List`: create, read, vread, update (`If-Match` required), delete, history and
//! search, over `local::LocalStore`. See docs/correspondents.md.
//!
//! Bodies are FHIR JSON; answers are FHIR JSON, rewritten as FHIR XML by the format middleware
//! for a client that asks for it (`_format`, `Accept`). Every write is synced to disk before it
//! is answered (the store flushes), then the subscriptions' events of the write are queued and
//! delivery is woken.

use std::sync::Arc;
use std::time::SystemTime;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HttpDate};
use actix_web::{HttpRequest, HttpResponse, guard, web};
use serde_json::{Value, json};

use super::access::{self, Returned};
use super::conditional::not_modified;
use super::error::{ApiError, operation_outcome};
use super::handlers::{check_format, read_body};
use super::media::FHIR_JSON;
use super::request::{fhir_base, if_match_version, prefer, query_pairs};
use super::state::AppState;
use crate::auth::{Caller, LocalAction};
use crate::fhir::FhirId;
use crate::local::search as list_search;
use crate::local::{LocalResource, LocalStore, LocalType, Read, Written, list};

const LIST: LocalType = LocalType::List;

/// `List`'s routes, registered before the generic `/{type}` ones.
pub fn routes(config: &mut web::ServiceConfig) {
    let get_or_head = || web::route().guard(guard::Any(guard::Get()).or(guard::Head()));
    config
        .route("/List", web::post().to(create))
        .route("/List", get_or_head().to(search_get))
        .route("/List/_search", web::post().to(search_post))
        .route("/List/_history", get_or_head().to(history_type))
        .route("/List/{id}", get_or_head().to(read))
        .route("/List/{id}", web::put().to(update))
        .route("/List/{id}", web::delete().to(delete))
        .route("/List/{id}/_history", get_or_head().to(history_instance))
        .route("/List/{id}/_history/{vid}", get_or_head().to(vread));
}

/// The caller, once it may read (`write = false`) or write lists (scopes
/// `system/List.read|write`, v2 `rs`/`cud`).
fn authorized(req: &HttpRequest, state: &AppState, write: bool) -> Result<Arc<Caller>, ApiError> {
    let action = if write {
        LocalAction::Write
    } else {
        LocalAction::Read
    };
    access::authorize_local(req, state, LocalType::List, action)
}

/// Who is recorded as a list's owner: [`Caller::owner`].
fn owner_of(caller: &Caller) -> String {
    caller.owner()
}

fn store(state: &AppState) -> Result<Arc<LocalStore>, ApiError> {
    state.local().cloned()
}

fn list_id(id: &str) -> Result<FhirId, ApiError> {
    Ok(FhirId::parse(id)?)
}

/// `POST /List`: a new list under an id the server chooses.
async fn create(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let caller = authorized(&req, &state, true)?;
    let local = store(&state)?;
    let body = list_body(&req, read_body(payload, &state, "List").await?, None)?;
    let owner = owner_of(&caller);
    let generations = state.clone();
    let written = web::block(move || {
        let body = flagged(&generations, body)?;
        Ok::<_, ApiError>(local.create(LIST, body, &owner)?)
    })
    .await
    .map_err(blocked)??;
    after_write(&state).await;
    Ok(written_response(&req, &written))
}

/// `PUT /List/{id}`: updates the list (`If-Match` required) or creates it with that id.
async fn update(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let caller = authorized(&req, &state, true)?;
    let local = store(&state)?;
    let id = list_id(&path.into_inner())?;
    let body = list_body(
        &req,
        read_body(payload, &state, "List").await?,
        Some(id.as_str()),
    )?;
    let if_match = if_match_version(&req)?;
    let owner = owner_of(&caller);
    let generations = state.clone();
    let written = web::block(move || {
        let body = flagged(&generations, body)?;
        Ok::<_, ApiError>(local.update(LIST, id.as_str(), body, if_match, &owner)?)
    })
    .await
    .map_err(blocked)??;
    after_write(&state).await;
    Ok(written_response(&req, &written))
}

/// `DELETE /List/{id}`: 204 (or 200 with an OperationOutcome under
/// `Prefer: return=OperationOutcome`); 404 when there is no such list.
async fn delete(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    authorized(&req, &state, true)?;
    let local = store(&state)?;
    let id = list_id(&path.into_inner())?;
    let if_match = if_match_version(&req)?;
    let target = id.clone();
    let deleted = web::block(move || local.delete(LIST, target.as_str(), if_match))
        .await
        .map_err(blocked)??;
    let Some(deleted) = deleted else {
        return Err(ApiError::NotFound(format!("no List `{id}` to delete")));
    };
    after_write(&state).await;
    let mut response = if returns(&req) == Return::OperationOutcome {
        HttpResponse::Ok().content_type(FHIR_JSON).body(
            operation_outcome(
                "information",
                "informational",
                &format!("List/{id} deleted (version {})", deleted.version),
            )
            .to_string(),
        )
    } else {
        HttpResponse::NoContent().finish()
    };
    response
        .headers_mut()
        .insert(header::ETAG, etag(deleted.version).parse().expect("ETag"));
    Ok(response)
}

/// `GET /List/{id}`.
async fn read(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    check_format(&req)?;
    authorized(&req, &state, false)?;
    let local = store(&state)?;
    let id = list_id(&path.into_inner())?;
    match local.read(LIST, id.as_str())? {
        Read::Found(list) => Ok(resource_response(&req, &list, StatusCode::OK)),
        Read::Gone(deletion) => Err(gone(&deletion)),
        Read::Missing => Err(ApiError::NotFound(format!("no List `{id}`"))),
    }
}

/// `GET /List/{id}/_history/{vid}`.
async fn vread(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    check_format(&req)?;
    authorized(&req, &state, false)?;
    let local = store(&state)?;
    let (id, vid) = path.into_inner();
    let id = list_id(&id)?;
    let missing = || ApiError::NotFound(format!("List/{id} has no version `{vid}`"));
    let version: u32 = vid.parse().map_err(|_| missing())?;
    match local.vread(LIST, id.as_str(), version)? {
        Some(found) if found.deleted => Err(gone(&found)),
        Some(found) => Ok(resource_response(&req, &found, StatusCode::OK)),
        None => Err(missing()),
    }
}

/// `GET /List/{id}/_history`: every version, newest first (deletions without a resource).
async fn history_instance(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    check_format(&req)?;
    authorized(&req, &state, false)?;
    let local = store(&state)?;
    let id = list_id(&path.into_inner())?;
    let versions = local.history(LIST, id.as_str())?;
    if versions.is_empty() {
        return Err(ApiError::NotFound(format!("no List `{id}`")));
    }
    Ok(history_response(&req, versions))
}

/// `GET /List/_history[?_since=…&_count=…]`.
async fn history_type(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    check_format(&req)?;
    authorized(&req, &state, false)?;
    let local = store(&state)?;
    let mut since = None;
    let mut count = crate::search::shared_params::Count::DEFAULT.get();
    for (name, value) in query_pairs(req.query_string()) {
        match name.as_str() {
            "_since" => {
                let instant = crate::search::shared_params::Since::parse(&value)?.instant();
                since = Some(instant.to_datetime());
            }
            "_count" => count = crate::search::shared_params::Count::parse(&value)?.get(),
            other if crate::search::shared_params::is_presentation(other) => {}
            other => {
                return Err(ApiError::BadRequest(format!(
                    "List/_history takes _since and _count, not `{other}`"
                )));
            }
        }
    }
    let mut versions = local.history_type(LIST, since)?;
    versions.truncate(count);
    Ok(history_response(&req, versions))
}

/// `GET /List?…`.
async fn search_get(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let params = query_pairs(req.query_string());
    search(req, params, state).await
}

/// `POST /List/_search` (form body).
async fn search_post(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let body = read_body(payload, &state, "_search").await?;
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
    search(req, params, state).await
}

async fn search(
    req: HttpRequest,
    params: Vec<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    check_format(&req)?;
    authorized(&req, &state, false)?;
    let local = store(&state)?;
    let query = list_search::parse(&params, prefer(&req).is_strict())?;
    let now = crate::generation::record::Millis::from_datetime(state.clock.now_utc()).0;
    let found = list_search::run(&local, &query, now)?;
    let base = fhir_base(&req);
    let self_link = format!(
        "{base}/List?{}",
        form_urlencoded::Serializer::new(String::new())
            .extend_pairs(&query.applied)
            .finish()
    );
    let mut entries: Vec<Value> = found
        .page
        .iter()
        .map(|list| {
            json!({
                "fullUrl": format!("{base}/List/{}", list.id),
                "resource": list.json,
                "search": {"mode": "match"},
            })
        })
        .collect();
    if !query.ignored.is_empty() {
        let text = format!("ignored: {}", query.ignored.join("; "));
        entries.push(json!({
            "resource": operation_outcome("warning", "not-supported", &text),
            "search": {"mode": "outcome"},
        }));
    }
    let returned = found.page.len() as u64;
    let bundle = json!({
        "resourceType": "Bundle",
        "type": "searchset",
        "total": found.total,
        "link": [{"relation": "self", "url": self_link}],
        "entry": entries,
    });
    let mut response = HttpResponse::Ok()
        .content_type(FHIR_JSON)
        .body(bundle.to_string());
    response.extensions_mut().insert(Returned(returned));
    Ok(response)
}

/// The List of a write's body, checked; `id`: the id of the path, which the body's must match.
fn list_body(req: &HttpRequest, body: web::Bytes, id: Option<&str>) -> Result<Value, ApiError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if content_type.contains("xml") {
        return Err(ApiError::BadRequest(
            "send the List as FHIR JSON (application/fhir+json); answers can be FHIR XML".into(),
        ));
    }
    let value: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("the body is not JSON: {e}")))?;
    match (id, value.get("id").and_then(Value::as_str)) {
        (Some(path), Some(body)) if path != body => {
            return Err(ApiError::BadRequest(format!(
                "the body's id `{body}` is not the id of the URL `{path}`"
            )));
        }
        (None, Some(_)) => {
            return Err(ApiError::BadRequest(
                "a List created by POST gets its id from the server: leave `id` out (or PUT to List/[id])".into(),
            ));
        }
        _ => {}
    }
    list::check(&value)?;
    Ok(value)
}

/// Flags the members of a list about to be written as the served generation sees them, so
/// that a hospital sees at once which correspondents are gone (reflag keeps them current
/// after each import). Without a generation yet, the list is stored as sent.
fn flagged(state: &AppState, mut list: Value) -> Result<Value, ApiError> {
    if let Some(current) = state.generations.current() {
        list::flag_entries(&mut list, &current)?;
    }
    Ok(list)
}

/// What `Prefer: return=` asks a write to answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Return {
    Minimal,
    Representation,
    OperationOutcome,
}

fn returns(req: &HttpRequest) -> Return {
    let asked = req
        .headers()
        .get_all("prefer")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split([',', ';']))
        .find_map(|part| part.trim().strip_prefix("return="));
    match asked {
        Some("minimal") => Return::Minimal,
        Some(p) if p.eq_ignore_ascii_case("OperationOutcome") => Return::OperationOutcome,
        _ => Return::Representation,
    }
}

fn etag(version: u32) -> String {
    format!("W/\"{version}\"")
}

fn last_modified(resource: &LocalResource) -> HttpDate {
    HttpDate::from(SystemTime::from(resource.last_updated))
}

/// A write's answer: 201 or 200, `Location`, `ETag`, `Last-Modified`, and the body `Prefer`
/// asks for.
fn written_response(req: &HttpRequest, written: &Written) -> HttpResponse {
    let resource = &written.resource;
    let status = if written.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let location = format!(
        "{}/List/{}/_history/{}",
        fhir_base(req),
        resource.id,
        resource.version
    );
    let mut response = HttpResponse::build(status);
    response
        .insert_header((header::LOCATION, location))
        .insert_header((header::ETAG, etag(resource.version)))
        .insert_header((header::LAST_MODIFIED, last_modified(resource)));
    match returns(req) {
        Return::Minimal => response.finish(),
        Return::OperationOutcome => response.content_type(FHIR_JSON).body(
            operation_outcome(
                "information",
                "informational",
                &format!(
                    "List/{} {} (version {})",
                    resource.id,
                    if written.created {
                        "created"
                    } else {
                        "updated"
                    },
                    resource.version
                ),
            )
            .to_string(),
        ),
        Return::Representation => response
            .content_type(FHIR_JSON)
            .body(resource.json.to_string()),
    }
}

/// A read's answer (304 when the client's copy is current).
fn resource_response(req: &HttpRequest, list: &LocalResource, status: StatusCode) -> HttpResponse {
    let etag = etag(list.version);
    let modified = SystemTime::from(list.last_updated);
    if not_modified(req, &etag, Some(modified)) {
        return HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .finish();
    }
    let mut response = HttpResponse::build(status)
        .content_type(FHIR_JSON)
        .insert_header((header::ETAG, etag))
        .insert_header((header::LAST_MODIFIED, last_modified(list)))
        .body(list.json.to_string());
    response.extensions_mut().insert(Returned(1));
    response
}

fn gone(deletion: &LocalResource) -> ApiError {
    ApiError::Gone(format!(
        "List/{} was deleted at {} (version {})",
        deletion.id,
        crate::generation::record::Millis::from_datetime(deletion.last_updated).to_rfc3339(),
        deletion.version
    ))
}

/// A history Bundle of `versions` (newest first).
fn history_response(req: &HttpRequest, versions: Vec<LocalResource>) -> HttpResponse {
    let base = fhir_base(req);
    let entries: Vec<Value> = versions
        .iter()
        .map(|v| {
            let url = format!("{base}/List/{}", v.id);
            let modified =
                crate::generation::record::Millis::from_datetime(v.last_updated).to_rfc3339();
            let mut entry = json!({
                "fullUrl": url,
                "request": {
                    "method": if v.deleted { "DELETE" } else if v.version == 1 { "POST" } else { "PUT" },
                    "url": if v.version == 1 && !v.deleted { "List".to_string() } else { format!("List/{}", v.id) },
                },
                "response": {
                    "status": if v.deleted { "204" } else if v.version == 1 { "201" } else { "200" },
                    "etag": etag(v.version),
                    "lastModified": modified,
                },
            });
            if !v.deleted {
                entry["resource"] = v.json.clone();
            }
            entry
        })
        .collect();
    let bundle = json!({
        "resourceType": "Bundle",
        "type": "history",
        "total": entries.len(),
        "link": [{"relation": "self", "url": format!("{base}{}", req.uri().path_and_query().map(|p| p.as_str().trim_start_matches("/fhir")).unwrap_or(""))}],
        "entry": entries,
    });
    let mut response = HttpResponse::Ok()
        .content_type(FHIR_JSON)
        .body(bundle.to_string());
    response
        .extensions_mut()
        .insert(Returned(versions.len() as u64));
    response
}

/// Queues the subscriptions' events of the write now (rather than at the watcher's next
/// tick) and wakes delivery. A failure is logged: the events are queued at the next switch or
/// start (the notifier keeps its watermark).
async fn after_write(state: &AppState) {
    let Ok(notifier) = state.notifier().cloned() else {
        return;
    };
    let generations = state.generations.clone();
    let queued = {
        let notifier = notifier.clone();
        web::block(move || notifier.after_local_writes(&generations)).await
    };
    match queued {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::warn!("cannot queue the events of a list write yet: {e}"),
        Err(e) => tracing::warn!("cannot queue the events of a list write yet: {e}"),
    }
    notifier.wake().notify_waiters();
}

fn blocked(e: actix_web::error::BlockingError) -> ApiError {
    ApiError::Unavailable(format!("the write could not run: {e}"))
}
