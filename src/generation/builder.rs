//! The write path of a generation, from the first resource to the switch, in three steps:
//!
//! 1. [`GenerationBuilder`]: the mapping writes resources (from several threads), the FINESS
//!    coordinates and the codes' labels.
//! 2. [`GenerationBuilder::version`]: every resource is compared with the generation before
//!    (see [`super::reconcile`]); the versions it supersedes go to the import's history
//!    segment. What changed is known here, before anything is switched, so an import can still
//!    refuse it. [`Versioned::index`] then lets the search index read the documents and write
//!    its tables.
//! 3. [`Versioned::commit`]: the documents, the history index and the plain files the next
//!    import reads are written, everything is synced, the description is written last, and
//!    `CURRENT` is switched to the new generation.
//!
//! A builder dropped before its commit (an error, a refusal) removes what it wrote: a failed
//! import leaves the data directory as it found it.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::block::{BlockWriter, IndexFile};
use super::content::ContentWriter;
use super::datadir::{DataDir, ProcessLock};
use super::error::StoreError;
use super::format::{
    FORMAT, HISTORY_FILE, INFO_FILE, IndexTable, IndexValues, LABELS_FILE, SPILL_DIR, TypeTree,
    VERSIONS_FILE, segment_path,
};
use super::history::{self, HistoryEntry, SegmentWriter};
use super::info::{GenerationInfo, ResourceCounts};
use super::reconcile::{self, Changes, Previous, Reconciled, Retention};
use super::record::{Location, Millis, Record};
use super::tables::{DocumentDirectory, Trees, open_database};
use crate::fhir::ResourceType;

/// A generation being written, before its versions are decided.
pub struct GenerationBuilder {
    data: DataDir,
    number: u64,
    path: PathBuf,
    db: sled::Db,
    trees: Trees,
    /// The blocks of the tables, and the values stored whole.
    index: IndexFile,
    content: ContentWriter,
    /// Removes the generation's directory and segment unless committed.
    unfinished: Unfinished,
}

/// What an uncommitted generation left on disk, removed when dropped.
struct Unfinished {
    directory: PathBuf,
    segment: PathBuf,
    committed: bool,
}

impl Drop for Unfinished {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.directory);
            let _ = std::fs::remove_file(&self.segment);
        }
    }
}

impl GenerationBuilder {
    /// Creates the next generation of `data`, under its import lock.
    pub fn start(
        data: &DataDir,
        _import: &ProcessLock,
        cache_bytes: u64,
    ) -> Result<GenerationBuilder, StoreError> {
        let (number, path) = data.new_generation()?;
        let unfinished = Unfinished {
            directory: path.clone(),
            segment: segment_path(&data.history_dir(), number),
            committed: false,
        };
        let db = open_database(&path, cache_bytes)?;
        Ok(GenerationBuilder {
            data: data.clone(),
            number,
            trees: Trees::open(&db, &path)?,
            index: IndexFile::create(&path)?,
            content: ContentWriter::create(&path)?,
            db,
            path,
            unfinished,
        })
    }

    /// The generation's number in its data directory (names its directory).
    pub fn number(&self) -> u64 {
        self.number
    }

    /// A scratch directory for the import, inside the generation (removed at the commit).
    pub fn spill_dir(&self) -> PathBuf {
        self.path.join(SPILL_DIR)
    }

    /// Writes a resource: its JSON as served, with a `meta` the version is put into.
    pub fn write(&self, rtype: ResourceType, id: &str, json: &[u8]) -> Result<(), StoreError> {
        self.content.write(rtype, id, json)
    }

    /// Side data kept with an Organization but not part of its FHIR representation (FINESS
    /// coordinates).
    pub fn write_geolocation(&self, organization_id: &str, json: &[u8]) -> Result<(), StoreError> {
        self.trees
            .geolocation
            .insert(organization_id, json)
            .map_err(StoreError::sled(&self.path))?;
        Ok(())
    }

    /// The labels of the codes met, for people (see `crate::mapping::labels`).
    pub fn write_labels(&self, json: &[u8]) -> Result<(), StoreError> {
        let path = self.path.join(LABELS_FILE);
        std::fs::write(&path, json).map_err(StoreError::io("cannot write", &path))
    }

    /// Decides every resource's version against `previous` (the generation served, read
    /// through its plain files), stamping what changed with `stamp`; the superseded versions
    /// go to this import's history segment.
    pub fn version(
        self,
        previous: Option<&Previous>,
        stamp: Millis,
        retention: Retention,
    ) -> Result<Versioned, StoreError> {
        self.version_with(previous, stamp, retention, reconcile::deactivated_body)
    }

    /// [`GenerationBuilder::version`] with another rule for deactivated bodies.
    pub(super) fn version_with(
        self,
        previous: Option<&Previous>,
        stamp: Millis,
        retention: Retention,
        rule: reconcile::BodyRule,
    ) -> Result<Versioned, StoreError> {
        let mut segment = SegmentWriter::create(&self.data.history_dir(), self.number)?;
        let reconciled = reconcile::reconcile_with(
            &self.content,
            previous,
            &mut segment,
            stamp,
            retention,
            rule,
        )?;
        // Past versions superseded before `stamp - history_days` are dropped from here on:
        // the history is complete only after that (and after whatever earlier imports dropped).
        let history_complete_since = match previous {
            None => None,
            Some(previous) => {
                let dropped_before = stamp.0 - i64::from(retention.history_days) * 86_400_000;
                let before = previous.info()?.history_horizon().map_or(i64::MIN, |m| m.0);
                Some(Millis(dropped_before.max(before)))
            }
        };
        Ok(Versioned {
            builder: self,
            reconciled,
            segment,
            stamp,
            history_complete_since,
        })
    }
}

/// A generation whose versions are decided: what changed is known, nothing is switched yet.
pub struct Versioned {
    builder: GenerationBuilder,
    reconciled: Reconciled,
    segment: SegmentWriter,
    stamp: Millis,
    history_complete_since: Option<Millis>,
}

/// What identifies a generation besides its content (see [`GenerationInfo`]).
#[derive(Debug, Clone)]
pub struct Description {
    /// The generation's id, shared by replicas importing the same files in the same order.
    pub id: String,
    /// A digest of the input files.
    pub inputs: String,
    /// The input files' names.
    pub sources: Vec<String>,
}

impl Versioned {
    /// Per type: added, changed, deactivated, deleted, unchanged.
    pub fn changes(&self) -> &[(ResourceType, Changes)] {
        &self.reconciled.changes
    }

    /// Lets `build` write the search index: it reads the current documents and writes the
    /// index tables (see [`IndexTarget`]).
    pub fn index(
        &self,
        build: impl FnOnce(&IndexTarget<'_>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        build(&IndexTarget { versioned: self })
    }

    /// Writes the documents and the history, syncs every file, describes the generation and
    /// makes it the one served. Returns its description.
    pub fn commit(self, description: Description) -> Result<GenerationInfo, StoreError> {
        let info = self.info(description);
        for (rtype, documents) in &self.reconciled.documents {
            self.write_documents(*rtype, documents)?;
        }
        self.write_history()?;
        let path = self.builder.path.clone();
        reconcile::write_versions_file(&path.join(VERSIONS_FILE), &self.reconciled.documents)?;
        history::write_index_file(&path.join(HISTORY_FILE), &self.reconciled.history)?;
        self.segment.finish()?;
        let spill = self.builder.spill_dir();
        if spill.exists() {
            std::fs::remove_dir_all(&spill).map_err(StoreError::io("cannot remove", &spill))?;
        }
        let GenerationBuilder {
            data,
            number,
            db,
            trees,
            index,
            content,
            mut unfinished,
            ..
        } = self.builder;
        tracing::info!("flushing the new generation to disk");
        content.finish(&path)?;
        index.finish()?;
        db.flush().map_err(StoreError::sled(&path))?;
        drop(trees);
        drop(db);
        write_synced(
            &path.join(INFO_FILE),
            &serde_json::to_vec_pretty(&info).expect("GenerationInfo serializes"),
        )?;
        data.switch_to(number)?;
        unfinished.committed = true;
        Ok(info)
    }

    /// The description of the generation, as `generation.json` holds it.
    fn info(&self, description: Description) -> GenerationInfo {
        let count = |rtype| {
            self.reconciled
                .changes
                .iter()
                .find(|(t, _)| *t == rtype)
                .map_or(0, |(_, c)| c.total())
        };
        let mut history_segments: Vec<u64> = self
            .reconciled
            .history
            .iter()
            .filter_map(|e| match e.kind {
                history::Kind::Version { segment, .. } => Some(segment),
                history::Kind::Deleted => None,
            })
            .collect();
        history_segments.sort_unstable();
        history_segments.dedup();
        GenerationInfo {
            format: FORMAT,
            number: self.builder.number,
            content_id: description.id,
            inputs: description.inputs,
            last_updated: self.stamp.to_rfc3339(),
            resources: ResourceCounts {
                practitioner: count(ResourceType::Practitioner),
                practitioner_role: count(ResourceType::PractitionerRole),
                organization: count(ResourceType::Organization),
                healthcare_service: count(ResourceType::HealthcareService),
                device: count(ResourceType::Device),
            },
            sources: description.sources,
            history_segments,
            history_complete_since: self.history_complete_since.map(Millis::to_rfc3339),
        }
    }

    /// Writes the id table and numbers the documents of a type: the `n`th in `documents` (id
    /// order) is number `n`.
    fn write_documents(
        &self,
        rtype: ResourceType,
        documents: &[(String, Record)],
    ) -> Result<(), StoreError> {
        let builder = &self.builder;
        let mut ids = BlockWriter::new(builder.trees.of(rtype, TypeTree::Ids), &builder.index);
        for (id, record) in documents {
            ids.push(id.as_bytes(), &record.encode())?;
        }
        ids.finish()?;
        let mut offsets = Vec::with_capacity((documents.len() + 1) * 4);
        let mut at = 0u32;
        let entries = builder.index.append_parts(|write| {
            for (id, record) in documents {
                offsets.extend_from_slice(&at.to_le_bytes());
                let encoded = record.encode();
                write(&encoded)?;
                write(id.as_bytes())?;
                at += (encoded.len() + id.len()) as u32;
            }
            offsets.extend_from_slice(&at.to_le_bytes());
            Ok(())
        })?;
        let offsets = builder.index.append(&offsets)?;
        DocumentDirectory::store(
            builder.trees.of(rtype, TypeTree::Documents),
            &builder.path,
            entries,
            offsets,
        )
    }

    /// Writes the history index: the entries in by-resource order (as reconciling sorts them),
    /// and the same entries by time.
    fn write_history(&self) -> Result<(), StoreError> {
        let builder = &self.builder;
        let entries: &[HistoryEntry] = &self.reconciled.history;
        let mut by_resource = BlockWriter::new(&builder.trees.history, &builder.index);
        for entry in entries {
            by_resource.push(&entry.resource_key(), &entry.value())?;
        }
        by_resource.finish()?;
        let mut by_time: Vec<(Vec<u8>, Vec<u8>)> =
            entries.iter().map(|e| (e.time_key(), e.value())).collect();
        by_time.sort_unstable();
        let mut writer = BlockWriter::new(&builder.trees.history_time, &builder.index);
        for (key, value) in &by_time {
            writer.push(key, value)?;
        }
        writer.finish()
    }
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let mut file = File::create(path).map_err(StoreError::io("cannot write", path))?;
    file.write_all(bytes)
        .map_err(StoreError::io("cannot write", path))?;
    file.sync_all().map_err(StoreError::io("cannot sync", path))
}

/// What the search index build sees of a generation being written: its current documents and
/// their content, and the index tables to fill. Tables may be written from several threads,
/// each table's entries in ascending key order.
pub struct IndexTarget<'v> {
    versioned: &'v Versioned,
}

impl IndexTarget<'_> {
    /// Per type (in [`ResourceType::ALL`] order), the current documents in id order: document
    /// `n` is the `n`th.
    pub fn documents(&self) -> &[(ResourceType, Vec<(String, Record)>)] {
        &self.versioned.reconciled.documents
    }

    /// The content of a document (its JSON without version; see [`super::record`]).
    pub fn content(&self, location: Location) -> Result<Vec<u8>, StoreError> {
        self.versioned.builder.content.read_back(location)
    }

    /// A scratch directory for the build (removed at the commit).
    pub fn spill_dir(&self) -> PathBuf {
        self.versioned.builder.spill_dir()
    }

    /// A writer of one sorted index table of `rtype`.
    pub fn table_writer(&self, rtype: ResourceType, table: IndexTable) -> BlockWriter<'_> {
        let builder = &self.versioned.builder;
        BlockWriter::new(builder.trees.of(rtype, table.tree()), &builder.index)
    }

    /// Appends a value to the index file; [`IndexTarget::name_value`] then names it.
    pub fn append_value(&self, bytes: &[u8]) -> Result<Location, StoreError> {
        self.versioned.builder.index.append(bytes)
    }

    /// Stores under `key` where a value of `rtype` is (several keys may name one value).
    pub fn name_value(
        &self,
        rtype: ResourceType,
        values: IndexValues,
        key: &[u8],
        location: Location,
    ) -> Result<(), StoreError> {
        let builder = &self.versioned.builder;
        builder
            .trees
            .of(rtype, values.tree())
            .insert(key, &location.encode())
            .map_err(StoreError::sled(&builder.path))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generation::open_current;

    fn practitioner(id: &str, family: &str) -> Vec<u8> {
        format!(
            r#"{{"resourceType":"Practitioner","id":"{id}","meta":{{}},"name":[{{"family":"{family}"}}]}}"#
        )
        .into_bytes()
    }

    fn description(id: &str) -> Description {
        Description {
            id: id.into(),
            inputs: String::new(),
            sources: Vec::new(),
        }
    }

    /// The directory entries of `dir`, sorted.
    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .map(|list| {
                list.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        names
    }

    #[test]
    fn a_committed_generation_is_served_and_an_abandoned_one_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::create(dir.path()).unwrap();
        let lock = data.lock_for_import().unwrap();
        let day = Millis(1_793_491_200_000);

        let first = GenerationBuilder::start(&data, &lock, 1 << 20).unwrap();
        first
            .write(ResourceType::Practitioner, "p1", &practitioner("p1", "A"))
            .unwrap();
        let info = first
            .version(None, day, Retention::default())
            .unwrap()
            .commit(description("one"))
            .unwrap();
        assert_eq!(info.resources.practitioner, 1);
        assert_eq!(data.current().unwrap().as_deref(), Some("gen-000001"));

        // The second import changes p1, then is given up before its commit (a refusal).
        let (_, served) = open_current(&data, 1 << 20).unwrap();
        let previous = Previous::open(&data.generation_path("gen-000001"))
            .unwrap()
            .unwrap();
        let second = GenerationBuilder::start(&data, &lock, 1 << 20).unwrap();
        second
            .write(ResourceType::Practitioner, "p1", &practitioner("p1", "B"))
            .unwrap();
        let versioned = second
            .version(Some(&previous), day.plus_days(1), Retention::default())
            .unwrap();
        assert_eq!(
            versioned.changes()[0].1.changed,
            1,
            "{:?}",
            versioned.changes()
        );
        assert!(data.history_dir().join("seg-000002.bin").exists());
        drop(versioned);
        assert_eq!(entries(&dir.path().join("generations")), ["gen-000001"]);
        assert!(entries(&data.history_dir()).is_empty());
        assert_eq!(data.current().unwrap().as_deref(), Some("gen-000001"));
        let read = served
            .read(ResourceType::Practitioner, "p1")
            .unwrap()
            .unwrap();
        assert!(
            String::from_utf8(read.to_json())
                .unwrap()
                .contains(r#""family":"A""#)
        );
    }

    /// What a build before the departures rule kept of a closed record: id, identifiers,
    /// `active: false`, an empty `meta`.
    fn earlier_rule(rtype: ResourceType, content: &[u8]) -> Option<Vec<u8>> {
        let resource: serde_json::Value = serde_json::from_slice(content).ok()?;
        Some(
            serde_json::to_vec(&serde_json::json!({
                "resourceType": rtype.as_str(), "id": resource["id"], "meta": {},
                "active": false,
            }))
            .unwrap(),
        )
    }

    #[test]
    fn a_record_deactivated_by_an_earlier_build_is_completed_once_from_its_history() {
        let dir = tempfile::tempdir().unwrap();
        let data = DataDir::create(dir.path()).unwrap();
        let lock = data.lock_for_import().unwrap();
        let day = Millis(1_793_491_200_000);
        let import = |n: u32, with_p1: bool, earlier: bool| {
            let previous = data
                .current()
                .unwrap()
                .and_then(|name| Previous::open(&data.generation_path(&name)).unwrap());
            let builder = GenerationBuilder::start(&data, &lock, 1 << 20).unwrap();
            if with_p1 {
                builder
                    .write(ResourceType::Practitioner, "p1", &practitioner("p1", "A"))
                    .unwrap();
            }
            builder
                .write(ResourceType::Practitioner, "p2", &practitioner("p2", "B"))
                .unwrap();
            let rule = if earlier {
                earlier_rule
            } else {
                reconcile::deactivated_body
            };
            let versioned = builder
                .version_with(
                    previous.as_ref(),
                    day.plus_days(n),
                    Retention::default(),
                    rule,
                )
                .unwrap();
            let changes = versioned.changes()[0].1;
            versioned.commit(description(&format!("g{n}"))).unwrap();
            let (_, served) = open_current(&data, 1 << 20).unwrap();
            let p1 = served
                .read(ResourceType::Practitioner, "p1")
                .unwrap()
                .unwrap();
            let json: serde_json::Value = serde_json::from_slice(&p1.to_json()).unwrap();
            (changes, json)
        };
        import(0, true, false);
        // An earlier build deactivated p1 with its minimal body: no name.
        let (_, p1) = import(1, false, true);
        assert_eq!(
            (p1["meta"]["versionId"].as_str(), p1.get("name")),
            (Some("2"), None)
        );
        // The first import after the upgrade gives it its name back, as a new version.
        let (changes, p1) = import(2, false, false);
        assert_eq!(
            (changes.changed, changes.still_deactivated),
            (1, 0),
            "{changes:?}"
        );
        assert_eq!(p1["meta"]["versionId"], "3");
        assert_eq!(p1["name"][0]["family"], "A");
        assert_eq!(p1["active"], false);
        // And only once: the next import keeps it as it is.
        let (changes, p1) = import(3, false, false);
        assert_eq!(
            (changes.changed, changes.still_deactivated),
            (0, 1),
            "{changes:?}"
        );
        assert_eq!(p1["meta"]["versionId"], "3");
    }
}
