//! Access control at the edge: who is calling (API key or JWT bearer token), what they may
//! read and search (SMART scopes), which elements they may see (restricted elements), how
//! fast (token buckets), and the audit trail of every request.
//!
//! The HTTP layer asks this module three questions per request — [`Access::authenticate`],
//! [`Access::admit`] (rate limit) and [`Access::authorize_search`] / [`Access::authorize_read`]
//! — and applies [`Redaction`] to what it returns. With no `[auth]` configured the server is
//! open: every caller gets [`Permissions::all`].

pub mod audit;
pub mod caller;
pub mod config;
pub mod jwt;
pub mod oidc;
pub mod psc;
pub mod rules;
pub mod scopes;

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub use self::caller::{Caller, Channel, Identity};
use self::config::{AuthConfig, ConfigError, RateLimitConfig};
use self::jwt::{JwksError, JwtVerifier, TokenError};
use self::rules::Rules;
pub use self::scopes::{LocalAction, Permissions};
use crate::fhir::ResourceType;
use crate::local::LocalType;
use crate::search::params::SearchParam;
use crate::search::query::{Criterion, SearchRequest};
use crate::search::redact::Redaction;

/// The header the ANS gateway reads API keys from.
pub const API_KEY_HEADER: &str = "esante-api-key";

/// Why a request is refused; the HTTP edge turns each into 401, 403 or 429.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    #[error(
        "authentication required: send an API key in the ESANTE-API-KEY header or a bearer token in the Authorization header"
    )]
    NoCredentials,
    #[error("the API key is not valid")]
    UnknownKey,
    #[error("{0}")]
    BadToken(#[from] TokenError),
    #[error("the Authorization header must be `Bearer <token>`")]
    NotBearer,
    #[error("{0}")]
    Forbidden(String),
    #[error("too many requests from {who}; retry in {} s", retry_after.as_secs().max(1))]
    RateLimited {
        who: String,
        /// Which kind of bucket: `address`, `api_key` or `token_subject` (for `/metrics`).
        bucket: &'static str,
        retry_after: Duration,
    },
}

impl AccessError {
    /// For `WWW-Authenticate` (RFC 6750 §3): `invalid_token` when a token was presented.
    pub fn bearer_error(&self) -> Option<&'static str> {
        match self {
            AccessError::BadToken(_) | AccessError::NotBearer => Some("invalid_token"),
            AccessError::Forbidden(_) => Some("insufficient_scope"),
            _ => None,
        }
    }

    /// Why credentials were refused, for the audit line of a caller the server could not
    /// identify. Never the credential itself.
    pub fn audit_reason(&self) -> &'static str {
        match self {
            AccessError::NoCredentials => "no_credentials",
            AccessError::UnknownKey => "unknown_api_key",
            AccessError::BadToken(TokenError::Expired) => "expired_token",
            AccessError::BadToken(_) | AccessError::NotBearer => "invalid_token",
            AccessError::Forbidden(_) => "forbidden",
            AccessError::RateLimited { .. } => "rate_limited",
        }
    }
}

/// Why the access configuration cannot be used at startup.
#[derive(Debug, thiserror::Error)]
pub enum AccessSetupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("invalid setting `auth.jwt.jwks`: {0}")]
    Jwks(#[from] JwksError),
}

/// The access policy and the audit trail, as the server holds them.
#[derive(Clone)]
pub struct AccessControl {
    pub policy: Arc<Access>,
    pub audit: Option<Arc<audit::AuditLog>>,
}

impl std::fmt::Debug for AccessControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessControl")
            .field("open", &self.policy.is_open())
            .field("audit", &self.audit.is_some())
            .finish()
    }
}

impl AccessControl {
    /// No access control and no audit trail.
    pub fn open() -> AccessControl {
        AccessControl {
            policy: Arc::new(Access::open()),
            audit: None,
        }
    }
}

/// The access policy in force.
pub struct Access {
    config: Option<AuthConfig>,
    /// API keys by the SHA-256 of the key.
    keys: HashMap<[u8; 32], Arc<Caller>>,
    /// Token buckets of the API keys that have a limit, by key name.
    key_limiters: HashMap<String, DefaultDirectRateLimiter>,
    jwt: Option<JwtVerifier>,
    subject_limiter: Option<DefaultKeyedRateLimiter<String>>,
    /// Token buckets by client address, for the callers of an open server.
    address_limiter: Option<DefaultKeyedRateLimiter<IpAddr>>,
    redaction: Redaction,
    /// `auth.restricted.scope`, which tokens and rules may grant.
    restricted_scope: Option<String>,
    /// `[[auth.rules]]`: what verified identities get beside their own scopes.
    rules: Rules,
    open: Arc<Caller>,
    /// The OpenID provider's keys, when `[auth.oidc]` is configured.
    provider_keys: Option<Arc<oidc::ProviderKeys>>,
}

/// The bucket a request is charged to.
enum Bucket<'a> {
    Key(&'a DefaultDirectRateLimiter),
    Subject(&'a DefaultKeyedRateLimiter<String>, &'a String),
    Address(&'a DefaultKeyedRateLimiter<IpAddr>, IpAddr),
}

impl Bucket<'_> {
    /// Takes one token, or says how long until one is there.
    fn take(&self) -> Result<(), Duration> {
        let wait = |n: governor::NotUntil<_>| n.wait_time_from(DefaultClock::default().now());
        match self {
            Bucket::Key(limiter) => limiter.check().map_err(wait),
            Bucket::Subject(limiter, subject) => limiter.check_key(subject).map_err(wait),
            Bucket::Address(limiter, address) => limiter.check_key(address).map_err(wait),
        }
    }
}

fn quota(limit: &RateLimitConfig) -> Quota {
    let rate = NonZeroU32::new(limit.per_second).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(limit.burst()).unwrap_or(NonZeroU32::MIN);
    Quota::per_second(rate).allow_burst(burst)
}

/// The bearer-token verifier `[auth.jwt]` asks for: keys from its JWKS file, else from the
/// provider (`[auth.oidc]`), whose issuer is then the default.
fn jwt_verifier(
    mut jwt: config::JwtConfig,
    config: &AuthConfig,
    provider_keys: Option<Arc<oidc::ProviderKeys>>,
    restricted_scope: Option<String>,
    clock: crate::clock::Clock,
) -> Result<JwtVerifier, JwksError> {
    if jwt.issuer.trim().is_empty()
        && let Some(oidc) = &config.oidc
    {
        jwt.issuer = oidc.issuer.clone();
    }
    match (&jwt.jwks, provider_keys) {
        (None, Some(keys)) => Ok(JwtVerifier::with_provider_keys(
            jwt,
            keys,
            restricted_scope,
            clock,
        )),
        _ => JwtVerifier::new(jwt, restricted_scope, clock),
    }
}

/// SHA-256 of an API key, as the configuration holds it.
pub fn hash_api_key(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

impl Access {
    /// No access control: everyone reads everything.
    pub fn open() -> Access {
        Access {
            config: None,
            keys: HashMap::new(),
            key_limiters: HashMap::new(),
            jwt: None,
            subject_limiter: None,
            address_limiter: None,
            redaction: Redaction::none(),
            restricted_scope: None,
            rules: Rules::default(),
            open: Arc::new(Caller::open()),
            provider_keys: None,
        }
    }

    /// An open server whose callers are rate-limited by client address.
    pub fn open_limited(per_address: &RateLimitConfig) -> Result<Access, ConfigError> {
        per_address.validate("open_rate_limit")?;
        Ok(Access {
            address_limiter: Some(DefaultKeyedRateLimiter::keyed(quota(per_address))),
            ..Access::open()
        })
    }

    /// Checks the configuration and loads the JWKS file; tokens' lifetimes are checked
    /// against `clock`.
    pub fn from_config(
        config: AuthConfig,
        clock: crate::clock::Clock,
    ) -> Result<Access, AccessSetupError> {
        config.validate()?;
        let rules = config.checked_rules()?;
        let restricted_scope = config.restricted.as_ref().map(|r| r.scope.clone());
        let mut keys = HashMap::new();
        let mut key_limiters = HashMap::new();
        for key in &config.api_keys {
            let digest = key.sha256.0;
            let caller = Caller {
                identity: Identity::Key {
                    name: key.name.clone(),
                },
                permissions: Permissions::from_scopes(
                    key.scopes.iter().map(String::as_str),
                    restricted_scope.as_deref(),
                ),
                rules: Vec::new(),
                channel: Channel::Header,
            };
            keys.insert(digest, Arc::new(caller));
            if let Some(limit) = &key.rate_limit {
                key_limiters.insert(
                    key.name.clone(),
                    DefaultDirectRateLimiter::direct(quota(limit)),
                );
            }
        }
        // One set of the provider's keys, for the sign-in and the bearer tokens alike.
        let provider_keys = config
            .oidc
            .as_ref()
            .map(|_| Arc::new(oidc::ProviderKeys::default()));
        let jwt = config
            .jwt
            .clone()
            .map(|j| {
                jwt_verifier(
                    j,
                    &config,
                    provider_keys.clone(),
                    restricted_scope.clone(),
                    clock,
                )
            })
            .transpose()?;
        let subject_limiter = config
            .jwt
            .as_ref()
            .and_then(|j| j.rate_limit.as_ref())
            .map(|l| DefaultKeyedRateLimiter::keyed(quota(l)));
        let redaction = config
            .restricted
            .as_ref()
            .map_or_else(Redaction::none, |r| {
                Redaction::new(r.elements.iter().map(|e| (e.rtype, e.element)))
            });
        Ok(Access {
            config: Some(config),
            keys,
            key_limiters,
            jwt,
            subject_limiter,
            address_limiter: None,
            redaction,
            restricted_scope,
            rules,
            open: Arc::new(Caller::open()),
            provider_keys,
        })
    }

    /// The OpenID provider's keys (`[auth.oidc]`), shared by the sign-in and the bearer tokens.
    pub fn provider_keys(&self) -> Option<&Arc<oidc::ProviderKeys>> {
        self.provider_keys.as_ref()
    }

    pub fn is_open(&self) -> bool {
        self.config.is_none()
    }

    pub fn config(&self) -> Option<&AuthConfig> {
        self.config.as_ref()
    }

    pub fn jwt(&self) -> Option<&JwtVerifier> {
        self.jwt.as_ref()
    }

    pub fn realm(&self) -> &str {
        self.config
            .as_ref()
            .map_or("annuaire", |c| c.realm.as_str())
    }

    /// Every restricted element, whoever asks: what the audit trail and the access log hide.
    pub fn redaction(&self) -> &Redaction {
        &self.redaction
    }

    /// The access rules in force (`[[auth.rules]]`).
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// What `caller` may not see: nothing with the restricted scope, the restricted elements
    /// but those the access rules unlocked for it otherwise. The one place that choice is
    /// made, for reads, searches, histories, exports, and the searches refused for filtering
    /// on what the caller may not see.
    pub fn redaction_for(&self, caller: &Caller) -> Redaction {
        let permissions = &caller.permissions;
        if permissions.restricted {
            return Redaction::none();
        }
        if permissions.unlocked.is_empty() {
            return self.redaction.clone();
        }
        self.redaction
            .except(|rtype, element| permissions.may_see(rtype, element))
    }

    /// The caller a verified identity stands for: what its own scopes grant, with what the
    /// access rules grant it (`rules` names them). For bearer tokens and the page's
    /// sessions; never for API keys, whose scopes are all an operator gave them. The
    /// caller's channel is [`Channel::Header`]; a session sets its own.
    pub fn caller_for_identity(&self, identity: Identity, own_scopes: &[&str]) -> Caller {
        let permissions =
            Permissions::from_scopes(own_scopes.iter().copied(), self.restricted_scope.as_deref());
        let mut caller = Caller {
            identity,
            permissions,
            rules: Vec::new(),
            channel: Channel::Header,
        };
        self.grant_rules(&mut caller);
        caller
    }

    /// Adds what the access rules grant `caller`'s identity to its permissions.
    fn grant_rules(&self, caller: &mut Caller) {
        let granted = self.rules.grant(&caller.identity);
        caller.permissions.merge(&granted.permissions);
        caller.rules = granted.names;
    }

    /// A verified token's caller with the access rules applied: the verifier's cached caller
    /// itself when no rule applies to it (its signature stays verified once per token).
    fn with_rules(&self, verified: Arc<Caller>) -> Arc<Caller> {
        if self.rules.is_empty() {
            return verified;
        }
        let mut caller = (*verified).clone();
        self.grant_rules(&mut caller);
        if caller.rules.is_empty() {
            return verified;
        }
        Arc::new(caller)
    }

    /// The caller behind a request's credentials. `Authorization` wins over `ESANTE-API-KEY`
    /// when both are sent.
    pub fn authenticate(
        &self,
        authorization: Option<&str>,
        api_key: Option<&str>,
    ) -> Result<Arc<Caller>, AccessError> {
        if self.is_open() {
            return Ok(self.open.clone());
        }
        if let Some(header) = authorization {
            let token = bearer_token(header).ok_or(AccessError::NotBearer)?;
            let verifier = self.jwt.as_ref().ok_or(TokenError::Malformed)?;
            return Ok(self.with_rules(verifier.verify(token)?));
        }
        if let Some(key) = api_key {
            return self
                .keys
                .get(&hash_api_key(key.trim()))
                .cloned()
                .ok_or(AccessError::UnknownKey);
        }
        Err(AccessError::NoCredentials)
    }

    /// The bucket `caller`'s requests are charged to: their key's, their token subject's, or
    /// (open server) their address's. None: not limited.
    fn bucket<'a>(&'a self, caller: &'a Caller, address: IpAddr) -> Option<Bucket<'a>> {
        match &caller.identity {
            Identity::Anonymous => self
                .address_limiter
                .as_ref()
                .map(|limiter| Bucket::Address(limiter, address)),
            Identity::Key { name } => self.key_limiters.get(name).map(Bucket::Key),
            Identity::Token { subject, .. } => self
                .subject_limiter
                .as_ref()
                .map(|limiter| Bucket::Subject(limiter, subject)),
        }
    }

    /// Takes the one token every request costs from the caller's bucket, or says how long to
    /// wait. `address` is the client's (the proxy's client when the peer is a trusted proxy).
    pub fn admit(&self, caller: &Caller, address: IpAddr) -> Result<(), AccessError> {
        let Some(bucket) = self.bucket(caller, address) else {
            return Ok(());
        };
        bucket
            .take()
            .map_err(|retry_after| AccessError::RateLimited {
                who: caller.describe(),
                bucket: match caller.identity {
                    Identity::Anonymous => "address",
                    Identity::Key { .. } => "api_key",
                    Identity::Token { .. } => "token_subject",
                },
                retry_after,
            })
    }

    /// Charges `tokens` more for the work a request did, as far as the bucket holds them: an
    /// expensive search empties it, and the caller's next requests wait for the refill.
    pub fn charge(&self, caller: &Caller, address: IpAddr, tokens: u32) {
        if let Some(bucket) = self.bucket(caller, address) {
            for _ in 0..tokens {
                if bucket.take().is_err() {
                    break;
                }
            }
        }
    }

    /// Forgets idle token subjects' and addresses' buckets (called periodically).
    pub fn forget_idle_buckets(&self) {
        if let Some(limiter) = &self.subject_limiter {
            limiter.retain_recent();
        }
        if let Some(limiter) = &self.address_limiter {
            limiter.retain_recent();
        }
    }

    /// The end of a refusal's message for a caller the access rules apply to: that none of
    /// them grants what was missing either (an operator reading it knows where to look).
    fn no_rule_grants(&self, caller: &Caller) -> &'static str {
        match &caller.identity {
            _ if self.rules.is_empty() => "",
            Identity::Token {
                national_id: Some(_),
                ..
            } => "; no access rule grants it to this professional",
            Identity::Token { .. } => "; no access rule grants it to this caller",
            Identity::Anonymous | Identity::Key { .. } => "",
        }
    }

    /// May `caller` read `rtype` by id?
    pub fn authorize_read(&self, caller: &Caller, rtype: ResourceType) -> Result<(), AccessError> {
        if caller.permissions.may_read(rtype) {
            return Ok(());
        }
        Err(AccessError::Forbidden(format!(
            "{} may not read {rtype}: it needs a scope such as system/{rtype}.read or system/{rtype}.r{}",
            caller.describe(),
            self.no_rule_grants(caller)
        )))
    }

    /// May `caller` `action` resources of a local type (`List`, `Subscription`)? A refusal is
    /// a 403 naming the scope that would grant it. (Which subscriptions a caller sees is the
    /// subscriptions' own rule: its own only, by [`Caller::owner`].)
    pub fn authorize_local(
        &self,
        caller: &Caller,
        rtype: LocalType,
        action: LocalAction,
    ) -> Result<(), AccessError> {
        if caller.permissions.may(rtype, action) {
            return Ok(());
        }
        let rtype = rtype.as_str();
        let (verb, letters) = match action {
            LocalAction::Read => ("read or search", "rs"),
            LocalAction::Write => ("create, update or delete", "cud"),
        };
        Err(AccessError::Forbidden(format!(
            "{} may not {verb} {rtype}: it needs a scope such as system/{rtype}.{} or system/{rtype}.{letters} (`*` scopes do not cover {rtype}){}",
            caller.describe(),
            action.as_str(),
            self.no_rule_grants(caller),
        )))
    }

    /// May `caller` run this search? Refuses a search on a type, a chain or `_has` through a
    /// type, or an `_include`/`_revinclude` towards a type, that the caller may not see; and a
    /// filter or sort on a restricted element the caller may not see (a filter on a hidden
    /// field reveals it).
    pub fn authorize_search(
        &self,
        caller: &Caller,
        request: &SearchRequest,
    ) -> Result<(), AccessError> {
        let may_search = |rtype: ResourceType| -> Result<(), AccessError> {
            if caller.permissions.may_search(rtype) {
                Ok(())
            } else {
                Err(AccessError::Forbidden(format!(
                    "{} may not search {rtype}: it needs a scope such as system/{rtype}.read or system/{rtype}.s{}",
                    caller.describe(),
                    self.no_rule_grants(caller)
                )))
            }
        };
        may_search(request.rtype)?;
        // `_list` reads the lists' members: it reveals what the lists hold.
        if !request.lists.is_empty() {
            self.authorize_local(caller, LocalType::List, LocalAction::Read)?;
        }
        let hidden = self.redaction_for(caller);
        for criterion in &request.criteria {
            authorize_criterion(request.rtype, criterion, &hidden, &may_search)?;
        }
        for key in &request.sort {
            refuse_restricted(&hidden, request.rtype, key.param, "sort on")?;
        }
        for include in &request.includes {
            // `_include:iterate=*` follows references from every type it reaches.
            let sources = match include.source {
                Some(source) => vec![source],
                None if include.iterate => ResourceType::ALL.to_vec(),
                None => vec![request.rtype],
            };
            for source in sources {
                for (param, target) in include.followed_params(source) {
                    authorize_include(caller, source, param, target, target, &hidden)?;
                }
            }
        }
        for include in &request.revincludes {
            let Some(source) = include.source else {
                continue;
            };
            for (param, target) in include.followed_params(source) {
                authorize_include(caller, source, param, target, source, &hidden)?;
            }
        }
        Ok(())
    }

    /// `rest.security` of the CapabilityStatement.
    pub fn capability_security(&self) -> Value {
        let Some(config) = &self.config else {
            return json!({
                "cors": false,
                "description": "Open server: no authentication is configured, every client reads everything."
            });
        };
        let mut ways = Vec::new();
        if !config.api_keys.is_empty() {
            ways.push("an API key in the ESANTE-API-KEY header (as with the ANS gateway)");
        }
        if config.jwt.is_some() {
            ways.push("an OAuth 2.0 bearer token (JWT) carrying SMART scopes (v1 or v2 syntax)");
        }
        // In the order of the definition of `rest.security` (extension first), as FHIR XML
        // requires.
        let mut security = serde_json::Map::new();
        if let Some(smart) = &config.smart {
            let mut uris = vec![json!({"url": "token", "valueUri": smart.token_endpoint})];
            if let Some(authorize) = &smart.authorization_endpoint {
                uris.push(json!({"url": "authorize", "valueUri": authorize}));
            }
            security.insert(
                "extension".into(),
                json!([{
                    "url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
                    "extension": uris
                }]),
            );
        }
        security.insert("cors".into(), json!(false));
        security.insert(
            "service".into(),
            json!([{
                "coding": [{"system": "http://terminology.hl7.org/CodeSystem/restful-security-service", "code": "SMART-on-FHIR"}],
                "text": "SMART on FHIR scopes (system/Practitioner.read, user/*.rs, ...); lists and subscriptions are granted by name, never by `*` (system/List.read, system/List.write, user/Subscription.cruds)"
            }]),
        );
        security.insert(
            "description".into(),
            json!(format!(
                "Every interaction but the CapabilityStatement requires {}.",
                ways.join(", or ")
            )),
        );
        Value::Object(security)
    }

    /// `/.well-known/smart-configuration`, when an authorization server is configured.
    pub fn smart_configuration(&self) -> Option<Value> {
        let config = self.config.as_ref()?;
        let smart = config.smart.as_ref()?;
        let mut scopes: Vec<String> = Vec::new();
        for context in ["system", "user"] {
            let types = ResourceType::ALL.iter().map(|t| t.as_str());
            for rtype in std::iter::once("*").chain(types) {
                scopes.push(format!("{context}/{rtype}.read"));
                scopes.push(format!("{context}/{rtype}.rs"));
            }
            // Lists and subscriptions: named, never reached by `*` (see `scopes`).
            for rtype in LocalType::ALL.iter().map(|t| t.as_str()) {
                for permissions in ["read", "write", "rs", "cud", "cruds"] {
                    scopes.push(format!("{context}/{rtype}.{permissions}"));
                }
            }
        }
        if let Some(restricted) = &config.restricted {
            scopes.push(restricted.scope.clone());
        }
        let mut body = json!({
            "token_endpoint": smart.token_endpoint,
            "grant_types_supported": smart.grant_types_supported,
            "token_endpoint_auth_methods_supported": smart.token_endpoint_auth_methods_supported,
            "token_endpoint_auth_signing_alg_values_supported": config.jwt.as_ref().map(|j| j.algorithms.clone()).unwrap_or_default(),
            "scopes_supported": scopes,
            "response_types_supported": ["code"],
            "code_challenge_methods_supported": ["S256"],
            "capabilities": ["client-confidential-asymmetric", "permission-v1", "permission-v2"],
        });
        if let Some(jwt) = &config.jwt {
            body["issuer"] = json!(jwt.issuer);
        }
        if let Some(authorize) = &smart.authorization_endpoint {
            body["authorization_endpoint"] = json!(authorize);
        }
        if let Some(jwks_uri) = &smart.jwks_uri {
            body["jwks_uri"] = json!(jwks_uri);
        }
        Some(body)
    }
}

/// `Bearer <token>` (scheme case-insensitive, RFC 7235).
fn bearer_token(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Refuses a criterion that searches a type the caller may not search, or filters on an
/// element `hidden` from the caller, through chains and `_has` too.
fn authorize_criterion(
    rtype: ResourceType,
    criterion: &Criterion,
    hidden: &Redaction,
    may_search: &dyn Fn(ResourceType) -> Result<(), AccessError>,
) -> Result<(), AccessError> {
    match criterion {
        Criterion::Param { param, .. } => refuse_restricted(hidden, rtype, param, "search on"),
        Criterion::Chain {
            reference,
            target,
            inner,
        } => {
            refuse_restricted(hidden, rtype, reference, "search on")?;
            may_search(*target)?;
            authorize_criterion(*target, inner, hidden, may_search)
        }
        Criterion::Has {
            source,
            reference,
            inner,
        } => {
            may_search(*source)?;
            refuse_restricted(hidden, *source, reference, "search on")?;
            authorize_criterion(*source, inner, hidden, may_search)
        }
    }
}

/// Refuses an include that would return a type the caller may not read, or that follows a
/// reference `hidden` from the caller.
fn authorize_include(
    caller: &Caller,
    source: ResourceType,
    param: &SearchParam,
    target: ResourceType,
    returned: ResourceType,
    hidden: &Redaction,
) -> Result<(), AccessError> {
    for rtype in [target, returned] {
        if !caller.permissions.may_read(rtype) {
            return Err(AccessError::Forbidden(format!(
                "{} may not read {rtype}, which `{}:{}` would return",
                caller.describe(),
                source,
                param.code
            )));
        }
    }
    refuse_restricted(hidden, source, param, "include through")
}

/// Refuses to `action` a parameter that reads an element `hidden` from the caller: a filter
/// or sort on a field the caller may not see would reveal it.
fn refuse_restricted(
    hidden: &Redaction,
    rtype: ResourceType,
    param: &SearchParam,
    action: &str,
) -> Result<(), AccessError> {
    match hidden.restricted_element_of(rtype, param) {
        Some(element) => Err(AccessError::Forbidden(format!(
            "cannot {action} `{}`: it reads {rtype}.{element}, a restricted element this caller may not see",
            param.code
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_scheme() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer "), None);
    }

    #[test]
    fn key_hashes() {
        let hex: String = hash_api_key("test")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            hex,
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
        );
    }
}
