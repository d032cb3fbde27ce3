//! Request handlers: metadata, read, vread, history and search.

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use actix_web::http::header::{self, HttpDate};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};

use super::access::{Returned, SearchedQuery, Work, caller};
use super::conditional::not_modified;
use super::error::ApiError;
use super::format::negotiate;
use super::media::{FHIR_JSON, FHIR_XML};
use super::request::{fhir_base, prefer, query_pairs};
use super::state::AppState;
use crate::auth::Caller;
use crate::fhir::{FhirId, ResourceType};
use crate::generation::history::Kind;
use crate::generation::{Generation, StoredResource};
use crate::local::members::StoredLists;
use crate::search::Context;
use crate::search::history::Scope;
use crate::search::limits::Budget;
use crate::search::lists::ListMembers;
use crate::search::shared_params::Format;

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

/// `GET /fhir/{type}/{id}`: the current version, with its `ETag` and `Last-Modified`; 410 for
/// a resource deleted after its retention.
pub async fn read(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    check_format(&req)?;
    let (type_name, id) = path.into_inner();
    let (rtype, id, caller) = authorized_read(&req, &state, &type_name, &id)?;
    let store = state.current()?;
    // A read is a sled step to the id's block, then slices of the mapped generation files:
    // fast enough to stay on the async worker rather than pay a thread hop per request.
    match store.read(rtype, &id)? {
        Some(resource) => Ok(versioned(&req, &state, &caller, rtype, resource)),
        None => Err(absent(store.as_ref(), rtype, &id)?),
    }
}

/// `GET /fhir/{type}/{id}/_history/{vid}`: one version, current or past; 410 for the version
/// a deletion made.
pub async fn vread(
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    check_format(&req)?;
    let (type_name, id, vid) = path.into_inner();
    let (rtype, id, caller) = authorized_read(&req, &state, &type_name, &id)?;
    let store = state.current()?;
    let unknown = || ApiError::NotFound(format!("{rtype}/{id} has no version `{vid}`"));
    let number: u32 = vid.parse().map_err(|_| unknown())?;
    if let Some(current) = store.read(rtype, &id)?
        && current.version.number == number
    {
        return Ok(versioned(&req, &state, &caller, rtype, current));
    }
    let history = store.history(rtype, &id)?;
    let entry = history
        .iter()
        .find(|e| e.version.number == number)
        .ok_or_else(unknown)?;
    match store.past_version(entry)? {
        Some(resource) => Ok(versioned(&req, &state, &caller, rtype, resource)),
        None => Err(ApiError::Gone(format!(
            "version {number} of {rtype}/{id} is its deletion ({})",
            entry.version.last_updated.to_rfc3339()
        ))),
    }
}

/// The type and id of a read, checked, once the caller may read the type.
pub(super) fn authorized_read(
    req: &HttpRequest,
    state: &AppState,
    type_name: &str,
    id: &str,
) -> Result<(ResourceType, FhirId, Arc<Caller>), ApiError> {
    let (rtype, caller) = authorized_type(req, state, type_name)?;
    let id = FhirId::parse(id)?;
    Ok((rtype, id, caller))
}

/// The type named in the path, checked, once the caller may read it.
pub(super) fn authorized_type(
    req: &HttpRequest,
    state: &AppState,
    type_name: &str,
) -> Result<(ResourceType, Arc<Caller>), ApiError> {
    let rtype = resource_type(type_name)?;
    let caller = caller(req);
    let policy = &state.access.policy;
    policy
        .authorize_read(&caller, rtype)
        .map_err(|error| ApiError::refused(policy, error))?;
    Ok((rtype, caller))
}

/// Why a resource is not there: deleted (410, with when), or never known (404).
pub(super) fn absent(
    store: &Generation,
    rtype: ResourceType,
    id: &FhirId,
) -> Result<ApiError, ApiError> {
    let history = store.history(rtype, id)?;
    Ok(match history.last() {
        Some(last) if last.kind == Kind::Deleted => ApiError::Gone(format!(
            "{rtype}/{id} was deleted on {} (it had left the extractions more than the retention before); its history is at {rtype}/{id}/_history",
            last.version.last_updated.to_rfc3339()
        )),
        _ => ApiError::NotFound(format!("{rtype}/{id} is not known to this server")),
    })
}

/// A resource version as the response: its bytes (redacted as the caller must see them), its
/// `ETag` and `Last-Modified`, or 304 when the client's copy is that version.
fn versioned(
    req: &HttpRequest,
    state: &AppState,
    caller: &Caller,
    rtype: ResourceType,
    resource: StoredResource,
) -> HttpResponse {
    let redaction = state.access.policy.redaction_for(caller);
    let redacted = !redaction.elements(rtype).is_empty();
    // A redacted representation is another representation: its own validator, so that a cache
    // never answers a caller allowed the full resource with the redacted one, or the reverse.
    let etag = if redacted {
        format!("W/\"{}-redacted\"", resource.version.number)
    } else {
        resource.version.etag()
    };
    let last_modified = SystemTime::from(resource.version.last_updated.to_datetime());
    if not_modified(req, &etag, Some(last_modified)) {
        return HttpResponse::NotModified()
            .insert_header((header::ETAG, etag))
            .finish();
    }
    let json = resource.to_json();
    let json = if redacted {
        redaction.apply(rtype, &json).into_owned()
    } else {
        json
    };
    let mut response = HttpResponse::Ok()
        .content_type(FHIR_JSON)
        .insert_header((header::ETAG, etag))
        .insert_header((header::LAST_MODIFIED, HttpDate::from(last_modified)))
        .body(json);
    response.extensions_mut().insert(Returned(1));
    response
}

/// `GET /fhir/{type}/{id}/_history`.
pub async fn history_instance(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (type_name, id) = path.into_inner();
    let (rtype, id, _) = authorized_read(&req, &state, &type_name, &id)?;
    history(req, state, Scope::Instance(rtype, id)).await
}

/// `GET /fhir/{type}/_history`.
pub async fn history_type(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let rtype = resource_type(&path.into_inner())?;
    history(req, state, Scope::Type(rtype)).await
}

/// `GET /fhir/_history`.
pub async fn history_system(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    history(req, state, Scope::System).await
}

async fn history(
    req: HttpRequest,
    state: web::Data<AppState>,
    scope: Scope,
) -> Result<HttpResponse, ApiError> {
    check_format(&req)?;
    let caller = caller(&req);
    let policy = state.access.policy.clone();
    for rtype in ResourceType::ALL {
        if match &scope {
            Scope::Instance(t, _) | Scope::Type(t) => *t == rtype,
            Scope::System => true,
        } {
            policy
                .authorize_read(&caller, rtype)
                .map_err(|error| ApiError::refused(&policy, error))?;
        }
    }
    let request =
        crate::search::history::parse(scope, &query_pairs(req.query_string()), &state.cursor_key)?;
    let store = state.current()?;
    run_search(&req, &state, &caller, Lane::Queued, move |context| {
        crate::search::history::run(store.as_ref(), &request, context)
    })
    .await
}

/// Where a search runs: cheap point lookups on the HTTP worker itself (a thread hop costs more
/// than they do), everything else in a slot of the admission queue, on the blocking pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Lane {
    Inline,
    Queued,
}

/// Runs a search or a history page for `caller`: stopped at its deadline or when the client
/// goes away, its time charged to the caller's rate limit, its Bundle answered.
pub(super) async fn run_search(
    req: &HttpRequest,
    state: &AppState,
    caller: &Caller,
    lane: Lane,
    search: impl FnOnce(&Context) -> Result<crate::search::SearchOutput, crate::search::SearchError>
    + Send
    + 'static,
) -> Result<HttpResponse, ApiError> {
    let redaction = state.access.policy.redaction_for(caller);
    let base = fhir_base(req);
    // The XML is written where the search ran (in its slot, on the blocking pool) and its time
    // charged with the search's: 1 000 resources take longer to write as XML than to find.
    let format = negotiate(req)?;
    let limits = state.limits;
    let cursor_key = state.cursor_key.clone();
    let budget = Budget::new(&limits, &state.clock);
    let now = state.clock.now_utc();
    // Dropped with this handler's future when the client goes away: the search stops.
    let cancel = budget.cancel_on_drop();
    let local = state.local.clone();
    let timed = move || {
        let started = Instant::now();
        let stored_lists = local.as_deref().map(StoredLists);
        let context = Context {
            lists: stored_lists.as_ref().map(|l| l as &dyn ListMembers),
            base: &base,
            redaction: &redaction,
            limits: &limits,
            budget: &budget,
            now,
            cursor_key: &cursor_key,
        };
        let output = search(&context).map(|output| written_as(format, output));
        (output, started.elapsed())
    };
    let (output, work) = match lane {
        Lane::Inline => timed(),
        Lane::Queued => {
            let _in_progress = crate::metrics::InProgress::enter(&state.metrics);
            let slot = state
                .admission
                .enter()
                .await
                .map_err(|full| ApiError::Overloaded(full.to_string()))?;
            // The slot is given back as soon as the search ends on its thread, not when this
            // handler is next polled (held until then, slots sat idle while the HTTP workers
            // were busy: 15 to 25 % of the throughput of heavy searches).
            web::block(move || {
                let _slot = slot;
                timed()
            })
            .await
            .map_err(|e| ApiError::Unavailable(format!("the search could not run: {e}")))?
        }
    };
    cancel.disarm();
    let (output, content_type) = match output {
        Ok(Ok(written)) => written,
        Ok(Err(error)) => return Ok(charged(error, work)),
        Err(error) => return Ok(charged(error.into(), work)),
    };
    let mut response = HttpResponse::Ok()
        .content_type(content_type)
        .body(output.bundle);
    response.extensions_mut().insert(Returned(output.returned));
    response.extensions_mut().insert(Work(work));
    Ok(response)
}

/// A search's Bundle in the format asked for, with its media type: FHIR XML is written here,
/// inside the search's slot, rather than by `format::respond_in_kind` after the slot is given
/// back (which would leave the rewrite out of the queue and of the caller's charge).
fn written_as(
    format: Format,
    mut output: crate::search::SearchOutput,
) -> Result<(crate::search::SearchOutput, &'static str), ApiError> {
    if format != Format::Xml {
        return Ok((output, FHIR_JSON));
    }
    output.bundle = crate::fhir::xml::from_json(&output.bundle).map_err(|e| {
        tracing::error!("{e}");
        ApiError::Unavailable(
            "the answer could not be written as XML; ask for JSON (_format=json)".into(),
        )
    })?;
    Ok((output, FHIR_XML))
}

/// The answer to a search that failed after working (stopped at its deadline, say): its work
/// is charged to the caller like a completed one's.
fn charged(error: ApiError, work: Duration) -> HttpResponse {
    let mut response = error.error_response();
    response.extensions_mut().insert(Work(work));
    response
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
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body = read_body(payload, &state, "_search").await?;
    if !body.is_empty() && !content_type.starts_with("application/x-www-form-urlencoded") {
        return Err(ApiError::BadRequest(format!(
            "POST _search takes an application/x-www-form-urlencoded body, not `{content_type}`"
        )));
    }
    let body = std::str::from_utf8(&body)
        .map_err(|_| ApiError::BadRequest("the _search form body is not UTF-8".into()))?;
    let mut params = query_pairs(req.query_string());
    params.extend(query_pairs(body));
    // The audit trail records what was searched, body included (redacted as a query is).
    let searched = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&params)
        .finish();
    // Refusals too: a search refused for a restricted element is what the audit is for.
    let mut response = search(req, &path.into_inner(), params, state)
        .await
        .unwrap_or_else(|error| error.error_response());
    response.extensions_mut().insert(SearchedQuery(searched));
    Ok(response)
}

/// A request body within its size and time limits (a slow or huge one holds no worker);
/// `what` names it in the refusals (`_search`, `$lookup`).
pub(super) async fn read_body(
    payload: web::Payload,
    state: &AppState,
    what: &str,
) -> Result<web::Bytes, ApiError> {
    let limits = state.limits;
    tokio::time::timeout(
        std::time::Duration::from_millis(limits.body_timeout_ms),
        payload.to_bytes_limited(limits.max_body_bytes),
    )
    .await
    .map_err(|_| {
        ApiError::Timeout(format!(
            "the {what} body did not arrive within {} ms (limit `limits.body_timeout_ms`)",
            limits.body_timeout_ms
        ))
    })?
    .map_err(|_| {
        ApiError::TooLarge(format!(
            "the {what} body is larger than {} bytes (limit `limits.max_body_bytes`)",
            limits.max_body_bytes
        ))
    })?
    .map_err(|e| ApiError::BadRequest(format!("the {what} body could not be read: {e}")))
}

async fn search(
    req: HttpRequest,
    type_name: &str,
    params: Vec<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    check_format(&req)?;
    let rtype = resource_type(type_name)?;
    let strict = prefer(&req).is_strict();
    let limits = state.limits;
    let mut request =
        crate::search::query::parse_within(rtype, &params, strict, &limits, &state.cursor_key)?;
    let caller = caller(&req);
    let policy = state.access.policy.clone();
    policy
        .authorize_search(&caller, &request)
        .map_err(|error| ApiError::refused(&policy, error))?;
    if !request.lists.is_empty() {
        // `_list` reads the local store: the writer's (421 on a replica). Reading the lists
        // themselves is checked with List's scopes by access control (package D).
        state.local()?;
    }
    request.localize_references(&fhir_base(&req));
    let store =
        state.generation_for(request.cursor.as_ref().and_then(|c| c.pinned_generation()))?;
    let lane = if request.is_point_lookup() {
        Lane::Inline
    } else {
        Lane::Queued
    };
    run_search(&req, &state, &caller, lane, move |context| {
        crate::search::run(store.as_ref(), &request, context)
    })
    .await
}

/// `GET /fhir/SearchParameter/{id}`: a declared search parameter.
pub async fn search_parameter(
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    check_format(&req)?;
    let id = path.into_inner();
    let declarations = crate::conformance::served_search_parameters();
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
    let entries: Vec<serde_json::Value> = crate::conformance::served_search_parameters()
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

pub(super) fn resource_type(name: &str) -> Result<ResourceType, ApiError> {
    ResourceType::from_str(name).map_err(|_| {
        ApiError::NotFound(format!(
            "resource type `{name}` is not served here; this server serves {} (and CodeSystem: read, search and $lookup only)",
            ResourceType::names()
        ))
    })
}

/// The client asked for a format the server speaks (JSON or XML; the XML is written by
/// `format::respond_in_kind`), else 406.
pub(super) fn check_format(req: &HttpRequest) -> Result<(), ApiError> {
    negotiate(req).map(|_| ())
}
