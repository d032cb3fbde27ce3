//! JWT bearer tokens, verified with jsonwebtoken against the public keys of a JWKS file, or
//! of the OpenID provider (`[auth.jwt]` without `jwks`, plan D4): then the keys are the
//! provider's [`ProviderKeys`], and the cache of verified tokens is emptied whenever their set
//! changes, so that a key the provider stops publishing stops verifying at the next fetch.
//!
//! The accepted algorithms come from the configuration, and each key accepts only the
//! configured algorithms of its own family (its JWK `alg` when it names one): a token header
//! cannot pick `none`, an HMAC algorithm, or another key's algorithm. Verified tokens are
//! cached until they expire, so that a client reusing its token pays one hash lookup per
//! request instead of a signature verification.
//!
//! `exp` and `nbf` are checked against the server's [`Clock`], not by jsonwebtoken (which
//! reads the system clock): with the same leeway, and before the issuer and the audience, as
//! jsonwebtoken would.
//!
//! The header is checked before the key is looked up: a `crit` parameter is refused whatever
//! it names, since this server understands no JWS extension (RFC 7515 §4.1.11: a recipient
//! must reject a JWS whose critical extensions it does not understand), and, when
//! `auth.jwt.required_typ` is set, a token of another `typ` is refused (RFC 8725 §3.11), so
//! that an ID token issued for the same audience is not taken for an access token.
//!
//! Claims become a [`Caller`]: the scope claim is split on U+0020 only (see
//! [`super::scopes`]); the identity and role claims are kept whole, never cut at a space, since
//! the audit trail must name the caller exactly as the token did.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

use super::caller::{Caller, Channel, Identity};
use super::config::{JwtConfig, SignatureAlgorithm};
use super::oidc::provider::ProviderKeys;
use super::scopes::{Permissions, split_scope_string};
use crate::clock::Clock;

/// Tokens longer than this are refused before any parsing (a Pro Santé Connect access token
/// is about 1.5 KB).
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Verified tokens kept at most; the cache is emptied when full.
const CACHE_ENTRIES: usize = 65_536;

/// Why a bearer token is refused. Messages say what is wrong without echoing the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the bearer token is larger than 8 KB")]
    TooLarge,
    #[error("the bearer token is malformed (not a signed JWT)")]
    Malformed,
    #[error("the bearer token's algorithm {0} is not accepted by this server")]
    Algorithm(String),
    #[error("the bearer token names no key (kid) and the key set holds several")]
    MissingKid,
    #[error("the bearer token is signed with a key this server does not know (kid)")]
    UnknownKey,
    #[error("the bearer token's signature does not verify")]
    Signature,
    #[error("the bearer token has expired")]
    Expired,
    #[error("the bearer token is not valid yet (nbf)")]
    NotYetValid,
    #[error("the bearer token was issued by another issuer (iss)")]
    Issuer,
    #[error("the bearer token is meant for another audience (aud)")]
    Audience,
    #[error("the bearer token lacks the `{0}` claim")]
    MissingClaim(String),
    #[error(
        "the bearer token's header lists critical extensions (crit) that this server does not understand"
    )]
    CriticalExtension,
    #[error("the bearer token is not of the required type (typ `{0}`)")]
    Type(String),
}

/// A key of the JWKS file and the algorithms it verifies.
struct VerifyingKey {
    kid: Option<String>,
    key: DecodingKey,
    algorithms: Vec<Algorithm>,
}

/// Why the JWKS file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum JwksError {
    #[error("cannot read the JWKS file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the JWKS file {path} is not a JSON Web Key Set: {reason}")]
    Parse { path: PathBuf, reason: String },
    #[error(
        "the JWKS file {path} holds no key usable with the configured algorithms ({algorithms})"
    )]
    NoUsableKey { path: PathBuf, algorithms: String },
    #[error(
        "no keys to verify tokens with: name a JWKS file, or configure [auth.oidc] to take the provider's keys"
    )]
    NoSource,
}

/// Where the verifying keys come from.
enum KeySource {
    /// A JWKS file, reloaded when it changes or on SIGHUP.
    File {
        path: PathBuf,
        loaded_mtime: Mutex<Option<SystemTime>>,
    },
    /// The OpenID provider's key set, and the version of it in use here.
    Provider {
        keys: Arc<ProviderKeys>,
        loaded: AtomicU64,
    },
}

struct Cached {
    /// The whole token: a fingerprint match is only a candidate.
    token: Box<str>,
    caller: Arc<Caller>,
    expires: u64,
}

/// The cache key of a token: a hash of its length and its last 64 bytes (the end of the
/// signature), cheaper than hashing a 1-2 KB token on every request. Equality is then checked
/// on the whole token, so a forged token sharing the fingerprint is simply verified.
fn fingerprint(token: &str) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    static KEYS: std::sync::OnceLock<std::collections::hash_map::RandomState> =
        std::sync::OnceLock::new();
    let mut hasher = KEYS.get_or_init(Default::default).build_hasher();
    hasher.write_usize(token.len());
    hasher.write(&token.as_bytes()[token.len().saturating_sub(64)..]);
    hasher.finish()
}

pub struct JwtVerifier {
    config: JwtConfig,
    source: KeySource,
    algorithms: Vec<Algorithm>,
    keys: RwLock<Arc<Vec<VerifyingKey>>>,
    cache: RwLock<HashMap<u64, Cached>>,
    restricted_scope: Option<String>,
    /// What `exp` and `nbf` are compared with.
    clock: Clock,
}

fn algorithm(configured: SignatureAlgorithm) -> Algorithm {
    match configured {
        SignatureAlgorithm::RS256 => Algorithm::RS256,
        SignatureAlgorithm::PS256 => Algorithm::PS256,
        SignatureAlgorithm::ES256 => Algorithm::ES256,
    }
}

/// A NumericDate claim as jsonwebtoken reads it: a non-negative integer, or a finite
/// non-negative number rounded to the second; `None` for anything else.
fn numeric_date(value: &Value) -> Option<u64> {
    let Value::Number(number) = value else {
        return None;
    };
    number.as_u64().or_else(|| {
        number
            .as_f64()
            .filter(|f| f.is_finite() && *f >= 0.0 && *f < u64::MAX as f64)
            .map(|f| f.round() as u64)
    })
}

impl JwtVerifier {
    /// Loads the JWKS file; fails when it is unreadable or holds no usable key. Tokens'
    /// lifetimes are checked against `clock`.
    pub fn new(
        config: JwtConfig,
        restricted_scope: Option<String>,
        clock: Clock,
    ) -> Result<JwtVerifier, JwksError> {
        let algorithms: Vec<Algorithm> = config.algorithms.iter().map(|a| algorithm(*a)).collect();
        let jwks = config.jwks.as_ref().ok_or(JwksError::NoSource)?.relative();
        let (keys, mtime) = load_keys(&jwks, &algorithms)?;
        Ok(JwtVerifier {
            config,
            source: KeySource::File {
                path: jwks,
                loaded_mtime: Mutex::new(mtime),
            },
            algorithms,
            keys: RwLock::new(Arc::new(keys)),
            cache: RwLock::new(HashMap::new()),
            restricted_scope,
            clock,
        })
    }

    /// Verifies with the OpenID provider's keys (`[auth.jwt]` without `jwks`): whatever set
    /// the provider publishes, fetched in the background; none before the first fetch.
    pub fn with_provider_keys(
        config: JwtConfig,
        keys: Arc<ProviderKeys>,
        restricted_scope: Option<String>,
        clock: Clock,
    ) -> JwtVerifier {
        let algorithms: Vec<Algorithm> = config.algorithms.iter().map(|a| algorithm(*a)).collect();
        JwtVerifier {
            config,
            source: KeySource::Provider {
                keys,
                loaded: AtomicU64::new(0),
            },
            algorithms,
            keys: RwLock::new(Arc::new(Vec::new())),
            cache: RwLock::new(HashMap::new()),
            restricted_scope,
            clock,
        }
    }

    /// The JWKS file, when the keys come from one (not from the provider).
    pub fn jwks_path(&self) -> Option<&Path> {
        match &self.source {
            KeySource::File { path, .. } => Some(path),
            KeySource::Provider { .. } => None,
        }
    }

    /// Reloads the JWKS file. On failure the keys in use stay; the cache of verified tokens
    /// is emptied on success, so that a removed key stops working at once. With the
    /// provider's keys: takes its current set.
    pub fn reload(&self) -> Result<usize, JwksError> {
        let KeySource::File { path, loaded_mtime } = &self.source else {
            self.sync_provider_keys();
            return Ok(self.keys.read().expect("keys lock").len());
        };
        let (keys, mtime) = load_keys(path, &self.algorithms)?;
        let count = keys.len();
        *self.keys.write().expect("keys lock") = Arc::new(keys);
        *loaded_mtime.lock().expect("mtime lock") = mtime;
        self.cache.write().expect("cache lock").clear();
        Ok(count)
    }

    /// Reloads when the file's modification time changed since the last load (never for the
    /// provider's keys, which follow the provider on their own).
    pub fn reload_if_changed(&self) -> Option<Result<usize, JwksError>> {
        let KeySource::File { path, loaded_mtime } = &self.source else {
            return None;
        };
        let mtime = std::fs::metadata(path).and_then(|m| m.modified()).ok();
        let changed = *loaded_mtime.lock().expect("mtime lock") != mtime;
        changed.then(|| self.reload())
    }

    /// Takes the provider's key set when it changed since the last look, and then empties
    /// the cache of verified tokens (a removed key stops verifying at once).
    fn sync_provider_keys(&self) {
        let KeySource::Provider { keys, loaded } = &self.source else {
            return;
        };
        let current = keys.current();
        if loaded.load(Ordering::Acquire) == current.version {
            return;
        }
        let usable = usable_keys(&current.jwt, &self.algorithms);
        *self.keys.write().expect("keys lock") = Arc::new(usable);
        self.cache.write().expect("cache lock").clear();
        loaded.store(current.version, Ordering::Release);
    }

    /// A token named a key we do not know: with the provider's keys, ask for a fetch (the
    /// provider may have rotated; rate-limited there).
    fn unknown_key(&self) -> TokenError {
        if let KeySource::Provider { keys, .. } = &self.source {
            keys.refetch_soon();
        }
        TokenError::UnknownKey
    }

    /// The caller a token stands for, or why it is refused.
    pub fn verify(&self, token: &str) -> Result<Arc<Caller>, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::TooLarge);
        }
        self.sync_provider_keys();
        let now = self.clock.unix_seconds();
        let key = fingerprint(token);
        if let Some(cached) = self.cache.read().expect("cache lock").get(&key)
            && *cached.token == *token
            && now <= cached.expires.saturating_add(self.config.leeway_seconds)
        {
            return Ok(cached.caller.clone());
        }
        let (claims, expires) = self.verify_signature_and_claims(token, now)?;
        let caller = Arc::new(self.caller_from_claims(&claims)?);
        let mut cache = self.cache.write().expect("cache lock");
        if cache.len() >= CACHE_ENTRIES {
            cache.clear();
        }
        cache.insert(
            key,
            Cached {
                token: token.into(),
                caller: caller.clone(),
                expires,
            },
        );
        Ok(caller)
    }

    /// Verifies the signature, then the claims in jsonwebtoken's order: the required ones
    /// present, the lifetime (against this server's clock, at `now`), the issuer, the audience.
    fn verify_signature_and_claims(
        &self,
        token: &str,
        now: u64,
    ) -> Result<(Map<String, Value>, u64), TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        if !self.algorithms.contains(&header.alg) {
            return Err(TokenError::Algorithm(format!("{:?}", header.alg)));
        }
        if header.crit.is_some() {
            return Err(TokenError::CriticalExtension);
        }
        if let Some(required) = &self.config.required_typ
            && !same_media_type(header.typ.as_deref(), required)
        {
            return Err(TokenError::Type(required.clone()));
        }
        let keys = self.keys.read().expect("keys lock").clone();
        let key = match &header.kid {
            Some(kid) => keys
                .iter()
                .find(|k| k.kid.as_deref() == Some(kid))
                .ok_or_else(|| self.unknown_key())?,
            None if keys.len() == 1 => &keys[0],
            None if keys.is_empty() => return Err(self.unknown_key()),
            None => return Err(TokenError::MissingKid),
        };
        if !key.algorithms.contains(&header.alg) {
            return Err(TokenError::Algorithm(format!("{:?}", header.alg)));
        }
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.audience]);
        // jsonwebtoken would compare `exp` and `nbf` with the system clock: checked below
        // against this server's clock instead.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let to_error = |e: &jsonwebtoken::errors::Error| match e.kind() {
            ErrorKind::InvalidIssuer => TokenError::Issuer,
            ErrorKind::InvalidAudience => TokenError::Audience,
            ErrorKind::InvalidSignature => TokenError::Signature,
            ErrorKind::MissingRequiredClaim(claim) => TokenError::MissingClaim(claim.clone()),
            ErrorKind::InvalidAlgorithm => TokenError::Algorithm(format!("{:?}", header.alg)),
            _ => TokenError::Malformed,
        };
        let claims = match jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, &validation)
        {
            Ok(data) => data.claims,
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::InvalidIssuer | ErrorKind::InvalidAudience
                ) =>
            {
                // The signature verified and the required claims are there (jsonwebtoken
                // checks those first): a token that has also expired is refused as expired.
                if let Ok(claims) = jsonwebtoken::dangerous::insecure_decode_claims(token) {
                    self.check_lifetime(&claims, now)?;
                }
                return Err(to_error(&e));
            }
            Err(e) => return Err(to_error(&e)),
        };
        let expires = self.check_lifetime(&claims, now)?;
        Ok((claims, expires))
    }

    /// Checks `exp` (required) and `nbf` (when present) against `now`, with the configured
    /// leeway; returns `exp`.
    fn check_lifetime(&self, claims: &Map<String, Value>, now: u64) -> Result<u64, TokenError> {
        let leeway = self.config.leeway_seconds;
        let expires = claims
            .get("exp")
            .and_then(numeric_date)
            .ok_or_else(|| TokenError::MissingClaim("exp".into()))?;
        let not_before = match claims.get("nbf") {
            None | Some(Value::Null) => None,
            Some(value) => Some(numeric_date(value).ok_or(TokenError::Malformed)?),
        };
        if expires < now.saturating_sub(leeway) {
            return Err(TokenError::Expired);
        }
        if not_before.is_some_and(|nbf| nbf > now.saturating_add(leeway)) {
            return Err(TokenError::NotYetValid);
        }
        Ok(expires)
    }

    fn caller_from_claims(&self, claims: &Map<String, Value>) -> Result<Caller, TokenError> {
        let subject = claims
            .get("sub")
            .and_then(Value::as_str)
            .ok_or_else(|| TokenError::MissingClaim("sub".into()))?
            .to_owned();
        let scopes = scope_strings(claims.get(&self.config.scope_claim));
        let national_id = claims
            .get(&self.config.national_id_claim)
            .and_then(whole_claim);
        let roles = match claims.get(&self.config.role_claim) {
            Some(Value::Array(items)) => items.iter().filter_map(whole_claim).collect(),
            Some(one) => whole_claim(one).into_iter().collect(),
            None => Vec::new(),
        };
        Ok(Caller {
            identity: Identity::Token {
                issuer: self.config.issuer.clone(),
                subject,
                national_id,
                roles,
            },
            permissions: Permissions::from_scopes(
                scopes.iter().copied(),
                self.restricted_scope.as_deref(),
            ),
            rules: Vec::new(),
            channel: Channel::Header,
        })
    }
}

/// The scopes of the scope claim: a space-separated string (OAuth `scope`, split on U+0020
/// only) or an array of strings (each one scope, as some servers issue `scp`).
fn scope_strings(claim: Option<&Value>) -> Vec<&str> {
    match claim {
        Some(Value::String(text)) => split_scope_string(text).collect(),
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// An identity or role claim kept whole: a string as it is, another non-null value (a number,
/// an object) as its JSON text, so that nothing the token said is cut or lost.
fn whole_claim(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(text) => Some(text.clone()),
        other => Some(other.to_string()),
    }
}

/// Whether a token's `typ` names the `required` media type: compared case-insensitively, the
/// `application/` prefix optional on either side (RFC 7515 §4.1.9).
fn same_media_type(typ: Option<&str>, required: &str) -> bool {
    fn short(media_type: &str) -> &str {
        match media_type.get(..12) {
            Some(prefix) if prefix.eq_ignore_ascii_case("application/") => &media_type[12..],
            _ => media_type,
        }
    }
    typ.is_some_and(|typ| short(typ).eq_ignore_ascii_case(short(required)))
}

fn load_keys(
    path: &Path,
    algorithms: &[Algorithm],
) -> Result<(Vec<VerifyingKey>, Option<SystemTime>), JwksError> {
    let mtime = std::fs::metadata(path).and_then(|m| m.modified()).ok();
    let text = std::fs::read(path).map_err(|source| JwksError::Read {
        path: path.to_owned(),
        source,
    })?;
    let set: JwkSet = serde_json::from_slice(&text).map_err(|e| JwksError::Parse {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    let keys = usable_keys(&set, algorithms);
    if keys.is_empty() {
        return Err(JwksError::NoUsableKey {
            path: path.to_owned(),
            algorithms: algorithms
                .iter()
                .map(|a| format!("{a:?}"))
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    Ok((keys, mtime))
}

/// The keys of `set` that verify signatures with one of `algorithms`.
fn usable_keys(set: &JwkSet, algorithms: &[Algorithm]) -> Vec<VerifyingKey> {
    set.keys
        .iter()
        .filter(|jwk| jwk.common.public_key_use != Some(PublicKeyUse::Encryption))
        .filter_map(|jwk| {
            let usable = key_algorithms(jwk, algorithms);
            if usable.is_empty() {
                return None;
            }
            let key = DecodingKey::from_jwk(jwk).ok()?;
            Some(VerifyingKey {
                kid: jwk.common.key_id.clone(),
                key,
                algorithms: usable,
            })
        })
        .collect()
}

/// The configured algorithms this key can verify: its own `alg` if it names one, otherwise
/// those of its family (RSA: RS256, PS256; EC P-256: ES256).
fn key_algorithms(jwk: &jsonwebtoken::jwk::Jwk, configured: &[Algorithm]) -> Vec<Algorithm> {
    let family: &[Algorithm] = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => &[Algorithm::RS256, Algorithm::PS256],
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
            &[Algorithm::ES256]
        }
        _ => &[],
    };
    let named = match jwk.common.key_algorithm {
        None => None,
        Some(named) => match Algorithm::try_from(named) {
            Ok(algorithm) => Some(algorithm),
            // A key meant for encryption or an algorithm this server does not verify.
            Err(_) => return Vec::new(),
        },
    };
    family
        .iter()
        .copied()
        .filter(|a| configured.contains(a))
        .filter(|a| named.is_none_or(|n| n == *a))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typ_is_compared_as_a_media_type() {
        assert!(same_media_type(Some("at+jwt"), "at+jwt"));
        assert!(same_media_type(Some("AT+JWT"), "at+jwt"));
        assert!(same_media_type(Some("application/at+jwt"), "at+jwt"));
        assert!(same_media_type(Some("at+jwt"), "Application/at+JWT"));
        assert!(!same_media_type(Some("JWT"), "at+jwt"));
        assert!(!same_media_type(None, "at+jwt"));
        assert!(!same_media_type(Some("application/"), "at+jwt"));
    }

    #[test]
    fn identity_claims_are_kept_whole() {
        assert_eq!(
            whole_claim(&Value::from("8 1000 00001\tx")).as_deref(),
            Some("8 1000 00001\tx")
        );
        assert_eq!(
            whole_claim(&serde_json::json!(810000000001u64)).as_deref(),
            Some("810000000001")
        );
        assert_eq!(whole_claim(&Value::Null), None);
    }

    #[test]
    fn scope_claims_split_on_spaces_only() {
        let text = Value::from("system/Practitioner.read\u{a0}x  openid");
        assert_eq!(
            scope_strings(Some(&text)),
            ["system/Practitioner.read\u{a0}x", "openid"]
        );
        let array = serde_json::json!(["a b", 3, "c"]);
        assert_eq!(scope_strings(Some(&array)), ["a b", "c"]);
    }
}
