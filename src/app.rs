//! The one start-up path: [`Application::build`] turns [`Settings`] into a bound, ready
//! server, for `annuaire serve`, `annuaire serve --demo` and every test harness alike.
//!
//! Building takes the data directory's serving lock, opens the current generation, sets up
//! access control and binds the listener (port 0 allowed: [`Application::address`] tells which
//! port was taken). Everything it builds reads the time from one [`Clock`]: the system's for
//! `annuaire serve`, one a test moves by hand with [`Application::build_with`]. [`Application::run_until_stopped`] then serves, watches for newly imported
//! generations and JWKS changes, and returns on SIGINT or SIGTERM.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::auth::audit::{AuditLog, AuditOpenError};
use crate::auth::config::AuthConfig;
use crate::auth::oidc::SignIn;
use crate::auth::{Access, AccessControl, AccessSetupError};
use crate::clock::Clock;
use crate::export::{ExportDir, ExportDirError, Exports};
use crate::generation::datadir::ProcessLock;
use crate::generation::{DataDir, Generations, StoreError};
use crate::http::{self, AppState, LinkBase};
use crate::import::{self, ImportError};
use crate::local::{LocalError, LocalStore};
use crate::notify::{Notifier, NotifyError};
use crate::search::cursor::CursorKey;
use crate::settings::{Settings, SettingsError};

/// How often the server looks for a new generation and a changed JWKS file.
const WATCH_EVERY: Duration = Duration::from_secs(2);
/// How long the generation before an import stays open after the switch: sorted searches
/// that started on it finish their paging on it.
const PREVIOUS_GRACE: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error("cannot listen on {address}: {source}")]
    Listen {
        address: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot prepare the demo dataset: {0}")]
    Demo(std::io::Error),
    #[error("the server stopped with an error: {0}")]
    Server(std::io::Error),
    #[error("invalid configuration: {0}")]
    Access(#[from] AccessSetupError),
    #[error(transparent)]
    Audit(#[from] AuditOpenError),
    #[error(transparent)]
    ExportDir(#[from] ExportDirError),
    #[error("cannot open the local store (lists and subscriptions): {0}")]
    Local(#[from] LocalError),
    #[error("cannot start subscriptions: {0}")]
    Notify(#[from] NotifyError),
}

/// A server bound to its address, with its data open, not yet serving.
pub struct Application {
    address: SocketAddr,
    listener: TcpListener,
    /// The operators' listener (`/metrics`, `/healthz`, `/readyz`), when configured apart.
    metrics_listener: Option<(SocketAddr, TcpListener)>,
    state: AppState,
    workers: usize,
    watch_every: Duration,
    drain_notice: Duration,
    drain_timeout: Duration,
    _serving_lock: ProcessLock,
    /// The demo's temporary directory, removed when the application ends.
    _demo: Option<tempfile::TempDir>,
}

impl Application {
    /// Opens the data (or prepares the demo dataset), sets up access control and binds; on
    /// the system clock.
    pub fn build(settings: Settings) -> Result<Application, ServeError> {
        Application::build_with(settings, Clock::system())
    }

    /// [`Application::build`] on `clock`: token lifetimes, export expiry, search deadlines and
    /// "now", the previous generation's grace and the audit trail all read it.
    pub fn build_with(settings: Settings, clock: Clock) -> Result<Application, ServeError> {
        let cache_bytes = settings.store.cache_bytes();
        let access = access_control(&settings, &clock)?;
        let (data, demo) = if settings.demo {
            let (data, dir) = prepare_demo(cache_bytes, &clock)?;
            (data, Some(dir))
        } else {
            (settings.store.data_dir()?.to_path_buf(), None)
        };
        if !data.is_dir() {
            return Err(StoreError::NoData(data).into());
        }
        let data = DataDir::create(&data)?;
        let serving_lock = data.lock_for_serving()?;
        remove_leftovers(&data)?;
        let export_dir = export_dir(&settings, &data)?;
        let cursor_key = cursor_key(&settings, &data)?;
        let generations = Generations::open(data.clone(), cache_bytes)?.with_clock(clock.clone());
        let listener = bind(settings.listen())?;
        let address = listener.local_addr().map_err(ServeError::Server)?;
        let metrics_listener = match &settings.metrics_listen {
            Some(metrics_address) => {
                let listener = bind(metrics_address)?;
                let bound = listener.local_addr().map_err(ServeError::Server)?;
                Some((bound, listener))
            }
            None => None,
        };
        let mut exports = Exports::new(
            export_dir,
            settings.export_expiry(),
            settings.export_limits(),
        )
        .with_clock(clock.clone());
        if let Some(instance) = &settings.instance {
            exports = exports.named_by(instance);
        }
        let exports = Arc::new(exports);
        let mut state = AppState::new(
            Arc::new(generations),
            access,
            exports,
            settings.limits,
            cursor_key,
        );
        state.access_log = settings.access_log;
        state.trusted_proxies = Arc::new(settings.trusted_proxies.clone());
        state.links = Arc::new(LinkBase::new(
            settings.public_base_url.clone(),
            &settings.allowed_hosts,
            address.to_string(),
        ));
        if settings.public_base_url.is_none() {
            tracing::warn!(
                "no public base URL configured (--public-base-url): links name the `Host` of a request only if it is an --allowed-host, else http://{address}"
            );
        }
        state.metrics_elsewhere = metrics_listener.is_some();
        let public_limit = settings.public_rate_limit();
        public_limit
            .validate("public_rate_limit")
            .map_err(AccessSetupError::from)?;
        state.public_limiter = Arc::new(http::public_limiter(&public_limit));
        check_limits(&settings.limits)?;
        state.clock = clock.clone();
        state.signin = signin(&settings, &state.access.policy, &clock)?;
        if !settings.replica {
            let local = Arc::new(LocalStore::open(&data.root().join("local"), clock)?);
            let notifier = Notifier::new(local.clone(), settings.notify())?
                .with_redaction(state.access.policy.redaction().clone());
            state.local = Some(local);
            state.notifier = Some(Arc::new(notifier));
        }
        match state.generations.current() {
            Some(store) => {
                let info = store.info();
                tracing::info!(
                    "serving {} ({} practitioners, {} roles, {} organizations, as of {}) at http://{address}/fhir",
                    state.generations.serving().unwrap_or_default(),
                    info.resources.practitioner,
                    info.resources.practitioner_role,
                    info.resources.organization,
                    info.last_updated
                );
            }
            None => tracing::warn!(
                "nothing has been imported into {} yet: listening at http://{address}/fhir, answering 503 (and /readyz 503) until an import or a copied generation completes",
                data.root().display()
            ),
        }
        if let Some((metrics_address, _)) = &metrics_listener {
            tracing::info!(
                "metrics at http://{metrics_address}/metrics (with /healthz and /readyz), open to whoever reaches that address"
            );
        }
        Ok(Application {
            address,
            listener,
            metrics_listener,
            state,
            workers: settings.store.workers(),
            watch_every: WATCH_EVERY,
            drain_notice: settings.drain_notice(),
            drain_timeout: settings.drain_timeout(),
            _serving_lock: serving_lock,
            _demo: demo,
        })
    }

    /// The address the server listens on (the port taken when the settings said 0).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Looks for new generations and JWKS changes every `every` instead of every 2 s (tests).
    pub fn watching_every(mut self, every: Duration) -> Application {
        self.watch_every = every;
        self
    }

    /// The address of the operators' listener, when one is configured.
    pub fn metrics_address(&self) -> Option<SocketAddr> {
        self.metrics_listener.as_ref().map(|(address, _)| *address)
    }

    /// Serves until SIGINT or SIGTERM (or the runtime ends), then drains: `/readyz` answers
    /// 503 for the drain notice while requests are still served (a load balancer stops
    /// sending new ones), the listener closes, and the requests in flight get the drain
    /// timeout to finish. Call inside an actix or tokio runtime.
    pub async fn run_until_stopped(self) -> Result<(), ServeError> {
        let server = http::server(
            self.listener,
            self.state.clone(),
            self.workers,
            self.drain_timeout,
        )
        .map_err(ServeError::Server)?;
        let metrics_server = match self.metrics_listener {
            Some((_, listener)) => Some(
                http::metrics_server(listener, self.state.clone()).map_err(ServeError::Server)?,
            ),
            None => None,
        };
        watch_for_new_generations(self.state.clone(), self.watch_every);
        watch_access_keys(self.state.clone(), self.watch_every);
        if let Some(signin) = &self.state.signin {
            signin.spawn();
        }
        if let Some(notifier) = &self.state.notifier {
            let base = match &self.state.links.public {
                Some(public) => format!("{public}/fhir"),
                None => format!("http://{}/fhir", self.address),
            };
            crate::notify::delivery::spawn_with_metrics(
                notifier.clone(),
                self.state.generations.clone(),
                base,
                self.state.metrics.clone(),
            );
        }
        let handle = server.handle();
        let metrics_handle = metrics_server.as_ref().map(|s| s.handle());
        let serving = tokio::spawn(server);
        let metrics_serving = metrics_server.map(tokio::spawn);
        let signal = stop_signal().await;
        self.state.draining.store(true, Ordering::Release);
        tracing::info!(
            "{signal} received: /readyz now answers 503; closing the listener in {} s, then finishing the requests in flight (at most {} s)",
            self.drain_notice.as_secs(),
            self.drain_timeout.as_secs()
        );
        // A second signal during the drain stops at once (an operator who does not want to wait).
        let drain = async {
            tokio::time::sleep(self.drain_notice).await;
            handle.stop(true).await;
        };
        tokio::select! {
            _ = drain => {}
            second = stop_signal() => {
                tracing::warn!("{second} received again: stopping now, without waiting for the requests in flight");
                handle.stop(false).await;
            }
        }
        if let Some(metrics_handle) = metrics_handle {
            metrics_handle.stop(true).await;
        }
        let served = serving.await;
        if let Some(metrics_serving) = metrics_serving {
            let _ = metrics_serving.await;
        }
        match served {
            Ok(result) => result.map_err(ServeError::Server)?,
            Err(e) => return Err(ServeError::Server(std::io::Error::other(e))),
        }
        tracing::info!("server stopped");
        Ok(())
    }
}

/// Waits for SIGTERM or SIGINT; names the one received.
async fn stop_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => tokio::select! {
                _ = terminate.recv() => "SIGTERM",
                _ = tokio::signal::ctrl_c() => "SIGINT",
            },
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM ({e}); stopping on SIGINT only");
                let _ = tokio::signal::ctrl_c().await;
                "SIGINT"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}

/// Limits the connection layer cannot honour: heads longer than actix's parser takes would
/// be refused by it, bodiless, before `limits` are read.
fn check_limits(limits: &crate::search::limits::Limits) -> Result<(), ServeError> {
    for (setting, value, most) in [
        ("max_url_bytes", limits.max_url_bytes, http::MAX_URL_LIMIT),
        (
            "max_header_bytes",
            limits.max_header_bytes,
            http::MAX_HEADER_LIMIT,
        ),
    ] {
        if value > most {
            return Err(SettingsError::Invalid(format!(
                "setting `limits.{setting}`: {value} is more than the {most} bytes the HTTP parser reads"
            ))
            .into());
        }
    }
    Ok(())
}

fn bind(address: &str) -> Result<TcpListener, ServeError> {
    TcpListener::bind(address).map_err(|source| ServeError::Listen {
        address: address.to_owned(),
        source,
    })
}

/// The key cursors are signed with: the shared file the settings name (replicas), else the
/// data directory's own.
fn cursor_key(settings: &Settings, data: &DataDir) -> Result<CursorKey, ServeError> {
    let Some(path) = &settings.cursor_key_file else {
        return Ok(CursorKey::new(&data.cursor_secret()?));
    };
    let secret = std::fs::read(path).map_err(|e| {
        SettingsError::Invalid(format!(
            "setting `cursor_key_file`: cannot read {}: {e}",
            path.display()
        ))
    })?;
    if secret.len() < 32 {
        return Err(SettingsError::Invalid(format!(
            "setting `cursor_key_file`: {} holds {} bytes; it needs at least 32 random bytes (e.g. `head -c 32 /dev/urandom > {}`)",
            path.display(),
            secret.len(),
            path.display()
        ))
        .into());
    }
    Ok(CursorKey::new(&secret))
}

/// The export directory the settings name (by default `exports` in the data directory),
/// checked and marked, with the job directories of an earlier run removed.
fn export_dir(settings: &Settings, data: &DataDir) -> Result<ExportDir, ServeError> {
    let path = settings
        .export_dir
        .clone()
        .unwrap_or_else(|| data.root().join(crate::export::DEFAULT_EXPORT_DIR));
    let (dir, removed) = ExportDir::open(&path, data.root())?;
    if removed > 0 {
        tracing::info!(
            "removed {removed} export(s) left in {} by an earlier run",
            dir.path().display()
        );
    }
    Ok(dir)
}

/// What an import that died left behind is removed at start-up, unless an import is running.
fn remove_leftovers(data: &DataDir) -> Result<(), ServeError> {
    if let Some(import_lock) = data.try_lock_for_import()? {
        for name in data.remove_leftovers(&import_lock)? {
            tracing::info!("removed {name}, left behind by an import that did not complete");
        }
    }
    Ok(())
}

/// Generates nothing: writes the embedded demo files into a temporary directory and imports
/// them.
fn prepare_demo(
    cache_bytes: u64,
    clock: &Clock,
) -> Result<(PathBuf, tempfile::TempDir), ServeError> {
    let dir = tempfile::Builder::new()
        .prefix("annuaire-demo-")
        .tempdir()
        .map_err(ServeError::Demo)?;
    tracing::info!(
        "importing the demo dataset ({} generated persons)",
        crate::demo::PERSONS
    );
    let mut options =
        crate::demo::write_files(dir.path(), cache_bytes).map_err(ServeError::Demo)?;
    options.clock = clock.clone();
    let summary = import::run(&options)?;
    tracing::info!(
        "demo dataset ready: {} practitioners, {} roles, {} organizations",
        summary.resources.practitioner,
        summary.resources.practitioner_role,
        summary.resources.organization
    );
    Ok((options.data, dir))
}

/// The access policy and audit trail the settings ask for, said in the start-up log.
fn access_control(settings: &Settings, clock: &Clock) -> Result<AccessControl, ServeError> {
    let policy = match &settings.auth {
        None if settings.demo => {
            tracing::info!(
                "demo: the server is open (no access control): anyone who reaches it reads everything"
            );
            open_access(settings)?
        }
        None => {
            tracing::warn!(
                "no [auth] configured: the server is open, anyone who reaches it reads everything (see annuaire.example.toml)"
            );
            open_access(settings)?
        }
        Some(auth) => {
            if settings.open_rate_limit.is_some() {
                tracing::warn!(
                    "[open_rate_limit] applies to an open server and is ignored with [auth]: set `rate_limit` on the API keys and on [auth.jwt]"
                );
            }
            let access = Access::from_config(auth.clone(), clock.clone())?;
            tracing::info!("{}", describe_access(auth));
            access
        }
    };
    let audit = match &settings.audit {
        Some(audit) => {
            tracing::info!(
                "audit trail: one JSON line per request to {}",
                audit.destination
            );
            Some(Arc::new(AuditLog::open(audit)?))
        }
        None => None,
    };
    Ok(AccessControl {
        policy: Arc::new(policy),
        audit,
    })
}

/// Sign-in with the OpenID provider `[auth.oidc]` names, sharing the bearer tokens' view of
/// its keys; said in the start-up log. The provider is contacted once the server runs.
fn signin(
    settings: &Settings,
    policy: &Access,
    clock: &Clock,
) -> Result<Option<Arc<SignIn>>, ServeError> {
    let (Some(config), Some(keys)) = (
        settings.auth.as_ref().and_then(|a| a.oidc.clone()),
        policy.provider_keys(),
    ) else {
        return Ok(None);
    };
    let signin = SignIn::new(config, keys.clone(), clock.clone())
        .map_err(|e| AccessSetupError::from(crate::auth::config::ConfigError::from(e)))?;
    let config = signin.config();
    tracing::info!(
        "sign-in with Pro Santé Connect: issuer {}, client `{}` ({}), discovery from {}",
        config.issuer,
        config.client_id,
        if signin.has_secret() {
            "with a client secret and PKCE"
        } else {
            "public client, PKCE"
        },
        config.discovery_url()
    );
    Ok(Some(Arc::new(signin)))
}

/// An open server, rate-limited by client address if the settings say so.
fn open_access(settings: &Settings) -> Result<Access, ServeError> {
    let Some(limit) = &settings.open_rate_limit else {
        return Ok(Access::open());
    };
    tracing::info!(
        "rate limit per client address: {} requests per second, bursts of {}, searches charged by their work",
        limit.per_second,
        limit.burst()
    );
    Ok(Access::open_limited(limit).map_err(AccessSetupError::from)?)
}

fn describe_access(auth: &AuthConfig) -> String {
    let mut parts = vec![format!("{} API key(s)", auth.api_keys.len())];
    if let Some(jwt) = &auth.jwt {
        let algorithms: Vec<&str> = jwt.algorithms.iter().map(|a| a.as_str()).collect();
        let keys = match &jwt.jwks {
            Some(file) => format!("keys in {}", file.relative().display()),
            None => "the OpenID provider's keys".to_owned(),
        };
        let issuer = match (jwt.issuer.as_str(), &auth.oidc) {
            ("", Some(oidc)) => oidc.issuer.as_str(),
            (issuer, _) => issuer,
        };
        parts.push(format!(
            "JWT bearer tokens from {issuer} for {} ({}), {keys}",
            jwt.audience,
            algorithms.join(", "),
        ));
    }
    if let Some(restricted) = &auth.restricted {
        let elements: Vec<String> = restricted.elements.iter().map(|e| e.to_string()).collect();
        parts.push(format!(
            "restricted elements {} (scope {})",
            elements.join(", "),
            restricted.scope
        ));
    }
    if !auth.rules.is_empty() {
        let rules: Vec<String> = auth
            .rules
            .iter()
            .map(crate::auth::rules::describe)
            .collect();
        parts.push(format!("access rules {}", rules.join("; ")));
    }
    format!("access control: {}", parts.join("; "))
}

/// Switches to a newly imported generation without a restart: an import into a served
/// directory takes effect within `every`.
fn watch_for_new_generations(state: AppState, every: Duration) {
    tokio::spawn(async move {
        // Imports that completed while the server was down, local writes not yet processed.
        queue_events(&state).await;
        let mut interval = tokio::time::interval(every);
        loop {
            interval.tick().await;
            let expired = state.exports.remove_expired();
            if expired > 0 {
                tracing::info!("removed {expired} expired export(s) and their files");
            }
            let generations = state.generations.clone();
            let switched = tokio::task::spawn_blocking(move || {
                let switched = generations.switch_if_changed();
                (switched, generations.release_previous(PREVIOUS_GRACE))
            })
            .await;
            match switched {
                Ok((switched, released)) => {
                    match switched {
                        Ok(Some(name)) => {
                            tracing::info!("now serving {name} (a new import completed)");
                            queue_events(&state).await;
                        }
                        Ok(None) => {}
                        Err(e) => {
                            tracing::warn!("a new generation exists but cannot be opened yet: {e}")
                        }
                    }
                    match released {
                        Ok(removed) if !removed.is_empty() => {
                            tracing::info!("removed {}, no longer served", removed.join(", "))
                        }
                        Ok(_) => {}
                        Err(e) => tracing::warn!("cannot remove old generations: {e}"),
                    }
                }
                Err(e) => tracing::warn!("cannot open the new generation: {e}"),
            }
        }
    });
}

/// After a generation switch (and once at start): flags the list entries the import
/// deactivated or deleted, then queues the subscriptions' events of the import and of the
/// local writes not yet processed. Failures are logged and retried at the next switch or start
/// (the notifier keeps its own watermark, so nothing is lost or queued twice).
async fn queue_events(state: &AppState) {
    let (Some(local), Some(notifier)) = (state.local.clone(), state.notifier.clone()) else {
        return;
    };
    let generations = state.generations.clone();
    let queued = tokio::task::spawn_blocking(move || {
        if let Some(current) = generations.current() {
            let flagged = crate::local::list::reflag(&local, &current)?;
            if flagged > 0 {
                tracing::info!(
                    "{flagged} list(s) have members the new import changed (entry.flag)"
                );
            }
        }
        let from_import = notifier.after_switch(&generations)?;
        let from_writes = notifier.after_local_writes(&generations)?;
        Ok::<_, NotifyError>(from_import + from_writes)
    })
    .await;
    match queued {
        Ok(Ok(0)) => {}
        Ok(Ok(queued)) => tracing::info!("queued {queued} subscription event(s)"),
        Ok(Err(e)) => tracing::warn!("cannot queue subscription events yet: {e}"),
        Err(e) => tracing::warn!("cannot queue subscription events yet: {e}"),
    }
}

/// Reloads the JWKS file when it changes or on SIGHUP, and forgets idle rate-limit buckets.
fn watch_access_keys(state: AppState, every: Duration) {
    let policy = state.access.policy.clone();
    let reload = |policy: &Access, forced: bool| {
        let Some(jwt) = policy.jwt() else { return };
        // The provider's keys follow the provider on their own (`auth::oidc::provider`).
        let Some(path) = jwt.jwks_path() else { return };
        let outcome = if forced {
            Some(jwt.reload())
        } else {
            jwt.reload_if_changed()
        };
        match outcome {
            Some(Ok(keys)) => tracing::info!(
                "reloaded {} ({keys} usable key(s)); cached tokens will be verified again",
                path.display()
            ),
            Some(Err(e)) => tracing::warn!("{e}; the keys loaded before stay in use"),
            // What a test (or an operator wondering why a change was not picked up) can see.
            None => tracing::trace!("{} unchanged since it was loaded", path.display()),
        }
    };
    let polled = policy.clone();
    let public = state.public_limiter.clone();
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(every);
        loop {
            interval.tick().await;
            reload(&polled, false);
            polled.forget_idle_buckets();
            public.retain_recent();
        }
    });
    if policy.jwt().is_none() {
        return;
    }
    #[cfg(unix)]
    tokio::spawn(async move {
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
