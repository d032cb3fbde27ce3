//! Bulk Data export (HL7 FHIR Bulk Data Access 2.0.0, system level `GET /$export`): an
//! asynchronous job writes one NDJSON file per type from the stored bytes of one generation,
//! the client polls its status, downloads the files, and deletes the job (or lets it expire).
//!
//! A job pins the generation that was current when it was kicked off, so its files are one
//! consistent snapshot whatever imports happen meanwhile, and its `transactionTime` is that
//! generation's import time: a client that exports again with `_since=<transactionTime>` gets
//! exactly what later imports added, changed or deactivated, and in `deleted` what they
//! deleted. Resources are written as served (version spliced in, restricted elements removed
//! for a caller without the scope), never re-parsed unless redaction asks for it.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::RngCore;
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::auth::Identity;
use crate::clock::Clock;
use crate::fhir::ResourceType;
use crate::generation::history::Kind;
use crate::generation::{Generation, Millis, StoreError};
use crate::search::SearchError;
use crate::search::history::updated_after;
use crate::search::index::reader::IndexReader;
use crate::search::limits::Budget;
use crate::search::redact::Redaction;

/// Jobs running at once; one more is refused with 429 until one ends.
pub const MAX_RUNNING: usize = 2;
/// Resources per deleted-resources Bundle (one Bundle per NDJSON line).
const DELETED_PER_BUNDLE: usize = 1000;

/// What a client asked to export.
#[derive(Debug, Clone)]
pub struct ExportRequest {
    pub types: Vec<ResourceType>,
    /// Only resources whose `lastUpdated` is later than this.
    pub since: Option<Millis>,
    /// The kick-off URL, echoed in the manifest.
    pub request_url: String,
    /// The FHIR base URL files are served under.
    pub base: String,
}

/// One output file of a job.
#[derive(Debug, Clone)]
pub struct OutputFile {
    pub name: String,
    /// The resource type, or `None` for the deleted-resources Bundles.
    pub rtype: Option<ResourceType>,
    pub count: u64,
}

/// Where a job stands.
#[derive(Debug, Clone)]
pub enum Status {
    Running,
    Complete {
        files: Vec<OutputFile>,
        /// When it completed, by the clock of its [`Exports`].
        completed: Instant,
    },
    Failed(String),
}

/// One export job.
pub struct Job {
    pub id: String,
    /// Who kicked it off: only they may poll it and download its files.
    pub owner: Identity,
    pub request: ExportRequest,
    /// The import time of the exported generation.
    pub transaction_time: Millis,
    pub requires_access_token: bool,
    dir: PathBuf,
    total: u64,
    written: AtomicU64,
    cancelled: AtomicBool,
    status: Mutex<Status>,
}

impl Job {
    pub fn status(&self) -> Status {
        self.status.lock().expect("job status").clone()
    }

    /// `X-Progress` of a running job.
    pub fn progress(&self) -> String {
        let written = self.written.load(Ordering::Relaxed);
        let percent = if self.total == 0 {
            100
        } else {
            (written * 100 / self.total).min(99)
        };
        format!(
            "{percent}% ({written} of about {} resources written)",
            self.total
        )
    }

    /// The path of one of the job's files, if it has that file.
    pub fn file(&self, name: &str) -> Option<PathBuf> {
        match &*self.status.lock().expect("job status") {
            Status::Complete { files, .. } if files.iter().any(|f| f.name == name) => {
                Some(self.dir.join(name))
            }
            _ => None,
        }
    }

    /// The completion manifest (Bulk Data 2.0 "Response - Complete Status").
    pub fn manifest(&self, files: &[OutputFile]) -> Value {
        let url = |name: &str| format!("{}/_export/{}/{name}", self.request.base, self.id);
        let output: Vec<Value> = files
            .iter()
            .filter_map(|f| {
                f.rtype
                    .map(|t| json!({"type": t.as_str(), "url": url(&f.name), "count": f.count}))
            })
            .collect();
        let deleted: Vec<Value> = files
            .iter()
            .filter(|f| f.rtype.is_none())
            .map(|f| json!({"type": "Bundle", "url": url(&f.name), "count": f.count}))
            .collect();
        json!({
            "transactionTime": self.transaction_time.to_rfc3339(),
            "request": self.request.request_url,
            "requiresAccessToken": self.requires_access_token,
            "output": output,
            "deleted": deleted,
            "error": [],
        })
    }
}

/// Why an export cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{MAX_RUNNING} exports are running already; try again when one has finished")]
    Busy,
    #[error("cannot create the export directory {path}: {source}")]
    Directory {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The export jobs of a server.
pub struct Exports {
    dir: PathBuf,
    expiry: Duration,
    /// Starts every job id: the replica's name and `-` (see `Settings::instance`), so that a
    /// load balancer can send a job's polls and downloads to the replica that runs it.
    job_prefix: String,
    jobs: Mutex<HashMap<String, Arc<Job>>>,
    /// What the expiry is measured with.
    clock: Clock,
}

impl Exports {
    /// Jobs write under `dir` (emptied: jobs of an earlier run are unknown to this one) and
    /// their files are removed `expiry` after completion.
    pub fn new(dir: &Path, expiry: Duration) -> Result<Exports, StoreError> {
        if dir.exists() {
            std::fs::remove_dir_all(dir).map_err(StoreError::io("cannot empty", dir))?;
        }
        Ok(Exports {
            dir: dir.to_path_buf(),
            expiry,
            job_prefix: String::new(),
            jobs: Mutex::new(HashMap::new()),
            clock: Clock::system(),
        })
    }

    /// Measures expiry with `clock` instead of the system clock (a test moves it past the
    /// expiry instead of waiting for it).
    pub fn with_clock(mut self, clock: Clock) -> Exports {
        self.clock = clock;
        self
    }

    /// Job ids start with `instance-` (a replica's name).
    pub fn named_by(mut self, instance: &str) -> Exports {
        self.job_prefix = format!("{instance}-");
        self
    }

    pub fn expiry(&self) -> Duration {
        self.expiry
    }

    /// When the files of a job that completed at `completed` go (the manifest's `Expires`).
    pub fn expires(&self, completed: Instant) -> OffsetDateTime {
        self.clock.now_utc() + self.expiry.saturating_sub(self.clock.since(completed))
    }

    pub fn get(&self, id: &str) -> Option<Arc<Job>> {
        self.jobs.lock().expect("jobs").get(id).cloned()
    }

    /// Starts a job on `store` in a thread of its own.
    pub fn start(
        self: &Arc<Self>,
        store: Arc<Generation>,
        request: ExportRequest,
        owner: Identity,
        requires_access_token: bool,
        redaction: Redaction,
    ) -> Result<Arc<Job>, ExportError> {
        let mut jobs = self.jobs.lock().expect("jobs");
        let running = jobs
            .values()
            .filter(|j| matches!(j.status(), Status::Running))
            .count();
        if running >= MAX_RUNNING {
            return Err(ExportError::Busy);
        }
        let mut bytes = [0u8; 16];
        rand::rng().fill_bytes(&mut bytes);
        let random: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let id = format!("{}{random}", self.job_prefix);
        let dir = self.dir.join(&id);
        std::fs::create_dir_all(&dir).map_err(|source| ExportError::Directory {
            path: dir.clone(),
            source,
        })?;
        let total = request
            .types
            .iter()
            .map(|t| u64::from(store.document_count(*t)))
            .sum();
        let job = Arc::new(Job {
            id: id.clone(),
            owner,
            transaction_time: store.info().import_time(),
            requires_access_token,
            request,
            dir,
            total,
            written: AtomicU64::new(0),
            cancelled: AtomicBool::new(false),
            status: Mutex::new(Status::Running),
        });
        jobs.insert(id, job.clone());
        let running = job.clone();
        let clock = self.clock.clone();
        std::thread::Builder::new()
            .name("annuaire-export".into())
            .spawn(move || {
                let outcome = write_files(&running, store.as_ref(), &redaction);
                let status = match outcome {
                    Ok(files) => Status::Complete {
                        files,
                        completed: clock.instant(),
                    },
                    Err(e) => {
                        tracing::warn!("export {} failed: {e}", running.id);
                        Status::Failed(e.to_string())
                    }
                };
                if running.cancelled.load(Ordering::Relaxed) {
                    let _ = std::fs::remove_dir_all(&running.dir);
                } else {
                    *running.status.lock().expect("job status") = status;
                }
            })
            .map_err(|source| ExportError::Directory {
                path: job.dir.clone(),
                source,
            })?;
        Ok(job)
    }

    /// Cancels a job and removes its files; `false` when there is no such job.
    pub fn delete(&self, id: &str) -> bool {
        let Some(job) = self.jobs.lock().expect("jobs").remove(id) else {
            return false;
        };
        job.cancelled.store(true, Ordering::Relaxed);
        if !matches!(job.status(), Status::Running) {
            let _ = std::fs::remove_dir_all(&job.dir);
        }
        true
    }

    /// Removes the jobs completed (or failed) longer than the expiry ago, with their files.
    pub fn remove_expired(&self) -> usize {
        let mut jobs = self.jobs.lock().expect("jobs");
        let expired: Vec<String> = jobs
            .values()
            .filter(|job| match job.status() {
                Status::Complete { completed, .. } => self.clock.since(completed) >= self.expiry,
                Status::Failed(_) => true,
                Status::Running => false,
            })
            .map(|job| job.id.clone())
            .collect();
        for id in &expired {
            if let Some(job) = jobs.remove(id) {
                let _ = std::fs::remove_dir_all(&job.dir);
            }
        }
        expired.len()
    }
}

#[derive(Debug, thiserror::Error)]
enum WriteError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Search(#[from] SearchError),
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cancelled")]
    Cancelled,
}

/// Writes a job's files: one per type (resources changed after `since`, when given), and the
/// deleted resources when `since` is given.
fn write_files(
    job: &Job,
    store: &Generation,
    redaction: &Redaction,
) -> Result<Vec<OutputFile>, WriteError> {
    let mut files = Vec::new();
    // An export runs in the background: no deadline (a cancelled job stops below).
    let budget = Budget::unlimited();
    let index = IndexReader::new(store, &budget);
    for rtype in &job.request.types {
        let name = format!("{rtype}.ndjson");
        let path = job.dir.join(&name);
        let io = |source| WriteError::Io {
            path: path.clone(),
            source,
        };
        let mut out = BufWriter::with_capacity(1 << 20, File::create(&path).map_err(io)?);
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
            out.write_all(&line).map_err(io)?;
            count += 1;
        }
        out.flush().map_err(io)?;
        files.push(OutputFile {
            name,
            rtype: Some(*rtype),
            count,
        });
    }
    if let Some(since) = job.request.since {
        files.push(write_deleted(job, store, since)?);
    }
    Ok(files)
}

/// The deletions after `since` of the exported types, as transaction Bundles of `DELETE`
/// entries (Bulk Data 2.0 `deleted`).
fn write_deleted(job: &Job, store: &Generation, since: Millis) -> Result<OutputFile, WriteError> {
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
    let path = job.dir.join(&name);
    let io = |source| WriteError::Io {
        path: path.clone(),
        source,
    };
    let mut out = BufWriter::new(File::create(&path).map_err(io)?);
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
        serde_json::to_writer(&mut out, &bundle).map_err(|e| io(e.into()))?;
        out.write_all(b"\n").map_err(io)?;
    }
    out.flush().map_err(io)?;
    Ok(OutputFile {
        name,
        rtype: None,
        // Resources in the file: its Bundles.
        count: deleted.len().div_ceil(DELETED_PER_BUNDLE) as u64,
    })
}
