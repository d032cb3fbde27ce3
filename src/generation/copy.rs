//! Copying the served generation of one data directory into another: how a replica gets the
//! data without importing it (a new replica joining, or replicas fed by one import host).
//!
//! The copy keeps the source's generation number and history segment numbers, so its files
//! are byte for byte the source's and it answers exactly as the source does (same ids,
//! versions, ETags, cursors). It is written under the destination's import lock like an
//! import, verified by opening it, and switched to atomically; a server on the destination
//! picks it up within seconds. A copy that dies half-way is removed like a dead import.

use std::fs;
use std::io::Read;
use std::path::Path;

use super::datadir::DataDir;
use super::error::StoreError;
use super::format::{HISTORY_DIR, IN_USE_LOCK, segment_path};
use super::info::GenerationInfo;
use super::reader::Generation;

/// What a copy did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Copied {
    /// The destination now serves the copied generation.
    Switched {
        name: String,
        id: String,
        bytes: u64,
    },
    /// The destination already served that generation.
    AlreadyServed { name: String, id: String },
}

/// Copies the generation `source` serves into `destination` (created if missing) and makes
/// it the destination's current one.
pub fn copy_current(source: &Path, destination: &Path) -> Result<Copied, StoreError> {
    let source = DataDir::at(source);
    let (name, _held) = hold_current(&source)?;
    let from = source.generation_path(&name);
    let info = GenerationInfo::read(&from)?;
    let id = info.id().into_owned();

    let target = DataDir::create(destination)?;
    let lock = target.lock_for_import()?;
    target.remove_leftovers(&lock)?;
    if let Some(current) = target.current()? {
        let served = GenerationInfo::read(&target.generation_path(&current))?;
        if served.id() == id {
            return Ok(Copied::AlreadyServed { name: current, id });
        }
        if served.number >= info.number {
            return Err(conflict(
                &target,
                format!(
                    "it serves {current}, numbered at or after the copy's {name}: copies keep their number, so a directory fed by copies must not import on its own"
                ),
            ));
        }
    }
    let mut bytes = 0;
    let history = target.history_dir();
    fs::create_dir_all(&history).map_err(StoreError::io("cannot create", &history))?;
    for &segment in &info.history_segments {
        let from_segment = segment_path(&source.root().join(HISTORY_DIR), segment);
        let to_segment = segment_path(&history, segment);
        if to_segment.exists() {
            if !same_bytes(&from_segment, &to_segment)? {
                return Err(conflict(
                    &target,
                    format!(
                        "its history segment {} differs from the source's: it has an import history of its own",
                        to_segment.display()
                    ),
                ));
            }
            continue;
        }
        bytes += copy_file(&from_segment, &to_segment)?;
    }
    let to = target.generation_path(&name);
    let copied = copy_tree(&from, &to);
    let verified = copied.and_then(|copied| {
        bytes += copied;
        verify(&to, &target, &info)
    });
    if let Err(e) = verified {
        let _ = fs::remove_dir_all(&to);
        return Err(e);
    }
    target.switch_to(info.number)?;
    target.collect_garbage()?;
    Ok(Copied::Switched { name, id, bytes })
}

/// The source's current generation, held open so that an import finishing on the source
/// meanwhile cannot delete it. `CURRENT` is read again once the hold is taken: an import may
/// have switched (and begun deleting the generation read first) in between.
fn hold_current(source: &DataDir) -> Result<(String, fs::File), StoreError> {
    loop {
        let name = source
            .current()?
            .ok_or_else(|| StoreError::NoData(source.root().to_path_buf()))?;
        let held = source.hold_generation(&name)?;
        if source.current()?.as_deref() == Some(name.as_str()) {
            return Ok((name, held));
        }
    }
}

fn conflict(target: &DataDir, detail: String) -> StoreError {
    StoreError::Locked(format!(
        "cannot copy into {}: {detail}. Copy into an empty directory instead.",
        target.root().display()
    ))
}

/// Opens the copy as a server would and reads a document of each type.
fn verify(path: &Path, target: &DataDir, expected: &GenerationInfo) -> Result<(), StoreError> {
    let generation = Generation::open(path, &target.history_dir(), 16 << 20, None)?;
    let damaged = |detail: String| StoreError::Damaged {
        path: path.to_path_buf(),
        detail,
    };
    if generation.info() != expected {
        return Err(damaged(
            "the copied description differs from the source's".into(),
        ));
    }
    for rtype in crate::fhir::ResourceType::ALL {
        if generation.document_count(rtype) > 0 && generation.document(rtype, 0)?.is_none() {
            return Err(damaged(format!("the copy has no first {rtype}")));
        }
    }
    Ok(())
}

/// Copies a directory tree (without the source's `in-use.lock`), syncing every file; returns
/// the bytes copied.
fn copy_tree(from: &Path, to: &Path) -> Result<u64, StoreError> {
    fs::create_dir_all(to).map_err(StoreError::io("cannot create", to))?;
    let mut bytes = 0;
    for entry in fs::read_dir(from).map_err(StoreError::io("cannot list", from))? {
        let entry = entry.map_err(StoreError::io("cannot list", from))?;
        let name = entry.file_name();
        if name == IN_USE_LOCK {
            continue;
        }
        let kind = entry
            .file_type()
            .map_err(StoreError::io("cannot read", entry.path()))?;
        if kind.is_dir() {
            bytes += copy_tree(&entry.path(), &to.join(&name))?;
        } else if kind.is_file() {
            bytes += copy_file(&entry.path(), &to.join(&name))?;
        }
    }
    fs::File::open(to)
        .and_then(|dir| dir.sync_all())
        .map_err(StoreError::io("cannot sync", to))?;
    Ok(bytes)
}

fn copy_file(from: &Path, to: &Path) -> Result<u64, StoreError> {
    let bytes = fs::copy(from, to).map_err(StoreError::io("cannot copy", from))?;
    fs::File::open(to)
        .and_then(|file| file.sync_all())
        .map_err(StoreError::io("cannot sync", to))?;
    Ok(bytes)
}

fn same_bytes(a: &Path, b: &Path) -> Result<bool, StoreError> {
    let open = |path: &Path| fs::File::open(path).map_err(StoreError::io("cannot read", path));
    let (mut a_file, mut b_file) = (open(a)?, open(b)?);
    let length = |file: &fs::File, path: &Path| {
        file.metadata()
            .map(|m| m.len())
            .map_err(StoreError::io("cannot read", path))
    };
    if length(&a_file, a)? != length(&b_file, b)? {
        return Ok(false);
    }
    let (mut a_buffer, mut b_buffer) = (vec![0u8; 1 << 16], vec![0u8; 1 << 16]);
    loop {
        let read = a_file
            .read(&mut a_buffer)
            .map_err(StoreError::io("cannot read", a))?;
        if read == 0 {
            return Ok(true);
        }
        b_file
            .read_exact(&mut b_buffer[..read])
            .map_err(StoreError::io("cannot read", b))?;
        if a_buffer[..read] != b_buffer[..read] {
            return Ok(false);
        }
    }
}
