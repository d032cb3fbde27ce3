//! The sled implementation of the store traits: one sled database per generation.
//!
//! Key-value separation: the content bytes of the resources (their JSON without version, see
//! [`super::record`]) are compressed and appended to the generation's content file (see
//! [`super::content`]), and sled maps each id to its [`Record`]: where the bytes are, and the
//! version.
//! Measured on the national-size import, sled storing the ~1.3 KB values itself spent most of
//! the import copying and rewriting tree nodes that held them (495 s, 14 GB on disk); with only
//! 12-byte locations in its nodes, sled's work shrinks to indexes. The data file is written
//! sequentially, synced before the generation is described, and never modified afterwards, so
//! it needs none of the care sled's log does. Bytes are served exactly as stored.
//!
//! Per resource type, trees named `<Type>` plus a suffix, all written once in key order and
//! packed into blocks (see [`super::block`]):
//!
//! | tree | key | value |
//! |---|---|---|
//! | `<Type>` | id | [`Record`] |
//! | `<Type>/docs` | `entries`, `offsets` | locations of the document directory (see [`DocumentDirectory`]) |
//! | `<Type>/postings` | see `search::terms` | roaring bitmap of document numbers |
//! | `<Type>/terms` | param 0x00 term number (u32 BE) | folded term (the `:contains` dictionary) |
//! | `<Type>/trigrams` | param 0x00 trigram | roaring bitmap of term numbers |
//! | `<Type>/forward` | reference param | location of its [`Forward`] in the index file |
//! | `<Type>/sort` | param 0x00 `a` or `d` | location of its sort column (u32 LE per document) |
//!
//! and, for the whole generation, the history index (see [`super::history`]):
//!
//! | tree | key | value |
//! |---|---|---|
//! | `history` | type, id, 0, version | times, segment and location |
//! | `history/time` | time (newest first), type, id, 0, version (newest first) | the same |

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use roaring::{MultiOps, RoaringBitmap};

use super::block::{self, BlockTable, BlockWriter, INDEX_FILE, IndexFile};
use super::content::{CONTENT_FILE, Codec, ContentReader, TRAINING_SAMPLES};
use super::forward::Forward;
use super::history::{self, HistoryEntry, Kind};
use super::mapped::MappedFile;
use super::record::{ContentHash, Location, Record, StoredResource, splice_point};
use super::{GenerationInfo, INFO_FILE, ResourceStore, ResourceWriter, StoreError};
use crate::fhir::ResourceType;

const GEOLOCATION_TREE: &str = "geolocation";
const HISTORY_TREE: &str = "history";
const HISTORY_TIME_TREE: &str = "history/time";

fn open_db(path: &Path, cache_bytes: u64) -> Result<sled::Db, StoreError> {
    sled::Config::new()
        .path(path.join("db"))
        .cache_capacity(cache_bytes)
        .mode(sled::Mode::HighThroughput)
        .open()
        .map_err(|source| StoreError::Sled {
            path: path.to_path_buf(),
            source,
        })
}

fn sled_error(path: &Path) -> impl Fn(sled::Error) -> StoreError + '_ {
    move |source| StoreError::Sled {
        path: path.to_path_buf(),
        source,
    }
}

/// The trees of one resource type.
struct TypeTrees {
    ids: sled::Tree,
    docs: sled::Tree,
    postings: sled::Tree,
    terms: sled::Tree,
    trigrams: sled::Tree,
    forward: sled::Tree,
    sort: sled::Tree,
}

struct Trees {
    by_type: Vec<(ResourceType, TypeTrees)>,
    geolocation: sled::Tree,
    history: sled::Tree,
    history_time: sled::Tree,
}

impl Trees {
    fn open(db: &sled::Db, path: &Path) -> Result<Trees, StoreError> {
        let tree = |name: String| db.open_tree(name).map_err(sled_error(path));
        let mut by_type = Vec::new();
        for rtype in ResourceType::ALL {
            let name = rtype.as_str();
            by_type.push((
                rtype,
                TypeTrees {
                    ids: tree(name.to_owned())?,
                    docs: tree(format!("{name}/docs"))?,
                    postings: tree(format!("{name}/postings"))?,
                    terms: tree(format!("{name}/terms"))?,
                    trigrams: tree(format!("{name}/trigrams"))?,
                    forward: tree(format!("{name}/forward"))?,
                    sort: tree(format!("{name}/sort"))?,
                },
            ));
        }
        Ok(Trees {
            by_type,
            geolocation: tree(GEOLOCATION_TREE.to_owned())?,
            history: tree(HISTORY_TREE.to_owned())?,
            history_time: tree(HISTORY_TIME_TREE.to_owned())?,
        })
    }

    fn of(&self, rtype: ResourceType) -> &TypeTrees {
        &self
            .by_type
            .iter()
            .find(|(t, _)| *t == rtype)
            .expect("every type has trees")
            .1
    }
}

fn param_key(param: &str, rest: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(param.len() + 1 + rest.len());
    key.extend_from_slice(param.as_bytes());
    key.push(0);
    key.extend_from_slice(rest);
    key
}

/// Postings of up to this many documents are stored as a list of numbers; larger ones as a
/// serialized roaring bitmap. Most terms (identifiers, ids, references) name one document,
/// which a roaring bitmap takes 18 bytes to say and a list 2 to 5.
const SHORT_POSTINGS: u64 = 4;
/// First byte of a serialized roaring bitmap (lists start with their length).
const ROARING: u8 = 0xff;

fn decode_bitmap(path: &Path, bytes: &[u8]) -> Result<RoaringBitmap, StoreError> {
    let mut short = Vec::new();
    match decode_postings(path, bytes, &mut short)? {
        Some(bitmap) => Ok(bitmap),
        None => RoaringBitmap::from_sorted_iter(short).map_err(|_| StoreError::Damaged {
            path: path.to_path_buf(),
            detail: "unreadable index entry: a short posting list does not ascend".into(),
        }),
    }
}

/// Decodes stored postings: a short list is appended to `short` (None), a roaring bitmap
/// returned.
fn decode_postings(
    path: &Path,
    bytes: &[u8],
    short: &mut Vec<u32>,
) -> Result<Option<RoaringBitmap>, StoreError> {
    let damaged = |detail: String| StoreError::Damaged {
        path: path.to_path_buf(),
        detail: format!("unreadable index entry: {detail}"),
    };
    match bytes.first() {
        Some(&ROARING) => RoaringBitmap::deserialize_from(&bytes[1..])
            .map(Some)
            .map_err(|e| damaged(e.to_string())),
        Some(&count) if u64::from(count) <= SHORT_POSTINGS => {
            let mut at = 1;
            let mut previous = 0u64;
            for _ in 0..count {
                let delta = block::get_varint(bytes, &mut at)
                    .ok_or_else(|| damaged("a short posting list is cut".into()))?;
                previous += delta;
                short.push(
                    u32::try_from(previous).map_err(|_| damaged("a document number".into()))?,
                );
            }
            Ok(None)
        }
        _ => Err(damaged("unknown posting encoding".into())),
    }
}

/// The union of many postings, as a `:contains` needle gathers them: short lists are collected
/// as numbers and become one bitmap at the end, instead of a bitmap each (building and merging
/// those was two fifths of a `:contains` search).
#[derive(Default)]
pub struct PostingsUnion {
    documents: Vec<u32>,
    bitmaps: Vec<RoaringBitmap>,
}

impl PostingsUnion {
    pub fn finish(mut self) -> RoaringBitmap {
        self.documents.sort_unstable();
        self.documents.dedup();
        self.bitmaps.push(
            RoaringBitmap::from_sorted_iter(self.documents).expect("sorted and deduplicated"),
        );
        self.bitmaps.union()
    }
}

fn encode_bitmap(bitmap: &RoaringBitmap) -> Vec<u8> {
    if bitmap.len() <= SHORT_POSTINGS {
        let mut bytes = vec![bitmap.len() as u8];
        let mut previous = 0u64;
        for document in bitmap {
            block::put_varint(&mut bytes, u64::from(document) - previous);
            previous = u64::from(document);
        }
        return bytes;
    }
    let mut bytes = Vec::with_capacity(1 + bitmap.serialized_size());
    bytes.push(ROARING);
    bitmap
        .serialize_into(&mut bytes)
        .expect("writing to a Vec cannot fail");
    bytes
}

/// The `:contains` dictionary of a parameter: its folded terms, by term number, and where each
/// one's postings are in the index file. A needle matches hundreds of terms; finding each
/// one's postings by key was two thirds of a `:contains` search.
pub struct Dictionary {
    pub terms: Vec<String>,
    pub postings: Vec<Location>,
}

pub type TermDictionary = Arc<Dictionary>;

/// Each type's documents by number: the [`Record`] and id of document `n` is the `n`th entry
/// of a blob in the index file, found through an array of offsets. Pages, includes and keyset
/// paging read documents by number; a block lookup per document (a sled range step and a scan)
/// was a fifth of a search page.
#[derive(Clone, Copy)]
pub struct DocumentDirectory {
    entries: Location,
    /// `count + 1` little-endian u32 offsets into `entries`.
    offsets: Location,
}

impl DocumentDirectory {
    const ENTRIES: &[u8] = b"entries";
    const OFFSETS: &[u8] = b"offsets";

    /// The directory stored in `tree`, if the import wrote one (it writes one per type).
    fn load(tree: &sled::Tree, path: &Path) -> Result<Option<DocumentDirectory>, StoreError> {
        let location = |key: &[u8]| -> Result<Option<Location>, StoreError> {
            match tree.get(key).map_err(sled_error(path))? {
                None => Ok(None),
                Some(bytes) => {
                    Location::decode(&bytes)
                        .map(Some)
                        .ok_or_else(|| StoreError::Damaged {
                            path: path.to_path_buf(),
                            detail: "a document directory location is damaged".into(),
                        })
                }
            }
        };
        Ok(match (location(Self::ENTRIES)?, location(Self::OFFSETS)?) {
            (Some(entries), Some(offsets)) => Some(DocumentDirectory { entries, offsets }),
            _ => None,
        })
    }

    fn entry<'a>(&self, index: &'a MappedFile, doc: u32) -> Result<Option<&'a [u8]>, StoreError> {
        let offsets = index.slice(self.offsets)?;
        let at = doc as usize * 4;
        let (Some(start), Some(end)) = (offsets.get(at..at + 4), offsets.get(at + 4..at + 8))
        else {
            return Ok(None);
        };
        let start = u32::from_le_bytes(start.try_into().expect("4 bytes"));
        let end = u32::from_le_bytes(end.try_into().expect("4 bytes"));
        let entries = index.slice(self.entries)?;
        Ok(Some(entries.get(start as usize..end as usize).ok_or_else(
            || StoreError::Damaged {
                path: index.path().to_path_buf(),
                detail: format!("document #{doc} lies outside its directory"),
            },
        )?))
    }
}

/// The labels file of a generation; `{}` for one imported before labels were kept.
fn read_labels(path: &Path) -> Result<Vec<u8>, StoreError> {
    match std::fs::read(path.join(super::LABELS_FILE)) {
        Ok(bytes) => Ok(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(b"{}".to_vec()),
        Err(e) => Err(StoreError::io("cannot read", path.join(super::LABELS_FILE))(e)),
    }
}

/// A complete generation, opened for reading.
pub struct SledGeneration {
    path: PathBuf,
    trees: Trees,
    content: ContentReader,
    /// The blocks of the index tables (see [`block`]).
    index: MappedFile,
    /// The data directory's history segments, opened when first read.
    history_dir: PathBuf,
    segments: Mutex<HashMap<u64, Arc<File>>>,
    info: GenerationInfo,
    /// The content of [`super::LABELS_FILE`].
    labels: Vec<u8>,
    document_counts: Vec<(ResourceType, u32)>,
    directories: Vec<(ResourceType, Option<DocumentDirectory>)>,
    dictionaries: Mutex<HashMap<(ResourceType, String), TermDictionary>>,
    forwards: Mutex<HashMap<(ResourceType, String), Arc<OnceLock<Option<Arc<Forward>>>>>>,
    _db: sled::Db,
    /// Shared lock telling imports this generation is in use (see `DataDir::hold_generation`).
    _in_use: Option<File>,
}

impl SledGeneration {
    /// Opens a generation written by [`SledWriter`]; its history segments are in
    /// `history_dir`. `in_use` is held as long as it is open.
    pub fn open(
        path: &Path,
        history_dir: &Path,
        cache_bytes: u64,
        in_use: Option<File>,
    ) -> Result<SledGeneration, StoreError> {
        if !path.join(INFO_FILE).is_file() {
            return Err(StoreError::Damaged {
                path: path.to_path_buf(),
                detail: format!("{INFO_FILE} is missing: this generation was never completed"),
            });
        }
        let info = GenerationInfo::read(path)?;
        if info.format != super::FORMAT {
            return Err(StoreError::OldFormat(path.to_path_buf()));
        }
        let labels = read_labels(path)?;
        let db = open_db(path, cache_bytes)?;
        let content = ContentReader::open(path)?;
        let index = MappedFile::open(&path.join(INDEX_FILE))?;
        let trees = Trees::open(&db, path)?;
        let document_counts = ResourceType::ALL
            .iter()
            .map(|t| (*t, info.resources.get(*t) as u32))
            .collect();
        let directories = ResourceType::ALL
            .iter()
            .map(|t| Ok((*t, DocumentDirectory::load(&trees.of(*t).docs, path)?)))
            .collect::<Result<_, StoreError>>()?;
        Ok(SledGeneration {
            path: path.to_path_buf(),
            trees,
            content,
            index,
            history_dir: history_dir.to_path_buf(),
            segments: Mutex::new(HashMap::new()),
            info,
            labels,
            document_counts,
            directories,
            dictionaries: Mutex::new(HashMap::new()),
            forwards: Mutex::new(HashMap::new()),
            _db: db,
            _in_use: in_use,
        })
    }

    /// Stored FINESS coordinates of an Organization.
    pub fn geolocation(&self, organization_id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let value = self
            .trees
            .geolocation
            .get(organization_id)
            .map_err(sled_error(&self.path))?;
        Ok(value.map(|v| v.to_vec()))
    }

    fn damaged(&self, detail: String) -> StoreError {
        StoreError::Damaged {
            path: self.path.clone(),
            detail,
        }
    }

    /// A table of this generation's index.
    /// The document directory of `rtype` (loaded at open).
    fn directory(&self, rtype: ResourceType) -> Option<DocumentDirectory> {
        self.directories
            .iter()
            .find(|(t, _)| *t == rtype)
            .and_then(|(_, directory)| *directory)
    }

    fn table<'a>(&'a self, tree: &'a sled::Tree) -> BlockTable<'a> {
        BlockTable {
            tree,
            index: &self.index,
        }
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

    fn segment(&self, number: u64) -> Result<Arc<File>, StoreError> {
        let mut segments = self.segments.lock().expect("segment files");
        if let Some(file) = segments.get(&number) {
            return Ok(file.clone());
        }
        let path = history::segment_path(&self.history_dir, number);
        let file = Arc::new(File::open(&path).map_err(StoreError::io("cannot open", &path))?);
        segments.insert(number, file.clone());
        Ok(file)
    }
}

impl ResourceStore for SledGeneration {
    fn read(&self, rtype: ResourceType, id: &str) -> Result<Option<StoredResource>, StoreError> {
        let Some(value) = self.table(&self.trees.of(rtype).ids).get(id.as_bytes())? else {
            return Ok(None);
        };
        let record = self.record(&value, &format_args!("{rtype}/{id}"))?;
        self.stored(record).map(Some)
    }

    fn history(&self, rtype: ResourceType, id: &str) -> Result<Vec<HistoryEntry>, StoreError> {
        let mut entries = Vec::new();
        let mut failure = None;
        let prefix = history::resource_prefix(rtype, id);
        self.table(&self.trees.history)
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

    fn scan_history_by_time(
        &self,
        start: &[u8],
        visit: &mut dyn FnMut(HistoryEntry) -> bool,
    ) -> Result<(), StoreError> {
        let mut failure = None;
        self.table(&self.trees.history_time)
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

    fn past_version(&self, entry: &HistoryEntry) -> Result<Option<StoredResource>, StoreError> {
        let Kind::Version {
            segment,
            location,
            splice,
        } = entry.kind
        else {
            return Ok(None);
        };
        let path = history::segment_path(&self.history_dir, segment);
        let content = history::read_segment(&*self.segment(segment)?, location, &path)?;
        Ok(Some(StoredResource {
            content,
            splice,
            version: entry.version,
        }))
    }

    fn labels_json(&self) -> &[u8] {
        &self.labels
    }

    fn info(&self) -> &GenerationInfo {
        &self.info
    }

    fn document_count(&self, rtype: ResourceType) -> u32 {
        self.document_counts
            .iter()
            .find(|(t, _)| *t == rtype)
            .map_or(0, |(_, n)| *n)
    }

    fn document(
        &self,
        rtype: ResourceType,
        doc: u32,
    ) -> Result<Option<(String, StoredResource)>, StoreError> {
        let Some((id, record)) = self.document_id(rtype, doc)? else {
            return Ok(None);
        };
        Ok(Some((id, self.stored(record)?)))
    }

    fn document_id(
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

    fn first_document_after(&self, rtype: ResourceType, id: &str) -> Result<u32, StoreError> {
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

    fn postings(
        &self,
        rtype: ResourceType,
        key: &[u8],
    ) -> Result<Option<RoaringBitmap>, StoreError> {
        match self.table(&self.trees.of(rtype).postings).get(key)? {
            Some(bytes) => decode_bitmap(&self.path, &bytes).map(Some),
            None => Ok(None),
        }
    }

    fn scan_postings(
        &self,
        rtype: ResourceType,
        prefix: &[u8],
        visit: &mut dyn FnMut(&[u8], RoaringBitmap) -> bool,
    ) -> Result<(), StoreError> {
        let mut failure = None;
        self.table(&self.trees.of(rtype).postings)
            .scan_prefix(
                prefix,
                &mut |key, bytes| match decode_bitmap(&self.path, bytes) {
                    Ok(bitmap) => visit(key, bitmap),
                    Err(e) => {
                        failure = Some(e);
                        false
                    }
                },
            )?;
        failure.map_or(Ok(()), Err)
    }

    fn term_dictionary(
        &self,
        rtype: ResourceType,
        param: &str,
        postings_prefix: &[u8],
    ) -> Result<TermDictionary, StoreError> {
        let key = (rtype, param.to_owned());
        if let Some(found) = self
            .dictionaries
            .lock()
            .expect("dictionary cache")
            .get(&key)
        {
            return Ok(found.clone());
        }
        let mut terms = Vec::new();
        self.table(&self.trees.of(rtype).terms).scan_prefix(
            &param_key(param, &[]),
            &mut |_, term| {
                terms.push(String::from_utf8_lossy(term).into_owned());
                true
            },
        )?;
        let mut postings = Vec::with_capacity(terms.len());
        self.table(&self.trees.of(rtype).postings).scan_prefix(
            postings_prefix,
            &mut |_, value| {
                postings.push(self.index.location_of(value));
                true
            },
        )?;
        if postings.len() != terms.len() {
            return Err(self.damaged(format!(
                "the dictionary of {rtype}.{param} has {} terms but {} postings",
                terms.len(),
                postings.len()
            )));
        }
        let dictionary = Arc::new(Dictionary { terms, postings });
        self.dictionaries
            .lock()
            .expect("dictionary cache")
            .insert(key, dictionary.clone());
        Ok(dictionary)
    }

    fn add_postings_at(
        &self,
        location: Location,
        union: &mut PostingsUnion,
    ) -> Result<(), StoreError> {
        let bytes = self.index.slice(location)?;
        if let Some(bitmap) = decode_postings(&self.path, bytes, &mut union.documents)? {
            union.bitmaps.push(bitmap);
        }
        Ok(())
    }

    fn trigram(
        &self,
        rtype: ResourceType,
        param: &str,
        trigram: &str,
    ) -> Result<Option<RoaringBitmap>, StoreError> {
        let key = param_key(param, trigram.as_bytes());
        match self.table(&self.trees.of(rtype).trigrams).get(&key)? {
            Some(bytes) => decode_bitmap(&self.path, &bytes).map(Some),
            None => Ok(None),
        }
    }

    fn forward(
        &self,
        rtype: ResourceType,
        param: &str,
    ) -> Result<Option<Arc<Forward>>, StoreError> {
        let cell = self
            .forwards
            .lock()
            .expect("forward cache")
            .entry((rtype, param.to_owned()))
            .or_default()
            .clone();
        if let Some(found) = cell.get() {
            return Ok(found.clone());
        }
        let loaded = match self
            .trees
            .of(rtype)
            .forward
            .get(param)
            .map_err(sled_error(&self.path))?
        {
            Some(location) => {
                let location = Location::decode(&location).ok_or_else(|| {
                    self.damaged(format!("bad location of the forward index {rtype}.{param}"))
                })?;
                let bytes = self.index.slice(location)?;
                Some(Arc::new(Forward::decode(bytes).ok_or_else(|| {
                    self.damaged(format!("bad forward index {rtype}.{param}"))
                })?))
            }
            None => None,
        };
        Ok(cell.get_or_init(|| loaded).clone())
    }

    fn sort_ranks(
        &self,
        rtype: ResourceType,
        param: &str,
        descending: bool,
    ) -> Result<Option<&[u8]>, StoreError> {
        let Some(location) = self
            .trees
            .of(rtype)
            .sort
            .get(sort_key(param, descending))
            .map_err(sled_error(&self.path))?
        else {
            return Ok(None);
        };
        let location = Location::decode(&location).ok_or_else(|| {
            self.damaged(format!("bad location of the sort column {rtype}.{param}"))
        })?;
        self.index.slice(location).map(Some)
    }
}

fn sort_key(param: &str, descending: bool) -> Vec<u8> {
    param_key(param, if descending { b"d" } else { b"a" })
}

/// A generation being written by an import.
pub struct SledWriter {
    path: PathBuf,
    db: sled::Db,
    trees: Trees,
    /// The blocks of the index tables.
    index: IndexFile,
    /// The content file and the offset its next append lands at.
    data: Mutex<(BufWriter<File>, u64)>,
    /// Set once the dictionary is trained on the first resources; until then they wait in
    /// `pending`.
    codec: OnceLock<Arc<Codec>>,
    pending: Mutex<Vec<Pending>>,
    /// A reader of the content file, for reconciling and indexing once every resource is
    /// written.
    reader: OnceLock<ContentReader>,
    /// The resources written, per type (in [`ResourceType::ALL`] order), until
    /// [`SledWriter::documents`] sorts them.
    written: Vec<Mutex<Vec<Written>>>,
}

/// A resource written before the dictionary was trained: kept whole until it is.
struct Pending {
    rtype: ResourceType,
    id: String,
    splice: u16,
    hash: ContentHash,
    content: Vec<u8>,
}

/// A resource written by the mapping, before its version is decided.
#[derive(Debug, Clone)]
pub struct Written {
    pub id: String,
    pub location: Location,
    pub splice: u16,
    pub content: ContentHash,
}

impl SledWriter {
    pub fn create(path: &Path, cache_bytes: u64) -> Result<SledWriter, StoreError> {
        let db = open_db(path, cache_bytes)?;
        let data_path = path.join(CONTENT_FILE);
        let data = File::create(&data_path).map_err(StoreError::io("cannot create", &data_path))?;
        Ok(SledWriter {
            path: path.to_path_buf(),
            trees: Trees::open(&db, path)?,
            index: IndexFile::create(path)?,
            data: Mutex::new((BufWriter::with_capacity(1 << 20, data), 0)),
            codec: OnceLock::new(),
            pending: Mutex::new(Vec::new()),
            reader: OnceLock::new(),
            written: ResourceType::ALL
                .iter()
                .map(|_| Mutex::new(Vec::new()))
                .collect(),
            db,
        })
    }

    fn data_path(&self) -> PathBuf {
        self.path.join(CONTENT_FILE)
    }

    fn written(&self, rtype: ResourceType) -> &Mutex<Vec<Written>> {
        let index = ResourceType::ALL
            .iter()
            .position(|t| *t == rtype)
            .expect("a served type");
        &self.written[index]
    }

    /// Every resource written for a type, in id order; when an id was written twice, the last
    /// write wins. Called once the mapping is done: resources still waiting for the dictionary
    /// are written first.
    pub fn documents(&self, rtype: ResourceType) -> Result<Vec<Written>, StoreError> {
        self.codec()?;
        let mut written = std::mem::take(&mut *self.written(rtype).lock().expect("written ids"));
        // Stable sort keeps write order among equal ids; keep the last of each run.
        written.sort_by(|a, b| a.id.cmp(&b.id));
        let mut out: Vec<Written> = Vec::with_capacity(written.len());
        for entry in written {
            match out.last_mut() {
                Some(last) if last.id == entry.id => *last = entry,
                _ => out.push(entry),
            }
        }
        Ok(out)
    }

    /// The codec, trained now on whatever was written if the mapping wrote fewer resources
    /// than the training sample.
    fn codec(&self) -> Result<&Arc<Codec>, StoreError> {
        if let Some(codec) = self.codec.get() {
            return Ok(codec);
        }
        let mut pending = self.pending.lock().expect("pending resources");
        self.train(&mut pending)?;
        Ok(self.codec.get().expect("trained"))
    }

    /// Trains the dictionary on the pending resources, then writes them.
    fn train(&self, pending: &mut Vec<Pending>) -> Result<(), StoreError> {
        if self.codec.get().is_some() {
            return Ok(());
        }
        let samples: Vec<Vec<u8>> = pending.iter().map(|p| p.content.clone()).collect();
        let codec = self.codec.get_or_init(|| Arc::new(Codec::train(&samples)));
        for p in pending.drain(..) {
            let location = self.append_frame(&codec.compress(&p.content))?;
            self.register(p.rtype, p.id, location, p.splice, p.hash);
        }
        Ok(())
    }

    fn register(
        &self,
        rtype: ResourceType,
        id: String,
        location: Location,
        splice: u16,
        content: ContentHash,
    ) {
        self.written(rtype)
            .lock()
            .expect("written ids")
            .push(Written {
                id,
                location,
                splice,
                content,
            });
    }

    /// Appends content bytes to the content file without registering a resource (records the
    /// store writes itself: deactivated ones).
    pub fn append(&self, content: &[u8]) -> Result<Location, StoreError> {
        let frame = self.codec()?.compress(content);
        self.append_frame(&frame)
    }

    fn append_frame(&self, frame: &[u8]) -> Result<Location, StoreError> {
        let len = u32::try_from(frame.len()).expect("a resource is smaller than 4 GB");
        let mut data = self.data.lock().expect("data file lock");
        let offset = data.1;
        data.0
            .write_all(frame)
            .map_err(StoreError::io("cannot write", self.data_path()))?;
        data.1 += u64::from(len);
        Ok(Location { offset, len })
    }

    /// Reads back a written resource (flushing the content file first if needed).
    pub fn read_back(&self, location: Location) -> Result<Vec<u8>, StoreError> {
        let reader = match self.reader.get() {
            Some(reader) => reader,
            None => {
                let codec = self.codec()?.clone();
                self.data
                    .lock()
                    .expect("data file lock")
                    .0
                    .flush()
                    .map_err(StoreError::io("cannot write", self.data_path()))?;
                let file = File::open(self.data_path())
                    .map_err(StoreError::io("cannot open", self.data_path()))?;
                self.reader
                    .get_or_init(|| ContentReader::over(self.data_path(), file, codec))
            }
        };
        reader.read(location)
    }

    /// Writes the id table and numbers the documents of a type: the `n`th in `documents` (id
    /// order) is number `n`.
    pub fn write_documents(
        &self,
        rtype: ResourceType,
        documents: &[(String, Record)],
    ) -> Result<(), StoreError> {
        let trees = self.trees.of(rtype);
        let mut ids = BlockWriter::new(&trees.ids, &self.index);
        for (id, record) in documents {
            ids.push(id.as_bytes(), &record.encode())?;
        }
        ids.finish()?;
        let mut offsets = Vec::with_capacity((documents.len() + 1) * 4);
        let mut at = 0u32;
        let entries = self.index.append_parts(|write| {
            for (id, record) in documents {
                offsets.extend_from_slice(&at.to_le_bytes());
                let encoded = record.encode();
                write(&encoded)?;
                write(id.as_bytes())?;
                at += (encoded.len() + id.len()) as u32;
            }
            offsets.extend_from_slice(&at.to_le_bytes());
            Ok(())
        })?;
        let offsets = self.index.append(&offsets)?;
        for (key, location) in [
            (DocumentDirectory::ENTRIES, entries),
            (DocumentDirectory::OFFSETS, offsets),
        ] {
            trees
                .docs
                .insert(key, &location.encode())
                .map_err(sled_error(&self.path))?;
        }
        Ok(())
    }

    /// Writes the history index: `entries` in by-resource order (as [`super::reconcile`]
    /// sorts them), and the same entries by time.
    pub fn write_history(&self, entries: &[HistoryEntry]) -> Result<(), StoreError> {
        let mut by_resource = BlockWriter::new(&self.trees.history, &self.index);
        for entry in entries {
            by_resource.push(&entry.resource_key(), &entry.value())?;
        }
        by_resource.finish()?;
        let mut by_time: Vec<(Vec<u8>, Vec<u8>)> =
            entries.iter().map(|e| (e.time_key(), e.value())).collect();
        by_time.sort_unstable();
        let mut writer = BlockWriter::new(&self.trees.history_time, &self.index);
        for (key, value) in &by_time {
            writer.push(key, value)?;
        }
        writer.finish()
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writers for a type's index tables; entries must be pushed in ascending key order.
    pub fn index_writers(&self, rtype: ResourceType) -> IndexWriters<'_> {
        let trees = self.trees.of(rtype);
        IndexWriters {
            path: &self.path,
            index: &self.index,
            postings: BlockWriter::new(&trees.postings, &self.index),
            terms: BlockWriter::new(&trees.terms, &self.index),
            trigrams: BlockWriter::new(&trees.trigrams, &self.index),
            forward: &trees.forward,
            sort: &trees.sort,
        }
    }

    /// Flushes everything to disk, then records the generation's description; a generation
    /// without it is incomplete and never opened.
    pub fn finish(self, info: &GenerationInfo) -> Result<(), StoreError> {
        self.codec()?.save(&self.path)?;
        let data_path = self.data_path();
        let (mut data, _) = self.data.into_inner().expect("data file lock");
        data.flush()
            .map_err(StoreError::io("cannot write", &data_path))?;
        data.get_ref()
            .sync_all()
            .map_err(StoreError::io("cannot sync", &data_path))?;
        self.index.finish()?;
        self.db.flush().map_err(sled_error(&self.path))?;
        drop(self.trees);
        drop(self.db);
        let info_path = self.path.join(INFO_FILE);
        let text = serde_json::to_string_pretty(info).expect("GenerationInfo serializes");
        let mut file =
            File::create(&info_path).map_err(StoreError::io("cannot write", &info_path))?;
        file.write_all(text.as_bytes())
            .map_err(StoreError::io("cannot write", &info_path))?;
        file.sync_all()
            .map_err(StoreError::io("cannot sync", &info_path))?;
        Ok(())
    }
}

impl ResourceWriter for SledWriter {
    fn write(&self, rtype: ResourceType, id: &str, content: &[u8]) -> Result<(), StoreError> {
        let splice = splice_point(content).ok_or_else(|| StoreError::Damaged {
            path: self.path.clone(),
            detail: format!("{rtype}/{id} was mapped without `meta`"),
        })?;
        let hash = ContentHash::of(content);
        if let Some(codec) = self.codec.get() {
            let location = self.append_frame(&codec.compress(content))?;
            self.register(rtype, id.to_owned(), location, splice, hash);
            return Ok(());
        }
        let mut pending = self.pending.lock().expect("pending resources");
        if self.codec.get().is_some() {
            // Trained while this thread waited for the lock.
            drop(pending);
            return self.write(rtype, id, content);
        }
        pending.push(Pending {
            rtype,
            id: id.to_owned(),
            splice,
            hash,
            content: content.to_vec(),
        });
        if pending.len() >= TRAINING_SAMPLES {
            self.train(&mut pending)?;
        }
        Ok(())
    }

    fn write_geolocation(&self, organization_id: &str, json: &[u8]) -> Result<(), StoreError> {
        self.trees
            .geolocation
            .insert(organization_id, json)
            .map_err(sled_error(&self.path))?;
        Ok(())
    }
}

/// The index tables of one type, written in key order by the index build.
pub struct IndexWriters<'w> {
    path: &'w Path,
    index: &'w IndexFile,
    postings: BlockWriter<'w>,
    terms: BlockWriter<'w>,
    trigrams: BlockWriter<'w>,
    forward: &'w sled::Tree,
    sort: &'w sled::Tree,
}

impl IndexWriters<'_> {
    pub fn postings(&mut self, key: &[u8], documents: &RoaringBitmap) -> Result<(), StoreError> {
        self.postings.push(key, &encode_bitmap(documents))
    }

    /// The `:contains` dictionary of a parameter: `terms` sorted, numbered by position.
    pub fn terms(&mut self, param: &str, terms: &[&str]) -> Result<(), StoreError> {
        for (number, term) in terms.iter().enumerate() {
            let key = param_key(param, &(number as u32).to_be_bytes());
            self.terms.push(&key, term.as_bytes())?;
        }
        Ok(())
    }

    pub fn trigram(
        &mut self,
        param: &str,
        trigram: &str,
        terms: &RoaringBitmap,
    ) -> Result<(), StoreError> {
        let key = param_key(param, trigram.as_bytes());
        self.trigrams.push(&key, &encode_bitmap(terms))
    }

    pub fn forward(&mut self, param: &str, forward: &Forward) -> Result<(), StoreError> {
        let location = self.index.append(&forward.encode())?;
        self.forward
            .insert(param, &location.encode())
            .map_err(sled_error(self.path))?;
        Ok(())
    }

    /// The sort columns of a parameter (see [`ResourceStore::sort_ranks`]): `lowest` for
    /// ascending sorts, `highest` for descending ones, stored once when they are the same
    /// (every document has at most one value).
    pub fn sort_columns(
        &mut self,
        param: &str,
        lowest: &[u32],
        highest: &[u32],
    ) -> Result<(), StoreError> {
        let write = |ranks: &[u32]| {
            let bytes: Vec<u8> = ranks.iter().flat_map(|r| r.to_le_bytes()).collect();
            self.index.append(&bytes)
        };
        let ascending = write(lowest)?;
        let descending = if highest == lowest {
            ascending
        } else {
            write(highest)?
        };
        for (is_descending, location) in [(false, ascending), (true, descending)] {
            self.sort
                .insert(sort_key(param, is_descending), &location.encode())
                .map_err(sled_error(self.path))?;
        }
        Ok(())
    }

    pub fn finish(self) -> Result<(), StoreError> {
        self.postings.finish()?;
        self.terms.finish()?;
        self.trigrams.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postings_round_trip_short_and_long() {
        let path = Path::new("test");
        for documents in [
            vec![],
            vec![0],
            vec![7],
            vec![3, 1_000_000, u32::MAX],
            vec![1, 2, 3, 4],
            (0..5).collect(),
            (0..100_000).step_by(3).collect::<Vec<u32>>(),
        ] {
            let bitmap: RoaringBitmap = documents.iter().copied().collect();
            let bytes = encode_bitmap(&bitmap);
            if bitmap.len() == 1 {
                assert!(bytes.len() <= 6, "one document in {} bytes", bytes.len());
            }
            assert_eq!(
                decode_bitmap(path, &bytes).unwrap(),
                bitmap,
                "{documents:?}"
            );
        }
        assert!(decode_bitmap(path, &[2, 0x80]).is_err(), "cut short");
        assert!(decode_bitmap(path, &[9]).is_err(), "unknown encoding");
    }
}
