//! The `[auth]` and `[audit]` sections of `annuaire.toml`, as written by an operator, parsed
//! into typed values when the configuration is read (a key digest, a restricted element, an
//! algorithm cannot exist unchecked), plus the checks that relate settings to one another.
//! Every failure names the setting it refuses, so that a bad configuration stops the server at
//! startup with a message a person can act on.

use std::fmt;

use figment::value::magic::RelativePathBuf;
use serde::{Deserialize, Serialize};

use super::rules::{RestrictedSettings, RuleConfig, Rules};
use super::scopes::{Grant, is_scope_token};
use crate::fhir::ResourceType;

/// `[auth]`: who may call, with what.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// Realm named in `WWW-Authenticate` challenges.
    #[serde(default = "default_realm")]
    pub realm: String,
    /// API keys, sent in the `ESANTE-API-KEY` header as with the ANS gateway.
    #[serde(default)]
    pub api_keys: Vec<ApiKeyConfig>,
    /// JWT bearer tokens, verified against a JWKS file.
    pub jwt: Option<JwtConfig>,
    /// Elements that only callers holding an extra scope may see.
    pub restricted: Option<RestrictedConfig>,
    /// The authorization server published at `/.well-known/smart-configuration`.
    pub smart: Option<SmartConfig>,
    /// The OpenID provider people sign in with on the lookup page (Pro Santé Connect).
    pub oidc: Option<super::oidc::OidcConfig>,
    /// Access that follows who the caller is, in order.
    #[serde(default)]
    pub rules: Vec<RuleConfig>,
}

fn default_realm() -> String {
    "annuaire".into()
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ApiKeyConfig {
    /// Who holds the key, as written in the audit trail.
    pub name: String,
    /// SHA-256 of the key, 64 hexadecimal digits (`annuaire api-key` prints it). The key
    /// itself is never stored.
    pub sha256: KeyDigest,
    pub scopes: Vec<String>,
    pub rate_limit: Option<RateLimitConfig>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct JwtConfig {
    /// JWKS file holding the public keys; reloaded on SIGHUP or when it changes. A relative
    /// path is relative to the configuration file that names it. Absent: the keys of the
    /// `[auth.oidc]` provider, kept fresh from its `jwks_uri`.
    #[serde(default)]
    pub jwks: Option<RelativePathBuf>,
    /// Required `iss`; absent: `[auth.oidc].issuer`.
    #[serde(default)]
    pub issuer: String,
    /// Required `aud` (one of the token's audiences).
    pub audience: String,
    /// Accepted signature algorithms: any of RS256, PS256, ES256.
    #[serde(default = "default_algorithms")]
    pub algorithms: Vec<SignatureAlgorithm>,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds.
    #[serde(default = "default_leeway")]
    pub leeway_seconds: u64,
    /// Claim holding the granted scopes (a space-separated string or an array).
    #[serde(default = "default_scope_claim")]
    pub scope_claim: String,
    /// Pro Santé Connect: the practitioner's national id (`SubjectNameID`), kept whole.
    #[serde(default = "default_national_id_claim")]
    pub national_id_claim: String,
    /// Pro Santé Connect: the practitioner's role(s) (`SubjectRole`): an array of roles, or
    /// one role (a string is one role, never split).
    #[serde(default = "default_role_claim")]
    pub role_claim: String,
    /// Required `typ` header of every token (RFC 8725 §3.11), such as `at+jwt` for OAuth access
    /// tokens (RFC 9068): an ID token or another kind of JWT issued for the same audience is
    /// then refused. Compared as a media type: case-insensitively, `application/` optional.
    /// Absent: `typ` is not checked, since not every authorization server sets it.
    #[serde(default)]
    pub required_typ: Option<String>,
    /// Limit per token subject (`sub`).
    pub rate_limit: Option<RateLimitConfig>,
}

fn default_algorithms() -> Vec<SignatureAlgorithm> {
    SignatureAlgorithm::ALL.to_vec()
}
fn default_leeway() -> u64 {
    30
}
fn default_scope_claim() -> String {
    "scope".into()
}
fn default_national_id_claim() -> String {
    "SubjectNameID".into()
}
fn default_role_claim() -> String {
    "SubjectRole".into()
}

/// Token bucket: `burst` requests at once, refilled at `per_second`.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    pub per_second: u32,
    pub burst: Option<u32>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RestrictedConfig {
    /// `Type.element`, top-level elements of a served type (`Practitioner.telecom`).
    pub elements: Vec<RestrictedElement>,
    /// The scope that unlocks them.
    pub scope: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SmartConfig {
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: String,
    pub jwks_uri: Option<String>,
    #[serde(default = "default_grant_types")]
    pub grant_types_supported: Vec<String>,
    #[serde(default = "default_auth_methods")]
    pub token_endpoint_auth_methods_supported: Vec<String>,
}

fn default_grant_types() -> Vec<String> {
    vec!["client_credentials".into()]
}
fn default_auth_methods() -> Vec<String> {
    vec!["private_key_jwt".into()]
}

/// `[audit]`: one JSON line per request.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AuditConfig {
    /// `stdout`, or a file path (appended to).
    pub destination: String,
}

/// A setting that cannot be used, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid setting `{setting}`: {reason}")]
pub struct ConfigError {
    pub setting: String,
    pub reason: String,
}

impl From<super::oidc::ConfigError> for ConfigError {
    fn from(e: super::oidc::ConfigError) -> ConfigError {
        refuse(e.setting, e.reason)
    }
}

fn refuse(setting: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        setting: setting.into(),
        reason: reason.into(),
    }
}

/// SHA-256 of an API key, written as 64 hexadecimal digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct KeyDigest(pub [u8; 32]);

impl TryFrom<String> for KeyDigest {
    type Error = String;

    fn try_from(hex: String) -> Result<KeyDigest, String> {
        let refused = || {
            "must be the SHA-256 of the key, 64 hexadecimal digits (`annuaire api-key` prints it)"
                .to_owned()
        };
        if hex.len() != 64 || !hex.is_ascii() {
            return Err(refused());
        }
        let mut digest = [0u8; 32];
        for (i, byte) in digest.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|_| refused())?;
        }
        Ok(KeyDigest(digest))
    }
}

impl From<KeyDigest> for String {
    fn from(digest: KeyDigest) -> String {
        digest.to_string()
    }
}

impl fmt::Display for KeyDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for KeyDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyDigest({self})")
    }
}

/// The JWT signature algorithms this server verifies: asymmetric only, so that a public key
/// can never be used as an HMAC secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SignatureAlgorithm {
    RS256,
    PS256,
    ES256,
}

impl SignatureAlgorithm {
    pub const ALL: [SignatureAlgorithm; 3] = [
        SignatureAlgorithm::RS256,
        SignatureAlgorithm::PS256,
        SignatureAlgorithm::ES256,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SignatureAlgorithm::RS256 => "RS256",
            SignatureAlgorithm::PS256 => "PS256",
            SignatureAlgorithm::ES256 => "ES256",
        }
    }
}

impl fmt::Display for SignatureAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A restricted element: a whole top-level element of a served type (`Practitioner.telecom`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(into = "String")]
pub struct RestrictedElement {
    pub rtype: ResourceType,
    pub element: &'static str,
}

/// Written by hand: serde's derive would tie a `&'static str` field to the input's lifetime.
impl<'de> Deserialize<'de> for RestrictedElement {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        RestrictedElement::try_from(text).map_err(serde::de::Error::custom)
    }
}

impl TryFrom<String> for RestrictedElement {
    type Error = String;

    fn try_from(text: String) -> Result<RestrictedElement, String> {
        let (type_name, element) = text
            .split_once('.')
            .ok_or_else(|| format!("`{text}` is not `Type.element`"))?;
        let rtype: ResourceType = type_name.parse().map_err(|_| {
            format!(
                "`{text}`: `{type_name}` is not served here ({})",
                ResourceType::names()
            )
        })?;
        if matches!(element, "meta" | "id" | "resourceType") {
            return Err(format!("`{text}`: `{element}` cannot be restricted"));
        }
        let element = rtype.elements().find(|e| e.name == element).ok_or_else(|| {
            format!(
                "`{text}`: `{element}` is not a top-level element of {rtype} (only whole top-level elements can be restricted)"
            )
        })?;
        Ok(RestrictedElement {
            rtype,
            element: element.name,
        })
    }
}

impl From<RestrictedElement> for String {
    fn from(restricted: RestrictedElement) -> String {
        restricted.to_string()
    }
}

impl fmt::Display for RestrictedElement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.rtype, self.element)
    }
}

impl AuthConfig {
    /// Checks everything that does not need a file read.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.api_keys.is_empty() && self.jwt.is_none() && self.oidc.is_none() {
            return Err(refuse(
                "auth",
                "no way to authenticate: configure `auth.api_keys`, `auth.jwt` or `auth.oidc` (or remove `[auth]` to serve openly)",
            ));
        }
        if let Some(oidc) = &self.oidc {
            oidc.validate()?;
        }
        let restricted_scope = self.restricted.as_ref().map(|r| r.scope.as_str());
        let mut names = std::collections::HashSet::new();
        for (i, key) in self.api_keys.iter().enumerate() {
            let at = |field: &str| format!("auth.api_keys[{i}].{field}");
            if key.name.trim().is_empty() {
                return Err(refuse(at("name"), "must not be empty"));
            }
            if !names.insert(key.name.as_str()) {
                return Err(refuse(at("name"), format!("`{}` names two keys", key.name)));
            }
            validate_scopes(&key.scopes, restricted_scope, &at("scopes"))?;
            if let Some(limit) = &key.rate_limit {
                limit.validate(&at("rate_limit"))?;
            }
        }
        if let Some(jwt) = &self.jwt {
            jwt.validate(self.oidc.is_some())?;
        }
        if let Some(restricted) = &self.restricted {
            restricted.validate()?;
        }
        if let Some(smart) = &self.smart {
            smart.validate()?;
        }
        self.checked_rules()?;
        Ok(())
    }

    /// `auth.rules`, checked against the rest of the configuration (the restricted scope
    /// and elements they may grant); each error names the rule and its field
    /// (`auth.rules[1].professions[0]`).
    pub fn checked_rules(&self) -> Result<Rules, ConfigError> {
        let elements: Vec<(ResourceType, &'static str)> = self
            .restricted
            .iter()
            .flat_map(|r| r.elements.iter().map(|e| (e.rtype, e.element)))
            .collect();
        let restricted = RestrictedSettings {
            scope: self.restricted.as_ref().map(|r| r.scope.as_str()),
            elements: &elements,
        };
        Rules::parse(&self.rules, restricted)
            .map_err(|e| refuse(format!("auth.rules[{}]{}", e.index, e.field), e.reason))
    }
}

fn validate_scopes(
    scopes: &[String],
    restricted_scope: Option<&str>,
    setting: &str,
) -> Result<(), ConfigError> {
    for scope in scopes {
        if Some(scope.as_str()) == restricted_scope || scope == super::scopes::METRICS_SCOPE {
            continue;
        }
        Grant::parse(scope).map_err(|e| refuse(setting, e.to_string()))?;
    }
    Ok(())
}

impl RateLimitConfig {
    pub(crate) fn validate(&self, setting: &str) -> Result<(), ConfigError> {
        if self.per_second == 0 {
            return Err(refuse(
                format!("{setting}.per_second"),
                "must be at least 1",
            ));
        }
        if self.burst == Some(0) {
            return Err(refuse(format!("{setting}.burst"), "must be at least 1"));
        }
        Ok(())
    }

    /// Bucket size: `burst`, or one second's worth.
    pub fn burst(&self) -> u32 {
        self.burst.unwrap_or(self.per_second)
    }
}

impl JwtConfig {
    /// `with_provider`: `[auth.oidc]` is configured, and gives the keys and the issuer that
    /// are not set here.
    fn validate(&self, with_provider: bool) -> Result<(), ConfigError> {
        if self.jwks.is_none() && !with_provider {
            return Err(refuse(
                "auth.jwt.jwks",
                "name a JWKS file, or configure [auth.oidc] to verify tokens with the provider's keys",
            ));
        }
        if self.issuer.trim().is_empty() && !with_provider {
            return Err(refuse("auth.jwt.issuer", "must not be empty"));
        }
        if self.audience.trim().is_empty() {
            return Err(refuse("auth.jwt.audience", "must not be empty"));
        }
        if self.algorithms.is_empty() {
            return Err(refuse(
                "auth.jwt.algorithms",
                "name at least one of RS256, PS256, ES256",
            ));
        }
        if self.leeway_seconds > 300 {
            return Err(refuse(
                "auth.jwt.leeway_seconds",
                "at most 300 seconds: a larger leeway keeps expired tokens valid",
            ));
        }
        if let Some(limit) = &self.rate_limit {
            limit.validate("auth.jwt.rate_limit")?;
        }
        if let Some(typ) = &self.required_typ
            && (typ.is_empty() || !typ.bytes().all(|b| b.is_ascii_graphic()))
        {
            return Err(refuse(
                "auth.jwt.required_typ",
                "a media type such as `at+jwt`: printable ASCII, without spaces",
            ));
        }
        Ok(())
    }
}

impl RestrictedConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        if !is_scope_token(&self.scope) {
            return Err(refuse(
                "auth.restricted.scope",
                "must be one OAuth scope: printable ASCII, without spaces, `\"` or `\\` (RFC 6749 §3.3)",
            ));
        }
        Ok(())
    }
}

impl SmartConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        let urls = [
            ("auth.smart.token_endpoint", Some(&self.token_endpoint)),
            (
                "auth.smart.authorization_endpoint",
                self.authorization_endpoint.as_ref(),
            ),
            ("auth.smart.jwks_uri", self.jwks_uri.as_ref()),
        ];
        for (setting, url) in urls {
            if let Some(url) = url
                && !(url.starts_with("https://") || url.starts_with("http://"))
            {
                return Err(refuse(setting, format!("`{url}` is not an http(s) URL")));
            }
        }
        Ok(())
    }
}

impl AuditConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.destination.trim().is_empty() {
            return Err(refuse(
                "audit.destination",
                "`stdout` or a file path, not empty",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    fn key(name: &str, scopes: &[&str]) -> ApiKeyConfig {
        ApiKeyConfig {
            name: name.into(),
            sha256: KeyDigest::try_from(SHA.to_owned()).unwrap(),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            rate_limit: None,
        }
    }

    fn with_keys(keys: Vec<ApiKeyConfig>) -> AuthConfig {
        AuthConfig {
            realm: "annuaire".into(),
            api_keys: keys,
            ..AuthConfig::default()
        }
    }

    #[test]
    fn digests_are_64_hex_digits() {
        let digest = KeyDigest::try_from(SHA.to_uppercase()).unwrap();
        assert_eq!(digest.to_string(), SHA);
        for bad in ["abc", &"g".repeat(64), &"é".repeat(32)] {
            let error = KeyDigest::try_from(bad.to_owned()).unwrap_err();
            assert!(error.contains("64 hexadecimal digits"), "{bad}: {error}");
        }
    }

    #[test]
    fn errors_name_the_setting() {
        let bad_scope = with_keys(vec![key("a", &["system/Practitioner.rx"])]);
        assert_eq!(
            bad_scope.validate().unwrap_err().setting,
            "auth.api_keys[0].scopes"
        );
        let twice = with_keys(vec![
            key("a", &["system/*.read"]),
            key("a", &["system/*.read"]),
        ]);
        assert_eq!(
            twice.validate().unwrap_err().setting,
            "auth.api_keys[1].name"
        );
        assert_eq!(with_keys(vec![]).validate().unwrap_err().setting, "auth");
        assert!(
            with_keys(vec![key("a", &["system/*.read"])])
                .validate()
                .is_ok()
        );
    }

    #[test]
    fn restricted_elements_must_exist() {
        let element = |text: &str| RestrictedElement::try_from(text.to_owned());
        let telecom = element("PractitionerRole.telecom").unwrap();
        assert_eq!(telecom.rtype, ResourceType::PractitionerRole);
        assert_eq!(telecom.to_string(), "PractitionerRole.telecom");
        for bad in [
            "Patient.telecom",
            "Practitioner.telecom.value",
            "Practitioner.meta",
            "Practitioner.email",
            "telecom",
        ] {
            assert!(element(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn only_asymmetric_algorithms() {
        let parse = |name: &str| serde_json::from_value::<SignatureAlgorithm>(name.into());
        assert_eq!(parse("ES256").unwrap(), SignatureAlgorithm::ES256);
        for bad in ["HS256", "none", "es256"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
