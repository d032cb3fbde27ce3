//! One export job: what was asked, by whom and with which rights, where it stands, and the
//! manifest of its files.

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::auth::Identity;
use crate::fhir::ResourceType;
use crate::generation::Millis;
use crate::search::redact::Redaction;

/// Resources an export is charged one rate-limit token for, beyond one token per exported
/// type: a full export costs its caller in proportion to the searches it stands for.
pub const RESOURCES_PER_TOKEN: u64 = 1000;

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

/// Who started a job.
#[derive(Debug, Clone)]
pub struct Owner {
    /// Only this identity may poll the job, download its files and delete it.
    pub identity: Identity,
    /// The client address of the kick-off: on an open server, where every caller is
    /// anonymous, the live jobs of a caller are those started from its address.
    pub address: IpAddr,
}

impl Owner {
    /// Whether `other` counts as the same caller for the limit of live jobs per caller.
    pub fn same_caller(&self, other: &Owner) -> bool {
        self.identity == other.identity
            && (self.identity != Identity::Anonymous || self.address == other.address)
    }
}

/// The rights a job was started with: its files hold what they allowed, so whoever polls,
/// downloads or deletes the job must hold them still (see `http::export`).
#[derive(Debug, Clone)]
pub struct Rights {
    /// What was removed from the files (the caller's redaction at the kick-off).
    pub redaction: Redaction,
    /// The files hold restricted elements (the caller had the scope that unlocks them, and
    /// some exported type has restricted elements): reading them needs that scope.
    pub unredacted: bool,
}

impl Rights {
    /// The rights of a caller whose redaction is `redaction`, exporting `types`, when
    /// `restricted` is every restricted element.
    pub fn new(redaction: Redaction, restricted: &Redaction, types: &[ResourceType]) -> Rights {
        let unredacted = types.iter().any(|rtype| {
            restricted
                .elements(*rtype)
                .iter()
                .any(|e| !redaction.elements(*rtype).contains(e))
        });
        Rights {
            redaction,
            unredacted,
        }
    }
}

/// One output file of a job.
#[derive(Debug, Clone)]
pub struct OutputFile {
    pub name: String,
    /// The resource type, or `None` for the deleted-resources Bundles.
    pub rtype: Option<ResourceType>,
    /// Resources in the file (Bundles, for the deleted resources).
    pub count: u64,
}

impl OutputFile {
    /// The type of the resources the file holds, as the manifest and the audit trail name it.
    pub fn type_name(&self) -> &'static str {
        self.rtype.map_or("Bundle", ResourceType::as_str)
    }
}

/// Where a job stands.
#[derive(Debug, Clone)]
pub enum Status {
    Running,
    Complete {
        files: Vec<OutputFile>,
        /// When it completed, by the clock of its `Exports`.
        completed: Instant,
    },
    /// Why, as a client may read it (no path: the details are in the log).
    Failed(String),
}

/// The ETag of file `name` of job `job_id` (see [`Job::file_tag`]), without its quotes.
pub fn file_tag(job_id: &str, name: &str) -> String {
    let digest = Sha256::new()
        .chain_update(job_id.as_bytes())
        .chain_update(b"/")
        .chain_update(name.as_bytes())
        .finalize();
    digest[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// One export job.
pub struct Job {
    pub id: String,
    pub owner: Owner,
    pub request: ExportRequest,
    pub rights: Rights,
    /// The import time of the exported generation.
    pub transaction_time: Millis,
    pub requires_access_token: bool,
    pub(super) dir: PathBuf,
    pub(super) total: u64,
    pub(super) written: AtomicU64,
    pub(super) cancelled: AtomicBool,
    pub(super) status: Mutex<Status>,
}

impl Job {
    pub fn status(&self) -> Status {
        self.status.lock().expect("job status").clone()
    }

    /// `X-Progress` of a running job.
    pub fn progress(&self) -> String {
        let written = self.written.load(Ordering::Relaxed);
        let percent = (written * 100)
            .checked_div(self.total)
            .map_or(100, |percent| percent.min(99));
        format!(
            "{percent}% ({written} of about {} resources written)",
            self.total
        )
    }

    /// One of the job's files and its path, if the job has completed with that file.
    pub fn file(&self, name: &str) -> Option<(OutputFile, PathBuf)> {
        match &*self.status.lock().expect("job status") {
            Status::Complete { files, .. } => files
                .iter()
                .find(|f| f.name == name)
                .map(|f| (f.clone(), self.dir.join(name))),
            _ => None,
        }
    }

    /// The ETag of one of the job's files: a hash of the job's random id and the file's name,
    /// which say nothing of the disk (a file never changes once its job completed, and a new
    /// job has a new id).
    pub fn file_tag(&self, name: &str) -> String {
        file_tag(&self.id, name)
    }

    /// Rate-limit tokens the kick-off is charged beyond the one every request takes: one per
    /// exported type and one per [`RESOURCES_PER_TOKEN`] resources.
    pub fn tokens(&self) -> u32 {
        let tokens = self.request.types.len() as u64 + self.total / RESOURCES_PER_TOKEN;
        u32::try_from(tokens).unwrap_or(u32::MAX)
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

#[cfg(test)]
mod tests {
    use super::*;
    use ResourceType::*;

    #[test]
    fn files_are_unredacted_when_an_exported_type_keeps_a_restricted_element() {
        let restricted = Redaction::new([(Practitioner, "telecom")]);
        let kept = |redaction: &Redaction, types: &[ResourceType]| {
            Rights::new(redaction.clone(), &restricted, types).unredacted
        };
        assert!(kept(&Redaction::none(), &[Practitioner]));
        assert!(!kept(&restricted, &[Practitioner]));
        assert!(!kept(&Redaction::none(), &[Organization]));
        assert!(!Rights::new(Redaction::none(), &Redaction::none(), &[Practitioner]).unredacted);
    }
}
