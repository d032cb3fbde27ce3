//! Versions that follow content: an import's resources compared with the generation before.
//!
//! Both sides are sorted by id, so the comparison is a merge of two ordered lists per type (no
//! table of the previous generation in memory), and it reads the previous generation through
//! plain files only (`versions.bin`, `history.bin`, its data file, and the history segments
//! for the last active version of a deactivated record): a running server may hold that
//! generation's sled database open.
//!
//! | previous | now | outcome |
//! |---|---|---|
//! | active, same content | present | unchanged: same version and `lastUpdated` |
//! | active, other content | present | changed: version + 1 at the import's time; the old one goes to history |
//! | deactivated | present | changed (back): version + 1 |
//! | none (or deleted) | present | added: version 1 (or one past the deletion) |
//! | active | absent | deactivated: version + 1 with a minimal body (`active=false`, see [`deactivated_body`]) |
//! | deactivated, within the retention | absent | kept as it is, unless its body is not what [`deactivated_body`] keeps of its last active version (a body written by an earlier rule): then version + 1 with that body |
//! | deactivated, past the retention | absent | deleted: gone from searches and reads (410); its history ends with a deletion |

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::content::{ContentReader, ContentWriter, Written};
use super::error::StoreError;
use super::format::{HISTORY_FILE, VERSIONS_FILE, segment_path};
use super::history::{self, HistoryEntry, Kind, SegmentWriter};
use super::info::GenerationInfo;
use super::record::{ContentHash, Location, Millis, Record, State, Version, splice_point};
use crate::fhir::ResourceType;

/// How long deactivated records and past versions are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Days a resource absent from the extractions stays as a deactivated record before it is
    /// deleted.
    pub deactivated_days: u32,
    /// Days a past version (or a deletion) stays in the history after it was superseded.
    pub history_days: u32,
}

impl Default for Retention {
    fn default() -> Retention {
        Retention {
            deactivated_days: 30,
            history_days: 30,
        }
    }
}

/// What an import did to one type's resources.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Changes {
    /// New ids (or ids back after a deletion).
    pub added: u64,
    /// Content changed, or back from deactivated.
    pub changed: u64,
    /// Absent from the extraction: now a deactivated record.
    pub deactivated: u64,
    /// Deactivated for longer than the retention: deleted.
    pub deleted: u64,
    pub unchanged: u64,
    /// Deactivated records kept as they were (still within the retention).
    pub still_deactivated: u64,
    /// Active resources of this type in the generation before.
    pub previously_active: u64,
}

impl Changes {
    /// Current resources after the import (deactivated records included).
    pub fn total(&self) -> u64 {
        self.added + self.changed + self.deactivated + self.unchanged + self.still_deactivated
    }
}

/// The generation an import compares with, read through its plain files.
pub struct Previous {
    path: PathBuf,
    content: ContentReader,
}

impl Previous {
    /// Opens the versioned files of the generation at `path`; `None` when it predates
    /// versioning (no `versions.bin`): its resources are then compared with nothing.
    pub fn open(path: &Path) -> Result<Option<Previous>, StoreError> {
        if !path.join(VERSIONS_FILE).is_file() {
            return Ok(None);
        }
        Ok(Some(Previous {
            path: path.to_path_buf(),
            content: ContentReader::open(path)?,
        }))
    }

    /// The description of the previous generation.
    pub fn info(&self) -> Result<GenerationInfo, StoreError> {
        GenerationInfo::read(&self.path)
    }

    fn content(&self, location: Location) -> Result<Vec<u8>, StoreError> {
        self.content.read(location)
    }
}

/// The outcome of reconciling one import.
pub struct Reconciled {
    /// Per type, in [`ResourceType::ALL`] order: the current resources, sorted by id.
    pub documents: Vec<(ResourceType, Vec<(String, Record)>)>,
    /// The whole history after this import, sorted by type, id and version.
    pub history: Vec<HistoryEntry>,
    pub changes: Vec<(ResourceType, Changes)>,
}

/// Decides every resource's version against `previous`, writes the superseded versions to
/// `segment`, and appends deactivated records to the content `writer` is writing.
pub fn reconcile(
    writer: &ContentWriter,
    previous: Option<&Previous>,
    segment: &mut SegmentWriter,
    now: Millis,
    retention: Retention,
) -> Result<Reconciled, StoreError> {
    reconcile_with(writer, previous, segment, now, retention, deactivated_body)
}

/// [`reconcile`] with another rule for deactivated bodies (tests stand for an earlier build's
/// with it).
pub(super) fn reconcile_with(
    writer: &ContentWriter,
    previous: Option<&Previous>,
    segment: &mut SegmentWriter,
    now: Millis,
    retention: Retention,
    rule: BodyRule,
) -> Result<Reconciled, StoreError> {
    let mut previous_history = match previous {
        Some(p) => history::read_index_file(&p.path.join(HISTORY_FILE))?,
        None => Vec::new(),
    };
    let history_start = Millis(now.0 - i64::from(retention.history_days) * 86_400_000);
    previous_history.retain(|e| e.superseded >= history_start);
    let mut versions = match previous {
        Some(p) => Some(VersionsReader::open(&p.path.join(VERSIONS_FILE))?),
        None => None,
    };
    let history_dir = segment.dir();
    let mut merge = Merge {
        writer,
        previous,
        segment,
        now,
        retention,
        new_history: Vec::new(),
        past: PastVersions::of(&previous_history, history_dir),
        deactivated_body: rule,
    };
    let mut documents = Vec::new();
    let mut changes = Vec::new();
    for rtype in ResourceType::ALL {
        let before: Vec<(String, Record)> = match &mut versions {
            Some(reader) => reader.take_type(rtype)?,
            None => Vec::new(),
        };
        // Versions a deleted id reached, so that it comes back one past them.
        let deleted_versions: HashMap<&str, u32> = previous_history
            .iter()
            .filter(|e| e.rtype == rtype && e.kind == Kind::Deleted)
            .map(|e| (e.id.as_str(), e.version.number))
            .collect();
        let (current, type_changes) =
            merge.type_documents(rtype, writer.documents(rtype)?, before, &deleted_versions)?;
        documents.push((rtype, current));
        changes.push((rtype, type_changes));
    }
    let new_history = std::mem::take(&mut merge.new_history);
    drop(merge);
    let mut history = previous_history;
    history.extend(new_history);
    history.sort_by(|a, b| {
        (a.rtype, &a.id, a.version.number).cmp(&(b.rtype, &b.id, b.version.number))
    });
    Ok(Reconciled {
        documents,
        history,
        changes,
    })
}

struct Merge<'a> {
    writer: &'a ContentWriter,
    previous: Option<&'a Previous>,
    segment: &'a mut SegmentWriter,
    now: Millis,
    retention: Retention,
    new_history: Vec<HistoryEntry>,
    /// The past versions of the generation before, to rebuild a deactivated body.
    past: PastVersions<'a>,
    /// What a deactivated version keeps: [`deactivated_body`] (another rule in tests, to
    /// stand for an earlier build's).
    deactivated_body: BodyRule,
}

/// Makes the deactivated body of a resource from its last active content.
pub(super) type BodyRule = fn(ResourceType, &[u8]) -> Option<Vec<u8>>;

impl Merge<'_> {
    /// Merges one type's written resources (sorted by id) with the previous generation's.
    fn type_documents(
        &mut self,
        rtype: ResourceType,
        written: Vec<Written>,
        before: Vec<(String, Record)>,
        deleted_versions: &HashMap<&str, u32>,
    ) -> Result<(Vec<(String, Record)>, Changes), StoreError> {
        let mut changes = Changes {
            previously_active: before
                .iter()
                .filter(|(_, r)| r.state == State::Active)
                .count() as u64,
            ..Changes::default()
        };
        let mut out = Vec::with_capacity(written.len() + before.len() / 100);
        let mut new = written.into_iter().peekable();
        let mut old = before.into_iter().peekable();
        loop {
            let order = match (new.peek(), old.peek()) {
                (None, None) => break,
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (Some(n), Some((id, _))) => n.id.as_str().cmp(id.as_str()),
            };
            match order {
                std::cmp::Ordering::Less => {
                    let n = new.next().expect("peeked");
                    let number = deleted_versions.get(n.id.as_str()).map_or(1, |v| v + 1);
                    changes.added += 1;
                    out.push((n.id.clone(), self.fresh(&n, number)));
                }
                std::cmp::Ordering::Equal => {
                    let n = new.next().expect("peeked");
                    let (_, before) = old.next().expect("peeked");
                    if before.state == State::Active && before.content == n.content {
                        changes.unchanged += 1;
                        let record = self.fresh(&n, before.version.number);
                        out.push((
                            n.id,
                            Record {
                                version: before.version,
                                ..record
                            },
                        ));
                    } else {
                        changes.changed += 1;
                        self.supersede(rtype, &n.id, &before)?;
                        out.push((n.id.clone(), self.fresh(&n, before.version.number + 1)));
                    }
                }
                std::cmp::Ordering::Greater => {
                    let (id, before) = old.next().expect("peeked");
                    match before.state {
                        State::Active => {
                            changes.deactivated += 1;
                            let record = self.deactivate(rtype, &id, &before)?;
                            out.push((id, record));
                        }
                        State::Deactivated => {
                            let expires = before
                                .version
                                .last_updated
                                .plus_days(self.retention.deactivated_days);
                            if self.now >= expires {
                                changes.deleted += 1;
                                self.delete(rtype, &id, &before)?;
                            } else if let Some(body) = self.outdated_body(rtype, &id, &before)? {
                                changes.changed += 1;
                                let record = self.redeactivate(rtype, &id, &before, &body)?;
                                out.push((id, record));
                            } else {
                                changes.still_deactivated += 1;
                                let record = self.carry(&before)?;
                                out.push((id, record));
                            }
                        }
                    }
                }
            }
        }
        Ok((out, changes))
    }

    /// The record of a written resource, at version `number` made now.
    fn fresh(&self, written: &Written, number: u32) -> Record {
        Record {
            location: written.location,
            splice: written.splice,
            version: Version {
                number,
                last_updated: self.now,
            },
            content: written.content,
            state: State::Active,
        }
    }

    fn previous(&self) -> &Previous {
        self.previous
            .expect("only resources of a previous generation are superseded")
    }

    /// Moves the previous version of `id` to the history, superseded now.
    fn supersede(
        &mut self,
        rtype: ResourceType,
        id: &str,
        before: &Record,
    ) -> Result<(), StoreError> {
        let content = self.previous().content(before.location)?;
        let location = self.segment.append(&content)?;
        self.new_history.push(HistoryEntry {
            rtype,
            id: id.to_owned(),
            version: before.version,
            superseded: self.now,
            kind: Kind::Version {
                segment: self.segment.number(),
                location,
                splice: before.splice,
            },
        });
        Ok(())
    }

    /// A resource absent from this import: its minimal deactivated record, one version on.
    fn deactivate(
        &mut self,
        rtype: ResourceType,
        id: &str,
        before: &Record,
    ) -> Result<Record, StoreError> {
        let content = self.previous().content(before.location)?;
        let minimal =
            (self.deactivated_body)(rtype, &content).ok_or_else(|| StoreError::Damaged {
                path: self.previous().path.clone(),
                detail: format!("{rtype}/{id} is not a JSON object"),
            })?;
        self.redeactivate(rtype, id, before, &minimal)
    }

    /// `body` as the next version of `id`, deactivated; the version before goes to the history.
    fn redeactivate(
        &mut self,
        rtype: ResourceType,
        id: &str,
        before: &Record,
        body: &[u8],
    ) -> Result<Record, StoreError> {
        self.supersede(rtype, id, before)?;
        let location = self.writer.append(body)?;
        Ok(Record {
            location,
            splice: splice_point(body).expect("a deactivated body has a meta"),
            version: Version {
                number: before.version.number + 1,
                last_updated: self.now,
            },
            content: ContentHash::of(body),
            state: State::Deactivated,
        })
    }

    /// The body a deactivated record should have when it differs from the one it has: a record
    /// deactivated by an earlier build kept less (no `name`, no references), and is completed
    /// once from its last active version, when the history still holds it. `None`: keep it.
    fn outdated_body(
        &self,
        rtype: ResourceType,
        id: &str,
        before: &Record,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(active) = self.past.last_active(rtype, id)? else {
            return Ok(None);
        };
        Ok((self.deactivated_body)(rtype, &active)
            .filter(|body| ContentHash::of(body) != before.content))
    }

    /// A deactivated record past the retention: its last version and the deletion go to the
    /// history; it is no longer current.
    fn delete(&mut self, rtype: ResourceType, id: &str, before: &Record) -> Result<(), StoreError> {
        self.supersede(rtype, id, before)?;
        self.new_history.push(HistoryEntry {
            rtype,
            id: id.to_owned(),
            version: Version {
                number: before.version.number + 1,
                last_updated: self.now,
            },
            superseded: self.now,
            kind: Kind::Deleted,
        });
        Ok(())
    }

    /// A deactivated record kept as it is, copied into this generation.
    fn carry(&mut self, before: &Record) -> Result<Record, StoreError> {
        let content = self.previous().content(before.location)?;
        let location = self.writer.append(&content)?;
        Ok(Record {
            location,
            ..*before
        })
    }
}

/// The body a closed record keeps: what a client needs to find it, name it and see where it
/// was, and nothing else (no address, telecom, qualification or code).
///
/// - `resourceType`, `id`, `meta` with the profiles the last version claimed (the store adds
///   the version): the body still conforms to them (it keeps every element they require);
/// - the identifiers, and `active: false`; a Device, which has no `active`, `status:
///   "inactive"` instead (an unknown element would make clients and validators reject it);
/// - a Practitioner its `name`; an Organization its `name` and `partOf` (its legal entity);
///   a PractitionerRole its `practitioner` and `organization`; a HealthcareService its
///   `providedBy` and `type`; a Device its `type` and `owner`: so that
///   `PractitionerRole?practitioner=X&active=false` lists the activities X closed, and chains,
///   `_include`, `_revinclude` and `_has` reach closed records as they reach open ones.
///
/// Elements are kept whole and in the order of their definitions.
pub fn deactivated_body(rtype: ResourceType, content: &[u8]) -> Option<Vec<u8>> {
    let Ok(Value::Object(resource)) = serde_json::from_slice::<Value>(content) else {
        return None;
    };
    let mut minimal = Map::new();
    minimal.insert("resourceType".into(), Value::from(rtype.as_str()));
    minimal.insert("id".into(), resource.get("id")?.clone());
    let mut meta = Map::new();
    if let Some(profile) = resource.get("meta").and_then(|m| m.get("profile")) {
        meta.insert("profile".into(), profile.clone());
    }
    minimal.insert("meta".into(), Value::Object(meta));
    if let Some(identifiers) = resource.get("identifier") {
        minimal.insert("identifier".into(), identifiers.clone());
    }
    let (flag, closed) = closed_flag(rtype);
    minimal.insert(flag.into(), closed);
    for element in kept_elements(rtype) {
        if let Some(value) = resource.get(*element) {
            minimal.insert((*element).into(), value.clone());
        }
    }
    Some(serde_json::to_vec(&Value::Object(minimal)).expect("JSON serializes"))
}

/// The element that says a record is closed, and its closed value: `active: false`, or for a
/// Device (which has no `active`) `status: "inactive"`. It follows `identifier` in every
/// served type's definition.
fn closed_flag(rtype: ResourceType) -> (&'static str, Value) {
    match rtype {
        ResourceType::Device => ("status", Value::from("inactive")),
        _ => ("active", Value::Bool(false)),
    }
}

/// The elements that name a closed record or link it, besides its identifiers, in the order
/// of their definitions (after `active` or `status`).
fn kept_elements(rtype: ResourceType) -> &'static [&'static str] {
    match rtype {
        ResourceType::Practitioner => &["name"],
        ResourceType::PractitionerRole => &["practitioner", "organization"],
        ResourceType::Organization => &["name", "partOf"],
        ResourceType::HealthcareService => &["providedBy", "type"],
        ResourceType::Device => &["type", "owner"],
    }
}

/// The past versions of the generation before, by resource: where a deactivated record's last
/// active version is.
struct PastVersions<'a> {
    /// Per resource, its past versions (oldest first).
    by_resource: HashMap<(ResourceType, &'a str), Vec<&'a HistoryEntry>>,
    history_dir: PathBuf,
    /// The segments opened so far, by number.
    segments: std::cell::RefCell<HashMap<u64, File>>,
}

impl<'a> PastVersions<'a> {
    fn of(entries: &'a [HistoryEntry], history_dir: PathBuf) -> PastVersions<'a> {
        let mut by_resource: HashMap<(ResourceType, &str), Vec<&HistoryEntry>> = HashMap::new();
        for entry in entries {
            if matches!(entry.kind, Kind::Version { .. }) {
                by_resource
                    .entry((entry.rtype, entry.id.as_str()))
                    .or_default()
                    .push(entry);
            }
        }
        for versions in by_resource.values_mut() {
            versions.sort_by_key(|e| e.version.number);
        }
        PastVersions {
            by_resource,
            history_dir,
            segments: Default::default(),
        }
    }

    /// The content of the newest past version of `id` that was active; `None` when the
    /// history no longer holds one.
    fn last_active(&self, rtype: ResourceType, id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let Some(versions) = self.by_resource.get(&(rtype, id)) else {
            return Ok(None);
        };
        for entry in versions.iter().rev() {
            let Kind::Version {
                segment, location, ..
            } = entry.kind
            else {
                continue;
            };
            let content = self.read(segment, location)?;
            if !is_deactivated(&content) {
                return Ok(Some(content));
            }
        }
        Ok(None)
    }
}

impl PastVersions<'_> {
    fn read(&self, segment: u64, location: Location) -> Result<Vec<u8>, StoreError> {
        let path = segment_path(&self.history_dir, segment);
        let mut segments = self.segments.borrow_mut();
        let file = match segments.entry(segment) {
            std::collections::hash_map::Entry::Occupied(open) => open.into_mut(),
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(File::open(&path).map_err(StoreError::io("cannot open", &path))?)
            }
        };
        history::read_segment(file, location, &path)
    }
}

/// Whether stored content is a deactivated body (`"active":false`, a Device's
/// `"status":"inactive"`).
fn is_deactivated(content: &[u8]) -> bool {
    serde_json::from_slice::<Value>(content).is_ok_and(|v| {
        v.get("active") == Some(&Value::Bool(false))
            || (v.get("resourceType") == Some(&Value::from("Device"))
                && v.get("status") == Some(&Value::from("inactive")))
    })
}

/// Writes `versions.bin`: per resource `[type byte][u16 id length][id][record]`, in type then
/// id order.
pub fn write_versions_file(
    path: &Path,
    documents: &[(ResourceType, Vec<(String, Record)>)],
) -> Result<(), StoreError> {
    let file = File::create(path).map_err(StoreError::io("cannot create", path))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    for (rtype, records) in documents {
        for (id, record) in records {
            let id_len = u16::try_from(id.len()).expect("ids are at most 64 bytes");
            out.write_all(&[history::type_byte(*rtype)])
                .and_then(|()| out.write_all(&id_len.to_le_bytes()))
                .and_then(|()| out.write_all(id.as_bytes()))
                .and_then(|()| out.write_all(&record.encode()))
                .map_err(StoreError::io("cannot write", path))?;
        }
    }
    out.flush().map_err(StoreError::io("cannot write", path))?;
    out.get_ref()
        .sync_all()
        .map_err(StoreError::io("cannot sync", path))
}

/// Reads `versions.bin` one type at a time, in the order it was written.
struct VersionsReader {
    path: PathBuf,
    input: BufReader<File>,
    /// The first entry of the next type, read ahead.
    pending: Option<(ResourceType, String, Record)>,
}

impl VersionsReader {
    fn open(path: &Path) -> Result<VersionsReader, StoreError> {
        let file = File::open(path).map_err(StoreError::io("cannot open", path))?;
        Ok(VersionsReader {
            path: path.to_path_buf(),
            input: BufReader::with_capacity(1 << 20, file),
            pending: None,
        })
    }

    fn next_entry(&mut self) -> Result<Option<(ResourceType, String, Record)>, StoreError> {
        let damaged = |detail: &str| StoreError::Damaged {
            path: self.path.clone(),
            detail: format!("versions.bin: {detail}"),
        };
        let mut head = [0u8; 3];
        match self.input.read_exact(&mut head) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(StoreError::io("cannot read", &self.path)(e)),
        }
        let rtype = history::type_of_byte(head[0]).ok_or_else(|| damaged("unknown type"))?;
        let mut id = vec![0u8; usize::from(u16::from_le_bytes([head[1], head[2]]))];
        let mut record = [0u8; Record::ENCODED_LEN];
        self.input
            .read_exact(&mut id)
            .and_then(|()| self.input.read_exact(&mut record))
            .map_err(StoreError::io("cannot read", &self.path))?;
        let id = String::from_utf8(id).map_err(|_| damaged("an id is not UTF-8"))?;
        let record = Record::decode(&record).ok_or_else(|| damaged("unreadable record"))?;
        Ok(Some((rtype, id, record)))
    }

    /// Every record of `rtype` (types come in [`ResourceType::ALL`] order).
    fn take_type(&mut self, rtype: ResourceType) -> Result<Vec<(String, Record)>, StoreError> {
        let mut out = Vec::new();
        loop {
            let next = match self.pending.take() {
                Some(entry) => Some(entry),
                None => self.next_entry()?,
            };
            match next {
                Some((t, id, record)) if t == rtype => out.push((id, record)),
                Some(other) => {
                    self.pending = Some(other);
                    return Ok(out);
                }
                None => return Ok(out),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deactivated_bodies_keep_what_finds_and_names_them() {
        let practitioner = br#"{"resourceType":"Practitioner","id":"pp-1","meta":{"profile":["x"],"source":"s"},"identifier":[{"value":"1"}],"active":true,"name":[{"family":"A"}],"qualification":[{"code":{}}]}"#;
        let body = deactivated_body(ResourceType::Practitioner, practitioner).unwrap();
        assert_eq!(
            String::from_utf8(body).unwrap(),
            r#"{"resourceType":"Practitioner","id":"pp-1","meta":{"profile":["x"]},"identifier":[{"value":"1"}],"active":false,"name":[{"family":"A"}]}"#
        );
        let role = br#"{"resourceType":"PractitionerRole","id":"se-1","meta":{},"identifier":[{"value":"1"}],"active":true,"practitioner":{"reference":"Practitioner/pp-1"},"organization":{"reference":"Organization/eg-1"},"code":[{}],"telecom":[{}]}"#;
        assert_eq!(
            String::from_utf8(deactivated_body(ResourceType::PractitionerRole, role).unwrap())
                .unwrap(),
            r#"{"resourceType":"PractitionerRole","id":"se-1","meta":{},"identifier":[{"value":"1"}],"active":false,"practitioner":{"reference":"Practitioner/pp-1"},"organization":{"reference":"Organization/eg-1"}}"#
        );
        let organization = br#"{"resourceType":"Organization","id":"eg-1","meta":{},"active":true,"name":"CH","address":[{}],"partOf":{"reference":"Organization/ej-1"}}"#;
        let body: Value = serde_json::from_slice(
            &deactivated_body(ResourceType::Organization, organization).unwrap(),
        )
        .unwrap();
        assert_eq!(body["name"], "CH");
        assert_eq!(body["partOf"]["reference"], "Organization/ej-1");
        assert_eq!(body["active"], false);
        assert!(body.get("address").is_none());
        assert!(deactivated_body(ResourceType::Organization, b"[1]").is_none());
    }

    /// A Device has no `active`: it closes with `status: inactive`, keeping its type and
    /// owner; a HealthcareService closes with `active: false`, keeping its provider and type.
    #[test]
    fn deactivated_finess_services_use_their_own_closed_flag() {
        let device = br#"{"resourceType":"Device","id":"eml-1","meta":{"profile":["p"]},"identifier":[{"value":"84-82-1"}],"status":"active","type":{"text":"IRM"},"owner":{"reference":"Organization/eg-1"},"extension":[{}]}"#;
        let body = deactivated_body(ResourceType::Device, device).unwrap();
        assert_eq!(
            String::from_utf8(body.clone()).unwrap(),
            r#"{"resourceType":"Device","id":"eml-1","meta":{"profile":["p"]},"identifier":[{"value":"84-82-1"}],"status":"inactive","type":{"text":"IRM"},"owner":{"reference":"Organization/eg-1"}}"#
        );
        assert!(is_deactivated(&body));
        assert!(!is_deactivated(device));
        assert_eq!(deactivated_body(ResourceType::Device, &body).unwrap(), body);
        let service = br#"{"resourceType":"HealthcareService","id":"asr-1","meta":{},"active":true,"providedBy":{"reference":"Organization/eg-1"},"category":[{}],"type":[{"text":"Urgences"}],"characteristic":[{}]}"#;
        assert_eq!(
            String::from_utf8(deactivated_body(ResourceType::HealthcareService, service).unwrap())
                .unwrap(),
            r#"{"resourceType":"HealthcareService","id":"asr-1","meta":{},"active":false,"providedBy":{"reference":"Organization/eg-1"},"type":[{"text":"Urgences"}]}"#
        );
    }

    #[test]
    fn a_deactivated_body_is_its_own_deactivated_body() {
        let role = br#"{"resourceType":"PractitionerRole","id":"se-1","meta":{"profile":["p"]},"active":true,"practitioner":{"reference":"Practitioner/pp-1"}}"#;
        let once = deactivated_body(ResourceType::PractitionerRole, role).unwrap();
        assert!(is_deactivated(&once));
        assert!(!is_deactivated(role));
        assert_eq!(
            deactivated_body(ResourceType::PractitionerRole, &once).unwrap(),
            once
        );
    }
}
