//! `annuaire serve`: serve a data directory, or a generated demo dataset.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::auth::audit::{AuditLog, AuditOpenError};
use crate::auth::{Access, AccessControl, AccessSetupError};
use crate::config::ServeConfig;
use crate::generate::{self, GenerateOptions};
use crate::http::{self, AppState};
use crate::import::{self, ExtraFiles, ImportError, ImportOptions};
use crate::store::{DataDir, StoreError};

/// Persons in the demo dataset: enough for every quirk to occur, small enough to import in
/// about a second.
pub const DEMO_PERSONS: u64 = 3000;
pub const DEMO_SEED: u64 = 2026;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
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
}

/// The access policy and audit trail the configuration asks for, said in the startup log.
pub fn access_control(config: &ServeConfig, demo: bool) -> Result<AccessControl, ServeError> {
    let policy = match &config.auth {
        None if demo => {
            tracing::info!(
                "demo: the server is open (no access control): anyone who reaches it reads everything"
            );
            Access::open()
        }
        None => {
            tracing::warn!(
                "no [auth] configured: the server is open, anyone who reaches it reads everything (see annuaire.example.toml)"
            );
            Access::open()
        }
        Some(auth) => {
            let access = Access::from_config(auth.clone())?;
            tracing::info!("{}", describe_access(auth));
            access
        }
    };
    let audit = match &config.audit {
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

fn describe_access(auth: &crate::auth::config::AuthConfig) -> String {
    let mut parts = vec![format!("{} API key(s)", auth.api_keys.len())];
    if let Some(jwt) = &auth.jwt {
        parts.push(format!(
            "JWT bearer tokens from {} for {} ({}), keys in {}",
            jwt.issuer,
            jwt.audience,
            jwt.algorithms.join(", "),
            jwt.jwks.relative().display()
        ));
    }
    if let Some(restricted) = &auth.restricted {
        parts.push(format!(
            "restricted elements {} (scope {})",
            restricted.elements.join(", "),
            restricted.scope
        ));
    }
    format!("access control: {}", parts.join("; "))
}

#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub data: PathBuf,
    pub listen: String,
    pub cache_bytes: u64,
    pub workers: usize,
    pub access_log: bool,
    pub access: AccessControl,
}

/// Generates the demo files and imports them into `dir/data`, deterministically: fixed seed,
/// and `lastUpdated` fixed to the files' extraction date.
pub fn prepare_demo(dir: &Path, persons: u64, cache_bytes: u64) -> Result<PathBuf, ServeError> {
    let files = generate::generate(
        &GenerateOptions {
            persons,
            seed: DEMO_SEED,
        },
        &dir.join("extractions"),
    )
    .map_err(ServeError::Demo)?;
    let data = dir.join("data");
    let extraction = time::Date::parse(
        generate::EXTRACTION_DATE,
        &time::format_description::well_known::Iso8601::DATE,
    )
    .expect("EXTRACTION_DATE is an ISO date");
    let summary = import::run(&ImportOptions {
        rpps: files.rpps,
        finess: files.finess,
        extra: ExtraFiles {
            mssante: Some(files.mssante),
            savoir_faire: Some(files.savoir_faire),
            diplomes: Some(files.diplomas),
        },
        data: data.clone(),
        cache_bytes,
        last_updated: Some(extraction.midnight().assume_utc()),
        workers: None,
    })?;
    tracing::info!(
        "demo dataset ready: {} practitioners, {} roles, {} organizations",
        summary.resources.practitioner,
        summary.resources.practitioner_role,
        summary.resources.organization
    );
    Ok(data)
}

/// Serves until SIGINT or SIGTERM.
pub fn run(options: &ServeOptions) -> Result<(), ServeError> {
    if !options.data.is_dir() {
        return Err(StoreError::NoData(options.data.clone()).into());
    }
    let data = DataDir::create(&options.data)?;
    let _lock = data.lock_for_serving()?;
    let (name, generation) = http::open_current(&data, options.cache_bytes)?;
    let info = crate::store::ResourceStore::info(&generation).clone();
    let listener = TcpListener::bind(&options.listen).map_err(|source| ServeError::Listen {
        address: options.listen.clone(),
        source,
    })?;
    let address = listener.local_addr().map_err(ServeError::Server)?;
    let mut state = AppState::with_access(Arc::new(generation), options.access.clone());
    state.access_log = options.access_log;
    tracing::info!(
        "serving {name} ({} practitioners, {} roles, {} organizations, imported {}) at http://{address}/fhir",
        info.resources.practitioner,
        info.resources.practitioner_role,
        info.resources.organization,
        info.last_updated
    );
    actix_web::rt::System::new().block_on(async {
        let server =
            http::start(listener, state.clone(), options.workers).map_err(ServeError::Server)?;
        http::watch_for_new_generations(
            data,
            name,
            options.cache_bytes,
            state.clone(),
            Duration::from_secs(2),
        );
        http::watch_access_keys(state.clone(), Duration::from_secs(2));
        server.await.map_err(ServeError::Server)?;
        tracing::info!("server stopped");
        Ok(())
    })
}
