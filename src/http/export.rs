//! Bulk Data export over HTTP: the kick-off (`GET /fhir/$export`), the status (`GET` and
//! `DELETE /fhir/_export/{job}`) and the files (`GET /fhir/_export/{job}/{file}`), as Bulk
//! Data Access 2.0.0 describes them. The work itself is [`crate::export`]'s.
//!
//! A job is reached only by the identity that started it, and only while it holds the rights
//! the job was started with: read on every exported type and, when the files hold restricted
//! elements, the scope that unlocks them. Another identity is told the job does not exist
//! (404: a job id must not be confirmed to someone else); the owner without those rights any
//! more is refused with 403 (the job is no secret to it, and the message says which scope is
//! missing). `HEAD $export` starts nothing (405). No answer names a file path.

use std::str::FromStr;
use std::sync::Arc;
use std::time::SystemTime;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue, HttpDate};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};

use super::access::{AuditedType, Returned, Tokens, caller};
use super::error::{ApiError, operation_outcome};
use super::media::{FHIR_JSON, NDJSON};
use super::request::{client_address, fhir_base, prefer, query_pairs};
use super::state::AppState;
use crate::auth::{Access, AccessError, Caller};
use crate::export::{ExportRequest, Job, Owner, Rights, Status, file_tag};
use crate::fhir::ResourceType;
use crate::generation::Millis;
use crate::search::shared_params::{Since, is_presentation};

/// `GET /fhir/$export`: parses the kick-off, checks that the caller may read every type it
/// asks for, starts a job and answers 202 with where to poll.
pub async fn kick_off(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let request = kick_off_request(&req)?;
    let caller = caller(&req);
    let policy = &state.access.policy;
    for rtype in &request.types {
        policy
            .authorize_read(&caller, *rtype)
            .map_err(|error| ApiError::refused(policy, error))?;
    }
    let store = state.current()?;
    since_within_history(request.since, store.info().history_horizon())?;
    let rights = Rights::new(
        policy.redaction_for(&caller),
        policy.redaction(),
        &request.types,
    );
    let owner = Owner {
        identity: caller.identity.clone(),
        address: client_address(&req),
    };
    let job = state
        .exports
        .start(store, request, owner, !policy.is_open(), rights)?;
    let mut response = started(&job);
    // The export's work, charged to the caller's rate limit as the searches it stands for.
    response.extensions_mut().insert(Tokens(job.tokens()));
    Ok(response)
}

/// `HEAD /fhir/$export`: would start a job as `GET` does, for an answer without a body; it
/// starts nothing.
pub async fn kick_off_head() -> Result<HttpResponse, ApiError> {
    Err(ApiError::OnlyGet(
        "HEAD does not start an export: send GET with the header `Prefer: respond-async`".into(),
    ))
}

/// The kick-off as a typed request, from its headers and parameters in one pass (Bulk Data
/// 2.0 system-level kick-off: `_outputFormat`, `_since`, `_type`). Refused: a request without
/// `Prefer: respond-async`, a format or type this server does not export, and any other
/// parameter unless `Prefer: handling=lenient` asks to ignore it.
fn kick_off_request(req: &HttpRequest) -> Result<ExportRequest, ApiError> {
    let prefer = prefer(req);
    if !prefer.respond_async {
        return Err(ApiError::BadRequest(
            "$export is asynchronous: send the header `Prefer: respond-async`".into(),
        ));
    }
    let mut types: Vec<ResourceType> = Vec::new();
    let mut since = None;
    for (name, value) in query_pairs(req.query_string()) {
        match name.as_str() {
            "_outputFormat" => output_format(&value)?,
            "_since" => since = Some(Since::parse(&value)?),
            "_type" => add_types(&value, &mut types)?,
            name if is_presentation(name) => {}
            other if prefer.is_lenient() => {
                tracing::debug!("$export: ignored `{other}` (Prefer: handling=lenient)");
            }
            other => {
                return Err(ApiError::BadRequest(format!(
                    "$export does not support `{other}` (it takes _outputFormat, _since and _type); send `Prefer: handling=lenient` to have it ignored"
                )));
            }
        }
    }
    if types.is_empty() {
        types = ResourceType::ALL.to_vec();
    }
    let base = fhir_base(req);
    let request_url = format!(
        "{}{}",
        base.trim_end_matches("/fhir"),
        req.uri()
            .path_and_query()
            .map_or("/fhir/$export", |p| p.as_str())
    );
    Ok(ExportRequest {
        types,
        since: since.map(Since::instant),
        request_url,
        base,
    })
}

/// `_outputFormat`: NDJSON, the only format this server exports, under any of its names.
fn output_format(value: &str) -> Result<(), ApiError> {
    // An unencoded `+` in a query string arrives as a space.
    let format = value.replace(' ', "+");
    if matches!(
        format.as_str(),
        "application/fhir+ndjson" | "application/ndjson" | "ndjson"
    ) {
        return Ok(());
    }
    Err(ApiError::BadRequest(format!(
        "_outputFormat={value} is not available: this server exports {NDJSON}"
    )))
}

/// `_type`: adds the types it names to `types`, each once. It may be repeated or
/// comma-separated (Bulk Data 2.0 asks servers to take both).
fn add_types(value: &str, types: &mut Vec<ResourceType>) -> Result<(), ApiError> {
    for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let rtype = ResourceType::from_str(name).map_err(|_| {
            ApiError::BadRequest(format!(
                "_type: `{name}` is not exported here; this server serves {}",
                ResourceType::names()
            ))
        })?;
        if !types.contains(&rtype) {
            types.push(rtype);
        }
    }
    Ok(())
}

/// An export `_since` needs the deletions after it, which are known only from the history
/// horizon on: an older `_since` could not list them.
fn since_within_history(since: Option<Millis>, horizon: Option<Millis>) -> Result<(), ApiError> {
    match (since, horizon) {
        (Some(since), Some(horizon)) if since < horizon => Err(ApiError::BadRequest(format!(
            "_since={} is older than the history this server keeps (from {}): deletions before it are no longer known. Run a full export (without _since) instead",
            since.to_rfc3339(),
            horizon.to_rfc3339()
        ))),
        _ => Ok(()),
    }
}

/// 202 for a job just started, with where to poll it.
fn started(job: &Job) -> HttpResponse {
    let body = operation_outcome(
        "information",
        "informational",
        &format!("export {} started; poll the Content-Location", job.id),
    );
    HttpResponse::Accepted()
        .insert_header((
            header::CONTENT_LOCATION,
            format!("{}/_export/{}", job.request.base, job.id),
        ))
        .content_type(FHIR_JSON)
        .body(body.to_string())
}

/// The job named in the path, if the caller started it and still holds the rights it was
/// started with: 404 for anyone else, 403 for the owner without those rights.
fn authorized_job(req: &HttpRequest, state: &AppState, id: &str) -> Result<Arc<Job>, ApiError> {
    let unknown = || {
        ApiError::NotFound(format!(
            "there is no export `{id}` (finished exports expire)"
        ))
    };
    let job = state.exports.get(id).ok_or_else(unknown)?;
    let caller = caller(req);
    if job.owner.identity != caller.identity {
        // Someone else's export: as if it did not exist.
        return Err(unknown());
    }
    holds_rights(&state.access.policy, &caller, &job)?;
    Ok(job)
}

/// The files of a job hold what its rights allowed: read on each exported type and, unless
/// redacted, the restricted elements. Whoever reaches the job must hold them now, not only
/// at the kick-off (a token of the same subject may carry fewer scopes).
fn holds_rights(policy: &Access, caller: &Caller, job: &Job) -> Result<(), ApiError> {
    let refused = |error| ApiError::refused(policy, error);
    for rtype in &job.request.types {
        policy
            .authorize_read(caller, *rtype)
            .map_err(|error| match error {
                AccessError::Forbidden(message) => refused(AccessError::Forbidden(format!(
                    "{message}; export `{}` holds {rtype} resources",
                    job.id
                ))),
                other => refused(other),
            })?;
    }
    if job.rights.unredacted && hides_what_the_job_holds(policy, caller, job) {
        let scope = policy
            .config()
            .and_then(|c| c.restricted.as_ref())
            .map_or_else(String::new, |r| format!(" ({})", r.scope));
        return Err(refused(AccessError::Forbidden(format!(
            "export `{}` holds restricted elements, which need the scope that unlocks them{scope}: these credentials do not carry it",
            job.id
        ))));
    }
    Ok(())
}

/// Whether the job's files hold a restricted element `caller` may not see now: one its
/// kick-off did not redact that the caller's redaction hides (an access rule may have unlocked
/// some elements only, so the restricted scope is not the only right that reads them).
fn hides_what_the_job_holds(policy: &Access, caller: &Caller, job: &Job) -> bool {
    let hidden_now = policy.redaction_for(caller);
    job.request.types.iter().any(|rtype| {
        let removed = job.rights.redaction.elements(*rtype);
        hidden_now
            .elements(*rtype)
            .iter()
            .any(|element| !removed.contains(element))
    })
}

/// `GET /fhir/_export/{job}`: 202 with `X-Progress` while it runs, then 200 with the manifest.
pub async fn status(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let job = authorized_job(&req, &state, &path.into_inner())?;
    match job.status() {
        Status::Running => Ok(HttpResponse::Accepted()
            .insert_header(("X-Progress", job.progress()))
            .insert_header((header::RETRY_AFTER, "1"))
            .finish()),
        Status::Failed(reason) => Err(ApiError::Unavailable(format!(
            "the export failed: {reason}"
        ))),
        Status::Complete { files, completed } => {
            let expires = SystemTime::from(state.exports.expires(completed));
            Ok(HttpResponse::Ok()
                .content_type("application/json")
                .insert_header((header::EXPIRES, HttpDate::from(expires)))
                .body(job.manifest(&files).to_string()))
        }
    }
}

/// `DELETE /fhir/_export/{job}`: cancels the job and removes its files.
pub async fn delete(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    authorized_job(&req, &state, &id)?;
    state.exports.delete(&id);
    Ok(HttpResponse::Accepted().finish())
}

/// The conditions of a file request (`If-Match`, `If-None-Match`), taken out of its headers
/// by [`take_conditions`]: they are checked against the file's opaque ETag once the caller's
/// rights are, and actix-files, which would check them against its own ETag (inode, size and
/// modification time), does not see them.
#[derive(Debug, Clone, Default)]
pub struct Conditions {
    if_match: Option<String>,
    if_none_match: Option<String>,
}

/// Middleware of the file route: moves the conditions into [`Conditions`], and drops `Range`
/// when an `If-Range` does not name the file's ETag (the whole file is sent then, as RFC 9110
/// §13.1.5 asks; the server sends no `Last-Modified`, so a date never matches).
pub async fn take_conditions(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let tag = {
        let info = req.match_info();
        match (info.get("job"), info.get("file")) {
            (Some(job), Some(file)) => Some(format!("\"{}\"", file_tag(job, file))),
            _ => None,
        }
    };
    let headers = req.headers_mut();
    let text = |value: Option<HeaderValue>| value.map(|v| v.to_str().unwrap_or("").to_owned());
    let conditions = Conditions {
        if_match: text(headers.remove(header::IF_MATCH).next()),
        if_none_match: text(headers.remove(header::IF_NONE_MATCH).next()),
    };
    if let Some(if_range) = headers.remove(header::IF_RANGE).next()
        && tag
            .as_deref()
            .is_none_or(|tag| if_range.as_bytes() != tag.as_bytes())
    {
        headers.remove(header::RANGE);
    }
    req.extensions_mut().insert(conditions);
    next.call(req).await
}

/// Whether a list of entity tags (`If-Match`, `If-None-Match`) names `tag`: `*`, or one of
/// them, compared weakly or strongly (RFC 9110 §8.8.3.2).
fn names(list: &str, tag: &str, weak: bool) -> bool {
    list.split(',')
        .map(str::trim)
        .any(|item| item == "*" || item == tag || (weak && item.strip_prefix("W/") == Some(tag)))
}

/// `GET /fhir/_export/{job}/{file}`: one output file, NDJSON, with Range support and an
/// opaque ETag; the audit trail records its type and how many resources it holds.
pub async fn file(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (id, name) = path.into_inner();
    let job = authorized_job(&req, &state, &id)?;
    let (output, path) = job
        .file(&name)
        .ok_or_else(|| ApiError::NotFound(format!("export `{id}` has no file `{name}`")))?;
    let tag = format!("\"{}\"", job.file_tag(&name));
    let conditions = req
        .extensions()
        .get::<Conditions>()
        .cloned()
        .unwrap_or_default();
    if let Some(list) = &conditions.if_match
        && !names(list, &tag, false)
    {
        return Err(ApiError::PreconditionFailed(format!(
            "If-Match: the file `{name}` of export `{id}` has another ETag"
        )));
    }
    if let Some(list) = &conditions.if_none_match
        && names(list, &tag, true)
    {
        return Ok(HttpResponse::NotModified()
            .insert_header((header::ETAG, tag))
            .finish());
    }
    let file = actix_files::NamedFile::open(&path)
        .map_err(|e| {
            tracing::warn!("cannot open the export file {}: {e}", path.display());
            ApiError::Unavailable(
                "the export's file cannot be read; the cause is in the server's log".into(),
            )
        })?
        .set_content_type(NDJSON.parse().expect("a media type"))
        .disable_content_disposition()
        .use_etag(false)
        .use_last_modified(false);
    let mut response = file.into_response(&req);
    if let Ok(value) = HeaderValue::from_str(&tag) {
        response.headers_mut().insert(header::ETAG, value);
    }
    let sent = matches!(
        response.status(),
        StatusCode::OK | StatusCode::PARTIAL_CONTENT
    );
    if req.method() == Method::GET && sent {
        response.extensions_mut().insert(Returned(output.count));
    }
    response
        .extensions_mut()
        .insert(AuditedType(output.type_name()));
    Ok(response)
}
