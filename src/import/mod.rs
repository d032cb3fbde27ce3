//! `annuaire import`: extraction files -> a new, complete store generation, switched to only
//! once everything is written and flushed.
//!
//! 1. Every FINESS file is read whole and classified by its record tags (establishments, legal
//!    entities, heavy equipment, social equipment, healthcare activities; one of each at most).
//! 2. RPPS is streamed once: each valid row is spilled into a person bucket and, when it has a
//!    structure, a structure bucket (see [`spill`]); malformed rows are reported and counted.
//! 3. Buckets are mapped in parallel: person buckets to Practitioners and PractitionerRoles,
//!    structure buckets to Organizations (merged with their FINESS establishment when there is
//!    one). Then the FINESS establishments no RPPS row points at, the legal entities (from
//!    their file, and stubs for those referenced but absent from it), then the activities and
//!    equipment of the establishments written.
//! 4. The generation is flushed, described, and made current; older ones are removed.
//!
//! Memory holds FINESS, one bucket per worker, and the sets of FINESS ids merged and legal
//! entities referenced: it does not grow with the RPPS file.

mod error;
mod extras;
mod finess_set;
pub mod identity;
mod input;
mod options;
mod report;
pub mod spill;

pub use self::error::ImportError;
pub use self::options::{ExtraFiles, ImportOptions, Safety};
pub use self::report::{ExtrasSummary, FinessFileSummary, ImportSummary};

use std::collections::{BTreeSet, HashMap, HashSet};

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use time::OffsetDateTime;

use self::extras::{ExtraInputs, ExtraLayouts, OrganizationMailboxes};
use self::finess_set::FinessSet;
use self::input::{LineStats, PipeInput};
use self::report::RejectReport;
use crate::extract::FileError;
use crate::extract::finess::{Establishment, FinessFile, FinessKind};
use crate::extract::rpps::{Col, Layout, RppsRow, StructureKey};
use crate::fhir::ResourceType;
use crate::generation::reconcile::{Changes, Previous};
use crate::generation::{
    DataDir, Description, GenerationBuilder, GenerationInfo, ImportReport, Millis, StoreError,
};
use crate::mapping::labels::{Displays, Labels};
use crate::mapping::{device, healthcare_service, ids, organization, practitioner};
use crate::parallel::run_parallel;
use crate::progress::{Progress, Unit};
use fhir_json::Organization;

/// Shared counters of the mapping phase.
#[derive(Default)]
struct Counters {
    duplicates: AtomicU64,
    mailboxes_on_practitioners: AtomicU64,
    mailboxes_on_roles: AtomicU64,
    mailboxes_on_organizations: AtomicU64,
    /// Lines of the optional files naming a person or structure nobody has.
    unplaced: RejectReport,
    /// Activity and equipment lines naming an establishment nobody has (docs/mapping.md A32).
    finess_unplaced: RejectReport,
    /// Legal entities written from their file, and as stubs (referenced, absent from it).
    legal_entities_from_file: AtomicU64,
    legal_entity_stubs: AtomicU64,
}

/// Runs a whole import. Errors only when a file cannot be read or is not the expected format,
/// when the import would deactivate too much (see [`Safety`]), or when the data directory
/// cannot be written; malformed lines are skipped and counted. Both files are checked before
/// a generation is created, and a generation whose writing fails is removed: a failed import
/// leaves the data directory as it found it.
pub fn run(options: &ImportOptions) -> Result<ImportSummary, ImportError> {
    let started = Instant::now();
    let result = import(options, started);
    if options.data.is_dir() {
        let (outcome, generation, message) = match &result {
            Ok(summary) => ("completed", Some(summary.id.clone()), None),
            Err(e @ ImportError::Shrink { .. }) => ("refused", None, Some(e.to_string())),
            Err(e @ ImportError::SameFiles { id }) => {
                ("unchanged", Some(id.clone()), Some(e.to_string()))
            }
            Err(e) => ("failed", None, Some(e.to_string())),
        };
        DataDir::at(&options.data).write_import_report(&ImportReport {
            outcome: outcome.into(),
            finished_ms: Millis::from_datetime(options.clock.now_utc()).0,
            duration_seconds: started.elapsed().as_secs_f64(),
            generation,
            message,
        });
    }
    result
}

fn import(options: &ImportOptions, started: Instant) -> Result<ImportSummary, ImportError> {
    let created = Created::before_creating(&options.data);
    let data = DataDir::create(&options.data)?;
    let lock = data.lock_for_import()?;
    let result = import_locked(options, started, &data, &lock);
    if result.is_err() {
        created.remove_unless_switched(&data);
    }
    result
}

/// The directories an import creates to hold its data directory (the topmost one that did not
/// exist, `None` when the data directory existed): removed when the import fails before
/// switching, so that a failed first import leaves the disk as it found it, and never anything
/// that existed before.
struct Created(Option<PathBuf>);

impl Created {
    /// Notes, before the data directory is created, the topmost of its directories that does not
    /// exist yet.
    fn before_creating(data: &Path) -> Created {
        let missing = data
            .ancestors()
            .take_while(|dir| !dir.as_os_str().is_empty() && !dir.exists())
            .last();
        Created(missing.map(Path::to_path_buf))
    }

    /// Removes what this import created, unless a generation was switched to in it (then it
    /// is a data directory a server may serve). Called while holding `import.lock`, so that no
    /// other import is writing there.
    fn remove_unless_switched(&self, data: &DataDir) {
        let Some(created) = &self.0 else {
            return;
        };
        if !matches!(data.current(), Ok(None)) {
            return;
        }
        match std::fs::remove_dir_all(created) {
            Ok(()) => tracing::info!(
                "removed {}, which this failed import had created",
                created.display()
            ),
            Err(e) => tracing::warn!(
                "this failed import created {} but could not remove it: {e}",
                created.display()
            ),
        }
    }
}

/// The import proper, `import.lock` held.
fn import_locked(
    options: &ImportOptions,
    started: Instant,
    data: &DataDir,
    lock: &crate::generation::datadir::ProcessLock,
) -> Result<ImportSummary, ImportError> {
    let leftovers_removed = data.remove_leftovers(lock)?;
    for name in &leftovers_removed {
        tracing::info!("removed {name}, left behind by an import that did not complete");
    }
    let previous = match data.current()? {
        Some(name) => {
            let opened = Previous::open(&data.generation_path(&name))?;
            if opened.is_none() {
                tracing::warn!(
                    "{name} predates per-resource versions: every resource of this import starts at version 1"
                );
            }
            opened
        }
        None => None,
    };
    let previous_info = previous.as_ref().map(Previous::info).transpose()?;

    let rejects = RejectReport::default();
    let finess_set = FinessSet::read(&options.finess)?;
    let finess = finess_set.establishments();
    let stamp = identity::stamp(
        options.last_updated,
        &options.rpps,
        &finess.extraction_date,
        previous_info.as_ref().map(GenerationInfo::import_time),
        &options.clock,
    );
    let now = stamp.instant;
    let finess_inputs: Vec<(FinessKind, &Path)> = finess_set
        .iter()
        .map(|(path, file)| (file.kind, path))
        .collect();
    let inputs_digest = identity::inputs_digest(&options.rpps, &finess_inputs, &options.extra)?;
    if let Some(previous) = &previous_info
        && previous.inputs == inputs_digest
        && options.last_updated.is_none()
    {
        return Err(ImportError::SameFiles {
            id: previous.id().into_owned(),
        });
    }
    let id = identity::generation_id(
        &inputs_digest,
        previous_info.as_ref().map(|info| info.id()).as_deref(),
        Millis::from_datetime(now),
        options.safety.retention,
    );
    log_stamp(&stamp);
    for (_, file) in finess_set.iter() {
        for rejected in &file.rejected {
            rejects.report(rejected, None);
        }
    }
    let rpps = RppsInput::open(&options.rpps)?;
    let extras = ExtraInputs::open(&options.extra)?;
    let mut sources = vec![display_name(&options.rpps)];
    sources.extend(finess_set.iter().map(|(path, _)| display_name(path)));
    sources.extend(extras.paths().into_iter().map(display_name));

    let builder = GenerationBuilder::start(data, lock, options.cache_bytes)?;
    let inputs = Inputs {
        rpps,
        extras,
        finess: &finess_set,
    };
    let target = Target {
        description: Description {
            id,
            inputs: inputs_digest,
            sources,
        },
        previous: previous.as_ref(),
        now,
    };
    let (info, partition, counters, changes) =
        write_generation(options, builder, &target, inputs, &rejects)?;
    let load = |c: &AtomicU64| c.load(Ordering::Relaxed);
    // The new generation is served from here on: a failure to tidy up is not a failed import
    // (an operator retrying it would only import the same files again).
    let removed_generations = data.collect_garbage().unwrap_or_else(|e| {
        tracing::warn!(
            "the import is complete, but older generations could not be removed yet: {e}"
        );
        Vec::new()
    });

    Ok(ImportSummary {
        generation: info.number,
        id: info.id().into_owned(),
        rpps_rows_read: partition.rpps.rows_read,
        finess_records_read: finess_set.iter().map(|(_, f)| f.records_read).sum(),
        finess_files: finess_set
            .iter()
            .map(|(path, file)| FinessFileSummary {
                kind: file.kind,
                name: display_name(path),
                records: file.records(),
            })
            .collect(),
        legal_entities_from_file: load(&counters.legal_entities_from_file),
        legal_entity_stubs: load(&counters.legal_entity_stubs),
        finess_unplaced: load(&counters.finess_unplaced.count),
        rows_skipped: rejects.count.load(Ordering::Relaxed),
        duplicate_rows_collapsed: counters.duplicates.load(Ordering::Relaxed),
        windows_1252_lines: partition.windows_1252_lines()
            + finess_set
                .iter()
                .map(|(_, f)| f.windows_1252_lines)
                .sum::<u64>(),
        extras: partition.extras_summary(&counters),
        resources: info.resources,
        changes,
        leftovers_removed,
        removed_generations,
        duration: started.elapsed(),
    })
}

/// Says which instant the import stamps, and why: replicas agree only when it comes from the
/// files.
fn log_stamp(stamp: &identity::Stamp) {
    let line = stamp.describe();
    if stamp.source == identity::StampSource::Clock {
        tracing::warn!(
            "{line}: neither file states its extraction time; replicas importing these files separately will not agree unless all are given the same --last-updated"
        );
    } else {
        tracing::info!("{line}");
    }
}

/// The changes of `rtype` in a reconciliation's list.
pub fn changes_of(changes: &[(ResourceType, Changes)], rtype: ResourceType) -> Changes {
    changes
        .iter()
        .find(|(t, _)| *t == rtype)
        .map_or_else(Changes::default, |(_, c)| *c)
}

/// What names the generation an import writes, and what it is compared with.
struct Target<'a> {
    description: Description,
    previous: Option<&'a Previous>,
    now: OffsetDateTime,
}

/// Refuses an import that would deactivate more than the allowed share of a type; the refusal
/// names the FINESS kinds this import lacks whose absence deactivates resources of that type.
fn check_shrink(
    changes: &[(ResourceType, Changes)],
    safety: &Safety,
    kinds: &[FinessKind],
) -> Result<(), ImportError> {
    if safety.allow_shrink {
        return Ok(());
    }
    for (rtype, c) in changes {
        if c.previously_active == 0 {
            continue;
        }
        let percent = 100.0 * c.deactivated as f64 / c.previously_active as f64;
        if percent > safety.max_shrink_percent {
            return Err(ImportError::Shrink {
                rtype: *rtype,
                deactivated: c.deactivated,
                active: c.previously_active,
                percent,
                limit: safety.max_shrink_percent,
                missing: missing_kinds(*rtype, kinds),
            });
        }
    }
    Ok(())
}

/// The FINESS kinds, not among `given`, whose files make resources of `rtype` (so that their
/// absence deactivates them), said for people: "" when none.
fn missing_kinds(rtype: ResourceType, given: &[FinessKind]) -> String {
    let makes: &[FinessKind] = match rtype {
        ResourceType::Organization => &[FinessKind::LegalEntities],
        ResourceType::HealthcareService => {
            &[FinessKind::CareActivities, FinessKind::SocialEquipment]
        }
        ResourceType::Device => &[FinessKind::HeavyEquipment],
        ResourceType::Practitioner | ResourceType::PractitionerRole => &[],
    };
    let missing: Vec<&str> = makes
        .iter()
        .filter(|kind| !given.contains(kind))
        .map(|kind| kind.describe())
        .collect();
    if missing.is_empty() {
        return String::new();
    }
    format!(
        " This import has no file of {}: if the previous one had, give it again.",
        missing.join(", nor of ")
    )
}

/// The checked input files of an import.
struct Inputs<'f> {
    rpps: RppsInput,
    extras: ExtraInputs,
    finess: &'f FinessSet,
}

/// Writes a complete generation and switches to it: partition, map, version against the
/// generation before, index, commit.
fn write_generation(
    options: &ImportOptions,
    builder: GenerationBuilder,
    target: &Target<'_>,
    inputs: Inputs<'_>,
    rejects: &RejectReport,
) -> Result<
    (
        GenerationInfo,
        PartitionStats,
        Counters,
        Vec<(ResourceType, Changes)>,
    ),
    ImportError,
> {
    let spill_dir = builder.spill_dir();
    let spill_error = |source| ImportError::Spill {
        path: spill_dir.clone(),
        source,
    };
    let Inputs {
        rpps,
        extras,
        finess,
    } = inputs;
    let finess_set = finess;
    let finess = finess_set.establishments();
    let extra_layouts = extras.layouts.clone();
    let mut partition = partition_rpps(rpps, &spill_dir, rejects)?;
    let extras = extras::partition(extras, &spill_dir, partition.person_buckets.len(), rejects)?;
    let counters = Counters::default();
    let workers = options
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let finess_by_id: HashMap<&str, &Establishment> = finess
        .establishments
        .iter()
        .map(|e| (e.nofinesset.as_str(), e))
        .collect();
    // Every label is known before any resource is mapped (the files were read once already:
    // RPPS and the optional files while partitioning, FINESS whole), so each coding's display
    // is the one label kept for its code, whichever row a worker maps first.
    let mut labels = std::mem::take(&mut partition.labels);
    labels.merge(extras.labels);
    for establishment in &finess.establishments {
        labels.establishment(establishment);
    }
    label_finess_records(&mut labels, finess_set);
    builder.write_labels(&labels.to_json())?;
    let displays = labels.displays();
    let context = MapContext {
        layout: &partition.layout,
        displays: &displays,
        builder: &builder,
        counters: &counters,
        finess: &finess_by_id,
        merged_finess: Mutex::new(HashSet::new()),
        written_sites: Mutex::new(HashSet::new()),
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
    context.map_legal_entities(finess_set.get(FinessKind::LegalEntities))?;
    context.map_finess_services(finess_set, workers)?;
    for message in extras.organization_mailboxes.unplaced() {
        counters.unplaced.note(message, None);
    }
    partition.stats.extras = [extras.savoir_faire, extras.diplomas, extras.mailboxes];

    let versioned = builder.version(
        target.previous,
        Millis::from_datetime(target.now),
        options.safety.retention,
    )?;
    check_shrink(versioned.changes(), &options.safety, &finess_set.kinds())?;
    versioned.index(|index| crate::search::index::build::build(index, workers))?;
    let changes = versioned.changes().to_vec();
    let info = versioned.commit(target.description.clone())?;
    Ok((info, partition.stats, counters, changes))
}

/// The labels of the codes of every FINESS file other than the establishments one.
fn label_finess_records(labels: &mut Labels, finess: &FinessSet) {
    for (_, file) in finess.iter() {
        file.legal_entities
            .iter()
            .for_each(|r| labels.legal_entity(r));
        file.activities.iter().for_each(|r| labels.care_activity(r));
        file.social_equipment
            .iter()
            .for_each(|r| labels.social_equipment(r));
        file.heavy_equipment
            .iter()
            .for_each(|r| labels.heavy_equipment(r));
    }
}

fn display_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

/// The id prefix of FINESS establishments (`ids::establishment`).
const ESTABLISHMENT_PREFIX: &str = "eg-";

/// Records of activity and equipment files mapped per work item.
const SERVICE_CHUNK: usize = 4096;

fn chunks<T>(records: &[T]) -> std::slice::Chunks<'_, T> {
    records.chunks(SERVICE_CHUNK)
}

/// A slice of the records of one activity or equipment file, with the file's path.
enum ServiceWork<'f> {
    Activities(&'f Path, &'f [crate::extract::finess::CareActivity]),
    Social(&'f Path, &'f [crate::extract::finess::SocialEquipment]),
    Heavy(&'f Path, &'f [crate::extract::finess::HeavyEquipment]),
}

/// A mapping work item: person bucket `i` (with extras bucket `i`) or structure bucket `i`.
#[derive(Debug, Clone, Copy)]
enum BucketKind {
    Persons(usize),
    Structures(usize),
}

struct Partition {
    layout: Layout,
    /// The labels of the codes met (see [`crate::mapping::labels`]).
    labels: Labels,
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
    let input_path = input.path.clone();
    let count = spill::bucket_count(input.size());
    let spill_error = |source| ImportError::Spill {
        path: spill_dir.to_path_buf(),
        source,
    };
    let mut valid_rows = 0u64;
    let mut persons = spill::Buckets::create(spill_dir, "persons", count).map_err(spill_error)?;
    let mut structures =
        spill::Buckets::create(spill_dir, "structures", count).map_err(spill_error)?;
    let mut labels = Labels::default();
    let stats = input.for_each_line("Reading RPPS", rejects, |line_number, text| {
        let row = match layout.split(text) {
            Ok(row) => row,
            Err(reason) => return Ok(Err(reason)),
        };
        valid_rows += 1;
        labels.rpps_row(&row);
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
    if valid_rows == 0 {
        return Err(ImportError::File(FileError::NotTheExpectedFormat {
            path: input_path,
            expected: "an RPPS PS_LibreAcces_Personne_activite extraction",
            detail: format!(
                "it holds no valid data row ({} lines read): a cut or empty file is not imported",
                stats.rows_read
            ),
        }));
    }
    Ok(Partition {
        layout,
        labels,
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
    /// The labels every coding's `display` is taken from.
    displays: &'a Displays,
    builder: &'a GenerationBuilder,
    counters: &'a Counters,
    finess: &'a HashMap<&'a str, &'a Establishment>,
    /// FINESS establishments already written merged with their RPPS structure.
    merged_finess: Mutex<HashSet<String>>,
    /// Legal entities some `partOf` points at: each gets at least a stub.
    legal_entities: Mutex<BTreeSet<String>>,
    /// Ids of the establishments (`eg-`) written, from FINESS or from RPPS columns: the
    /// activities and equipment of these only are imported (docs/mapping.md A32).
    written_sites: Mutex<HashSet<String>>,
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
    /// Stores a mapped resource, its codings given their display.
    fn write(&self, rtype: ResourceType, id: &str, json: &[u8]) -> Result<(), StoreError> {
        self.builder.write(rtype, id, &self.displays.describe(json))
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
            let resources = practitioner::map_person(&rows, &person_extras);
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
        if id.starts_with(ESTABLISHMENT_PREFIX) {
            self.written_sites
                .lock()
                .expect("written sites")
                .insert(id.to_owned());
        }
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
                    organization::from_finess(self.finess[site], Some(representative))
                }
                _ => {
                    let ej = representative.get(Col::FinessEj);
                    if !ej.is_empty() {
                        self.legal_entities
                            .lock()
                            .expect("legal entity set")
                            .insert(ej.to_owned());
                    }
                    organization::from_rpps(representative)
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
                self.builder
                    .write_geolocation(&id, json.to_string().as_bytes())?;
            }
            if merged.contains(&est.nofinesset) {
                continue;
            }
            let (id, resource) = organization::from_finess(est, None);
            self.write_organization(&id, resource)?;
        }
        Ok(())
    }

    /// Every legal entity of the legal entities file (referenced or not), and a stub for each
    /// one referenced but absent from it (or every referenced one, without the file).
    fn map_legal_entities(&self, file: Option<&FinessFile>) -> Result<(), ImportError> {
        let mut from_file = HashSet::new();
        for entity in file.map_or(&[][..], |f| &f.legal_entities) {
            let (id, resource) = organization::from_legal_entity(entity);
            self.write_organization(&id, resource)?;
            from_file.insert(entity.nofinessej.as_str());
        }
        self.counters
            .legal_entities_from_file
            .store(from_file.len() as u64, Ordering::Relaxed);
        let mut stubs = 0;
        for ej in self.legal_entities.lock().expect("legal entity set").iter() {
            if from_file.contains(ej.as_str()) {
                continue;
            }
            let (id, resource) = organization::legal_entity_stub(ej);
            self.write_organization(&id, resource)?;
            stubs += 1;
        }
        self.counters
            .legal_entity_stubs
            .store(stubs, Ordering::Relaxed);
        Ok(())
    }

    /// The healthcare activities, social equipment and heavy equipment of the establishments
    /// written; a line naming another establishment is reported and not imported (docs/mapping.md A32).
    fn map_finess_services(&self, finess: &FinessSet, workers: usize) -> Result<(), ImportError> {
        let mut work: Vec<ServiceWork<'_>> = Vec::new();
        for (path, file) in finess.iter() {
            work.extend(chunks(&file.activities).map(|c| ServiceWork::Activities(path, c)));
            work.extend(chunks(&file.social_equipment).map(|c| ServiceWork::Social(path, c)));
            work.extend(chunks(&file.heavy_equipment).map(|c| ServiceWork::Heavy(path, c)));
        }
        let sites = self.written_sites.lock().expect("written sites");
        run_parallel(&work, workers, |item| match *item {
            ServiceWork::Activities(path, records) => self.write_services(
                path,
                records,
                &sites,
                |r| (r.line, &r.nofinesset),
                |r| {
                    let (id, resource) = healthcare_service::from_care_activity(r);
                    let json = fhir_json::healthcare_service_to_vec(&resource);
                    (ResourceType::HealthcareService, id.to_string(), json)
                },
            ),
            ServiceWork::Social(path, records) => self.write_services(
                path,
                records,
                &sites,
                |r| (r.line, &r.nofinesset),
                |r| {
                    let (id, resource) = healthcare_service::from_social_equipment(r);
                    let json = fhir_json::healthcare_service_to_vec(&resource);
                    (ResourceType::HealthcareService, id.to_string(), json)
                },
            ),
            ServiceWork::Heavy(path, records) => self.write_services(
                path,
                records,
                &sites,
                |r| (r.line, &r.nofinesset),
                |r| {
                    let (id, resource) = device::from_heavy_equipment(r);
                    (
                        ResourceType::Device,
                        id.to_string(),
                        fhir_json::device_to_vec(&resource),
                    )
                },
            ),
        })
    }

    /// Writes the mapped resource of each record whose establishment was written; reports the
    /// others as `FILE:LINE: not imported: …`.
    fn write_services<R>(
        &self,
        path: &Path,
        records: &[R],
        sites: &HashSet<String>,
        place: impl Fn(&R) -> (u64, &String),
        map: impl Fn(&R) -> (ResourceType, String, Vec<u8>),
    ) -> Result<(), ImportError> {
        for record in records {
            let (line, et) = place(record);
            if !sites.contains(ids::establishment(et).as_str()) {
                self.counters.finess_unplaced.note(
                    format!(
                        "{}:{line}: not imported: establishment {et} is not in the FINESS establishments file",
                        path.display()
                    ),
                    None,
                );
                continue;
            }
            let (rtype, id, json) = map(record);
            self.write(rtype, &id, &json)?;
        }
        Ok(())
    }
}
