//! What an import tells its operator: malformed lines as they are met, and a summary at the
//! end.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::extract::Rejected;
use crate::extract::finess::FinessKind;
use crate::fhir::ResourceType;
use crate::generation::ResourceCounts;
use crate::generation::reconcile::Changes;
use crate::progress::Progress;

/// Malformed lines printed one by one; beyond this they are only counted.
const MAX_REPORTED: u64 = 1000;

/// Prints malformed lines as `FILE:LINE: reason` (the first [`MAX_REPORTED`]) and counts them.
#[derive(Default)]
pub(super) struct RejectReport {
    pub(super) count: AtomicU64,
}

impl RejectReport {
    pub(super) fn report(&self, rejected: &Rejected, progress: Option<&Progress>) {
        self.note(format!("skipped {rejected}"), progress);
    }

    /// Prints `message` (the first [`MAX_REPORTED`] ones) and counts it.
    pub(super) fn note(&self, message: String, progress: Option<&Progress>) {
        let n = self.count.fetch_add(1, Ordering::Relaxed) + 1;
        let line = if n <= MAX_REPORTED {
            message
        } else if n == MAX_REPORTED + 1 {
            "further lines like these are counted but not shown".to_owned()
        } else {
            return;
        };
        match progress {
            Some(p) => p.println(&line),
            None => eprintln!("{line}"),
        }
    }
}

/// What an import did, for the operator.
#[derive(Debug, Clone)]
pub struct ImportSummary {
    pub generation: u64,
    /// The generation's id (see `GenerationInfo::content_id`).
    pub id: String,
    pub rpps_rows_read: u64,
    /// Records of every FINESS file (all tags, the manifests excepted).
    pub finess_records_read: u64,
    /// Each FINESS file, in kind order.
    pub finess_files: Vec<FinessFileSummary>,
    /// Legal entities written from the legal entities file.
    pub legal_entities_from_file: u64,
    /// Legal entities written as stubs: referenced by an establishment or an RPPS line, absent
    /// from the legal entities file (all referenced ones without it).
    pub legal_entity_stubs: u64,
    /// Activity and equipment lines naming an establishment absent from FINESS: reported one by
    /// one and not imported.
    pub finess_unplaced: u64,
    pub rows_skipped: u64,
    pub duplicate_rows_collapsed: u64,
    pub windows_1252_lines: u64,
    pub extras: ExtrasSummary,
    /// Current resources after the import, deactivated records included.
    pub resources: ResourceCounts,
    /// Per type: added, changed, deactivated, deleted, unchanged.
    pub changes: Vec<(ResourceType, Changes)>,
    /// Generations this import found never completed (a killed import) and removed.
    pub leftovers_removed: Vec<String>,
    pub removed_generations: Vec<String>,
    pub duration: Duration,
}

/// One FINESS file of an import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinessFileSummary {
    pub kind: FinessKind,
    /// The file's name.
    pub name: String,
    /// Records of its own kind kept (establishments, legal entities, …).
    pub records: u64,
}

/// What became of the lines of the optional files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtrasSummary {
    pub savoir_faire_lines: u64,
    pub diploma_lines: u64,
    pub mailbox_lines: u64,
    /// Mailboxes placed on a Practitioner (personal), a PractitionerRole (personal, at their
    /// structure) or an Organization (organisational).
    pub mailboxes_on_practitioners: u64,
    pub mailboxes_on_roles: u64,
    pub mailboxes_on_organizations: u64,
    /// Lines naming a person or a structure the RPPS and FINESS files do not have: reported
    /// one by one and not imported.
    pub unplaced_lines: u64,
}
