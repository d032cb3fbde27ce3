//! `annuaire serve --config annuaire.toml`: the server's settings, from (lowest to highest
//! precedence) built-in defaults, the TOML file, `ANNUAIRE_*` environment variables and
//! command-line flags.
//!
//! Top-level settings have their own variables (`ANNUAIRE_DATA`, `ANNUAIRE_LISTEN`, ...), read
//! by the command line; nested ones use `__` between levels: `ANNUAIRE_AUTH__JWT__ISSUER`,
//! `ANNUAIRE_AUDIT__DESTINATION`, and arrays or tables in TOML syntax
//! (`ANNUAIRE_AUTH__RESTRICTED__ELEMENTS='["Practitioner.telecom"]'`). Unknown settings are
//! refused: a typo must not silently leave a door open.

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::auth::config::{AuditConfig, AuthConfig};

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_CACHE_MB: u64 = 256;

/// Everything `annuaire serve` can be told.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServeConfig {
    /// Data directory written by `annuaire import`.
    pub data: Option<PathBuf>,
    /// Address to listen on (default 127.0.0.1:8080).
    pub listen: Option<String>,
    /// sled page cache, in MiB (default 256).
    pub cache_mb: Option<u64>,
    /// HTTP worker threads (default: one per CPU).
    pub workers: Option<usize>,
    /// Log one line per request (the plain access log; the audit trail is `[audit]`).
    pub access_log: Option<bool>,
    /// Access control; absent: the server is open.
    pub auth: Option<AuthConfig>,
    /// Audit trail; absent: none.
    pub audit: Option<AuditConfig>,
}

/// Settings given on the command line (or by their top-level environment variables), which
/// win over the file.
#[derive(Debug, Clone, Default, Serialize)]
pub struct CommandLine {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_mb: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workers: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_log: Option<bool>,
}

/// The configuration cannot be read or is not valid; the message names the file and setting.
#[derive(Debug, thiserror::Error)]
pub enum ConfigLoadError {
    #[error("cannot read the configuration file {path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl ServeConfig {
    /// Merges the layers; `file` is required to exist when given. `[auth]` is checked where
    /// it is put to use (`Access::from_config`), `[audit]` here.
    pub fn load(
        file: Option<&Path>,
        command_line: &CommandLine,
    ) -> Result<ServeConfig, ConfigLoadError> {
        let mut figment = Figment::new();
        if let Some(path) = file {
            if !path.is_file() {
                return Err(ConfigLoadError::File {
                    path: path.to_owned(),
                    reason: "no such file".into(),
                });
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        let nested = Env::prefixed("ANNUAIRE_").split("__").filter(|key| {
            let key = key.as_str().to_ascii_lowercase();
            key.starts_with("auth.") || key.starts_with("audit.")
        });
        figment = figment
            .merge(nested)
            .merge(Serialized::defaults(command_line));
        let config: ServeConfig = figment.extract().map_err(|e| {
            let messages: Vec<String> = e.into_iter().map(|e| describe(&e)).collect();
            ConfigLoadError::Invalid(messages.join("; "))
        })?;
        if let Some(audit) = &config.audit {
            audit
                .validate()
                .map_err(|e| ConfigLoadError::Invalid(e.to_string()))?;
        }
        Ok(config)
    }

    pub fn listen(&self) -> &str {
        self.listen.as_deref().unwrap_or(DEFAULT_LISTEN)
    }

    pub fn cache_bytes(&self) -> u64 {
        self.cache_mb.unwrap_or(DEFAULT_CACHE_MB) << 20
    }
}

/// One figment error as a sentence naming the setting and where it came from.
fn describe(error: &figment::Error) -> String {
    let setting = if error.path.is_empty() {
        String::new()
    } else {
        format!("setting `{}`: ", error.path.join("."))
    };
    let source = error
        .metadata
        .as_ref()
        .map(|m| match &m.source {
            Some(source) => format!(" (in {source})"),
            None => format!(" (from {})", m.name),
        })
        .unwrap_or_default();
    format!("{setting}{}{source}", error.kind)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str) -> Result<ServeConfig, ConfigLoadError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("annuaire.toml");
        std::fs::write(&path, text).unwrap();
        ServeConfig::load(Some(&path), &CommandLine::default())
    }

    #[test]
    fn unknown_settings_are_refused_by_name() {
        let error = load_text("listen = \"127.0.0.1:1\"\n[auth]\nrealm = \"x\"\nrealmm = \"y\"\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("realmm"), "{error}");
        let error = load_text("cache_mb = \"big\"\n").unwrap_err().to_string();
        assert!(error.contains("cache_mb"), "{error}");
    }

    #[test]
    fn command_line_wins_over_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("annuaire.toml");
        std::fs::write(&path, "listen = \"127.0.0.1:1\"\ncache_mb = 64\n").unwrap();
        let config = ServeConfig::load(
            Some(&path),
            &CommandLine {
                listen: Some("127.0.0.1:2".into()),
                ..CommandLine::default()
            },
        )
        .unwrap();
        assert_eq!(config.listen(), "127.0.0.1:2");
        assert_eq!(config.cache_bytes(), 64 << 20);
    }

    #[test]
    fn missing_file_is_an_error() {
        let error = ServeConfig::load(
            Some(Path::new("/nonexistent/annuaire.toml")),
            &CommandLine::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("/nonexistent/annuaire.toml"), "{error}");
    }
}
