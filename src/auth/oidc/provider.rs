//! The OpenID provider as this server knows it: its discovery document (fetched from
//! `discovery_url`, its issuer checked against the configured one) and its signing keys
//! ([`ProviderKeys`]), kept fresh by one background task (plan D2, issue #28).
//!
//! Keys are fetched at start (retrying with back-off while the provider is unreachable), again
//! every `jwks_refresh_seconds`, and at once when a token names a key we do not know, at most
//! once per `jwks_min_refetch_seconds` so that a flood of made-up `kid`s cannot make us hammer
//! the provider. A key the provider stops publishing stops verifying at the next fetch: the key
//! set carries a version that the bearer-token verifier compares to empty its cache.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use openidconnect::core::CoreJsonWebKeySet;
use openidconnect::{ProviderMetadataWithLogout, reqwest};
use serde_json::Value;

use super::config::OidcConfig;

/// What a provider that cannot be reached is retried after, at most.
const MAX_RETRY: Duration = Duration::from_secs(300);
/// A discovery document or key set larger than this is refused.
const MAX_DOCUMENT_BYTES: usize = 1 << 20;

/// Why the provider's documents could not be used. Logged for operators; never shown to a
/// browser as is.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("{url} unreachable ({reason})")]
    Unreachable { url: String, reason: String },
    #[error("{url} answered HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("{url} is not a valid {what}: {reason}")]
    Invalid {
        url: String,
        what: &'static str,
        reason: String,
    },
    #[error(
        "the discovery document names the issuer `{found}`, not the configured `{expected}` (auth.oidc.issuer)"
    )]
    IssuerMismatch { expected: String, found: String },
}

/// One version of the provider's key set, in the two forms its users read.
#[derive(Debug)]
pub struct KeySet {
    /// Bumped each time the provider's set changes (0: nothing fetched yet).
    pub version: u64,
    /// For ID tokens and userinfo (openidconnect).
    pub oidc: CoreJsonWebKeySet,
    /// For API bearer tokens (jsonwebtoken, [`crate::auth::jwt`]); keys it cannot read are left out.
    pub jwt: jsonwebtoken::jwk::JwkSet,
    /// The set as served, to tell a change from a fetch of the same keys.
    raw: Value,
}

impl KeySet {
    fn empty() -> KeySet {
        KeySet {
            version: 0,
            oidc: CoreJsonWebKeySet::new(Vec::new()),
            jwt: jsonwebtoken::jwk::JwkSet { keys: Vec::new() },
            raw: Value::Null,
        }
    }

    /// How many keys the set holds.
    pub fn len(&self) -> usize {
        self.oidc.keys().len().max(self.jwt.keys.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The provider's signing keys, shared by the sign-in (ID tokens) and the bearer-token
/// verifier (access tokens, plan D4).
#[derive(Debug)]
pub struct ProviderKeys {
    current: RwLock<Arc<KeySet>>,
    /// Set when a token named an unknown key: the background task fetches again, no sooner
    /// than `min_refetch` after its last fetch.
    wanted: tokio::sync::Notify,
    /// Told when a fetch of the key set ends (changed, unchanged or failed).
    fetched: tokio::sync::Notify,
    /// How many fetches of the key set were made (for tests and logs).
    fetches: AtomicU64,
}

impl Default for ProviderKeys {
    fn default() -> ProviderKeys {
        ProviderKeys {
            current: RwLock::new(Arc::new(KeySet::empty())),
            wanted: tokio::sync::Notify::new(),
            fetched: tokio::sync::Notify::new(),
            fetches: AtomicU64::new(0),
        }
    }
}

impl ProviderKeys {
    /// The keys in use now.
    pub fn current(&self) -> Arc<KeySet> {
        self.current.read().expect("keys lock").clone()
    }

    /// The version of the keys in use (0 before the first fetch).
    pub fn version(&self) -> u64 {
        self.current().version
    }

    /// Asks for the keys to be fetched again (a token named a key we do not know). Cheap and
    /// never blocking: requests coalesce, and the fetch waits out `jwks_min_refetch_seconds`.
    pub fn refetch_soon(&self) {
        self.wanted.notify_one();
    }

    /// Asks for the keys to be fetched again and waits, at most `within`, for that fetch to
    /// end (changed, unchanged or failed). What a request whose bearer token names an unknown
    /// key does before it is refused: right after the provider rotates its keys, its first
    /// tokens are then accepted, not refused once. A flood of made-up `kid`s still makes one
    /// fetch per `jwks_min_refetch_seconds`; each such request waits `within`.
    pub async fn fetch_awaited(&self, within: std::time::Duration) {
        // Registered before the fetch is asked for, so that its end cannot be missed.
        let fetched = self.fetched.notified();
        self.refetch_soon();
        let _ = tokio::time::timeout(within, fetched).await;
    }

    /// Puts `raw` (a JWKS document) in use; returns whether the set changed.
    fn replace(&self, raw: Value) -> Result<bool, String> {
        let oidc: CoreJsonWebKeySet =
            serde_json::from_value(raw.clone()).map_err(|e| e.to_string())?;
        let keys = raw
            .get("keys")
            .and_then(Value::as_array)
            .ok_or("no `keys` array")?;
        let jwt = jsonwebtoken::jwk::JwkSet {
            keys: keys
                .iter()
                .filter_map(|k| serde_json::from_value(k.clone()).ok())
                .collect(),
        };
        let mut current = self.current.write().expect("keys lock");
        if current.raw == raw {
            return Ok(false);
        }
        *current = Arc::new(KeySet {
            version: current.version + 1,
            oidc,
            jwt,
            raw,
        });
        Ok(true)
    }
}

/// Whether sign-in can be offered now (`/ui/session`'s `signin`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Availability {
    Available,
    Unavailable,
}

impl Availability {
    pub fn as_str(self) -> &'static str {
        match self {
            Availability::Available => "available",
            Availability::Unavailable => "unavailable",
        }
    }
}

/// The provider: its configuration, what discovery said, its keys.
#[derive(Debug)]
pub struct Provider {
    pub config: OidcConfig,
    metadata: RwLock<Option<Arc<ProviderMetadataWithLogout>>>,
    pub keys: Arc<ProviderKeys>,
    /// When the keys were last fetched (for the rate limit on unknown `kid`s).
    last_fetch: Mutex<Option<Instant>>,
    pub(super) http: reqwest::Client,
}

impl Provider {
    /// A provider not contacted yet; [`Provider::run`] discovers it.
    pub fn new(config: OidcConfig, keys: Arc<ProviderKeys>) -> Provider {
        let http = reqwest::Client::builder()
            // openidconnect's advice: a redirect followed is a server-side request forgery.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(config.timeout())
            .build()
            .expect("an HTTP client with rustls builds");
        Provider {
            config,
            metadata: RwLock::new(None),
            keys,
            last_fetch: Mutex::new(None),
            http,
        }
    }

    /// The discovery document, once fetched.
    pub fn metadata(&self) -> Option<Arc<ProviderMetadataWithLogout>> {
        self.metadata.read().expect("metadata lock").clone()
    }

    /// Sign-in is available once the provider is discovered and its keys fetched.
    pub fn availability(&self) -> Availability {
        if self.metadata().is_some() && !self.keys.current().is_empty() {
            Availability::Available
        } else {
            Availability::Unavailable
        }
    }

    /// How many times the key set was fetched.
    pub fn fetches(&self) -> u64 {
        self.keys.fetches.load(Ordering::Relaxed)
    }

    async fn get_json(&self, url: &str, what: &'static str) -> Result<Value, ProviderError> {
        let unreachable = |e: reqwest::Error| ProviderError::Unreachable {
            url: url.to_owned(),
            reason: without_url(e),
        };
        let response = self
            .http
            .get(url)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(unreachable)?;
        let status = response.status();
        if !status.is_success() {
            return Err(ProviderError::Status {
                url: url.to_owned(),
                status: status.as_u16(),
            });
        }
        let bytes = response.bytes().await.map_err(unreachable)?;
        let invalid = |reason: String| ProviderError::Invalid {
            url: url.to_owned(),
            what,
            reason,
        };
        if bytes.len() > MAX_DOCUMENT_BYTES {
            return Err(invalid("larger than 1 MB".into()));
        }
        serde_json::from_slice(&bytes).map_err(|e| invalid(e.to_string()))
    }

    /// Fetches and checks the discovery document.
    pub async fn discover(&self) -> Result<Arc<ProviderMetadataWithLogout>, ProviderError> {
        let url = self.config.discovery_url();
        let document = self.get_json(&url, "discovery document").await?;
        let metadata: ProviderMetadataWithLogout =
            serde_json::from_value(document).map_err(|e| ProviderError::Invalid {
                url: url.clone(),
                what: "discovery document",
                reason: e.to_string(),
            })?;
        // OpenID Connect Discovery 1.0 §4.3: the issuer must be identical to the expected one.
        if metadata.issuer().as_str() != self.config.issuer {
            return Err(ProviderError::IssuerMismatch {
                expected: self.config.issuer.clone(),
                found: metadata.issuer().to_string(),
            });
        }
        let metadata = Arc::new(metadata);
        *self.metadata.write().expect("metadata lock") = Some(metadata.clone());
        Ok(metadata)
    }

    /// Fetches the key set from the discovered `jwks_uri`; returns whether it changed.
    pub async fn fetch_keys(&self) -> Result<bool, ProviderError> {
        let metadata = match self.metadata() {
            Some(metadata) => metadata,
            None => self.discover().await?,
        };
        let url = metadata.jwks_uri().to_string();
        *self.last_fetch.lock().expect("fetch lock") = Some(Instant::now());
        self.keys.fetches.fetch_add(1, Ordering::Relaxed);
        let outcome = match self.get_json(&url, "JSON Web Key Set").await {
            Ok(document) => self
                .keys
                .replace(document)
                .map_err(|reason| ProviderError::Invalid {
                    url,
                    what: "JSON Web Key Set",
                    reason,
                }),
            Err(e) => Err(e),
        };
        // Requests holding a token of a key we did not know wait for this (see
        // `ProviderKeys::fetch_awaited`), whatever its outcome.
        self.keys.fetched.notify_waiters();
        outcome
    }

    /// Fetches the keys now if the last fetch is older than `jwks_min_refetch_seconds` (an ID
    /// token names a key we do not know); returns whether the set changed.
    pub async fn fetch_keys_if_allowed(&self) -> bool {
        if !self.refetch_delay().is_zero() {
            return false;
        }
        matches!(self.fetch_keys().await, Ok(true))
    }

    /// How long to wait before a fetch asked for by an unknown `kid` is allowed.
    fn refetch_delay(&self) -> Duration {
        let last = *self.last_fetch.lock().expect("fetch lock");
        last.map_or(Duration::ZERO, |at| {
            self.config.jwks_min_refetch().saturating_sub(at.elapsed())
        })
    }

    /// Discovers the provider and keeps its keys fresh, for the life of the server. Logs what
    /// happens in words an operator can act on.
    pub async fn run(self: Arc<Self>) {
        let mut retry = self.config.jwks_min_refetch();
        loop {
            let known = self.keys.version();
            match self.fetch_keys().await {
                Ok(changed) => {
                    retry = self.config.jwks_min_refetch();
                    let keys = self.keys.current().len();
                    if known == 0 {
                        tracing::info!(
                            "Pro Santé Connect: discovery from {} ok, {keys} key(s)",
                            self.config.discovery_url()
                        );
                    } else if changed {
                        tracing::info!(
                            "Pro Santé Connect: the provider's keys changed, {keys} key(s) now in use"
                        );
                    }
                    self.wait_for_next_fetch().await;
                }
                Err(e) => {
                    let what = if known == 0 {
                        "sign-in unavailable until it answers"
                    } else {
                        "the keys fetched before stay in use"
                    };
                    tracing::warn!(
                        "Pro Santé Connect: {e}; {what}; retrying in {} s",
                        retry.as_secs()
                    );
                    tokio::time::sleep(retry).await;
                    retry = (retry * 2).min(MAX_RETRY);
                }
            }
        }
    }

    /// Sleeps until the periodic refresh, or until a token names an unknown key (then no
    /// sooner than `jwks_min_refetch_seconds` after the last fetch).
    async fn wait_for_next_fetch(&self) {
        tokio::select! {
            _ = tokio::time::sleep(self.config.jwks_refresh()) => {}
            _ = self.keys.wanted.notified() => {
                tokio::time::sleep(self.refetch_delay()).await;
            }
        }
    }
}

/// A reqwest error in a few words, without the URL it carries (the caller names it once).
fn without_url(e: reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "connection refused or failed".to_owned()
    } else {
        e.without_url().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwks(kids: &[&str]) -> Value {
        serde_json::json!({"keys": kids.iter().map(|kid| serde_json::json!({
            "kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
            "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",
            "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0",
        })).collect::<Vec<_>>()})
    }

    #[test]
    fn a_changed_set_gets_a_new_version_the_same_set_does_not() {
        let keys = ProviderKeys::default();
        assert_eq!(keys.version(), 0);
        assert!(keys.replace(jwks(&["a"])).unwrap());
        assert_eq!((keys.version(), keys.current().len()), (1, 1));
        assert!(!keys.replace(jwks(&["a"])).unwrap());
        assert_eq!(keys.version(), 1);
        assert!(keys.replace(jwks(&["b", "c"])).unwrap());
        assert_eq!((keys.version(), keys.current().jwt.keys.len()), (2, 2));
        assert!(keys.replace(serde_json::json!({"no": "keys"})).is_err());
        assert_eq!(keys.version(), 2, "a bad document leaves the keys in use");
    }
}
