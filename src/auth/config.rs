//! The `[auth]` and `[audit]` sections of `annuaire.toml`, as written by an operator, and
//! their checks. Every check names the setting it refuses, so that a bad configuration stops
//! the server at startup with a message a person can act on.

use figment::value::magic::RelativePathBuf;
use serde::{Deserialize, Serialize};

use super::scopes::Grant;
use crate::resource_type::ResourceType;

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
    pub sha256: String,
    pub scopes: Vec<String>,
    pub rate_limit: Option<RateLimitConfig>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct JwtConfig {
    /// JWKS file holding the public keys; reloaded on SIGHUP or when it changes. A relative
    /// path is relative to the configuration file that names it.
    pub jwks: RelativePathBuf,
    /// Required `iss`.
    pub issuer: String,
    /// Required `aud` (one of the token's audiences).
    pub audience: String,
    /// Accepted signature algorithms: any of RS256, PS256, ES256.
    #[serde(default = "default_algorithms")]
    pub algorithms: Vec<String>,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds.
    #[serde(default = "default_leeway")]
    pub leeway_seconds: u64,
    /// Claim holding the granted scopes (a space-separated string or an array).
    #[serde(default = "default_scope_claim")]
    pub scope_claim: String,
    /// Pro Santé Connect: the practitioner's national id (`SubjectNameID`).
    #[serde(default = "default_national_id_claim")]
    pub national_id_claim: String,
    /// Pro Santé Connect: the practitioner's role(s) (`SubjectRole`).
    #[serde(default = "default_role_claim")]
    pub role_claim: String,
    /// Limit per token subject (`sub`).
    pub rate_limit: Option<RateLimitConfig>,
}

fn default_algorithms() -> Vec<String> {
    vec!["RS256".into(), "PS256".into(), "ES256".into()]
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
    pub elements: Vec<String>,
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

fn refuse(setting: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        setting: setting.into(),
        reason: reason.into(),
    }
}

/// Whether `element` is a top-level element of `rtype` in FHIR R4, hence can be restricted.
fn is_known_element(rtype: ResourceType, element: &str) -> bool {
    const COMMON: &[&str] = &["text", "extension", "identifier", "active", "telecom"];
    let specific: &[&str] = match rtype {
        ResourceType::Practitioner => &[
            "name",
            "address",
            "gender",
            "birthDate",
            "photo",
            "qualification",
            "communication",
        ],
        ResourceType::PractitionerRole => &[
            "period",
            "practitioner",
            "organization",
            "code",
            "specialty",
            "location",
            "healthcareService",
            "availableTime",
            "notAvailable",
            "availabilityExceptions",
            "endpoint",
        ],
        ResourceType::Organization => &[
            "type", "name", "alias", "address", "partOf", "contact", "endpoint",
        ],
    };
    COMMON.contains(&element) || specific.contains(&element)
}

impl AuthConfig {
    /// Checks everything that does not need a file read.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.api_keys.is_empty() && self.jwt.is_none() {
            return Err(refuse(
                "auth",
                "no way to authenticate: configure `auth.api_keys` or `auth.jwt` (or remove `[auth]` to serve openly)",
            ));
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
            if key.sha256.len() != 64 || !key.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(refuse(
                    at("sha256"),
                    "must be the SHA-256 of the key, 64 hexadecimal digits (`annuaire api-key` prints it)",
                ));
            }
            validate_scopes(&key.scopes, restricted_scope, &at("scopes"))?;
            if let Some(limit) = &key.rate_limit {
                limit.validate(&at("rate_limit"))?;
            }
        }
        if let Some(jwt) = &self.jwt {
            jwt.validate()?;
        }
        if let Some(restricted) = &self.restricted {
            restricted.validate()?;
        }
        if let Some(smart) = &self.smart {
            smart.validate()?;
        }
        Ok(())
    }
}

fn validate_scopes(
    scopes: &[String],
    restricted_scope: Option<&str>,
    setting: &str,
) -> Result<(), ConfigError> {
    for scope in scopes {
        if Some(scope.as_str()) == restricted_scope {
            continue;
        }
        Grant::parse(scope).map_err(|e| refuse(setting, e.to_string()))?;
    }
    Ok(())
}

impl RateLimitConfig {
    fn validate(&self, setting: &str) -> Result<(), ConfigError> {
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

/// The algorithms this server verifies: asymmetric only, so that a public key can never be
/// used as an HMAC secret.
pub const SUPPORTED_ALGORITHMS: [&str; 3] = ["RS256", "PS256", "ES256"];

impl JwtConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.issuer.trim().is_empty() {
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
        for alg in &self.algorithms {
            if !SUPPORTED_ALGORITHMS.contains(&alg.as_str()) {
                return Err(refuse(
                    "auth.jwt.algorithms",
                    format!("`{alg}` is not accepted; use RS256, PS256 or ES256"),
                ));
            }
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
        Ok(())
    }
}

impl RestrictedConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.scope.trim().is_empty() || self.scope.contains(char::is_whitespace) {
            return Err(refuse(
                "auth.restricted.scope",
                "must be one scope, without spaces",
            ));
        }
        for element in &self.elements {
            parse_element(element).map_err(|reason| refuse("auth.restricted.elements", reason))?;
        }
        Ok(())
    }

    /// The restricted `(type, element)` pairs.
    pub fn pairs(&self) -> Vec<(ResourceType, String)> {
        self.elements
            .iter()
            .filter_map(|e| parse_element(e).ok())
            .collect()
    }
}

/// `Practitioner.telecom` → `(Practitioner, "telecom")`.
fn parse_element(text: &str) -> Result<(ResourceType, String), String> {
    let (type_name, element) = text
        .split_once('.')
        .ok_or_else(|| format!("`{text}` is not `Type.element`"))?;
    let rtype: ResourceType = type_name.parse().map_err(|_| {
        format!("`{text}`: `{type_name}` is not served here (Practitioner, PractitionerRole, Organization)")
    })?;
    if matches!(element, "meta" | "id" | "resourceType") {
        return Err(format!("`{text}`: `{element}` cannot be restricted"));
    }
    if !is_known_element(rtype, element) {
        return Err(format!(
            "`{text}`: `{element}` is not a top-level element of {rtype} (only whole top-level elements can be restricted)"
        ));
    }
    Ok((rtype, element.to_owned()))
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

    fn key(name: &str, sha: &str, scopes: &[&str]) -> ApiKeyConfig {
        ApiKeyConfig {
            name: name.into(),
            sha256: sha.into(),
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

    const SHA: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    #[test]
    fn errors_name_the_setting() {
        let bad_hash = with_keys(vec![key("a", "abc", &["system/*.read"])]);
        assert_eq!(
            bad_hash.validate().unwrap_err().setting,
            "auth.api_keys[0].sha256"
        );
        let bad_scope = with_keys(vec![key("a", SHA, &["system/Practitioner.rx"])]);
        assert_eq!(
            bad_scope.validate().unwrap_err().setting,
            "auth.api_keys[0].scopes"
        );
        let twice = with_keys(vec![
            key("a", SHA, &["system/*.read"]),
            key("a", SHA, &["system/*.read"]),
        ]);
        assert_eq!(
            twice.validate().unwrap_err().setting,
            "auth.api_keys[1].name"
        );
        assert_eq!(with_keys(vec![]).validate().unwrap_err().setting, "auth");
        assert!(
            with_keys(vec![key("a", SHA, &["system/*.read"])])
                .validate()
                .is_ok()
        );
    }

    #[test]
    fn restricted_elements_must_exist() {
        let restricted = |elements: &[&str]| RestrictedConfig {
            elements: elements.iter().map(|s| s.to_string()).collect(),
            scope: "annuaire/restricted".into(),
        };
        assert!(
            restricted(&["Practitioner.telecom", "PractitionerRole.telecom"])
                .validate()
                .is_ok()
        );
        for bad in [
            "Patient.telecom",
            "Practitioner.telecom.value",
            "Practitioner.meta",
            "telecom",
        ] {
            assert_eq!(
                restricted(&[bad]).validate().unwrap_err().setting,
                "auth.restricted.elements",
                "{bad}"
            );
        }
    }

    #[test]
    fn only_asymmetric_algorithms() {
        let jwt = |alg: &str| JwtConfig {
            jwks: RelativePathBuf::from("jwks.json"),
            issuer: "https://issuer".into(),
            audience: "annuaire".into(),
            algorithms: vec![alg.into()],
            leeway_seconds: 30,
            scope_claim: default_scope_claim(),
            national_id_claim: default_national_id_claim(),
            role_claim: default_role_claim(),
            rate_limit: None,
        };
        assert!(jwt("ES256").validate().is_ok());
        assert_eq!(
            jwt("HS256").validate().unwrap_err().setting,
            "auth.jwt.algorithms"
        );
        assert_eq!(
            jwt("none").validate().unwrap_err().setting,
            "auth.jwt.algorithms"
        );
    }
}
