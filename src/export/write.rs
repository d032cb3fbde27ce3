//! Writing a job's files: one NDJSON file per type from the stored bytes of one generation,
//! and the deleted resources as Bundles, watching the free disk space as it goes.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::sync::atomic::Ordering;

use serde_json::{Value, json};

use super::directory::{ExportDir, create_file};
use super::job::{Job, OutputFile};
use crate::fhir::ResourceType;
use crate::generation::history::Kind;
use crate::generation::{Generation, Millis, StoreError};
use crate::search::SearchError;
use crate::search::history::updated_after;
use crate::search::index::reader::IndexReader;
use crate::search::limits::Budget;

/// Resources per deleted-resources Bundle (one Bundle per NDJSON line).
const DELETED_PER_BUNDLE: usize = 1000;
/// Bytes written between two looks at the free disk space.
const DISK_CHECK_EVERY: u64 = 8 << 20;

#[derive(Debug, thiserror::Error)]
pub(super) enum WriteError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Search(#[from] SearchError),
    #[error("cannot write {path}: {source}")]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{free} bytes left on the export directory's disk, under the {minimum} to keep free")]
    LowDisk { free: u64, minimum: u64 },
    #[error("cancelled")]
    Cancelled,
}

impl WriteError {
    /// What a client polling the job is told: no path, the details are in the log.
    pub(super) fn for_client(&self) -> String {
        match self {
            WriteError::LowDisk { .. } => "the server ran short of disk space and stopped this export (its files are removed); try again later".into(),
            WriteError::Io { source, .. } if source.kind() == std::io::ErrorKind::StorageFull => {
                "the server ran out of disk space and stopped this export (its files are removed); try again later".into()
            }
            WriteError::Cancelled => "the export was cancelled".into(),
            _ => "the export could not be written; the cause is in the server's log".into(),
        }
    }
}

/// The free space to keep on the export directory's disk, looked at every
/// [`DISK_CHECK_EVERY`] bytes written.
pub(super) struct DiskWatch<'a> {
    pub dir: &'a ExportDir,
    pub min_free: u64,
    /// Bytes written since the last look.
    pending: u64,
}

impl<'a> DiskWatch<'a> {
    pub fn new(dir: &'a ExportDir, min_free: u64) -> DiskWatch<'a> {
        DiskWatch {
            dir,
            min_free,
            pending: 0,
        }
    }

    /// Counts `bytes` written, and stops the job when the free space is under the minimum.
    fn wrote(&mut self, bytes: u64) -> Result<(), WriteError> {
        self.pending += bytes;
        if self.pending < DISK_CHECK_EVERY {
            return Ok(());
        }
        self.pending = 0;
        self.check()
    }

    /// Fails when the disk has less than the minimum free (a disk that cannot be asked is
    /// not refused: the write itself fails if it is full).
    pub fn check(&self) -> Result<(), WriteError> {
        match self.dir.free_bytes() {
            Ok(free) if free < self.min_free => Err(WriteError::LowDisk {
                free,
                minimum: self.min_free,
            }),
            Ok(_) => Ok(()),
            Err(e) => {
                tracing::warn!("cannot read the free space of the export directory: {e}");
                Ok(())
            }
        }
    }
}

/// A job's file being written, `0600`, its path in its errors.
struct Output {
    path: std::path::PathBuf,
    out: BufWriter<File>,
}

impl Output {
    fn create(job: &Job, name: &str) -> Result<Output, WriteError> {
        let path = job.dir.join(name);
        let file = create_file(&path).map_err(|source| WriteError::Io {
            path: path.clone(),
            source,
        })?;
        Ok(Output {
            path,
            out: BufWriter::with_capacity(1 << 20, file),
        })
    }

    fn write(&mut self, bytes: &[u8], disk: &mut DiskWatch<'_>) -> Result<(), WriteError> {
        self.out
            .write_all(bytes)
            .map_err(|source| self.error(source))?;
        disk.wrote(bytes.len() as u64)
    }

    fn finish(mut self) -> Result<(), WriteError> {
        self.out.flush().map_err(|source| self.error(source))
    }

    fn error(&self, source: std::io::Error) -> WriteError {
        WriteError::Io {
            path: self.path.clone(),
            source,
        }
    }
}

/// Writes a job's files: one per type (resources changed after `since`, when given), and the
/// deleted resources when `since` is given.
pub(super) fn write_files(
    job: &Job,
    store: &Generation,
    disk: &mut DiskWatch<'_>,
) -> Result<Vec<OutputFile>, WriteError> {
    let mut files = Vec::new();
    // An export runs in the background: no deadline (a cancelled job stops below).
    let budget = Budget::unlimited();
    let index = IndexReader::new(store, &budget);
    let redaction = &job.rights.redaction;
    for rtype in &job.request.types {
        let name = format!("{rtype}.ndjson");
        let mut out = Output::create(job, &name)?;
        let mut count = 0;
        let mut line = Vec::with_capacity(4096);
        // With `_since`, only the resources updated after it are read.
        let documents = match job.request.since {
            Some(since) => updated_after(&index, *rtype, since)?,
            None => (0..store.document_count(*rtype)).collect(),
        };
        job.written.fetch_add(
            u64::from(store.document_count(*rtype)) - documents.len(),
            Ordering::Relaxed,
        );
        for (step, doc) in documents.iter().enumerate() {
            if step % 1024 == 0 && job.cancelled.load(Ordering::Relaxed) {
                return Err(WriteError::Cancelled);
            }
            job.written.fetch_add(1, Ordering::Relaxed);
            let Some((_, resource)) = store.document(*rtype, doc)? else {
                continue;
            };
            line.clear();
            if redaction.elements(*rtype).is_empty() {
                resource.write_json(&mut line);
            } else {
                line.extend_from_slice(&redaction.apply(*rtype, &resource.to_json()));
            }
            line.push(b'\n');
            out.write(&line, disk)?;
            count += 1;
        }
        out.finish()?;
        files.push(OutputFile {
            name,
            rtype: Some(*rtype),
            count,
        });
    }
    if let Some(since) = job.request.since {
        files.push(write_deleted(job, store, since, disk)?);
    }
    Ok(files)
}

/// The deletions after `since` of the exported types, as transaction Bundles of `DELETE`
/// entries (Bulk Data 2.0 `deleted`).
fn write_deleted(
    job: &Job,
    store: &Generation,
    since: Millis,
    disk: &mut DiskWatch<'_>,
) -> Result<OutputFile, WriteError> {
    let mut deleted: Vec<(ResourceType, String)> = Vec::new();
    store.scan_history_by_time(&[], &mut |entry| {
        if entry.version.last_updated <= since {
            return false;
        }
        if entry.kind == Kind::Deleted && job.request.types.contains(&entry.rtype) {
            deleted.push((entry.rtype, entry.id));
        }
        true
    })?;
    let name = "deleted.ndjson".to_owned();
    let mut out = Output::create(job, &name)?;
    for chunk in deleted.chunks(DELETED_PER_BUNDLE) {
        let entries: Vec<Value> = chunk
            .iter()
            .map(|(rtype, id)| json!({"request": {"method": "DELETE", "url": format!("{rtype}/{id}")}}))
            .collect();
        let bundle = json!({
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": entries,
        });
        let mut line = serde_json::to_vec(&bundle).expect("JSON serializes");
        line.push(b'\n');
        out.write(&line, disk)?;
    }
    out.finish()?;
    Ok(OutputFile {
        name,
        rtype: None,
        // Resources in the file: its Bundles.
        count: deleted.len().div_ceil(DELETED_PER_BUNDLE) as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_free_disk_space_is_watched_as_the_files_grow() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("data")).unwrap();
        let (exports, _) =
            ExportDir::open(&dir.path().join("exports"), &dir.path().join("data")).unwrap();
        let mut short = DiskWatch::new(&exports, u64::MAX);
        assert!(short.wrote(4096).is_ok(), "not looked at every line");
        let error = short.wrote(DISK_CHECK_EVERY).unwrap_err();
        assert!(matches!(error, WriteError::LowDisk { .. }), "{error}");
        let told = error.for_client();
        assert!(told.contains("disk space"), "{told}");
        assert!(!told.contains(&dir.path().display().to_string()), "{told}");
        let mut roomy = DiskWatch::new(&exports, 0);
        assert!(roomy.wrote(2 * DISK_CHECK_EVERY).is_ok());
    }
}
