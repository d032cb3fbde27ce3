//! Sorted key-value entries packed into sled values ("blocks").
//!
//! sled copies a tree node on every insert; measured on the index build, one sled entry per
//! index term made sled the bottleneck (13 µs per insert, 3 GB for a tenth of the national
//! data). Every table of a generation is written once, in key order, and never updated, so
//! entries are packed: consecutive entries fill a block of about [`BLOCK_BYTES`], stored under
//! its first key. A lookup finds the block whose first key is the greatest not above the key
//! sought (one sled range step) and searches inside it.

use sled::Tree;

/// Target size of a block: small enough to decode per lookup in microseconds, large enough
/// that sled holds ~100 times fewer entries.
pub const BLOCK_BYTES: usize = 8 * 1024;

/// Writes entries, which must come in strictly ascending key order.
pub struct BlockWriter<'t> {
    tree: &'t Tree,
    first_key: Vec<u8>,
    count: u32,
    block: Vec<u8>,
    last_key: Vec<u8>,
}

impl<'t> BlockWriter<'t> {
    pub fn new(tree: &'t Tree) -> BlockWriter<'t> {
        BlockWriter {
            tree,
            first_key: Vec::new(),
            count: 0,
            block: Vec::with_capacity(BLOCK_BYTES * 2),
            last_key: Vec::new(),
        }
    }

    pub fn push(&mut self, key: &[u8], value: &[u8]) -> sled::Result<()> {
        debug_assert!(
            self.count == 0 || key > self.last_key.as_slice(),
            "keys must ascend"
        );
        if self.count == 0 {
            self.first_key.clear();
            self.first_key.extend_from_slice(key);
        }
        let key_len = u32::try_from(key.len()).expect("a key is smaller than 4 GB");
        self.block.extend_from_slice(&key_len.to_le_bytes());
        self.block.extend_from_slice(key);
        self.block
            .extend_from_slice(&(value.len() as u32).to_le_bytes());
        self.block.extend_from_slice(value);
        self.count += 1;
        self.last_key.clear();
        self.last_key.extend_from_slice(key);
        if self.block.len() >= BLOCK_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> sled::Result<()> {
        if self.count == 0 {
            return Ok(());
        }
        let mut value = Vec::with_capacity(4 + self.block.len());
        value.extend_from_slice(&self.count.to_le_bytes());
        value.extend_from_slice(&self.block);
        self.tree.insert(self.first_key.as_slice(), value)?;
        self.block.clear();
        self.count = 0;
        Ok(())
    }

    pub fn finish(mut self) -> sled::Result<()> {
        self.flush()
    }
}

/// The entries of one block, decoded lazily.
fn entries(block: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    let count = block
        .get(..4)
        .map_or(0, |b| u32::from_le_bytes(b.try_into().expect("4 bytes")));
    let mut at = 4usize;
    (0..count).map_while(move |_| {
        let key_len = u32::from_le_bytes(block.get(at..at + 4)?.try_into().ok()?) as usize;
        let key = block.get(at + 4..at + 4 + key_len)?;
        at += 4 + key_len;
        let value_len = u32::from_le_bytes(block.get(at..at + 4)?.try_into().ok()?) as usize;
        let value = block.get(at + 4..at + 4 + value_len)?;
        at += 4 + value_len;
        Some((key, value))
    })
}

/// The value stored under `key`.
pub fn get(tree: &Tree, key: &[u8]) -> sled::Result<Option<Vec<u8>>> {
    let Some((_, block)) = tree.range(..=key).next_back().transpose()? else {
        return Ok(None);
    };
    Ok(entries(&block)
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.to_vec()))
}

/// The first entry whose key is at least `key`.
pub fn seek(tree: &Tree, key: &[u8]) -> sled::Result<Option<(Vec<u8>, Vec<u8>)>> {
    let mut found = None;
    scan_from(tree, key, &mut |k, v| {
        found = Some((k.to_vec(), v.to_vec()));
        false
    })?;
    Ok(found)
}

/// Visits entries with keys starting with `prefix`, in order, until `visit` returns false.
pub fn scan_prefix(
    tree: &Tree,
    prefix: &[u8],
    visit: &mut dyn FnMut(&[u8], &[u8]) -> bool,
) -> sled::Result<()> {
    scan_from(tree, prefix, &mut |key, value| {
        key.starts_with(prefix) && visit(key, value)
    })
}

/// Visits entries with keys at least `start`, in order, until `visit` returns false.
pub fn scan_from(
    tree: &Tree,
    start: &[u8],
    visit: &mut dyn FnMut(&[u8], &[u8]) -> bool,
) -> sled::Result<()> {
    // The block holding `start` may begin before it.
    let first_block = tree
        .range(..=start)
        .next_back()
        .transpose()?
        .map(|(k, _)| k);
    let blocks = match &first_block {
        Some(first) => tree.range(first.as_ref()..),
        None => tree.range(start..),
    };
    for block in blocks {
        let (_, block) = block?;
        for (key, value) in entries(&block) {
            if key < start {
                continue;
            }
            if !visit(key, value) {
                return Ok(());
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree_with(keys: &[String]) -> (sled::Db, Tree) {
        let db = sled::Config::new().temporary(true).open().unwrap();
        let tree = db.open_tree("t").unwrap();
        let mut writer = BlockWriter::new(&tree);
        for key in keys {
            writer
                .push(key.as_bytes(), format!("v{key}").as_bytes())
                .unwrap();
        }
        writer.finish().unwrap();
        (db, tree)
    }

    #[test]
    fn get_seek_and_scan_across_blocks() {
        let keys: Vec<String> = (0..5000).map(|i| format!("k{i:06}")).collect();
        let (_db, tree) = tree_with(&keys);
        assert!(tree.len() > 10, "entries are spread over several blocks");
        assert!(tree.len() < 500, "but far fewer blocks than entries");
        for key in ["k000000", "k001234", "k004999"] {
            assert_eq!(
                get(&tree, key.as_bytes()).unwrap(),
                Some(format!("v{key}").into_bytes())
            );
        }
        assert_eq!(get(&tree, b"k0012345").unwrap(), None);
        assert_eq!(get(&tree, b"a").unwrap(), None);
        assert_eq!(get(&tree, b"z").unwrap(), None);
        assert_eq!(seek(&tree, b"k0012345").unwrap().unwrap().0, b"k001235");
        let mut seen = Vec::new();
        scan_prefix(&tree, b"k0012", &mut |k, _| {
            seen.push(String::from_utf8(k.to_vec()).unwrap());
            true
        })
        .unwrap();
        assert_eq!(seen.len(), 100);
        assert_eq!(seen[0], "k001200");
        assert_eq!(seen[99], "k001299");
    }

    #[test]
    fn empty_tree() {
        let (_db, tree) = tree_with(&[]);
        assert_eq!(get(&tree, b"x").unwrap(), None);
        assert_eq!(seek(&tree, b"x").unwrap(), None);
    }
}
