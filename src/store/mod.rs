//! Storage of imported resources: exactly the JSON bytes that are served.
//!
//! sled 0.34 is unmaintained and has open reports of corruption after a kill, so it is kept
//! behind two narrow traits and contained by generations: every import writes a brand-new sled
//! database, flushes it, and only then switches the data directory's `CURRENT` pointer to it
//! (an atomic rename). A crash or a kill can only damage the generation being written, which
//! nothing serves yet; the previous one stays served and intact.

pub mod block;
pub mod datadir;
pub mod forward;
pub mod live;
pub mod sled_store;

use std::path::PathBuf;

use roaring::RoaringBitmap;
use serde::{Deserialize, Serialize};

use crate::fhir::ResourceType;

pub use datadir::DataDir;
pub use forward::Forward;
pub use live::{Generations, open_current};
pub use sled_store::{IndexWriters, Location, SledGeneration, SledWriter, TermDictionary};

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

/// Read access to one generation: resources by id, and the search indexes.
///
/// Documents of a type are numbered 0..n in id order; index entries are bitmaps of document
/// numbers (see `search::terms` for their keys).
pub trait ResourceStore: Send + Sync {
    /// The stored JSON of a resource, `None` when there is none with that id.
    fn read(&self, rtype: ResourceType, id: &str) -> Result<Option<Vec<u8>>, StoreError>;
    fn info(&self) -> &GenerationInfo;
    fn document_count(&self, rtype: ResourceType) -> u32;
    /// Id and JSON of a document.
    fn document(
        &self,
        rtype: ResourceType,
        doc: u32,
    ) -> Result<Option<(String, Vec<u8>)>, StoreError>;
    fn document_id(
        &self,
        rtype: ResourceType,
        doc: u32,
    ) -> Result<Option<(String, Location)>, StoreError>;
    /// The number of the first document whose id sorts after `id` (keyset paging).
    fn first_document_after(&self, rtype: ResourceType, id: &str) -> Result<u32, StoreError>;
    fn postings(
        &self,
        rtype: ResourceType,
        key: &[u8],
    ) -> Result<Option<RoaringBitmap>, StoreError>;
    /// Visits the posting entries whose key starts with `prefix`, in key order, until `visit`
    /// returns false.
    fn scan_postings(
        &self,
        rtype: ResourceType,
        prefix: &[u8],
        visit: &mut dyn FnMut(&[u8], RoaringBitmap) -> bool,
    ) -> Result<(), StoreError>;
    /// The folded terms of a string parameter, by term number (cached after the first call).
    fn term_dictionary(
        &self,
        rtype: ResourceType,
        param: &str,
    ) -> Result<TermDictionary, StoreError>;
    /// The term numbers whose term contains `trigram`.
    fn trigram(
        &self,
        rtype: ResourceType,
        param: &str,
        trigram: &str,
    ) -> Result<Option<RoaringBitmap>, StoreError>;
    /// The forward references of a reference parameter (cached after the first call).
    fn forward(
        &self,
        rtype: ResourceType,
        param: &str,
    ) -> Result<Option<std::sync::Arc<Forward>>, StoreError>;
}

/// Write access to a generation being imported. Writes may come from several threads.
pub trait ResourceWriter: Send + Sync {
    fn write(&self, rtype: ResourceType, id: &str, json: &[u8]) -> Result<(), StoreError>;
    /// Side data kept with an Organization but not part of its FHIR representation
    /// (FINESS coordinates).
    fn write_geolocation(&self, organization_id: &str, json: &[u8]) -> Result<(), StoreError>;
}
