//! Sorted key-value tables packed into blocks, kept in the generation's index file; sled maps
//! each block's first key to where the block is.
//!
//! Every table of a generation is written once, in key order, and never updated. One sled
//! entry per index term made sled the bottleneck of the index build (13 µs per insert, 3 GB for
//! a tenth of the national data), and sled values cost 1.7 times their size on disk. So entries
//! are packed: consecutive entries fill a block of about [`BLOCK_BYTES`], appended to the index
//! file, and sled holds only the blocks' first keys and locations. A lookup finds the block
//! whose first key is the greatest not above the key sought (one sled range step), slices it out
//! of the mapped index file (see [`super::mapped`]) and scans it.
//!
//! Inside a block, keys are front-coded: each stores only what differs from the key before it.
//! Index keys share long prefixes (parameter, kind, identifier system), which front coding
//! stores once per block instead of once per term.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sled::Tree;

use super::error::StoreError;
use super::format::INDEX_FILE;
use super::mapped::MappedFile;
use super::record::Location;

/// Target size of a block: small enough to scan per lookup in microseconds, large enough that
/// sled holds ~100 times fewer entries.
pub const BLOCK_BYTES: usize = 8 * 1024;

/// Appends blocks to a generation's index file (shared by every table being written).
pub struct IndexFile {
    path: PathBuf,
    /// The file and the offset its next append lands at.
    out: Mutex<(BufWriter<File>, u64)>,
}

impl IndexFile {
    pub fn create(dir: &Path) -> Result<IndexFile, StoreError> {
        let path = dir.join(INDEX_FILE);
        let file = File::create(&path).map_err(StoreError::io("cannot create", &path))?;
        Ok(IndexFile {
            path,
            out: Mutex::new((BufWriter::with_capacity(1 << 20, file), 0)),
        })
    }

    pub fn append(&self, bytes: &[u8]) -> Result<Location, StoreError> {
        self.append_parts(|write| write(bytes))
    }

    /// Appends what `fill` writes as one value: the file stays locked meanwhile, so the parts
    /// are contiguous whatever other threads append.
    pub fn append_parts(
        &self,
        fill: impl FnOnce(&mut dyn FnMut(&[u8]) -> std::io::Result<()>) -> std::io::Result<()>,
    ) -> Result<Location, StoreError> {
        let mut out = self.out.lock().expect("index file lock");
        let (writer, end) = &mut *out;
        let offset = *end;
        let mut written = 0u64;
        fill(&mut |bytes| {
            writer.write_all(bytes)?;
            written += bytes.len() as u64;
            Ok(())
        })
        .map_err(StoreError::io("cannot write", &self.path))?;
        *end += written;
        let len = u32::try_from(written).expect("an index value is smaller than 4 GB");
        Ok(Location { offset, len })
    }

    /// Writes everything to disk (the generation is described only after).
    pub fn finish(self) -> Result<(), StoreError> {
        let (mut out, _) = self.out.into_inner().expect("index file lock");
        out.flush()
            .and_then(|()| out.get_ref().sync_all())
            .map_err(StoreError::io("cannot write", &self.path))
    }

    /// Flushes what was appended so far, so that it can be read back.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.out
            .lock()
            .expect("index file lock")
            .0
            .flush()
            .map_err(StoreError::io("cannot write", &self.path))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// A table being written: entries must come in strictly ascending key order.
pub struct BlockWriter<'t> {
    tree: &'t Tree,
    file: &'t IndexFile,
    first_key: Vec<u8>,
    last_key: Vec<u8>,
    count: u32,
    block: Vec<u8>,
}

impl<'t> BlockWriter<'t> {
    pub fn new(tree: &'t Tree, file: &'t IndexFile) -> BlockWriter<'t> {
        BlockWriter {
            tree,
            file,
            first_key: Vec::new(),
            last_key: Vec::new(),
            count: 0,
            block: Vec::with_capacity(BLOCK_BYTES * 2),
        }
    }

    pub fn push(&mut self, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        debug_assert!(
            self.count == 0 || key > self.last_key.as_slice(),
            "keys must ascend"
        );
        let shared = if self.count == 0 {
            self.first_key.clear();
            self.first_key.extend_from_slice(key);
            0
        } else {
            common_prefix(&self.last_key, key)
        };
        put_varint(&mut self.block, shared as u64);
        put_varint(&mut self.block, (key.len() - shared) as u64);
        self.block.extend_from_slice(&key[shared..]);
        put_varint(&mut self.block, value.len() as u64);
        self.block.extend_from_slice(value);
        self.count += 1;
        self.last_key.clear();
        self.last_key.extend_from_slice(key);
        if self.block.len() >= BLOCK_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), StoreError> {
        if self.count == 0 {
            return Ok(());
        }
        let mut bytes = Vec::with_capacity(5 + self.block.len());
        put_varint(&mut bytes, u64::from(self.count));
        bytes.extend_from_slice(&self.block);
        let location = self.file.append(&bytes)?;
        self.tree
            .insert(self.first_key.as_slice(), &location.encode())
            .map_err(StoreError::sled(self.file.path()))?;
        self.block.clear();
        self.count = 0;
        Ok(())
    }

    pub fn finish(mut self) -> Result<(), StoreError> {
        self.flush()
    }
}

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// LEB128, the encoding of every length in a block.
pub fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Reads a varint at `*at`, moving past it.
pub fn get_varint(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut n = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(*at)?;
        *at += 1;
        n |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Some(n);
        }
    }
    None
}

/// Visits the entries of one block in order until `visit` returns false; false if the block
/// is damaged.
fn for_each_entry<'b>(block: &'b [u8], visit: &mut dyn FnMut(&[u8], &'b [u8]) -> bool) -> bool {
    let mut at = 0usize;
    let Some(count) = get_varint(block, &mut at) else {
        return false;
    };
    let mut key = Vec::with_capacity(64);
    for _ in 0..count {
        let entry = (|| {
            let shared = get_varint(block, &mut at)? as usize;
            let suffix_len = get_varint(block, &mut at)? as usize;
            let suffix = block.get(at..at.checked_add(suffix_len)?)?;
            at += suffix_len;
            let value_len = get_varint(block, &mut at)? as usize;
            let value = block.get(at..at.checked_add(value_len)?)?;
            at += value_len;
            Some((shared, suffix, value))
        })();
        let Some((shared, suffix, value)) = entry else {
            return false;
        };
        if shared > key.len() {
            return false;
        }
        key.truncate(shared);
        key.extend_from_slice(suffix);
        if !visit(&key, value) {
            return true;
        }
    }
    true
}

/// A table of a complete generation, for reading.
pub struct BlockTable<'a> {
    pub tree: &'a Tree,
    pub index: &'a MappedFile,
}

impl<'a> BlockTable<'a> {
    fn damaged(&self, detail: String) -> StoreError {
        StoreError::Damaged {
            path: self.index.path().to_path_buf(),
            detail,
        }
    }

    fn block(&self, location_bytes: &[u8]) -> Result<&'a [u8], StoreError> {
        let location = Location::decode(location_bytes)
            .ok_or_else(|| self.damaged("bad block location".into()))?;
        self.index.slice(location)
    }

    /// The value stored under `key`.
    pub fn get(&self, key: &[u8]) -> Result<Option<&'a [u8]>, StoreError> {
        let Some((_, location)) = self
            .tree
            .range(..=key)
            .next_back()
            .transpose()
            .map_err(StoreError::sled(self.index.path()))?
        else {
            return Ok(None);
        };
        let block = self.block(&location)?;
        let mut found = None;
        let intact = for_each_entry(block, &mut |k, v| match k.cmp(key) {
            std::cmp::Ordering::Less => true,
            std::cmp::Ordering::Equal => {
                found = Some(v);
                false
            }
            std::cmp::Ordering::Greater => false,
        });
        if !intact {
            return Err(self.damaged("an index block is damaged".into()));
        }
        Ok(found)
    }

    /// The first entry whose key is at least `key`.
    pub fn seek(&self, key: &[u8]) -> Result<Option<(Vec<u8>, Vec<u8>)>, StoreError> {
        let mut found = None;
        self.scan_from(key, &mut |k, v| {
            found = Some((k.to_vec(), v.to_vec()));
            false
        })?;
        Ok(found)
    }

    /// Visits entries with keys starting with `prefix`, in order, until `visit` returns false.
    pub fn scan_prefix(
        &self,
        prefix: &[u8],
        visit: &mut dyn FnMut(&[u8], &'a [u8]) -> bool,
    ) -> Result<(), StoreError> {
        self.scan_from(prefix, &mut |key, value| {
            key.starts_with(prefix) && visit(key, value)
        })
    }

    /// Visits entries with keys at least `start`, in order, until `visit` returns false.
    pub fn scan_from(
        &self,
        start: &[u8],
        visit: &mut dyn FnMut(&[u8], &'a [u8]) -> bool,
    ) -> Result<(), StoreError> {
        // The block holding `start` may begin before it.
        let first_block = self
            .tree
            .range(..=start)
            .next_back()
            .transpose()
            .map_err(StoreError::sled(self.index.path()))?
            .map(|(k, _)| k);
        let blocks = match &first_block {
            Some(first) => self.tree.range(first.as_ref()..),
            None => self.tree.range(start..),
        };
        for item in blocks {
            let (_, location) = item.map_err(StoreError::sled(self.index.path()))?;
            let block = self.block(&location)?;
            let mut go_on = true;
            let intact = for_each_entry(block, &mut |key, value| {
                if key < start {
                    return true;
                }
                go_on = visit(key, value);
                go_on
            });
            if !intact {
                return Err(self.damaged("an index block is damaged".into()));
            }
            if !go_on {
                break;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Table {
        _dir: tempfile::TempDir,
        _db: sled::Db,
        tree: Tree,
        index: MappedFile,
    }

    impl Table {
        fn reader(&self) -> BlockTable<'_> {
            BlockTable {
                tree: &self.tree,
                index: &self.index,
            }
        }
    }

    fn table_with(keys: &[String]) -> Table {
        table_of(keys, |key| format!("v{key}"))
    }

    fn table_of(keys: &[String], value: impl Fn(&str) -> String) -> Table {
        let dir = tempfile::tempdir().unwrap();
        let db = sled::Config::new().temporary(true).open().unwrap();
        let tree = db.open_tree("t").unwrap();
        let index = IndexFile::create(dir.path()).unwrap();
        let mut writer = BlockWriter::new(&tree, &index);
        for key in keys {
            writer.push(key.as_bytes(), value(key).as_bytes()).unwrap();
        }
        writer.finish().unwrap();
        index.finish().unwrap();
        let index = MappedFile::open(&dir.path().join(INDEX_FILE)).unwrap();
        Table {
            _dir: dir,
            _db: db,
            tree,
            index,
        }
    }

    #[test]
    fn get_seek_and_scan_across_blocks() {
        let keys: Vec<String> = (0..5000).map(|i| format!("k{i:06}")).collect();
        let table = table_with(&keys);
        let t = table.reader();
        assert!(
            table.tree.len() > 5,
            "entries are spread over several blocks"
        );
        assert!(table.tree.len() < 500, "but far fewer blocks than entries");
        for key in ["k000000", "k001234", "k004999"] {
            assert_eq!(
                t.get(key.as_bytes()).unwrap(),
                Some(format!("v{key}").as_bytes())
            );
        }
        assert_eq!(t.get(b"k0012345").unwrap(), None);
        assert_eq!(t.get(b"a").unwrap(), None);
        assert_eq!(t.get(b"z").unwrap(), None);
        assert_eq!(t.seek(b"k0012345").unwrap().unwrap().0, b"k001235");
        let mut seen = Vec::new();
        t.scan_prefix(b"k0012", &mut |k, _| {
            seen.push(String::from_utf8(k.to_vec()).unwrap());
            true
        })
        .unwrap();
        assert_eq!(seen.len(), 100);
        assert_eq!(seen[0], "k001200");
        assert_eq!(seen[99], "k001299");
    }

    #[test]
    fn front_coding_stores_shared_prefixes_once() {
        let keys: Vec<String> = (0..2000)
            .map(|i| format!("identifier\0urn:oid:1.2.250.1.71.4.2.1|8{i:011}"))
            .collect();
        let table = table_of(&keys, |_| "v".into());
        let size = std::fs::metadata(table.index.path()).unwrap().len();
        let raw: usize = keys.iter().map(|k| k.len() + 1).sum();
        assert!((size as usize) * 3 < raw, "{size} bytes for {raw} raw");
        for key in [&keys[0], &keys[777], &keys[1999]] {
            assert_eq!(table.reader().get(key.as_bytes()).unwrap(), Some(&b"v"[..]));
        }
    }

    #[test]
    fn varints_round_trip() {
        for n in [
            0u64,
            1,
            127,
            128,
            300,
            16_383,
            16_384,
            u32::MAX as u64,
            u64::MAX,
        ] {
            let mut bytes = Vec::new();
            put_varint(&mut bytes, n);
            let mut at = 0;
            assert_eq!(get_varint(&bytes, &mut at), Some(n));
            assert_eq!(at, bytes.len());
        }
        assert_eq!(get_varint(&[0x80], &mut 0), None, "cut short");
    }

    #[test]
    fn empty_table() {
        let table = table_with(&[]);
        assert_eq!(table.reader().get(b"x").unwrap(), None);
        assert_eq!(table.reader().seek(b"x").unwrap(), None);
    }
}
