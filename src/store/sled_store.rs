//! The sled implementation of the store traits: one sled database per generation, one tree per
//! resource type, keyed by resource id.
//!
//! Key-value separation: the JSON bytes of the resources are appended to the generation's
//! `resources.json.bin` file, and sled maps each id to where its bytes are (offset, length).
//! Measured on the national-size import, sled storing the ~1.3 KB values itself spent most of
//! the import copying and rewriting tree nodes that held them (495 s, 14 GB on disk); with only
//! 12-byte locations in its nodes, sled's work shrinks to an index. The data file is written
//! sequentially, synced before the generation is described, and never modified afterwards, so
//! it needs none of the care sled's log does. Bytes are served exactly as stored.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::{GenerationInfo, ResourceStore, ResourceWriter, StoreError};
use crate::resource_type::ResourceType;

const INFO_FILE: &str = "generation.json";
const DATA_FILE: &str = "resources.json.bin";
const GEOLOCATION_TREE: &str = "geolocation";

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

/// Where a resource's bytes are in the data file: offset and length, big-endian.
fn encode_location(offset: u64, len: u32) -> [u8; 12] {
    let mut out = [0u8; 12];
    out[..8].copy_from_slice(&offset.to_be_bytes());
    out[8..].copy_from_slice(&len.to_be_bytes());
    out
}

fn decode_location(bytes: &[u8]) -> Option<(u64, u32)> {
    let offset = u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?);
    let len = u32::from_be_bytes(bytes.get(8..12)?.try_into().ok()?);
    Some((offset, len))
}

struct Trees {
    practitioner: sled::Tree,
    practitioner_role: sled::Tree,
    organization: sled::Tree,
}

impl Trees {
    fn open(db: &sled::Db, path: &Path) -> Result<Trees, StoreError> {
        let tree = |t: ResourceType| db.open_tree(t.as_str()).map_err(sled_error(path));
        Ok(Trees {
            practitioner: tree(ResourceType::Practitioner)?,
            practitioner_role: tree(ResourceType::PractitionerRole)?,
            organization: tree(ResourceType::Organization)?,
        })
    }

    fn get(&self, rtype: ResourceType) -> &sled::Tree {
        match rtype {
            ResourceType::Practitioner => &self.practitioner,
            ResourceType::PractitionerRole => &self.practitioner_role,
            ResourceType::Organization => &self.organization,
        }
    }
}

/// A complete generation, opened for reading.
pub struct SledGeneration {
    path: PathBuf,
    trees: Trees,
    data: File,
    geolocation: sled::Tree,
    info: GenerationInfo,
    _db: sled::Db,
    /// Shared lock telling imports this generation is in use (see `DataDir::hold_generation`).
    _in_use: Option<File>,
}

impl SledGeneration {
    /// Opens a generation written by [`SledWriter`]. `in_use` is held as long as it is open.
    pub fn open(
        path: &Path,
        cache_bytes: u64,
        in_use: Option<File>,
    ) -> Result<SledGeneration, StoreError> {
        let info_path = path.join(INFO_FILE);
        let info_text = std::fs::read_to_string(&info_path).map_err(|_| StoreError::Damaged {
            path: path.to_path_buf(),
            detail: format!(
                "{} is missing: this generation was never completed",
                INFO_FILE
            ),
        })?;
        let info: GenerationInfo =
            serde_json::from_str(&info_text).map_err(|e| StoreError::Damaged {
                path: path.to_path_buf(),
                detail: format!("{INFO_FILE} is unreadable: {e}"),
            })?;
        let db = open_db(path, cache_bytes)?;
        let data_path = path.join(DATA_FILE);
        let data = File::open(&data_path).map_err(StoreError::io("cannot open", &data_path))?;
        Ok(SledGeneration {
            path: path.to_path_buf(),
            trees: Trees::open(&db, path)?,
            data,
            geolocation: db.open_tree(GEOLOCATION_TREE).map_err(sled_error(path))?,
            info,
            _db: db,
            _in_use: in_use,
        })
    }

    /// Stored FINESS coordinates of an Organization.
    pub fn geolocation(&self, organization_id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let value = self
            .geolocation
            .get(organization_id)
            .map_err(sled_error(&self.path))?;
        Ok(value.map(|v| v.to_vec()))
    }
}

impl ResourceStore for SledGeneration {
    fn read(&self, rtype: ResourceType, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(location) = self
            .trees
            .get(rtype)
            .get(id)
            .map_err(sled_error(&self.path))?
        else {
            return Ok(None);
        };
        let damaged = |detail: String| StoreError::Damaged {
            path: self.path.clone(),
            detail,
        };
        let (offset, len) = decode_location(&location)
            .ok_or_else(|| damaged(format!("bad location for {rtype}/{id}")))?;
        let mut bytes = vec![0u8; len as usize];
        self.data
            .read_exact_at(&mut bytes, offset)
            .map_err(|e| damaged(format!("cannot read {rtype}/{id} from {DATA_FILE}: {e}")))?;
        Ok(Some(bytes))
    }

    fn info(&self) -> &GenerationInfo {
        &self.info
    }
}

/// A generation being written by an import.
pub struct SledWriter {
    path: PathBuf,
    db: sled::Db,
    /// The data file and the offset its next append lands at.
    data: Mutex<(BufWriter<File>, u64)>,
    trees: Trees,
    geolocation: sled::Tree,
}

impl SledWriter {
    pub fn create(path: &Path, cache_bytes: u64) -> Result<SledWriter, StoreError> {
        let db = open_db(path, cache_bytes)?;
        let data_path = path.join(DATA_FILE);
        let data = File::create(&data_path).map_err(StoreError::io("cannot create", &data_path))?;
        Ok(SledWriter {
            path: path.to_path_buf(),
            trees: Trees::open(&db, path)?,
            geolocation: db.open_tree(GEOLOCATION_TREE).map_err(sled_error(path))?,
            data: Mutex::new((BufWriter::with_capacity(1 << 20, data), 0)),
            db,
        })
    }

    /// Flushes everything to disk, then records the generation's description; a generation
    /// without it is incomplete and never opened.
    pub fn finish(self, info: &GenerationInfo) -> Result<(), StoreError> {
        let data_path = self.path.join(DATA_FILE);
        let (mut data, _) = self.data.into_inner().expect("data file lock");
        data.flush()
            .map_err(StoreError::io("cannot write", &data_path))?;
        data.get_ref()
            .sync_all()
            .map_err(StoreError::io("cannot sync", &data_path))?;
        self.db.flush().map_err(sled_error(&self.path))?;
        drop(self.trees);
        drop(self.geolocation);
        drop(self.db);
        let info_path = self.path.join(INFO_FILE);
        let text = serde_json::to_string_pretty(info).expect("GenerationInfo serializes");
        let mut file =
            File::create(&info_path).map_err(StoreError::io("cannot write", &info_path))?;
        std::io::Write::write_all(&mut file, text.as_bytes())
            .map_err(StoreError::io("cannot write", &info_path))?;
        file.sync_all()
            .map_err(StoreError::io("cannot sync", &info_path))?;
        Ok(())
    }
}

impl ResourceWriter for SledWriter {
    fn write(&self, rtype: ResourceType, id: &str, json: &[u8]) -> Result<(), StoreError> {
        let len = u32::try_from(json.len()).expect("a resource is smaller than 4 GB");
        let offset = {
            let mut data = self.data.lock().expect("data file lock");
            let offset = data.1;
            data.0
                .write_all(json)
                .map_err(StoreError::io("cannot write", self.path.join(DATA_FILE)))?;
            data.1 += u64::from(len);
            offset
        };
        self.trees
            .get(rtype)
            .insert(id, &encode_location(offset, len))
            .map_err(sled_error(&self.path))?;
        Ok(())
    }

    fn write_geolocation(&self, organization_id: &str, json: &[u8]) -> Result<(), StoreError> {
        self.geolocation
            .insert(organization_id, json)
            .map_err(sled_error(&self.path))?;
        Ok(())
    }
}
