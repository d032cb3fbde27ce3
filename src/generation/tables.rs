//! A generation's sled database and its trees (the table in [`super::format`]), shared by the
//! builder that writes them and the reader that serves them.
//!
//! sled 0.34 is unmaintained and has open reports of corruption after a kill; it is kept for
//! small things only (where each block of a table starts, a few named values) and contained by
//! generations: every import writes a brand-new database, and a damaged one is never served.

use std::path::Path;
use std::time::{Duration, Instant};

use super::error::StoreError;
use super::format::{
    DATABASE_DIR, DIRECTORY_ENTRIES, DIRECTORY_OFFSETS, GEOLOCATION_TREE, HISTORY_TIME_TREE,
    HISTORY_TREE, TypeTree,
};
use super::mapped::MappedFile;
use super::record::Location;
use crate::fhir::ResourceType;

/// How long opening a database waits for sled to release its file lock.
const LOCK_RELEASE_WAIT: Duration = Duration::from_secs(3);

/// Opens (creating it if needed) the database of the generation in `path`.
///
/// sled takes an exclusive lock on its files and, when a `Db` is dropped, releases it only once
/// its background threads have let go of the file, a little later: reopening a generation right
/// after the import that wrote it, in the same process (the demo, tests), can find the lock
/// still held. sled's own tests block on the lock for that reason; here the open is retried for
/// a bounded time instead, so a lock held for good (another process) is still reported.
pub fn open_database(path: &Path, cache_bytes: u64) -> Result<sled::Db, StoreError> {
    let started = Instant::now();
    loop {
        let opened = sled::Config::new()
            .path(path.join(DATABASE_DIR))
            .cache_capacity(cache_bytes)
            .mode(sled::Mode::HighThroughput)
            .open();
        match opened {
            Err(e) if is_lock_held(&e) && started.elapsed() < LOCK_RELEASE_WAIT => {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other.map_err(StoreError::sled(path)),
        }
    }
}

/// sled reports a held file lock as an I/O error with this text (sled 0.34 `Config::open_file`).
fn is_lock_held(error: &sled::Error) -> bool {
    matches!(error, sled::Error::Io(e) if e.to_string().contains("could not acquire lock"))
}

/// Every tree of a generation's database, opened.
pub struct Trees {
    /// Per type (in [`ResourceType::ALL`] order), its trees in [`TypeTree::ALL`] order.
    by_type: Vec<Vec<sled::Tree>>,
    pub geolocation: sled::Tree,
    pub history: sled::Tree,
    pub history_time: sled::Tree,
}

impl Trees {
    pub fn open(db: &sled::Db, path: &Path) -> Result<Trees, StoreError> {
        let tree = |name: &str| db.open_tree(name).map_err(StoreError::sled(path));
        let by_type = ResourceType::ALL
            .iter()
            .map(|rtype| {
                TypeTree::ALL
                    .iter()
                    .map(|t| tree(&t.name(*rtype)))
                    .collect::<Result<Vec<_>, _>>()
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Trees {
            by_type,
            geolocation: tree(GEOLOCATION_TREE)?,
            history: tree(HISTORY_TREE)?,
            history_time: tree(HISTORY_TIME_TREE)?,
        })
    }

    pub fn of(&self, rtype: ResourceType, tree: TypeTree) -> &sled::Tree {
        let by_type = &self.by_type[ResourceType::ALL
            .iter()
            .position(|t| *t == rtype)
            .expect("every type has trees")];
        &by_type[TypeTree::ALL
            .iter()
            .position(|t| *t == tree)
            .expect("every tree is in the table")]
    }
}

/// Each type's documents by number: the record and id of document `n` is the `n`th entry of a
/// blob in the index file, found through an array of offsets. Pages, includes and keyset
/// paging read documents by number; a block lookup per document (a sled range step and a scan)
/// was a fifth of a search page.
#[derive(Clone, Copy)]
pub struct DocumentDirectory {
    entries: Location,
    /// `count + 1` little-endian u32 offsets into `entries`.
    offsets: Location,
}

impl DocumentDirectory {
    /// The directory stored in `tree`, if the import wrote one (it writes one per type).
    pub fn load(tree: &sled::Tree, path: &Path) -> Result<Option<DocumentDirectory>, StoreError> {
        let location = |key: &[u8]| -> Result<Option<Location>, StoreError> {
            match tree.get(key).map_err(StoreError::sled(path))? {
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
        Ok(
            match (location(DIRECTORY_ENTRIES)?, location(DIRECTORY_OFFSETS)?) {
                (Some(entries), Some(offsets)) => Some(DocumentDirectory { entries, offsets }),
                _ => None,
            },
        )
    }

    /// Records where a directory was written.
    pub fn store(
        tree: &sled::Tree,
        path: &Path,
        entries: Location,
        offsets: Location,
    ) -> Result<(), StoreError> {
        for (key, location) in [(DIRECTORY_ENTRIES, entries), (DIRECTORY_OFFSETS, offsets)] {
            tree.insert(key, &location.encode())
                .map_err(StoreError::sled(path))?;
        }
        Ok(())
    }

    /// The entry of document `doc` (its encoded record, then its id).
    pub fn entry<'a>(
        &self,
        index: &'a MappedFile,
        doc: u32,
    ) -> Result<Option<&'a [u8]>, StoreError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A database whose lock is released shortly after the open begins (sled letting go of a
    /// dropped `Db` in the background) opens; without the wait the open fails at once.
    #[test]
    fn a_lock_released_soon_is_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let first = open_database(dir.path(), 1 << 20).unwrap();
        let holder = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            drop(first);
        });
        let second = open_database(dir.path(), 1 << 20);
        holder.join().unwrap();
        assert!(second.is_ok(), "{:?}", second.err());
    }

    /// A lock held for good is still reported, after the bounded wait.
    #[test]
    fn a_lock_held_for_good_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let _first = open_database(dir.path(), 1 << 20).unwrap();
        let second = open_database(dir.path(), 1 << 20);
        assert!(second.is_err(), "two handles on one database");
    }
}
