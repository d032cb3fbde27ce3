//! Storage of imported resources: exactly the JSON bytes that are served.
//!
//! sled 0.34 is unmaintained and has open reports of corruption after a kill, so it is kept
//! behind two narrow traits and contained by generations: every import writes a brand-new sled
//! database, flushes it, and only then switches the data directory's `CURRENT` pointer to it
//! (an atomic rename). A crash or a kill can only damage the generation being written, which
//! nothing serves yet; the previous one stays served and intact.

pub mod block;
pub mod content;
pub mod copy;
pub mod datadir;
pub mod forward;
pub mod history;
pub mod live;
pub mod mapped;
pub mod reconcile;
pub mod record;
pub mod sled_store;

use std::path::PathBuf;

use roaring::RoaringBitmap;
use serde::{Deserialize, Serialize};

use crate::fhir::ResourceType;

pub use datadir::{DataDir, ImportReport};
pub use forward::Forward;
pub use history::HistoryEntry;
pub use live::{Generations, open_current};
pub use record::{Location, Millis, Record, State, StoredResource, Version};
pub use sled_store::{
    Dictionary, IndexWriters, PostingsUnion, SledGeneration, SledWriter, TermDictionary, Written,
};

/// Layout version of a generation; a server opens only generations of its own layout.
/// 2: versions beside the content (records, history); 3: block keys of any length; 4: content
/// compressed (see [`content`]), index blocks front-coded in the index file (see [`block`]);
/// 5: documents by number in a directory of offsets (see [`sled_store::DocumentDirectory`]).
pub const FORMAT: u32 = 5;
/// The description file of a complete generation.
pub const INFO_FILE: &str = "generation.json";
/// The labels of the codes of a generation, for people (see [`crate::mapping::labels`]).
pub const LABELS_FILE: &str = "labels.json";

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
    #[error(
        "{0} was written by an older annuaire (before per-resource versions): run `annuaire import` again to write a current generation"
    )]
    OldFormat(PathBuf),
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

/// What an import recorded about the generation it wrote, shown to operators.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GenerationInfo {
    /// Layout version ([`FORMAT`]); absent in generations written before versions.
    #[serde(default)]
    pub format: u32,
    /// Sequence number of the import in this data directory (local: names its directory).
    pub number: u64,
    /// What identifies the generation everywhere: a digest of what determines its content
    /// (the input files, the previous generation's id, the stamp, the retention, the layout
    /// and the program version), so that replicas that import the same files in the same order
    /// name it alike, and cursors, Bundle ids and ETags issued by one are understood by all.
    /// Absent in generations written before it existed: [`GenerationInfo::read`] then names
    /// them `local-<number>-<digest of their description>`.
    #[serde(default, rename = "id", skip_serializing_if = "String::is_empty")]
    pub content_id: String,
    /// A digest of the input files the import read (see `import::identity::inputs_digest`):
    /// the same files imported again are recognised and not written again.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub inputs: String,
    /// The instant stamped on what the import changed (RFC 3339): the extraction's time as the
    /// files state it, not the import's clock (see `import::stamp`).
    pub last_updated: String,
    /// Current resources, deactivated records included.
    pub resources: ResourceCounts,
    pub sources: Vec<String>,
    /// The history segments this generation's history refers to.
    #[serde(default)]
    pub history_segments: Vec<u64>,
    /// From when the history is complete (every deletion since then is known); absent: since
    /// the first import. Older past versions passed the history retention.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history_complete_since: Option<String>,
}

impl GenerationInfo {
    /// The generation's identity (see [`GenerationInfo::content_id`]).
    pub fn id(&self) -> std::borrow::Cow<'_, str> {
        self.content_id.as_str().into()
    }

    /// The instant the import stamped on what it changed (see `import::stamp`).
    pub fn import_time(&self) -> Millis {
        Millis::parse_rfc3339(&self.last_updated).unwrap_or(Millis(0))
    }

    pub fn history_horizon(&self) -> Option<Millis> {
        self.history_complete_since
            .as_deref()
            .and_then(Millis::parse_rfc3339)
    }

    /// Reads a generation's description.
    pub fn read(generation: &std::path::Path) -> Result<GenerationInfo, StoreError> {
        let path = generation.join(INFO_FILE);
        let text = std::fs::read_to_string(&path).map_err(StoreError::io("cannot read", &path))?;
        let mut info: GenerationInfo =
            serde_json::from_str(&text).map_err(|e| StoreError::Damaged {
                path: generation.to_path_buf(),
                detail: format!("{INFO_FILE} is unreadable: {e}"),
            })?;
        if info.content_id.is_empty() {
            // Written before ids: named by its number and a digest of its description (which
            // holds its import time), so that two such generations never share a name.
            let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes());
            let short: String = digest.as_ref()[..6]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            info.content_id = format!("local-{}-{short}", info.number);
        }
        Ok(info)
    }
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

/// Read access to one generation: resources by id, their history, and the search indexes.
///
/// Documents of a type are numbered 0..n in id order; index entries are bitmaps of document
/// numbers (see `search::terms` for their keys).
pub trait ResourceStore: Send + Sync {
    /// The current version of a resource, `None` when there is none with that id.
    fn read(&self, rtype: ResourceType, id: &str) -> Result<Option<StoredResource>, StoreError>;
    /// The past versions of a resource (and its deletion), oldest first.
    fn history(&self, rtype: ResourceType, id: &str) -> Result<Vec<HistoryEntry>, StoreError>;
    /// Visits the past versions of every resource, newest first, from the by-time key
    /// `start` on (see [`history::time_key`]), until `visit` returns false.
    fn scan_history_by_time(
        &self,
        start: &[u8],
        visit: &mut dyn FnMut(HistoryEntry) -> bool,
    ) -> Result<(), StoreError>;
    /// The content of a past version (`None` for a deletion).
    fn past_version(&self, entry: &HistoryEntry) -> Result<Option<StoredResource>, StoreError>;
    fn info(&self) -> &GenerationInfo;
    /// The labels of the codes, as written in [`LABELS_FILE`] (`{}` for a generation imported
    /// before labels were kept).
    fn labels_json(&self) -> &[u8];
    fn document_count(&self, rtype: ResourceType) -> u32;
    /// Id and current version of a document.
    fn document(
        &self,
        rtype: ResourceType,
        doc: u32,
    ) -> Result<Option<(String, StoredResource)>, StoreError>;
    fn document_id(
        &self,
        rtype: ResourceType,
        doc: u32,
    ) -> Result<Option<(String, Record)>, StoreError>;
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
    /// The folded terms of a string parameter, by term number, with where their postings are:
    /// `postings_prefix` starts the keys of those postings, which follow term order (cached
    /// after the first call).
    fn term_dictionary(
        &self,
        rtype: ResourceType,
        param: &str,
        postings_prefix: &[u8],
    ) -> Result<TermDictionary, StoreError>;
    /// Adds the documents of a dictionary term, at `location` (see [`Dictionary::postings`]),
    /// to `union`.
    fn add_postings_at(
        &self,
        location: Location,
        union: &mut PostingsUnion,
    ) -> Result<(), StoreError>;
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
    /// The sort column of a parameter: per document, the rank of its lowest value
    /// (`descending`: its highest) among the parameter's values, `u32::MAX` without one, as
    /// little-endian u32s. Written by the index build; read in place by sorted searches.
    fn sort_ranks(
        &self,
        rtype: ResourceType,
        param: &str,
        descending: bool,
    ) -> Result<Option<&[u8]>, StoreError>;
}

/// Write access to a generation being imported. Writes may come from several threads.
pub trait ResourceWriter: Send + Sync {
    fn write(&self, rtype: ResourceType, id: &str, json: &[u8]) -> Result<(), StoreError>;
    /// Side data kept with an Organization but not part of its FHIR representation
    /// (FINESS coordinates).
    fn write_geolocation(&self, organization_id: &str, json: &[u8]) -> Result<(), StoreError>;
}
