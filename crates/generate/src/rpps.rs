//! Persons and their activity rows: the `PS_LibreAcces_Personne_activite` writer.
//!
//! Persons are generated one at a time and their rows handed to the [`Scatter`] queue, so memory does
//! not grow with the number of persons. A row is `person columns (1–13)` + `savoir-faire (14–17)` +
//! `activity (18–56)`; a person with two savoir-faire gets each activity row twice, once per
//! savoir-faire, exactly like the real extraction.
//!
//! Once its rows are generated, each person is also handed to the [`SideFiles`] writer (savoir-faire,
//! diplomas, MSSanté mailboxes) as a [`PersonRecord`]. Capturing what that record needs draws nothing
//! from the person stream, so the RPPS file does not depend on the side files.
//!
//! On later days (see the crate documentation), a person is generated as on day 1 into a
//! [`PersonState`] (registrations and activities, each activity keeping what its columns are made
//! of), the [`Schedule`] applies the events of the later days to it through [`Evolving`], and the
//! rows are written from the resulting state, each row in the place drawn for it on day 1 (keyed
//! by registration, activity id and savoir-faire).

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::Path;

use rand::Rng;

use super::days::{Category, EventKind, Evolving, Schedule};
use super::finess::{Directory, department_index};
use super::geo::{self, CABINET_PROFILE, Place};
use super::mssante::{self, PersonalPlan};
use super::names;
use super::person::{PersonRecord, Registration, Site};
use super::random::{GenRng, Weighted, chance, derived_rng, domain, luhn_digit, percent, pick};
use super::scatter::Scatter;
use super::showcase::{Showcase, showcase};
use super::side::{RegistrationPlan, SideFiles, SidePlan, authorisation_discipline};
use super::structure::{self, GroupCabinets, Practitioner, Structure};
use super::tables::{
    CATEGORIES, Code, DENTISTE, DENTISTE_SPECIALTIES, DEPARTMENTS, DOCTOR, DOUBLE_PROFESSIONS,
    GENRE_CARE, GENRE_MEDICO_ADMIN, GENRE_NON_CARE, GENRE_REPLACEMENT, MADAM, MEDECIN,
    MEDECIN_CAPACITIES, MEDECIN_SPECIALTIES, MISTER, MODE_BENEVOLE, MODE_LIBERAL, MODE_SALARIE,
    PHARMACIEN, PROFESSIONS, PROFESSOR, Profession, ROLE_ASSISTANT, ROLE_CABINET_OWNER,
    ROLE_COLLABORATOR, ROLE_DEPUTY, ROLE_HEAD, ROLE_OFFICINE_OWNER, ROLE_OFFICINE_SUBSTITUTE,
    ROLE_OTHER, ROLE_PARTNER, ROLE_SUBSTITUTE, RPPS_COLUMNS, RPPS_HEADER, SECTION_A, SECTION_D,
    SECTION_E, SECTION_G, SECTION_H, SECTOR_COMPANY, SECTOR_GROUP_CABINET, SECTOR_OFFICINE,
    SECTOR_SOLO_CABINET, SavoirFaire, SiteKind,
};

/// Number of activity/structure columns (18–56) — what a person without activity leaves empty.
const ACTIVITY_COLUMNS: usize = 39;

/// Share of ADELI-typed persons.
const ADELI_SHARE: f64 = 0.03;
/// Share of persons without any activity, in percent.
const NO_ACTIVITY_PCT: u32 = 5;
/// Share of persons registered with two professions.
const DOUBLE_PROFESSION_SHARE: f64 = 0.0005;
/// Share of rows written twice.
const DUPLICATE_ROW_SHARE: f64 = 0.005;
/// Share of establishment activities whose FINESS site is missing from the FINESS file.
const MISSING_FINESS_SHARE: f64 = 0.005;
/// Share of médecins with a second savoir-faire, in percent.
const SECOND_SAVOIR_FAIRE_PCT: u32 = 9;
/// Share of group-cabinet rows spelling the structure differently, in percent.
const CONFLICT_PCT: u32 = 3;
/// Weights of 1, 2, 3 and 4 activities (mean ≈ 1.44, giving ≈ 1.47 rows per person overall).
const ACTIVITY_COUNT_WEIGHTS: [u32; 4] = [69, 21, 7, 3];

/// Most activities a registration has (the length of [`ACTIVITY_COUNT_WEIGHTS`]); an event adds
/// none beyond.
const MAX_ACTIVITIES: usize = ACTIVITY_COUNT_WEIGHTS.len();

/// Writes the RPPS file of the day `schedule` describes (the initial persons and the new persons up
/// to that day, with the events of every day up to it), each present person's side-file rows
/// through `side`, and returns the number of RPPS data rows and of persons written.
pub(crate) fn write_file(
    seed: u64,
    persons: u64,
    directory: &Directory,
    path: &Path,
    side: &mut SideFiles,
    schedule: &mut Schedule,
) -> io::Result<(u64, u64)> {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    out.write_all(RPPS_HEADER.as_bytes())?;
    out.write_all(b"|\n")?;
    let mut scatter = Scatter::new(out);
    let mut generator = Generator::new(seed, persons, directory);
    let mut present = 0;
    for index in 0..schedule.total_persons() {
        if generator.person(index, &mut scatter, side, schedule)? {
            present += 1;
        }
    }
    let (_, rows) = scatter.finish()?;
    Ok((rows, present))
}

/// Person-level values (columns 1–9 and the category), shared by all rows of the person.
struct Identity {
    /// Columns 1–9, each followed by `|`.
    columns: String,
    /// `Type d'identifiant PP` and `Identifiant PP` (columns 1–2).
    id_type: &'static str,
    id: String,
    /// Civilité d'exercice (columns 4–5).
    title: Option<&'static Code>,
    category: &'static Code,
    family: String,
    given: String,
    doctor: bool,
    adeli_id: Option<String>,
    adeli: bool,
    home: usize,
}

/// One activity of a person: columns 18–56 and what they are made of, so that an event can change a
/// part (the structure's address, the registration authority) and render them again.
#[derive(Debug, Clone)]
struct Activity<'d> {
    /// Key of the activity within the person: its rows keep their place in the file from day to
    /// day, whatever happens to the person's other activities.
    id: u32,
    mode: &'static Code,
    structure: Structure<'d>,
    authority: String,
    sector: &'static Code,
    section: Option<&'static Code>,
    role: &'static Code,
    genre: &'static Code,
    /// A solo cabinet: a structure only this person uses (the one an address change moves).
    solo: bool,
    /// Columns 18–56, ready to append.
    columns: String,
}

impl<'d> Activity<'d> {
    #[allow(clippy::too_many_arguments)]
    fn new(
        mode: &'static Code,
        structure: Structure<'d>,
        authority: String,
        sector: &'static Code,
        section: Option<&'static Code>,
        role: &'static Code,
        genre: &'static Code,
        solo: bool,
    ) -> Self {
        let mut activity = Activity {
            id: 0,
            mode,
            structure,
            authority,
            sector,
            section,
            role,
            genre,
            solo,
            columns: String::with_capacity(400),
        };
        activity.render();
        activity
    }

    fn render(&mut self) {
        self.columns.clear();
        push_activity(
            &mut self.columns,
            self.mode,
            &self.structure,
            &self.authority,
            self.sector,
            self.section,
            self.role,
            self.genre,
        );
    }
}

/// The kind of practice an activity takes place in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Practice {
    SoloCabinet,
    GroupCabinet,
    Establishment,
    Officine,
}

/// Samplers built once from the weight tables.
struct Samplers {
    professions: Weighted,
    adeli_professions: Weighted,
    departments: Weighted,
    categories: Weighted,
    medecin_specialties: Weighted,
    medecin_capacities: Weighted,
    dentist_specialties: Weighted,
    activity_counts: Weighted,
}

impl Samplers {
    fn new() -> Self {
        Samplers {
            professions: Weighted::new(PROFESSIONS.iter().map(|p| p.weight)),
            adeli_professions: Weighted::new(PROFESSIONS.iter().map(|p| p.adeli_weight)),
            departments: Weighted::new(DEPARTMENTS.iter().map(|d| d.weight)),
            categories: Weighted::new(CATEGORIES.iter().map(|(_, w)| *w)),
            medecin_specialties: Weighted::new(MEDECIN_SPECIALTIES.iter().map(|s| s.weight)),
            medecin_capacities: Weighted::new(MEDECIN_CAPACITIES.iter().map(|s| s.weight)),
            dentist_specialties: Weighted::new(DENTISTE_SPECIALTIES.iter().map(|s| s.weight)),
            activity_counts: Weighted::new(ACTIVITY_COUNT_WEIGHTS),
        }
    }
}

/// One person as generated, then as the events of later days leave them.
struct PersonState<'d> {
    index: u64,
    identity: Identity,
    /// Professions with their savoir-faire, as in the rows.
    registrations: Vec<Registration>,
    /// The activities of each registration; none: the registration's single row without activity.
    activities: Vec<Vec<Activity<'d>>>,
    /// The id of the next activity.
    next_activity: u32,
    retired: bool,
}

impl PersonState<'_> {
    /// The person's activities, registration after registration.
    fn all_activities(&self) -> impl Iterator<Item = &Activity<'_>> {
        self.activities.iter().flatten()
    }

    /// The structure of the person's first activity, as the mailbox file copies it.
    fn first_site(&self) -> Option<Site> {
        self.all_activities()
            .next()
            .map(|a| Site::from_structure(&a.structure))
    }

    /// (registration, position) of the `n`-th activity.
    fn nth_activity(&self, mut n: usize) -> Option<(usize, usize)> {
        for (r, activities) in self.activities.iter().enumerate() {
            if n < activities.len() {
                return Some((r, n));
            }
            n -= activities.len();
        }
        None
    }
}

/// Where a row of a person goes: (registration, activity id or [`IDLE`], savoir-faire position).
/// Rows with the same key on two days are the same row, written in the same place.
type RowKey = (usize, u32, usize);

/// Activity id of the single row of a registration without activity.
const IDLE: u32 = u32::MAX;

/// Where one row goes in the file.
#[derive(Debug, Clone, Copy)]
enum Target {
    Now,
    End,
    Later(u64),
}

/// The placement drawn for a row and its exact duplicate, if any.
#[derive(Debug, Clone, Copy)]
struct Placement {
    row: Target,
    copy: Option<Target>,
}

/// Sequential person generator.
struct Generator<'d> {
    seed: u64,
    rng: GenRng,
    directory: &'d Directory,
    samplers: Samplers,
    groups: GroupCabinets,
    adeli_counter: u64,
    solo_cabinet_counter: u64,
    phantom_counter: u64,
    empty_activity: String,
    placements: Vec<Placement>,
    /// The structure of the current person's first activity, for their mailbox.
    first_site: Option<Site>,
    /// The current person's cabinets that have an organisational mailbox.
    cabinet_sites: Vec<Site>,
}

impl<'d> Generator<'d> {
    fn new(seed: u64, persons: u64, directory: &'d Directory) -> Self {
        Generator {
            seed,
            rng: derived_rng(seed, domain::PERSONS, 0),
            directory,
            samplers: Samplers::new(),
            groups: GroupCabinets::new(seed, persons),
            adeli_counter: 0,
            solo_cabinet_counter: 0,
            phantom_counter: 0,
            empty_activity: "|".repeat(ACTIVITY_COLUMNS),
            placements: Vec::with_capacity(32),
            first_site: None,
            cabinet_sites: Vec::new(),
        }
    }

    /// Generates person `index` exactly as on their arrival day (every draw of the shared streams
    /// is made, whatever happens next), applies the events of the later days up to the day
    /// generated, then writes the rows: each row of the arrival day in the place drawn for it (as a
    /// ghost if an event removed it), rows added by events uncounted (see [`Scatter`]), and the side
    /// files if the person is still present. Returns whether they are.
    fn person(
        &mut self,
        index: u64,
        scatter: &mut Scatter<impl Write>,
        side: &mut SideFiles,
        schedule: &mut Schedule,
    ) -> io::Result<bool> {
        self.first_site = None;
        self.cabinet_sites.clear();
        let show = showcase(index);
        let random = show == Showcase::None;
        let adeli =
            matches!(show, Showcase::Adeli(_)) || (random && chance(&mut self.rng, ADELI_SHARE));
        let double = show == Showcase::TwoProfessions
            || (random && !adeli && chance(&mut self.rng, DOUBLE_PROFESSION_SHARE));
        let pair = double.then(|| *pick(&mut self.rng, DOUBLE_PROFESSIONS));
        let profession = match (show, pair) {
            (_, Some((first, _))) => profession_by_code(first),
            (Showcase::TwoSavoirFaire, _) => profession_by_code(MEDECIN),
            (Showcase::Pharmacist, _) => profession_by_code(PHARMACIEN),
            _ if adeli => &PROFESSIONS[self.samplers.adeli_professions.sample(&mut self.rng)],
            _ => &PROFESSIONS[self.samplers.professions.sample(&mut self.rng)],
        };
        let home = match show {
            Showcase::Adeli(code) => department_index(code),
            _ => self.samplers.departments.sample(&mut self.rng),
        };
        let identity = self.identity(index, adeli, home, profession);
        let mut person = PersonState {
            index,
            identity,
            registrations: Vec::with_capacity(2),
            activities: Vec::with_capacity(2),
            next_activity: 0,
            retired: false,
        };
        let no_activity =
            show == Showcase::NoActivity || (random && percent(&mut self.rng, NO_ACTIVITY_PCT));
        self.register(&mut person, profession, no_activity, show);
        if let Some((_, second)) = pair {
            self.register(
                &mut person,
                profession_by_code(second),
                false,
                Showcase::None,
            );
        }
        let rows = render_rows(&person, &self.empty_activity);
        let mut placements = std::mem::take(&mut self.placements);
        self.draw_placements(&mut placements, rows.len(), show);
        let identity = &person.identity;
        let mut plan = side.plan(&PersonRecord {
            index,
            id_type: identity.id_type,
            id: &identity.id,
            title: identity.title,
            family: &identity.family,
            given: &identity.given,
            category: identity.category,
            professions: &person.registrations,
            site: self.first_site.as_ref(),
            cabinets: &self.cabinet_sites,
        });
        let fate = schedule.evolve(
            index,
            &mut Evolution {
                generator: self,
                person: &mut person,
                plan: &mut plan,
            },
        );
        if fate.changed {
            let now = if fate.retired {
                Vec::new()
            } else {
                render_rows(&person, &self.empty_activity)
            };
            self.replay(index, scatter, &rows, &placements, now)?;
        } else {
            for ((_, row), placement) in rows.into_iter().zip(&placements) {
                place(scatter, placement, row)?;
            }
        }
        self.placements = placements;
        if fate.retired {
            return Ok(false);
        }
        self.write_side(&person, &plan, fate.changed, side)?;
        Ok(true)
    }

    /// Writes the rows of a person changed by events: each row of the arrival day in its place
    /// (a ghost if gone), then the rows events added.
    fn replay(
        &self,
        index: u64,
        scatter: &mut Scatter<impl Write>,
        drawn: &[(RowKey, String)],
        placements: &[Placement],
        now: Vec<(RowKey, String)>,
    ) -> io::Result<()> {
        let mut now: Vec<(RowKey, Option<String>)> =
            now.into_iter().map(|(key, row)| (key, Some(row))).collect();
        for ((key, _), placement) in drawn.iter().zip(placements) {
            let row = now
                .iter_mut()
                .find(|(k, row)| k == key && row.is_some())
                .and_then(|(_, row)| row.take());
            place_or_ghost(scatter, placement, row)?;
        }
        let mut rng = derived_rng(self.seed, domain::ADDED_ROWS, index);
        for row in now.into_iter().filter_map(|(_, row)| row) {
            scatter.defer_uncounted(row, rng.random_range(1..5_000));
        }
        Ok(())
    }

    /// The side-file lines of a present person, as they are on the day generated.
    fn write_side(
        &self,
        person: &PersonState<'_>,
        plan: &SidePlan,
        changed: bool,
        side: &mut SideFiles,
    ) -> io::Result<()> {
        // The cabinets with a mailbox the person still works in, with their current spelling for
        // a solo cabinet (an address change moves it).
        let mut cabinets: Vec<(Site, bool)> = Vec::new();
        for site in &self.cabinet_sites {
            if let Some(activity) = person.all_activities().find(|a| a.structure.id == site.id) {
                let current = if changed && activity.solo {
                    Site::from_structure(&activity.structure)
                } else {
                    site.clone()
                };
                cabinets.push((current, activity.solo));
            }
        }
        let cabinets: Vec<(&Site, bool)> = cabinets.iter().map(|(s, own)| (s, *own)).collect();
        let moved_site;
        let first_site = if changed {
            moved_site = person.first_site();
            moved_site.as_ref()
        } else {
            self.first_site.as_ref()
        };
        let identity = &person.identity;
        side.write(
            &PersonRecord {
                index: person.index,
                id_type: identity.id_type,
                id: &identity.id,
                title: identity.title,
                family: &identity.family,
                given: &identity.given,
                category: identity.category,
                professions: &person.registrations,
                site: first_site,
                cabinets: &[],
            },
            plan,
            &cabinets,
        )
    }

    /// Identifiers, names and civilités of a person (columns 1–9).
    fn identity(
        &mut self,
        index: u64,
        adeli: bool,
        home: usize,
        profession: &Profession,
    ) -> Identity {
        let rng = &mut self.rng;
        let (id_type, id) = if adeli {
            let dept_prefix = &DEPARTMENTS[home].code[..2];
            self.adeli_counter += 1;
            (
                "0",
                format!("{dept_prefix}9{:06}", self.adeli_counter % 1_000_000),
            )
        } else {
            ("8", rpps_number(index))
        };
        let female = percent(rng, profession.female_pct);
        let doctor = percent(rng, profession.doctor_pct);
        let exercise_title = match () {
            _ if !doctor => None,
            _ if profession.code == MEDECIN && percent(rng, 2) => Some(&PROFESSOR),
            _ => Some(&DOCTOR),
        };
        let civility = (adeli || percent(rng, 12)).then_some(if female { &MADAM } else { &MISTER });
        let family = names::family_name(rng);
        let mut given = names::first_name(rng, female).to_string();
        if adeli && percent(rng, 40) {
            given = given.to_uppercase();
        }
        let category = &CATEGORIES[self.samplers.categories.sample(rng)].0;
        let mut columns = String::with_capacity(96);
        for field in [
            id_type,
            &id,
            &format!("{id_type}{id}"),
            exercise_title.map_or("", |t| t.code),
            exercise_title.map_or("", |t| t.label),
            civility.map_or("", |c| c.code),
            civility.map_or("", |c| c.label),
            &family,
            &given,
        ] {
            columns.push_str(field);
            columns.push('|');
        }
        Identity {
            columns,
            id_type,
            adeli_id: adeli.then(|| id.clone()),
            id,
            title: exercise_title,
            category,
            family,
            given,
            doctor,
            adeli,
            home,
        }
    }

    /// Draws one profession of the person: its savoir-faire and (unless `no_activity`) its
    /// activities.
    fn register(
        &mut self,
        person: &mut PersonState<'d>,
        profession: &'static Profession,
        no_activity: bool,
        show: Showcase,
    ) {
        let drawn = draw_savoir_faire(&mut self.rng, &self.samplers, profession, show);
        // A person without activity has a single row, carrying only the first savoir-faire: the
        // side files must know exactly the savoir-faire of the RPPS rows.
        let kept = if no_activity { 1 } else { drawn.len() };
        person.registrations.push(Registration {
            profession,
            savoir_faire: drawn.into_iter().take(kept).collect(),
        });
        if no_activity {
            person.activities.push(Vec::new());
            return;
        }
        let count = self.samplers.activity_counts.sample(&mut self.rng) + 1;
        let mut activities: Vec<Activity<'d>> = Vec::with_capacity(count);
        for k in 0..count {
            let forced = if k == 0 { show } else { Showcase::None };
            // Drawing the same site and role twice would create accidental duplicate rows; exact
            // duplicates are injected at a controlled rate in `draw_placements` instead.
            let distinct = (0..3)
                .map(|_| self.activity(&person.identity, profession, forced))
                .find(|a| !activities.iter().any(|b| b.columns == a.columns));
            if let Some(mut activity) = distinct {
                activity.id = person.next_activity;
                person.next_activity += 1;
                activities.push(activity);
            }
        }
        person.activities.push(activities);
    }

    /// One activity (columns 18–56).
    fn activity(
        &mut self,
        who: &Identity,
        profession: &'static Profession,
        show: Showcase,
    ) -> Activity<'d> {
        let practice = match show {
            Showcase::Foreign => Practice::SoloCabinet,
            Showcase::MissingFiness => Practice::Establishment,
            _ => self.practice(profession),
        };
        let authority = authority(&mut self.rng, who, profession);
        match practice {
            Practice::SoloCabinet | Practice::GroupCabinet => {
                self.cabinet_activity(who, profession, practice, show, authority)
            }
            Practice::Officine => self.officine_activity(who, authority),
            Practice::Establishment => {
                self.establishment_activity(who, profession, show, authority)
            }
        }
    }

    /// Keeps the structure of the person's first activity (the first activity drawn is always kept:
    /// only later draws can be discarded as duplicates).
    fn note_site(&mut self, structure: &Structure<'_>) {
        if self.first_site.is_none() {
            self.first_site = Some(Site::from_structure(structure));
        }
    }

    /// Where an activity of this profession takes place.
    fn practice(&mut self, profession: &Profession) -> Practice {
        let rng = &mut self.rng;
        if profession.code == PHARMACIEN {
            return if percent(rng, 80) {
                Practice::Officine
            } else {
                Practice::Establishment
            };
        }
        if !percent(rng, profession.cabinet_pct) {
            return Practice::Establishment;
        }
        if percent(rng, 38) {
            Practice::GroupCabinet
        } else {
            Practice::SoloCabinet
        }
    }

    /// A libéral activity in a solo or group cabinet.
    fn cabinet_activity(
        &mut self,
        who: &Identity,
        profession: &'static Profession,
        practice: Practice,
        show: Showcase,
        authority: String,
    ) -> Activity<'d> {
        let (structure, sector, role) = if practice == Practice::GroupCabinet {
            let number = self.groups.pick(&mut self.rng, who.home);
            let shared = self.groups.structure(number);
            let structure = if percent(&mut self.rng, CONFLICT_PCT) {
                shared.conflicting_variant(&mut self.rng)
            } else {
                shared
            };
            let role = match self.rng.random_range(0..100) {
                0..=74 => &ROLE_CABINET_OWNER,
                75..=89 => &ROLE_PARTNER,
                _ => &ROLE_COLLABORATOR,
            };
            (structure, &SECTOR_GROUP_CABINET, role)
        } else {
            let dept = if percent(&mut self.rng, 90) {
                who.home
            } else {
                self.samplers.departments.sample(&mut self.rng)
            };
            self.solo_cabinet_counter += 1;
            let practitioner = Practitioner {
                family: &who.family,
                given: &who.given,
                doctor: who.doctor,
                profession_code: profession.code,
                adeli_id: who.adeli_id.as_deref(),
            };
            let number = self.solo_cabinet_counter % 8_000_000;
            let structure = structure::solo_cabinet(
                &mut self.rng,
                number,
                dept,
                show == Showcase::Foreign,
                &practitioner,
            );
            let (sector, role) = if percent(&mut self.rng, 8) {
                (&SECTOR_COMPANY, &ROLE_PARTNER)
            } else {
                (&SECTOR_SOLO_CABINET, &ROLE_CABINET_OWNER)
            };
            (structure, sector, role)
        };
        self.note_site(&structure);
        if mssante::cabinet_has_mailbox(self.seed, &structure.id) {
            self.cabinet_sites.push(Site::from_structure(&structure));
        }
        let (role, genre) = if percent(&mut self.rng, 3) {
            (&ROLE_SUBSTITUTE, &GENRE_REPLACEMENT)
        } else {
            (role, &GENRE_CARE)
        };
        Activity::new(
            &MODE_LIBERAL,
            structure,
            authority,
            sector,
            None,
            role,
            genre,
            practice == Practice::SoloCabinet,
        )
    }

    /// A pharmacist's activity in an officine of the FINESS file.
    fn officine_activity(&mut self, who: &Identity, authority: String) -> Activity<'d> {
        let directory = self.directory;
        let Some(index) = directory.pharmacies.pick(&mut self.rng, who.home) else {
            return self.establishment_activity(
                who,
                profession_by_code(PHARMACIEN),
                Showcase::None,
                authority,
            );
        };
        let activity = officine(&mut self.rng, self.seed, directory, index, authority);
        self.note_site(&activity.structure);
        activity
    }

    /// A salaried activity in a hospital or another care establishment (rarely one missing from FINESS).
    fn establishment_activity(
        &mut self,
        who: &Identity,
        profession: &Profession,
        show: Showcase,
        authority: String,
    ) -> Activity<'d> {
        let directory = self.directory;
        let missing =
            show == Showcase::MissingFiness || chance(&mut self.rng, MISSING_FINESS_SHARE);
        let site = hospital_or_care(&mut self.rng, directory, who.home);
        let (structure, sector, kind) = match site {
            Some(index) if !missing => {
                let est = &directory.establishments[index as usize];
                (
                    structure::establishment(self.seed, index, est),
                    est.category.sector,
                    est.category.kind,
                )
            }
            _ => {
                self.phantom_counter += 1;
                let structure =
                    structure::phantom_establishment(self.seed, self.phantom_counter, who.home);
                (
                    structure,
                    &super::tables::SECTOR_PRIVATE_HOSPITAL,
                    SiteKind::Hospital,
                )
            }
        };
        let section = pharmacist_section(&mut self.rng, profession);
        self.note_site(&structure);
        let (mode, role, genre) = salaried_role(&mut self.rng, kind);
        Activity::new(
            mode, structure, authority, sector, section, role, genre, false,
        )
    }

    /// Draws the placements of a person's `count` rows: the first now, the others scattered
    /// (mostly thousands of rows later, a few at the very end), some of them twice.
    fn draw_placements(&mut self, placements: &mut Vec<Placement>, count: usize, show: Showcase) {
        placements.clear();
        for k in 0..count {
            let duplicate = (show == Showcase::DuplicateRow && k == 0)
                || chance(&mut self.rng, DUPLICATE_ROW_SHARE);
            let row = if k == 0 && show != Showcase::AtEnd {
                Target::Now
            } else {
                self.later(show == Showcase::AtEnd)
            };
            let copy = duplicate.then(|| {
                if percent(&mut self.rng, 50) {
                    Target::Now
                } else {
                    Target::Later(self.rng.random_range(1..20_000))
                }
            });
            placements.push(Placement { row, copy });
        }
    }

    /// A deferred place: a few rows later, thousands of rows later, or the end of the file.
    fn later(&mut self, at_end: bool) -> Target {
        let roll = self.rng.random_range(0..1000);
        if at_end || roll < 3 {
            return Target::End;
        }
        let delay = match roll {
            3..=52 => self.rng.random_range(1..50),
            53..=759 => self.rng.random_range(50..5_000),
            _ => self.rng.random_range(5_000..60_000),
        };
        Target::Later(delay)
    }

    /// A new activity for an event: in a group cabinet (never one with an organisational mailbox,
    /// see [`mssante::Mailboxes::write`]), an establishment or an officine of the FINESS file, never
    /// a new solo cabinet or a structure missing from FINESS (those take numbers from counters of
    /// the whole file), and never a structure in `taken`.
    fn event_activity(
        &self,
        rng: &mut GenRng,
        who: &Identity,
        profession: &'static Profession,
        taken: &[&str],
    ) -> Option<Activity<'d>> {
        for attempt in 0..8 {
            let dept = if attempt < 4 {
                who.home
            } else {
                self.samplers.departments.sample(rng)
            };
            let authority = authority(rng, who, profession);
            let activity = if profession.code == PHARMACIEN && percent(rng, 80) {
                self.directory
                    .pharmacies
                    .pick(rng, dept)
                    .map(|index| officine(rng, self.seed, self.directory, index, authority))
            } else if profession.code != PHARMACIEN && percent(rng, profession.cabinet_pct) {
                self.event_group_cabinet(rng, dept, authority)
            } else {
                self.event_establishment(rng, profession, dept, authority)
            };
            if let Some(activity) = activity
                && !taken.contains(&activity.structure.id.as_str())
            {
                return Some(activity);
            }
        }
        None
    }

    /// An event activity in a group cabinet of `dept` without organisational mailbox.
    fn event_group_cabinet(
        &self,
        rng: &mut GenRng,
        dept: usize,
        authority: String,
    ) -> Option<Activity<'d>> {
        let structure = self.groups.structure(self.groups.pick(rng, dept));
        if mssante::cabinet_has_mailbox(self.seed, &structure.id) {
            return None;
        }
        let role = match rng.random_range(0..100) {
            0..=74 => &ROLE_CABINET_OWNER,
            75..=89 => &ROLE_PARTNER,
            _ => &ROLE_COLLABORATOR,
        };
        Some(Activity::new(
            &MODE_LIBERAL,
            structure,
            authority,
            &SECTOR_GROUP_CABINET,
            None,
            role,
            &GENRE_CARE,
            false,
        ))
    }

    /// An event activity in a FINESS hospital or care establishment near `dept`.
    fn event_establishment(
        &self,
        rng: &mut GenRng,
        profession: &Profession,
        dept: usize,
        authority: String,
    ) -> Option<Activity<'d>> {
        let directory = self.directory;
        let index = hospital_or_care(rng, directory, dept)?;
        let est = &directory.establishments[index as usize];
        let structure = structure::establishment(self.seed, index, est);
        let section = pharmacist_section(rng, profession);
        let (mode, role, genre) = salaried_role(rng, est.category.kind);
        Some(Activity::new(
            mode,
            structure,
            authority,
            est.category.sector,
            section,
            role,
            genre,
            false,
        ))
    }
}

/// The rows of a person with their keys: per registration, per activity, per savoir-faire (a
/// person with two savoir-faire gets each activity row twice); a registration without activity has
/// one row with its first savoir-faire and empty activity columns.
fn render_rows(person: &PersonState<'_>, empty_activity: &str) -> Vec<(RowKey, String)> {
    let mut rows = Vec::with_capacity(4);
    for (r, registration) in person.registrations.iter().enumerate() {
        let mut prefix = person.identity.columns.clone();
        let profession = registration.profession;
        let category = person.identity.category;
        for field in [
            profession.code,
            profession.label,
            category.code,
            category.label,
        ] {
            prefix.push_str(field);
            prefix.push('|');
        }
        let savoir_faire: Vec<String> = if registration.savoir_faire.is_empty() {
            vec!["||||".to_string()]
        } else {
            registration
                .savoir_faire
                .iter()
                .map(|s| format!("{}|{}|{}|{}|", s.kind.code, s.kind.label, s.code, s.label))
                .collect()
        };
        let activities = &person.activities[r];
        if activities.is_empty() {
            rows.push((
                (r, IDLE, 0),
                format!("{prefix}{}{empty_activity}\n", savoir_faire[0]),
            ));
            continue;
        }
        for activity in activities {
            for (s, sf) in savoir_faire.iter().enumerate() {
                let mut row =
                    String::with_capacity(prefix.len() + sf.len() + activity.columns.len() + 1);
                row.push_str(&prefix);
                row.push_str(sf);
                row.push_str(&activity.columns);
                row.push('\n');
                rows.push(((r, activity.id, s), row));
            }
        }
    }
    rows
}

/// Writes a row (and its duplicate) where its placement says.
fn place(scatter: &mut Scatter<impl Write>, placement: &Placement, row: String) -> io::Result<()> {
    place_or_ghost(scatter, placement, Some(row))
}

/// Writes a row (and its duplicate) where its placement says, or ghosts in their places if `None`.
fn place_or_ghost(
    scatter: &mut Scatter<impl Write>,
    placement: &Placement,
    row: Option<String>,
) -> io::Result<()> {
    let copy = placement.copy.map(|target| (target, row.clone()));
    put(scatter, placement.row, row)?;
    if let Some((target, copy)) = copy {
        put(scatter, target, copy)?;
    }
    Ok(())
}

fn put(scatter: &mut Scatter<impl Write>, target: Target, row: Option<String>) -> io::Result<()> {
    match target {
        Target::Now => scatter.place_now(row.as_deref()),
        Target::End => {
            scatter.place_at_end(row);
            Ok(())
        }
        Target::Later(delay) => {
            scatter.place_later(row, delay);
            Ok(())
        }
    }
}

/// The savoir-faire of a person for a profession: médecins nearly always have one (sometimes
/// two), some dentists one, other professions none.
fn draw_savoir_faire(
    rng: &mut GenRng,
    samplers: &Samplers,
    profession: &Profession,
    show: Showcase,
) -> Vec<&'static SavoirFaire> {
    match profession.code {
        MEDECIN if show == Showcase::TwoSavoirFaire || percent(rng, 96) => {
            let first = &MEDECIN_SPECIALTIES[samplers.medecin_specialties.sample(rng)];
            if show != Showcase::TwoSavoirFaire && !percent(rng, SECOND_SAVOIR_FAIRE_PCT) {
                return vec![first];
            }
            let second = if percent(rng, 60) {
                let other = &MEDECIN_SPECIALTIES[samplers.medecin_specialties.sample(rng)];
                if other.code == first.code {
                    &MEDECIN_SPECIALTIES[0]
                } else {
                    other
                }
            } else {
                &MEDECIN_CAPACITIES[samplers.medecin_capacities.sample(rng)]
            };
            if second.code == first.code {
                vec![first, &MEDECIN_SPECIALTIES[1]]
            } else {
                vec![first, second]
            }
        }
        DENTISTE if percent(rng, 12) => {
            vec![&DENTISTE_SPECIALTIES[samplers.dentist_specialties.sample(rng)]]
        }
        _ => Vec::new(),
    }
}

/// A hospital (75 %) or another care establishment near `dept`, if the directory has one.
fn hospital_or_care(rng: &mut GenRng, directory: &Directory, dept: usize) -> Option<u32> {
    if percent(rng, 75) {
        directory
            .hospitals
            .pick(rng, dept)
            .or_else(|| directory.care.pick(rng, dept))
    } else {
        directory
            .care
            .pick(rng, dept)
            .or_else(|| directory.hospitals.pick(rng, dept))
    }
}

/// A pharmacist's activity in officine `index` of the FINESS directory.
fn officine<'d>(
    rng: &mut GenRng,
    seed: u64,
    directory: &'d Directory,
    index: u32,
    authority: String,
) -> Activity<'d> {
    let est = &directory.establishments[index as usize];
    let overseas = est.address.department().is_some_and(|d| d.code.len() == 3);
    let (mode, role, section) = match rng.random_range(0..100) {
        0..=39 => (&MODE_LIBERAL, &ROLE_OFFICINE_OWNER, &SECTION_A),
        40..=94 => (&MODE_SALARIE, &ROLE_DEPUTY, &SECTION_D),
        _ => (&MODE_LIBERAL, &ROLE_OFFICINE_SUBSTITUTE, &SECTION_D),
    };
    let section = if overseas { &SECTION_E } else { section };
    Activity::new(
        mode,
        structure::establishment(seed, index, est),
        authority,
        &SECTOR_OFFICINE,
        Some(section),
        role,
        &GENRE_CARE,
        false,
    )
}

/// The pharmacists' table section of an establishment activity (`None` for other professions).
fn pharmacist_section(rng: &mut GenRng, profession: &Profession) -> Option<&'static Code> {
    (profession.code == PHARMACIEN).then(|| {
        if percent(rng, 80) {
            &SECTION_H
        } else {
            &SECTION_G
        }
    })
}

/// Mode, rôle and genre of an activity in an establishment.
fn salaried_role(
    rng: &mut GenRng,
    kind: SiteKind,
) -> (&'static Code, &'static Code, &'static Code) {
    let mode = match rng.random_range(0..100) {
        0 => &MODE_BENEVOLE,
        1..=4 => &MODE_LIBERAL,
        _ => &MODE_SALARIE,
    };
    let (role, genre) = match rng.random_range(0..100) {
        0..=44 => (&ROLE_DEPUTY, &GENRE_CARE),
        45..=79 => (&ROLE_OTHER, &GENRE_CARE),
        80..=87 => (&ROLE_ASSISTANT, &GENRE_CARE),
        88..=94 => (&ROLE_SUBSTITUTE, &GENRE_REPLACEMENT),
        95..=96 => (&ROLE_HEAD, &GENRE_MEDICO_ADMIN),
        _ => (&ROLE_OTHER, &GENRE_NON_CARE),
    };
    let genre = if kind == SiteKind::MedicoSocial && percent(rng, 5) {
        &GENRE_MEDICO_ADMIN
    } else {
        genre
    };
    (mode, role, genre)
}

/// `Autorité d'enregistrement`: three registrants (person/activity/structure).
fn authority(rng: &mut GenRng, who: &Identity, profession: &Profession) -> String {
    let ordre = profession.ordre;
    if who.adeli {
        return if percent(rng, 60) {
            "ARS/CPAM/CPAM"
        } else {
            "ARS/ARS/ARS"
        }
        .to_string();
    }
    if ordre == "ARS" || percent(rng, 85) {
        format!("{ordre}/{ordre}/{ordre}")
    } else {
        format!("ARS/{ordre}/{ordre}")
    }
}

/// One person under the events of the later days: the generator's tables (read only), the
/// person's state and side-file draws.
struct Evolution<'e, 'd> {
    generator: &'e Generator<'d>,
    person: &'e mut PersonState<'d>,
    plan: &'e mut SidePlan,
}

impl Evolution<'_, '_> {
    /// Single registration, not a pharmacist (whose officine activities only pharmacists have).
    fn profession_changeable(&self) -> bool {
        self.person.registrations.len() == 1
            && self.person.registrations[0].profession.code != PHARMACIEN
    }

    fn activity_count(&self) -> usize {
        self.person.activities.iter().map(Vec::len).sum()
    }

    fn taken(&self) -> Vec<&str> {
        self.person
            .all_activities()
            .map(|a| a.structure.id.as_str())
            .collect()
    }

    /// A new activity in one of the registrations with room for one.
    fn add_activity(&mut self, rng: &mut GenRng) -> bool {
        let open: Vec<usize> = (0..self.person.activities.len())
            .filter(|&r| self.person.activities[r].len() < MAX_ACTIVITIES)
            .collect();
        if open.is_empty() {
            return false;
        }
        let r = open[rng.random_range(0..open.len())];
        let profession = self.person.registrations[r].profession;
        let taken = self.taken();
        let Some(mut activity) =
            self.generator
                .event_activity(rng, &self.person.identity, profession, &taken)
        else {
            return false;
        };
        activity.id = self.person.next_activity;
        self.person.next_activity += 1;
        self.person.activities[r].push(activity);
        true
    }

    /// One activity removed; a registration left without any keeps a single row and only its first
    /// savoir-faire (as a person generated without activity).
    fn remove_activity(&mut self, rng: &mut GenRng) -> bool {
        let count = self.activity_count();
        if count == 0 {
            return false;
        }
        let Some((r, i)) = self.person.nth_activity(rng.random_range(0..count)) else {
            return false;
        };
        self.person.activities[r].remove(i);
        if self.person.activities[r].is_empty() {
            self.person.registrations[r].savoir_faire.truncate(1);
        }
        true
    }

    /// One activity replaced by an activity in another structure (its rows keep their place).
    fn move_activity(&mut self, rng: &mut GenRng) -> bool {
        let count = self.activity_count();
        if count == 0 {
            return false;
        }
        let Some((r, i)) = self.person.nth_activity(rng.random_range(0..count)) else {
            return false;
        };
        let profession = self.person.registrations[r].profession;
        let taken = self.taken();
        let Some(mut activity) =
            self.generator
                .event_activity(rng, &self.person.identity, profession, &taken)
        else {
            return false;
        };
        activity.id = self.person.activities[r][i].id;
        self.person.activities[r][i] = activity;
        true
    }

    /// One of the person's solo cabinets moves to another address of its department (of the
    /// person's home department if it was abroad).
    fn move_cabinet(&mut self, rng: &mut GenRng) -> bool {
        let solo: Vec<(usize, usize)> = self
            .person
            .activities
            .iter()
            .enumerate()
            .flat_map(|(r, activities)| {
                activities
                    .iter()
                    .enumerate()
                    .filter(|(_, a)| a.solo)
                    .map(move |(i, _)| (r, i))
            })
            .collect();
        if solo.is_empty() {
            return false;
        }
        let (r, i) = solo[rng.random_range(0..solo.len())];
        let home = self.person.identity.home;
        let activity = &mut self.person.activities[r][i];
        let dept = match activity.structure.address.place {
            Place::France(dept) => dept,
            Place::Abroad(_) => home,
        };
        activity.structure.address = Cow::Owned(geo::french_address(rng, dept, CABINET_PROFILE));
        activity.render();
        true
    }

    /// The person's profession changes (within RPPS or ADELI professions, never to or from
    /// pharmacien): new savoir-faire, registration authority, diplomas and side-file draws; the
    /// activities stay.
    fn change_profession(&mut self, rng: &mut GenRng) -> bool {
        if !self.profession_changeable() {
            return false;
        }
        let samplers = &self.generator.samplers;
        let current = self.person.registrations[0].profession.code;
        let sampler = if self.person.identity.adeli {
            &samplers.adeli_professions
        } else {
            &samplers.professions
        };
        let Some(profession) = (0..16)
            .map(|_| &PROFESSIONS[sampler.sample(rng)])
            .find(|p| p.code != current && p.code != PHARMACIEN)
        else {
            return false;
        };
        let mut savoir_faire = draw_savoir_faire(rng, samplers, profession, Showcase::None);
        if self.person.activities[0].is_empty() {
            savoir_faire.truncate(1);
        }
        self.person.registrations[0] = Registration {
            profession,
            savoir_faire,
        };
        for activity in &mut self.person.activities[0] {
            activity.authority = authority(rng, &self.person.identity, profession);
            activity.render();
        }
        self.plan.registrations[0] =
            RegistrationPlan::for_new_profession(rng, &self.person.registrations[0]);
        if let Some(authorisation) = self.plan.authorisation.as_mut() {
            *authorisation = authorisation_discipline(rng, profession.code);
        }
        true
    }

    fn names(&self) -> (&str, &str) {
        (&self.person.identity.given, &self.person.identity.family)
    }
}

impl Evolving for Evolution<'_, '_> {
    fn applies(&self, category: Category) -> bool {
        match category {
            Category::Retirement | Category::Activity | Category::Mailbox => true,
            Category::Address => self.person.all_activities().any(|a| a.solo),
            Category::Profession => self.profession_changeable(),
        }
    }

    fn choose(&self, category: Category, rng: &mut GenRng) -> EventKind {
        match category {
            Category::Retirement => EventKind::Retirement,
            Category::Address => EventKind::AddressChanged,
            Category::Profession => EventKind::ProfessionChanged,
            Category::Activity if self.activity_count() == 0 => EventKind::ActivityAdded,
            Category::Activity => match rng.random_range(0..100) {
                0..=34 => EventKind::ActivityAdded,
                35..=64 => EventKind::ActivityRemoved,
                _ => EventKind::ActivityMoved,
            },
            Category::Mailbox if self.plan.mailbox.is_none() => EventKind::MailboxAdded,
            Category::Mailbox if percent(rng, 50) => EventKind::MailboxRemoved,
            Category::Mailbox => EventKind::MailboxChanged,
        }
    }

    fn apply(&mut self, kind: EventKind, day: u32, rng: &mut GenRng) -> bool {
        match kind {
            EventKind::Retirement => {
                self.person.retired = true;
                true
            }
            EventKind::ActivityAdded => self.add_activity(rng),
            EventKind::ActivityRemoved => self.remove_activity(rng),
            EventKind::ActivityMoved => self.move_activity(rng),
            EventKind::AddressChanged => self.move_cabinet(rng),
            EventKind::ProfessionChanged => self.change_profession(rng),
            EventKind::MailboxAdded => {
                if self.plan.mailbox.is_some() {
                    return false;
                }
                let site = self.person.first_site();
                let opened = PersonalPlan::opened(
                    rng,
                    self.person.index,
                    self.names(),
                    &self.person.registrations,
                    site.as_ref(),
                );
                self.plan.mailbox = Some(opened);
                true
            }
            EventKind::MailboxRemoved => self.plan.mailbox.take().is_some(),
            EventKind::MailboxChanged => {
                let site = self.person.first_site();
                let Some(mut mailbox) = self.plan.mailbox.take() else {
                    return false;
                };
                mailbox.readdress(
                    rng,
                    (self.person.index, day),
                    self.names(),
                    &self.person.registrations,
                    site.as_ref(),
                );
                self.plan.mailbox = Some(mailbox);
                true
            }
        }
    }
}

/// Appends columns 18–56 of an activity.
#[allow(clippy::too_many_arguments)]
fn push_activity(
    columns: &mut String,
    mode: &Code,
    structure: &Structure<'_>,
    authority: &str,
    sector: &Code,
    section: Option<&Code>,
    role: &Code,
    genre: &Code,
) {
    for field in [mode.code, mode.label] {
        columns.push_str(field);
        columns.push('|');
    }
    structure.push_fields(columns);
    let (section_code, section_label) = section.map_or(("", ""), |s| (s.code, s.label));
    for field in [
        authority,
        sector.code,
        sector.label,
        section_code,
        section_label,
        role.code,
        role.label,
        genre.code,
        genre.label,
    ] {
        columns.push_str(field);
        columns.push('|');
    }
}

/// The profession with this TRE_G15 code (only called with codes of `PROFESSIONS`).
fn profession_by_code(code: &str) -> &'static Profession {
    PROFESSIONS
        .iter()
        .find(|p| p.code == code)
        .unwrap_or(&PROFESSIONS[0])
}

/// The 11-digit RPPS number of person `index`: `199` + 7 digits + Luhn key, in a range that real
/// numbers (which start `100`/`101`) do not use.
pub(crate) fn rpps_number(index: u64) -> String {
    let body = format!("19{:08}", (90_000_000 + index) % 100_000_000);
    let key = luhn_digit(&body);
    format!("{body}{key}")
}

/// Sanity: columns 1–13 + 14–17 + 18–56 make the 56 header columns.
const _: () = assert!(13 + 4 + ACTIVITY_COLUMNS == RPPS_COLUMNS);
