//! The data directory: import generations, the `CURRENT` pointer and the process locks.
//!
//! ```text
//! data/
//!   CURRENT                 name of the generation being served ("gen-000002")
//!   serve.lock              held by the one `annuaire serve` of this directory
//!   import.lock             held by the one running `annuaire import`
//!   generations/
//!     gen-000001/           a complete, flushed generation: sled database, resources.zst and
//!                           resources.dict, versions.bin, history.bin, labels.json (the codes'
//!                           labels, for people), generation.json
//!     gen-000002/
//!     gen-000003/           being written: not in CURRENT until complete
//!   history/
//!     seg-000002.bin        versions the import of generation 2 superseded (see `history`)
//! ```
//!
//! A server holds a shared lock on `in-use.lock` inside the generation it serves; old
//! generations are deleted only when that lock can be taken exclusively, so a database is
//! never pulled from under a running server. Generations and segments newer than `CURRENT`
//! belong to an import in progress, or to one that died: only a process holding `import.lock`
//! removes them ([`DataDir::remove_leftovers`]).

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::error::StoreError;
use super::format::{
    CURRENT_FILE, CURSOR_KEY_FILE, GENERATIONS_DIR, HISTORY_DIR, IMPORT_LOCK, IMPORT_REPORT_FILE,
    IN_USE_LOCK, SERVE_LOCK, generation_name, generation_number, temporary,
};
use super::record::Millis;

/// How an import ended: written by `annuaire import` into the data directory, read by the
/// servers of that directory for `/metrics`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ImportReport {
    /// `completed`, `unchanged` (the files of the generation served), `refused` (the shrink
    /// guard) or `failed`.
    pub outcome: String,
    /// When it ended, in milliseconds since the Unix epoch.
    pub finished_ms: i64,
    pub duration_seconds: f64,
    /// The id of the generation it wrote, when it completed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generation: Option<String>,
    /// Why it did not complete.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl ImportReport {
    pub fn succeeded(&self) -> bool {
        matches!(self.outcome.as_str(), "completed" | "unchanged")
    }

    pub fn finished(&self) -> Millis {
        Millis(self.finished_ms)
    }
}

#[derive(Debug, Clone)]
pub struct DataDir {
    root: PathBuf,
}

/// An exclusive process lock; released when dropped (or when the process dies, however it dies).
#[derive(Debug)]
pub struct ProcessLock {
    _file: File,
}

impl DataDir {
    /// Opens (creating it if needed) a data directory. The directories it creates are the
    /// owner's only (0700): the store holds restricted elements and the cursor key.
    pub fn create(root: &Path) -> Result<DataDir, StoreError> {
        use std::os::unix::fs::DirBuilderExt;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(root.join(GENERATIONS_DIR))
            .map_err(StoreError::io("cannot create", root))?;
        Ok(DataDir {
            root: root.to_path_buf(),
        })
    }

    /// A data directory that exists, opened without creating anything.
    pub fn at(root: &Path) -> DataDir {
        DataDir {
            root: root.to_path_buf(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Records how the last import ended (`last-import.json`), for `/metrics`. Written by the
    /// import process; a failure to write it is only logged, never fails the import.
    pub fn write_import_report(&self, report: &ImportReport) {
        let path = self.root.join(IMPORT_REPORT_FILE);
        let tmp = self.root.join(temporary(IMPORT_REPORT_FILE));
        let text = serde_json::to_vec_pretty(report).expect("a report serializes");
        if let Err(e) = fs::write(&tmp, text).and_then(|()| fs::rename(&tmp, &path)) {
            tracing::warn!(
                "cannot record the import's outcome in {}: {e}",
                path.display()
            );
        }
    }

    /// How the last import ended, if one was recorded.
    pub fn import_report(&self) -> Option<ImportReport> {
        let text = fs::read(self.root.join(IMPORT_REPORT_FILE)).ok()?;
        serde_json::from_slice(&text).ok()
    }

    /// The generation `CURRENT` points at, `None` before the first import.
    pub fn current(&self) -> Result<Option<String>, StoreError> {
        let path = self.root.join(CURRENT_FILE);
        match fs::read_to_string(&path) {
            Ok(text) => {
                let name = text.trim().to_owned();
                if !is_generation_name(&name) || !self.generation_path(&name).is_dir() {
                    return Err(StoreError::Damaged {
                        path: self.root.clone(),
                        detail: format!(
                            "CURRENT names `{name}`, which is not a generation in generations/"
                        ),
                    });
                }
                Ok(Some(name))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::io("cannot read", path)(e)),
        }
    }

    /// The secret paging cursors are signed with: `cursor.key`, 32 random bytes made the first
    /// time a server starts on the directory, readable by its owner only. Copies of the
    /// directory (replicas) share it, so their cursors are interchangeable.
    pub fn cursor_secret(&self) -> Result<Vec<u8>, StoreError> {
        let path = self.root.join(CURSOR_KEY_FILE);
        match fs::read(&path) {
            Ok(secret) if secret.len() == 32 => return Ok(secret),
            Ok(_) => {
                return Err(StoreError::Damaged {
                    path: path.clone(),
                    detail: "cursor.key must hold 32 bytes (delete it to make a new one)".into(),
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::io("cannot read", &path)(e)),
        }
        let mut secret = vec![0u8; 32];
        aws_lc_rs::rand::fill(&mut secret).map_err(|_| StoreError::Damaged {
            path: path.clone(),
            detail: "the system's random source failed".into(),
        })?;
        let tmp = self.root.join(temporary(CURSOR_KEY_FILE));
        {
            use std::os::unix::fs::OpenOptionsExt;
            let mut file = OpenOptions::new()
                .create(true)
                .truncate(true)
                .write(true)
                .mode(0o600)
                .open(&tmp)
                .map_err(StoreError::io("cannot write", &tmp))?;
            file.write_all(&secret)
                .and_then(|()| file.sync_all())
                .map_err(StoreError::io("cannot write", &tmp))?;
        }
        fs::rename(&tmp, &path).map_err(StoreError::io("cannot write", &path))?;
        Ok(secret)
    }

    /// Where the history segments are (shared by the generations).
    pub fn history_dir(&self) -> PathBuf {
        self.root.join(HISTORY_DIR)
    }

    pub fn generation_path(&self, name: &str) -> PathBuf {
        self.root.join(GENERATIONS_DIR).join(name)
    }

    /// Generation directories present, oldest first.
    fn generations(&self) -> Result<Vec<(u64, String)>, StoreError> {
        let dir = self.root.join(GENERATIONS_DIR);
        let mut out = Vec::new();
        for entry in fs::read_dir(&dir).map_err(StoreError::io("cannot list", &dir))? {
            let entry = entry.map_err(StoreError::io("cannot list", &dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(number) = generation_number(&name) {
                out.push((number, name));
            }
        }
        out.sort();
        Ok(out)
    }

    /// Creates the directory of the next generation; its number is one more than any present.
    pub fn new_generation(&self) -> Result<(u64, PathBuf), StoreError> {
        let next = self.generations()?.last().map_or(1, |(n, _)| n + 1);
        let path = self.generation_path(&generation_name(next));
        fs::create_dir(&path).map_err(StoreError::io("cannot create", &path))?;
        Ok((next, path))
    }

    /// Makes `number` the served generation: writes `CURRENT.tmp`, syncs it, renames it over
    /// `CURRENT` and syncs the directory. Either the old or the new name is read, never a mix.
    pub fn switch_to(&self, number: u64) -> Result<(), StoreError> {
        let tmp = self.root.join(temporary(CURRENT_FILE));
        let mut file = File::create(&tmp).map_err(StoreError::io("cannot write", &tmp))?;
        writeln!(file, "{}", generation_name(number))
            .map_err(StoreError::io("cannot write", &tmp))?;
        file.sync_all()
            .map_err(StoreError::io("cannot sync", &tmp))?;
        let current = self.root.join(CURRENT_FILE);
        fs::rename(&tmp, &current).map_err(StoreError::io("cannot replace", &current))?;
        File::open(&self.root)
            .and_then(|dir| dir.sync_all())
            .map_err(StoreError::io("cannot sync", &self.root))?;
        Ok(())
    }

    /// Deletes the generations older than the current one that no server has open, then the
    /// history segments no remaining generation refers to. Returns the generations removed.
    pub fn collect_garbage(&self) -> Result<Vec<String>, StoreError> {
        let Some(current) = self.current()?.as_deref().and_then(generation_number) else {
            return Ok(Vec::new());
        };
        let mut removed = Vec::new();
        for (number, name) in self.generations()? {
            if number >= current {
                continue;
            }
            let path = self.generation_path(&name);
            let Ok(lock) = open_lock_file(&path.join(IN_USE_LOCK)) else {
                continue;
            };
            if lock.try_lock().is_err() {
                continue; // a server is still reading it
            }
            fs::remove_dir_all(&path).map_err(StoreError::io("cannot remove", &path))?;
            removed.push(name);
        }
        self.remove_segments(|number| number <= current)?;
        Ok(removed)
    }

    /// Removes what an import that never completed left: generations and history segments
    /// newer than the current generation. Only under `import.lock` (no import is running).
    pub fn remove_leftovers(&self, _import: &ProcessLock) -> Result<Vec<String>, StoreError> {
        let current = self
            .current()?
            .as_deref()
            .and_then(generation_number)
            .unwrap_or(0);
        let mut removed = Vec::new();
        for (number, name) in self.generations()? {
            if number > current {
                let path = self.generation_path(&name);
                fs::remove_dir_all(&path).map_err(StoreError::io("cannot remove", &path))?;
                removed.push(name);
            }
        }
        self.remove_segments(|number| number > current)?;
        Ok(removed)
    }

    /// Deletes the history segments `candidate` selects that no generation on disk refers to.
    fn remove_segments(&self, candidate: impl Fn(u64) -> bool) -> Result<(), StoreError> {
        let dir = self.history_dir();
        let Ok(entries) = fs::read_dir(&dir) else {
            return Ok(());
        };
        let mut referenced = std::collections::BTreeSet::new();
        for (_, name) in self.generations()? {
            let info_path = self.generation_path(&name).join(super::format::INFO_FILE);
            if let Ok(text) = fs::read_to_string(&info_path)
                && let Ok(info) = serde_json::from_str::<super::info::GenerationInfo>(&text)
            {
                referenced.extend(info.history_segments);
            }
        }
        for entry in entries {
            let entry = entry.map_err(StoreError::io("cannot list", &dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if let Some(number) = super::format::segment_number(&name)
                && candidate(number)
                && !referenced.contains(&number)
            {
                fs::remove_file(entry.path())
                    .map_err(StoreError::io("cannot remove", entry.path()))?;
            }
        }
        Ok(())
    }

    /// Takes `import.lock` if no import holds it (a server cleaning up at start-up).
    pub fn try_lock_for_import(&self) -> Result<Option<ProcessLock>, StoreError> {
        match self.lock_for_import() {
            Ok(lock) => Ok(Some(lock)),
            Err(StoreError::Locked(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Marks a generation as in use by this process until the returned file is dropped.
    pub fn hold_generation(&self, name: &str) -> Result<File, StoreError> {
        let path = self.generation_path(name).join(IN_USE_LOCK);
        let file = open_lock_file(&path).map_err(StoreError::io("cannot open", &path))?;
        file.lock_shared()
            .map_err(StoreError::io("cannot lock", &path))?;
        Ok(file)
    }

    /// The lock only one `serve` of this directory may hold.
    pub fn lock_for_serving(&self) -> Result<ProcessLock, StoreError> {
        self.lock(
            SERVE_LOCK,
            "another `annuaire serve` is already serving this data directory",
        )
    }

    /// The lock only one `import` into this directory may hold.
    pub fn lock_for_import(&self) -> Result<ProcessLock, StoreError> {
        self.lock(
            IMPORT_LOCK,
            "another `annuaire import` is already writing into this data directory",
        )
    }

    fn lock(&self, file_name: &str, held_message: &str) -> Result<ProcessLock, StoreError> {
        let path = self.root.join(file_name);
        let file = open_lock_file(&path).map_err(StoreError::io("cannot open", &path))?;
        match file.try_lock() {
            Ok(()) => Ok(ProcessLock { _file: file }),
            Err(TryLockError::WouldBlock) => Err(StoreError::Locked(format!(
                "{held_message} ({}): stop it first or use another --data directory",
                self.root.display()
            ))),
            Err(TryLockError::Error(e)) => Err(StoreError::io("cannot lock", path)(e)),
        }
    }
}

/// Opens (creating it if needed, never truncating) a file that is only ever locked.
fn open_lock_file(path: &Path) -> std::io::Result<File> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
}

fn is_generation_name(name: &str) -> bool {
    generation_number(name).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_data_directory_and_its_cursor_key_are_the_owners_only() {
        use std::os::unix::fs::PermissionsExt;
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("data");
        let dir = DataDir::create(&root).unwrap();
        dir.cursor_secret().unwrap();
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&root), 0o700);
        assert_eq!(mode(&root.join(GENERATIONS_DIR)), 0o700);
        assert_eq!(mode(&root.join(CURSOR_KEY_FILE)), 0o600);
    }

    #[test]
    fn generations_are_numbered_and_switched() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::create(tmp.path()).unwrap();
        assert_eq!(dir.current().unwrap(), None);
        let (first, _) = dir.new_generation().unwrap();
        let (second, _) = dir.new_generation().unwrap();
        assert_eq!((first, second), (1, 2));
        dir.switch_to(first).unwrap();
        assert_eq!(dir.current().unwrap().as_deref(), Some("gen-000001"));
        // Generation 2 is newer than the current one: an import's, never collected...
        assert!(dir.collect_garbage().unwrap().is_empty());
        // ...but removed as a leftover by whoever holds the import lock.
        let import = dir.lock_for_import().unwrap();
        assert_eq!(dir.remove_leftovers(&import).unwrap(), ["gen-000002"]);
        assert!(dir.generation_path("gen-000001").is_dir());
    }

    #[test]
    fn generations_in_use_are_not_collected() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::create(tmp.path()).unwrap();
        dir.new_generation().unwrap();
        let (second, _) = dir.new_generation().unwrap();
        dir.switch_to(second).unwrap();
        let held = dir.hold_generation("gen-000001").unwrap();
        assert!(dir.collect_garbage().unwrap().is_empty());
        drop(held);
        assert_eq!(dir.collect_garbage().unwrap(), ["gen-000001"]);
    }

    #[test]
    fn a_second_server_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::create(tmp.path()).unwrap();
        let _first = dir.lock_for_serving().unwrap();
        let err = dir.lock_for_serving().unwrap_err();
        assert!(err.to_string().contains("already serving"), "{err}");
        // Serving and importing are independent: an import may write a new generation.
        assert!(dir.lock_for_import().is_ok());
    }

    #[test]
    fn damaged_pointer_is_reported() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = DataDir::create(tmp.path()).unwrap();
        fs::write(tmp.path().join(CURRENT_FILE), "gen-000042\n").unwrap();
        assert!(matches!(dir.current(), Err(StoreError::Damaged { .. })));
    }
}
