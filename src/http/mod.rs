//! The HTTP edge: routes, extractors and headers, a thin actix-web layer over the store and
//! the search engine. Handlers parse, call one function of `search` or `generation`, and shape the
//! response; every error becomes an OperationOutcome in [`error`], extractor errors included.
//!
//! The files import each other downwards only, with this one, the routes, on top: the
//! connection layer (`edge`), the handlers (`handlers`, `export`, `ops`, `page`) and
//! middlewares (`access`, `hygiene`, `format`) use
//! `request` (what a request says), `state` (what every handler reaches) and [`error`], which
//! in turn use only the leaves: `paths`, `media` and `conditional`.

mod access;
mod conditional;
mod edge;
pub mod error;
mod export;
mod format;
mod handlers;
mod hygiene;
mod identify;
mod lists;
mod media;
mod ops;
mod page;
mod paths;
mod request;
mod signin;
mod state;
mod subscriptions;
mod terminology;
mod validate;
mod websocket;

use std::net::TcpListener;
use std::sync::Arc;

use actix_http::HttpService;
use actix_http::error::DispatchError;
use actix_service::{IntoServiceFactory, ServiceFactoryExt, fn_service, map_config};
use actix_web::dev::{AppConfig, Server};
use actix_web::middleware::{Compress, Condition, ErrorHandlers, Logger};
use actix_web::{App, HttpServer, web};

pub use self::edge::{MAX_HEADER_LIMIT, MAX_URL_LIMIT};
pub use self::state::{AppState, LinkBase, public_limiter};

use self::request::get_or_head;

/// Registers every route of the main listener: the operators' paths, the lookup page, and
/// the FHIR routes under `/fhir`.
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .route(paths::HEALTH, get_or_head().to(ops::healthz))
        .route(paths::READY, get_or_head().to(ops::readyz))
        .route(paths::METRICS, get_or_head().to(ops::metrics_on_main));
    configure_page(config);
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
                paths::SMART_CONFIGURATION,
                get_or_head().to(handlers::smart_configuration),
            )
            .configure(configure_terminology)
            // What hospitals write, before the generic `/{type}` routes that would take `List`
            // and `Subscription` for served types.
            .configure(lists::routes)
            .configure(subscriptions::routes)
            .configure(websocket::routes)
            .route("/_history", get_or_head().to(handlers::history_system))
            .route("/$export", web::get().to(export::kick_off))
            .route("/$export", web::head().to(export::kick_off_head))
            .route("/_export/{job}", get_or_head().to(export::status))
            .route("/_export/{job}", web::delete().to(export::delete))
            .service(
                web::resource("/_export/{job}/{file}")
                    .wrap(actix_web::middleware::from_fn(export::take_conditions))
                    .route(get_or_head().to(export::file)),
            )
            .configure(configure_validate)
            .configure(identify::operation_routes)
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
        paths::SMART_CONFIGURATION,
        get_or_head().to(handlers::smart_configuration),
    );
    config.default_service(web::route().to(handlers::unknown_path));
}

/// CodeSystem's routes (see [`terminology`]), before the generic `/{type}` ones.
fn configure_terminology(config: &mut web::ServiceConfig) {
    config
        .route("/CodeSystem", get_or_head().to(terminology::search))
        .route("/CodeSystem", web::route().to(handlers::read_only))
        .route(
            "/CodeSystem/$lookup",
            get_or_head().to(terminology::lookup_get),
        )
        .route(
            "/CodeSystem/$lookup",
            web::post().to(terminology::lookup_post),
        )
        .route(
            "/CodeSystem/{id}/$lookup",
            get_or_head().to(terminology::lookup_instance_get),
        )
        .route(
            "/CodeSystem/{id}/$lookup",
            web::post().to(terminology::lookup_instance_post),
        )
        .route("/CodeSystem/{id}", get_or_head().to(terminology::read))
        .route("/CodeSystem/{id}", web::route().to(handlers::read_only));
}

/// `$validate`'s routes (see [`validate`]), before the generic `/{type}/{id}` ones, which would
/// take `$validate` for an id. `GET [type]/$validate` has no resource to validate: a 400 says
/// to POST one.
fn configure_validate(config: &mut web::ServiceConfig) {
    config
        .route("/{type}/$validate", web::post().to(validate::type_post))
        .route("/{type}/$validate", web::route().to(validate::type_other))
        .route(
            "/{type}/{id}/$validate",
            get_or_head().to(validate::instance_get),
        )
        .route(
            "/{type}/{id}/$validate",
            web::post().to(validate::instance_post),
        )
        .route(
            "/{type}/{id}/$validate",
            web::route().to(handlers::read_only),
        );
}

/// The lookup page's routes (see [`page`]).
fn configure_page(config: &mut web::ServiceConfig) {
    config
        .route(paths::SEARCH, get_or_head().to(page::document))
        .route(paths::PRACTITIONER, get_or_head().to(page::document))
        .route(paths::ESTABLISHMENT, get_or_head().to(page::document))
        .route(paths::SCRIPT_PATH, get_or_head().to(page::script))
        .route(paths::STYLE_PATH, get_or_head().to(page::style))
        .route(paths::ICON_PATH, get_or_head().to(page::icon))
        .route(paths::LABELS, get_or_head().to(page::labels))
        .configure(signin::routes)
        .configure(identify::page_routes);
}

/// The routes of the operators' listener (see `Settings::metrics_listen`).
fn configure_operators_listener(config: &mut web::ServiceConfig) {
    config
        .route(paths::METRICS, get_or_head().to(ops::metrics))
        .route(paths::HEALTH, get_or_head().to(ops::healthz))
        .route(paths::READY, get_or_head().to(ops::readyz));
}

/// Starts serving on an already bound listener. Signals are the caller's: it stops the
/// server through its handle (see `app::Application::run_until_stopped`); requests in flight
/// then have `drain_timeout` to finish.
///
/// Built from actix's parts rather than `HttpServer` so that each connection goes through
/// [`edge`] before actix's parser: connections per address, write timeout, heads too long.
pub fn server(
    listener: TcpListener,
    state: AppState,
    workers: usize,
    drain_timeout: std::time::Duration,
) -> std::io::Result<Server> {
    let header_timeout = std::time::Duration::from_millis(state.limits.header_timeout_ms);
    let local = listener.local_addr()?;
    let edge = Arc::new(edge::Edge::new(
        &state.limits,
        state.trusted_proxies.clone(),
    ));
    let builder = actix_server::Server::build();
    let shutdown = builder.graceful_shutdown_signal();
    let server = builder
        .workers(workers)
        .shutdown_timeout(drain_timeout.as_secs())
        .disable_signals()
        .listen("annuaire", listener, move || {
            let state = state.clone();
            let edge = edge.clone();
            let shutdown = shutdown.clone();
            let app = App::new()
                .app_data(web::Data::new(state.clone()))
                .wrap(actix_web::middleware::from_fn(access::control))
                .wrap(actix_web::middleware::from_fn(hygiene::guard))
                .wrap(ErrorHandlers::new().default_handler(error::outcome_for_bare_errors))
                .wrap(actix_web::middleware::from_fn(format::respond_in_kind))
                .wrap(actix_web::middleware::from_fn(hygiene::decorate))
                .wrap(Compress::default())
                .wrap(Condition::new(state.access_log, access_logger(&state)))
                .wrap(actix_web::middleware::from_fn(ops::record))
                .configure(configure)
                .into_factory()
                .map_err(|error: actix_web::Error| error.error_response());
            let http = HttpService::build()
                .client_request_timeout(header_timeout)
                // As actix-web's `HttpServer`: a closing connection gets 1 s to flush.
                .client_disconnect_timeout(std::time::Duration::from_secs(1))
                .local_addr(local)
                .graceful_shutdown_signal(move || {
                    let signal = shutdown.clone();
                    async move { signal.notified().await }
                })
                .h1(map_config(app, |_| AppConfig::default()));
            fn_service(move |io: actix_web::rt::net::TcpStream| {
                let guarded = edge.accept(io);
                let peer = guarded.peer_addr();
                std::future::ready(Ok::<_, DispatchError>((guarded, peer)))
            })
            .and_then(http)
        })?
        .run();
    Ok(server)
}

/// The operators' listener: `/metrics`, `/healthz` and `/readyz` only, without credentials
/// (see `Settings::metrics_listen`).
pub fn metrics_server(listener: TcpListener, state: AppState) -> std::io::Result<Server> {
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(state.clone()))
            .configure(configure_operators_listener)
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
