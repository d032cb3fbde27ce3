//! A complete generation file mapped into memory, read by slicing.
//!
//! The index and content files of a served generation are written once by its import and never
//! touched again, so reading them needs neither a system call nor a buffer per read: a lookup
//! slices the mapping and the kernel's page cache does the rest. Positioned reads into fresh
//! buffers cost a third of a `_summary=count` request and a fifth of a prefix search (zeroing
//! and copying every block read).

use std::fs::File;
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use super::error::StoreError;
use super::record::Location;

pub struct MappedFile {
    path: PathBuf,
    map: Mmap,
}

impl MappedFile {
    pub fn open(path: &Path) -> Result<MappedFile, StoreError> {
        let file = File::open(path).map_err(StoreError::io("cannot open", path))?;
        // SAFETY: the file belongs to a complete generation, which nothing writes or truncates
        // again (a new import writes a new generation; removing this one only unlinks it, and
        // the mapping keeps the pages alive until it is dropped).
        let map = unsafe { Mmap::map(&file) }.map_err(StoreError::io("cannot map", path))?;
        Ok(MappedFile {
            path: path.to_path_buf(),
            map,
        })
    }

    /// The bytes at `location`; damaged if the file does not hold them.
    pub fn slice(&self, location: Location) -> Result<&[u8], StoreError> {
        let start = usize::try_from(location.offset).ok();
        start
            .and_then(|start| {
                self.map
                    .get(start..start.checked_add(location.len as usize)?)
            })
            .ok_or_else(|| StoreError::Damaged {
                path: self.path.clone(),
                detail: format!(
                    "{} bytes at byte {} are past the end of the file",
                    location.len, location.offset
                ),
            })
    }

    /// Where `bytes`, a slice of this file's mapping, lies in the file.
    pub fn location_of(&self, bytes: &[u8]) -> Location {
        let offset = (bytes.as_ptr() as usize)
            .checked_sub(self.map.as_ptr() as usize)
            .filter(|offset| offset + bytes.len() <= self.map.len())
            .expect("a slice of this mapping");
        Location {
            offset: offset as u64,
            len: bytes.len() as u32,
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_inside_the_file_and_refuses_outside() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"0123456789").unwrap();
        let file = MappedFile::open(&path).unwrap();
        assert_eq!(file.slice(Location { offset: 2, len: 3 }).unwrap(), b"234");
        assert_eq!(file.slice(Location { offset: 10, len: 0 }).unwrap(), b"");
        assert!(file.slice(Location { offset: 8, len: 3 }).is_err());
        let slice = file.slice(Location { offset: 4, len: 5 }).unwrap();
        assert_eq!(
            file.location_of(&slice[1..3]),
            Location { offset: 5, len: 2 }
        );
        assert!(
            file.slice(Location {
                offset: u64::MAX,
                len: 1
            })
            .is_err()
        );
        std::fs::write(dir.path().join("empty"), b"").unwrap();
        let empty = MappedFile::open(&dir.path().join("empty")).unwrap();
        assert_eq!(empty.slice(Location { offset: 0, len: 0 }).unwrap(), b"");
    }
}
