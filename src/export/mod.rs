//! Bulk Data export (HL7 FHIR Bulk Data Access 2.0.0, system level `GET /$export`): an
//! asynchronous job writes one NDJSON file per type from the stored bytes of one generation,
//! the client polls its status, downloads the files, and deletes the job (or lets it expire).
//!
//! A job pins the generation that was current when it was kicked off, so its files are one
//! consistent snapshot whatever imports happen meanwhile, and its `transactionTime` is that
//! generation's watermark (the last millisecond of its stamp's second: after every version it
//! holds, before any later import's stamp; Bulk Data's "SHALL include any matching resources
//! modified up to and including this instant"): a client that exports again with
//! `_since=<transactionTime>` gets exactly what later imports added, changed or deactivated,
//! and in `deleted` what they deleted. Resources are written as served (version spliced in, restricted elements removed
//! for a caller without the scope), never re-parsed unless redaction asks for it.
//!
//! Exports are bounded: live jobs (running, or completed and not yet expired) per caller and
//! on the server, jobs running at once, and the free space they leave on the disk
//! ([`ExportLimits`]). A job records the rights it was started with ([`Rights`]); the HTTP edge
//! checks that whoever polls, downloads or deletes it holds them still. The server deletes
//! only directories it created ([`ExportDir`]), and writes its files `0600` in `0700`
//! directories.

mod directory;
mod job;
mod write;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::RngCore;
use time::OffsetDateTime;

pub use self::directory::{
    DEFAULT_NAME as DEFAULT_EXPORT_DIR, ExportDir, ExportDirError, JOB_MARKER, ROOT_MARKER,
};
pub use self::job::{
    ExportRequest, Job, OutputFile, Owner, RESOURCES_PER_TOKEN, Rights, Status, file_tag,
};
use self::write::{DiskWatch, write_files};
use crate::clock::Clock;
use crate::generation::Generation;

/// `Retry-After` when every live job in the way is still running (how long a job runs is not
/// known in advance).
const RETRY_WHILE_RUNNING: Duration = Duration::from_secs(30);
/// `Retry-After` when the disk is short of space.
const RETRY_LOW_DISK: Duration = Duration::from_secs(60);

/// How many export jobs may live at once, and the disk space they must leave free. A job is
/// live from its kick-off until it is deleted or its files expire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExportLimits {
    /// Live jobs of one caller (API key, token subject, or client address on an open server).
    pub max_per_caller: usize,
    /// Live jobs on the server.
    pub max_live: usize,
    /// Jobs writing their files at once.
    pub max_running: usize,
    /// Bytes to keep free on the export directory's disk: no job starts below it, and a job
    /// that brings the disk below it stops.
    pub min_free_bytes: u64,
}

/// Why an export cannot start.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(
        "this caller has {live} exports not yet expired (limit `export_max_per_caller` = {limit}): delete the ones already downloaded (DELETE their status URL) or wait for them to expire"
    )]
    CallerLimit {
        live: usize,
        limit: usize,
        retry_after: Duration,
    },
    #[error(
        "the server holds {live} exports not yet expired (limit `export_max_jobs` = {limit}); try again later"
    )]
    ServerLimit {
        live: usize,
        limit: usize,
        retry_after: Duration,
    },
    #[error("{limit} exports are running already; try again when one has finished")]
    Running { limit: usize },
    #[error("the server is short of disk space for exports; try again later")]
    LowDisk,
    /// The details (paths) are in the log.
    #[error("the export could not be started; the cause is in the server's log")]
    Directory,
}

impl ExportError {
    /// When trying again may succeed.
    pub fn retry_after(&self) -> Duration {
        match self {
            ExportError::CallerLimit { retry_after, .. }
            | ExportError::ServerLimit { retry_after, .. } => *retry_after,
            ExportError::Running { .. } => RETRY_WHILE_RUNNING,
            ExportError::LowDisk => RETRY_LOW_DISK,
            ExportError::Directory => RETRY_LOW_DISK,
        }
    }

    /// Refused because of this caller's own jobs (the others are the server's state).
    pub fn is_per_caller(&self) -> bool {
        matches!(self, ExportError::CallerLimit { .. })
    }
}

/// The export jobs of a server.
pub struct Exports {
    dir: ExportDir,
    expiry: Duration,
    limits: ExportLimits,
    /// Starts every job id: the replica's name and `-` (see `Settings::instance`), so that a
    /// load balancer can send a job's polls and downloads to the replica that runs it.
    job_prefix: String,
    jobs: Mutex<HashMap<String, Arc<Job>>>,
    /// What the expiry is measured with.
    clock: Clock,
}

impl Exports {
    /// Jobs write under `dir` (checked and emptied of earlier runs' jobs by
    /// [`ExportDir::open`]), at most as many as `limits` allow, and their files are removed
    /// `expiry` after completion.
    pub fn new(dir: ExportDir, expiry: Duration, limits: ExportLimits) -> Exports {
        Exports {
            dir,
            expiry,
            limits,
            job_prefix: String::new(),
            jobs: Mutex::new(HashMap::new()),
            clock: Clock::system(),
        }
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
        self.clock.now_utc() + self.remaining(completed)
    }

    /// How long the files of a job that completed at `completed` are still kept.
    fn remaining(&self, completed: Instant) -> Duration {
        self.expiry.saturating_sub(self.clock.since(completed))
    }

    pub fn get(&self, id: &str) -> Option<Arc<Job>> {
        self.jobs.lock().expect("jobs").get(id).cloned()
    }

    /// Refuses a new job of `owner` when it or the server has as many live jobs as allowed,
    /// or as many running; `Retry-After` is when the first of the jobs in the way expires.
    fn check_limits(
        &self,
        jobs: &HashMap<String, Arc<Job>>,
        owner: &Owner,
    ) -> Result<(), ExportError> {
        let live: Vec<(&Arc<Job>, Status)> = jobs
            .values()
            .map(|job| (job, job.status()))
            .filter(|(_, status)| !matches!(status, Status::Failed(_)))
            .collect();
        let first_expiry = |jobs: &mut dyn Iterator<Item = &Status>| {
            jobs.filter_map(|status| match status {
                Status::Complete { completed, .. } => Some(self.remaining(*completed)),
                _ => None,
            })
            .min()
            .unwrap_or(RETRY_WHILE_RUNNING)
        };
        let of_caller: Vec<&Status> = live
            .iter()
            .filter(|(job, _)| job.owner.same_caller(owner))
            .map(|(_, status)| status)
            .collect();
        if of_caller.len() >= self.limits.max_per_caller {
            return Err(ExportError::CallerLimit {
                live: of_caller.len(),
                limit: self.limits.max_per_caller,
                retry_after: first_expiry(&mut of_caller.into_iter()),
            });
        }
        if live.len() >= self.limits.max_live {
            return Err(ExportError::ServerLimit {
                live: live.len(),
                limit: self.limits.max_live,
                retry_after: first_expiry(&mut live.iter().map(|(_, status)| status)),
            });
        }
        let running = live
            .iter()
            .filter(|(_, status)| matches!(status, Status::Running))
            .count();
        if running >= self.limits.max_running {
            return Err(ExportError::Running {
                limit: self.limits.max_running,
            });
        }
        Ok(())
    }

    /// Starts a job on `store` in a thread of its own, if the limits and the free disk space
    /// allow it.
    pub fn start(
        self: &Arc<Self>,
        store: Arc<Generation>,
        request: ExportRequest,
        owner: Owner,
        requires_access_token: bool,
        rights: Rights,
    ) -> Result<Arc<Job>, ExportError> {
        let mut jobs = self.jobs.lock().expect("jobs");
        self.check_limits(&jobs, &owner)?;
        DiskWatch::new(&self.dir, self.limits.min_free_bytes)
            .check()
            .map_err(|e| {
                tracing::warn!("export refused: {e}");
                ExportError::LowDisk
            })?;
        let mut bytes = [0u8; 16];
        rand::rng().fill_bytes(&mut bytes);
        let random: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let id = format!("{}{random}", self.job_prefix);
        let dir = self.dir.create_job(&id).map_err(|e| {
            tracing::error!(
                "cannot create the directory of export {id} in {}: {e}",
                self.dir.path().display()
            );
            ExportError::Directory
        })?;
        let total = request
            .types
            .iter()
            .map(|t| u64::from(store.document_count(*t)))
            .sum();
        let job = Arc::new(Job {
            id: id.clone(),
            owner,
            transaction_time: store.info().watermark(),
            requires_access_token,
            request,
            rights,
            dir,
            total,
            written: AtomicU64::new(0),
            cancelled: AtomicBool::new(false),
            status: Mutex::new(Status::Running),
        });
        let running = job.clone();
        let exports = self.clone();
        let spawned = std::thread::Builder::new()
            .name("annuaire-export".into())
            .spawn(move || exports.run(&running, &store));
        if let Err(e) = spawned {
            tracing::error!("cannot start a thread for export {id}: {e}");
            self.dir.remove_job(&job.dir);
            return Err(ExportError::Directory);
        }
        jobs.insert(id, job.clone());
        Ok(job)
    }

    /// Writes a job's files and records how it ended; the files of a job that failed or was
    /// cancelled are removed at once.
    fn run(&self, job: &Job, store: &Generation) {
        let mut disk = DiskWatch::new(&self.dir, self.limits.min_free_bytes);
        let status = match write_files(job, store, &mut disk) {
            Ok(files) => Status::Complete {
                files,
                completed: self.clock.instant(),
            },
            Err(e) => {
                if !job.cancelled.load(Ordering::Relaxed) {
                    tracing::warn!("export {} failed: {e}", job.id);
                }
                self.dir.remove_job(&job.dir);
                Status::Failed(e.for_client())
            }
        };
        if job.cancelled.load(Ordering::Relaxed) {
            self.dir.remove_job(&job.dir);
        } else {
            *job.status.lock().expect("job status") = status;
        }
    }

    /// Cancels a job and removes its files; `false` when there is no such job.
    pub fn delete(&self, id: &str) -> bool {
        let Some(job) = self.jobs.lock().expect("jobs").remove(id) else {
            return false;
        };
        job.cancelled.store(true, Ordering::Relaxed);
        if !matches!(job.status(), Status::Running) {
            self.dir.remove_job(&job.dir);
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
                self.dir.remove_job(&job.dir);
            }
        }
        expired.len()
    }

    /// Where a job's files are (tests look at what is on disk).
    pub fn dir(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }
}
