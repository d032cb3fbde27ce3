//! Deterministic generator of realistic synthetic extraction files.
//!
//! Produces, in the exact real formats described in annuaire's `docs/formats.md` (named here
//! for day 1; day N's files carry day N's instant, see [`FileNames`]):
//! - `PS_LibreAcces_Personne_activite_202611010000.txt` (RPPS persons × activities, `|`-separated,
//!   56-column header, trailing `|`),
//! - `etalab-cs1100507-stock-20261101-0000.csv` (FINESS establishments with geolocation,
//!   `;`-separated, manifest line, `structureet` then `geolocalisation` records),
//! - `PS_LibreAcces_SavoirFaire_202611010000.txt` (13 columns, trailing `|`): one row per person ×
//!   profession × savoir-faire of the RPPS file, plus capacités of some médecins found only there,
//! - `PS_LibreAcces_Dipl_AutExerc_202611010000.txt` (13 columns, trailing `|`): the state diploma of
//!   every person's professions, DES of specialist médecins, a few CES and exercise authorisations,
//! - `Extraction_Correspondance_MSSante_202611010000.txt` (31 columns, NO trailing `|`): personal
//!   mailboxes of about 30 % of the persons, organisational mailboxes of FINESS establishments and
//!   cabinets, with deliberate duplicates and orphans (see [`mssante`]),
//! - the four other FINESS extractions, same lexical form as `cs1100507` (manifest line, tagged
//!   `;` records, RFC-4180 quoting), drawn from the establishments directory:
//!   `etalab-cs1100501-…` legal entities (`structureej`, 22 fields; one record per legal entity of
//!   the directory but about 1 % left out, so stubs remain, plus about 1 % owning no
//!   establishment), `etalab-cs1100504-…` heavy equipment (`equipmateriellourd`, 10 fields, about
//!   90 % with an ARHGOS number, some dates `DD/MM/YYYY`), `etalab-cs1100505-…` social equipment
//!   (`equipementsocial`, all 27 fields in the probable order, **Windows-1252**) and
//!   `etalab-cs1100503-…` healthcare activities (`activiteoffresoin`, the 12 confirmed fields, a
//!   few lines with the 4 unconfirmed trailing ones). The three last start with the full
//!   `structureet` lines of the establishments they concern, as the real files do.
//!
//! # Volumes of the FINESS extractions
//!
//! Per 100 000 establishments (the national size, 1.5 million persons), by arithmetic from the
//! per-establishment rates a test measures at 3 000 establishments: about 80 000 legal entities
//! (the distinct `nofinessej` of the directory), 5 500 heavy equipment units (a CHR holds 2 to 4,
//! a CH 0.6 and a clinic 0.4 on average: the order of the French fleet, some 1 300 scanners and
//! 1 100 MRI plus nuclear medicine cameras), 30 000 healthcare activity authorisations (about 4
//! per hospital; the real file is of the order of 3 000 sanitary establishments × 8) of which
//! about 900 emergency units (real: 471 to 668 sites; our hospitals, 6.7 % of establishments, are
//! more numerous than the real ones), and 70 000 social equipment lines (about 2.7 per ESSMS; the
//! real file is of the order of 40 000 ESSMS × 2.5 = 100 000). Files: about 18, 2, 9 and 28 MB.
//! None of the real counts is confirmed; they set the order of magnitude, which is what the
//! import's memory and time depend on. See `finess_codes` for which codes are real.
//!
//! The files exist to exercise the importer at any scale (100 persons to national size) with the
//! quirks of the real data: accented/apostrophe/hyphenated names, ADELI ids with `2A`/`2B`, persons
//! without activity, rows duplicated per savoir-faire, exact duplicate rows, rows of a person far apart,
//! shared structures with conflicting spellings, foreign addresses, FINESS numbers missing from the
//! FINESS file, RFC-4180 quoting, Lambert 93 and UTM coordinates… Every name and identifier is invented
//! (RPPS `199…`, SIRET `99…`, FINESS numbers with a `99`/`98` marker, phones in the ARCEP fiction ranges).
//!
//! Determinism: all randomness comes from ChaCha8 streams seeded from [`GenerateOptions::seed`]; no
//! clock, no hash-map iteration. Same options ⇒ byte-identical files.
//!
//! Memory: the FINESS directory (one entry per establishment) is the only table held; RPPS rows are
//! streamed through a bounded delay queue (see [`scatter`]); side-file rows are written as each person
//! is generated (see [`side`]), with only a fixed-size address filter and the few cabinets with a
//! mailbox kept.
//!
//! # Days
//!
//! The server's synchronisation features (versions that change only with content, deletions,
//! history, delta exports) are tested, demonstrated and benchmarked by importing the same directory
//! on successive days. [`GenerateOptions::day`] selects the day (file names stay the same: write
//! each day into its own directory):
//!
//! - **Day 1** is the directory described above, byte-identical to what the generator wrote before
//!   days existed, whatever the rates (the embedded demo, the determinism tests and recorded
//!   benchmarks rely on it; a test pins hashes of it).
//! - **Day N ≥ 2** is day 1 plus the events of days 2, 3, … N: a deterministic function of
//!   (persons, seed, day, rates). Days are cumulative: a person retired on day 2 stays absent on
//!   days 3, 4…; a cabinet moved on day 2 keeps its new address on day 3 unless it moves again.
//!
//! How, and why this way: every person is first generated exactly as on day 1 (every draw of the
//! shared streams is made, even for a person who has since retired), then the events of days 2..=N
//! are applied to that person's rows and side-file lines, then the person is written (or not, if
//! retired). Whether and what happens to a person on a day comes from a hash and a stream keyed by
//! (seed, person index, day), independent of the day-1 streams (module `days`). So day 1's streams are
//! untouched, an event on one person never shifts another person's data, the state of a person on
//! day N is derived from that person alone (memory stays bounded: nothing per person is kept from
//! one person to the next), and day N costs about what day 1 costs. The RPPS file replays day 1's
//! row placements: a removed row still takes its place, as a *ghost* that writes nothing, and an
//! added row does not count as a row (module `scatter`), so the rows untouched by events keep their
//! relative order and a diff of two days shows exactly the day's events. Addresses and mailboxes
//! created by events are unique by construction and stay out of the MSSanté address filter, so no
//! other address changes because of them.
//!
//! Events, at most one per person and per day, with their rates ([`DailyRates`], parts per million
//! per present person per day; the defaults touch about 1 % of persons per day, the benchmark
//! assumption):
//!
//! - **retirement** (0.1 %): the person disappears from the RPPS and side files (their cabinet mailbox, if
//!   they were the cabinet's only present member, too);
//! - **new persons** (0.1 % of `persons` per day): persons with indices `persons..`, generated as a
//!   continuation of the person stream, so that day 3's new persons include day 2's, identical;
//! - **activity change** (0.3 %): an activity row is added (35 %), removed (30 %; a person's last
//!   one leaves them a row without activity) or moved to another structure (35 %), which adds,
//!   removes or changes a PractitionerRole. New activities go to shared structures that already
//!   exist (group cabinets without organisational mailbox, FINESS establishments, officines), never
//!   to a new solo cabinet or an establishment missing from FINESS, whose numbers come from counters
//!   of the whole file;
//! - **address change** (0.6 % of the persons with a solo cabinet, about 0.24 % of all persons): the
//!   person's solo cabinet (an RPPS structure only they use) moves within its department; its
//!   address columns change on all their rows (and in the mailboxes naming it);
//! - **profession change** (0.02 % of the persons with a single profession other than pharmacien,
//!   rare): the profession code changes within RPPS or ADELI professions, so the Practitioner id
//!   `pp-<national id>-<profession>` changes (the old one disappears, a new one appears); the
//!   savoir-faire, registration authority, diplomas and mailbox follow, the structures stay;
//! - **mailbox change** (0.2 %): a personal MSSanté mailbox is opened (person without one), or
//!   closed or readdressed (half each).
//!
//! The four other FINESS extractions change too, record by record rather than person by person
//! (module `finess_days`, rates in [`DailyRates`] per record owner and day): a healthcare activity
//! authorisation ends (its line goes), a heavy equipment unit is removed or one is added, the
//! installed capacity of a social equipment line changes (its `datemajinst` becomes the day's
//! date), a legal entity's seat moves. Each day carries at least one of each, on owners chosen
//! from a start drawn per (day, kind). The establishments file itself does not change.
//!
//! **Forced events**: like the quirk showcases of day 1, every day N ≥ 2 carries at least one event
//! of each kind (retirement; activity added, removed, moved; address; profession; mailbox opened,
//! closed, readdressed) and at least one new person, so that even a 100-person file shows every kind
//! every day. For each (day, kind), a start index is drawn in the first half of the initial
//! persons; the event lands on the first person from there, in file order, it can apply to, who is
//! present and has no other forced event that day. The carriers therefore depend on the day, are
//! never the same person twice in a day, never a retired person, and the choice for day N depends
//! only on days before N, so it is the same whatever day is generated. The quirk showcases and
//! persons 0 and 1 (first personal mailbox, forced exercise authorisation) never have any event, so
//! a small file keeps every day-1 quirk on every day.
//!
//! [`GenerateStats::events`] counts the events of the day generated; a diff of the files of two
//! consecutive days shows exactly those events (tested).

mod activities;
mod days;
mod finess;
mod finess_codes;
mod finess_days;
mod geo;
mod heavy_equipment;
mod legal_entities;
mod mssante;
mod names;
mod person;
mod random;
mod rpps;
mod scatter;
mod showcase;
mod side;
mod site_files;
mod social_equipment;
mod structure;
mod tables;

#[cfg(test)]
mod tests;

use std::io;
use std::path::{Path, PathBuf};

pub use days::{DailyRates, DayEvents, MAX_DAY};

/// Day 1's extraction instant (2026-11-01T00:00:00Z), in the file names and the FINESS manifest, so
/// output is deterministic; day N is N − 1 days later ([`extraction_instant`]).
pub const EXTRACTION_DATE: &str = "2026-11-01";

/// Name of the generated RPPS file (day 1's: see [`FileNames`] for any day).
pub const RPPS_FILE_NAME: &str = "PS_LibreAcces_Personne_activite_202611010000.txt";

/// Name of the generated FINESS file.
pub const FINESS_FILE_NAME: &str = "etalab-cs1100507-stock-20261101-0000.csv";

/// Name of the generated FINESS legal entities file (`structureej` records).
pub const LEGAL_ENTITIES_FILE_NAME: &str = "etalab-cs1100501-stock-20261101-0000.csv";

/// Name of the generated FINESS heavy equipment file (`equipmateriellourd` records).
pub const HEAVY_EQUIPMENT_FILE_NAME: &str = "etalab-cs1100504-stock-20261101-0000.csv";

/// Name of the generated FINESS social equipment file (`equipementsocial` records, Windows-1252).
pub const SOCIAL_EQUIPMENT_FILE_NAME: &str = "etalab-cs1100505-stock-20261101-0000.csv";

/// Name of the generated FINESS healthcare activities file (`activiteoffresoin` records). The
/// real file's number is unconfirmed (probably `cs1100503`); the importer recognises every FINESS
/// file by its record tags, never by its name.
pub const ACTIVITIES_FILE_NAME: &str = "etalab-cs1100503-stock-20261101-0000.csv";

/// Name of the generated savoir-faire file.
pub const SAVOIR_FAIRE_FILE_NAME: &str = "PS_LibreAcces_SavoirFaire_202611010000.txt";

/// Name of the generated diplomas and exercise authorisations file.
pub const DIPLOMAS_FILE_NAME: &str = "PS_LibreAcces_Dipl_AutExerc_202611010000.txt";

/// Name of the generated MSSanté mailboxes file.
pub const MSSANTE_FILE_NAME: &str = "Extraction_Correspondance_MSSante_202611010000.txt";

/// Day `day`'s extraction instant: day 1 at 2026-11-01T00:00:00Z, each later day 24 hours later.
/// The files of a day carry it in their names (and the FINESS manifest its date), as the real
/// extractions do, so that an import of day N stamps day N's time from the RPPS file name.
pub fn extraction_instant(day: u32) -> time::OffsetDateTime {
    time::macros::datetime!(2026-11-01 00:00 UTC) + time::Duration::days(i64::from(day) - 1)
}

/// The names of the nine files of one day, each with the day's extraction instant as the real
/// files write it (`..._YYYYMMDDHHMM.txt`, FINESS `...-YYYYMMDD-HHMM.csv`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileNames {
    pub rpps: String,
    pub finess: String,
    pub legal_entities: String,
    pub heavy_equipment: String,
    pub social_equipment: String,
    pub activities: String,
    pub savoir_faire: String,
    pub diplomas: String,
    pub mssante: String,
}

impl FileNames {
    /// The names of day `day`'s files.
    pub fn of_day(day: u32) -> FileNames {
        let instant = extraction_instant(day);
        let stamp = |description| instant.format(description).expect("a UTC instant formats");
        let compact = stamp(time::macros::format_description!(
            "[year][month][day][hour][minute]"
        ));
        let finess = stamp(time::macros::format_description!(
            "[year][month][day]-[hour][minute]"
        ));
        FileNames {
            rpps: format!("PS_LibreAcces_Personne_activite_{compact}.txt"),
            finess: format!("etalab-cs1100507-stock-{finess}.csv"),
            legal_entities: format!("etalab-cs1100501-stock-{finess}.csv"),
            heavy_equipment: format!("etalab-cs1100504-stock-{finess}.csv"),
            social_equipment: format!("etalab-cs1100505-stock-{finess}.csv"),
            activities: format!("etalab-cs1100503-stock-{finess}.csv"),
            savoir_faire: format!("PS_LibreAcces_SavoirFaire_{compact}.txt"),
            diplomas: format!("PS_LibreAcces_Dipl_AutExerc_{compact}.txt"),
            mssante: format!("Extraction_Correspondance_MSSante_{compact}.txt"),
        }
    }
}

/// Day `day`'s date as the FINESS manifest writes it (`YYYY-MM-DD`).
pub(crate) fn extraction_date(day: u32) -> String {
    extraction_instant(day)
        .format(time::macros::format_description!("[year]-[month]-[day]"))
        .expect("a UTC instant formats")
}

/// The demo dataset `annuaire serve --demo` embeds: enough persons for every quirk to occur,
/// few enough to import in about a second.
pub const DEMO: GenerateOptions = GenerateOptions::new(3000, 2026);

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateOptions {
    /// Number of distinct persons (`Identification nationale PP`) in the RPPS file of day 1.
    pub persons: u64,
    /// Seed of every random choice.
    pub seed: u64,
    /// The day of the directory to write, from 1 (see the crate documentation): day N ≥ 2 is day 1
    /// plus the events of days 2 to N. At most [`MAX_DAY`].
    pub day: u32,
    /// Probabilities of the events of each day after the first.
    pub rates: DailyRates,
}

impl GenerateOptions {
    /// Day 1 of `persons` persons from `seed`, with the default daily rates.
    pub const fn new(persons: u64, seed: u64) -> Self {
        GenerateOptions {
            persons,
            seed,
            day: 1,
            rates: DailyRates::DEFAULT,
        }
    }

    /// The same directory on another day.
    pub const fn with_day(self, day: u32) -> Self {
        GenerateOptions { day, ..self }
    }

    /// The same directory with other daily rates.
    pub const fn with_rates(self, rates: DailyRates) -> Self {
        GenerateOptions { rates, ..self }
    }
}

/// What was generated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateStats {
    /// Distinct persons written (on day N: the initial persons, plus the new, minus the retired).
    pub persons: u64,
    /// RPPS data rows written (header excluded, duplicate rows included).
    pub rpps_rows: u64,
    /// FINESS `structureet` records written.
    pub establishments: u64,
    /// Savoir-faire data rows written (duplicate rows included).
    pub savoir_faire_rows: u64,
    /// Diploma and authorisation data rows written.
    pub diploma_rows: u64,
    /// MSSanté data lines written (`PER` and `ORG`, duplicate lines included).
    pub mailboxes: u64,
    /// FINESS `structureej` records written (legal entities).
    pub legal_entities: u64,
    /// Legal entities referenced by establishments but left out of the legal entities file (the
    /// importer builds a stub for each).
    pub legal_entities_left_out: u64,
    /// Legal entities of the file that own no establishment.
    pub legal_entities_without_establishment: u64,
    /// FINESS `equipmateriellourd` records written (heavy equipment units), the orphan line
    /// included.
    pub heavy_equipment: u64,
    /// FINESS `activiteoffresoin` records written (healthcare activity authorisations), the
    /// orphan line included.
    pub care_activities: u64,
    /// FINESS `equipementsocial` records written (social equipment lines), the orphan line
    /// included. Each of these three files ends with one line whose establishment is in no file,
    /// which the importer reports and does not import.
    pub social_equipment: u64,
    /// The events of the day written (all zero on day 1).
    pub events: DayEvents,
}

/// Paths of the generated files and their statistics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFiles {
    pub rpps: PathBuf,
    pub finess: PathBuf,
    pub legal_entities: PathBuf,
    pub heavy_equipment: PathBuf,
    pub social_equipment: PathBuf,
    pub activities: PathBuf,
    pub savoir_faire: PathBuf,
    pub diplomas: PathBuf,
    pub mssante: PathBuf,
    pub stats: GenerateStats,
}

impl GeneratedFiles {
    /// Every FINESS extraction written, to give the importer (`--finess`): establishments, legal
    /// entities, heavy equipment, social equipment, healthcare activities.
    pub fn finess_files(&self) -> Vec<PathBuf> {
        vec![
            self.finess.clone(),
            self.legal_entities.clone(),
            self.heavy_equipment.clone(),
            self.social_equipment.clone(),
            self.activities.clone(),
        ]
    }

    /// Every file written, the RPPS file first.
    pub fn all(&self) -> Vec<PathBuf> {
        let mut all = vec![self.rpps.clone()];
        all.extend(self.finess_files());
        all.extend([
            self.savoir_faire.clone(),
            self.diplomas.clone(),
            self.mssante.clone(),
        ]);
        all
    }
}

/// Number of FINESS establishments generated for a number of persons (about one per 15 persons, at
/// least 20 so that every category and overseas department the quirks need exists).
pub fn establishments_for(persons: u64) -> u64 {
    (persons / 15).max(20)
}

/// Writes the nine files of day `opts.day` into out_dir (created if missing), named with the
/// day's extraction instant ([`FileNames::of_day`]).
pub fn generate(opts: &GenerateOptions, out_dir: &Path) -> io::Result<GeneratedFiles> {
    if !(1..=MAX_DAY).contains(&opts.day) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("day {} is not between 1 and {MAX_DAY}", opts.day),
        ));
    }
    let mut schedule = days::Schedule::new(opts.seed, opts.persons, opts.day, opts.rates);
    std::fs::create_dir_all(out_dir)?;
    let establishments = establishments_for(opts.persons);
    let directory = finess::build_directory(opts.seed, establishments);
    let names = FileNames::of_day(opts.day);
    let finess_path = out_dir.join(&names.finess);
    finess::write_file(&directory, &finess_path, &extraction_date(opts.day))?;
    let savoir_faire_path = out_dir.join(&names.savoir_faire);
    let diplomas_path = out_dir.join(&names.diplomas);
    let mssante_path = out_dir.join(&names.mssante);
    let mut side =
        side::SideFiles::create(opts.seed, &savoir_faire_path, &diplomas_path, &mssante_path)?;
    side.establishments(&directory)?;
    let rpps_path = out_dir.join(&names.rpps);
    let (rpps_rows, persons) = rpps::write_file(
        opts.seed,
        opts.persons,
        &directory,
        &rpps_path,
        &mut side,
        &mut schedule,
    )?;
    let side_counts = side.finish()?;
    let more = more_finess(opts, &directory, out_dir, &names)?;
    let mut events = schedule.events();
    more.add_events(&mut events);
    Ok(GeneratedFiles {
        rpps: rpps_path,
        finess: finess_path,
        legal_entities: more.paths[0].clone(),
        heavy_equipment: more.paths[1].clone(),
        social_equipment: more.paths[2].clone(),
        activities: more.paths[3].clone(),
        savoir_faire: savoir_faire_path,
        diplomas: diplomas_path,
        mssante: mssante_path,
        stats: GenerateStats {
            persons,
            rpps_rows,
            establishments,
            savoir_faire_rows: side_counts.savoir_faire_rows,
            diploma_rows: side_counts.diploma_rows,
            mailboxes: side_counts.mailboxes,
            legal_entities: more.legal_entities,
            legal_entities_left_out: more.left_out,
            legal_entities_without_establishment: more.without_establishment,
            heavy_equipment: more.heavy_equipment,
            care_activities: more.care_activities,
            social_equipment: more.social_equipment,
            events,
        },
    })
}

/// Records of all owners.
fn count<T>(items: &[Vec<T>]) -> u64 {
    items.iter().map(Vec::len).sum::<usize>() as u64
}

/// What [`more_finess`] wrote.
struct MoreFiness {
    /// Legal entities, heavy equipment, social equipment, activities.
    paths: [PathBuf; 4],
    legal_entities: u64,
    left_out: u64,
    without_establishment: u64,
    heavy_equipment: u64,
    care_activities: u64,
    social_equipment: u64,
    /// Events of the day: legal entity addresses; devices removed, added; activities closed;
    /// social capacities.
    events: [u64; 5],
}

impl MoreFiness {
    fn add_events(&self, events: &mut DayEvents) {
        let [addresses, removed, added, closed, capacities] = self.events;
        events.legal_entity_addresses_changed = addresses;
        events.devices_removed = removed;
        events.devices_added = added;
        events.care_activities_closed = closed;
        events.social_capacities_changed = capacities;
    }
}

/// Writes the four other FINESS extractions of day `opts.day` (legal entities, heavy equipment,
/// social equipment, healthcare activities) from the establishments directory. Their records come
/// from streams of their own (new domains), so the five other files are unchanged by them, and
/// evolve day by day through [`finess_days`].
fn more_finess(
    opts: &GenerateOptions,
    directory: &finess::Directory,
    out_dir: &Path,
    names: &FileNames,
) -> io::Result<MoreFiness> {
    use finess_days::evolve;
    let (seed, day, rates) = (opts.seed, opts.day, &opts.rates);
    let date = extraction_date(day);
    let entities = legal_entities::build(seed, directory);
    let entity_records = entities.entities.iter().map(|e| vec![e.clone()]).collect();
    let evolution = legal_entities::Evolution {
        address_ppm: rates.legal_entity_address_ppm,
    };
    let legal = evolve(&evolution, seed, day, entity_records);
    let legal_path = out_dir.join(&names.legal_entities);
    site_files::write_utf8(&legal_path, &legal_entities::text(&legal.items, &date))?;

    let hospitals = site_files::owners(directory, site_files::is_hospital);
    let evolution = heavy_equipment::Evolution {
        rates: [rates.device_removed_ppm, rates.device_added_ppm],
    };
    let units = heavy_equipment::initial(seed, directory, &hospitals);
    let orphan = units.first().and_then(|u| u.first()).cloned();
    let units = evolve(&evolution, seed, day, units);
    let push =
        |out: &mut String, est: &_, u: &_| heavy_equipment::push_line(out, &entities, est, u);
    let mut text = site_files::text(directory, &hospitals, &units.items, &date, push);
    let heavy_orphans =
        site_files::push_orphan(&mut text, directory, &hospitals, orphan.as_ref(), push);
    let heavy_path = out_dir.join(&names.heavy_equipment);
    site_files::write_utf8(&heavy_path, &text)?;

    let evolution = activities::Evolution {
        closed_ppm: rates.care_activity_closed_ppm,
    };
    let authorisations = activities::initial(seed, directory, &hospitals);
    let orphan = authorisations.first().and_then(|a| a.first()).cloned();
    let authorisations = evolve(&evolution, seed, day, authorisations);
    let push = |out: &mut String, est: &_, a: &_| activities::push_line(out, &entities, est, a);
    let mut text = site_files::text(directory, &hospitals, &authorisations.items, &date, push);
    let activity_orphans =
        site_files::push_orphan(&mut text, directory, &hospitals, orphan.as_ref(), push);
    let activities_path = out_dir.join(&names.activities);
    site_files::write_utf8(&activities_path, &text)?;

    let essms = site_files::owners(directory, |est| {
        !social_equipment::offers_of(est).is_empty()
    });
    let evolution = social_equipment::Evolution {
        capacity_ppm: rates.social_capacity_ppm,
    };
    let equipment = social_equipment::initial(seed, directory, &essms);
    let orphan = equipment.first().and_then(|e| e.first()).cloned();
    let equipment = evolve(&evolution, seed, day, equipment);
    let push = social_equipment::push_line;
    let mut text = site_files::text(directory, &essms, &equipment.items, &date, push);
    let social_orphans =
        site_files::push_orphan(&mut text, directory, &essms, orphan.as_ref(), push);
    let social_path = out_dir.join(&names.social_equipment);
    site_files::write_windows_1252(&social_path, &text)?;

    Ok(MoreFiness {
        paths: [legal_path, heavy_path, social_path, activities_path],
        legal_entities: legal.items.len() as u64,
        left_out: entities.left_out,
        without_establishment: entities.without_establishment,
        heavy_equipment: count(&units.items) + heavy_orphans,
        care_activities: count(&authorisations.items) + activity_orphans,
        social_equipment: count(&equipment.items) + social_orphans,
        events: [
            legal.events[0],
            units.events[heavy_equipment::REMOVED],
            units.events[heavy_equipment::ADDED],
            authorisations.events[0],
            equipment.events[0],
        ],
    })
}
