//! `[auth.oidc]`: the OpenID provider the lookup page signs people in with (Pro Santé Connect,
//! its sandbox, or any provider configured as PSC is).
//!
//! The client secret never sits in the TOML: it comes from `client_secret_file` (relative to
//! the configuration file, like `auth.jwt.jwks`) or from the `ANNUAIRE_OIDC_CLIENT_SECRET`
//! environment variable; without either the client is public and relies on PKCE alone.

use std::time::Duration;

use figment::value::magic::RelativePathBuf;
use serde::{Deserialize, Serialize};

/// A setting of `[auth.oidc]` that cannot be used, and why (becomes the `[auth]` sections'
/// `ConfigError`; kept apart so that this module does not import the one that names it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid setting `{setting}`: {reason}")]
pub struct ConfigError {
    pub setting: String,
    pub reason: String,
}

/// The environment variable a client secret may come from instead of a file.
pub const CLIENT_SECRET_ENV: &str = "ANNUAIRE_OIDC_CLIENT_SECRET";

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OidcConfig {
    /// The provider's issuer, exactly as its discovery document and its tokens say it.
    pub issuer: String,
    /// The discovery document; default `{issuer}/.well-known/openid-configuration` (Pro Santé
    /// Connect publishes `…/.well-known/wallet-openid-configuration`).
    #[serde(default)]
    pub discovery_url: Option<String>,
    pub client_id: String,
    /// A file holding the client secret (trailing white space ignored). A relative path is
    /// relative to the configuration file that names it.
    #[serde(default)]
    pub client_secret_file: Option<RelativePathBuf>,
    /// Scopes asked for at sign-in; must contain `openid`.
    #[serde(default = "default_scopes")]
    pub scopes: Vec<String>,
    /// `acr_values` asked for (Pro Santé Connect: `["eidas1"]`); the ID token's `acr` must then
    /// be one of them.
    #[serde(default)]
    pub acr_values: Vec<String>,
    /// The redirect URI registered with the provider; default: the public base URL (or the
    /// request's checked host) + `/ui/connexion/retour`.
    #[serde(default)]
    pub redirect_url: Option<String>,
    /// Where the provider sends the browser after sign-out (`post_logout_redirect_uri`);
    /// default: the public base URL (or the request's checked host) + `/`.
    #[serde(default)]
    pub post_logout_redirect_url: Option<String>,
    /// A session unused this long ends.
    #[serde(default = "default_idle")]
    pub session_idle_minutes: u64,
    /// A session ends this long after sign-in, used or not.
    #[serde(default = "default_max")]
    pub session_max_hours: u64,
    /// The provider's keys are fetched again this often.
    #[serde(default = "default_refresh")]
    pub jwks_refresh_seconds: u64,
    /// A token naming an unknown key makes the keys be fetched again, at most this often.
    #[serde(default = "default_min_refetch")]
    pub jwks_min_refetch_seconds: u64,
    /// Read userinfo after the code exchange (Pro Santé Connect puts `SubjectRefPro` there).
    #[serde(default = "default_true")]
    pub userinfo: bool,
    /// How long a request to the provider may take.
    #[serde(default = "default_timeout")]
    pub timeout_seconds: u64,
}

fn default_scopes() -> Vec<String> {
    vec!["openid".into(), "scope_all".into()]
}
fn default_idle() -> u64 {
    30
}
fn default_max() -> u64 {
    10
}
fn default_refresh() -> u64 {
    300
}
fn default_min_refetch() -> u64 {
    10
}
fn default_true() -> bool {
    true
}
fn default_timeout() -> u64 {
    10
}

fn refuse(field: &str, reason: impl Into<String>) -> ConfigError {
    ConfigError {
        setting: format!("auth.oidc.{field}"),
        reason: reason.into(),
    }
}

/// Whether `host` names this machine (`localhost`, 127.0.0.0/8, `::1`).
fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Checks that `value` is an absolute https URL (http allowed for a loopback host: tests and
/// a provider run beside the server).
fn check_url(field: &str, value: &str) -> Result<(), ConfigError> {
    let Some((scheme, rest)) = value.split_once("://") else {
        return Err(refuse(field, "must be an absolute https:// URL"));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    };
    if host.is_empty() {
        return Err(refuse(field, "must name a host"));
    }
    match scheme {
        "https" => Ok(()),
        "http" if is_loopback(host) => Ok(()),
        _ => Err(refuse(
            field,
            "must be an https:// URL (http:// is accepted for localhost only)",
        )),
    }
}

impl OidcConfig {
    /// Checks what does not need the network or a file; errors name `auth.oidc.<field>`.
    pub fn validate(&self) -> Result<(), ConfigError> {
        check_url("issuer", &self.issuer)?;
        check_url("discovery_url", &self.discovery_url())?;
        if self.client_id.trim().is_empty() {
            return Err(refuse("client_id", "must not be empty"));
        }
        if !self.scopes.iter().any(|s| s == "openid") {
            return Err(refuse("scopes", "must contain `openid`"));
        }
        if let Some(scope) = self
            .scopes
            .iter()
            .chain(&self.acr_values)
            .find(|s| s.is_empty() || !s.bytes().all(|b| b.is_ascii_graphic() && b != b'"'))
        {
            return Err(refuse(
                "scopes",
                format!("`{scope}` is not a scope or acr value (printable ASCII, no spaces)"),
            ));
        }
        for (field, url) in [
            ("redirect_url", &self.redirect_url),
            ("post_logout_redirect_url", &self.post_logout_redirect_url),
        ] {
            if let Some(url) = url {
                check_url(field, url)?;
            }
        }
        for (field, value) in [
            ("session_idle_minutes", self.session_idle_minutes),
            ("session_max_hours", self.session_max_hours),
            ("jwks_refresh_seconds", self.jwks_refresh_seconds),
            ("jwks_min_refetch_seconds", self.jwks_min_refetch_seconds),
            ("timeout_seconds", self.timeout_seconds),
        ] {
            if value == 0 {
                return Err(refuse(field, "must be at least 1"));
            }
        }
        if self.jwks_min_refetch_seconds > self.jwks_refresh_seconds {
            return Err(refuse(
                "jwks_min_refetch_seconds",
                "must not be more than `jwks_refresh_seconds`",
            ));
        }
        Ok(())
    }

    /// The discovery document's URL: the configured one, else the standard path under the issuer.
    pub fn discovery_url(&self) -> String {
        self.discovery_url.clone().unwrap_or_else(|| {
            format!(
                "{}/.well-known/openid-configuration",
                self.issuer.trim_end_matches('/')
            )
        })
    }

    /// The client secret: the file's content, else the environment variable's, else none
    /// (a public client). The error names the setting, never the secret.
    pub fn client_secret(&self) -> Result<Option<String>, ConfigError> {
        if let Some(file) = &self.client_secret_file {
            let path = file.relative();
            let text = std::fs::read_to_string(&path).map_err(|e| {
                refuse(
                    "client_secret_file",
                    format!("cannot read {}: {e}", path.display()),
                )
            })?;
            let secret = text.trim_end().to_owned();
            if secret.is_empty() {
                return Err(refuse(
                    "client_secret_file",
                    format!("{} is empty", path.display()),
                ));
            }
            return Ok(Some(secret));
        }
        Ok(std::env::var(CLIENT_SECRET_ENV)
            .ok()
            .map(|s| s.trim_end().to_owned())
            .filter(|s| !s.is_empty()))
    }

    pub fn session_idle(&self) -> Duration {
        Duration::from_secs(self.session_idle_minutes.saturating_mul(60))
    }

    pub fn session_max(&self) -> Duration {
        Duration::from_secs(self.session_max_hours.saturating_mul(3600))
    }

    pub fn jwks_refresh(&self) -> Duration {
        Duration::from_secs(self.jwks_refresh_seconds)
    }

    pub fn jwks_min_refetch(&self) -> Duration {
        Duration::from_secs(self.jwks_min_refetch_seconds)
    }

    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_seconds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(issuer: &str) -> OidcConfig {
        serde_json::from_value(serde_json::json!({
            "issuer": issuer,
            "client_id": "annuaire",
        }))
        .expect("a minimal [auth.oidc]")
    }

    #[test]
    fn defaults_follow_pro_sante_connect() {
        let c = config("https://auth.esw.esante.gouv.fr/auth/realms/esante-wallet");
        assert_eq!(c.scopes, ["openid", "scope_all"]);
        assert!(c.acr_values.is_empty());
        assert_eq!((c.session_idle_minutes, c.session_max_hours), (30, 10));
        assert_eq!(
            (c.jwks_refresh_seconds, c.jwks_min_refetch_seconds),
            (300, 10)
        );
        assert!(c.userinfo);
        assert_eq!(
            c.discovery_url(),
            "https://auth.esw.esante.gouv.fr/auth/realms/esante-wallet/.well-known/openid-configuration"
        );
        c.validate().expect("valid");
    }

    #[test]
    fn issuer_must_be_https_unless_loopback() {
        let err = config("http://auth.example").validate().unwrap_err();
        assert!(err.to_string().contains("auth.oidc.issuer"), "{err}");
        config("http://127.0.0.1:9000/realm").validate().unwrap();
        config("http://localhost:9000").validate().unwrap();
        let mut c = config("https://auth.example");
        c.discovery_url = Some("http://auth.example/.well-known/x".into());
        let err = c.validate().unwrap_err();
        assert!(err.to_string().contains("auth.oidc.discovery_url"), "{err}");
    }

    #[test]
    fn scopes_need_openid_and_durations_are_positive() {
        let mut c = config("https://auth.example");
        c.scopes = vec!["scope_all".into()];
        assert!(
            c.validate()
                .unwrap_err()
                .to_string()
                .contains("auth.oidc.scopes")
        );
        let mut c = config("https://auth.example");
        c.session_idle_minutes = 0;
        let err = c.validate().unwrap_err();
        assert!(err.to_string().contains("auth.oidc.session_idle_minutes"));
        let mut c = config("https://auth.example");
        c.client_id = " ".into();
        assert!(c.validate().unwrap_err().to_string().contains("client_id"));
    }
}
