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

mod extras;
mod input;
pub mod spill;

use std::collections::{BTreeSet, HashMap, HashSet};

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use self::extras::{ExtraInputs, ExtraLayouts, OrganizationMailboxes};
use self::input::{LineStats, PipeInput};
use crate::extract::finess::{self, Establishment, FinessFile};
use crate::extract::rpps::{Col, Layout, RppsRow, StructureKey};
use crate::extract::{FileError, Rejected};
use crate::fhir::ResourceType;
use crate::mapping::{Stamp, ids, organization, practitioner};
use crate::parallel::run_parallel;
use crate::progress::{Progress, Unit};
use crate::store::{
    DataDir, GenerationInfo, ResourceCounts, ResourceWriter, SledWriter, StoreError,
};
use fhir_json::Organization;

/// Malformed lines printed one by one; beyond this they are only counted.
const MAX_REPORTED: u64 = 1000;

#[derive(Debug, Clone)]
pub struct ImportOptions {
    pub rpps: PathBuf,
    pub finess: PathBuf,
    /// The optional files that complete the RPPS one.
    pub extra: ExtraFiles,
    pub data: PathBuf,
    /// sled page cache while writing, in bytes.
    pub cache_bytes: u64,
    /// `meta.lastUpdated` of the generation; the import's start time when `None`.
    pub last_updated: Option<OffsetDateTime>,
    /// Worker threads mapping buckets; the number of CPUs when `None`.
    pub workers: Option<usize>,
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
    pub extras: ExtrasSummary,
    pub resources: ResourceCounts,
    pub removed_generations: Vec<String>,
    pub duration: Duration,
}

/// What became of the lines of the optional files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtrasSummary {
    pub savoir_faire_lines: u64,
    pub diploma_lines: u64,
    pub mailbox_lines: u64,
    /// Mailboxes placed on a Practitioner (personal), a PractitionerRole (personal, at their
    /// structure) or an Organization (organisational).
    pub mailboxes_on_practitioners: u64,
    pub mailboxes_on_roles: u64,
    pub mailboxes_on_organizations: u64,
    /// Lines naming a person or a structure the RPPS and FINESS files do not have: reported
    /// one by one and not imported.
    pub unplaced_lines: u64,
}

/// Shared counters of the mapping phase.
#[derive(Default)]
struct Counters {
    practitioner: AtomicU64,
    practitioner_role: AtomicU64,
    organization: AtomicU64,
    duplicates: AtomicU64,
    mailboxes_on_practitioners: AtomicU64,
    mailboxes_on_roles: AtomicU64,
    mailboxes_on_organizations: AtomicU64,
    /// Lines of the optional files naming a person or structure nobody has.
    unplaced: RejectReport,
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
#[derive(Default)]
struct RejectReport {
    count: AtomicU64,
}

impl RejectReport {
    fn report(&self, rejected: &Rejected, progress: Option<&Progress>) {
        self.note(format!("skipped {rejected}"), progress);
    }

    /// Prints `message` (the first [`MAX_REPORTED`] ones) and counts it.
    fn note(&self, message: String, progress: Option<&Progress>) {
        let n = self.count.fetch_add(1, Ordering::Relaxed) + 1;
        let line = if n <= MAX_REPORTED {
            message
        } else if n == MAX_REPORTED + 1 {
            "further lines like these are counted but not shown".to_owned()
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

    let rejects = RejectReport::default();
    let finess = finess::read(&options.finess)?;
    for rejected in &finess.rejected {
        rejects.report(rejected, None);
    }
    let rpps = RppsInput::open(&options.rpps)?;
    let extras = ExtraInputs::open(&options.extra)?;
    let mut sources = vec![display_name(&options.rpps), display_name(&options.finess)];
    sources.extend(extras.paths().into_iter().map(display_name));

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
        sources: sources.clone(),
    };
    let inputs = Inputs {
        rpps,
        extras,
        finess: &finess,
    };
    let written = write_generation(options, &path, inputs, &stamp, &rejects, info);
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
        rpps_rows_read: partition.rpps.rows_read,
        finess_records_read: finess.records_read,
        rows_skipped: rejects.count.load(Ordering::Relaxed),
        duplicate_rows_collapsed: counters.duplicates.load(Ordering::Relaxed),
        windows_1252_lines: partition.windows_1252_lines() + finess.windows_1252_lines,
        extras: partition.extras_summary(&counters),
        resources: counters.snapshot(),
        removed_generations,
        duration: started.elapsed(),
    })
}

/// The checked input files of an import.
struct Inputs<'f> {
    rpps: RppsInput,
    extras: ExtraInputs,
    finess: &'f FinessFile,
}

/// Writes a complete generation into `path`: partition, map, flush, describe.
fn write_generation(
    options: &ImportOptions,
    path: &Path,
    inputs: Inputs<'_>,
    stamp: &Stamp,
    rejects: &RejectReport,
    info: impl Fn(ResourceCounts) -> GenerationInfo,
) -> Result<(PartitionStats, Counters), ImportError> {
    let spill_dir = path.join("spill");
    let spill_error = |source| ImportError::Spill {
        path: spill_dir.clone(),
        source,
    };
    let Inputs {
        rpps,
        extras,
        finess,
    } = inputs;
    let extra_layouts = extras.layouts.clone();
    let mut partition = partition_rpps(rpps, &spill_dir, rejects)?;
    let extras = extras::partition(extras, &spill_dir, partition.person_buckets.len(), rejects)?;
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
        extras: &extra_layouts,
        organization_mailboxes: &extras.organization_mailboxes,
    };
    let persons = (0..partition.person_buckets.len()).map(BucketKind::Persons);
    let structures = (0..partition.structure_buckets.len()).map(BucketKind::Structures);
    let work: Vec<BucketKind> = persons.chain(structures).collect();
    let progress = Progress::new("Mapping to FHIR resources", work.len() as u64, Unit::Items);
    let read = |bucket: &PathBuf| std::fs::read_to_string(bucket).map_err(spill_error);
    run_parallel(&work, workers, |kind| {
        match *kind {
            BucketKind::Persons(i) => {
                let rows = read(&partition.person_buckets[i])?;
                let extra_lines = read(&extras.buckets[i])?;
                context.map_persons(&rows, &extra_lines, &progress)?;
            }
            BucketKind::Structures(i) => {
                context.map_structures(&read(&partition.structure_buckets[i])?)?;
            }
        }
        progress.inc(1);
        Ok::<(), ImportError>(())
    })?;
    progress.finish();
    context.map_remaining_finess(finess)?;
    context.map_legal_entities()?;
    for message in extras.organization_mailboxes.unplaced() {
        counters.unplaced.note(message, None);
    }
    partition.stats.extras = [extras.savoir_faire, extras.diplomas, extras.mailboxes];
    crate::search::index::build(&writer, &spill_dir, workers)?;
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

/// A mapping work item: person bucket `i` (with extras bucket `i`) or structure bucket `i`.
#[derive(Debug, Clone, Copy)]
enum BucketKind {
    Persons(usize),
    Structures(usize),
}

struct Partition {
    layout: Layout,
    person_buckets: Vec<PathBuf>,
    structure_buckets: Vec<PathBuf>,
    stats: PartitionStats,
}

struct PartitionStats {
    rpps: LineStats,
    /// Savoir-faire, diplomas, mailboxes.
    extras: [LineStats; 3],
}

impl PartitionStats {
    fn windows_1252_lines(&self) -> u64 {
        self.rpps.windows_1252_lines
            + self
                .extras
                .iter()
                .map(|s| s.windows_1252_lines)
                .sum::<u64>()
    }

    fn extras_summary(&self, counters: &Counters) -> ExtrasSummary {
        let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
        ExtrasSummary {
            savoir_faire_lines: self.extras[0].rows_read,
            diploma_lines: self.extras[1].rows_read,
            mailbox_lines: self.extras[2].rows_read,
            mailboxes_on_practitioners: load(&counters.mailboxes_on_practitioners),
            mailboxes_on_roles: load(&counters.mailboxes_on_roles),
            mailboxes_on_organizations: load(&counters.mailboxes_on_organizations),
            unplaced_lines: load(&counters.unplaced.count),
        }
    }
}

/// An RPPS file whose header has been checked.
struct RppsInput {
    input: PipeInput,
    layout: Layout,
}

impl RppsInput {
    /// Opens the file and locates its columns; fails when it is not a Personne_activite file.
    fn open(path: &Path) -> Result<RppsInput, ImportError> {
        let input = PipeInput::open(path, "an RPPS PS_LibreAcces_Personne_activite extraction")?;
        let layout =
            Layout::from_header(&input.header).map_err(|e| input.not_expected(e.to_string()))?;
        Ok(RppsInput { input, layout })
    }
}

/// Pass 1: reads the RPPS file once, validates each row and spills it into its buckets.
fn partition_rpps(
    rpps: RppsInput,
    spill_dir: &Path,
    rejects: &RejectReport,
) -> Result<Partition, ImportError> {
    let RppsInput { input, layout } = rpps;
    let count = spill::bucket_count(input.size());
    let spill_error = |source| ImportError::Spill {
        path: spill_dir.to_path_buf(),
        source,
    };
    let mut persons = spill::Buckets::create(spill_dir, "persons", count).map_err(spill_error)?;
    let mut structures =
        spill::Buckets::create(spill_dir, "structures", count).map_err(spill_error)?;
    let stats = input.for_each_line("Reading RPPS", rejects, |line_number, text| {
        let row = match layout.split(text) {
            Ok(row) => row,
            Err(reason) => return Ok(Err(reason)),
        };
        persons
            .push(row.person_key(), line_number, text)
            .map_err(spill_error)?;
        if let Some(key) = row.structure_key() {
            let key = match key {
                StructureKey::FinessSite(k) | StructureKey::Rpps(k) => k,
            };
            structures
                .push(key, line_number, text)
                .map_err(spill_error)?;
        }
        Ok(Ok(()))
    })?;
    Ok(Partition {
        layout,
        person_buckets: persons.finish().map_err(spill_error)?,
        structure_buckets: structures.finish().map_err(spill_error)?,
        stats: PartitionStats {
            rpps: stats,
            extras: Default::default(),
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
    /// How to read the optional files' lines back from the extras buckets.
    extras: &'a ExtraLayouts,
    organization_mailboxes: &'a OrganizationMailboxes,
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

    /// Maps the persons of one bucket, with their lines of the optional files; reports the
    /// lines naming persons the RPPS file does not have.
    fn map_persons(
        &self,
        contents: &str,
        extra_lines: &str,
        progress: &Progress,
    ) -> Result<(), ImportError> {
        let mut extras = self.extras.read_bucket(extra_lines);
        for (key, members) in grouped_rows(self.layout, contents, |row| row.person_key()) {
            let person_extras = extras.take(key);
            let mut seen = HashSet::with_capacity(members.len());
            let mut rows = Vec::with_capacity(members.len());
            for (_, text, row) in members {
                if seen.insert(text) {
                    rows.push(row);
                } else {
                    self.counters.duplicates.fetch_add(1, Ordering::Relaxed);
                }
            }
            let resources = practitioner::map_person(&rows, &person_extras, self.stamp);
            let add = |counter: &AtomicU64, n: u64| counter.fetch_add(n, Ordering::Relaxed);
            add(
                &self.counters.mailboxes_on_practitioners,
                person_extras.mailboxes.len() as u64,
            );
            add(
                &self.counters.mailboxes_on_roles,
                resources.mailboxes_on_roles,
            );
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
        for message in self.extras.unplaced(&extras) {
            self.counters.unplaced.note(message, Some(progress));
        }
        Ok(())
    }

    /// Writes an Organization, with the organisational mailboxes naming it.
    fn write_organization(&self, id: &str, mut resource: Organization) -> Result<(), StoreError> {
        let placed = self.organization_mailboxes.attach_to(&mut resource);
        self.counters
            .mailboxes_on_organizations
            .fetch_add(placed, Ordering::Relaxed);
        self.write(
            ResourceType::Organization,
            id,
            &fhir_json::organization_to_vec(&resource),
        )
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
            self.write_organization(&id, resource)?;
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
            self.write_organization(&id, resource)?;
        }
        Ok(())
    }

    fn map_legal_entities(&self) -> Result<(), ImportError> {
        for ej in self.legal_entities.lock().expect("legal entity set").iter() {
            let (id, resource) = organization::legal_entity_stub(ej, self.stamp);
            self.write_organization(&id, resource)?;
        }
        Ok(())
    }
}
