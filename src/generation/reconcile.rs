//! Versions that follow content: an import's resources compared with the generation before.
//!
//! Both sides are sorted by id, so the comparison is a merge of two ordered lists per type (no
//! table of the previous generation in memory, no random reads), and it reads the previous
//! generation through plain files only (`versions.bin`, `history.bin`, its data file): a
//! running server may hold that generation's sled database open.
//!
//! | previous | now | outcome |
//! |---|---|---|
//! | active, same content | present | unchanged: same version and `lastUpdated` |
//! | active, other content | present | changed: version + 1 at the import's time; the old one goes to history |
//! | deactivated | present | changed (back): version + 1 |
//! | none (or deleted) | present | added: version 1 (or one past the deletion) |
//! | active | absent | deactivated: version + 1 with a minimal body (`active=false`) |
//! | deactivated, within the retention | absent | kept as it is |
//! | deactivated, past the retention | absent | deleted: gone from searches and reads (410); its history ends with a deletion |

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::content::{ContentReader, ContentWriter, Written};
use super::error::StoreError;
use super::format::{HISTORY_FILE, VERSIONS_FILE};
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
    let mut merge = Merge {
        writer,
        previous,
        segment,
        now,
        retention,
        new_history: Vec::new(),
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
    let mut history = previous_history;
    history.extend(merge.new_history);
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
}

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
        let minimal = deactivated_body(rtype, &content).ok_or_else(|| StoreError::Damaged {
            path: self.previous().path.clone(),
            detail: format!("{rtype}/{id} is not a JSON object"),
        })?;
        self.supersede(rtype, id, before)?;
        let location = self.writer.append(&minimal)?;
        Ok(Record {
            location,
            splice: splice_point(&minimal).expect("the minimal body has a meta"),
            version: Version {
                number: before.version.number + 1,
                last_updated: self.now,
            },
            content: ContentHash::of(&minimal),
            state: State::Deactivated,
        })
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

/// The body a closed record keeps, as the ANS API serves it: `resourceType`, `id`, an empty
/// `meta` (the store adds the version), the identifiers, `active: false`, and for an
/// Organization its name.
pub fn deactivated_body(rtype: ResourceType, content: &[u8]) -> Option<Vec<u8>> {
    let Ok(Value::Object(resource)) = serde_json::from_slice::<Value>(content) else {
        return None;
    };
    let mut minimal = Map::new();
    minimal.insert("resourceType".into(), Value::from(rtype.as_str()));
    minimal.insert("id".into(), resource.get("id")?.clone());
    minimal.insert("meta".into(), Value::Object(Map::new()));
    if let Some(identifiers) = resource.get("identifier") {
        minimal.insert("identifier".into(), identifiers.clone());
    }
    minimal.insert("active".into(), Value::Bool(false));
    if rtype == ResourceType::Organization
        && let Some(name) = resource.get("name")
    {
        minimal.insert("name".into(), name.clone());
    }
    Some(serde_json::to_vec(&Value::Object(minimal)).expect("JSON serializes"))
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
    fn deactivated_bodies_keep_ids_identifiers_and_an_organization_name() {
        let practitioner = br#"{"resourceType":"Practitioner","id":"pp-1","meta":{"profile":["x"]},"identifier":[{"value":"1"}],"active":true,"name":[{"family":"A"}]}"#;
        let body = deactivated_body(ResourceType::Practitioner, practitioner).unwrap();
        assert_eq!(
            String::from_utf8(body).unwrap(),
            r#"{"resourceType":"Practitioner","id":"pp-1","meta":{},"identifier":[{"value":"1"}],"active":false}"#
        );
        let organization =
            br#"{"resourceType":"Organization","id":"eg-1","meta":{},"active":true,"name":"CH"}"#;
        let body: Value = serde_json::from_slice(
            &deactivated_body(ResourceType::Organization, organization).unwrap(),
        )
        .unwrap();
        assert_eq!(body["name"], "CH");
        assert_eq!(body["active"], false);
        assert!(deactivated_body(ResourceType::Organization, b"[1]").is_none());
    }
}
