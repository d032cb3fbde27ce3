//! What can go wrong reading or writing a data directory.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage error in {path}: {source}")]
    Sled {
        path: PathBuf,
        #[source]
        source: sled::Error,
    },
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Locked(String),
    #[error(
        "no data has been imported into {0} yet: run `annuaire import --rpps ... --finess ... --data {0}` first"
    )]
    NoData(PathBuf),
    #[error("the data directory {path} is damaged: {detail}")]
    Damaged { path: PathBuf, detail: String },
    #[error(
        "{0} was written by an older annuaire (before per-resource versions): run `annuaire import` again to write a current generation"
    )]
    OldFormat(PathBuf),
}

impl StoreError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(std::io::Error) -> StoreError {
        let path = path.into();
        move |source| StoreError::Io {
            action,
            path,
            source,
        }
    }
}

impl StoreError {
    /// `map_err` for a sled failure on the database at `path`.
    pub(crate) fn sled(path: &std::path::Path) -> impl Fn(sled::Error) -> StoreError + '_ {
        move |source| StoreError::Sled {
            path: path.to_path_buf(),
            source,
        }
    }
}
