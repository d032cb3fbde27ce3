//! A complete generation, opened for serving: resources by id and by document number, their
//! history, and the raw tables of the search index (which `search::index` decodes).
//!
//! A served generation's files are never written again, so the content and index files are
//! mapped into memory (see [`super::mapped`]): a read is a slice of the mapping, and the
//! kernel's page cache keeps the hot parts.

use std::any::Any;
use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use super::block::BlockTable;
use super::content::ContentReader;
use super::error::StoreError;
use super::format::{
    FORMAT, INDEX_FILE, INFO_FILE, IndexTable, IndexValues, LABELS_FILE, TypeTree,
};
use super::history::{self, HistoryEntry, Kind};
use super::info::GenerationInfo;
use super::mapped::MappedFile;
use super::record::{Location, Record, StoredResource};
use super::tables::{DocumentDirectory, Trees, open_database};
use crate::fhir::ResourceType;
use crate::mapping::codesystem::CodeSystems;

/// What [`Generation::memo`] keeps: one value per type, kind and key, loaded once.
type Memo =
    Mutex<HashMap<(ResourceType, &'static str, String), Arc<OnceLock<Arc<dyn Any + Send + Sync>>>>>;

/// A complete generation, opened for reading.
pub struct Generation {
    path: PathBuf,
    trees: Trees,
    content: ContentReader,
    /// The blocks of the tables, and the values stored whole (see [`super::block`]).
    index: MappedFile,
    /// The data directory's history segments, opened when first read.
    history_dir: PathBuf,
    segments: Mutex<HashMap<u64, Arc<File>>>,
    info: GenerationInfo,
    /// The content of [`LABELS_FILE`].
    labels: Vec<u8>,
    /// The code systems built from it, when first asked for.
    code_systems: OnceLock<Arc<CodeSystems>>,
    document_counts: Vec<(ResourceType, u32)>,
    directories: Vec<(ResourceType, Option<DocumentDirectory>)>,
    /// Values decoded from the index once and kept while the generation is open (the search
    /// index's dictionaries and forward references).
    memo: Memo,
    _db: sled::Db,
    /// Shared lock telling imports this generation is in use (see `DataDir::hold_generation`).
    _in_use: Option<File>,
}

/// The labels file of a generation; `{}` for one imported before labels were kept.
fn read_labels(path: &Path) -> Result<Vec<u8>, StoreError> {
    match std::fs::read(path.join(LABELS_FILE)) {
        Ok(bytes) => Ok(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(b"{}".to_vec()),
        Err(e) => Err(StoreError::io("cannot read", path.join(LABELS_FILE))(e)),
    }
}

impl Generation {
    /// Opens the complete generation in `path`; its history segments are in `history_dir`.
    /// `in_use` is held as long as it is open.
    pub fn open(
        path: &Path,
        history_dir: &Path,
        cache_bytes: u64,
        in_use: Option<File>,
    ) -> Result<Generation, StoreError> {
        if !path.join(INFO_FILE).is_file() {
            return Err(StoreError::Damaged {
                path: path.to_path_buf(),
                detail: format!("{INFO_FILE} is missing: this generation was never completed"),
            });
        }
        let info = GenerationInfo::read(path)?;
        if info.format != FORMAT {
            return Err(StoreError::OldFormat(path.to_path_buf()));
        }
        let labels = read_labels(path)?;
        let db = open_database(path, cache_bytes)?;
        let content = ContentReader::open(path)?;
        let index = MappedFile::open(&path.join(INDEX_FILE))?;
        let trees = Trees::open(&db, path)?;
        let document_counts = ResourceType::ALL
            .iter()
            .map(|t| (*t, info.resources.get(*t) as u32))
            .collect();
        let directories = ResourceType::ALL
            .iter()
            .map(|t| {
                let tree = trees.of(*t, TypeTree::Documents);
                Ok((*t, DocumentDirectory::load(tree, path)?))
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(Generation {
            path: path.to_path_buf(),
            trees,
            content,
            index,
            history_dir: history_dir.to_path_buf(),
            segments: Mutex::new(HashMap::new()),
            info,
            labels,
            code_systems: OnceLock::new(),
            document_counts,
            directories,
            memo: Mutex::new(HashMap::new()),
            _db: db,
            _in_use: in_use,
        })
    }

    /// A `Damaged` error naming this generation.
    pub fn damaged(&self, detail: String) -> StoreError {
        StoreError::Damaged {
            path: self.path.clone(),
            detail,
        }
    }

    /// The generation's directory (named in errors).
    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn info(&self) -> &GenerationInfo {
        &self.info
    }

    /// The labels of the codes, as written in [`LABELS_FILE`] (`{}` for a generation imported
    /// before labels were kept).
    pub fn labels_json(&self) -> &[u8] {
        &self.labels
    }

    /// The CodeSystem resources of the codes' labels (see [`crate::mapping::codesystem`]),
    /// built once per opened generation.
    pub fn code_systems(&self) -> Result<Arc<CodeSystems>, StoreError> {
        if let Some(systems) = self.code_systems.get() {
            return Ok(systems.clone());
        }
        let systems = CodeSystems::from_labels_json(&self.labels)
            .map_err(|e| self.damaged(format!("{LABELS_FILE}: {e}")))?;
        Ok(self.code_systems.get_or_init(|| Arc::new(systems)).clone())
    }

    // -----------------------------------------------------------------------------------------
    // Documents
    // -----------------------------------------------------------------------------------------

    /// The current version of a resource, `None` when there is none with that id.
    pub fn read(
        &self,
        rtype: ResourceType,
        id: &str,
    ) -> Result<Option<StoredResource>, StoreError> {
        let Some(value) = self.table(rtype, TypeTree::Ids).get(id.as_bytes())? else {
            return Ok(None);
        };
        let record = self.record(value, &format_args!("{rtype}/{id}"))?;
        self.stored(record).map(Some)
    }

    /// How many current resources (deactivated ones included) a type has: its documents are
    /// numbered `0..count` in id order.
    pub fn document_count(&self, rtype: ResourceType) -> u32 {
        self.document_counts
            .iter()
            .find(|(t, _)| *t == rtype)
            .map_or(0, |(_, n)| *n)
    }

    /// Id and current version of a document.
    pub fn document(
        &self,
        rtype: ResourceType,
        doc: u32,
    ) -> Result<Option<(String, StoredResource)>, StoreError> {
        let Some((id, record)) = self.document_id(rtype, doc)? else {
            return Ok(None);
        };
        Ok(Some((id, self.stored(record)?)))
    }

    /// Id and record of a document (its content is not read).
    pub fn document_id(
        &self,
        rtype: ResourceType,
        doc: u32,
    ) -> Result<Option<(String, Record)>, StoreError> {
        let Some(directory) = self.directory(rtype) else {
            return Ok(None);
        };
        let Some(value) = directory.entry(&self.index, doc)? else {
            return Ok(None);
        };
        let record = self.record(value, &format_args!("document {rtype} #{doc}"))?;
        let id = String::from_utf8_lossy(&value[Record::ENCODED_LEN..]).into_owned();
        Ok(Some((id, record)))
    }

    /// The number of the first document whose id sorts after `id` (keyset paging).
    pub fn first_document_after(&self, rtype: ResourceType, id: &str) -> Result<u32, StoreError> {
        // Document numbers follow id order: binary search over them.
        let (mut low, mut high) = (0u32, self.document_count(rtype));
        while low < high {
            let middle = low + (high - low) / 2;
            let (middle_id, _) = self
                .document_id(rtype, middle)?
                .ok_or_else(|| self.damaged(format!("document {rtype} #{middle} is missing")))?;
            if middle_id.as_str() <= id {
                low = middle + 1;
            } else {
                high = middle;
            }
        }
        Ok(low)
    }

    /// Stored FINESS coordinates of an Organization.
    pub fn geolocation(&self, organization_id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let value = self
            .trees
            .geolocation
            .get(organization_id)
            .map_err(StoreError::sled(&self.path))?;
        Ok(value.map(|v| v.to_vec()))
    }

    fn directory(&self, rtype: ResourceType) -> Option<DocumentDirectory> {
        self.directories
            .iter()
            .find(|(t, _)| *t == rtype)
            .and_then(|(_, directory)| *directory)
    }

    fn stored(&self, record: Record) -> Result<StoredResource, StoreError> {
        Ok(StoredResource {
            content: self.content.read(record.location)?,
            splice: record.splice,
            version: record.version,
        })
    }

    fn record(&self, bytes: &[u8], what: &dyn std::fmt::Display) -> Result<Record, StoreError> {
        Record::decode(bytes).ok_or_else(|| self.damaged(format!("bad record for {what}")))
    }

    fn table(&self, rtype: ResourceType, tree: TypeTree) -> BlockTable<'_> {
        BlockTable {
            tree: self.trees.of(rtype, tree),
            index: &self.index,
        }
    }

    // -----------------------------------------------------------------------------------------
    // History
    // -----------------------------------------------------------------------------------------

    /// The past versions of a resource (and its deletion), oldest first.
    pub fn history(&self, rtype: ResourceType, id: &str) -> Result<Vec<HistoryEntry>, StoreError> {
        let mut entries = Vec::new();
        let mut failure = None;
        let prefix = history::resource_prefix(rtype, id);
        self.history_table(&self.trees.history)
            .scan_prefix(&prefix, &mut |key, value| {
                match HistoryEntry::from_resource_key(key, value) {
                    Some(entry) => entries.push(entry),
                    None => {
                        failure = Some(self.damaged(format!("bad history entry of {rtype}/{id}")))
                    }
                }
                failure.is_none()
            })?;
        failure.map_or(Ok(entries), Err)
    }

    /// Visits the past versions of every resource, newest first, from the by-time key `start`
    /// on (see [`history::time_key`]), until `visit` returns false.
    pub fn scan_history_by_time(
        &self,
        start: &[u8],
        visit: &mut dyn FnMut(HistoryEntry) -> bool,
    ) -> Result<(), StoreError> {
        let mut failure = None;
        self.history_table(&self.trees.history_time)
            .scan_from(
                start,
                &mut |key, value| match HistoryEntry::from_time_key(key, value) {
                    Some(entry) => visit(entry),
                    None => {
                        failure = Some(self.damaged("bad history time entry".into()));
                        false
                    }
                },
            )?;
        failure.map_or(Ok(()), Err)
    }

    /// The content of a past version (`None` for a deletion).
    pub fn past_version(&self, entry: &HistoryEntry) -> Result<Option<StoredResource>, StoreError> {
        let Kind::Version {
            segment,
            location,
            splice,
        } = entry.kind
        else {
            return Ok(None);
        };
        let path = super::format::segment_path(&self.history_dir, segment);
        let content = history::read_segment(&*self.segment(segment)?, location, &path)?;
        Ok(Some(StoredResource {
            content,
            splice,
            version: entry.version,
        }))
    }

    fn history_table<'a>(&'a self, tree: &'a sled::Tree) -> BlockTable<'a> {
        BlockTable {
            tree,
            index: &self.index,
        }
    }

    fn segment(&self, number: u64) -> Result<Arc<File>, StoreError> {
        let mut segments = self.segments.lock().expect("segment files");
        if let Some(file) = segments.get(&number) {
            return Ok(file.clone());
        }
        let path = super::format::segment_path(&self.history_dir, number);
        let file = Arc::new(File::open(&path).map_err(StoreError::io("cannot open", &path))?);
        segments.insert(number, file.clone());
        Ok(file)
    }

    // -----------------------------------------------------------------------------------------
    // The search index's raw tables
    // -----------------------------------------------------------------------------------------

    /// A sorted table of the search index, for reading.
    pub fn index_table(&self, rtype: ResourceType, table: IndexTable) -> BlockTable<'_> {
        self.table(rtype, table.tree())
    }

    /// A value the search index stored whole under `key`, read in place from the index file.
    pub fn index_value(
        &self,
        rtype: ResourceType,
        values: IndexValues,
        key: &[u8],
    ) -> Result<Option<&[u8]>, StoreError> {
        let tree = self.trees.of(rtype, values.tree());
        let Some(location) = tree.get(key).map_err(StoreError::sled(&self.path))? else {
            return Ok(None);
        };
        let location = Location::decode(&location).ok_or_else(|| {
            self.damaged(format!(
                "bad location under `{}` in {}",
                String::from_utf8_lossy(key),
                values.tree().name(rtype)
            ))
        })?;
        self.index.slice(location).map(Some)
    }

    /// Where bytes read from an index table lie in the index file (to read them again later
    /// without a lookup, see [`Generation::index_bytes`]).
    pub fn index_location(&self, bytes: &[u8]) -> Location {
        self.index.location_of(bytes)
    }

    /// The bytes at `location` of the index file.
    pub fn index_bytes(&self, location: Location) -> Result<&[u8], StoreError> {
        self.index.slice(location)
    }

    /// The value `load` makes for `(rtype, kind, key)`, made once and kept while the
    /// generation is open (values decoded from the index: dictionaries, forward references).
    /// Two threads asking at once may both load it; one value is kept. A failed load is not.
    pub fn memo<T: Any + Send + Sync>(
        &self,
        rtype: ResourceType,
        kind: &'static str,
        key: &str,
        load: impl FnOnce() -> Result<T, StoreError>,
    ) -> Result<Arc<T>, StoreError> {
        let cell = self
            .memo
            .lock()
            .expect("memo")
            .entry((rtype, kind, key.to_owned()))
            .or_default()
            .clone();
        let value = match cell.get() {
            Some(value) => value.clone(),
            None => {
                let loaded: Arc<dyn Any + Send + Sync> = Arc::new(load()?);
                cell.get_or_init(|| loaded).clone()
            }
        };
        Ok(value
            .downcast::<T>()
            .unwrap_or_else(|_| panic!("one type per memo kind ({kind})")))
    }
}
