//! Bulk Data export over HTTP: the kick-off (`GET /fhir/$export`), the status (`GET` and
//! `DELETE /fhir/_export/{job}`) and the files (`GET /fhir/_export/{job}/{file}`), as Bulk
//! Data Access 2.0.0 describes them. The work itself is [`crate::export`]'s.

use std::str::FromStr;
use std::time::SystemTime;

use actix_web::http::header::{self, HttpDate};
use actix_web::{HttpRequest, HttpResponse, web};

use super::access::caller;
use super::error::ApiError;
use super::handlers::{access_error, fhir_base, query_pairs};
use super::{AppState, FHIR_JSON};
use crate::auth::Redaction;
use crate::export::{ExportError, ExportRequest, Job, Status};
use crate::fhir::ResourceType;
use crate::search::date;
use crate::store::Millis;

const NDJSON: &str = "application/fhir+ndjson";

/// Whether the client asked for asynchronous processing, as the kick-off requires.
fn prefers_async(req: &HttpRequest) -> bool {
    req.headers()
        .get_all("prefer")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split([',', ';']))
        .any(|part| part.trim().eq_ignore_ascii_case("respond-async"))
}

fn lenient(req: &HttpRequest) -> bool {
    req.headers()
        .get_all("prefer")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split([',', ';']))
        .any(|part| part.trim().eq_ignore_ascii_case("handling=lenient"))
}

/// `GET /fhir/$export`: checks the request, starts a job, answers 202 with where to poll.
pub async fn kick_off(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    if !prefers_async(&req) {
        return Err(ApiError::BadRequest(
            "$export is asynchronous: send the header `Prefer: respond-async`".into(),
        ));
    }
    // `_type` may be repeated or comma-separated (Bulk Data 2.0 asks servers to take both).
    let mut types: Vec<ResourceType> = Vec::new();
    let mut since = None;
    for (name, value) in query_pairs(req.query_string()) {
        match name.as_str() {
            "_outputFormat" => {
                let format = value.replace(' ', "+");
                if !matches!(
                    format.as_str(),
                    "application/fhir+ndjson" | "application/ndjson" | "ndjson"
                ) {
                    return Err(ApiError::BadRequest(format!(
                        "_outputFormat={value} is not available: this server exports {NDJSON}"
                    )));
                }
            }
            "_since" => {
                let range = date::parse(&value).map_err(|reason| {
                    ApiError::BadRequest(format!(
                        "invalid value `{value}` for parameter `_since`: {reason}"
                    ))
                })?;
                since = Some(Millis(range.start));
            }
            "_type" => {
                for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
                    match ResourceType::from_str(name) {
                        Ok(rtype) if !types.contains(&rtype) => types.push(rtype),
                        Ok(_) => {}
                        Err(_) => {
                            return Err(ApiError::BadRequest(format!(
                                "_type: `{name}` is not exported here; this server serves Practitioner, PractitionerRole and Organization"
                            )));
                        }
                    }
                }
            }
            "_format" | "_pretty" => {}
            other if lenient(&req) => {
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
    let caller = caller(&req);
    let policy = state.access.policy.clone();
    for rtype in &types {
        policy
            .authorize_read(&caller, *rtype)
            .map_err(|error| access_error(&policy, error))?;
    }
    let store = state.current()?;
    if let (Some(since), Some(horizon)) = (since, store.info().history_horizon())
        && since < horizon
    {
        return Err(ApiError::BadRequest(format!(
            "_since={} is older than the history this server keeps (from {}): deletions before it are no longer known. Run a full export (without _since) instead",
            since.to_rfc3339(),
            horizon.to_rfc3339()
        )));
    }
    let redaction = if caller.permissions.restricted {
        Redaction::none()
    } else {
        policy.redaction().clone()
    };
    let base = fhir_base(&req);
    let request_url = format!(
        "{}{}",
        base.trim_end_matches("/fhir"),
        req.uri()
            .path_and_query()
            .map_or("/fhir/$export", |p| p.as_str())
    );
    let request = ExportRequest {
        types,
        since,
        request_url,
        base: base.clone(),
    };
    let job = state
        .exports
        .start(
            store,
            request,
            caller.identity.clone(),
            !policy.is_open(),
            redaction,
        )
        .map_err(|e| match e {
            ExportError::Busy => ApiError::Busy(e.to_string()),
            other => ApiError::Unavailable(other.to_string()),
        })?;
    let body = super::error::operation_outcome(
        "information",
        "informational",
        &format!("export {} started; poll the Content-Location", job.id),
    );
    Ok(HttpResponse::Accepted()
        .insert_header((
            header::CONTENT_LOCATION,
            format!("{base}/_export/{}", job.id),
        ))
        .content_type(FHIR_JSON)
        .body(body.to_string()))
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
