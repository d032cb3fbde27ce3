//! The HTTP edge: a thin actix-web layer over the store. Handlers parse, call one store
//! function, and shape the response; every error goes through [`error::ApiError`].

mod access;
pub mod error;
mod handlers;
pub mod search;

use std::net::TcpListener;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::{Compress, Condition, Logger};
use actix_web::{App, HttpServer, guard, web};

use crate::auth::AccessControl;
use crate::store::{DataDir, ResourceStore, SledGeneration, StoreError};

/// `Content-Type` of every FHIR body. FHIR 4.0.1 JSON: no `fhirVersion` parameter is needed for
/// R4, and fhir-sdk's constant (which says 4.3) is deliberately not used.
pub const FHIR_JSON: &str = "application/fhir+json; charset=utf-8";

/// The generation being served; replaced when an import switches `CURRENT`.
pub type SharedStore = Arc<RwLock<Arc<dyn ResourceStore>>>;
pub type SharedPrevious = Arc<RwLock<Option<Arc<dyn ResourceStore>>>>;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub store: SharedStore,
    /// The generation served before the current one, kept open until the next switch so that
    /// sorted searches paging across an import finish on the data they started on.
    pub previous: SharedPrevious,
    /// The CapabilityStatement, serialized once.
    pub capability: Arc<Vec<u8>>,
    /// Log one line per request (off by default: at tens of thousands of requests per second
    /// the log itself becomes the bottleneck).
    pub access_log: bool,
    /// Who may read what, and the audit trail.
    pub access: AccessControl,
}

impl AppState {
    /// An open server: no access control, no audit trail.
    pub fn new(store: Arc<dyn ResourceStore>) -> AppState {
        AppState::with_access(store, AccessControl::open())
    }

    pub fn with_access(store: Arc<dyn ResourceStore>, access: AccessControl) -> AppState {
        let mut capability = crate::conformance::capability_statement(env!("CARGO_PKG_VERSION"));
        if let Some(rest) = capability["rest"].get_mut(0) {
            rest["security"] = access.policy.capability_security();
        }
        AppState {
            store: Arc::new(RwLock::new(store)),
            previous: Arc::new(RwLock::new(None)),
            capability: Arc::new(serde_json::to_vec(&capability).expect("JSON value serializes")),
            access_log: false,
            access,
        }
    }

    pub fn current(&self) -> Arc<dyn ResourceStore> {
        self.store.read().expect("store lock").clone()
    }

    /// The open generation numbered `number`, if it is the current or the previous one.
    pub fn generation(&self, number: u64) -> Option<Arc<dyn ResourceStore>> {
        let current = self.current();
        if current.info().number == number {
            return Some(current);
        }
        let previous = self.previous.read().expect("store lock").clone();
        previous.filter(|p| p.info().number == number)
    }
}

/// GET, and HEAD (same headers, no body: actix drops the body of HEAD responses).
fn get_or_head() -> actix_web::Route {
    web::route().guard(guard::Any(guard::Get()).or(guard::Head()))
}

/// Registers the FHIR routes under `/fhir`.
pub fn configure(config: &mut web::ServiceConfig) {
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
            .route("/{type}/_search", web::post().to(handlers::search_post))
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

/// Starts serving on an already bound listener (port 0 in tests). Stops gracefully on SIGINT
/// and SIGTERM.
pub fn start(listener: TcpListener, state: AppState, workers: usize) -> std::io::Result<Server> {
    let server = HttpServer::new(move || {
        App::new()
            .app_data(web::Data::new(state.clone()))
            .wrap(actix_web::middleware::from_fn(access::control))
            .wrap(Compress::default())
            .wrap(Condition::new(state.access_log, access_logger(&state)))
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
    .shutdown_timeout(10)
    .listen(listener)?
    .run();
    Ok(server)
}

/// Reloads the JWKS file when it changes or on SIGHUP, and forgets idle rate-limit buckets.
pub fn watch_access_keys(state: AppState, every: Duration) {
    let policy = state.access.policy.clone();
    if policy.jwt().is_none() {
        return;
    }
    let reload = |policy: &crate::auth::Access, forced: bool| {
        let Some(jwt) = policy.jwt() else { return };
        let outcome = if forced {
            Some(jwt.reload())
        } else {
            jwt.reload_if_changed()
        };
        match outcome {
            Some(Ok(keys)) => tracing::info!(
                "reloaded {} ({keys} usable key(s)); cached tokens will be verified again",
                jwt.jwks_path().display()
            ),
            Some(Err(e)) => tracing::warn!("{e}; the keys loaded before stay in use"),
            None => {}
        }
    };
    let polled = policy.clone();
    actix_web::rt::spawn(async move {
        let mut interval = actix_web::rt::time::interval(every);
        loop {
            interval.tick().await;
            reload(&polled, false);
            polled.forget_idle_subjects();
        }
    });
    #[cfg(unix)]
    actix_web::rt::spawn(async move {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hangups) = signal(SignalKind::hangup()) else {
            tracing::warn!(
                "cannot listen for SIGHUP; the JWKS file is still reloaded when it changes"
            );
            return;
        };
        while hangups.recv().await.is_some() {
            reload(&policy, true);
        }
    });
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

/// Opens the generation `CURRENT` names, marking it in use.
pub fn open_current(
    data: &DataDir,
    cache_bytes: u64,
) -> Result<(String, SledGeneration), StoreError> {
    let name = data
        .current()?
        .ok_or_else(|| StoreError::NoData(data.root().to_path_buf()))?;
    let in_use = data.hold_generation(&name)?;
    let generation = SledGeneration::open(&data.generation_path(&name), cache_bytes, Some(in_use))?;
    Ok((name, generation))
}

/// Watches `CURRENT` and switches to a newly imported generation without a restart: an import
/// into a served directory is safe and takes effect within `every`.
pub fn watch_for_new_generations(
    data: DataDir,
    serving: String,
    cache_bytes: u64,
    state: AppState,
    every: Duration,
) {
    actix_web::rt::spawn(async move {
        let mut serving = serving;
        let mut interval = actix_web::rt::time::interval(every);
        loop {
            interval.tick().await;
            let Ok(Some(current)) = data.current() else {
                continue;
            };
            if current == serving {
                continue;
            }
            let opened = {
                let data = data.clone();
                web::block(move || open_current(&data, cache_bytes)).await
            };
            match opened {
                Ok(Ok((name, generation))) => {
                    tracing::info!("now serving {name} (a new import completed)");
                    let replaced = std::mem::replace(
                        &mut *state.store.write().expect("store lock"),
                        Arc::new(generation),
                    );
                    *state.previous.write().expect("store lock") = Some(replaced);
                    serving = name;
                }
                Ok(Err(e)) => tracing::warn!(
                    "a new generation {current} exists but cannot be opened yet: {e}"
                ),
                Err(e) => tracing::warn!("cannot open generation {current}: {e}"),
            }
        }
    });
}
