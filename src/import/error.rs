//! Why an import did not complete.

use std::path::PathBuf;

use crate::extract::FileError;
use crate::fhir::ResourceType;
use crate::generation::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot write temporary files in {path}: {source}")]
    Spill {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// These files are the ones the served generation was imported from: importing them again
    /// would change nothing but the generation's name, and part it from replicas that import
    /// them once.
    #[error(
        "nothing to do: these are the files the generation served ({id}) was imported from; it stays served (give --last-updated to import them again on purpose)"
    )]
    SameFiles { id: String },
    /// The FINESS files given cannot be imported together (two of one kind, or no
    /// establishments file): refused before anything is written.
    #[error("import refused, nothing was switched: {0}")]
    FinessFiles(String),
    #[error(
        "import refused, nothing was switched: it would deactivate {deactivated} of the {active} active {rtype} resources ({percent:.1} %), more than the {limit} % allowed. The files may be truncated or of the wrong day; if this is intended, run the import again with --allow-shrink.{missing}"
    )]
    Shrink {
        rtype: ResourceType,
        deactivated: u64,
        active: u64,
        percent: f64,
        limit: f64,
        /// The FINESS kinds this import lacks that make this type (empty, or a sentence
        /// starting with a space).
        missing: String,
    },
}
