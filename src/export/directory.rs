//! The export directory: where jobs write their files, and the one place the server deletes
//! files from while it serves. It deletes only what it created, recognised by a marker file it
//! writes inside each directory it makes: a mistyped `--export-dir` (a home directory, a shared
//! mount, the data directory) is refused at start-up instead of being emptied.
//!
//! Layout: the export directory holds [`ROOT_MARKER`] and one directory per job, each holding
//! [`JOB_MARKER`] and the job's NDJSON files. Directories are created `0700` and files `0600`:
//! an export may hold restricted elements, readable by the server's user only.

use std::fs::{DirBuilder, File, OpenOptions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The file that marks an export directory as this server's.
pub const ROOT_MARKER: &str = ".annuaire-exports";
/// The file that marks a job's directory as this server's.
pub const JOB_MARKER: &str = ".annuaire-export-job";
/// The name of the export directory inside the data directory (the default, and the only
/// place inside the data directory an export directory may be).
pub const DEFAULT_NAME: &str = "exports";
/// What the marker files say to someone who finds them.
const MARKER_TEXT: &[u8] =
    b"Created by annuaire for Bulk Data export files; the server deletes what it created here.\n";

/// Why the export directory cannot be used: the server does not start.
#[derive(Debug, thiserror::Error)]
pub enum ExportDirError {
    #[error(
        "invalid export directory {0}: `/` cannot hold exports (the server deletes expired exports there)"
    )]
    Root(PathBuf),
    #[error(
        "invalid export directory {path}: it is the data directory; use a directory of its own (by default {path}/{DEFAULT_NAME})"
    )]
    DataRoot { path: PathBuf },
    #[error(
        "invalid export directory {path}: it contains the data directory {data}; use a directory of its own (by default {data}/{DEFAULT_NAME})"
    )]
    ContainsData { path: PathBuf, data: PathBuf },
    #[error(
        "invalid export directory {path}: inside the data directory, exports go to {data}/{DEFAULT_NAME} only"
    )]
    InsideData { path: PathBuf, data: PathBuf },
    #[error("invalid export directory {0}: it is not a directory")]
    NotADirectory(PathBuf),
    #[error(
        "invalid export directory {0}: it is not empty and annuaire did not create it (it has no {ROOT_MARKER} file); the server deletes only what it created: give a new or empty directory, or empty this one"
    )]
    Foreign(PathBuf),
    #[error("cannot prepare the export directory {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// The export directory, checked and marked.
#[derive(Debug, Clone)]
pub struct ExportDir {
    root: PathBuf,
}

impl ExportDir {
    /// Checks `path` against the data directory `data`, creates it (or adopts it when empty)
    /// with its marker, and removes the job directories an earlier run left (their jobs died
    /// with it). Refused: `/`, the data directory, a directory containing it, one inside it other
    /// than `<data>/exports`, and an existing non-empty directory without the marker.
    pub fn open(path: &Path, data: &Path) -> Result<(ExportDir, usize), ExportDirError> {
        let io = |source| ExportDirError::Io {
            path: path.to_path_buf(),
            source,
        };
        let resolved = resolve(path).map_err(io)?;
        let data = data.canonicalize().map_err(io)?;
        check_place(&resolved, &data)?;
        let default_place = resolved == data.join(DEFAULT_NAME);
        let root = ExportDir { root: resolved };
        root.claim(default_place).map_err(|e| match e {
            Claim::Refused(e) => e,
            Claim::Io(source) => io(source),
        })?;
        let removed = root.remove_leftovers();
        Ok((root, removed))
    }

    pub fn path(&self) -> &Path {
        &self.root
    }

    /// Creates the export directory with its marker, or checks that an existing one is ours
    /// (or empty, then marks it). Ours, it is made `0700`. `<data>/exports` without the marker
    /// was written by a build before the markers (only the server writes inside the data
    /// directory): it is adopted, and what it holds is left alone, named in a warning.
    fn claim(&self, default_place: bool) -> Result<(), Claim> {
        let root = &self.root;
        match std::fs::symlink_metadata(root) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(root)
                    .map_err(Claim::Io)?;
            }
            Err(e) => return Err(Claim::Io(e)),
            Ok(meta) if !meta.is_dir() => {
                return Err(Claim::Refused(ExportDirError::NotADirectory(root.clone())));
            }
            Ok(_) if root.join(ROOT_MARKER).is_file() => {}
            Ok(_) => {
                let empty = std::fs::read_dir(root).map_err(Claim::Io)?.next().is_none();
                if !empty && !default_place {
                    return Err(Claim::Refused(ExportDirError::Foreign(root.clone())));
                }
                if !empty {
                    tracing::warn!(
                        "the export directory {} holds files of an earlier build, which this \
                         server will not delete: remove them once the service is stopped",
                        root.display()
                    );
                }
            }
        }
        std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o700))
            .map_err(Claim::Io)?;
        if !root.join(ROOT_MARKER).is_file() {
            write_marker(&root.join(ROOT_MARKER)).map_err(Claim::Io)?;
        }
        Ok(())
    }

    /// Removes the job directories found at start-up (each with its marker); anything else
    /// stays. Returns how many were removed.
    fn remove_leftovers(&self) -> usize {
        let Ok(entries) = std::fs::read_dir(&self.root) else {
            return 0;
        };
        entries
            .flatten()
            .filter(|entry| entry.file_type().is_ok_and(|t| t.is_dir()))
            .filter(|entry| self.remove_job(&entry.path()))
            .count()
    }

    /// Creates the directory of job `id` (`0700`, with its marker).
    pub fn create_job(&self, id: &str) -> io::Result<PathBuf> {
        let dir = self.root.join(id);
        DirBuilder::new().mode(0o700).create(&dir)?;
        write_marker(&dir.join(JOB_MARKER))?;
        Ok(dir)
    }

    /// Removes a job's directory: its marker and NDJSON files, then the directory if nothing
    /// else is left in it. A directory without the marker, or a file the server did not write,
    /// stays (with a warning). `true` when the directory is gone.
    pub fn remove_job(&self, dir: &Path) -> bool {
        if dir.parent() != Some(self.root.as_path()) || !dir.join(JOB_MARKER).is_file() {
            return false;
        }
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                let name = entry.file_name();
                let ours = name == JOB_MARKER
                    || Path::new(&name).extension().is_some_and(|e| e == "ndjson");
                if ours && entry.file_type().is_ok_and(|t| t.is_file()) {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        match std::fs::remove_dir(dir) {
            Ok(()) => true,
            Err(e) if e.kind() == io::ErrorKind::NotFound => true,
            Err(e) => {
                tracing::warn!(
                    "left the export directory {} in place ({e}): it holds files the server did not write",
                    dir.display()
                );
                false
            }
        }
    }

    /// Bytes available to the server's user on the export directory's file system.
    pub fn free_bytes(&self) -> io::Result<u64> {
        let stat = rustix::fs::statvfs(&self.root)?;
        Ok(stat.f_bavail.saturating_mul(stat.f_frsize))
    }
}

/// Why the export directory cannot be claimed.
enum Claim {
    Refused(ExportDirError),
    Io(io::Error),
}

/// Creates a job file, `0600`, failing if it exists.
pub fn create_file(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

fn write_marker(path: &Path) -> io::Result<()> {
    use std::io::Write;
    create_file(path)?.write_all(MARKER_TEXT)
}

/// Refuses `/`, the data directory, a directory containing it, and one inside it other than
/// `<data>/exports`.
fn check_place(path: &Path, data: &Path) -> Result<(), ExportDirError> {
    if path.parent().is_none() {
        return Err(ExportDirError::Root(path.to_path_buf()));
    }
    if path == data {
        return Err(ExportDirError::DataRoot {
            path: path.to_path_buf(),
        });
    }
    if data.starts_with(path) {
        return Err(ExportDirError::ContainsData {
            path: path.to_path_buf(),
            data: data.to_path_buf(),
        });
    }
    if path.starts_with(data) && path != data.join(DEFAULT_NAME) {
        return Err(ExportDirError::InsideData {
            path: path.to_path_buf(),
            data: data.to_path_buf(),
        });
    }
    Ok(())
}

/// `path` made absolute with its symbolic links resolved, also when its last components do
/// not exist yet (they are created later): the longest existing prefix is canonicalized. A
/// `..` in the part that does not exist is refused (it could not be resolved).
fn resolve(path: &Path) -> io::Result<PathBuf> {
    let absolute = std::path::absolute(path)?;
    let mut existing = absolute.as_path();
    let mut missing = Vec::new();
    let base = loop {
        match existing.canonicalize() {
            Ok(base) => break base,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                // `file_name` is `None` for a path ending in `..`.
                let (Some(parent), Some(name)) = (existing.parent(), existing.file_name()) else {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "`..` in the part of the path that does not exist yet",
                    ));
                };
                missing.push(name.to_owned());
                existing = parent;
            }
            Err(e) => return Err(e),
        }
    };
    Ok(missing.into_iter().rev().fold(base, |p, name| p.join(name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_that_hold_or_are_the_data_are_refused() {
        let data = Path::new("/srv/annuaire/data");
        let refused = |p: &str| check_place(Path::new(p), data).is_err();
        assert!(refused("/"));
        assert!(refused("/srv/annuaire/data"));
        assert!(refused("/srv/annuaire"));
        assert!(refused("/srv"));
        assert!(refused("/srv/annuaire/data/generations"));
        assert!(refused("/srv/annuaire/data/exports/x"));
        assert!(!refused("/srv/annuaire/data/exports"));
        assert!(!refused("/srv/annuaire/exports"));
        assert!(!refused("/var/tmp/annuaire-exports"));
    }

    #[test]
    fn a_path_not_yet_created_resolves_through_its_existing_part() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().canonicalize().unwrap();
        assert_eq!(
            resolve(&dir.path().join("a/b")).unwrap(),
            real.join("a").join("b")
        );
        assert_eq!(
            resolve(&dir.path().join("a/../b")).unwrap_err().kind(),
            io::ErrorKind::InvalidInput
        );
        assert_eq!(
            resolve(&dir.path().join("..")).unwrap(),
            real.parent().unwrap()
        );
    }
}
