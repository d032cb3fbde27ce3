//! Why a search could not be answered.

use super::limits::Interrupted;
use super::query::QueryError;
use crate::generation::StoreError;

/// Why a search could not be answered: the client's request, or the store.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error(transparent)]
    Query(#[from] QueryError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// What was asked for does not exist (the history of an unknown resource).
    #[error("{0}")]
    NotFound(String),
    /// The search ran out of time, or its client went away.
    #[error(transparent)]
    Interrupted(#[from] Interrupted),
}
