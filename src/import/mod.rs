//! `annuaire import`: extraction files -> a new, complete store generation, switched to only
//! once everything is written and flushed.
//!
//! 1. FINESS is read whole (~100 000 establishments).
//! 2. RPPS is streamed once: each valid row is spilled into a person bucket and, when it has a
//!    structure, a structure bucket (see [`spill`]); malformed rows are reported and counted.
//! 3. Buckets are mapped in parallel: person buckets to Practitioners and PractitionerRoles,
//!    structure buckets to Organizations (merged with their FINESS establishment when there is
//!    one). Then the FINESS establishments no RPPS row points at, then the legal-entity stubs.
//! 4. The generation is flushed, described, and made current; older ones are removed.
//!
//! Memory holds FINESS, one bucket per worker, and the sets of FINESS ids merged and legal
//! entities referenced: it does not grow with the RPPS file.

pub mod index;
pub mod spill;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use crate::extract::decode::{Encoding, decode_line, strip_bom, trim_line_end};
use crate::extract::finess::{self, Establishment, FinessFile};
use crate::extract::rpps::{Col, Layout, RppsRow, StructureKey};
use crate::extract::{FileError, Rejected};
use crate::mapping::{Stamp, ids, organization, practitioner};
use crate::progress::{Progress, Unit};
use crate::resource_type::ResourceType;
use crate::store::{
    DataDir, GenerationInfo, ResourceCounts, ResourceWriter, SledWriter, StoreError,
};

/// Malformed lines printed one by one; beyond this they are only counted.
const MAX_REPORTED: u64 = 1000;

#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub rpps: PathBuf,
    pub finess: PathBuf,
    pub data: PathBuf,
    /// sled page cache while writing, in bytes.
    pub cache_bytes: u64,
    /// `meta.lastUpdated` of the generation; the import's start time when `None`.
    pub last_updated: Option<OffsetDateTime>,
    /// Worker threads mapping buckets; the number of CPUs when `None`.
    pub workers: Option<usize>,
}

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
}

/// What an import did, for the operator.
#[derive(Debug, Clone)]
pub struct ImportSummary {
    pub generation: u64,
    pub rpps_rows_read: u64,
    pub finess_records_read: u64,
    pub rows_skipped: u64,
    pub duplicate_rows_collapsed: u64,
    pub windows_1252_lines: u64,
    pub resources: ResourceCounts,
    pub removed_generations: Vec<String>,
    pub duration: Duration,
}

/// Shared counters of the mapping phase.
#[derive(Default)]
struct Counters {
    practitioner: AtomicU64,
    practitioner_role: AtomicU64,
    organization: AtomicU64,
    duplicates: AtomicU64,
}

impl Counters {
    fn add(&self, rtype: ResourceType) {
        let counter = match rtype {
            ResourceType::Practitioner => &self.practitioner,
            ResourceType::PractitionerRole => &self.practitioner_role,
            ResourceType::Organization => &self.organization,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    fn snapshot(&self) -> ResourceCounts {
        ResourceCounts {
            practitioner: self.practitioner.load(Ordering::Relaxed),
            practitioner_role: self.practitioner_role.load(Ordering::Relaxed),
            organization: self.organization.load(Ordering::Relaxed),
        }
    }
}

/// Prints malformed lines as `FILE:LINE: reason` (the first [`MAX_REPORTED`]) and counts them.
struct RejectReport {
    count: AtomicU64,
}

impl RejectReport {
    fn report(&self, rejected: &Rejected, progress: Option<&Progress>) {
        let n = self.count.fetch_add(1, Ordering::Relaxed) + 1;
        let line = if n <= MAX_REPORTED {
            format!("skipped {rejected}")
        } else if n == MAX_REPORTED + 1 {
            "further malformed lines are counted but not shown".to_owned()
        } else {
            return;
        };
        match progress {
            Some(p) => p.println(&line),
            None => eprintln!("{line}"),
        }
    }
}

/// Runs a whole import. Errors only when a file cannot be read or is not the expected format,
/// or when the data directory cannot be written; malformed lines are skipped and counted.
/// Both files are checked before a generation is created, and a generation whose writing
/// fails is removed: a failed import leaves the data directory as it found it.
pub fn run(options: &ImportOptions) -> Result<ImportSummary, ImportError> {
    let started = Instant::now();
    let last_updated = options
        .last_updated
        .unwrap_or_else(OffsetDateTime::now_utc)
        .replace_nanosecond(0)
        .expect("0 is a valid nanosecond");
    let data = DataDir::create(&options.data)?;
    let _lock = data.lock_for_import()?;
    let previous = data.current()?;

    let rejects = RejectReport {
        count: AtomicU64::new(0),
    };
    let finess = finess::read(&options.finess)?;
    for rejected in &finess.rejected {
        rejects.report(rejected, None);
    }
    let rpps = RppsInput::open(&options.rpps)?;

    let (generation, path) = data.new_generation()?;
    let stamp = Stamp {
        version_id: generation.to_string(),
        last_updated: fhir_json::Instant(last_updated),
    };
    let info = |resources: ResourceCounts| GenerationInfo {
        number: generation,
        last_updated: last_updated
            .format(&time::format_description::well_known::Rfc3339)
            .expect("a UTC time formats as RFC 3339"),
        resources,
        sources: vec![display_name(&options.rpps), display_name(&options.finess)],
    };
    let written = write_generation(options, &path, rpps, &finess, &stamp, &rejects, info);
    let (partition, counters) = match written {
        Ok(written) => written,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&path);
            return Err(e);
        }
    };
    data.switch_to(generation)?;
    let keep: Vec<u64> = previous
        .iter()
        .filter_map(|name| name.strip_prefix("gen-")?.parse().ok())
        .collect();
    let removed_generations = data.collect_garbage(&keep)?;

    Ok(ImportSummary {
        generation,
        rpps_rows_read: partition.rows_read,
        finess_records_read: finess.records_read,
        rows_skipped: rejects.count.load(Ordering::Relaxed),
        duplicate_rows_collapsed: counters.duplicates.load(Ordering::Relaxed),
        windows_1252_lines: partition.windows_1252_lines + finess.windows_1252_lines,
        resources: counters.snapshot(),
        removed_generations,
        duration: started.elapsed(),
    })
}

/// Writes a complete generation into `path`: partition, map, flush, describe.
fn write_generation(
    options: &ImportOptions,
    path: &Path,
    rpps: RppsInput,
    finess: &FinessFile,
    stamp: &Stamp,
    rejects: &RejectReport,
    info: impl Fn(ResourceCounts) -> GenerationInfo,
) -> Result<(PartitionStats, Counters), ImportError> {
    let spill_dir = path.join("spill");
    let spill_error = |source| ImportError::Spill {
        path: spill_dir.clone(),
        source,
    };
    let partition = partition_rpps(rpps, &spill_dir, rejects)?;
    let writer = SledWriter::create(path, options.cache_bytes)?;
    let counters = Counters::default();
    let workers = options
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let finess_by_id: HashMap<&str, &Establishment> = finess
        .establishments
        .iter()
        .map(|e| (e.nofinesset.as_str(), e))
        .collect();
    let context = MapContext {
        layout: &partition.layout,
        stamp,
        writer: &writer,
        counters: &counters,
        finess: &finess_by_id,
        merged_finess: Mutex::new(HashSet::new()),
        legal_entities: Mutex::new(BTreeSet::new()),
    };
    let work: Vec<(BucketKind, &PathBuf)> = partition
        .person_buckets
        .iter()
        .map(|p| (BucketKind::Persons, p))
        .chain(
            partition
                .structure_buckets
                .iter()
                .map(|p| (BucketKind::Structures, p)),
        )
        .collect();
    let progress = Progress::new("Mapping to FHIR resources", work.len() as u64, Unit::Items);
    run_parallel(&work, workers, |(kind, bucket)| {
        let contents = std::fs::read_to_string(bucket).map_err(spill_error)?;
        match kind {
            BucketKind::Persons => context.map_persons(&contents)?,
            BucketKind::Structures => context.map_structures(&contents)?,
        }
        progress.inc(1);
        Ok::<(), ImportError>(())
    })?;
    progress.finish();
    context.map_remaining_finess(finess)?;
    context.map_legal_entities()?;
    index::build(&writer, &spill_dir, workers)?;
    std::fs::remove_dir_all(&spill_dir).map_err(spill_error)?;

    tracing::info!("flushing the new generation to disk");
    writer.finish(&info(counters.snapshot()))?;
    Ok((partition.stats, counters))
}

fn display_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// Runs `task` over `items` on `workers` threads; the first error stops the others.
pub(crate) fn run_parallel<T: Sync, E: Send>(
    items: &[T],
    workers: usize,
    task: impl Fn(&T) -> Result<(), E> + Sync,
) -> Result<(), E> {
    let next = AtomicUsize::new(0);
    let failed = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..workers.max(1) {
            scope.spawn(|| {
                loop {
                    if failed.lock().expect("error slot").is_some() {
                        return;
                    }
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(index) else { return };
                    if let Err(e) = task(item) {
                        failed.lock().expect("error slot").get_or_insert(e);
                        return;
                    }
                }
            });
        }
    });
    match failed.into_inner().expect("error slot") {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

#[derive(Debug, Clone, Copy)]
enum BucketKind {
    Persons,
    Structures,
}

struct Partition {
    layout: Layout,
    person_buckets: Vec<PathBuf>,
    structure_buckets: Vec<PathBuf>,
    stats: PartitionStats,
}

struct PartitionStats {
    rows_read: u64,
    windows_1252_lines: u64,
}

/// An RPPS file whose header has been checked.
struct RppsInput {
    path: PathBuf,
    reader: BufReader<File>,
    size: u64,
    header_len: u64,
    layout: Layout,
}

impl RppsInput {
    /// Opens the file and locates its columns; fails when it is not a Personne_activite file.
    fn open(path: &Path) -> Result<RppsInput, ImportError> {
        let read_error = |e| ImportError::File(FileError::io(path, e));
        let not_rpps = |detail: String| {
            ImportError::File(FileError::NotTheExpectedFormat {
                path: path.to_path_buf(),
                expected: "an RPPS PS_LibreAcces_Personne_activite extraction",
                detail,
            })
        };
        let file = File::open(path).map_err(read_error)?;
        let size = file.metadata().map_err(read_error)?.len();
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let mut bytes = Vec::with_capacity(4096);
        let header_len = reader.read_until(b'\n', &mut bytes).map_err(read_error)? as u64;
        if header_len == 0 {
            return Err(not_rpps("the file is empty".into()));
        }
        let header = decode_line(strip_bom(trim_line_end(&bytes)))
            .map_err(|e| not_rpps(format!("its header is unreadable: {e}")))?
            .0
            .into_owned();
        let layout = Layout::from_header(&header).map_err(|e| not_rpps(e.to_string()))?;
        Ok(RppsInput {
            path: path.to_path_buf(),
            reader,
            size,
            header_len,
            layout,
        })
    }
}

/// Pass 1: reads the RPPS file once, validates each row and spills it into its buckets.
fn partition_rpps(
    input: RppsInput,
    spill_dir: &Path,
    rejects: &RejectReport,
) -> Result<Partition, ImportError> {
    let RppsInput {
        path,
        mut reader,
        size,
        header_len,
        layout,
    } = input;
    let path = path.as_path();
    let read_error = |e| ImportError::File(FileError::io(path, e));
    let mut bytes = Vec::with_capacity(4096);
    let count = spill::bucket_count(size);
    let spill_error = |source| ImportError::Spill {
        path: spill_dir.to_path_buf(),
        source,
    };
    let mut persons = spill::Buckets::create(spill_dir, "persons", count).map_err(spill_error)?;
    let mut structures =
        spill::Buckets::create(spill_dir, "structures", count).map_err(spill_error)?;
    let progress = Progress::new("Reading RPPS", size, Unit::Bytes);
    progress.inc(header_len);
    let mut line_number = 1u64;
    let mut rows_read = 0u64;
    let mut windows_1252_lines = 0u64;
    loop {
        bytes.clear();
        let read = reader.read_until(b'\n', &mut bytes).map_err(read_error)?;
        if read == 0 {
            break;
        }
        progress.inc(read as u64);
        line_number += 1;
        let raw = trim_line_end(&bytes);
        if raw.is_empty() {
            continue;
        }
        rows_read += 1;
        let reject = |reason| {
            let rejected = Rejected {
                file: path.to_path_buf(),
                line: line_number,
                reason,
            };
            rejects.report(&rejected, Some(&progress));
        };
        let (text, encoding) = match decode_line(raw) {
            Ok(decoded) => decoded,
            Err(reason) => {
                reject(reason);
                continue;
            }
        };
        if encoding == Encoding::Windows1252 {
            windows_1252_lines += 1;
        }
        let row = match layout.split(&text) {
            Ok(row) => row,
            Err(reason) => {
                reject(reason);
                continue;
            }
        };
        persons
            .push(row.person_key(), line_number, &text)
            .map_err(spill_error)?;
        if let Some(key) = row.structure_key() {
            let key = match key {
                StructureKey::FinessSite(k) | StructureKey::Rpps(k) => k,
            };
            structures
                .push(key, line_number, &text)
                .map_err(spill_error)?;
        }
    }
    progress.finish();
    Ok(Partition {
        layout,
        person_buckets: persons.finish().map_err(spill_error)?,
        structure_buckets: structures.finish().map_err(spill_error)?,
        stats: PartitionStats {
            rows_read,
            windows_1252_lines,
        },
    })
}

/// Everything the mapping workers share.
struct MapContext<'a> {
    layout: &'a Layout,
    stamp: &'a Stamp,
    writer: &'a SledWriter,
    counters: &'a Counters,
    finess: &'a HashMap<&'a str, &'a Establishment>,
    /// FINESS establishments already written merged with their RPPS structure.
    merged_finess: Mutex<HashSet<String>>,
    /// Legal entities some `partOf` points at: each gets at least a stub.
    legal_entities: Mutex<BTreeSet<String>>,
}

/// Rows of a bucket parsed, grouped by `key_of` and in file order within each group.
fn grouped_rows<'t, K: Ord + Clone>(
    layout: &'t Layout,
    contents: &'t str,
    key_of: impl Fn(&RppsRow<'t>) -> K,
) -> Vec<(K, Vec<(u64, &'t str, RppsRow<'t>)>)> {
    let mut rows: Vec<(K, u64, &'t str, RppsRow<'t>)> = spill::read_bucket(contents)
        .filter_map(|(line, text)| {
            let row = layout.split(text).ok()?; // validated in pass 1
            Some((key_of(&row), line, text, row))
        })
        .collect();
    rows.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
    let mut groups: Vec<(K, Vec<(u64, &'t str, RppsRow<'t>)>)> = Vec::new();
    for (key, line, text, row) in rows {
        match groups.last_mut() {
            Some((k, members)) if *k == key => members.push((line, text, row)),
            _ => groups.push((key, vec![(line, text, row)])),
        }
    }
    groups
}

impl MapContext<'_> {
    fn write(&self, rtype: ResourceType, id: &str, json: &[u8]) -> Result<(), StoreError> {
        self.writer.write(rtype, id, json)?;
        self.counters.add(rtype);
        Ok(())
    }

    fn map_persons(&self, contents: &str) -> Result<(), ImportError> {
        for (_, members) in grouped_rows(self.layout, contents, |row| row.person_key()) {
            let mut seen = HashSet::with_capacity(members.len());
            let mut rows = Vec::with_capacity(members.len());
            for (_, text, row) in members {
                if seen.insert(text) {
                    rows.push(row);
                } else {
                    self.counters.duplicates.fetch_add(1, Ordering::Relaxed);
                }
            }
            let resources = practitioner::map_person(&rows, self.stamp);
            for (id, resource) in &resources.practitioners {
                self.write(
                    ResourceType::Practitioner,
                    id,
                    &fhir_json::practitioner_to_vec(resource),
                )?;
            }
            for (id, resource) in &resources.roles {
                self.write(
                    ResourceType::PractitionerRole,
                    id,
                    &fhir_json::practitioner_role_to_vec(resource),
                )?;
            }
        }
        Ok(())
    }

    fn map_structures(&self, contents: &str) -> Result<(), ImportError> {
        let groups = grouped_rows(self.layout, contents, |row| row.structure_key());
        for (key, members) in groups {
            let Some(key) = key else { continue };
            let rows: Vec<RppsRow<'_>> = members.into_iter().map(|(_, _, row)| row).collect();
            let representative = organization::representative(&rows);
            let (id, resource) = match key {
                StructureKey::FinessSite(site) if self.finess.contains_key(site) => {
                    self.merged_finess
                        .lock()
                        .expect("merged set")
                        .insert(site.to_owned());
                    organization::from_finess(self.finess[site], Some(representative), self.stamp)
                }
                _ => {
                    let ej = representative.get(Col::FinessEj);
                    if !ej.is_empty() {
                        self.legal_entities
                            .lock()
                            .expect("legal entity set")
                            .insert(ej.to_owned());
                    }
                    organization::from_rpps(representative, self.stamp)
                }
            };
            self.write(
                ResourceType::Organization,
                &id,
                &fhir_json::organization_to_vec(&resource),
            )?;
        }
        Ok(())
    }

    /// FINESS establishments that no RPPS row points at, and every establishment's
    /// coordinates.
    fn map_remaining_finess(&self, finess: &FinessFile) -> Result<(), ImportError> {
        let merged = self.merged_finess.lock().expect("merged set");
        let mut legal_entities = self.legal_entities.lock().expect("legal entity set");
        for est in &finess.establishments {
            if !est.nofinessej.is_empty() {
                legal_entities.insert(est.nofinessej.clone());
            }
            let id = ids::establishment(&est.nofinesset);
            if let Some(geo) = finess.geolocations.get(&est.nofinesset) {
                let json = serde_json::json!({
                    "x": geo.x, "y": geo.y, "crs": geo.crs, "source": geo.source, "date": geo.date,
                });
                self.writer
                    .write_geolocation(&id, json.to_string().as_bytes())?;
            }
            if merged.contains(&est.nofinesset) {
                continue;
            }
            let (id, resource) = organization::from_finess(est, None, self.stamp);
            self.write(
                ResourceType::Organization,
                &id,
                &fhir_json::organization_to_vec(&resource),
            )?;
        }
        Ok(())
    }

    fn map_legal_entities(&self) -> Result<(), ImportError> {
        for ej in self.legal_entities.lock().expect("legal entity set").iter() {
            let (id, resource) = organization::legal_entity_stub(ej, self.stamp);
            self.write(
                ResourceType::Organization,
                &id,
                &fhir_json::organization_to_vec(&resource),
            )?;
        }
        Ok(())
    }
}
