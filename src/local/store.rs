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
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sled::Transactional;
use sled::transaction::{
    ConflictableTransactionError, TransactionError, TransactionalTree, UnabortableTransactionError,
};
use time::OffsetDateTime;

use crate::clock::Clock;
use crate::generation::record::Millis;

/// The trees of the store (the notifier keeps trees of its own in the same database).
pub const CURRENT_TREE: &str = "local.current";
pub const HISTORY_TREE: &str = "local.history";
pub const CHANGES_TREE: &str = "local.changes";
pub const META_TREE: &str = "local.meta";
/// `meta` keys: the last change number given, the last `lastUpdated` stamped (ms, both BE).
const META_SEQ: &[u8] = b"seq";
const META_STAMP: &[u8] = b"last_updated_ms";

/// How long opening waits for a previous process (or a server just stopped) to release sled's
/// file lock: a restart right after a stop would otherwise fail.
const LOCK_RELEASE_WAIT: Duration = Duration::from_secs(5);

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
    current: sled::Tree,
    history: sled::Tree,
    changes: sled::Tree,
    meta: sled::Tree,
}

/// What a write wants done to one resource, decided inside the transaction from what is there.
enum Intent {
    /// `POST`: a new resource; the id must be free.
    Create { owner: String, body: Value },
    /// `PUT`: update (If-Match required when it exists) or create with this id.
    Put {
        owner: String,
        body: Value,
        if_match: Option<u32>,
    },
    /// `DELETE` (If-Match checked when given).
    Delete { if_match: Option<u32> },
}

/// sled's page cache for the local store. Its default (1 GiB) is sized for a database that is
/// the whole of an application's data; hospitals' lists and the subscriptions' queues are tens
/// of megabytes, and with the default a writer holding 10 000 subscriptions kept 1.7 GiB of
/// memory before any import (BENCHMARKS.md, "Subscriptions").
const CACHE_BYTES: u64 = 64 * 1024 * 1024;

impl LocalStore {
    /// Opens (or creates) the store in `dir` (`data/local`), waiting a few seconds for a process
    /// that just stopped to release the database's lock.
    pub fn open(dir: &Path, clock: Clock) -> Result<LocalStore, LocalError> {
        let started = Instant::now();
        let db = loop {
            match sled::Config::new()
                .path(dir)
                .cache_capacity(CACHE_BYTES)
                .open()
            {
                Err(e) if is_lock_held(&e) && started.elapsed() < LOCK_RELEASE_WAIT => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) if is_lock_held(&e) => {
                    return Err(LocalError::Store(format!(
                        "{} is in use by another process (a running server?)",
                        dir.display()
                    )));
                }
                Err(e) => {
                    return Err(LocalError::Store(format!(
                        "cannot open {}: {e}",
                        dir.display()
                    )));
                }
                Ok(db) => break db,
            }
        };
        let tree = |name: &str| {
            db.open_tree(name).map_err(|e| {
                LocalError::Store(format!("cannot open {name} in {}: {e}", dir.display()))
            })
        };
        Ok(LocalStore {
            current: tree(CURRENT_TREE)?,
            history: tree(HISTORY_TREE)?,
            changes: tree(CHANGES_TREE)?,
            meta: tree(META_TREE)?,
            db,
            clock,
        })
    }

    /// Stores a new resource under an id the server chooses.
    pub fn create(
        &self,
        rtype: LocalType,
        body: Value,
        owner: &str,
    ) -> Result<Written, LocalError> {
        loop {
            let id = new_id();
            let intent = Intent::Create {
                owner: owner.to_string(),
                body: body.clone(),
            };
            match self.write(rtype, &id, intent) {
                // Taken (a one in 10^39 chance): draw again.
                Err(LocalError::Store(reason)) if reason == ID_TAKEN => continue,
                other => return other.map(|w| w.expect("a create always writes")),
            }
        }
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
        let intent = Intent::Put {
            owner: owner.to_string(),
            body,
            if_match,
        };
        self.write(rtype, id, intent)
            .map(|w| w.expect("a put always writes"))
    }

    /// Deletes `id` (`if_match` checked when given). `None`: there was nothing to delete.
    pub fn delete(
        &self,
        rtype: LocalType,
        id: &str,
        if_match: Option<u32>,
    ) -> Result<Option<LocalResource>, LocalError> {
        Ok(self
            .write(rtype, id, Intent::Delete { if_match })?
            .map(|w| w.resource))
    }

    pub fn read(&self, rtype: LocalType, id: &str) -> Result<Read, LocalError> {
        Ok(
            match self.current.get(current_key(rtype, id)).map_err(store)? {
                None => Read::Missing,
                Some(bytes) => {
                    let resource = decode(rtype, id, &bytes)?;
                    if resource.deleted {
                        Read::Gone(resource)
                    } else {
                        Read::Found(resource)
                    }
                }
            },
        )
    }

    pub fn vread(
        &self,
        rtype: LocalType,
        id: &str,
        version: u32,
    ) -> Result<Option<LocalResource>, LocalError> {
        self.history
            .get(history_key(rtype, id, version))
            .map_err(store)?
            .map(|bytes| decode(rtype, id, &bytes))
            .transpose()
    }

    /// Every version of `id`, newest first (deletions included).
    pub fn history(&self, rtype: LocalType, id: &str) -> Result<Vec<LocalResource>, LocalError> {
        let mut versions = self
            .history
            .scan_prefix(
                current_key(rtype, id)
                    .into_iter()
                    .chain([0])
                    .collect::<Vec<u8>>(),
            )
            .map(|entry| {
                let (_, bytes) = entry.map_err(store)?;
                decode(rtype, id, &bytes)
            })
            .collect::<Result<Vec<_>, _>>()?;
        versions.reverse();
        Ok(versions)
    }

    /// Every version of every resource of `rtype` changed after `since` (if given), newest first.
    pub fn history_type(
        &self,
        rtype: LocalType,
        since: Option<OffsetDateTime>,
    ) -> Result<Vec<LocalResource>, LocalError> {
        let mut versions = Vec::new();
        for entry in self.history.scan_prefix(type_prefix(rtype)) {
            let (key, bytes) = entry.map_err(store)?;
            let id = id_of(rtype, &key)?;
            let resource = decode(rtype, &id, &bytes)?;
            if since.is_none_or(|since| resource.last_updated > since) {
                versions.push(resource);
            }
        }
        versions.sort_by(|a, b| {
            (b.last_updated, &b.id, b.version).cmp(&(a.last_updated, &a.id, a.version))
        });
        Ok(versions)
    }

    /// The current version of every resource of `rtype` that is not deleted, in id order.
    pub fn current(&self, rtype: LocalType) -> Result<Vec<LocalResource>, LocalError> {
        let mut found = Vec::new();
        for entry in self.current.scan_prefix(type_prefix(rtype)) {
            let (key, bytes) = entry.map_err(store)?;
            let id = id_of(rtype, &key)?;
            let resource = decode(rtype, &id, &bytes)?;
            if !resource.deleted {
                found.push(resource);
            }
        }
        Ok(found)
    }

    /// The change log after `seq` (exclusive), oldest first, at most `limit` entries.
    pub fn changes_after(&self, seq: u64, limit: usize) -> Result<Vec<Change>, LocalError> {
        let Some(from) = seq.checked_add(1) else {
            return Ok(Vec::new());
        };
        self.changes
            .range(from.to_be_bytes()..)
            .take(limit)
            .map(|entry| {
                let (key, bytes) = entry.map_err(store)?;
                decode_change(&key, &bytes)
            })
            .collect()
    }

    /// The number of the last change written (0 before any).
    pub fn last_seq(&self) -> Result<u64, LocalError> {
        Ok(read_u64(self.meta.get(META_SEQ).map_err(store)?.as_deref()))
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

    /// Whether the store holds nothing at all (no resource, no change, no module's record).
    pub fn is_empty(&self) -> Result<bool, LocalError> {
        for name in self.db.tree_names() {
            let tree = self.db.open_tree(&name).map_err(store)?;
            if !tree.is_empty() {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// One write: the resource's current record, its history, the change log and the counters
    /// in one transaction, then flushed. `None`: a delete with nothing to delete.
    fn write(
        &self,
        rtype: LocalType,
        id: &str,
        intent: Intent,
    ) -> Result<Option<Written>, LocalError> {
        let now = Millis::from_datetime(self.clock.now_utc());
        let trees = (&self.current, &self.history, &self.changes, &self.meta);
        let outcome = trees.transaction(|(current, history, changes, meta)| {
            let key = current_key(rtype, id);
            let before = match current.get(&key)? {
                Some(bytes) => Some(decode(rtype, id, &bytes).map_err(abort)?),
                None => None,
            };
            let Some(next) = next_version(rtype, id, before.as_ref(), &intent).map_err(abort)?
            else {
                return Ok(None);
            };
            let stamp = next_stamp(meta, now)?;
            let seq = read_u64(meta.get(META_SEQ)?.as_deref()) + 1;
            meta.insert(META_SEQ, &seq.to_be_bytes())?;
            let resource = next.to_resource(rtype, id, stamp);
            let bytes = encode(&resource);
            current.insert(key.as_slice(), bytes.as_slice())?;
            history.insert(history_key(rtype, id, resource.version), bytes.as_slice())?;
            let change = Change {
                seq,
                rtype,
                id: id.to_string(),
                version: resource.version,
                kind: next.kind,
                at: resource.last_updated,
            };
            changes.insert(&seq.to_be_bytes(), encode_change(&change))?;
            Ok(Some(Written {
                created: next.kind == ChangeKind::Created,
                resource,
            }))
        });
        let written = match outcome {
            Ok(written) => written,
            Err(TransactionError::Abort(e)) => return Err(e),
            Err(TransactionError::Storage(e)) => return Err(store(e)),
        };
        if written.is_some() {
            self.flush()?;
        }
        Ok(written)
    }
}

/// What a write makes of a resource, before it is stamped.
struct Next {
    kind: ChangeKind,
    version: u32,
    owner: String,
    deleted: bool,
    json: Value,
}

impl Next {
    /// The version as stored: `id`, `meta.versionId`, `meta.lastUpdated` set in the JSON
    /// (a deletion keeps the last content as it was).
    fn to_resource(&self, rtype: LocalType, id: &str, stamp: Millis) -> LocalResource {
        let mut json = self.json.clone();
        if !self.deleted {
            stamp_json(&mut json, rtype, id, self.version, stamp);
        }
        LocalResource {
            rtype,
            id: id.to_string(),
            version: self.version,
            last_updated: stamp.to_datetime(),
            deleted: self.deleted,
            owner: self.owner.clone(),
            json,
        }
    }
}

/// What the write does given the resource's record before it (`None`: nothing to do).
fn next_version(
    rtype: LocalType,
    id: &str,
    before: Option<&LocalResource>,
    intent: &Intent,
) -> Result<Option<Next>, LocalError> {
    let live = before.filter(|b| !b.deleted);
    let after = before.map_or(0, |b| b.version) + 1;
    Ok(match intent {
        Intent::Create { .. } if before.is_some() => {
            return Err(LocalError::Store(ID_TAKEN.into()));
        }
        Intent::Create { owner, body } => Some(Next {
            kind: ChangeKind::Created,
            version: 1,
            owner: owner.clone(),
            deleted: false,
            json: body.clone(),
        }),
        Intent::Put {
            owner,
            body,
            if_match,
        } => {
            match live {
                Some(live) => {
                    let Some(expected) = if_match else {
                        return Err(LocalError::PreconditionRequired(format!(
                            "{}/{id}",
                            rtype.as_str()
                        )));
                    };
                    check_match(rtype, live, *expected)?;
                }
                // A version given for a resource that does not exist (any more) is stale.
                None => {
                    if let Some(expected) = if_match {
                        return Err(LocalError::VersionConflict {
                            rtype: rtype.as_str(),
                            id: id.to_string(),
                            expected: *expected,
                            current: before.map_or(0, |b| b.version),
                        });
                    }
                }
            }
            Some(Next {
                kind: if live.is_some() {
                    ChangeKind::Updated
                } else {
                    ChangeKind::Created
                },
                version: after,
                // The first writer stays the owner of a resource that lives on.
                owner: live.map_or_else(|| owner.clone(), |l| l.owner.clone()),
                deleted: false,
                json: body.clone(),
            })
        }
        Intent::Delete { if_match } => match live {
            None => None,
            Some(live) => {
                if let Some(expected) = if_match {
                    check_match(rtype, live, *expected)?;
                }
                Some(Next {
                    kind: ChangeKind::Deleted,
                    version: after,
                    owner: live.owner.clone(),
                    deleted: true,
                    json: live.json.clone(),
                })
            }
        },
    })
}

fn check_match(rtype: LocalType, live: &LocalResource, expected: u32) -> Result<(), LocalError> {
    if live.version == expected {
        Ok(())
    } else {
        Err(LocalError::VersionConflict {
            rtype: rtype.as_str(),
            id: live.id.clone(),
            expected,
            current: live.version,
        })
    }
}

/// The reason a create's id was taken (the create draws another).
const ID_TAKEN: &str = "the id drawn is taken";

/// A new server-chosen id: 24 random letters and digits (a valid FHIR id, safe in URLs).
fn new_id() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..24)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// The stamp of the next write: the clock's time in milliseconds, or one past the last stamp
/// when the clock has not moved past it (strictly increasing across the store).
fn next_stamp(
    meta: &TransactionalTree,
    now: Millis,
) -> Result<Millis, ConflictableTransactionError<LocalError>> {
    let last = meta.get(META_STAMP)?.map(|b| read_u64(Some(&b)) as i64);
    let stamp = match last {
        Some(last) if now.0 <= last => Millis(last + 1),
        _ => now,
    };
    meta.insert(META_STAMP, &(stamp.0 as u64).to_be_bytes())?;
    Ok(stamp)
}

fn stamp_json(json: &mut Value, rtype: LocalType, id: &str, version: u32, stamp: Millis) {
    let Some(object) = json.as_object_mut() else {
        return;
    };
    object.insert("resourceType".into(), Value::from(rtype.as_str()));
    object.insert("id".into(), Value::from(id));
    let meta = object
        .entry("meta")
        .or_insert_with(|| Value::Object(Default::default()));
    if !meta.is_object() {
        *meta = Value::Object(Default::default());
    }
    let meta = meta.as_object_mut().expect("made an object");
    meta.insert("versionId".into(), Value::from(version.to_string()));
    meta.insert("lastUpdated".into(), Value::from(stamp.to_rfc3339()));
    // Keep the keys in FHIR's usual order: resourceType, id, meta first.
    let mut ordered = serde_json::Map::new();
    for key in ["resourceType", "id", "meta"] {
        if let Some(value) = object.remove(key) {
            ordered.insert(key.into(), value);
        }
    }
    ordered.append(object);
    *object = ordered;
}

fn abort(e: LocalError) -> ConflictableTransactionError<LocalError> {
    ConflictableTransactionError::Abort(e)
}

fn store(e: impl std::fmt::Display) -> LocalError {
    LocalError::Store(e.to_string())
}

impl From<UnabortableTransactionError> for LocalError {
    fn from(e: UnabortableTransactionError) -> LocalError {
        store(e)
    }
}

/// sled reports a held file lock as an I/O error with this text (sled 0.34 `Config::open_file`).
fn is_lock_held(error: &sled::Error) -> bool {
    matches!(error, sled::Error::Io(e) if e.to_string().contains("could not acquire lock"))
}

fn type_prefix(rtype: LocalType) -> Vec<u8> {
    let mut key = rtype.as_str().as_bytes().to_vec();
    key.push(0);
    key
}

/// `type \0 id`: a resource's current record.
fn current_key(rtype: LocalType, id: &str) -> Vec<u8> {
    let mut key = type_prefix(rtype);
    key.extend_from_slice(id.as_bytes());
    key
}

/// `type \0 id \0 version (u32 BE)`: one version, in version order under the resource.
fn history_key(rtype: LocalType, id: &str, version: u32) -> Vec<u8> {
    let mut key = current_key(rtype, id);
    key.push(0);
    key.extend_from_slice(&version.to_be_bytes());
    key
}

/// The id in a `current` or `history` key.
fn id_of(rtype: LocalType, key: &[u8]) -> Result<String, LocalError> {
    let rest = &key[type_prefix(rtype).len()..];
    let id = rest.split(|b| *b == 0).next().unwrap_or_default();
    String::from_utf8(id.to_vec()).map_err(|_| LocalError::Store("a key is not UTF-8".into()))
}

fn read_u64(bytes: Option<&[u8]>) -> u64 {
    bytes
        .and_then(|b| <[u8; 8]>::try_from(b).ok())
        .map_or(0, u64::from_be_bytes)
}

/// A stored version: a JSON object `{"version", "lastUpdated" (ms), "deleted", "owner",
/// "resource"}` (docs/store-format.md, "Local store").
fn encode(resource: &LocalResource) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "version": resource.version,
        "lastUpdated": Millis::from_datetime(resource.last_updated).0,
        "deleted": resource.deleted,
        "owner": resource.owner,
        "resource": resource.json,
    }))
    .expect("JSON value serializes")
}

fn decode(rtype: LocalType, id: &str, bytes: &[u8]) -> Result<LocalResource, LocalError> {
    let damaged = || LocalError::Store(format!("the record of {}/{id} is damaged", rtype.as_str()));
    let mut record: Value = serde_json::from_slice(bytes).map_err(|_| damaged())?;
    Ok(LocalResource {
        rtype,
        id: id.to_string(),
        version: record["version"]
            .as_u64()
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(damaged)?,
        last_updated: Millis(record["lastUpdated"].as_i64().ok_or_else(damaged)?).to_datetime(),
        deleted: record["deleted"].as_bool().ok_or_else(damaged)?,
        owner: record["owner"].as_str().ok_or_else(damaged)?.to_string(),
        json: record
            .get_mut("resource")
            .map(Value::take)
            .ok_or_else(damaged)?,
    })
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Created => "created",
            ChangeKind::Updated => "updated",
            ChangeKind::Deleted => "deleted",
        }
    }

    fn parse(text: &str) -> Option<ChangeKind> {
        [
            ChangeKind::Created,
            ChangeKind::Updated,
            ChangeKind::Deleted,
        ]
        .into_iter()
        .find(|k| k.as_str() == text)
    }
}

/// A change: `{"type", "id", "version", "kind", "at" (ms)}` under its number.
fn encode_change(change: &Change) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "type": change.rtype.as_str(),
        "id": change.id,
        "version": change.version,
        "kind": change.kind.as_str(),
        "at": Millis::from_datetime(change.at).0,
    }))
    .expect("JSON value serializes")
}

fn decode_change(key: &[u8], bytes: &[u8]) -> Result<Change, LocalError> {
    let damaged = || LocalError::Store("a change log entry is damaged".into());
    let record: Value = serde_json::from_slice(bytes).map_err(|_| damaged())?;
    Ok(Change {
        seq: read_u64(Some(key)),
        rtype: record["type"]
            .as_str()
            .and_then(LocalType::parse)
            .ok_or_else(damaged)?,
        id: record["id"].as_str().ok_or_else(damaged)?.to_string(),
        version: record["version"]
            .as_u64()
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(damaged)?,
        kind: record["kind"]
            .as_str()
            .and_then(ChangeKind::parse)
            .ok_or_else(damaged)?,
        at: Millis(record["at"].as_i64().ok_or_else(damaged)?).to_datetime(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn store() -> (tempfile::TempDir, LocalStore, crate::clock::ClockHandle) {
        let dir = tempfile::tempdir().unwrap();
        let (clock, handle) = Clock::manual(datetime!(2026-12-01 10:00 UTC));
        let store = LocalStore::open(&dir.path().join("local"), clock).unwrap();
        (dir, store, handle)
    }

    fn list(title: &str) -> Value {
        json!({"resourceType": "List", "status": "current", "mode": "working", "title": title})
    }

    #[test]
    fn create_sets_id_version_and_stamp_and_logs_the_change() {
        let (_dir, store, _) = store();
        let written = store.create(LocalType::List, list("a"), "alice").unwrap();
        assert!(written.created);
        let r = &written.resource;
        assert_eq!(r.version, 1);
        assert_eq!(r.owner, "alice");
        assert!(r.id.len() == 24 && r.id.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(r.json["id"], r.id.as_str());
        assert_eq!(r.json["meta"]["versionId"], "1");
        assert_eq!(r.json["meta"]["lastUpdated"], "2026-12-01T10:00:00Z");
        assert_eq!(
            store.read(LocalType::List, &r.id).unwrap(),
            Read::Found(r.clone())
        );
        let changes = store.changes_after(0, 10).unwrap();
        assert_eq!(changes.len(), 1);
        assert_eq!((changes[0].seq, changes[0].kind), (1, ChangeKind::Created));
    }

    #[test]
    fn stamps_strictly_increase_when_the_clock_stands_still() {
        let (_dir, store, _) = store();
        let a = store
            .create(LocalType::List, list("a"), "x")
            .unwrap()
            .resource;
        let b = store
            .create(LocalType::List, list("b"), "x")
            .unwrap()
            .resource;
        assert!(b.last_updated > a.last_updated);
        assert_eq!(b.json["meta"]["lastUpdated"], "2026-12-01T10:00:00.001Z");
    }

    #[test]
    fn updates_need_the_current_version_and_keep_the_owner() {
        let (_dir, store, _) = store();
        let id = store
            .create(LocalType::List, list("a"), "alice")
            .unwrap()
            .resource
            .id;
        assert!(matches!(
            store.update(LocalType::List, &id, list("b"), None, "bob"),
            Err(LocalError::PreconditionRequired(_))
        ));
        assert!(matches!(
            store.update(LocalType::List, &id, list("b"), Some(2), "bob"),
            Err(LocalError::VersionConflict {
                expected: 2,
                current: 1,
                ..
            })
        ));
        let w = store
            .update(LocalType::List, &id, list("b"), Some(1), "bob")
            .unwrap();
        assert!(!w.created);
        assert_eq!(
            (w.resource.version, w.resource.owner.as_str()),
            (2, "alice")
        );
        assert_eq!(store.history(LocalType::List, &id).unwrap().len(), 2);
        assert_eq!(
            store.vread(LocalType::List, &id, 1).unwrap().unwrap().json["title"],
            "a"
        );
    }

    #[test]
    fn put_to_a_new_id_creates_it_and_a_deletion_keeps_the_numbering() {
        let (_dir, store, _) = store();
        let w = store
            .update(LocalType::List, "mine", list("a"), None, "x")
            .unwrap();
        assert!(w.created);
        assert!(matches!(
            store.delete(LocalType::List, "mine", Some(3)),
            Err(LocalError::VersionConflict { .. })
        ));
        let gone = store
            .delete(LocalType::List, "mine", Some(1))
            .unwrap()
            .unwrap();
        assert_eq!((gone.version, gone.deleted), (2, true));
        assert!(matches!(
            store.read(LocalType::List, "mine").unwrap(),
            Read::Gone(_)
        ));
        assert_eq!(store.delete(LocalType::List, "mine", None).unwrap(), None);
        assert_eq!(
            store.delete(LocalType::List, "nothing", None).unwrap(),
            None
        );
        assert!(store.current(LocalType::List).unwrap().is_empty());
        let again = store
            .update(LocalType::List, "mine", list("c"), None, "x")
            .unwrap();
        assert!(again.created);
        assert_eq!(again.resource.version, 3);
        let kinds: Vec<ChangeKind> = store
            .changes_after(0, 10)
            .unwrap()
            .iter()
            .map(|c| c.kind)
            .collect();
        assert_eq!(
            kinds,
            [
                ChangeKind::Created,
                ChangeKind::Deleted,
                ChangeKind::Created
            ]
        );
        assert_eq!(store.changes_after(2, 10).unwrap()[0].seq, 3);
        assert_eq!(
            store.history_type(LocalType::List, None).unwrap()[0].version,
            3
        );
    }

    #[test]
    fn writes_survive_a_reopen_and_types_are_kept_apart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("local");
        let id = {
            let store = LocalStore::open(&path, Clock::system()).unwrap();
            store
                .update(
                    LocalType::Subscription,
                    "s",
                    json!({"resourceType": "Subscription"}),
                    None,
                    "x",
                )
                .unwrap();
            store
                .create(LocalType::List, list("a"), "x")
                .unwrap()
                .resource
                .id
        };
        let store = LocalStore::open(&path, Clock::system()).unwrap();
        let lists = store.current(LocalType::List).unwrap();
        assert_eq!(lists.len(), 1);
        assert_eq!(lists[0].id, id);
        assert_eq!(store.current(LocalType::Subscription).unwrap().len(), 1);
        assert_eq!(store.last_seq().unwrap(), 2);
        assert!(!store.is_empty().unwrap());
    }
}
