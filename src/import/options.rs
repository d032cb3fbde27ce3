//! What an import is asked to do: the files, where, and how much it may change.

use std::path::PathBuf;

use time::OffsetDateTime;

use crate::clock::Clock;
use crate::generation::reconcile::Retention;

#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub rpps: PathBuf,
    /// Every FINESS extraction given, of any kind, in any order (the kind of each is read from
    /// its record tags, never from its name).
    pub finess: Vec<PathBuf>,
    /// The optional files that complete the RPPS one.
    pub extra: ExtraFiles,
    pub data: PathBuf,
    /// sled page cache while writing, in bytes.
    pub cache_bytes: u64,
    /// The import's time: the `meta.lastUpdated` of what it adds or changes, and the clock
    /// retentions are measured with; taken from the files, else from `clock`, when `None`.
    pub last_updated: Option<OffsetDateTime>,
    /// Where the import reads the time when neither `last_updated` nor the files give it, and
    /// the time its report is written at: the system clock but in tests.
    pub clock: Clock,
    /// Worker threads mapping buckets; the number of CPUs when `None`.
    pub workers: Option<usize>,
    /// Retentions and the guard against imports that would empty the directory.
    pub safety: Safety,
}

/// What an import keeps, and how much it may remove.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Safety {
    pub retention: Retention,
    /// The largest share of a type's active resources one import may deactivate, in percent:
    /// beyond it the files are taken for truncated or wrong, and the import is refused.
    pub max_shrink_percent: f64,
    /// Deactivate more than `max_shrink_percent` on purpose.
    pub allow_shrink: bool,
}

impl Default for Safety {
    fn default() -> Safety {
        Safety {
            retention: Retention::default(),
            max_shrink_percent: 5.0,
            allow_shrink: false,
        }
    }
}

/// The published files that complete the persons of the RPPS file; each is optional.
#[derive(Debug, Clone, Default)]
pub struct ExtraFiles {
    /// `Extraction_Correspondance_MSSante_*.txt`: MSSanté mailboxes.
    pub mssante: Option<PathBuf>,
    /// `PS_LibreAcces_SavoirFaire_*.txt`.
    pub savoir_faire: Option<PathBuf>,
    /// `PS_LibreAcces_Dipl_AutExerc_*.txt`: diplomas and exercise authorisations.
    pub diplomes: Option<PathBuf>,
}
