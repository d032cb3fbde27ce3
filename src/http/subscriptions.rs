//! `Subscription` (Subscriptions Backport IG, R4): create, read, update, delete, search — each
//! caller sees and manages only its own (another's is a 404, as if it did not exist) — and the
//! operations `$status` (the subscription's state and counters) and `$events` (its queued
//! events, again). See docs/subscriptions.md.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::access;
use super::error::ApiError;
use super::handlers::read_body;
use super::media::FHIR_JSON;
use super::request::{fhir_base, if_match_version, query_pairs};
use super::state::AppState;
use crate::auth::{Caller, LocalAction};
use crate::local::{LocalResource, LocalType, Read};
use crate::notify::bundle;
use crate::notify::notifier::NotificationType;
use crate::notify::subscription::{self, Content};
use crate::notify::{Notifier, Subscriber};

/// The most events one `$events` answers (ask again from the last one's number + 1).
const MAX_EVENTS_PER_QUERY: usize = 1000;

/// `Subscription`'s routes, registered before the generic `/{type}` ones.
pub fn routes(config: &mut web::ServiceConfig) {
    config
        .route("/Subscription", web::post().to(create))
        .route("/Subscription", web::get().to(search))
        .route("/Subscription", web::head().to(search))
        .route("/Subscription/$status", web::get().to(status_query))
        .route("/Subscription/{id}/$status", web::get().to(status_one))
        .route("/Subscription/{id}/$events", web::get().to(events))
        .route("/Subscription/{id}/$events", web::post().to(events))
        .route("/Subscription/{id}", web::get().to(read))
        .route("/Subscription/{id}", web::head().to(read))
        .route("/Subscription/{id}", web::put().to(update))
        .route("/Subscription/{id}", web::delete().to(delete));
}

/// Who owns what a caller writes: [`Caller::owner`].
fn owner(caller: &Caller) -> String {
    caller.owner()
}

/// The caller, once it may `action` subscriptions (scopes `system/Subscription.read|write`).
fn caller(
    req: &HttpRequest,
    state: &AppState,
    action: LocalAction,
) -> Result<std::sync::Arc<Caller>, ApiError> {
    access::authorize_local(req, state, LocalType::Subscription, action)
}

/// The subscriber a caller is, as recorded with what it writes.
fn subscriber(caller: &Caller) -> Subscriber {
    Subscriber {
        owner: owner(caller),
        restricted: caller.permissions.restricted,
        unlocked: caller
            .permissions
            .unlocked
            .iter()
            .map(|(rtype, element)| format!("{rtype}.{element}"))
            .collect(),
    }
}

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("Subscription/{id} is not known to this server"))
}

/// The caller's subscription `id`: another's is not found, like one that never existed.
fn own(notifier: &Notifier, id: &str, owner: &str) -> Result<Read, ApiError> {
    Ok(match notifier.store().read(LocalType::Subscription, id)? {
        Read::Found(r) if r.owner == owner => Read::Found(r),
        Read::Gone(r) if r.owner == owner => Read::Gone(r),
        _ => Read::Missing,
    })
}

/// A stored version as the answer.
fn resource_response(
    status: actix_web::http::StatusCode,
    resource: &LocalResource,
    base: &str,
) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    response
        .content_type(FHIR_JSON)
        .insert_header((header::ETAG, format!("W/\"{}\"", resource.version)))
        .insert_header((
            header::LAST_MODIFIED,
            header::HttpDate::from(std::time::SystemTime::from(resource.last_updated)),
        ));
    if status == actix_web::http::StatusCode::CREATED || status == actix_web::http::StatusCode::OK {
        response.insert_header((
            header::LOCATION,
            format!(
                "{base}/Subscription/{}/_history/{}",
                resource.id, resource.version
            ),
        ));
    }
    response.body(resource.json.to_string())
}

/// The body as a JSON `Subscription`.
async fn subscription_body(payload: web::Payload, state: &AppState) -> Result<Value, ApiError> {
    let bytes = read_body(payload, state, "Subscription").await?;
    let body: Value = serde_json::from_slice(&bytes).map_err(|e| {
        ApiError::BadRequest(format!(
            "the body is not JSON: {e} (send application/fhir+json)"
        ))
    })?;
    if body.get("resourceType").and_then(Value::as_str) != Some("Subscription") {
        return Err(ApiError::BadRequest(
            "the body is not a Subscription (its `resourceType` must be `Subscription`)".into(),
        ));
    }
    Ok(body)
}

/// Runs blocking store work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    web::block(work)
        .await
        .map_err(|e| ApiError::LocalStore(format!("the blocking pool failed: {e}")))?
}

/// `POST /Subscription`: 201 with the stored subscription (`status` the server's).
async fn create(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let notifier = state.notifier()?.clone();
    let subscriber = subscriber(&*caller(&req, &state, LocalAction::Write)?);
    let mut body = subscription_body(payload, &state).await?;
    if let Some(object) = body.as_object_mut() {
        object.remove("id");
    }
    let base = fhir_base(&req);
    let written = blocking(move || {
        let stored = notifier.check_subscription(body, &subscriber)?;
        let written =
            notifier
                .store()
                .create(LocalType::Subscription, stored, &subscriber.owner)?;
        notifier.register(&written.resource.id, &subscriber)?;
        Ok(written)
    })
    .await?;
    Ok(resource_response(
        actix_web::http::StatusCode::CREATED,
        &written.resource,
        &base,
    ))
}

/// `GET|HEAD /Subscription/{id}`.
async fn read(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let notifier = state.notifier()?.clone();
    let owner = owner(&*caller(&req, &state, LocalAction::Read)?);
    let id = path.into_inner();
    let base = fhir_base(&req);
    let found = {
        let id = id.clone();
        blocking(move || own(&notifier, &id, &owner)).await?
    };
    match found {
        Read::Found(resource) => Ok(resource_response(
            actix_web::http::StatusCode::OK,
            &resource,
            &base,
        )),
        Read::Gone(resource) => Err(ApiError::Gone(format!(
            "Subscription/{id} was deleted on {}",
            resource
                .last_updated
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default()
        ))),
        Read::Missing => Err(not_found(&id)),
    }
}

/// `PUT /Subscription/{id}`: `If-Match` required when it exists (428, 412 as for `List`).
async fn update(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let notifier = state.notifier()?.clone();
    let subscriber = subscriber(&*caller(&req, &state, LocalAction::Write)?);
    let id = path.into_inner();
    crate::fhir::FhirId::parse(&id)?;
    let expected = if_match_version(&req)?;
    let mut body = subscription_body(payload, &state).await?;
    match body.get("id").and_then(Value::as_str) {
        Some(body_id) if body_id != id => {
            return Err(ApiError::BadRequest(format!(
                "the body's id `{body_id}` is not the id of the URL, `{id}`"
            )));
        }
        _ => body["id"] = json!(id),
    }
    let base = fhir_base(&req);
    let written = blocking(move || {
        let previous = match notifier.store().read(LocalType::Subscription, &id)? {
            Read::Found(r) if r.owner != subscriber.owner => return Err(not_found(&id)),
            Read::Gone(r) if r.owner != subscriber.owner => return Err(not_found(&id)),
            Read::Found(r) => Some(subscription::read(&r.id, r.version, &r.json)?),
            Read::Gone(_) | Read::Missing => None,
        };
        let stored = notifier.check_update(body, &subscriber, previous.as_ref())?;
        let written = notifier.store().update(
            LocalType::Subscription,
            &id,
            stored,
            expected,
            &subscriber.owner,
        )?;
        notifier.register(&id, &subscriber)?;
        Ok(written)
    })
    .await?;
    let status = if written.created {
        actix_web::http::StatusCode::CREATED
    } else {
        actix_web::http::StatusCode::OK
    };
    Ok(resource_response(status, &written.resource, &base))
}

/// `DELETE /Subscription/{id}`: 204; its queue is forgotten.
async fn delete(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let notifier = state.notifier()?.clone();
    let owner = owner(&*caller(&req, &state, LocalAction::Write)?);
    let id = path.into_inner();
    let expected = if_match_version(&req)?;
    blocking(move || {
        match own(&notifier, &id, &owner)? {
            Read::Found(_) => {}
            Read::Gone(_) => return Ok(()),
            Read::Missing => return Err(not_found(&id)),
        }
        notifier
            .store()
            .delete(LocalType::Subscription, &id, expected)?;
        notifier.forget(&id)?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The search parameters of `GET /Subscription`: what selects among the caller's own.
#[derive(Default)]
struct SubscriptionQuery {
    ids: Option<Vec<String>>,
    statuses: Option<Vec<String>>,
    urls: Option<Vec<String>>,
    criteria: Option<Vec<String>>,
}

impl SubscriptionQuery {
    fn parse(query: &str) -> Result<SubscriptionQuery, ApiError> {
        let mut parsed = SubscriptionQuery::default();
        for (name, value) in query_pairs(query) {
            let values = || value.split(',').map(str::to_owned).collect::<Vec<_>>();
            match name.as_str() {
                "_id" => parsed.ids = Some(values()),
                "status" => parsed.statuses = Some(values()),
                "url" => parsed.urls = Some(values()),
                "criteria" => parsed.criteria = Some(values()),
                "_format" | "_pretty" => {}
                other => {
                    return Err(ApiError::BadRequest(format!(
                        "Subscription cannot be searched by `{other}`: use `_id`, `status`, `url` (the endpoint) or `criteria` (the topic)"
                    )));
                }
            }
        }
        Ok(parsed)
    }

    fn matches(&self, resource: &LocalResource) -> bool {
        let text = |key: &str| -> Option<&str> {
            match key {
                "url" => resource
                    .json
                    .pointer("/channel/endpoint")
                    .and_then(Value::as_str),
                other => resource.json.get(other).and_then(Value::as_str),
            }
        };
        let within = |wanted: &Option<Vec<String>>, value: Option<&str>| {
            wanted
                .as_ref()
                .is_none_or(|w| value.is_some_and(|v| w.iter().any(|x| x == v)))
        };
        within(&self.ids, Some(&resource.id))
            && within(&self.statuses, text("status"))
            && within(&self.urls, text("url"))
            && within(&self.criteria, text("criteria"))
    }
}

fn searchset(base: &str, entries: Vec<Value>, now: time::OffsetDateTime) -> Value {
    json!({
        "resourceType": "Bundle",
        "id": bundle::urn_uuid().trim_start_matches("urn:uuid:"),
        "meta": {"lastUpdated": now.format(&time::format_description::well_known::Rfc3339).unwrap_or_default()},
        "type": "searchset",
        "total": entries.len(),
        "link": [{"relation": "self", "url": format!("{base}/Subscription")}],
        "entry": entries
    })
}

fn json_response(value: &Value) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(FHIR_JSON)
        .body(value.to_string())
}

/// `GET /Subscription`: the caller's subscriptions matching `_id`, `status`, `url`, `criteria`.
async fn search(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let notifier = state.notifier()?.clone();
    let owner = owner(&*caller(&req, &state, LocalAction::Read)?);
    let query = SubscriptionQuery::parse(req.query_string())?;
    let base = fhir_base(&req);
    let now = state.clock.now_utc();
    let found = blocking(move || {
        Ok(notifier
            .store()
            .current(LocalType::Subscription)?
            .into_iter()
            .filter(|r| r.owner == owner && query.matches(r))
            .collect::<Vec<_>>())
    })
    .await?;
    let entries = found
        .into_iter()
        .map(|r| {
            json!({
                "fullUrl": format!("{base}/Subscription/{}", r.id),
                "resource": r.json,
                "search": {"mode": "match"}
            })
        })
        .collect();
    Ok(json_response(&searchset(&base, entries, now)))
}

/// The `$status` of the caller's subscriptions `ids`: a searchset of SubscriptionStatus.
async fn statuses(
    req: &HttpRequest,
    state: &AppState,
    ids: Vec<String>,
    refuse_missing: bool,
) -> Result<HttpResponse, ApiError> {
    let notifier = state.notifier()?.clone();
    let owner = owner(&*caller(req, state, LocalAction::Read)?);
    let base = fhir_base(req);
    let now = state.clock.now_utc();
    let base_for_work = base.clone();
    let parameters = blocking(move || {
        let mut out = Vec::new();
        for id in ids {
            let Read::Found(resource) = own(&notifier, &id, &owner)? else {
                if refuse_missing {
                    return Err(not_found(&id));
                }
                continue;
            };
            let view = subscription::read(&resource.id, resource.version, &resource.json)?;
            let (total, _) = notifier.counters(&id)?.unwrap_or((0, 0));
            out.push(bundle::status(
                &view,
                NotificationType::QueryStatus,
                total,
                &[],
                &base_for_work,
            ));
        }
        Ok(out)
    })
    .await?;
    let entries = parameters
        .into_iter()
        .map(|p| json!({"fullUrl": bundle::urn_uuid(), "resource": p, "search": {"mode": "match"}}))
        .collect();
    Ok(json_response(&searchset(&base, entries, now)))
}

/// `GET /Subscription/{id}/$status`.
async fn status_one(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    statuses(&req, &state, vec![path.into_inner()], true).await
}

/// `GET /Subscription/$status?id=a,b` (every one of the caller's without `id`).
async fn status_query(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let mut ids: Vec<String> = query_pairs(req.query_string())
        .into_iter()
        .filter(|(name, _)| name == "id")
        .flat_map(|(_, value)| value.split(',').map(str::to_owned).collect::<Vec<_>>())
        .collect();
    if ids.is_empty() {
        let notifier = state.notifier()?.clone();
        let owner = owner(&*caller(&req, &state, LocalAction::Read)?);
        ids = blocking(move || {
            Ok(notifier
                .store()
                .current(LocalType::Subscription)?
                .into_iter()
                .filter(|r| r.owner == owner)
                .map(|r| r.id)
                .collect())
        })
        .await?;
    }
    statuses(&req, &state, ids, false).await
}

/// A whole number parameter of `$events`.
fn number(pairs: &[(String, String)], name: &str) -> Result<Option<u64>, ApiError> {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| {
            v.parse::<u64>().map_err(|_| {
                ApiError::BadRequest(format!("`{name}` must be a whole number, not `{v}`"))
            })
        })
        .transpose()
}

/// `GET|POST /Subscription/{id}/$events?eventsSinceNumber=&eventsUntilNumber=&content=`: the
/// events still kept in that range, as a `query-event` notification Bundle.
async fn events(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Bytes,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let notifier = state.notifier()?.clone();
    let owner = owner(&*caller(&req, &state, LocalAction::Read)?);
    let id = path.into_inner();
    let mut pairs = query_pairs(req.query_string());
    if !body.is_empty() {
        pairs.extend(parameters_body(&body)?);
    }
    let since = number(&pairs, "eventsSinceNumber")?.unwrap_or(1);
    let until = number(&pairs, "eventsUntilNumber")?;
    let content = match pairs.iter().find(|(n, _)| n == "content") {
        None => None,
        Some((_, code)) => Some(Content::parse(code).ok_or_else(|| {
            ApiError::BadRequest(format!(
                "`content` must be `empty`, `id-only` or `full-resource`, not `{code}`"
            ))
        })?),
    };
    let base = fhir_base(&req);
    let generations = state.generations.clone();
    let bundle = blocking(move || {
        let Read::Found(_) = own(&notifier, &id, &owner)? else {
            return Err(not_found(&id));
        };
        let events = notifier.events(&id, since, until, MAX_EVENTS_PER_QUERY)?;
        Ok(bundle::notification(
            &notifier.parts(),
            &id,
            NotificationType::QueryEvent,
            &events,
            &base,
            &generations,
            content,
        )?)
    })
    .await?;
    Ok(json_response(&bundle))
}

/// The `valueString`/`valueUnsignedInt`/`valueCode` parameters of a `Parameters` body.
fn parameters_body(body: &[u8]) -> Result<Vec<(String, String)>, ApiError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("the $events body is not JSON: {e}")))?;
    if value.get("resourceType").and_then(Value::as_str) != Some("Parameters") {
        return Err(ApiError::BadRequest(
            "the $events body must be a Parameters resource".into(),
        ));
    }
    Ok(value
        .get("parameter")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|p| {
            let name = p.get("name")?.as_str()?.to_owned();
            let value = [
                "valueString",
                "valueCode",
                "valueUnsignedInt",
                "valueInteger",
                "valuePositiveInt",
                "valueInteger64",
            ]
            .iter()
            .find_map(|key| p.get(*key))
            .map(|v| match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })?;
            Some((name, value))
        })
        .collect())
}
