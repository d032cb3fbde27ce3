//! What operators and load balancers ask of a server, outside `/fhir`: `/healthz` (the
//! process answers), `/readyz` (send it traffic) and `/metrics` (Prometheus), and the
//! middleware that counts every request for `/metrics`.

use std::sync::atomic::Ordering;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use super::access::caller;
use super::error::ApiError;
use super::paths;
use super::state::AppState;
use crate::auth::AccessError;
use crate::auth::scopes::METRICS_SCOPE;
use crate::fhir::ResourceType;
use crate::generation::Generation;
use crate::metrics::{Refusal, Scrape};

/// Whether the server should be sent traffic, and why not.
pub enum Readiness {
    Ready,
    /// SIGTERM was received: finishing what it has, taking nothing new.
    Draining,
    /// No generation has been imported or copied into its data directory yet.
    NoData,
    /// The generation is open but a read from it failed.
    Unreadable(String),
}

impl AppState {
    pub fn readiness(&self) -> Readiness {
        if self.draining.load(Ordering::Acquire) {
            return Readiness::Draining;
        }
        match self.generations.current() {
            None => Readiness::NoData,
            Some(store) => match first_document_readable(store.as_ref()) {
                Ok(()) => Readiness::Ready,
                Err(detail) => Readiness::Unreadable(detail),
            },
        }
    }
}

/// A cheap proof that the served files can be read: the first document of each type.
fn first_document_readable(store: &Generation) -> Result<(), String> {
    for rtype in ResourceType::ALL {
        if store.document_count(rtype) > 0 {
            store
                .document(rtype, 0)
                .map_err(|e| format!("cannot read a {rtype}: {e}"))?;
        }
    }
    Ok(())
}

/// `GET /healthz`: the process is alive and answering.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CACHE_CONTROL, "no-store"))
        .json(json!({"status": "alive"}))
}

/// `GET /readyz`: 200 with the generation served, or 503 saying why not.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let (status, mut body) = match state.readiness() {
        Readiness::Ready => (200, json!({"status": "ready"})),
        Readiness::Draining => (
            503,
            json!({"status": "draining", "detail": "the server is stopping: it finishes the requests it has and takes no new ones"}),
        ),
        Readiness::NoData => (
            503,
            json!({"status": "no-data", "detail": "no generation has been imported or copied into the data directory yet"}),
        ),
        Readiness::Unreadable(detail) => {
            tracing::warn!("not ready: {detail}");
            (
                503,
                json!({"status": "unreadable", "detail": "the generation served cannot be read; the cause is in the server's log"}),
            )
        }
    };
    if let Some(store) = state.generations.current() {
        let info = store.info();
        body["generation"] = json!({
            "id": info.id(),
            // The watermark, as in every Bundle: "data as of" for a client.
            "lastUpdated": info.watermark().to_rfc3339(),
        });
    }
    let status = actix_web::http::StatusCode::from_u16(status).expect("a valid status");
    HttpResponse::build(status)
        .insert_header((CACHE_CONTROL, "no-store"))
        .json(body)
}

/// `GET /metrics` on the main listener: there only when no separate one is configured, and,
/// under access control, only for a caller holding the metrics scope (any valid credential
/// would otherwise read the server's traffic, refusals and data directory).
pub async fn metrics_on_main(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    if state.metrics_elsewhere {
        return Err(ApiError::NotFound(
            "no such path: metrics are served on the server's separate metrics address".into(),
        ));
    }
    if !caller(&req).permissions.metrics {
        let policy = &state.access.policy;
        return Err(ApiError::refused(
            policy,
            AccessError::Forbidden(format!(
                "/metrics needs the scope {METRICS_SCOPE} (or a separate metrics address, `metrics_listen`)"
            )),
        ));
    }
    Ok(metrics(state).await)
}

/// `GET /metrics`: the Prometheus text format.
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let state = state.into_inner();
    let text = web::block(move || {
        let current = state.generations.current();
        let serving = state.generations.serving().unwrap_or_default();
        let data = state.generations.data();
        let directory = data.generation_path(&serving);
        let report = data.import_report();
        state.metrics.render(&Scrape {
            ready: matches!(state.readiness(), Readiness::Ready),
            generation: current
                .as_ref()
                .map(|store| (serving.as_str(), store.info(), directory.as_path())),
            data_directory: Some(data.root()),
            last_import: report.as_ref(),
        })
    })
    .await;
    match text {
        Ok(text) => HttpResponse::Ok()
            .insert_header((CONTENT_TYPE, prometheus::TEXT_FORMAT))
            .insert_header((CACHE_CONTROL, "no-store"))
            .body(text),
        Err(_) => HttpResponse::ServiceUnavailable().finish(),
    }
}

/// Counts every request but the operators' own (health, readiness, metrics) in `/metrics`: by
/// FHIR interaction, resource type and status, with its latency and why it was refused.
pub async fn record(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, actix_web::Error> {
    let started = Instant::now();
    let path = req.path();
    if paths::is_operators(path) {
        return next.call(req).await;
    }
    let resource_type = resource_type_label(path);
    let metrics = req
        .app_data::<web::Data<AppState>>()
        .map(|state| state.metrics.clone());
    let method = req.method().clone();
    let response = next.call(req).await;
    if let Some(metrics) = metrics {
        let (status, pattern, refusal) = match &response {
            Ok(response) => (
                response.status().as_u16(),
                response.request().match_pattern(),
                response.response().extensions().get::<Refusal>().copied(),
            ),
            Err(error) => (error.as_response_error().status_code().as_u16(), None, None),
        };
        let interaction = interaction(&method, pattern.as_deref());
        metrics.observe(
            interaction,
            resource_type,
            status,
            started.elapsed().as_secs_f64(),
            refusal,
        );
    }
    response
}

/// The resource type a path names, as a label: only served types (and `SearchParameter`,
/// `CodeSystem`), never what a client wrote, so that the label's values stay few.
fn resource_type_label(path: &str) -> &'static str {
    let Some(name) = path
        .strip_prefix("/fhir/")
        .and_then(|p| p.split('/').next())
    else {
        return "";
    };
    if name == "SearchParameter" {
        return "SearchParameter";
    }
    if name == "CodeSystem" {
        return "CodeSystem";
    }
    name.parse::<ResourceType>()
        .map_or("", ResourceType::as_str)
}

/// The FHIR interaction of a matched route (http://hl7.org/fhir/R4/http.html names).
fn interaction(method: &actix_web::http::Method, pattern: Option<&str>) -> &'static str {
    let Some(pattern) = pattern else {
        return "other";
    };
    match pattern {
        "/fhir/metadata" => "capabilities",
        "/fhir/SearchParameter" | "/fhir/CodeSystem" | "/fhir/{type}" | "/fhir/{type}/_search" => {
            "search-type"
        }
        "/fhir/SearchParameter/{id}" | "/fhir/CodeSystem/{id}" | "/fhir/{type}/{id}" => "read",
        "/fhir/CodeSystem/$lookup"
        | "/fhir/CodeSystem/{id}/$lookup"
        | "/fhir/{type}/$validate"
        | "/fhir/{type}/{id}/$validate"
        | "/fhir/Practitioner/$identify" => "operation",
        "/fhir/OperationDefinition/annuaire-identify" => "read",
        "/fhir/{type}/{id}/_history/{vid}" => "vread",
        "/fhir/{type}/{id}/_history" => "history-instance",
        "/fhir/{type}/_history" => "history-type",
        "/fhir/_history" => "history-system",
        "/fhir/$export" => "export",
        "/fhir/_export/{job}" if method == actix_web::http::Method::DELETE => "export-cancel",
        "/fhir/_export/{job}" => "export-status",
        "/fhir/_export/{job}/{file}" => "export-file",
        "/.well-known/smart-configuration" | "/fhir/.well-known/smart-configuration" => {
            "smart-configuration"
        }
        paths::SEARCH
        | paths::PRACTITIONER
        | paths::ESTABLISHMENT
        | paths::SCRIPT_PATH
        | paths::STYLE_PATH
        | paths::ICON_PATH
        | paths::LABELS => "page",
        _ => "other",
    }
}
