//! The sled implementation of the store traits: one sled database per generation, one tree per
//! resource type, keyed by resource id, valued by the served JSON bytes.

use std::fs::File;
use std::path::{Path, PathBuf};

use super::{GenerationInfo, ResourceStore, ResourceWriter, StoreError};
use crate::resource_type::ResourceType;

const INFO_FILE: &str = "generation.json";
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
        Ok(SledGeneration {
            path: path.to_path_buf(),
            trees: Trees::open(&db, path)?,
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
        let value = self
            .trees
            .get(rtype)
            .get(id)
            .map_err(sled_error(&self.path))?;
        Ok(value.map(|v| v.to_vec()))
    }

    fn info(&self) -> &GenerationInfo {
        &self.info
    }
}

/// A generation being written by an import.
pub struct SledWriter {
    path: PathBuf,
    db: sled::Db,
    trees: Trees,
    geolocation: sled::Tree,
}

impl SledWriter {
    pub fn create(path: &Path, cache_bytes: u64) -> Result<SledWriter, StoreError> {
        let db = open_db(path, cache_bytes)?;
        Ok(SledWriter {
            path: path.to_path_buf(),
            trees: Trees::open(&db, path)?,
            geolocation: db.open_tree(GEOLOCATION_TREE).map_err(sled_error(path))?,
            db,
        })
    }

    /// Flushes everything to disk, then records the generation's description; a generation
    /// without it is incomplete and never opened.
    pub fn finish(self, info: &GenerationInfo) -> Result<(), StoreError> {
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
        self.trees
            .get(rtype)
            .insert(id, json)
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
