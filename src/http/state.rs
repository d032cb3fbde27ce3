//! What every handler can reach: the generations served, access control, limits and the
//! other shared parts of a server, registered once as actix `app_data`.

use std::sync::Arc;

use super::error::ApiError;
use crate::auth::config::RateLimitConfig;
use crate::auth::{AccessControl, AccessError};
use crate::clock::Clock;
use crate::export::Exports;
use crate::generation::{Generation, Generations};
use crate::local::LocalStore;
use crate::notify::Notifier;
use crate::search::admission::Admission;
use crate::search::cursor::{CursorKey, PageGeneration};
use crate::search::limits::Limits;

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
    /// What absolute links start with.
    pub links: Arc<LinkBase>,
    /// Token buckets by client address for the public paths (no credentials to key them by).
    pub public_limiter: Arc<governor::DefaultKeyedRateLimiter<std::net::IpAddr>>,
    /// What `/metrics` reports.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// `/metrics` is served on a listener of its own, not on the main one.
    pub metrics_elsewhere: bool,
    /// Set on SIGTERM: `/readyz` answers 503 while the server finishes what it has.
    pub draining: Arc<std::sync::atomic::AtomicBool>,
    /// Where requests read the time: searches' deadlines and "now", the audit trail.
    pub clock: Clock,
    /// What hospitals write (lists, subscriptions): `None` on a replica (`--replica`), which
    /// sends clients to the writer.
    pub local: Option<Arc<LocalStore>>,
    /// Subscriptions' engine (with `local`).
    pub notifier: Option<Arc<Notifier>>,
    /// Sign-in with the OpenID provider (`[auth.oidc]`) and the page's sessions: `None` when
    /// no provider is configured.
    pub signin: Option<Arc<crate::auth::oidc::SignIn>>,
}

/// Where the absolute links a server writes point: its configured public address, else a
/// `Host` it was told to accept, else the address it listens on. Never a host the client made
/// up: links are served to others (a cached Bundle, an export manifest) and followed with
/// credentials.
#[derive(Debug, Clone, Default)]
pub struct LinkBase {
    /// `https://annuaire.example` (no trailing `/`): always used when set.
    pub public: Option<String>,
    /// `Host` values links may be built from, lower-case.
    pub allowed_hosts: Vec<String>,
    /// `127.0.0.1:8080`: the address bound, when nothing else applies.
    pub listen: String,
}

impl LinkBase {
    pub fn new(public: Option<String>, allowed_hosts: &[String], listen: String) -> LinkBase {
        LinkBase {
            public,
            allowed_hosts: allowed_hosts
                .iter()
                .map(|h| h.trim().to_ascii_lowercase())
                .collect(),
            listen,
        }
    }

    /// Whether links may name `host` (as sent in `Host`, or forwarded by a trusted proxy when
    /// `proxied`). A trusted proxy's host is believed when no allow-list is configured.
    pub fn allows(&self, host: &str, proxied: bool) -> bool {
        if self.allowed_hosts.is_empty() {
            return proxied;
        }
        let host = host.to_ascii_lowercase();
        self.allowed_hosts.contains(&host)
    }
}

/// The public paths' buckets, one per client address.
pub fn public_limiter(
    limit: &RateLimitConfig,
) -> governor::DefaultKeyedRateLimiter<std::net::IpAddr> {
    let rate = std::num::NonZeroU32::new(limit.per_second).unwrap_or(std::num::NonZeroU32::MIN);
    let burst = std::num::NonZeroU32::new(limit.burst()).unwrap_or(std::num::NonZeroU32::MIN);
    governor::DefaultKeyedRateLimiter::keyed(governor::Quota::per_second(rate).allow_burst(burst))
}

impl AppState {
    /// Takes a token of `address`'s bucket for a public path, or says how long to wait.
    pub fn admit_public(&self, address: std::net::IpAddr) -> Result<(), AccessError> {
        use governor::clock::{Clock as _, DefaultClock};
        self.public_limiter
            .check_key(&address)
            .map_err(|not_until| AccessError::RateLimited {
                who: "this address".into(),
                bucket: "public",
                retry_after: not_until.wait_time_from(DefaultClock::default().now()),
            })
    }

    pub fn new(
        generations: Arc<Generations>,
        access: AccessControl,
        exports: Arc<Exports>,
        limits: Limits,
        cursor_key: CursorKey,
    ) -> AppState {
        let capability = crate::conformance::capability_statement(
            env!("CARGO_PKG_VERSION"),
            access.policy.capability_security(),
        );
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
            links: Arc::new(LinkBase::default()),
            public_limiter: Arc::new(public_limiter(&RateLimitConfig {
                per_second: crate::settings::DEFAULT_PUBLIC_PER_SECOND,
                burst: Some(crate::settings::DEFAULT_PUBLIC_BURST),
            })),
            metrics: Arc::new(crate::metrics::Metrics::new()),
            metrics_elsewhere: false,
            draining: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            clock: Clock::system(),
            local: None,
            notifier: None,
            signin: None,
        }
    }

    /// The local store (lists, subscriptions), or 421 on a replica: the load balancer sends
    /// those requests to the writer.
    pub fn local(&self) -> Result<&Arc<LocalStore>, ApiError> {
        self.local.as_ref().ok_or_else(misdirected)
    }

    /// The subscriptions' engine, or 421 on a replica.
    pub fn notifier(&self) -> Result<&Arc<Notifier>, ApiError> {
        self.notifier.as_ref().ok_or_else(misdirected)
    }

    /// The generation served now, or 503 before the first one is in place.
    pub fn current(&self) -> Result<Arc<Generation>, ApiError> {
        self.generations.current().ok_or_else(|| {
            ApiError::NotReady(
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
        pinned: Option<&PageGeneration>,
    ) -> Result<Arc<Generation>, ApiError> {
        let current = self.current()?;
        let Some(pinned) = pinned else {
            return Ok(current);
        };
        if let Some(held) = self.generations.get(&pinned.id) {
            return Ok(held);
        }
        if pinned.stamp > current.info().import_time() {
            return Err(ApiError::NotReady(
                "this page comes from data newer than this server has loaded yet; try again in a moment".into(),
            ));
        }
        Ok(current)
    }
}

/// What a replica answers to the requests only the writer serves.
fn misdirected() -> ApiError {
    ApiError::Misdirected(
        "this server is a read-only replica: lists, subscriptions and `_list` searches are served by the writer; send this request there".into(),
    )
}
