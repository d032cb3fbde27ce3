//! The local store: one sled database under `data/local/`, outside every generation.
//!
//! Contract (package A implements; the layout is written in `docs/store-format.md`):
//! - every write runs in one sled transaction over the resource, its history and the change
//!   log, then `flush`es before it returns: a write that returned survives a crash;
//! - versions count from 1 per resource; `lastUpdated` comes from the store's clock and is
//!   strictly increasing across the store (two writes in one millisecond get distinct stamps);
//! - a deleted resource keeps its history; reading it answers [`Read::Gone`]; a write to it
//!   starts again one version past the deletion;
//! - the change log numbers every write from 1 (`seq`), never reuses a number: the notifier
//!   reads it from the last number it processed ([`LocalStore::changes_after`]).

use std::path::Path;

use serde_json::Value;
use time::OffsetDateTime;

use crate::clock::Clock;

/// The resource types the local store keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LocalType {
    List,
    Subscription,
}

impl LocalType {
    pub const ALL: [LocalType; 2] = [LocalType::List, LocalType::Subscription];

    pub fn as_str(self) -> &'static str {
        match self {
            LocalType::List => "List",
            LocalType::Subscription => "Subscription",
        }
    }

    /// The type named `name`, if the local store keeps it.
    pub fn parse(name: &str) -> Option<LocalType> {
        LocalType::ALL.into_iter().find(|t| t.as_str() == name)
    }
}

/// One version of a local resource, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalResource {
    pub rtype: LocalType,
    pub id: String,
    pub version: u32,
    pub last_updated: OffsetDateTime,
    /// This version is the deletion (its `json` is the last content before it).
    pub deleted: bool,
    /// Who wrote the resource first (`auth::Caller::owner`): subscriptions are visible to
    /// their owner only. Kept beside the JSON, never served.
    pub owner: String,
    /// The resource as served, `meta.versionId` and `meta.lastUpdated` included.
    pub json: Value,
}

/// What a read finds.
#[derive(Debug, Clone, PartialEq)]
pub enum Read {
    Found(LocalResource),
    /// Deleted: the deletion's version (410 Gone).
    Gone(LocalResource),
    Missing,
}

/// What a create or an update did.
#[derive(Debug, Clone, PartialEq)]
pub struct Written {
    pub resource: LocalResource,
    /// The write created the resource (201), rather than updating it (200).
    pub created: bool,
}

/// A numbered entry of the change log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub seq: u64,
    pub rtype: LocalType,
    pub id: String,
    pub version: u32,
    pub kind: ChangeKind,
    pub at: OffsetDateTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Created,
    Updated,
    Deleted,
}

/// Why a local write or read failed. `http::error` turns each into one OperationOutcome.
#[derive(Debug, thiserror::Error)]
pub enum LocalError {
    /// The body is not an acceptable resource of the type (a person-readable reason).
    #[error("{0}")]
    Invalid(String),
    /// An update without `If-Match` of a resource that exists (428).
    #[error("If-Match is required to update {0}: read it first and send its ETag")]
    PreconditionRequired(String),
    /// `If-Match` names a version that is not the current one (412).
    #[error("{rtype}/{id} is at version {current}, not {expected}: read it again")]
    VersionConflict {
        rtype: &'static str,
        id: String,
        expected: u32,
        current: u32,
    },
    /// The store cannot be read or written (503: an operator's problem, logged).
    #[error("the local store failed: {0}")]
    Store(String),
}

/// The local store.
pub struct LocalStore {
    db: sled::Db,
    clock: Clock,
}

impl LocalStore {
    /// Opens (or creates) the store in `dir` (`data/local`).
    pub fn open(dir: &Path, clock: Clock) -> Result<LocalStore, LocalError> {
        let db = sled::Config::new()
            .path(dir)
            .open()
            .map_err(|e| LocalError::Store(format!("cannot open {}: {e}", dir.display())))?;
        Ok(LocalStore { db, clock })
    }

    /// Stores a new resource under an id the server chooses.
    pub fn create(
        &self,
        rtype: LocalType,
        body: Value,
        owner: &str,
    ) -> Result<Written, LocalError> {
        let _ = (rtype, body, owner, &self.db, &self.clock);
        todo!("package A")
    }

    /// `PUT`: updates `id` (`if_match` required when it exists: [`LocalError::PreconditionRequired`],
    /// [`LocalError::VersionConflict`]), or creates it with that id when it does not.
    pub fn update(
        &self,
        rtype: LocalType,
        id: &str,
        body: Value,
        if_match: Option<u32>,
        owner: &str,
    ) -> Result<Written, LocalError> {
        let _ = (rtype, id, body, if_match, owner);
        todo!("package A")
    }

    /// Deletes `id` (`if_match` checked when given). `None`: there was nothing to delete.
    pub fn delete(
        &self,
        rtype: LocalType,
        id: &str,
        if_match: Option<u32>,
    ) -> Result<Option<LocalResource>, LocalError> {
        let _ = (rtype, id, if_match);
        todo!("package A")
    }

    pub fn read(&self, rtype: LocalType, id: &str) -> Result<Read, LocalError> {
        let _ = (rtype, id);
        todo!("package A")
    }

    pub fn vread(
        &self,
        rtype: LocalType,
        id: &str,
        version: u32,
    ) -> Result<Option<LocalResource>, LocalError> {
        let _ = (rtype, id, version);
        todo!("package A")
    }

    /// Every version of `id`, newest first (deletions included).
    pub fn history(&self, rtype: LocalType, id: &str) -> Result<Vec<LocalResource>, LocalError> {
        let _ = (rtype, id);
        todo!("package A")
    }

    /// Every version of every resource of `rtype` changed after `since` (if given), newest first.
    pub fn history_type(
        &self,
        rtype: LocalType,
        since: Option<OffsetDateTime>,
    ) -> Result<Vec<LocalResource>, LocalError> {
        let _ = (rtype, since);
        todo!("package A")
    }

    /// The current version of every resource of `rtype` that is not deleted, in id order.
    pub fn current(&self, rtype: LocalType) -> Result<Vec<LocalResource>, LocalError> {
        let _ = rtype;
        todo!("package A")
    }

    /// The change log after `seq` (exclusive), oldest first, at most `limit` entries.
    pub fn changes_after(&self, seq: u64, limit: usize) -> Result<Vec<Change>, LocalError> {
        let _ = (seq, limit);
        todo!("package A")
    }

    /// A sled tree of the same database for a module's own records (the notifier's queue):
    /// written with the same durability (call [`LocalStore::flush`] before acknowledging).
    pub fn tree(&self, name: &str) -> Result<sled::Tree, LocalError> {
        self.db
            .open_tree(name)
            .map_err(|e| LocalError::Store(e.to_string()))
    }

    /// The database itself, for transactions that span the store's trees and a module's own.
    pub fn db(&self) -> &sled::Db {
        &self.db
    }

    /// Syncs every write to disk.
    pub fn flush(&self) -> Result<(), LocalError> {
        self.db
            .flush()
            .map(|_| ())
            .map_err(|e| LocalError::Store(e.to_string()))
    }

    /// The clock writes are stamped with.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }
}
