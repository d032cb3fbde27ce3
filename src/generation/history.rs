//! Past versions of resources, and their deletions.
//!
//! A generation holds every current resource in full; what it does not hold are the versions
//! that an import replaced, deactivated or deleted. Those go to *history segments*: one file per
//! import, `history/seg-NNNNNN.bin` beside `generations/`, holding the content bytes of the
//! versions that import superseded, appended once and never modified. A segment is shared by
//! every later generation whose history still reaches it, so history costs disk in proportion
//! to what changed, not to the size of the directory; it is deleted once no generation
//! refers to it (its versions all passed the history retention).
//!
//! Each generation carries the index of its whole history ([`HistoryEntry`] per past version):
//! in its sled database for serving (by resource and by time), and as a plain sorted file,
//! `history.bin`, that the next import reads without opening sled (a running server may hold
//! that database).

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use super::error::StoreError;
use super::format::segment_path;
use super::record::{Location, Millis, Version};
use crate::fhir::ResourceType;

/// What a history entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A past version, whose content is in a segment.
    Version {
        segment: u64,
        location: Location,
        splice: u16,
    },
    /// The resource was deleted (its deactivated record outlived the retention): the last
    /// entry of its history, numbered one past its last version.
    Deleted,
}

/// One past version of a resource, or its deletion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    pub rtype: ResourceType,
    pub id: String,
    /// Number and `lastUpdated` of the version (for a deletion: when it was deleted).
    pub version: Version,
    /// When it stopped being current: the time of the next version or of the deletion (for a
    /// deletion, the deletion time itself).
    pub superseded: Millis,
    pub kind: Kind,
}

/// The byte that stands for a resource type in keys (its position in [`ResourceType::ALL`]).
pub fn type_byte(rtype: ResourceType) -> u8 {
    ResourceType::ALL
        .iter()
        .position(|t| *t == rtype)
        .expect("a served type") as u8
}

pub fn type_of_byte(byte: u8) -> Option<ResourceType> {
    ResourceType::ALL.get(usize::from(byte)).copied()
}

/// Order-preserving encoding of a signed time.
fn encode_time(t: Millis) -> [u8; 8] {
    ((t.0 as u64) ^ (1 << 63)).to_be_bytes()
}

fn decode_time(bytes: &[u8]) -> Option<Millis> {
    Some(Millis(
        (u64::from_be_bytes(bytes.try_into().ok()?) ^ (1 << 63)) as i64,
    ))
}

/// Key prefix of a resource's entries in the by-resource tree: type, id, 0.
pub fn resource_prefix(rtype: ResourceType, id: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(id.len() + 2);
    key.push(type_byte(rtype));
    key.extend_from_slice(id.as_bytes());
    key.push(0);
    key
}

/// Key prefix of a type's entries in the by-resource tree.
pub fn type_prefix(rtype: ResourceType) -> [u8; 1] {
    [type_byte(rtype)]
}

impl HistoryEntry {
    /// Key in the by-resource tree: type, id, 0, version: a resource's versions together, oldest
    /// first.
    pub fn resource_key(&self) -> Vec<u8> {
        let mut key = resource_prefix(self.rtype, &self.id);
        key.extend_from_slice(&self.version.number.to_be_bytes());
        key
    }

    /// Key in the by-time tree: newest first (time inverted), then type, id, and version
    /// newest first.
    pub fn time_key(&self) -> Vec<u8> {
        time_key(
            self.version.last_updated,
            type_byte(self.rtype),
            &self.id,
            self.version.number,
        )
    }

    /// What both trees hold as value: the times and where the content is.
    pub fn value(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(40);
        out.extend_from_slice(&self.version.last_updated.0.to_be_bytes());
        out.extend_from_slice(&self.superseded.0.to_be_bytes());
        match self.kind {
            Kind::Version {
                segment,
                location,
                splice,
            } => {
                out.push(b'v');
                out.extend_from_slice(&segment.to_be_bytes());
                out.extend_from_slice(&location.encode());
                out.extend_from_slice(&splice.to_be_bytes());
            }
            Kind::Deleted => out.push(b'x'),
        }
        out
    }

    /// Rebuilds an entry from a by-resource key and its value.
    pub fn from_resource_key(key: &[u8], value: &[u8]) -> Option<HistoryEntry> {
        let rtype = type_of_byte(*key.first()?)?;
        let rest = &key[1..];
        let zero = rest.iter().position(|b| *b == 0)?;
        let id = std::str::from_utf8(&rest[..zero]).ok()?.to_owned();
        let number = u32::from_be_bytes(rest.get(zero + 1..zero + 5)?.try_into().ok()?);
        HistoryEntry::from_value(rtype, id, number, value)
    }

    /// Rebuilds an entry from a by-time key and its value.
    pub fn from_time_key(key: &[u8], value: &[u8]) -> Option<HistoryEntry> {
        let rtype = type_of_byte(*key.get(8)?)?;
        let rest = &key[9..];
        let zero = rest.iter().position(|b| *b == 0)?;
        let id = std::str::from_utf8(&rest[..zero]).ok()?.to_owned();
        let number = !u32::from_be_bytes(rest.get(zero + 1..zero + 5)?.try_into().ok()?);
        HistoryEntry::from_value(rtype, id, number, value)
    }

    fn from_value(rtype: ResourceType, id: String, number: u32, value: &[u8]) -> Option<Self> {
        let last_updated = decode_time_raw(value.get(..8)?)?;
        let superseded = decode_time_raw(value.get(8..16)?)?;
        let kind = match value.get(16)? {
            b'v' => Kind::Version {
                segment: u64::from_be_bytes(value.get(17..25)?.try_into().ok()?),
                location: Location::decode(value.get(25..37)?)?,
                splice: u16::from_be_bytes(value.get(37..39)?.try_into().ok()?),
            },
            b'x' => Kind::Deleted,
            _ => return None,
        };
        Some(HistoryEntry {
            rtype,
            id,
            version: Version {
                number,
                last_updated,
            },
            superseded,
            kind,
        })
    }

    /// Whether this version was current at some moment of `[start, end)`.
    pub fn current_during(&self, start: Millis, end: Millis) -> bool {
        match self.kind {
            // A deletion is "current" from its time on: the resource is gone.
            Kind::Deleted => self.version.last_updated < end,
            Kind::Version { .. } => self.version.last_updated < end && start < self.superseded,
        }
    }
}

fn decode_time_raw(bytes: &[u8]) -> Option<Millis> {
    Some(Millis(i64::from_be_bytes(bytes.try_into().ok()?)))
}

/// The start of the by-time key range at or after (older than, or equal to) time `t`.
/// The by-time key of a version: newest first, then type, id, and version newest first.
pub fn time_key(time: Millis, type_byte: u8, id: &str, version: u32) -> Vec<u8> {
    let mut key = Vec::with_capacity(id.len() + 14);
    key.extend_from_slice(&encode_time(Millis(-time.0)));
    key.push(type_byte);
    key.extend_from_slice(id.as_bytes());
    key.push(0);
    key.extend_from_slice(&(!version).to_be_bytes());
    key
}

/// The time of a by-time key.
pub fn time_of_key(key: &[u8]) -> Option<Millis> {
    decode_time(key.get(..8)?).map(|t| Millis(-t.0))
}

/// Appends superseded versions to the segment of one import.
pub struct SegmentWriter {
    number: u64,
    path: PathBuf,
    file: BufWriter<File>,
    offset: u64,
}

impl SegmentWriter {
    pub fn create(history_dir: &Path, number: u64) -> Result<SegmentWriter, StoreError> {
        std::fs::create_dir_all(history_dir)
            .map_err(StoreError::io("cannot create", history_dir))?;
        let path = segment_path(history_dir, number);
        let file = File::create(&path).map_err(StoreError::io("cannot create", &path))?;
        Ok(SegmentWriter {
            number,
            path,
            file: BufWriter::with_capacity(1 << 20, file),
            offset: 0,
        })
    }

    pub fn number(&self) -> u64 {
        self.number
    }

    /// The directory of the segments (where the past ones are too).
    pub fn dir(&self) -> PathBuf {
        self.path
            .parent()
            .expect("a segment is in the history directory")
            .to_path_buf()
    }

    /// Appends content bytes; returns where they are.
    pub fn append(&mut self, content: &[u8]) -> Result<Location, StoreError> {
        let len = u32::try_from(content.len()).expect("a resource is smaller than 4 GB");
        self.file
            .write_all(content)
            .map_err(StoreError::io("cannot write", &self.path))?;
        let location = Location {
            offset: self.offset,
            len,
        };
        self.offset += u64::from(len);
        Ok(location)
    }

    /// Flushes and syncs the segment; returns whether it holds anything (an empty one is
    /// removed).
    pub fn finish(mut self) -> Result<bool, StoreError> {
        self.file
            .flush()
            .map_err(StoreError::io("cannot write", &self.path))?;
        if self.offset == 0 {
            drop(self.file);
            std::fs::remove_file(&self.path)
                .map_err(StoreError::io("cannot remove", &self.path))?;
            return Ok(false);
        }
        self.file
            .get_ref()
            .sync_all()
            .map_err(StoreError::io("cannot sync", &self.path))?;
        Ok(true)
    }
}

/// Reads a location of a segment file.
pub fn read_segment(file: &File, location: Location, path: &Path) -> Result<Vec<u8>, StoreError> {
    let mut bytes = vec![0u8; location.len as usize];
    file.read_exact_at(&mut bytes, location.offset)
        .map_err(StoreError::io("cannot read", path))?;
    Ok(bytes)
}

/// Writes a generation's `history.bin`: entries in by-resource key order, each as
/// `[u16 key length][key][u16 value length][value]`.
pub fn write_index_file(path: &Path, entries: &[HistoryEntry]) -> Result<(), StoreError> {
    let file = File::create(path).map_err(StoreError::io("cannot create", path))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    for entry in entries {
        let key = entry.resource_key();
        let value = entry.value();
        for part in [&key, &value] {
            let len = u16::try_from(part.len()).expect("history keys are short");
            out.write_all(&len.to_le_bytes())
                .and_then(|()| out.write_all(part))
                .map_err(StoreError::io("cannot write", path))?;
        }
    }
    out.flush().map_err(StoreError::io("cannot write", path))?;
    out.get_ref()
        .sync_all()
        .map_err(StoreError::io("cannot sync", path))
}

/// Reads a generation's `history.bin` (absent: no history).
pub fn read_index_file(path: &Path) -> Result<Vec<HistoryEntry>, StoreError> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(StoreError::io("cannot open", path)(e)),
    };
    let mut input = BufReader::with_capacity(1 << 20, file);
    let damaged = || StoreError::Damaged {
        path: path.to_path_buf(),
        detail: "history.bin holds an unreadable entry".into(),
    };
    let mut entries = Vec::new();
    let mut key = Vec::new();
    let mut value = Vec::new();
    loop {
        match read_part(&mut input, &mut key) {
            Ok(false) => return Ok(entries),
            Ok(true) => {}
            Err(e) => return Err(StoreError::io("cannot read", path)(e)),
        }
        if !read_part(&mut input, &mut value).map_err(StoreError::io("cannot read", path))? {
            return Err(damaged());
        }
        entries.push(HistoryEntry::from_resource_key(&key, &value).ok_or_else(damaged)?);
    }
}

/// Reads one `[u16 length][bytes]` part; `false` at the end of the input.
fn read_part(input: &mut impl Read, part: &mut Vec<u8>) -> std::io::Result<bool> {
    let mut len = [0u8; 2];
    match input.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(false),
        Err(e) => return Err(e),
    }
    part.resize(usize::from(u16::from_le_bytes(len)), 0);
    input.read_exact(part)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str, number: u32, time: i64, kind: Kind) -> HistoryEntry {
        HistoryEntry {
            rtype: ResourceType::PractitionerRole,
            id: id.into(),
            version: Version {
                number,
                last_updated: Millis(time),
            },
            superseded: Millis(time + 10),
            kind,
        }
    }

    #[test]
    fn keys_round_trip_and_order() {
        let version = Kind::Version {
            segment: 7,
            location: Location { offset: 99, len: 5 },
            splice: 40,
        };
        let old = entry("se-a", 1, 1000, version);
        let new = entry("se-a", 2, 2000, Kind::Deleted);
        for e in [&old, &new] {
            assert_eq!(
                HistoryEntry::from_resource_key(&e.resource_key(), &e.value()).as_ref(),
                Some(e)
            );
            assert_eq!(
                HistoryEntry::from_time_key(&e.time_key(), &e.value()).as_ref(),
                Some(e)
            );
        }
        assert!(
            old.resource_key() < new.resource_key(),
            "oldest version first"
        );
        assert!(new.time_key() < old.time_key(), "newest first by time");
        assert_eq!(time_of_key(&new.time_key()), Some(Millis(2000)));
        assert!(time_key(Millis(2000), type_byte(new.rtype), "", u32::MAX) < new.time_key());
    }

    #[test]
    fn index_files_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.bin");
        let entries = vec![
            entry("se-a", 1, 1000, Kind::Deleted),
            entry(
                "se-b",
                3,
                5,
                Kind::Version {
                    segment: 1,
                    location: Location { offset: 0, len: 1 },
                    splice: 2,
                },
            ),
        ];
        write_index_file(&path, &entries).unwrap();
        assert_eq!(read_index_file(&path).unwrap(), entries);
        assert!(
            read_index_file(&dir.path().join("none"))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn versions_current_during_a_period() {
        let v = entry(
            "x",
            1,
            100,
            Kind::Version {
                segment: 1,
                location: Location { offset: 0, len: 1 },
                splice: 0,
            },
        );
        assert!(v.current_during(Millis(105), Millis(106)));
        assert!(
            !v.current_during(Millis(110), Millis(120)),
            "superseded at 110"
        );
        assert!(!v.current_during(Millis(0), Millis(100)), "not yet at 100");
    }
}
