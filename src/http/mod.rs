//! The HTTP edge: routes, extractors and headers, a thin actix-web layer over the store and
//! the search engine. Handlers parse, call one function of `search` or `store`, and shape the
//! response; every error becomes an OperationOutcome in [`error`], extractor errors included.

mod access;
pub mod error;
mod export;
pub mod format;
mod handlers;
mod hygiene;
pub mod ops;
mod page;

use std::net::{IpAddr, Ipv6Addr, TcpListener};
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::{Compress, Condition, ErrorHandlers, Logger};
use actix_web::{App, HttpRequest, HttpServer, guard, web};

use crate::auth::AccessControl;
use crate::clock::Clock;
use crate::export::Exports;
use crate::search::admission::Admission;
use crate::search::cursor::CursorKey;
use crate::search::limits::Limits;
use crate::store::{Generations, ResourceStore};

/// `Content-Type` of every FHIR body. FHIR 4.0.1 JSON: no `fhirVersion` parameter is needed for
/// R4, and fhir-sdk's constant (which says 4.3) is deliberately not used.
pub const FHIR_JSON: &str = "application/fhir+json; charset=utf-8";

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The generation served, and the one before it (see [`Generations`]).
    pub generations: Arc<Generations>,
    /// The CapabilityStatement, serialized once.
    pub capability: Arc<Vec<u8>>,
    /// Log one line per request (off by default: at tens of thousands of requests per second
    /// the log itself becomes the bottleneck).
    pub access_log: bool,
    /// Who may read what, and the audit trail.
    pub access: AccessControl,
    /// Bulk Data export jobs.
    pub exports: Arc<Exports>,
    /// What one search may cost.
    pub limits: Limits,
    /// How many searches run at once, and wait.
    pub admission: Arc<Admission>,
    /// Signs and checks paging cursors.
    pub cursor_key: CursorKey,
    /// Peers whose `Forwarded` / `X-Forwarded-*` headers are believed (reverse proxies).
    pub trusted_proxies: Arc<Vec<std::net::IpAddr>>,
    /// What `/metrics` reports.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// `/metrics` is served on a listener of its own, not on the main one.
    pub metrics_elsewhere: bool,
    /// Set on SIGTERM: `/readyz` answers 503 while the server finishes what it has.
    pub draining: Arc<std::sync::atomic::AtomicBool>,
    /// Where requests read the time: searches' deadlines and "now", the audit trail.
    pub clock: Clock,
}

impl AppState {
    pub fn new(
        generations: Arc<Generations>,
        access: AccessControl,
        exports: Arc<Exports>,
        limits: Limits,
        cursor_key: CursorKey,
    ) -> AppState {
        let mut capability = crate::conformance::capability_statement(env!("CARGO_PKG_VERSION"));
        if let Some(rest) = capability["rest"].get_mut(0) {
            rest["security"] = access.policy.capability_security();
        }
        // In the order of the definitions, as FHIR XML requires.
        let capability = fhir_json::in_definition_order(&capability)
            .expect("the CapabilityStatement is a valid resource");
        AppState {
            generations,
            capability: Arc::new(serde_json::to_vec(&capability).expect("JSON value serializes")),
            access_log: false,
            access,
            exports,
            limits,
            admission: Arc::new(Admission::new(
                limits.max_running_searches,
                limits.max_waiting_searches,
            )),
            cursor_key,
            trusted_proxies: Arc::new(Vec::new()),
            metrics: Arc::new(crate::metrics::Metrics::new()),
            metrics_elsewhere: false,
            draining: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            clock: Clock::system(),
        }
    }

    /// The generation served now, or 503 before the first one is in place.
    pub fn current(&self) -> Result<Arc<dyn ResourceStore>, error::ApiError> {
        self.generations.current().ok_or_else(|| {
            error::ApiError::NotReady(
                "no data has been imported into this server yet; it answers as soon as a first import (or copy) completes".into(),
            )
        })
    }

    /// The generation a page of a sorted search must be read from: the one its cursor names.
    /// A replica that does not hold it answers 503 if the cursor is newer than what it serves
    /// (it has not switched yet: another replica, or this one shortly, will answer), and
    /// otherwise reads the current generation, which refuses the outdated cursor.
    pub fn generation_for(
        &self,
        pinned: Option<&crate::search::cursor::PageGeneration>,
    ) -> Result<Arc<dyn ResourceStore>, error::ApiError> {
        let current = self.current()?;
        let Some(pinned) = pinned else {
            return Ok(current);
        };
        if let Some(held) = self.generations.get(&pinned.id) {
            return Ok(held);
        }
        if pinned.stamp > current.info().import_time() {
            return Err(error::ApiError::NotReady(
                "this page comes from data newer than this server has loaded yet; try again in a moment".into(),
            ));
        }
        Ok(current)
    }
}

/// Whether the request came from a reverse proxy whose forwarding headers are believed.
pub(crate) fn peer_is_trusted_proxy(req: &HttpRequest) -> bool {
    req.app_data::<web::Data<AppState>>()
        .zip(req.peer_addr())
        .is_some_and(|(state, peer)| state.trusted_proxies.contains(&peer.ip()))
}

/// The client's address: the peer's, or, behind a trusted proxy, the one the proxy forwarded.
/// Rate limits of an open server are kept by it. The last hop is taken (`Forwarded: for=`, else
/// `X-Forwarded-For`): it is the one our proxy added, while earlier ones come from the client
/// and could be anything.
pub(crate) fn client_address(req: &HttpRequest) -> IpAddr {
    let peer = req
        .peer_addr()
        .map_or(IpAddr::V6(Ipv6Addr::UNSPECIFIED), |p| p.ip());
    if !peer_is_trusted_proxy(req) {
        return peer;
    }
    let last_value = |name: &str| {
        req.headers()
            .get_all(name)
            .filter_map(|v| v.to_str().ok())
            .last()
            .and_then(|v| v.rsplit(',').next())
            .map(str::trim)
    };
    let forwarded_for = last_value("forwarded").and_then(|element| {
        element
            .split(';')
            .filter_map(|pair| pair.split_once('='))
            .find(|(name, _)| name.trim().eq_ignore_ascii_case("for"))
            .map(|(_, value)| value)
    });
    forwarded_for
        .or_else(|| last_value("x-forwarded-for"))
        .and_then(parse_address)
        .unwrap_or(peer)
}

/// `203.0.113.7`, `203.0.113.7:4711`, `"[2001:db8::1]:4711"`, `[2001:db8::1]` or `2001:db8::1`.
fn parse_address(text: &str) -> Option<IpAddr> {
    let text = text.trim().trim_matches('"');
    text.parse::<IpAddr>()
        .ok()
        .or_else(|| text.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            text.strip_prefix('[')?
                .strip_suffix(']')?
                .parse::<IpAddr>()
                .ok()
        })
}

/// GET, and HEAD (same headers, no body: actix drops the body of HEAD responses).
pub(crate) fn get_or_head() -> actix_web::Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

/// Registers the FHIR routes under `/fhir`, and the operators' paths beside it.
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .route(ops::HEALTH, get_or_head().to(ops::healthz))
        .route(ops::READY, get_or_head().to(ops::readyz))
        .route(ops::METRICS, get_or_head().to(ops::metrics_on_main));
    page::configure(config);
    config.service(
        web::scope("/fhir")
            .route("/metadata", get_or_head().to(handlers::metadata))
            .route("/metadata", web::route().to(handlers::read_only))
            .route(
                "/SearchParameter",
                get_or_head().to(handlers::search_parameters),
            )
            .route(
                "/SearchParameter/{id}",
                get_or_head().to(handlers::search_parameter),
            )
            .route(
                "/.well-known/smart-configuration",
                get_or_head().to(handlers::smart_configuration),
            )
            .route("/_history", get_or_head().to(handlers::history_system))
            .route("/$export", get_or_head().to(export::kick_off))
            .route("/_export/{job}", get_or_head().to(export::status))
            .route("/_export/{job}", web::delete().to(export::delete))
            .route("/_export/{job}/{file}", get_or_head().to(export::file))
            .route("/{type}/_search", web::post().to(handlers::search_post))
            .route("/{type}/_history", get_or_head().to(handlers::history_type))
            .route(
                "/{type}/{id}/_history/{vid}",
                get_or_head().to(handlers::vread),
            )
            .route(
                "/{type}/{id}/_history",
                get_or_head().to(handlers::history_instance),
            )
            .route("/{type}/{id}", get_or_head().to(handlers::read))
            .route("/{type}/{id}", web::route().to(handlers::read_only))
            .route("/{type}", get_or_head().to(handlers::search_get))
            .route("/{type}", web::route().to(handlers::type_level))
            .default_service(web::route().to(handlers::unknown_path)),
    );
    config.route(
        "/.well-known/smart-configuration",
        get_or_head().to(handlers::smart_configuration),
    );
    config.default_service(web::route().to(handlers::unknown_path));
}

/// Starts serving on an already bound listener. Signals are the caller's: it stops the
/// server through its handle (see `app::Application::run_until_stopped`); requests in flight
/// then have `drain_timeout` to finish.
pub fn server(
    listener: TcpListener,
    state: AppState,
    workers: usize,
    drain_timeout: std::time::Duration,
) -> std::io::Result<Server> {
    let header_timeout = std::time::Duration::from_millis(state.limits.header_timeout_ms);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(state.clone()))
            .wrap(actix_web::middleware::from_fn(access::control))
            .wrap(actix_web::middleware::from_fn(hygiene::guard))
            .wrap(ErrorHandlers::new().default_handler(error::outcome_for_bare_errors))
            .wrap(actix_web::middleware::from_fn(format::respond_in_kind))
            .wrap(Compress::default())
            .wrap(Condition::new(state.access_log, access_logger(&state)))
            .wrap(actix_web::middleware::from_fn(ops::record))
            .configure(configure)
    })
    .workers(workers)
    // Small responses (a gzip chunk) otherwise wait on Nagle's algorithm against the client's
    // delayed ACK: ~40 ms per response on a kept-alive connection.
    .on_connect(|connection, _| {
        if let Some(tcp) = connection.downcast_ref::<actix_web::rt::net::TcpStream>() {
            let _ = tcp.set_nodelay(true);
        }
    })
    .client_request_timeout(header_timeout)
    .shutdown_timeout(drain_timeout.as_secs())
    .disable_signals()
    .listen(listener)?
    .run();
    Ok(server)
}

/// The operators' listener: `/metrics`, `/healthz` and `/readyz` only, without credentials
/// (see `Settings::metrics_listen`).
pub fn metrics_server(listener: TcpListener, state: AppState) -> std::io::Result<Server> {
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(state.clone()))
            .configure(ops::configure_listener)
    })
    .workers(1)
    .shutdown_timeout(1)
    .disable_signals()
    .listen(listener)?
    .run();
    Ok(server)
}

/// The plain access log: one line per request, its query written as the audit trail writes it
/// (values of searches on restricted elements, and secrets, replaced by `REDACTED`).
fn access_logger(state: &AppState) -> Logger {
    let redaction = state.access.policy.redaction().clone();
    Logger::new("%a \"%{request}xi\" %s %b %Dms")
        .custom_request_replace("request", move |req| {
            let query = crate::auth::audit::redact_query(req.query_string(), &redaction);
            let separator = if query.is_empty() { "" } else { "?" };
            format!(
                "{} {}{separator}{query} {:?}",
                req.method(),
                req.path(),
                req.version()
            )
        })
        .log_target("annuaire::http")
}
