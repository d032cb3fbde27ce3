//! Bucketed spill files: how the import groups rows by key without holding the file in memory.
//!
//! A person's rows are scattered through the RPPS file, so grouping needs all of them at once.
//! Instead of loading 1 GB, the first pass appends each row to one of N bucket files chosen by
//! a hash of its key; every row of a key lands in the same bucket, and a bucket (~1/N of the
//! file) is small enough to group in memory in the second pass.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// FNV-1a: stable across runs and platforms (bucket choice must not depend on a random seed).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| {
        (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

pub struct Buckets {
    paths: Vec<PathBuf>,
    writers: Vec<BufWriter<File>>,
}

impl Buckets {
    pub fn create(dir: &Path, prefix: &str, count: usize) -> std::io::Result<Buckets> {
        std::fs::create_dir_all(dir)?;
        let mut paths = Vec::with_capacity(count);
        let mut writers = Vec::with_capacity(count);
        for i in 0..count {
            let path = dir.join(format!("{prefix}-{i:04}"));
            writers.push(BufWriter::with_capacity(64 * 1024, File::create(&path)?));
            paths.push(path);
        }
        Ok(Buckets { paths, writers })
    }

    /// Appends `line_number \t text \n` to the bucket of `key`.
    pub fn push(&mut self, key: &str, line_number: u64, text: &str) -> std::io::Result<()> {
        let index = (fnv1a(key.as_bytes()) % self.writers.len() as u64) as usize;
        let out = &mut self.writers[index];
        write!(out, "{line_number}\t")?;
        out.write_all(text.as_bytes())?;
        out.write_all(b"\n")
    }

    /// Flushes and returns the bucket files.
    pub fn finish(self) -> std::io::Result<Vec<PathBuf>> {
        for mut writer in self.writers {
            writer.flush()?;
        }
        Ok(self.paths)
    }
}

/// Reads a bucket back: `(line number, text)` pairs in the order written.
pub fn read_bucket(contents: &str) -> impl Iterator<Item = (u64, &str)> {
    contents.lines().filter_map(|line| {
        let (number, text) = line.split_once('\t')?;
        Some((number.parse().ok()?, text))
    })
}

/// Number of buckets for a file of `size` bytes: about 8 MB each.
pub fn bucket_count(size: u64) -> usize {
    (size / (8 << 20)).clamp(1, 512) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_of_a_key_share_a_bucket() {
        let dir = tempfile::tempdir().unwrap();
        let mut buckets = Buckets::create(dir.path(), "p", 8).unwrap();
        for (n, key) in ["a", "b", "a", "c", "a"].iter().enumerate() {
            buckets
                .push(key, n as u64 + 1, &format!("{key}|row"))
                .unwrap();
        }
        let paths = buckets.finish().unwrap();
        let holding_a: Vec<_> = paths
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .filter(|c| c.contains("a|row"))
            .collect();
        assert_eq!(holding_a.len(), 1);
        let lines: Vec<(u64, &str)> = read_bucket(&holding_a[0])
            .filter(|(_, t)| t.starts_with('a'))
            .collect();
        assert_eq!(lines, [(1, "a|row"), (3, "a|row"), (5, "a|row")]);
    }
}
