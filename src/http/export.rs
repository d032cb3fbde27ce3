//! Bulk Data export over HTTP: the kick-off (`GET /fhir/$export`), the status (`GET` and
//! `DELETE /fhir/_export/{job}`) and the files (`GET /fhir/_export/{job}/{file}`), as Bulk
//! Data Access 2.0.0 describes them. The work itself is [`crate::export`]'s.

use std::str::FromStr;
use std::time::SystemTime;

use actix_web::http::header::{self, HttpDate};
use actix_web::{HttpRequest, HttpResponse, web};

use super::access::caller;
use super::error::{ApiError, operation_outcome};
use super::media::{FHIR_JSON, NDJSON};
use super::request::{fhir_base, prefer, query_pairs};
use super::state::AppState;
use crate::export::{ExportRequest, Job, Status};
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
    let job = state.exports.start(
        store,
        request,
        caller.identity.clone(),
        !policy.is_open(),
        policy.redaction_for(&caller),
    )?;
    Ok(started(&job))
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
                "_type: `{name}` is not exported here; this server serves Practitioner, PractitionerRole and Organization"
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

/// The job named in the path, if the caller is the one who started it.
fn owned_job(
    req: &HttpRequest,
    state: &AppState,
    id: &str,
) -> Result<std::sync::Arc<Job>, ApiError> {
    let unknown = || {
        ApiError::NotFound(format!(
            "there is no export `{id}` (finished exports expire)"
        ))
    };
    let job = state.exports.get(id).ok_or_else(unknown)?;
    if job.owner != caller(req).identity {
        // Someone else's export: as if it did not exist.
        return Err(unknown());
    }
    Ok(job)
}

/// `GET /fhir/_export/{job}`: 202 with `X-Progress` while it runs, then 200 with the manifest.
pub async fn status(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let job = owned_job(&req, &state, &path.into_inner())?;
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
    owned_job(&req, &state, &id)?;
    state.exports.delete(&id);
    Ok(HttpResponse::Accepted().finish())
}

/// `GET /fhir/_export/{job}/{file}`: one output file, NDJSON, with Range support.
pub async fn file(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (id, name) = path.into_inner();
    let job = owned_job(&req, &state, &id)?;
    let path = job
        .file(&name)
        .ok_or_else(|| ApiError::NotFound(format!("export `{id}` has no file `{name}`")))?;
    let file = actix_files::NamedFile::open(&path)
        .map_err(|e| ApiError::Unavailable(format!("cannot read the export file: {e}")))?
        .set_content_type(NDJSON.parse().expect("a media type"))
        .disable_content_disposition()
        .use_etag(true)
        .use_last_modified(false);
    Ok(file.into_response(&req))
}
