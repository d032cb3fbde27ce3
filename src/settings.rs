//! The settings of `annuaire serve` and `annuaire import`, declared once: each field derives
//! its command-line flag and `ANNUAIRE_*` environment variable (clap) and its configuration
//! file key (serde). Precedence, lowest to highest: built-in defaults, the TOML file named by
//! `--config`, the environment, the command line.
//!
//! Top-level settings have their own variables (`ANNUAIRE_DATA`, `ANNUAIRE_LISTEN`, ...), read
//! with the command line; nested ones use `__` between levels: `ANNUAIRE_AUTH__JWT__ISSUER`,
//! `ANNUAIRE_AUDIT__DESTINATION`, and arrays or tables in TOML syntax
//! (`ANNUAIRE_AUTH__RESTRICTED__ELEMENTS='["Practitioner.telecom"]'`). Unknown settings are
//! refused: a typo must not silently leave a door open. Defaults live in the `DEFAULT_*`
//! constants and the accessors below, nowhere else.

use std::path::{Path, PathBuf};

use clap::Args;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::auth::config::{AuditConfig, AuthConfig, RateLimitConfig};
use crate::export::ExportLimits;
use crate::search::limits::Limits;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_CACHE_MB: u64 = 256;
pub const DEFAULT_EXPORT_EXPIRY_MINUTES: u64 = 120;
pub const DEFAULT_EXPORT_MAX_PER_CALLER: usize = 3;
pub const DEFAULT_EXPORT_MAX_JOBS: usize = 12;
pub const DEFAULT_EXPORT_MAX_RUNNING: usize = 2;
pub const DEFAULT_EXPORT_MIN_FREE_MB: u64 = 1024;
pub const DEFAULT_DRAIN_NOTICE_SECONDS: u64 = 0;
pub const DEFAULT_DRAIN_TIMEOUT_SECONDS: u64 = 10;
/// The public paths' rate limit per address: a person opening the page takes 5 requests, a
/// load balancer polling `/readyz` every 500 ms takes 2 a second.
pub const DEFAULT_PUBLIC_PER_SECOND: u32 = 50;
pub const DEFAULT_PUBLIC_BURST: u32 = 200;

/// Where the data lives and how much of the machine reading or writing it may use: shared by
/// `serve` and `import`. (Unknown keys are refused by [`Settings`], which flattens it.)
#[derive(Debug, Clone, Default, Args, Serialize, Deserialize)]
pub struct StoreSettings {
    /// Data directory written by `annuaire import` (created by an import if missing).
    #[arg(long, env = "ANNUAIRE_DATA")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<PathBuf>,
    /// sled page cache, in MiB [default: 256].
    #[arg(long, env = "ANNUAIRE_CACHE_MB")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_mb: Option<u64>,
    /// Worker threads [default: one per CPU].
    #[arg(long, env = "ANNUAIRE_WORKERS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workers: Option<usize>,
}

impl StoreSettings {
    pub fn cache_bytes(&self) -> u64 {
        self.cache_mb.unwrap_or(DEFAULT_CACHE_MB) << 20
    }

    pub fn workers(&self) -> usize {
        self.workers
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
            .max(1)
    }

    /// The data directory, which must have been given.
    pub fn data_dir(&self) -> Result<&Path, SettingsError> {
        self.data.as_deref().ok_or(SettingsError::NoDataDirectory)
    }
}

/// Everything `annuaire serve` can be told.
#[derive(Debug, Clone, Default, Args, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Configuration file (TOML): server settings, access control, audit trail.
    #[arg(long, env = "ANNUAIRE_CONFIG")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Serve the embedded demo dataset (a few thousand generated persons) instead of a data
    /// directory.
    #[arg(long, conflicts_with = "data")]
    #[serde(skip)]
    pub demo: bool,
    #[command(flatten)]
    #[serde(flatten)]
    pub store: StoreSettings,
    /// Address to listen on [default: 127.0.0.1:8080]; port 0 takes any free port.
    #[arg(long, env = "ANNUAIRE_LISTEN")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    /// Where Bulk Data export files are written [default: `exports` in the data directory].
    #[arg(long, env = "ANNUAIRE_EXPORT_DIR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub export_dir: Option<PathBuf>,
    /// Minutes the files of a completed export are kept [default: 120].
    #[arg(long, env = "ANNUAIRE_EXPORT_EXPIRY_MINUTES")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub export_expiry_minutes: Option<u64>,
    /// Exports one caller (API key, token subject, or client address on an open server) may
    /// have at once, running or completed and not yet expired; one more is refused with 429
    /// until one is deleted or expires [default: 3].
    #[arg(long, env = "ANNUAIRE_EXPORT_MAX_PER_CALLER")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub export_max_per_caller: Option<usize>,
    /// Exports the server holds at once, running or completed and not yet expired; one more
    /// is refused with 503 [default: 12].
    #[arg(long, env = "ANNUAIRE_EXPORT_MAX_JOBS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub export_max_jobs: Option<usize>,
    /// Exports writing their files at once; one more is refused with 503 [default: 2].
    #[arg(long, env = "ANNUAIRE_EXPORT_MAX_RUNNING")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub export_max_running: Option<usize>,
    /// MiB to keep free on the export directory's disk: no export starts below it (503), and
    /// an export that brings the disk below it stops and removes its files [default: 1024].
    #[arg(long, env = "ANNUAIRE_EXPORT_MIN_FREE_MB")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub export_min_free_mb: Option<u64>,
    /// Addresses of the reverse proxies whose `Forwarded` / `X-Forwarded-*` headers are
    /// believed (links are built from them); anyone else's are ignored [default: none].
    #[arg(
        long = "trusted-proxy",
        env = "ANNUAIRE_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// The address clients reach the server at, scheme included (`https://annuaire.example/`,
    /// or with a path prefix behind a gateway): every absolute link the server writes (Bundle
    /// links and `fullUrl`s, `Content-Location`, export manifests) starts with it, whatever
    /// `Host` or forwarding headers a request carries. Set it in production [default: none:
    /// the `Host` header if it is an `--allowed-host`, else the listen address, over http].
    #[arg(long, env = "ANNUAIRE_PUBLIC_BASE_URL", value_parser = parse_public_base_url)]
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "deserialize_public_base_url"
    )]
    pub public_base_url: Option<String>,
    /// Without `--public-base-url`: the `Host` values (`name` or `name:port`) links may be
    /// built from; any other `Host` gives way to the listen address, so that a client cannot
    /// put a host of its choosing into the links others are served [default: none].
    #[arg(
        long = "allowed-host",
        env = "ANNUAIRE_ALLOWED_HOSTS",
        value_delimiter = ','
    )]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_hosts: Vec<String>,
    /// This replica's name among its peers (letters, digits and `-`): Bulk Data export job
    /// ids start with it, so that a load balancer sends a job's polls and downloads to the
    /// replica running it (see docs/haproxy.cfg) [default: none].
    #[arg(long, env = "ANNUAIRE_INSTANCE", value_parser = parse_instance)]
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "deserialize_instance"
    )]
    pub instance: Option<String>,
    /// File holding the secret paging cursors are signed with (at least 32 bytes). Replicas
    /// behind one load balancer must share it, so that a page asked of one replica continues
    /// on another [default: a key drawn for the data directory, `cursor.key`].
    #[arg(long, env = "ANNUAIRE_CURSOR_KEY_FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cursor_key_file: Option<PathBuf>,
    /// Address of a second listener serving only `/metrics`, `/healthz` and `/readyz`, open to
    /// whoever reaches it (keep it on a private network). Without it, `/metrics` is on the main
    /// address, open on an open server and, under `[auth]`, for credentials holding the scope
    /// `annuaire/metrics` only.
    #[arg(long, env = "ANNUAIRE_METRICS_LISTEN")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metrics_listen: Option<String>,
    /// Seconds between SIGTERM and closing the listener, during which `/readyz` answers 503
    /// while requests are still served, so that a load balancer stops sending new ones first
    /// [default: 0; behind a load balancer, more than its health-check interval].
    #[arg(long, env = "ANNUAIRE_DRAIN_NOTICE_SECONDS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drain_notice_seconds: Option<u64>,
    /// Seconds the requests still in flight when the listener closes are given to finish
    /// before the server exits anyway [default: 10].
    #[arg(long, env = "ANNUAIRE_DRAIN_TIMEOUT_SECONDS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drain_timeout_seconds: Option<u64>,
    /// This server is a read-only replica: it keeps no lists or subscriptions and answers their
    /// requests (and `_list` searches) with 421, for the load balancer to send them to the
    /// writer (see docs/haproxy.cfg).
    #[arg(long, env = "ANNUAIRE_REPLICA")]
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub replica: bool,
    /// Subscription endpoints allowed although plain `http` or at an internal address: host
    /// names, IP addresses or CIDR blocks (`127.0.0.1`, `10.0.0.0/8`); any other endpoint must
    /// be `https` to a public address [default: none].
    #[arg(
        long = "subscription-allow",
        env = "ANNUAIRE_SUBSCRIPTION_ALLOW",
        value_delimiter = ','
    )]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subscription_allow: Vec<String>,
    /// Hours a rest-hook notification is retried before its subscription goes to `error`
    /// [default: 24].
    #[arg(long, env = "ANNUAIRE_SUBSCRIPTION_RETRY_HOURS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_retry_hours: Option<u64>,
    /// The retry period in seconds, overriding `--subscription-retry-hours`: for tests, which
    /// cannot wait an hour to see a subscription go to `error`. Hidden from `--help`.
    #[arg(long, hide = true, env = "ANNUAIRE_SUBSCRIPTION_RETRY_SECONDS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription_retry_seconds: Option<u64>,
    /// Log one line per request.
    #[arg(long, env = "ANNUAIRE_ACCESS_LOG")]
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub access_log: bool,
    /// Access control; absent: the server is open.
    #[arg(skip)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthConfig>,
    /// Audit trail; absent: none.
    #[arg(skip)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audit: Option<AuditConfig>,
    /// What one search may cost, and how many run at once (`[limits]`).
    #[arg(skip)]
    #[serde(default, skip_serializing_if = "is_default")]
    pub limits: Limits,
    /// Rate limit per client address on the paths anyone may read without credentials (the
    /// lookup page and its files, `/fhir/metadata`, the SMART discovery document, `/healthz`,
    /// `/readyz`): `[public_rate_limit]` `per_second`, `burst` [default: 50 per second, bursts
    /// of 200].
    #[arg(skip)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_rate_limit: Option<RateLimitConfig>,
    /// Rate limit per client address when the server is open (`[open_rate_limit]`
    /// `per_second`, `burst`); with `[auth]`, limits are set per API key and per token subject.
    #[arg(skip)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub open_rate_limit: Option<RateLimitConfig>,
}

/// A replica's name: 1 to 32 ASCII letters, digits or `-` (it goes into URLs and HAProxy
/// rules as is).
fn parse_instance(text: &str) -> Result<String, String> {
    let valid = (1..=32).contains(&text.len())
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if valid {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "`{text}` is not a replica name: use 1 to 32 letters, digits or `-`"
        ))
    }
}

/// An absolute `http` or `https` URL without user, query or fragment, kept without its trailing
/// `/` (links append `/fhir/...` to it).
fn parse_public_base_url(text: &str) -> Result<String, String> {
    let refuse = |why: &str| Err(format!("`{text}` is not a public base URL: {why}"));
    let Some((scheme, rest)) = text.split_once("://") else {
        return refuse("it must start with https:// (or http://)");
    };
    if !matches!(scheme, "https" | "http") {
        return refuse("its scheme must be https or http");
    }
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.is_empty() || authority.contains('@') {
        return refuse("it must name a host, without user or password");
    }
    if text.contains(['?', '#']) || !text.bytes().all(|b| b.is_ascii_graphic()) {
        return refuse("it must not hold a query, a fragment, spaces or non-ASCII characters");
    }
    Ok(text.trim_end_matches('/').to_owned())
}

fn deserialize_public_base_url<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    let text = Option::<String>::deserialize(deserializer)?;
    text.map(|t| parse_public_base_url(&t).map_err(serde::de::Error::custom))
        .transpose()
}

fn deserialize_instance<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<String>, D::Error> {
    let text = Option::<String>::deserialize(deserializer)?;
    text.map(|t| parse_instance(&t).map_err(serde::de::Error::custom))
        .transpose()
}

fn is_default(limits: &Limits) -> bool {
    *limits == Limits::default()
}

/// The settings cannot be read or are not valid; the message names the file and setting.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read the configuration file {path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error("invalid configuration: {0}")]
    Invalid(String),
    #[error(
        "no data directory: give --data, ANNUAIRE_DATA or `data` in the configuration file (or --demo)"
    )]
    NoDataDirectory,
}

impl Settings {
    /// The settings in force: `command_line` (flags and their environment variables) over the
    /// nested environment variables, over the file it names, over the defaults.
    pub fn load(command_line: Settings) -> Result<Settings, SettingsError> {
        let mut figment = Figment::new();
        if let Some(path) = &command_line.config {
            if !path.is_file() {
                return Err(SettingsError::File {
                    path: path.clone(),
                    reason: "no such file".into(),
                });
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        let nested = Env::prefixed("ANNUAIRE_").split("__").filter(|key| {
            let key = key.as_str().to_ascii_lowercase();
            key.starts_with("auth.") || key.starts_with("audit.") || key.starts_with("limits.")
        });
        figment = figment
            .merge(nested)
            .merge(Serialized::defaults(&command_line));
        let invalid = |e: figment::Error| {
            let messages: Vec<String> = e.into_iter().map(|e| describe(&e)).collect();
            SettingsError::Invalid(messages.join("; "))
        };
        // Read on its own first: through serde's `flatten`, a bad value would lose the name
        // of its setting.
        figment.extract::<StoreSettings>().map_err(invalid)?;
        let mut settings: Settings = figment.extract().map_err(invalid)?;
        settings.config = command_line.config;
        settings.demo = command_line.demo;
        if let Some(audit) = &settings.audit {
            audit
                .validate()
                .map_err(|e| SettingsError::Invalid(e.to_string()))?;
        }
        Ok(settings)
    }

    pub fn listen(&self) -> &str {
        self.listen.as_deref().unwrap_or(DEFAULT_LISTEN)
    }

    /// How long `/readyz` says "draining" before the listener closes (see
    /// [`Settings::drain_notice_seconds`]).
    pub fn drain_notice(&self) -> std::time::Duration {
        std::time::Duration::from_secs(
            self.drain_notice_seconds
                .unwrap_or(DEFAULT_DRAIN_NOTICE_SECONDS),
        )
    }

    /// How long requests in flight at shutdown may take to finish.
    pub fn drain_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(
            self.drain_timeout_seconds
                .unwrap_or(DEFAULT_DRAIN_TIMEOUT_SECONDS),
        )
    }

    /// How many exports may live at once, and the disk space they leave free.
    pub fn export_limits(&self) -> ExportLimits {
        ExportLimits {
            max_per_caller: self
                .export_max_per_caller
                .unwrap_or(DEFAULT_EXPORT_MAX_PER_CALLER),
            max_live: self.export_max_jobs.unwrap_or(DEFAULT_EXPORT_MAX_JOBS),
            max_running: self
                .export_max_running
                .unwrap_or(DEFAULT_EXPORT_MAX_RUNNING),
            min_free_bytes: self
                .export_min_free_mb
                .unwrap_or(DEFAULT_EXPORT_MIN_FREE_MB)
                .saturating_mul(1 << 20),
        }
    }

    /// The rate limit of the public paths (see [`Settings::public_rate_limit`]).
    pub fn public_rate_limit(&self) -> RateLimitConfig {
        self.public_rate_limit.unwrap_or(RateLimitConfig {
            per_second: DEFAULT_PUBLIC_PER_SECOND,
            burst: Some(DEFAULT_PUBLIC_BURST),
        })
    }

    /// What subscriptions' delivery is configured with.
    pub fn notify(&self) -> crate::notify::NotifySettings {
        let defaults = crate::notify::NotifySettings::default();
        crate::notify::NotifySettings {
            retry_for: self
                .subscription_retry_seconds
                .or(self.subscription_retry_hours.map(|hours| hours * 3600))
                .map(std::time::Duration::from_secs)
                .unwrap_or(defaults.retry_for),
            allow: self.subscription_allow.clone(),
        }
    }

    /// How long the files of a completed export are kept.
    pub fn export_expiry(&self) -> std::time::Duration {
        std::time::Duration::from_secs(
            60 * self
                .export_expiry_minutes
                .unwrap_or(DEFAULT_EXPORT_EXPIRY_MINUTES),
        )
    }
}

/// One figment error as a sentence naming the setting (`auth.api_keys[0].sha256`) and where
/// it came from.
fn describe(error: &figment::Error) -> String {
    let setting = if error.path.is_empty() {
        String::new()
    } else {
        let mut path = String::new();
        for part in &error.path {
            if part.parse::<usize>().is_ok() {
                path.push_str(&format!("[{part}]"));
            } else {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(part);
            }
        }
        format!("setting `{path}`: ")
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

    fn load_text(text: &str, command_line: Settings) -> Result<Settings, SettingsError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("annuaire.toml");
        std::fs::write(&path, text).unwrap();
        Settings::load(Settings {
            config: Some(path),
            ..command_line
        })
    }

    #[test]
    fn unknown_settings_are_refused_by_name() {
        let text = "listen = \"127.0.0.1:1\"\n[auth]\nrealm = \"x\"\nrealmm = \"y\"\n";
        let error = load_text(text, Settings::default())
            .unwrap_err()
            .to_string();
        assert!(error.contains("realmm"), "{error}");
        let error = load_text("cache_mb = \"big\"\n", Settings::default())
            .unwrap_err()
            .to_string();
        assert!(error.contains("cache_mb"), "{error}");
        let error = load_text("cache_size = 1\n", Settings::default())
            .unwrap_err()
            .to_string();
        assert!(error.contains("cache_size"), "{error}");
    }

    #[test]
    fn typed_values_are_checked_when_read_and_named() {
        let text = "[auth]\n[[auth.api_keys]]\nname = \"a\"\nsha256 = \"xyz\"\nscopes = []\n";
        let error = load_text(text, Settings::default())
            .unwrap_err()
            .to_string();
        assert!(error.contains("auth.api_keys[0].sha256"), "{error}");
        assert!(error.contains("64 hexadecimal digits"), "{error}");
    }

    #[test]
    fn command_line_wins_over_the_file() {
        let command_line = Settings {
            listen: Some("127.0.0.1:2".into()),
            ..Settings::default()
        };
        let settings =
            load_text("listen = \"127.0.0.1:1\"\ncache_mb = 64\n", command_line).unwrap();
        assert_eq!(settings.listen(), "127.0.0.1:2");
        assert_eq!(settings.store.cache_bytes(), 64 << 20);
        let defaults = Settings::load(Settings::default()).unwrap();
        assert_eq!(defaults.listen(), DEFAULT_LISTEN);
        assert_eq!(defaults.store.cache_bytes(), DEFAULT_CACHE_MB << 20);
    }

    #[test]
    fn public_base_urls_are_absolute_and_plain() {
        assert_eq!(
            parse_public_base_url("https://annuaire.example/").unwrap(),
            "https://annuaire.example"
        );
        assert_eq!(
            parse_public_base_url("https://gw.example:8443/annuaire").unwrap(),
            "https://gw.example:8443/annuaire"
        );
        for bad in [
            "annuaire.example",
            "ftp://annuaire.example",
            "https://",
            "https://user@annuaire.example",
            "https://annuaire.example/?x=1",
            "https://annuaire.example/#top",
        ] {
            assert!(parse_public_base_url(bad).is_err(), "{bad}");
        }
        let error = load_text(
            "public_base_url = \"annuaire.example\"\n",
            Settings::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("public_base_url"), "{error}");
    }

    #[test]
    fn missing_file_is_an_error() {
        let error = Settings::load(Settings {
            config: Some("/nonexistent/annuaire.toml".into()),
            ..Settings::default()
        })
        .unwrap_err()
        .to_string();
        assert!(error.contains("/nonexistent/annuaire.toml"), "{error}");
    }
}
