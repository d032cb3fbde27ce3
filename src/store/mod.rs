//! Storage of imported resources: exactly the JSON bytes that are served.
//!
//! sled 0.34 is unmaintained and has open reports of corruption after a kill, so it is kept
//! behind two narrow traits and contained by generations: every import writes a brand-new sled
//! database, flushes it, and only then switches the data directory's `CURRENT` pointer to it
//! (an atomic rename). A crash or a kill can only damage the generation being written, which
//! nothing serves yet; the previous one stays served and intact.

pub mod datadir;
pub mod sled_store;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::resource_type::ResourceType;

pub use datadir::DataDir;
pub use sled_store::{SledGeneration, SledWriter};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage error in {path}: {source}")]
    Sled {
        path: PathBuf,
        #[source]
        source: sled::Error,
    },
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Locked(String),
    #[error(
        "no data has been imported into {0} yet: run `annuaire import --rpps ... --finess ... --data {0}` first"
    )]
    NoData(PathBuf),
    #[error("the data directory {path} is damaged: {detail}")]
    Damaged { path: PathBuf, detail: String },
}

impl StoreError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> StoreError {
        let path = path.into();
        move |source| StoreError::Io {
            action,
            path,
            source,
        }
    }
}

/// What an import recorded about the generation it wrote; served as resource metadata
/// (`meta.versionId`, `Last-Modified`) and shown to operators.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GenerationInfo {
    /// Sequence number of the import in this data directory; also every resource's versionId.
    pub number: u64,
    /// `meta.lastUpdated` of every resource of the generation (RFC 3339).
    pub last_updated: String,
    pub resources: ResourceCounts,
    pub sources: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ResourceCounts {
    pub practitioner: u64,
    pub practitioner_role: u64,
    pub organization: u64,
}

impl ResourceCounts {
    pub fn get(&self, rtype: ResourceType) -> u64 {
        match rtype {
            ResourceType::Practitioner => self.practitioner,
            ResourceType::PractitionerRole => self.practitioner_role,
            ResourceType::Organization => self.organization,
        }
    }
}

/// Read access to one generation.
pub trait ResourceStore: Send + Sync {
    /// The stored JSON of a resource, `None` when there is none with that id.
    fn read(&self, rtype: ResourceType, id: &str) -> Result<Option<Vec<u8>>, StoreError>;
    fn info(&self) -> &GenerationInfo;
}

/// Write access to a generation being imported. Writes may come from several threads.
pub trait ResourceWriter: Send + Sync {
    fn write(&self, rtype: ResourceType, id: &str, json: &[u8]) -> Result<(), StoreError>;
    /// Side data kept with an Organization but not part of its FHIR representation
    /// (FINESS coordinates).
    fn write_geolocation(&self, organization_id: &str, json: &[u8]) -> Result<(), StoreError>;
}
